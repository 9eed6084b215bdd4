"""The HTTP API: ``router = APIRouter(prefix="/api/error-analytics")``, knowing nothing of its app.

It includes one router per module, explicitly:

* :mod:`.analyses` — the health check and the five analyses (summary, by-phase, patterns,
  trends, recommendations), each the document ``analyze-errors --<view> --json`` prints;
* :mod:`.clusters` — the catalog, the cluster list and detail, every review action, the audit log;
* :mod:`.downloads` — the Markdown report, every view as JSON, the cluster list as CSV.

A host mounts it with ``app.include_router(router)``; nothing is opened at import time. The
database comes from :data:`~error_analytics.api.dependencies.SettingsDep` (override
``get_settings``) and each module's routes translate errors themselves (their route class,
:class:`~error_analytics.api.errors.ErrorMappingRoute`), so the answers are the same in a host
app and in :func:`~error_analytics.api.app.create_app`.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import analyses, clusters, downloads
from .routing import API_PREFIX

router = APIRouter(prefix=API_PREFIX)
router.include_router(analyses.router)
router.include_router(clusters.router)
router.include_router(downloads.router)

__all__ = ["API_PREFIX", "router"]
