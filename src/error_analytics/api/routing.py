"""The one ``APIRouter`` of the API; :mod:`.router`, :mod:`.clusters` and :mod:`.downloads` add
their routes to it, so ``router.routes`` lists every endpoint (no nested routers)."""

from __future__ import annotations

from fastapi import APIRouter

from . import schemas
from .errors import ErrorMappingRoute

API_PREFIX = "/api/error-analytics"

#: Error answers every data endpoint may give, for the OpenAPI schema.
PROBLEMS: dict[int | str, dict[str, object]] = {
    422: {"description": "a parameter is out of range or unknown"},
    503: {"model": schemas.Problem, "description": "the workflow database cannot be read"},
}

router = APIRouter(prefix=API_PREFIX, route_class=ErrorMappingRoute)
