"""``data/submit.json``: everything the Submit form needs, exported from where it is defined.

The rules and the check messages (``submission/rules.py`` with ``leaderboard.yaml``'s
``validation:``), the name formats (``records/keys.py``), the request schema's field
order and enums (``records/request.py``), the repository the PRs go to (``site:``) and
the Hub endpoint. The form reads nothing else, so it words, names and writes a request
as ``shlepa validate`` and ``shlepa submit`` do.
"""

from __future__ import annotations

from typing import Any

from shlepa.config import Settings
from shlepa.records.keys import name_formats
from shlepa.records.request import SUBMITTED_REASON, ModelType, Precision, Request, Status, WeightType
from shlepa.site.meta import HUB_URL, PRECISION_ORDER, TYPE_TITLES
from shlepa.submission.hub import DEFAULT_ENDPOINT
from shlepa.submission.rules import form_rules
from shlepa.submission.series import SERIES_DEFAULT_SUITE, SPEC_RE
from shlepa.submission.submit import DEFAULT_PRECISION

SUBMIT_DATA = "data/submit.json"


def submit_form_data(settings: Settings, suites: dict[str, str]) -> dict[str, Any]:
    """The JSON of data/submit.json; ``suites``: name -> title of the board's suites."""
    return {
        "schema": "shlepa.site.submit/1",
        "rules": form_rules(settings.validation),
        "names": name_formats(),
        "request": {
            "fields": list(Request.model_fields),
            "status": Status.pending.value,
            "default_precision": DEFAULT_PRECISION,
            "reason": SUBMITTED_REASON,
            "precisions": [p.value for p in PRECISION_ORDER],
            "model_types": [{"key": t.value, "title": TYPE_TITLES[t]} for t in ModelType],
            "weight_types": [w.value for w in WeightType],
        },
        "series": {
            "spec_re": SPEC_RE.pattern,
            "default_suite": SERIES_DEFAULT_SUITE,
            "default_precision": Precision.bfloat16.value,
        },
        "suites": [{"key": k, "title": v} for k, v in suites.items()],
        "repository": settings.site.repository,
        "branch": settings.site.branch,
        "hub_url": HUB_URL,
        "hub_api": DEFAULT_ENDPOINT,
    }


__all__ = ["SUBMIT_DATA", "submit_form_data"]
