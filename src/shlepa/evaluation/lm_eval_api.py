"""The one door to lm-eval: every lm_eval name shlepa uses, private ones included.

lm-eval's private helpers (group aggregation, the task index, Group internals)
change without notice between releases. Routing every use through this module
keeps an upgrade's breakage in one file, and ``tests/test_lm_eval_api.py`` checks
each name here against the installed lm-eval. lm_eval is imported lazily: it is
heavy and the queue commands run without it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

#: The lm-eval release this adapter was written and checked against.
LM_EVAL_VERSION = "0.4.13"


def installed_version() -> str | None:
    try:
        return importlib.metadata.version("lm_eval")
    except importlib.metadata.PackageNotFoundError:
        return None


# -- public entry points -----------------------------------------------------------
def task_manager(include_path: str, include_defaults: bool) -> Any:
    """lm-eval's task index; first routes ``evaluate``'s code_eval (stock humaneval/mbpp) to the sandbox."""
    from lm_eval.tasks import TaskManager

    from shlepa.evaluation.codeeval import route_hf_code_eval

    route_hf_code_eval()

    return TaskManager(include_path=include_path, include_defaults=include_defaults)


def get_model(backend: str) -> Any:
    """The registered model class of ``backend`` (lm-eval's registry)."""
    import lm_eval.api.registry

    return lm_eval.api.registry.get_model(backend)


def simple_evaluate(**kwargs: Any) -> dict[str, Any] | None:
    import lm_eval

    from shlepa.evaluation.codeeval import route_hf_code_eval

    route_hf_code_eval()  # also when lm-eval builds task objects from names itself

    return lm_eval.simple_evaluate(**kwargs)


def wandb_logger(init_args: dict[str, Any]) -> Any:
    from lm_eval.loggers import WandbLogger

    return WandbLogger(init_args=init_args)


def stock_tasks_dir() -> Path:
    """The folder of lm-eval's own task YAML files."""
    import lm_eval.tasks

    return Path(lm_eval.tasks.__file__).parent


# -- private helpers (checked by tests/test_lm_eval_api.py) ----------------------
def build_task_index(paths: Iterable[Path]) -> dict[str, Any]:
    """lm-eval's task index (name -> Entry with kind, yaml_path, cfg) without loading any task."""
    from lm_eval.tasks._index import TaskIndex

    return TaskIndex.build(paths)


def sample_size(task: Any, limit: int | float | None) -> int | None:
    """How many documents lm-eval evaluates of ``task`` under ``limit``."""
    from lm_eval.evaluator_utils import get_sample_size

    return get_sample_size(task, limit)


def is_group(obj: Any) -> bool:
    from lm_eval.api.group import Group

    return isinstance(obj, Group)


def groups_bottom_up(groups: dict[str, Any]) -> list[Any]:
    """Groups ordered so every subgroup comes before its parent (the order lm-eval aggregates in)."""
    from lm_eval.evaluator_utils import _collect_groups_bottom_up

    return _collect_groups_bottom_up(groups)


def propagate_higher_is_better(groups: list[Any], higher_is_better: dict[str, dict[str, bool]]) -> None:
    from lm_eval.evaluator_utils import _propagate_higher_is_better

    _propagate_higher_is_better(groups, higher_is_better)


def propagate_num_fewshot(groups: list[Any], num_fewshot: dict[str, int]) -> None:
    from lm_eval.evaluator_utils import _propagate_num_fewshot

    _propagate_num_fewshot(groups, num_fewshot)


def named_leaves_group(config: dict[str, Any], leaves: list[str], children: list[str]) -> Any:
    """An lm-eval Group whose leaves are names only, so lm-eval's own aggregation runs on merged metrics.

    Overrides ``get_all_tasks`` and ``child_names``, the Group internals the aggregation reads.
    """
    from lm_eval.api.group import Group

    class NamedLeaves(Group):
        leaf_names: ClassVar[list[str]] = []  # set per instance by the merge
        children_names: ClassVar[list[str]] = []

        def get_all_tasks(self, recursive: bool = True) -> list[Any]:
            return [SimpleNamespace(task_name=n) for n in self.leaf_names]

        @property
        def child_names(self) -> list[str]:
            return list(self.children_names)

    group = NamedLeaves.from_config(config)
    group.leaf_names = list(leaves)
    group.children_names = list(children)
    return group
