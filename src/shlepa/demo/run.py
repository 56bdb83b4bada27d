"""The embedded default: a whole leaderboard, offline, in a few minutes on a laptop CPU.

``run_demo`` makes a demo leaderboard folder (``.shlepa/demo`` by default) that
shares ``eval/``, ``site/`` and ``mkdocs.yml`` with the repository but has its own
``requests/`` and ``results/``. It builds tiny models locally (different training
budgets, so their scores differ, and one checkpoint series for the training
curves), writes a request for each, evaluates them with the real lm-eval on the
bundled mini suite, and builds the site. Nothing touches the network.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shlepa.evaluation.options import EvalOptions
from shlepa.evaluation.run import evaluate_request
from shlepa.records.request import new_request, save_request
from shlepa.records.suite import DataSource

SHARED = ("eval", "site", "mkdocs.yml", "flags.yaml", "leaderboard.yaml")
COPIED = ("flags.yaml", "leaderboard.yaml")


@dataclass(frozen=True)
class DemoModel:
    model: str
    arch: Literal["llama", "gpt2"]
    train_steps: int
    model_type: str
    license: str
    seed: int = 0


# The untrained baseline is the series' step 0, so two finished models are enough here.
DEMO_MODELS = (
    DemoModel("shlepa-demo/tiny-llama-trained", "llama", 150, "pretrained", "mit", seed=1),
    DemoModel("shlepa-demo/tiny-gpt2-trained", "gpt2", 80, "fine-tuned", "cc-by-4.0", seed=2),
)
SERIES_MODEL = "shlepa-demo/tiny-llama-ckpt"
SERIES_STEPS = (0, 40, 120)
SERIES_SUITE = "analysis360"  # the series shows every Analysis360 metric as a training curve
MEMORIZATION_SAMPLE_DOCS = 64


def write_training_sample(path: Path, n: int = MEMORIZATION_SAMPLE_DOCS) -> Path:
    """A JSONL sample of the tiny models' own training corpus, for the memorization metric."""
    import json

    from shlepa.demo.tinymodels import default_corpus

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in default_corpus()[:n]), encoding="utf-8")
    return path


def content_sha(model_dir: Path) -> str:
    """A stable 40-hex 'revision' for a local folder: the hash of its weights and config."""
    digest = hashlib.sha1()
    for name in ("config.json", "model.safetensors"):
        digest.update((model_dir / name).read_bytes())
    return digest.hexdigest()


def count_params(model_dir: Path) -> int:
    """Parameter count from the safetensors headers (no tensor is loaded)."""
    from safetensors import safe_open

    total = 0
    for file in sorted(model_dir.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as fh:
            for name in fh.keys():  # noqa: SIM118 (safe_open is not iterable)
                total += math.prod(fh.get_slice(name).get_shape())
    return total


def prepare_workspace(repo: Path, work: Path) -> Path:
    """A demo leaderboard root sharing the repository's suites and site sources."""
    work.mkdir(parents=True, exist_ok=True)
    for name in SHARED:
        src, dst = repo / name, work / name
        if not src.exists() or dst.exists():
            continue
        # Shared by a link, except the settings files: their reader refuses links (a copy).
        if name in COPIED:
            shutil.copyfile(src, dst)
        else:
            dst.symlink_to(src.resolve(), target_is_directory=src.is_dir())
    for sub in ("requests", "results"):
        shutil.rmtree(work / sub, ignore_errors=True)
        (work / sub).mkdir()
    return work


def build_models(work: Path, say: Callable[[str], None]) -> list[tuple[str, Path, dict | None]]:
    """Tiny models: (model id, folder, checkpoint info) for every demo evaluation."""
    from shlepa.demo.tinymodels import make_checkpoint_series, make_tiny_model

    models_dir = work / "models"
    out: list[tuple[str, Path, dict | None]] = []
    tokenizer_dir = None
    for spec in DEMO_MODELS:
        folder = models_dir / spec.model.split("/", 1)[1]
        say(f"building {spec.model} ({spec.arch}, {spec.train_steps} training steps)")
        make_tiny_model(
            folder, arch=spec.arch, seed=spec.seed, train_steps=spec.train_steps, tokenizer_dir=tokenizer_dir
        )
        tokenizer_dir = tokenizer_dir or folder
        out.append((spec.model, folder, None))
    say(f"building checkpoint series {SERIES_MODEL} at steps {', '.join(map(str, SERIES_STEPS))}")
    series = make_checkpoint_series(
        models_dir / "tiny-llama-ckpt", list(SERIES_STEPS), seed=3, tokenizer_dir=tokenizer_dir
    )
    for step, folder in sorted(series.items()):
        out.append((SERIES_MODEL, folder, {"series": "tiny-llama-ckpt", "step": step, "ref": f"step_{step}"}))
    return out


def run_demo(
    repo: Path,
    work: Path | None = None,
    *,
    limit: int = 4,
    say: Callable[[str], None] = print,
) -> Path:
    """Build models, evaluate them on the bundled suite, write results; returns the demo root."""
    # Absolute: a relative model folder would reach transformers as a Hub repo id.
    work = prepare_workspace(repo, Path(work or repo / ".shlepa" / "demo").absolute())
    lookup = {m.model: m for m in DEMO_MODELS}
    sample = write_training_sample(work / "models" / "training_sample.jsonl")
    for model_id, folder, checkpoint in build_models(work, say):
        spec = lookup.get(model_id)
        request = new_request(
            model_id,
            content_sha(folder),
            "float32",
            spec.model_type if spec else "pretrained",
            spec.license if spec else "apache-2.0",
            "shlepa-demo",
            checkpoint=checkpoint,
            params=round(count_params(folder) / 1e9, 9),
            suite=SERIES_SUITE if checkpoint else "open_llm_v1",
        )
        path = save_request(request, work)
        say(f"evaluating {model_id}" + (f" step {checkpoint['step']}" if checkpoint else ""))
        evaluate_request(
            path,
            work,
            EvalOptions(
                source=DataSource.bundled,
                model_path=folder,
                batch_size=8,
                device="cpu",
                limit=limit,
                memorization_data=sample if checkpoint else None,
            ),
            progress=say,
        )
    return work
