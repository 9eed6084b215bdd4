"""What a request must pass before its body is read: the token, the content type, the size.

FastAPI reads a body before it solves the route's dependencies, so a token check that is only
a dependency lets anyone make the server read 200 MB before it answers 401. The route class
(:class:`~.errors.ErrorMappingRoute`) calls :func:`guarded_request` first instead:

* a write (POST) needs ``Authorization: Bearer <token>`` when a token is configured: 401;
* a write needs ``Content-Type: application/json`` — a cross-site HTML form can only send
  ``application/x-www-form-urlencoded``, ``multipart/form-data`` or ``text/plain``, and a page
  cannot send JSON or custom headers to another origin without a CORS preflight, so a forged
  cross-site post (CSRF) never reaches a route: 415;
* a body may be at most :data:`MAX_ACTION_BODY_BYTES` (writes) or :data:`MAX_BODY_BYTES`
  (anything else): a larger ``Content-Length`` is refused before reading, and a chunked body
  is counted while it streams and refused as soon as it passes the limit: 413.
"""

from __future__ import annotations

import email.message
import secrets

from fastapi import HTTPException, Request
from starlette.types import Message, Receive

from ..config import Settings, get_settings

#: The largest body of a review action (POST); its fields are a few short strings.
MAX_ACTION_BODY_BYTES = 64 * 1024
#: The largest body of any other request to the router.
MAX_BODY_BYTES = 1024 * 1024


class Unauthorized(HTTPException):
    """A write without the configured token."""


class UnsupportedMediaType(HTTPException):
    """A write whose body is not declared as JSON."""


class BodyTooLarge(HTTPException):
    """A body over the route's limit."""


def request_settings(request: Request) -> Settings:
    """The settings the route's ``SettingsDep`` would get (honouring ``dependency_overrides``)."""
    overrides = getattr(request.app, "dependency_overrides", None) or {}
    return overrides.get(get_settings, get_settings)()


def check_token(settings: Settings, authorization: str | None) -> None:
    """Raise :class:`Unauthorized` unless ``authorization`` is ``Bearer <the configured token>``
    (nothing to check when no token is configured)."""
    expected = settings.api_token
    if not expected:
        return
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    given = credentials.strip() if scheme.lower() == "bearer" else ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized(
            status_code=401,
            detail="this endpoint writes: send 'Authorization: Bearer <token>' with the configured "
            "token (ERROR_ANALYTICS_API_TOKEN / --token)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def is_json(content_type: str | None) -> bool:
    """``application/json`` or ``application/<something>+json``, parameters allowed."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        status_code=413,
        detail=f"the request body is larger than {limit:,} bytes",
    )


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that counts the body's bytes and raises :class:`BodyTooLarge` past ``limit``."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message.get("type") == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return limited_receive


def guarded_request(request: Request, *, writes: bool) -> Request:
    """``request`` checked (token, content type, declared size) and with a body that cannot be
    read past the limit; raises the :class:`HTTPException` subclasses above."""
    limit = MAX_ACTION_BODY_BYTES if writes else MAX_BODY_BYTES
    if writes:
        check_token(request_settings(request), request.headers.get("authorization"))
        if not is_json(request.headers.get("content-type")):
            raise UnsupportedMediaType(
                status_code=415,
                detail="writes take 'Content-Type: application/json' (send {} when there is "
                "nothing to say); form and text posts are refused",
            )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise HTTPException(status_code=400, detail="Content-Length is not a number")
        if int(declared) > limit:
            raise _too_large(limit)
    return Request(request.scope, _limited(request.receive, limit))
