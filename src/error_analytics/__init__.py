"""error-analytics: why do our AI developer workflows fail?

Reads failed workflow runs from the workflow database (SQLite or PostgreSQL, either layout),
classifies and clusters their errors, and answers summary, by-phase, patterns, trends,
recommendations and clusters through :class:`ErrorAnalyticsService`, the ``analyze-errors``
CLI, a FastAPI router and a web dashboard. The host application's original interface is kept:
``ErrorAnalyticsService()`` builds itself from the environment, and :class:`ErrorAnalysisCLI`
prints one view per method (docs/host-integration.md).
"""

from error_analytics.cli.host import ErrorAnalysisCLI
from error_analytics.errors import (
    ConfigurationError,
    ConflictError,
    DatabaseError,
    DatabaseUnavailableError,
    ErrorAnalyticsError,
    InputError,
    InvalidRuleError,
    NotFoundError,
    SchemaError,
)
from error_analytics.models import (
    DebugRecommendation,
    DiscoveredCluster,
    ErrorEvent,
    ErrorPattern,
    ErrorSummary,
    Phase,
    PhaseErrorBreakdown,
    TrendData,
)
from error_analytics.rules import ERROR_PATTERNS, classify_error
from error_analytics.service import ErrorAnalyticsService

__version__ = "0.1.0"

__all__ = [
    "ERROR_PATTERNS",
    "ConfigurationError",
    "ConflictError",
    "DatabaseError",
    "DatabaseUnavailableError",
    "DebugRecommendation",
    "DiscoveredCluster",
    "ErrorAnalysisCLI",
    "ErrorAnalyticsError",
    "ErrorAnalyticsService",
    "ErrorEvent",
    "ErrorPattern",
    "ErrorSummary",
    "InputError",
    "InvalidRuleError",
    "NotFoundError",
    "Phase",
    "PhaseErrorBreakdown",
    "SchemaError",
    "TrendData",
    "__version__",
    "classify_error",
]
