"""Serving the dashboard: a single page plus its static assets, shipped inside the package.

The standalone app serves it at ``/``; a host mounts it wherever it likes::

    from error_analytics.api import mount_dashboard
    mount_dashboard(app, path="/error-analytics")

The page finds the API through a ``<meta name="api-base">`` tag filled in here, so the router
may be included under another prefix too. The page is sent with a strict Content-Security-Policy
(scripts and styles from the same origin only): even a rendering mistake could not run a script
that arrived inside an error message.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
DEFAULT_API_BASE = "/api/error-analytics"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)


def render_index(*, api_base: str, static_base: str) -> str:
    """``index.html`` with the API and asset locations filled in (HTML-escaped)."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return page.replace("{{API_BASE}}", html.escape(api_base, quote=True)).replace(
        "{{STATIC_BASE}}", html.escape(static_base, quote=True)
    )


def mount_dashboard(app: FastAPI, *, path: str = "/", api_base: str = DEFAULT_API_BASE) -> None:
    """Serve the dashboard page at ``path`` and its assets at ``path/static``.

    ``api_base`` is where the router is mounted (``/api/error-analytics`` unless the host
    includes it under an extra prefix).
    """
    base = "/" + path.strip("/") if path.strip("/") else ""
    static_base = f"{base}/static"
    app.mount(static_base, StaticFiles(directory=STATIC_DIR), name=f"error-analytics-static{base}")

    def index() -> HTMLResponse:
        page = render_index(api_base=api_base.rstrip("/"), static_base=static_base)
        return HTMLResponse(
            page,
            headers={
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-cache",
            },
        )

    app.add_api_route(
        base or "/",
        index,
        methods=["GET"],
        include_in_schema=False,
        response_class=HTMLResponse,
        name=f"error-analytics-dashboard{base}",
    )
    if base:

        def with_slash() -> RedirectResponse:
            return RedirectResponse(base)

        app.add_api_route(f"{base}/", with_slash, methods=["GET"], include_in_schema=False)
