"""Where a run can be opened: the host's ``github_url``, else a configured URL template.

The host stores a ``github_url`` per run in ``workflow_history`` (the column may be missing or
NULL). A run without a usable one takes ``ERROR_ANALYTICS_RUN_URL_TEMPLATE`` (``{adw_id}``
replaced by the run id); with neither it has no URL. Only ``http``/``https`` URLs come out: a
``javascript:`` or ``data:`` value in the database is never handed to a page as a link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlsplit

from ..errors import ConfigurationError
from .models import RunLink

RUN_ID_FIELD = "{adw_id}"
HTTP_SCHEMES = frozenset({"http", "https"})


def http_url(value: object) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host, else None."""
    if not isinstance(value, str):
        return None
    candidate = value.strip()
    if not candidate or any(ord(char) < 0x20 or char.isspace() for char in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in HTTP_SCHEMES or not parts.hostname:
        return None
    return candidate


def check_run_url_template(template: str | None) -> str | None:
    """The template when usable: an http(s) URL naming ``{adw_id}``; None stays None."""
    if template is None:
        return None
    if RUN_ID_FIELD not in template or http_url(template.replace(RUN_ID_FIELD, "x")) is None:
        raise ConfigurationError(
            "ERROR_ANALYTICS_RUN_URL_TEMPLATE must be an http(s) URL containing {adw_id}, "
            f"e.g. https://ci.example.com/runs/{{adw_id}}, not {template!r}"
        )
    return template


def run_url(run_id: str, github_url: str | None, template: str | None) -> str | None:
    """The run's ``github_url`` if it is an http(s) URL, else the template's URL, else None."""
    linked = http_url(github_url)
    if linked is not None:
        return linked
    if template is None:
        return None
    # str.replace, not str.format: the rest of the template is taken literally
    return http_url(template.replace(RUN_ID_FIELD, quote(run_id, safe="")))


def run_links(
    run_ids: Sequence[str], run_to_github_url: Mapping[str, str | None], template: str | None
) -> list[RunLink]:
    """One :class:`RunLink` per run id, in the order given."""
    return [
        RunLink(run_id=run_id, url=run_url(run_id, run_to_github_url.get(run_id), template))
        for run_id in run_ids
    ]
