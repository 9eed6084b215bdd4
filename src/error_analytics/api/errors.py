"""The one place where the exception tree becomes HTTP status codes.

Routes never catch toolkit errors themselves: they raise, and :func:`error_response` answers
with ``{"detail": "...", "error": "NotFoundError"}`` and the status below. The translation is
attached to the router (:class:`ErrorMappingRoute`, FastAPI's custom ``APIRoute`` pattern), not
to an app, so a host that only calls ``app.include_router(router)`` gets the same answers. Bad
query or body parameters never reach a route: FastAPI's validation answers them with a 422.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import sqlalchemy as sa
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ..errors import (
    ConfigurationError,
    ConflictError,
    DatabaseError,
    DatabaseUnavailableError,
    ErrorAnalyticsError,
    InputError,
    NotFoundError,
)

logger = logging.getLogger("error_analytics.api")

#: Checked in order: the first class the exception is an instance of decides.
ERROR_TO_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (InputError, 422),
    (ConfigurationError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (DatabaseUnavailableError, 503),
    (DatabaseError, 503),  # e.g. SchemaError: the database lacks the workflow tables
    (sa.exc.OperationalError, 503),  # the server went away between two requests
    (ErrorAnalyticsError, 500),
)


def status_for(exc: BaseException) -> int:
    for error_class, status in ERROR_TO_STATUS:
        if isinstance(exc, error_class):
            return status
    return 500


#: What the router translates; anything else is a bug and stays a 500 with a traceback in the log.
HANDLED = (ErrorAnalyticsError, sa.exc.OperationalError)


def error_response(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    if isinstance(exc, sa.exc.SQLAlchemyError):
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        detail = f"the database is unavailable: {reason[0] if reason else type(exc).__name__}"
        name = "DatabaseUnavailableError"
    else:
        detail, name = str(exc), type(exc).__name__
    if status >= 500:
        logger.error("%s %s -> %s: %s", request.method, request.url.path, status, detail)
    return JSONResponse(status_code=status, content={"detail": detail, "error": name})


class ErrorMappingRoute(APIRoute):
    """An ``APIRoute`` whose handler answers toolkit errors with :func:`error_response`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def mapped(request: Request) -> Response:
            try:
                return await handler(request)
            except HANDLED as exc:
                return error_response(request, exc)

        return mapped
