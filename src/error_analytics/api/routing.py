"""The one ``APIRouter`` of the API; :mod:`.router`, :mod:`.clusters` and :mod:`.downloads` add
their routes to it, so ``router.routes`` lists every endpoint (no nested routers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from . import schemas
from .errors import ErrorMappingRoute

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

router = APIRouter(prefix=API_PREFIX, route_class=ErrorMappingRoute)
