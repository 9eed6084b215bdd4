"""What the API's routers share: the prefix and the error answers the OpenAPI schema documents.

Each API module (:mod:`.analyses`, :mod:`.clusters`, :mod:`.downloads`) owns an
``APIRouter(route_class=ErrorMappingRoute)`` without a prefix; :mod:`.router` includes the three
in the public router, which alone carries :data:`API_PREFIX`. The route class is set where the
routes are made, so each route guards writes and translates errors (:mod:`.errors`) wherever
its router is included.
"""

from __future__ import annotations

from typing import Any

from . import schemas

API_PREFIX = "/api/error-analytics"

#: Error answers every data endpoint may give, for the OpenAPI schema.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    422: {
        "model": schemas.ValidationProblem,
        "description": "a parameter is out of range or unknown",
    },
    503: {"model": schemas.Problem, "description": "the workflow database cannot be read"},
}
#: ... and what every write (POST) may answer besides: see :mod:`.guard`.
WRITE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    400: {"model": schemas.Problem, "description": "the body cannot be read"},
    401: {
        "model": schemas.Problem,
        "description": "a token is configured and the request did not bring it",
    },
    413: {"model": schemas.Problem, "description": "the body is over 64 KiB"},
    415: {
        "model": schemas.Problem,
        "description": "the body is not declared as JSON (Content-Type: application/json)",
    },
}


__all__ = ["API_PREFIX", "PROBLEMS", "WRITE_PROBLEMS"]
