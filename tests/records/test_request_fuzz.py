"""Property-based fuzzing of request parsing and placement: never an uncaught exception, every error names the file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shlepa.records.request import RequestError, check_placement, collect_request_problems, load_request, new_request

FILE = "requests/org/model/x_bfloat16.yaml"
FIELDS = [
    "model",
    "revision",
    "precision",
    "model_type",
    "weight_type",
    "base_model",
    "use_chat_template",
    "license",
    "params",
    "submitter",
    "submitted_at",
    "suite",
    "checkpoint",
    "status",
    "history",
    "failure",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=50),
    st.sampled_from(["org/m", "a" * 40, "bfloat16", "adapter", "PENDING", "2024-01-01T00:00:00Z"]),
)
values = st.recursive(
    scalars,
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=3)),
    max_leaves=8,
)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12), st.integers(), st.none())
requests = st.dictionaries(keys, values, max_size=12)
fast = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(st.one_of(requests, values))
def test_collect_request_problems_never_raises_and_names_the_file(data):
    result = collect_request_problems(data, FILE)
    if isinstance(result, list):
        assert result
        for err in result:
            assert isinstance(err, RequestError) and str(err).startswith(f"{FILE}: ")


@fast
@given(st.text(max_size=400))
def test_load_request_on_arbitrary_text(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("req") / "x.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_request(path)
    except RequestError as exc:
        assert str(exc).startswith(f"{path}: ")


@fast
@given(st.binary(max_size=300))
def test_load_request_on_arbitrary_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("req") / "x.yaml"
    path.write_bytes(raw)
    try:
        load_request(path)
    except RequestError as exc:
        assert str(exc).startswith(f"{path}: ")


segments = st.one_of(
    st.sampled_from(["..", ".", "requests", "org", "model", "", "/", "~"]), st.text(min_size=1, max_size=10)
)


@fast
@given(st.lists(segments, max_size=6))
def test_check_placement_on_arbitrary_paths(tmp_path_factory, parts):
    root = tmp_path_factory.mktemp("board")
    req = new_request("org/model", "a" * 40, "bfloat16", "pretrained", "mit", "alice")
    raw = "/".join(parts)
    for path in (Path(raw), root / raw):
        try:
            err = check_placement(req, path, root)
        except ValueError as exc:  # only NUL bytes can make a path unusable; nothing else may escape
            assert "\x00" in raw, exc
            continue
        if err is not None:
            assert str(err).startswith(str(path)) and ("misplaced" in str(err) or "under" in str(err))
    assert check_placement(req, root / req.relpath, root) is None
