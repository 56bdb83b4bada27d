"""Contract of shlepa.evaluation.lm_eval_api with the installed lm-eval: every private name it relies on.

lm-eval's private helpers change without notice; when an upgrade breaks one, these
tests fail naming the installed and the checked version, before a split merge or a
suite check computes something wrong.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from shlepa.evaluation import lm_eval_api

PROJECT = Path(__file__).resolve().parents[2]
INSTALLED = lm_eval_api.installed_version()

#: (module, attribute path, parameter names the adapter passes, in order)
SIGNATURES = [
    (
        "lm_eval",
        "simple_evaluate",
        [
            "model",
            "tasks",
            "batch_size",
            "device",
            "use_cache",
            "limit",
            "log_samples",
            "apply_chat_template",
            "task_manager",
            "confirm_run_unsafe_code",
        ],
    ),
    ("lm_eval.tasks", "TaskManager.__init__", ["self", "verbosity", "include_path", "include_defaults"]),
    ("lm_eval.tasks", "TaskManager.load", ["self", "task_list"]),
    ("lm_eval.api.registry", "get_model", ["model_name"]),
    ("lm_eval.loggers", "WandbLogger.__init__", ["self", "init_args"]),
    ("lm_eval.tasks._index", "TaskIndex.build", ["paths", "resolve_includes"]),
    ("lm_eval.evaluator_utils", "get_sample_size", ["task", "limit"]),
    ("lm_eval.evaluator_utils", "_collect_groups_bottom_up", ["groups"]),
    ("lm_eval.evaluator_utils", "_propagate_higher_is_better", ["all_groups", "higher_is_better"]),
    ("lm_eval.evaluator_utils", "_propagate_num_fewshot", ["all_groups", "num_fewshot"]),
    ("lm_eval.api.group", "Group.from_config", ["config"]),
    ("lm_eval.api.group", "Group.aggregate", ["self", "task_metrics"]),
    ("lm_eval.api.group", "Group.get_all_tasks", ["self", "recursive"]),
    ("lm_eval.api.group", "Group.pop", ["self", "name"]),
    ("lm_eval.api.group", "Group.add", ["self", "item"]),
]
#: Group properties the merge reads (and NamedLeaves overrides child_names of).
GROUP_PROPERTIES = ["child_names", "version", "has_aggregation"]


def broken(what: str) -> str:
    return (
        f"lm-eval {INSTALLED} (shlepa.evaluation.lm_eval_api was checked against "
        f"{lm_eval_api.LM_EVAL_VERSION}): {what}; adapt lm_eval_api.py to this lm-eval or pin it back"
    )


def _resolve(module: str, path: str):
    try:
        obj = importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(broken(f"module {module} is gone ({exc})"))
    for part in path.split("."):
        if not hasattr(obj, part):
            pytest.fail(broken(f"{module}.{path} is gone"))
        obj = getattr(obj, part)
    return obj


def test_the_installed_lm_eval_is_known() -> None:
    assert INSTALLED is not None, "lm_eval is not installed"
    assert lm_eval_api.LM_EVAL_VERSION.count(".") == 2


@pytest.mark.parametrize(("module", "path", "params"), SIGNATURES, ids=[f"{m}.{p}" for m, p, _ in SIGNATURES])
def test_each_name_the_adapter_uses_exists_with_its_parameters(module: str, path: str, params: list[str]) -> None:
    found = list(inspect.signature(_resolve(module, path)).parameters)
    missing = [p for p in params if p not in found]
    assert not missing, broken(f"{module}.{path} has parameters {found}, lacks {missing}")
    positional = [p for p in found if p in params][: len(params)]
    if module != "lm_eval":  # called positionally: the order matters too
        assert positional == params, broken(f"{module}.{path} parameters are {found}, expected {params} in order")


def test_group_internals_the_merge_reads_are_properties() -> None:
    group = _resolve("lm_eval.api.group", "Group")
    for name in GROUP_PROPERTIES:
        assert isinstance(inspect.getattr_static(group, name, None), property), broken(f"Group.{name} is no property")
    for name in ("__iter__", "__len__", "to_dict"):
        assert callable(getattr(group, name, None)), broken(f"Group.{name} is gone")


def _group(name: str, children: list[str], leaves: list[str]):
    config = {
        "group": name,
        "task": children,
        "aggregate_metric_list": [{"metric": "acc", "aggregation": "mean", "weight_by_size": True}],
    }
    return lm_eval_api.named_leaves_group(config, leaves, children)


def test_a_group_of_named_leaves_aggregates_and_propagates_like_lm_eval() -> None:
    sub = _group("sub", ["b", "c"], ["b", "c"])
    top = _group("top", ["a", "sub"], ["a", "b", "c"])
    assert lm_eval_api.is_group(top) and top.child_names == ["a", "sub"]
    assert [t.task_name for t in top.get_all_tasks()] == ["a", "b", "c"]
    metrics = {
        "a": {"acc,none": 1.0, "acc_stderr,none": 0.0, "sample_len": 1},
        "b": {"acc,none": 0.0, "acc_stderr,none": 0.0, "sample_len": 1},
        "c": {"acc,none": 0.5, "acc_stderr,none": 0.0, "sample_len": 2},
    }
    metrics["sub"] = sub.aggregate(metrics)
    metrics["top"] = top.aggregate(metrics)
    assert metrics["sub"]["acc,none"] == pytest.approx(1 / 3), broken("Group.aggregate: size-weighted mean changed")
    assert metrics["top"]["acc,none"] == pytest.approx(0.5), broken("Group.aggregate: leaves read via get_all_tasks")
    assert metrics["top"]["sample_len"] == 4 and top.has_aggregation and isinstance(top.version, (str, int, float))
    assert top.to_dict()["group"] == "top"

    higher = {"a": {"acc": True}, "b": {"acc": True}, "c": {"acc": True}}
    lm_eval_api.propagate_higher_is_better([sub, top], higher)
    assert higher["sub"] == {"acc": True} and higher["top"] == {"acc": True}, broken("_propagate_higher_is_better")
    shots = {"a": 5, "b": 5, "c": 5}
    lm_eval_api.propagate_num_fewshot([sub, top], shots)
    assert shots["sub"] == 5 and shots["top"] == 5, broken("_propagate_num_fewshot")


def test_groups_bottom_up_puts_subgroups_before_their_parent() -> None:
    group = _resolve("lm_eval.api.group", "Group")
    top = group.from_config({"group": "top", "task": ["sub"]})
    sub = group.from_config({"group": "sub", "task": []})
    top.add(sub)
    order = [g.name for g in lm_eval_api.groups_bottom_up({"top": top, "sub": sub})]
    assert order == ["sub", "top"], broken(f"_collect_groups_bottom_up gave {order}")
    assert top.pop("sub") is sub and len(top) == 0, broken("Group.pop / __len__")


def test_sample_size_follows_the_limit() -> None:
    class Docs:
        eval_docs = tuple(range(10))

    assert lm_eval_api.sample_size(Docs(), None) is None, broken("get_sample_size(limit=None)")
    assert lm_eval_api.sample_size(Docs(), 3) == 3, broken("get_sample_size(limit=3)")
    assert lm_eval_api.sample_size(Docs(), 0.25) == 3, broken("get_sample_size(limit=0.25): ceil of the share")


def test_the_task_index_lists_bundled_tasks_and_groups_with_their_config() -> None:
    index = lm_eval_api.build_task_index([PROJECT / "eval" / "tasks"])
    for name, kind in (("shlepa_copa", "TASK"), ("shlepa_mmlu", "GROUP")):
        entry = index.get(name)
        assert entry is not None, broken(f"TaskIndex.build misses {name}")
        assert getattr(entry.kind, "name", str(entry.kind)) == kind, broken(f"TaskIndex entry kind of {name}")
        assert isinstance(entry.cfg, dict) and entry.yaml_path, broken(f"TaskIndex entry fields of {name}")
    assert (lm_eval_api.stock_tasks_dir() / "__init__.py").is_file(), broken("lm_eval.tasks folder")


@pytest.mark.slow
def test_loaded_tasks_and_groups_have_what_planning_and_pruning_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT)
    manager = lm_eval_api.task_manager(str(PROJECT / "eval" / "tasks"), include_defaults=False)
    loaded = manager.load(["shlepa_copa", "shlepa_mmlu"])
    assert set(loaded) >= {"tasks", "groups"}, broken(f"TaskManager.load keys {sorted(loaded)}")
    task = loaded["tasks"]["shlepa_copa"]
    task.set_config(key="num_fewshot", value=0)
    assert task.task_name == "shlepa_copa" and task.get_config("output_type") == "multiple_choice"
    assert len(task.doc_to_choice(task.eval_docs[0])) == 2, broken("Task.doc_to_choice / eval_docs")
    group = loaded["groups"]["shlepa_mmlu"]
    leaves = [t.task_name for t in group.get_all_tasks()]
    assert len(leaves) > 1 and all(n.startswith("shlepa_mmlu_") for n in leaves), broken("Group.get_all_tasks")
    first = next(iter(group))
    assert hasattr(first, "task_name") or lm_eval_api.is_group(first), broken("iterating a Group")
    assert [g.name for g in lm_eval_api.groups_bottom_up(loaded["groups"])][-1] == "shlepa_mmlu"
