"""The constants the site's Python, templates and JavaScript share, defined once here.

The build writes :func:`site_meta` into the ``meta`` block of ``data/leaderboard.json``;
the templates read the same values through the renderer's globals, and
``site/assets/js`` reads them from the data file, so nothing is spelled twice.
"""

from __future__ import annotations

import functools
from typing import Any

from shlepa.records.keys import SHORT_SHA
from shlepa.records.request import MODEL_TYPE_SYMBOLS, ModelType, Precision, WeightType

DATA_FILE = "data/leaderboard.json"
DATA_CSV = "data/leaderboard.csv"
HUB_URL = "https://huggingface.co/"
FLAG_SYMBOL = "⚑"
# Beside a model evaluated with an lm-eval release other than its suite's (`lm_eval_version`).
HARNESS_SYMBOL = "≠"
# A model page's per-sample details: details/<benchmark>-<page>.json beside its index.html.
DETAILS_PAGE = "{bench}-{page}.json"
# Per row of those pages: its task and whether the model was right (the viewer's filters).
DETAILS_INDEX = "index.json"
# What the details viewer needs when it reads a details file from the store itself (the
# metric and filter names as people read them, the store): written once per site.
DETAILS_META = "data/details-meta.json"

TABULATOR_CSS = "assets/vendor/tabulator-6.5.3/tabulator.min.css"
TABULATOR_JS = "assets/vendor/tabulator-6.5.3/tabulator.min.js"
VEGA_JS = (
    "assets/vendor/vega-6.4.0/vega.min.js",
    "assets/vendor/vega-lite-6.4.3/vega-lite.min.js",
    "assets/vendor/vega-embed-7.3.0/vega-embed.min.js",
)

TYPE_TITLES = {
    ModelType.pretrained: "pretrained",
    ModelType.continuously_pretrained: "continuously pretrained",
    ModelType.fine_tuned: "fine-tuned",
    ModelType.chat: "chat / instruction-tuned",
    ModelType.merge: "merge",
}
# The order of the filter checkboxes (the enum's order is the request schema's).
PRECISION_ORDER = (Precision.bfloat16, Precision.float16, Precision.float32, Precision.int8, Precision.int4)
assert set(PRECISION_ORDER) == set(Precision) and set(TYPE_TITLES) == set(ModelType) == set(MODEL_TYPE_SYMBOLS)

# Parameter-count bands (billions): a model is in the first band whose ``max`` it does not
# exceed; ``max: None`` is open-ended. Models of unknown size are in UNKNOWN_BAND.
SIZE_BANDS = (
    {"key": "0-3", "label": "≤3B", "max": 3},
    {"key": "3-7", "label": "3–7B", "max": 7},
    {"key": "7-65", "label": "7–65B", "max": 65},
    {"key": "65+", "label": ">65B", "max": None},
)
UNKNOWN_BAND = {"key": "unknown", "label": "unknown"}

# Kinds of models the "Show" filter hides or shows; ``shown``: ticked by default.
SHOW_KINDS = (
    {"key": "flagged", "label": "flagged", "shown": False},
    {"key": "merged", "label": "merged", "shown": True},
    {"key": "moe", "label": "mixture of experts", "shown": True},
    {"key": "unavailable", "label": "no longer available", "shown": False},
    {"key": "harness", "label": "other lm-eval version", "shown": True},
)

# The row fields of data/leaderboard.json the table shows after the benchmarks.
EXTRA_COLUMNS = (
    {"field": "precision", "title": "Precision", "shown": True},
    {"field": "params", "title": "Params (B)", "shown": True},
    {"field": "license", "title": "License", "shown": True},
    {"field": "sha", "title": "Revision", "shown": True},
    {"field": "arch", "title": "Architecture", "shown": False},
    {"field": "submitted", "title": "Submitted", "shown": False},
    {"field": "weight_type", "title": "Weights", "shown": False},
)


def site_meta(details_store: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``meta`` block of data/leaderboard.json; ``details_store``: ``{kind, base_url}`` of the
    configured details store (base_url site-relative for the branch store, else absolute)."""
    return {
        "details_store": details_store,
        "model_types": [{"key": str(t), "symbol": MODEL_TYPE_SYMBOLS[t], "title": TYPE_TITLES[t]} for t in ModelType],
        "precisions": [str(p) for p in PRECISION_ORDER],
        "weight_types": [str(w) for w in WeightType],
        "size_bands": list(SIZE_BANDS),
        "unknown_size": UNKNOWN_BAND,
        "show": list(SHOW_KINDS),
        "columns": list(EXTRA_COLUMNS),
        "hub_url": HUB_URL,
        "flag_symbol": FLAG_SYMBOL,
        "harness_symbol": HARNESS_SYMBOL,
        "short_sha": SHORT_SHA,  # how many hex digits of a revision the pages show
    }


def details_meta(details_store: dict[str, str] | None) -> dict[str, Any]:
    """``data/details-meta.json``: the titles ``metric_title``/``task_title`` use, as data for the viewer."""
    return {"store": details_store, "metric_titles": METRIC_TITLES, "filter_titles": FILTER_TITLES}


__all__ = [
    "DATA_FILE",
    "DETAILS_INDEX",
    "DETAILS_META",
    "DETAILS_PAGE",
    "EXTRA_COLUMNS",
    "METRIC_TITLES",
    "SHOW_KINDS",
    "SIZE_BANDS",
    "TABULATOR_CSS",
    "TABULATOR_JS",
    "TYPE_TITLES",
    "UNKNOWN_BAND",
    "VEGA_JS",
    "details_meta",
    "metric_title",
    "site_meta",
    "subject_title",
    "task_title",
]


# What the metrics lm-eval reports are called on the site ("acc_norm,none" -> "accuracy
# (length-normalized)"): the model page's score table and the details viewer read this one
# mapping (the viewer through the details index of each page).
METRIC_TITLES = {
    "acc": "accuracy",
    "acc_norm": "accuracy (length-normalized)",
    "acc_mutual_info": "accuracy (mutual information)",
    "exact_match": "exact match",
    "em": "exact match",
    "f1": "F1",
    "mc1": "accuracy (single true answer)",
    "mc2": "probability of the true answers",
    "pct_stereotype": "stereotype preference",
    "likelihood_diff": "log-likelihood difference",
    "pass@1": "pass@1",
    "pass@10": "pass@10",
    "pass_at_1": "pass@1",
    "word_perplexity": "word perplexity",
    "byte_perplexity": "byte perplexity",
    "bits_per_byte": "bits per byte",
    "memorized": "memorized (exact continuation)",
    "match_rate": "token match rate",
    "bleu_max": "BLEU (max)",
    "rouge1_max": "ROUGE-1 (max)",
}
# lm-eval's filters as words; "none" (no filter) is not shown.
FILTER_TITLES = {
    "none": "",
    "strict-match": "strict match",
    "flexible-extract": "flexible extract",
    "get-answer": "extracted answer",
    "create_test": "",
}


@functools.lru_cache(maxsize=4096)  # 57 subjects x 10,000 pages: the same few hundred names
def metric_title(key: str) -> str:
    """A metric key as people read it: ``acc_norm,none`` -> ``accuracy (length-normalized)``,
    ``exact_match,strict-match`` -> ``exact match, strict match``."""
    name, _, filt = str(key).partition(",")
    title = METRIC_TITLES.get(name, name.replace("_", " "))
    filt = FILTER_TITLES.get(filt, filt.replace("_", " ").replace("-", " "))
    return f"{title}, {filt}" if filt else title


@functools.lru_cache(maxsize=4096)
def subject_title(task: str) -> str:
    """An MMLU-style subject id as a name: ``mmlu_high_school_physics`` -> ``High school physics``."""
    words = str(task).removeprefix("shlepa_").removeprefix("mmlu_").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def task_title(task: str) -> str:
    """A details row's task as the viewer names it: MMLU subjects in words, other lm-eval tasks by id."""
    return subject_title(task) if str(task).removeprefix("shlepa_").startswith("mmlu_") else str(task)
