"""Cluster review over HTTP: list, show, and every review action of the review service.

Reads are open; every POST depends on :data:`~.dependencies.WriteAccess` (a bearer token when
one is configured). Actions take ``expected_version`` (the ``version`` the client last read):
a cluster changed since answers 409 instead of silently overwriting a colleague's decision.
Each action answers with the cluster as it is afterwards, so a client never needs a second
request to redraw it.

Routes answer the review service's results (:mod:`error_analytics.review.models`, audit entries
of :mod:`error_analytics.models`), written by their ``response_model`` (:mod:`.schemas`).

Every read (and every answer) counts a cluster's errors, runs, phases, first and last seen in
the window of the ``days`` query parameter (default 30), like ``analyze-errors ... --days``;
figures over everything recorded are named ``*_all_time``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query

from ..config import DEFAULT_RULES_FILE
from ..models import (
    NO_TEXT_CATEGORY,
    UNKNOWN_CATEGORY,
    AuditEntry,
    ClusterSort,
    ClusterStatus,
    Phase,
)
from ..store.state import AlertRecord
from . import schemas
from .dependencies import AnalyticsDep, Days, ReviewDep, SettingsDep, WriteAccess
from .errors import ErrorMappingRoute
from .routing import PROBLEMS
from .routing import WRITE_PROBLEMS as _WRITE

if TYPE_CHECKING:  # the review package brings the clustering code: loaded on first use
    from ..review.models import ClusterDetail, ClusterPage, RefreshResult, RulePreview

# FastAPI evaluates a route's whole signature when the route is made, so a route returning one
# of these types spells it as a quoted forward reference (UP037 is silenced: the quotes are
# needed at run time); FastAPI never resolves it, as every route names its response_model.

router = APIRouter(route_class=ErrorMappingRoute)
TAGS: list[str | enum.Enum] = ["clusters"]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Problem, "description": "no such cluster"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": schemas.Problem, "description": "the cluster changed since expected_version"}
}
WRITE_PROBLEMS = {**_WRITE, **NOT_FOUND, **CONFLICT}


SORTS: tuple[str, ...] = tuple(ClusterSort)
#: Query and path text: no NUL (PostgreSQL cannot compare it; a 422, not a database error).
NO_NUL = r"^[^\x00]*$"
ClusterId = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=NO_NUL, description="the cluster's stable id"),
]
ActionId = Annotated[int, Path(ge=1, le=schemas.MAX_STORED_INT, description="an audit log id")]
DEFAULT_ACTOR = "api"


def _actor(body: schemas.Action) -> str:
    return (body.actor or "").strip() or DEFAULT_ACTOR


def _rules_file(settings: SettingsDep) -> str:
    return settings.rules_file or DEFAULT_RULES_FILE


def _detail(review: ReviewDep, cluster_id: str, days: int) -> ClusterDetail:
    return review.get_cluster(cluster_id, days)


@router.get(
    "/catalog",
    response_model=schemas.Catalog,
    tags=TAGS,
    summary="Categories, statuses, sorts and phases the filters and forms accept",
)
def catalog(analytics: AnalyticsDep) -> schemas.Catalog:
    """The categories of the rules in force, then ``unknown`` and ``no_error_text`` (which only
    counts failed runs without text: no cluster has it)."""
    categories = [
        schemas.CategoryInfo(
            key=rule.key,
            name=rule.name,
            category=rule.category,
            recommendation=rule.recommendation,
            severity=rule.severity,
        )
        for rule in (
            *analytics.rules.categories.values(),
            analytics.category_rule(UNKNOWN_CATEGORY),
            analytics.category_rule(NO_TEXT_CATEGORY),
        )
    ]
    return schemas.Catalog(
        categories=categories,
        statuses=[status.value for status in ClusterStatus],
        sorts=list(SORTS),
        phases=[phase.value for phase in Phase.ordered()],
    )


@router.post(
    "/clusters/refresh",
    response_model=schemas.RefreshResult,
    tags=TAGS,
    responses={**_WRITE, **CONFLICT},
    dependencies=[WriteAccess],
    summary="Cluster the window's errors into the persisted clusters",
)
def refresh(review: ReviewDep, body: schemas.RefreshRequest, days: Days = 30) -> "RefreshResult":
    """Assigns new errors to existing clusters first and creates clusters only for what matches
    nothing; safe to repeat. The body is ``{}``."""
    return review.refresh(days)


@router.get(
    "/clusters",
    response_model=schemas.ClusterPage,
    tags=TAGS,
    responses=PROBLEMS,
    summary="Clusters, filtered, sorted and paginated",
)
def list_clusters(
    review: ReviewDep,
    status: Annotated[
        ClusterStatus | None, Query(description="only clusters in this status")
    ] = None,
    category: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="only this category key")
    ] = None,
    phase: Annotated[Phase | None, Query(description="only clusters seen in this phase")] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL, description="text in the name, template or examples"),
    ] = None,
    sort: Annotated[ClusterSort, Query(description=" | ".join(SORTS))] = ClusterSort.SIZE,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=schemas.MAX_STORED_INT)] = 0,
    days: Days = 30,
) -> "ClusterPage":
    """Without ``status``, the clusters with errors in the window; with it, every cluster in
    that status (one that stayed quiet shows 0 errors)."""
    return review.list_clusters(
        status=status.value if status else None,
        category=category or None,
        phase=phase.value if phase else None,
        text=q or None,
        sort=sort,
        limit=limit,
        offset=offset,
        days=days,
    )


@router.get(
    "/clusters/{cluster_id}",
    response_model=schemas.ClusterDetail,
    tags=TAGS,
    responses={**NOT_FOUND, **PROBLEMS},
    summary="One cluster: evidence, what is over-represented in it, and history",
)
def get_cluster(review: ReviewDep, cluster_id: ClusterId, days: Days = 30) -> "ClusterDetail":
    """Figures in the window; ``breakdown`` shows the cluster's errors by phase, model and
    workflow template beside all errors of the window, ``over_represented`` the values whose
    share in the cluster is at least 1.5 times their share overall (with 3 errors or more)."""
    return _detail(review, cluster_id, days)


@router.post(
    "/clusters/{cluster_id}/accept",
    response_model=schemas.ClusterDetail,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="Mark a cluster reviewed",
)
def accept(
    review: ReviewDep, cluster_id: ClusterId, body: schemas.Action, days: Days = 30
) -> "ClusterDetail":
    review.accept(cluster_id, actor=_actor(body), expected_version=body.expected_version)
    return _detail(review, cluster_id, days)


@router.post(
    "/clusters/{cluster_id}/rename",
    response_model=schemas.ClusterDetail,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="Give a cluster a name",
)
def rename(
    review: ReviewDep, cluster_id: ClusterId, body: schemas.Rename, days: Days = 30
) -> "ClusterDetail":
    review.rename(cluster_id, body.name, actor=_actor(body), expected_version=body.expected_version)
    return _detail(review, cluster_id, days)


@router.post(
    "/clusters/{cluster_id}/category",
    response_model=schemas.ClusterDetail,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="Set a cluster's category",
)
def set_category(
    review: ReviewDep, cluster_id: ClusterId, body: schemas.SetCategory, days: Days = 30
) -> "ClusterDetail":
    review.set_category(
        cluster_id, body.category, actor=_actor(body), expected_version=body.expected_version
    )
    return _detail(review, cluster_id, days)


@router.post(
    "/clusters/{cluster_id}/merge",
    response_model=schemas.ClusterDetail,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="Fold other clusters into this one (future errors follow)",
)
def merge(
    review: ReviewDep, cluster_id: ClusterId, body: schemas.Merge, days: Days = 30
) -> "ClusterDetail":
    review.merge(
        body.source_ids, cluster_id, actor=_actor(body), expected_version=body.expected_version
    )
    return _detail(review, cluster_id, days)


@router.post(
    "/clusters/{cluster_id}/split",
    response_model=schemas.ClusterDetail,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="Move templates out into a new cluster; answers with the new cluster",
)
def split(
    review: ReviewDep, cluster_id: ClusterId, body: schemas.Split, days: Days = 30
) -> "ClusterDetail":
    created = review.split(
        cluster_id,
        body.templates,
        name=body.name,
        actor=_actor(body),
        expected_version=body.expected_version,
    )
    return _detail(review, created.id, days)


@router.post(
    "/clusters/{cluster_id}/ignore",
    response_model=schemas.ClusterDetail,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="Mute a cluster: forever, until a time, or for N more occurrences",
)
def ignore(
    review: ReviewDep, cluster_id: ClusterId, body: schemas.Ignore, days: Days = 30
) -> "ClusterDetail":
    review.ignore(
        cluster_id,
        until=body.until,
        occurrences=body.occurrences,
        actor=_actor(body),
        expected_version=body.expected_version,
    )
    return _detail(review, cluster_id, days)


@router.post(
    "/clusters/{cluster_id}/unignore",
    response_model=schemas.ClusterDetail,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="End a mute now",
)
def unignore(
    review: ReviewDep, cluster_id: ClusterId, body: schemas.Action, days: Days = 30
) -> "ClusterDetail":
    review.unignore(cluster_id, actor=_actor(body), expected_version=body.expected_version)
    return _detail(review, cluster_id, days)


@router.post(
    "/clusters/{cluster_id}/resolve",
    response_model=schemas.ClusterDetail,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="Mark fixed; it turns regressed if the error comes back",
)
def resolve(
    review: ReviewDep, cluster_id: ClusterId, body: schemas.Action, days: Days = 30
) -> "ClusterDetail":
    review.resolve(cluster_id, actor=_actor(body), expected_version=body.expected_version)
    return _detail(review, cluster_id, days)


@router.post(
    "/clusters/{cluster_id}/rule-preview",
    response_model=schemas.RulePreview,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="Which errors a keyword/regex rule for this cluster would match (writes nothing)",
)
def rule_preview(
    review: ReviewDep,
    settings: SettingsDep,
    cluster_id: ClusterId,
    body: schemas.RuleDraft,
    days: Days = 30,
) -> "RulePreview":
    return review.preview_rule(
        cluster_id,
        pattern=body.pattern,
        keywords=body.keywords,
        category=body.category,
        days=days,
        rules_file=_rules_file(settings),
    )


@router.post(
    "/clusters/{cluster_id}/promote",
    response_model=schemas.ClusterDetail,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="Save the rule to the rules file and give the cluster the rule's category",
)
def promote(
    review: ReviewDep,
    settings: SettingsDep,
    cluster_id: ClusterId,
    body: schemas.RuleDraft,
    days: Days = 30,
) -> "ClusterDetail":
    """Writes to ``--rules`` / ``ERROR_ANALYTICS_RULES``, else ``./error_analytics_rules.toml`` like
    ``analyze-errors clusters promote``. The server keeps its rules until restarted with ``--rules``."""
    review.promote_to_rule(
        cluster_id,
        pattern=body.pattern,
        keywords=body.keywords,
        category=body.category,
        rules_file=_rules_file(settings),
        actor=_actor(body),
        expected_version=body.expected_version,
    )
    return _detail(review, cluster_id, days)


@router.post(
    "/actions/{action_id}/undo",
    response_model=schemas.AuditEntry,
    tags=TAGS,
    responses=WRITE_PROBLEMS,
    dependencies=[WriteAccess],
    summary="Undo one review action",
)
def undo(review: ReviewDep, action_id: ActionId, body: schemas.Action) -> AuditEntry:
    return review.undo(action_id, actor=_actor(body))


@router.get(
    "/audit",
    response_model=list[schemas.AuditEntry],
    tags=TAGS,
    responses={**NOT_FOUND, **PROBLEMS},
    summary="The audit log, newest first",
)
def audit(
    review: ReviewDep,
    cluster_id: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="only this cluster")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    return review.audit_log(cluster_id=cluster_id or None, limit=limit)


@router.get(
    "/alerts",
    response_model=list[schemas.AlertRecord],
    tags=TAGS,
    responses=PROBLEMS,
    summary="The webhook alerts recorded, newest first, with their delivery status",
)
def alerts(
    review: ReviewDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[AlertRecord]:
    return review.alerts(limit=limit)
