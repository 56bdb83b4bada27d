"""Realistic fake leaderboard data: requests, results and details for tests and benchmarks.

The site must stay fast and correct at 10,000+ models, but no real repository of
that size exists offline, so this writes one: realistic org/model names, all six
benchmarks with MMLU subjects, a few missing benchmarks, per-sample details for a
sample of models and a queue of pending/running/failed requests. The files have
exactly the shape ``write_results`` and ``save_request`` give them (the first model
of every run is checked against ``ResultsFile`` and ``Request``), but they are written
directly, without an fsync per file: this is scratch data in a fresh folder, and an
fsync costs milliseconds, which made 10,000 models take minutes.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import hashlib
import json
import random
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml

from shlepa.io.yaml import load_yaml_text
from shlepa.records.details import SCHEMA as DETAILS_SCHEMA
from shlepa.records.details import SharedText, shared_text_path
from shlepa.records.keys import model_details_name, request_relpath, shared_text_key
from shlepa.records.request import Request
from shlepa.records.results import (
    ResultsFile,
    dump_results,
    results_dir,
    results_layout,
    split_lm_eval,
    timestamp,
    write_results,
)
from shlepa.records.suite import Suite, load_suite


def _yaml(data: dict[str, Any], indent: str = "") -> str:
    """Block YAML of a request (scalars as JSON, which YAML reads): yaml.dump is 10x slower."""
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:\n{_yaml(value, indent + '  ')}")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{indent}{key}:")
            for item in value:
                lines.append(indent + "- " + _yaml(item, indent + "  ")[len(indent) + 2 :])
        else:
            lines.append(f"{indent}{key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


MMLU_SUBJECTS = [
    "abstract_algebra",
    "anatomy",
    "astronomy",
    "business_ethics",
    "clinical_knowledge",
    "college_biology",
    "college_chemistry",
    "college_computer_science",
    "college_mathematics",
    "college_medicine",
    "college_physics",
    "computer_security",
    "conceptual_physics",
    "econometrics",
    "electrical_engineering",
    "elementary_mathematics",
    "formal_logic",
    "global_facts",
    "high_school_biology",
    "high_school_chemistry",
    "high_school_computer_science",
    "high_school_european_history",
    "high_school_geography",
    "high_school_government_and_politics",
    "high_school_macroeconomics",
    "high_school_mathematics",
    "high_school_microeconomics",
    "high_school_physics",
    "high_school_psychology",
    "high_school_statistics",
    "high_school_us_history",
    "high_school_world_history",
    "human_aging",
    "human_sexuality",
    "international_law",
    "jurisprudence",
    "logical_fallacies",
    "machine_learning",
    "management",
    "marketing",
    "medical_genetics",
    "miscellaneous",
    "moral_disputes",
    "moral_scenarios",
    "nutrition",
    "philosophy",
    "prehistory",
    "professional_accounting",
    "professional_law",
    "professional_medicine",
    "professional_psychology",
    "public_relations",
    "security_studies",
    "sociology",
    "us_foreign_policy",
    "virology",
    "world_religions",
]

ORGS = [
    "meta-llama",
    "mistralai",
    "Qwen",
    "google",
    "microsoft",
    "tiiuae",
    "EleutherAI",
    "01-ai",
    "deepseek-ai",
    "allenai",
    "stabilityai",
    "NousResearch",
    "teknium",
    "openchat",
    "HuggingFaceH4",
    "lmsys",
    "upstage",
    "internlm",
    "bigscience",
    "cognitivecomputations",
    "mlabonne",
    "jondurbin",
    "garage-bAInd",
    "WizardLMTeam",
    "OpenAssistant",
    "Intel",
    "abacusai",
    "CohereForAI",
    "nvidia",
]
FAMILIES = [
    ("Llama-2", "LlamaForCausalLM", [7, 13, 70]),
    ("Meta-Llama-3", "LlamaForCausalLM", [8, 70]),
    ("Mistral", "MistralForCausalLM", [7]),
    ("Mixtral-8x7B", "MixtralForCausalLM", [46.7]),
    ("Qwen2", "Qwen2ForCausalLM", [0.5, 1.5, 7, 72]),
    ("Qwen1.5-MoE-A2.7B", "Qwen2MoeForCausalLM", [14.3]),
    ("gemma", "GemmaForCausalLM", [2, 7]),
    ("phi-2", "PhiForCausalLM", [2.7]),
    ("falcon", "FalconForCausalLM", [7, 40, 180]),
    ("pythia", "GPTNeoXForCausalLM", [0.16, 0.41, 1.4, 2.8, 6.9, 12]),
    ("Yi", "LlamaForCausalLM", [6, 34]),
    ("deepseek-llm", "LlamaForCausalLM", [7, 67]),
    ("OLMo", "OlmoForCausalLM", [1, 7]),
    ("stablelm-2", "StableLmForCausalLM", [1.6, 12]),
    ("gpt2", "GPT2LMHeadModel", [0.124, 0.355, 0.774, 1.5]),
]
SUFFIXES = [
    ("", "pretrained"),
    ("-Instruct", "chat"),
    ("-chat", "chat"),
    ("-v0.1", "pretrained"),
    ("-DPO", "fine-tuned"),
    ("-SFT", "fine-tuned"),
    ("-slerp", "merge"),
    ("-ties-merge", "merge"),
    ("-continued", "continuously-pretrained"),
    ("-OpenHermes", "fine-tuned"),
    ("-orca", "fine-tuned"),
]
LICENSES = ["apache-2.0", "mit", "llama2", "llama3", "cc-by-nc-4.0", "cc-by-sa-4.0", "other", "gemma"]
PRECISIONS = ["bfloat16", "float16", "float16", "bfloat16", "float32", "8bit", "4bit"]
# Typical score of a good model of each benchmark (percent), scaled by model size below.
TOP = {"arc": 72.0, "hellaswag": 88.0, "mmlu": 78.0, "truthfulqa": 65.0, "winogrande": 84.0, "gsm8k": 80.0}


def _size_label(b: float) -> str:
    return f"{int(b * 1000)}M" if b < 1 else (f"{b:g}B")


def model_names(n: int, seed: int = 0) -> list[tuple[str, str, float, str]]:
    """``n`` unique realistic ``(model id, architecture, params in B, model type)``."""
    rng = random.Random(seed)
    out: list[tuple[str, str, float, str]] = []
    seen: set[str] = set()
    while len(out) < n:
        family, arch, sizes = rng.choice(FAMILIES)
        size = rng.choice(sizes)
        suffix, mtype = rng.choice(SUFFIXES)
        org = (
            rng.choice(ORGS)
            if rng.random() < 0.4
            else f"{rng.choice(['user', 'lab', 'ai', 'dev'])}{rng.randrange(10**5)}"
        )
        name = f"{family}-{_size_label(size)}{suffix}"
        if rng.random() < 0.5:
            name += f"-v{rng.randrange(1, 9)}"
        model = f"{org}/{name}"
        if model in seen:
            continue
        seen.add(model)
        out.append((model, arch, size, mtype))
    return out


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def _score(rng: random.Random, key: str, params: float, baseline: float) -> float:
    quality = min(1.0, 0.25 + 0.17 * (1 + (params or 1)) ** 0.35 + rng.gauss(0, 0.07))
    value = baseline + (TOP.get(key, 80.0) - baseline) * max(0.0, quality) + rng.gauss(0, 2)
    return round(min(99.0, max(0.0, value)), 4)


#: The stock lm-eval tasks at full size: documents per benchmark (the real test splits).
FULL_SIZE = {"arc": 1172, "hellaswag": 10042, "mmlu": 14042, "truthfulqa": 817, "winogrande": 1267, "gsm8k": 1319}


@dataclass(frozen=True)
class Shape:
    """How a benchmark's samples look (lengths in characters, measured on the real tasks: the
    bundled slices are rows of the real files, see tests/evaluation/test_sizes.py)."""

    shot: int  # one few-shot example
    shots: int
    sampler: str  # "random": lm-eval's default, a different draw per document; "first_n": one fixed preamble
    question: int
    choice: int
    choices: int  # 0: a generation task
    doc: int
    target: int = 0  # a text target's length (0: the gold choice's index)
    filters: tuple[str, ...] = ("none",)
    generation: int = 0
    metrics: tuple[str, ...] = ("acc",)


SHAPES = {
    "arc": Shape(shot=225, shots=25, sampler="random", question=170, choice=38, choices=4, doc=420, metrics=("acc", "acc_norm")),
    "hellaswag": Shape(shot=160, shots=10, sampler="random", question=120, choice=55, choices=4, doc=860, metrics=("acc", "acc_norm")),
    "mmlu": Shape(shot=380, shots=5, sampler="first_n", question=300, choice=1, choices=4, doc=440),
    "truthfulqa": Shape(shot=90, shots=6, sampler="first_n", question=70, choice=50, choices=6, doc=760),
    "winogrande": Shape(shot=100, shots=5, sampler="random", question=20, choice=25, choices=2, doc=222, target=25),
    "gsm8k": Shape(shot=470, shots=5, sampler="first_n", question=230, choice=0, choices=0, doc=567, target=345,
                   filters=("strict-match", "flexible-extract"), generation=300, metrics=("exact_match",)),
}  # fmt: skip

_WORDS = [
    "the",
    "of",
    "a",
    "to",
    "and",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "from",
    "at",
    "or",
    "an",
    "which",
    "have",
    "not",
    "water",
    "energy",
    "plant",
    "animal",
    "cell",
    "heat",
    "light",
    "earth",
    "moon",
    "force",
    "motion",
    "rock",
    "soil",
    "weather",
    "cloud",
    "river",
]


_PROSE = " ".join(random.Random(0).choices(_WORDS, k=400_000))  # ~2.4 MB of words to cut texts from


def _text(rng: random.Random, chars: int) -> str:
    """About ``chars`` characters of words (a random cut of :data:`_PROSE`: fast, and as
    incompressible as varied prose, not one repeated phrase)."""
    at = rng.randrange(len(_PROSE) - chars - 1)
    return _PROSE[at : at + chars]


@functools.cache
def _mmlu_bounds(total: int) -> list[int]:
    bounds, acc = [], 0
    for c in _mmlu_counts(total):
        acc += c
        bounds.append(acc)
    return bounds


def _mmlu_counts(total: int) -> list[int]:
    """Documents per subject (uneven, like the real ones: 100 to 1,534), summing to ``total``."""
    weights = [1 + (i * 7919) % 13 for i in range(len(MMLU_SUBJECTS))]
    counts = [max(1, total * w // sum(weights)) for w in weights]
    counts[-1] += total - sum(counts)
    return counts


def _task_of(bench: Any, doc: int, n: int) -> str:
    if bench.aggregate == "subtask_mean":
        if n >= len(MMLU_SUBJECTS):
            return f"mmlu_{MMLU_SUBJECTS[bisect.bisect_right(_mmlu_bounds(n), doc)]}"
        return f"mmlu_{MMLU_SUBJECTS[doc * 3 // max(n, 1)]}"
    return str(bench.task or bench.key)


def shared_texts(suite: Suite, per_benchmark: int | None) -> dict[str, list[tuple[SharedText, int]]]:
    """Per benchmark, its tasks' shared texts (and the first document's index in the benchmark):
    the same for every model, so made once. ``per_benchmark`` None: full size."""
    out: dict[str, list[tuple[SharedText, int]]] = {}
    for bench in suite.benchmarks:
        shape = SHAPES.get(bench.key, SHAPES["arc"])
        n = FULL_SIZE.get(bench.key, 1000) if per_benchmark is None else per_benchmark
        rng = random.Random(f"text/{bench.key}")
        pool = [_text(rng, shape.shot) for _ in range(max(shape.shots * 4, 40))]
        texts: dict[str, SharedText] = {}
        first: dict[str, int] = {}
        for doc in range(n):
            task = _task_of(bench, doc, n)
            text = texts.get(task)
            if text is None:
                text = texts[task] = SharedText(task)
                first[task] = doc
                if shape.sampler == "first_n":  # one fixed preamble for the task (lm-eval's first_n)
                    text.preambles.append("\n\n".join(pool[: shape.shots]))
            if shape.sampler == "random" and shape.shots:  # a different draw per document
                text.preambles.append("\n\n".join(rng.sample(pool, shape.shots)))
            question = _text(rng, shape.question) + "\nAnswer:"
            choices = [
                " " + (_text(rng, shape.choice) if shape.choice > 1 else "ABCD"[c]) for c in range(shape.choices)
            ]
            if bench.key == "winogrande":
                choices = [choices[0]] * shape.choices  # the options differ in the context, not the ending
            target: Any = _text(rng, shape.target) if shape.target else rng.randrange(max(1, shape.choices))
            text.rows.append(
                {
                    "doc_id": doc - first[task],
                    "pre": (len(text.preambles) - 1) if shape.shots else -1,
                    "question": question,
                    "choices": choices,
                    "target": target,
                    "doc": {"id": f"{bench.key}-{doc}", "text": _text(rng, max(0, shape.doc - 40))},
                }
            )
        out[bench.key] = [(t, first[t.task]) for t in texts.values()]
    return out


def _details(
    rng: random.Random, suite: Suite, texts: dict[str, list[tuple[SharedText, int]]], seed: int
) -> list[dict[str, Any]]:
    """One model's compact rows (``records.details`` format 2), as the evaluation writes them:
    per choice lm-eval's [log-likelihood, is_greedy] (full floats), the metrics, a generation's
    text and extracted answer (one row per filter). Which answers are right comes from ``rng``
    (one draw per document, as before); the numbers from a generator of their own."""
    rows = []
    local = random.Random(seed)
    for bench in suite.benchmarks:
        shape = SHAPES.get(bench.key, SHAPES["arc"])
        for text, _first in texts[bench.key]:
            for s, entry in enumerate(text.rows):
                if shape.choices:
                    rng.randrange(4)  # the draws the fake board's later models were made with
                correct = rng.random() < 0.6
                base = {"benchmark": bench.key, "task": text.task, "doc_id": entry["doc_id"], "s": s}
                if shape.choices:
                    gold = entry["target"] if isinstance(entry["target"], int) else 0
                    pick = gold if correct else (gold + 1 + local.randrange(shape.choices - 1)) % shape.choices
                    ll = [-local.uniform(4.0, 60.0) for _ in range(shape.choices)]
                    ll[pick] = max(ll) + local.uniform(0.1, 3.0)
                    value = 1.0 if correct else 0.0
                    metrics = dict.fromkeys(shape.metrics, value)
                    if bench.key == "truthfulqa":
                        metrics = {"acc": local.random()}  # mc2: the probability mass on the true answers
                    rows.append({**base, "response": [[x, i == pick and local.random() < 0.5] for i, x in enumerate(ll)],
                                 "filter": shape.filters[0], "metrics": metrics})  # fmt: skip
                else:
                    generation = _text(local, shape.generation) + (" #### 42" if correct else " #### 7")
                    for f in shape.filters:
                        rows.append({**base, "response": ["42" if correct else "[invalid]"], "filter": f,
                                     "metrics": {"exact_match": 1.0 if correct else 0.0}, "generation": generation})  # fmt: skip
    return rows


def request_data(
    model: str, revision: str, precision: str, mtype: str, license: str, params: float, submitted: datetime, suite: str
) -> dict[str, Any]:
    weight = "original"
    return {
        "model": model,
        "revision": revision,
        "precision": precision,
        "model_type": mtype,
        "weight_type": weight,
        "use_chat_template": mtype == "chat",
        "license": license,
        "params": params,
        "submitter": model.split("/")[0],
        "submitted_at": submitted.isoformat(),
        "suite": suite,
    }


ENV_INFO = "\n".join(
    [
        "PyTorch version: 2.13.0+cu128",
        "Is debug build: False",
        "CUDA used to build PyTorch: 12.8",
        "OS: Ubuntu 22.04.5 LTS (x86_64)",
        "GCC version: (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0",
        "Python version: 3.11.11 (main) [GCC 11.4.0] (64-bit runtime)",
        "Is CUDA available: True",
        "GPU models and configuration: GPU 0: NVIDIA H100 80GB HBM3",
        "Nvidia driver version: 570.124.06",
    ]
    + [
        f"CPU flag line {i}: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush"
        for i in range(40)
    ]
)


def _task_config(task: str, alias: str, shots: int, metric: str) -> dict[str, Any]:
    """One task config as lm-eval reports it (its ``configs`` section: ~1.4 KB per task)."""
    text = "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:"
    return {
        "task": task,
        "task_alias": alias,
        "dataset_path": "cais/mmlu" if "mmlu" in task else task,
        "dataset_name": alias,
        "test_split": "test",
        "fewshot_split": "dev",
        "doc_to_text": text,
        "doc_to_target": "answer",
        "unsafe_code": False,
        "doc_to_choice": ["A", "B", "C", "D"],
        "description": f"The following are multiple choice questions (with answers) about {alias.replace('_', ' ')}.\n\n",
        "target_delimiter": " ",
        "fewshot_delimiter": "\n\n",
        "fewshot_config": {
            "sampler": "first_n",
            "split": "dev",
            "doc_to_text": text,
            "doc_to_choice": ["A", "B", "C", "D"],
            "doc_to_target": "answer",
            "fewshot_delimiter": "\n\n",
            "target_delimiter": " ",
        },
        "num_fewshot": shots,
        "metric_list": [{"metric": metric.split(",")[0], "aggregation": "mean", "higher_is_better": True}],
        "output_type": "multiple_choice",
        "repeats": 1,
        "should_decontaminate": False,
        "metadata": {"version": 1.0},
    }


def lm_eval_section(suite: Suite, lm_results: dict[str, Any], arch: str) -> dict[str, Any]:
    """lm-eval's own output as a real Open LLM v1 evaluation returns it: per-task results (every
    metric with its stderr), groups, configs, versions, n-shot, sample counts, run config and
    environment (~120 KB; ``write_results`` keeps ~20 KB of it on main, the rest goes with the details)."""
    tasks: dict[str, tuple[str, int, str]] = {}
    counts = dict(zip(MMLU_SUBJECTS, _mmlu_counts(FULL_SIZE["mmlu"]), strict=True))
    size: dict[str, int] = {}
    for bench in suite.benchmarks:
        names = [f"mmlu_{s}" for s in MMLU_SUBJECTS] if bench.aggregate == "subtask_mean" else [bench.task or bench.key]
        for name in names:
            tasks[name] = (name.removeprefix("mmlu_"), bench.num_fewshot, bench.metric_key)
            size[name] = counts.get(name.removeprefix("mmlu_"), FULL_SIZE.get(bench.key, 1000))
    results = {}
    for name, (alias, _shots, _metric) in tasks.items():
        got = dict(lm_results.get(name, {}))
        if "acc_norm,none" in got:  # ARC and HellaSwag report plain accuracy too
            got = {"acc,none": round(got["acc_norm,none"] * 0.93, 6), "acc_stderr,none": 0.0139, **got}
        if "exact_match,strict-match" in got:
            got["exact_match,flexible-extract"] = got["exact_match,strict-match"]
            got["exact_match_stderr,flexible-extract"] = 0.0131
        # lm-eval 0.4.13 writes each task's name and sample count beside its metrics
        results[name] = {
            "alias": alias if name.startswith("mmlu_") else name,
            "name": name,
            "sample_len": size[name],
            **got,
        }
    return {
        "results": results,
        "groups": {"mmlu": {"acc,none": 0.61, "acc_stderr,none": 0.0038, "alias": "mmlu"}},
        "group_subtasks": {"mmlu": [n for n in tasks if n.startswith("mmlu_")]},
        "configs": {name: _task_config(name, alias, shots, metric) for name, (alias, shots, metric) in tasks.items()},
        "versions": dict.fromkeys(tasks, 1.0),
        "n-shot": {name: shots for name, (_a, shots, _m) in tasks.items()},
        "higher_is_better": {name: {"acc": True, "acc_norm": True} for name in tasks},
        "n-samples": {name: {"original": size[name], "effective": size[name]} for name in tasks},
        "config": {
            "model": "hf",
            "model_args": "pretrained=model,dtype=bfloat16",
            "model_num_parameters": 7241732096,
            "model_dtype": "torch.bfloat16",
            "model_architecture": arch,
            "batch_size": "auto",
            "batch_sizes": [64],
            "device": "cuda:0",
            "use_cache": None,
            "limit": None,
            "bootstrap_iters": 100000,
            "gen_kwargs": None,
            "random_seed": 0,
            "numpy_seed": 1234,
            "torch_seed": 1234,
            "fewshot_seed": 1234,
        },
        "git_hash": None,
        "date": 1764650000.0,
        "pretty_env_info": ENV_INFO,
        "transformers_version": "5.23.0",
        "lm_eval_version": "0.4.13",
        "upper_git_hash": None,
        "tokenizer_pad_token": ["<unk>", "0"],
        "tokenizer_eos_token": ["</s>", "2"],
        "tokenizer_bos_token": ["<s>", "1"],
        "eot_token_id": 2,
        "max_length": 4096,
    }


def results_payload(
    req: dict[str, Any], suite: Suite, arch: str, rng: random.Random, finished: datetime, missing: set[str]
) -> dict[str, Any]:
    """A results payload shaped like ``evaluation.evaluate_request`` writes it."""
    scores: dict[str, Any] = {}
    lm_results: dict[str, Any] = {}
    for bench in suite.benchmarks:
        if bench.key in missing:
            continue
        value = _score(rng, bench.key, req["params"], bench.baseline)
        subtasks = None
        if bench.aggregate == "subtask_mean":
            subtasks = {f"mmlu_{s}": round(min(100.0, max(0.0, value + rng.gauss(0, 8))), 4) for s in MMLU_SUBJECTS}
            value = sum(subtasks.values()) / len(subtasks)
            for name, v in subtasks.items():
                lm_results[name] = {f"{bench.metric_key}": v / 100, f"{bench.stderr_key}": 0.04}
        else:
            lm_results[bench.task or bench.key] = {bench.metric_key: value / 100, bench.stderr_key: 0.012}
        scores[bench.key] = {
            "value": value,
            "stderr": round(rng.uniform(0.8, 1.6), 4),
            "task": bench.task or bench.key,
            "metric": bench.metric_key,
            "num_fewshot": bench.num_fewshot,
            "n_samples": FULL_SIZE.get(bench.key, 1000) + 0 * rng.choice([1172, 10042, 817, 1267, 1319]),
            "subtasks": subtasks,
        }
    values = [s["value"] for s in scores.values()]
    request_file = f"requests/{req['model']}/{req['revision']}_{req['precision']}.yaml"
    model_args = {"pretrained": req["model"], "revision": req["revision"], "dtype": req["precision"]}
    return {
        "request": req,
        "request_file": request_file,
        "suite": suite.name,
        "evaluation": {
            "started_at": (finished - timedelta(hours=2)).isoformat(),
            "finished_at": finished.isoformat(),
            "duration_s": 7200.0,
            "data": "hub",
            "backend": "hf",
            "backend_args": {},
            "model_args": model_args,
            "batch_size": "auto",
            "device": "cuda:0",
            "limit": None,
            "apply_chat_template": req["use_chat_template"],
            "benchmarks": list(scores),
            "versions": {"lm_eval": "0.4.13", "transformers": "5.23.0", "torch": "2.13.0"},
            "runner": f"gpu-runner-{rng.randrange(1, 4)}",
            "run_url": "https://github.com/example/leaderboard/actions/runs/1",
        },
        "model_info": {
            "architecture": arch,
            "model_type": arch.removesuffix("ForCausalLM").lower(),
            "num_parameters": int(req["params"] * 1e9),
        },
        "scores": scores,
        "average": sum(values) / len(values) if values else None,
        "reproduce": {
            "shlepa": f"shlepa evaluate {request_file} --data hub --backend hf --batch-size auto",
            "lm_eval": [
                f"lm_eval --model hf --model_args pretrained={req['model']},revision={req['revision']} "
                f"--tasks {b.task} --num_fewshot {b.num_fewshot} --batch_size auto"
                for b in suite.benchmarks
            ],
            "cwd": "repository root",
        },
        "scoring": _scoring(suite),
        "lm_eval": lm_eval_section(suite, lm_results, arch),
    }


def _scoring(suite: Suite) -> dict[str, Any]:
    """shlepa-hf's record of a full-size run without a fallback (``records.scoring.compact``): MMLU's
    single-token answers in a shared pass, the other multiple-choice tasks as token trees."""
    out: dict[str, Any] = {}
    counts = dict(zip(MMLU_SUBJECTS, _mmlu_counts(FULL_SIZE["mmlu"]), strict=True))
    for bench in suite.benchmarks:
        shape = SHAPES.get(bench.key)
        if bench.aggregate == "subtask_mean":
            for subject, n in counts.items():
                out[f"mmlu_{subject}"] = {"requests": 4 * n, "paths": {"shared-pass": 4 * n}}
        elif shape is not None and shape.choices:
            n = FULL_SIZE.get(bench.key, 1000) * shape.choices
            out[bench.task or bench.key] = {"requests": n, "paths": {"packed-tree": n}}
        else:
            n = FULL_SIZE.get(bench.key, 1000)
            out[bench.task or bench.key] = {"requests": n, "paths": {"generate": n}}
    return out


def _iso(when: datetime) -> str:
    """Like pydantic's JSON dump of an aware UTC datetime."""
    return when.isoformat().replace("+00:00", "Z")


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class _Writer:
    """Writes results, details and requests as ``write_results``/``save_request`` would."""

    def __init__(self, root: Path, texts: dict[str, list[tuple[SharedText, int]]], stored: bool = False):
        self.root = root
        self.stored = stored  # details without rows go to "the store": not written beside the results
        self.checked = False
        self.texts = texts
        self.hashes = {t.task: t.version_hash for parts in texts.values() for t, _first in parts}
        self.shared_written = False
        self.no_rows: dict[bytes, bytes] = {}  # lm-eval's rest (the same for every model) -> its details file

    def write_shared(self) -> None:
        """The shared texts, once (``write_model_details`` writes them with the first model)."""
        if self.shared_written:
            return
        self.shared_written = True
        for parts in self.texts.values():
            for text, _first in parts:
                key = shared_text_key(text.task, self.hashes[text.task])
                _write(shared_text_path(self.root, key), text.encode())

    def results(self, payload: dict[str, Any], details: list[dict[str, Any]], finished: datetime) -> None:
        folder = results_dir(self.root, payload["request"]["model"])
        stamp = timestamp(finished)
        details_name = model_details_name(stamp)
        keep, rest = split_lm_eval(payload["lm_eval"])
        if details:
            self.write_shared()
            used = dict.fromkeys(r["task"] for r in details)
            header = {"schema": DETAILS_SCHEMA, "shared": {t: self.hashes[t] for t in used}, "lm_eval": rest}
            lines = b"".join(orjson.dumps(r) + b"\n" for r in [header, *details])
            data = gzip.compress(lines, mtime=0, compresslevel=1)
        else:
            key = orjson.dumps(rest)
            if key not in self.no_rows:
                header = {"schema": DETAILS_SCHEMA, "shared": {}, "lm_eval": rest}
                self.no_rows[key] = gzip.compress(orjson.dumps(header) + b"\n", mtime=0)
            data = self.no_rows[key]
        if details or not self.stored:
            _write(folder / details_name, data)
        else:
            self.write_shared()
        digest = hashlib.sha256(data).hexdigest()
        payload = results_layout(
            {**payload, "task_hashes": self.hashes, "details_sha256": digest, "lm_eval": keep}, details_name
        )
        if not self.checked:
            ResultsFile.model_validate(payload)
        _write(folder / f"results_{stamp}.json", dump_results(payload))

    def request(self, data: dict[str, Any]) -> None:
        text = _yaml(data)
        if not self.checked or "failure" in data:
            loaded = Request.model_validate(load_yaml_text(text, "fake request"))
            assert loaded == Request.model_validate(data), data
        relpath = request_relpath(data["model"], data["revision"], data["precision"], data["suite"])
        _write(self.root / relpath, text.encode("utf-8"))


def _request_yaml_data(
    req: dict[str, Any], status: str, history: list[dict[str, Any]], failure: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A request as ``Request.to_yaml`` dumps it (JSON mode, no None values)."""
    data = {
        **req,
        "submitted_at": _iso(datetime.fromisoformat(req["submitted_at"])),
        "status": status,
        "history": [{k: (_iso(v) if isinstance(v, datetime) else v) for k, v in h.items()} for h in history],
    }
    if failure:
        data["failure"] = failure
    return data


def generate(
    root: Path,
    n: int,
    *,
    seed: int = 0,
    suite_name: str = "open_llm_v1",
    details_every: int = 50,
    details_per_benchmark: int = 30,
    full_size: bool = False,
    missing_every: int = 40,
    queue: int | None = None,
    stored: bool = False,
) -> list[str]:
    """Write ``n`` evaluated models (plus a queue) under ``root``; returns the model ids.

    Every ``missing_every``-th model lacks one or two benchmarks; every
    ``details_every``-th has per-sample details: ``details_per_benchmark`` documents per
    benchmark, or with ``full_size`` the stock tasks' counts (:data:`FULL_SIZE`, 28,659
    documents and 29,978 rows per model) with their prompt shapes (:data:`SHAPES`).
    With ``stored``, the others' details are in a details store, as a real deployment has
    them: main keeps the shared texts and each results file's ``details_sha256``, no file.
    """
    root = Path(root)
    suite = load_suite(suite_name, root)
    rng = random.Random(seed)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    names = model_names(n + (queue if queue is not None else max(3, n // 50)), seed)
    out = _Writer(root, shared_texts(suite, None if full_size else details_per_benchmark), stored=stored)
    for i, (model, arch, params, mtype) in enumerate(names[:n]):
        submitted = base + timedelta(minutes=37 * i)
        req = request_data(
            model, _sha(rng), rng.choice(PRECISIONS), mtype, rng.choice(LICENSES), params, submitted, suite.name
        )
        finished = submitted + timedelta(days=1)
        missing: set[str] = set()
        if missing_every and i % missing_every == missing_every - 1:
            missing = set(rng.sample(suite.keys, rng.choice([1, 2])))
        payload = results_payload(req, suite, arch, rng, finished, missing)
        details = _details(rng, suite, out.texts, i) if details_every and i % details_every == 0 else []
        out.results(payload, details, finished)
        runner, run_url = payload["evaluation"]["runner"], payload["evaluation"]["run_url"]
        history = [
            {"at": submitted, "status": "PENDING", "reason": "submitted"},
            {
                "at": submitted + timedelta(hours=20),
                "status": "RUNNING",
                "reason": "evaluation started",
                "runner": runner,
            },
            {"at": finished, "status": "FINISHED", "reason": "results written", "runner": runner, "run_url": run_url},
        ]
        out.request(_request_yaml_data(req, "FINISHED", history))
        out.checked = True
    now = base + timedelta(minutes=37 * n)
    for j, (model, _arch, params, mtype) in enumerate(names[n:]):
        status = ["PENDING", "RUNNING", "FAILED"][j % 3]
        submitted = now - timedelta(hours=5 * (j + 1))
        req = request_data(model, _sha(rng), "bfloat16", mtype, rng.choice(LICENSES), params, submitted, suite.name)
        history: list[dict[str, Any]] = [{"at": submitted, "status": "PENDING", "reason": "submitted"}]
        failure = None
        if status != "PENDING":
            history.append(
                {
                    "at": submitted + timedelta(hours=1),
                    "status": "RUNNING",
                    "reason": "evaluation started",
                    "runner": "gpu-runner-1",
                    "run_url": "https://github.com/example/leaderboard/actions/runs/2",
                }
            )
        if status == "FAILED":
            history.append(
                {
                    "at": submitted + timedelta(hours=2),
                    "status": "FAILED",
                    "reason": "OutOfMemoryError",
                    "runner": "gpu-runner-1",
                    "run_url": "https://github.com/example/leaderboard/actions/runs/2",
                }
            )
            failure = {
                "error_class": "OutOfMemoryError",
                "message": "CUDA out of memory",
                "log_url": "https://github.com/example/leaderboard/actions/runs/2",
            }
        out.request(_request_yaml_data(req, status, history, failure))
    return [m for m, *_ in names[:n]]


def make_repo(root: Path, n: int, *, source: Path | None = None, **kw: Any) -> Path:
    """A leaderboard repository at ``root`` with ``n`` models.

    The suite, ``mkdocs.yml`` and the hand-written ``site/`` come from ``source``
    (default: this checkout), so the fake repository builds like the real one.
    """
    root = Path(root)
    source = Path(source or Path(__file__).resolve().parents[2])
    suites = root / "eval" / "suites"
    suites.mkdir(parents=True, exist_ok=True)
    target = suites / "open_llm_v1.yaml"
    if not target.exists():
        shutil.copyfile(source / "eval" / "suites" / "open_llm_v1.yaml", target)
    if not (root / "mkdocs.yml").exists():
        shutil.copyfile(source / "mkdocs.yml", root / "mkdocs.yml")
    if not (root / "site").exists():
        (root / "site").symlink_to(source / "site", target_is_directory=True)
    if n:
        generate(root, n, **kw)
    return root


def main() -> None:  # pragma: no cover - a convenience for benchmarks
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("n", type=int)
    args = parser.parse_args()
    make_repo(args.root, args.n)


if __name__ == "__main__":  # pragma: no cover
    main()


# -- a hostile result set: every free-text field carries an injection payload ---------
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">"><svg onload=alert(1)>'


def add_hostile_model(root: Path) -> str:
    """A results file whose free-text fields carry script and HTML injection payloads."""
    import random

    suite = load_suite("open_llm_v1", root)
    req = request_data(
        "evil-org/evil-model", "a" * 40, "float16", "fine-tuned", XSS, 7.0, datetime(2024, 5, 1, tzinfo=UTC), suite.name
    )
    req["base_model"] = None
    payload = results_payload(req, suite, XSS, random.Random(1), datetime(2024, 5, 2, tzinfo=UTC), set())
    payload["reproduce"]["shlepa"] = "shlepa evaluate " + XSS
    details = [
        {
            "benchmark": "arc",
            "task": "arc_challenge",
            "doc_id": 0,
            "prompt": XSS,
            "choices": [XSS, "b"],
            "target": 0,
            "response": None,
            "filter": "none",
            "metrics": {"acc_norm": 1.0},
            "doc": {},
        }
    ]
    write_results(root, payload, details, datetime(2024, 5, 2, tzinfo=UTC))
    (root / "flags.yaml").write_text(
        yaml.safe_dump(
            [
                {"model": "evil-org/evil-model", "reason": XSS, "url": "https://example.org/discussions/1"},
            ]
        ),
        encoding="utf-8",
    )
    return "evil-org/evil-model"


# -- a checkpoint series: one model evaluated at several training steps ----------------
#: Training steps of the series add_series writes.
SERIES_STEPS = [0, 1000, 2000]


def add_series(root: Path, model: str = "lab/run-7b", series: str = "run-a", suite_name: str = "analysis360") -> None:
    """Three checkpoints of one training run, with a known rising BoolQ curve."""
    suite = load_suite(suite_name, root)
    rng = random.Random(1)
    base = datetime(2024, 3, 1, tzinfo=UTC)
    for i, step in enumerate(SERIES_STEPS):
        req = request_data(model, f"{i + 1:x}" * 40, "bfloat16", "pretrained", "mit", 7.0, base, suite.name)
        req["checkpoint"] = {"series": series, "step": step, "ref": f"step_{step}"}
        payload = results_payload(req, suite, "LlamaForCausalLM", rng, base + timedelta(days=i + 1), set())
        payload["scores"]["boolq"]["value"] = 50.0 + 10 * i  # a known rising curve
        write_results(root, payload, [], base + timedelta(days=i + 1))
