"""The one exception tree of error-analytics.

Every error the toolkit raises on purpose derives from :class:`ErrorAnalyticsError`.
Leaves also subclass the closest builtin so callers can catch either::

    ErrorAnalyticsError
    ├── ConfigurationError (ValueError)      bad option, setting or environment
    │   └── InvalidRuleError (ValueError)    a rules file that does not validate
    ├── DatabaseError (RuntimeError)
    │   ├── DatabaseUnavailableError         file missing / server unreachable
    │   └── SchemaError                      no workflow_history table, or unusable columns
    ├── InputError (ValueError)              unreadable --input file or bad parameter
    ├── NotFoundError (LookupError)          a cluster or object that does not exist
    └── ConflictError (RuntimeError)         a concurrent write lost the race

The CLI turns them into a one-line ``Error: ...`` on stderr; the API maps them to HTTP
status codes in a single exception handler.
"""

from __future__ import annotations


class ErrorAnalyticsError(Exception):
    """Base class of every error raised by error-analytics."""


class ConfigurationError(ErrorAnalyticsError, ValueError):
    """An option, setting or environment variable has an unusable value."""


class InvalidRuleError(ConfigurationError):
    """A rules file (TOML) does not validate."""


class DatabaseError(ErrorAnalyticsError, RuntimeError):
    """The workflow database cannot be used."""


class DatabaseUnavailableError(DatabaseError):
    """The database file does not exist or the server cannot be reached."""


class SchemaError(DatabaseError):
    """The database lacks the tables or columns the analysis needs."""


class InputError(ErrorAnalyticsError, ValueError):
    """User input (a file, a parameter) cannot be used."""


class NotFoundError(ErrorAnalyticsError, LookupError):
    """The requested object does not exist."""


class ConflictError(ErrorAnalyticsError, RuntimeError):
    """A write conflicts with a concurrent change; reload and try again."""
