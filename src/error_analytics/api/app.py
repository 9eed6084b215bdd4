"""``create_app()``: the API and the dashboard as one standalone FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from .. import __version__
from ..config import Settings, get_settings
from .dashboard import mount_dashboard
from .router import API_PREFIX, router

DESCRIPTION = (
    "Why do our AI developer workflows fail? Summary, phases, patterns, trends, recommendations "
    "and the review of discovered error clusters. Write endpoints (POST) take a JSON body "
    "(`Content-Type: application/json`, at most 64 KiB; `{}` when there is nothing to say) and "
    "need `Authorization: Bearer <token>` when a token is configured."
)


def create_app(settings: Settings | None = None, *, dashboard: bool = True) -> FastAPI:
    """The router at ``/api/error-analytics`` and (unless ``dashboard=False``) the page at ``/``.

    ``settings`` replaces :func:`~error_analytics.config.get_settings` for this app only; without
    it the settings come from the environment.
    """
    app = FastAPI(title="Error analytics", version=__version__, description=DESCRIPTION)
    app.include_router(router)
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    if dashboard:
        mount_dashboard(app, path="/", api_base=API_PREFIX)
    return app
