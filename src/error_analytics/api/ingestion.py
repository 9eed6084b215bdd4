"""The server's ingesting process: :class:`IngestionProcess`.

``serve`` runs one beside its API processes (``--workers``), which only read the index. It is
an edge of the toolkit, like the API: it builds its own service with the composition root
(:meth:`~error_analytics.service.ErrorAnalyticsService.from_settings`) and runs the loop of
:class:`~error_analytics.review.background.BackgroundIngestion` until the server stops.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from typing import Any

from ..config import Settings
from ..errors import DatabaseError
from ..review.background import BackgroundIngestion

logger = logging.getLogger("error_analytics.ingest")


class IngestionProcess:
    """The same loop in a process of its own, as ``serve`` runs it: ingestion then never
    competes with the requests for the interpreter (a Python thread that reads thousands of
    rows while requests keep the interpreter busy waits for it on every row). The process
    builds its own service from ``settings`` (the composition root) and stops with the
    server."""

    def __init__(self, settings: Settings, interval: float) -> None:
        if interval <= 0:
            raise ValueError("the ingestion interval must be positive")
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._process = context.Process(
            target=_ingest_until_stopped,
            args=(settings, interval, self._stop, os.getpid()),
            name="error-analytics-ingest",
            daemon=True,
        )

    def start(self) -> None:
        self._process.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)


def _ingest_until_stopped(settings: Settings, interval: float, stop: Any, server: int) -> None:
    """Ingest every ``interval`` seconds until ``stop`` is set or the ``server`` process is
    gone (killed without stopping its children: this process is then adopted by another)."""
    from ..service import ErrorAnalyticsService

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        review = ErrorAnalyticsService.from_settings(settings).review
    except DatabaseError as exc:
        logger.warning("no background ingestion: %s", exc)
        return
    loop = BackgroundIngestion(review, interval)
    delay = 0.0
    while not stop.wait(delay) and os.getppid() == server:
        delay = interval
        loop.run_once()
