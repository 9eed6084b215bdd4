"""Ingestion in the background of a server: a pass every few seconds.

:class:`BackgroundIngestion` runs the passes in a thread (an app made with
``create_app(ingest_every=...)``); ``serve`` runs the same loop in one process of its own
(:class:`error_analytics.api.ingestion.IngestionProcess`) beside its ``--workers`` API processes, which only read. A pass does
not wait for another process's pass: with ``wait=False`` it gives up at once when the ingestion
lock is taken (an advisory lock on PostgreSQL, the state file's write lock on SQLite) — that
process is ingesting the same rows. Everyone else only reads the index, so requests never wait
for ingestion.

A database that goes away makes a pass fail; the failure is logged once, the thread keeps
going, and the first pass after the database is back catches up (the watermarks did not move).
"""

from __future__ import annotations

import logging
import threading
import time

from ..errors import DatabaseError
from .service import ClusterReviewService

logger = logging.getLogger("error_analytics.ingest")


class BackgroundIngestion:
    """Runs :meth:`ClusterReviewService.ingest` every ``interval`` seconds until stopped."""

    def __init__(self, review: ClusterReviewService, interval: float) -> None:
        if interval <= 0:
            raise ValueError("the ingestion interval must be positive")
        self.review = review
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: why the last pass failed (None: it did not), and when the last pass ended
        self.last_error: str | None = None
        self.last_pass: float | None = None
        self.passes = 0

    def start(self) -> None:
        """Reads stop ingesting; the first pass starts now, in the thread."""
        self.review.ingest_on_read = False
        self._thread = threading.Thread(
            target=self._loop, name="error-analytics-ingest", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        delay = 0.0
        while not self._stop.wait(delay):
            delay = self.interval
            self.run_once()

    def run_once(self) -> None:
        """One pass; failures are logged, never raised (the next pass retries)."""
        try:
            # what is new, and one step of older history until all of it is read
            self.review.ingest(wait=False, backfill=1)
        except DatabaseError as exc:
            if self.last_error is None:
                logger.warning("ingestion paused: %s (retrying every %ss)", exc, self.interval)
            self.last_error = str(exc)
            return
        except Exception:  # noqa: BLE001 - the thread must outlive any one pass
            logger.exception("ingestion pass failed")
            self.last_error = "unexpected error (see the log)"
            return
        if self.last_error is not None:
            logger.warning("ingestion resumed")
        self.last_error = None
        self.last_pass = time.monotonic()
        self.passes += 1
