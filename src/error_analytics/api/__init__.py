"""The HTTP API and the dashboard.

A host application mounts both in two lines::

    from error_analytics.api import router
    app.include_router(router)            # the API under /api/error-analytics

and, for the page, ``mount_dashboard(app, path="/error-analytics")``. ``create_app()`` builds a
standalone app with both (what ``analyze-errors serve`` runs).
"""

from error_analytics.api.app import create_app
from error_analytics.api.dashboard import mount_dashboard
from error_analytics.api.router import API_PREFIX, router

__all__ = ["API_PREFIX", "create_app", "mount_dashboard", "router"]
