"""The one place where the exception tree becomes HTTP status codes, and the guard of writes.

Routes never catch toolkit errors themselves: they raise, and :func:`error_response` answers
with ``{"detail": "...", "error": "NotFoundError"}`` and the status below. The translation is
attached to the router (:class:`ErrorMappingRoute`, FastAPI's custom ``APIRoute`` pattern), not
to an app, so a host that only calls ``app.include_router(router)`` gets the same answers. Bad
query or body parameters never reach a route: FastAPI's validation answers them with a 422,
whose echoed inputs are cut to :data:`~error_analytics.models.MAX_ECHO_CHARS` characters.

Before a POST's body is read, :mod:`.guard` checks the token (401), the content type (415:
only ``application/json``, which a cross-site HTML form cannot send) and the size (413).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Coroutine
from typing import Any

import sqlalchemy as sa
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException  # FastAPI raises the base class too (a bad body)

from ..errors import (
    ConfigurationError,
    ConflictError,
    DatabaseError,
    DatabaseUnavailableError,
    ErrorAnalyticsError,
    InputError,
    NotFoundError,
)
from ..models import MAX_ECHO_CHARS
from .guard import guarded_request

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
    (sa.exc.DBAPIError, 503),  # only the schema-changed ones of SCHEMA_GONE_SQLSTATES get here
    (ErrorAnalyticsError, 500),
)


def status_for(exc: BaseException) -> int:
    for error_class, status in ERROR_TO_STATUS:
        if isinstance(exc, error_class):
            return status
    return 500


#: What the router translates; anything else is a bug and stays a 500 with a traceback in the log.
HANDLED = (ErrorAnalyticsError, sa.exc.OperationalError)
#: PostgreSQL's undefined table / column: the database changed under a running server (SQLite
#: says the same with an ``OperationalError``).
SCHEMA_GONE_SQLSTATES = frozenset({"42P01", "42703"})


def is_handled(exc: BaseException) -> bool:
    if isinstance(exc, HANDLED):
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, sa.exc.DBAPIError) and sqlstate in SCHEMA_GONE_SQLSTATES


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (valid in JSON, not in UTF-8) written as ``\\udXXX``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _clipped(text: str) -> str:
    if len(text) > MAX_ECHO_CHARS:
        text = f"{text[:MAX_ECHO_CHARS]}… ({len(text):,} characters)"
    return _encodable(text)


def error_response(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    if isinstance(exc, sa.exc.SQLAlchemyError):
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        detail = f"the database is unavailable: {reason[0] if reason else type(exc).__name__}"
        name = "DatabaseUnavailableError"
    else:
        detail, name = _encodable(str(exc)), type(exc).__name__
    if status >= 500:
        logger.error("%s %s -> %s: %s", request.method, request.url.path, status, detail)
    return JSONResponse(status_code=status, content={"detail": detail, "error": name})


def http_error_response(exc: HTTPException) -> JSONResponse:
    """An ``HTTPException`` (ours: 401, 413, 415; FastAPI's: 400 for an unreadable body) in the
    same ``{"detail", "error"}`` shape as every other error."""
    name = type(exc).__name__ if type(exc).__module__.startswith("error_analytics") else "HTTPError"
    return JSONResponse(
        status_code=exc.status_code,
        content={"detail": _clipped(str(exc.detail)), "error": name},
        headers=exc.headers,
    )


def _echo(value: object) -> object:
    """An input repeated in a validation error: strings cut, anything long (or that JSON cannot
    carry: NaN, a lone surrogate) replaced by a cut rendering of it (a 100 KB body is not sent
    back)."""
    if isinstance(value, str):
        return _clipped(value)
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    try:
        rendered = json.dumps(value, default=str, ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN or Infinity inside
        return _clipped(repr(value))
    if len(rendered) > MAX_ECHO_CHARS or _encodable(rendered) != rendered:
        return _clipped(rendered)
    return json.loads(rendered)


def validation_response(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 list, with every echoed ``input`` (and the messages' ``ctx``) cut short."""
    errors = []
    for error in exc.errors():
        item: dict[str, object] = {
            "type": str(error.get("type", "")),
            "loc": [
                part if isinstance(part, int) else _clipped(str(part)) for part in error["loc"]
            ],
            "msg": _clipped(str(error.get("msg", ""))),
        }
        if "input" in error:
            item["input"] = _echo(error["input"])
        if error.get("ctx"):
            item["ctx"] = {str(key): _echo(str(value)) for key, value in error["ctx"].items()}
        errors.append(item)
    return JSONResponse(
        status_code=422, content={"detail": errors, "error": "RequestValidationError"}
    )


class ErrorMappingRoute(APIRoute):
    """An ``APIRoute`` that guards writes before their body is read and answers toolkit errors
    with :func:`error_response`, validation errors with :func:`validation_response`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        writes = bool(self.methods and self.methods - {"GET", "HEAD", "OPTIONS"})

        async def mapped(request: Request) -> Response:
            try:
                return await handler(guarded_request(request, writes=writes))
            except RequestValidationError as exc:
                return validation_response(exc)
            except HTTPException as exc:
                return http_error_response(exc)
            except Exception as exc:
                if not is_handled(exc):
                    raise  # a bug: a 500, with its traceback in the server's log
                return error_response(request, exc)

        return mapped
