"""Storage at scale (issue 14): what 1,000 and 10,000 full-size evaluations cost GitHub.

Figures printed:

* bytes added to main per evaluation (the results file on disk and as git stores it,
  a zlib-compressed object), in the earlier format (lm-eval's whole output inline) and now;
* bytes per sample of the details per benchmark, before (format 1: full rows) and after
  (format 2: the compact row; the shared text once per task version, not per model);
* the size of a fresh clone of main holding N results files (a real git repository built
  from the fake result sets, cloned with ``git clone --no-local``);
* the Pages artifact: with an external details store (hf, s3: no details in the site) and
  with the branch store (the build copies every model's compact details file from the
  details branch into the site, byte for byte, beside the shared text pages written once),
  and the largest board whose artifact stays under the 900 MB budget with the branch store;
* ``shlepa build`` wall time at each size (the command as run; the external-store site).

The rows are synthetic (tests/support/result_sets.py, sized like a real evaluation: see
tests/evaluation/test_run_sizes.py); lm-eval never runs.

    PYTHONPATH=src python benchmarks/bench_storage.py [--sizes 1000 10000] [--work /tmp/shlepa-storage]
        [--engines mkdocs zensical properdocs]   # interleaved builds per engine, two walls each
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fake result sets

from shlepa.records.details import ModelDetails, load_shared, read_model_details
from shlepa.records.results import iter_results_files
from shlepa.records.suite import load_suite
from shlepa.site.board import load_board
from shlepa.site.build import split_details

from support import result_sets
from support.result_sets import _details, make_repo, shared_texts

BUDGET = 900e6
GENERATOR = hashlib.sha256(Path(result_sets.__file__).read_bytes()).hexdigest()
GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}


def _stamp(root: Path) -> Path:
    """Marks a generated board with the generator's source hash: a board the fake result sets
    wrote before they changed is written again, so no figure is taken on stale files."""
    return root / ".generator"


def git_object_size(data: bytes) -> int:
    """Bytes of a loose git object: zlib of ``blob <len>\\0`` + content."""
    return len(zlib.compress(b"blob %d\0" % len(data) + data))


def folder_bytes(folder: Path) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _dirs, files in os.walk(folder) for f in files)


def per_evaluation(root: Path) -> None:
    """One evaluation's bytes on main; its lm-eval output comes from a copy of the board's first
    model with the details file beside it (the board's own are in the store)."""
    one = root.with_name(f"{root.name}-one")
    if not one.is_dir():
        make_repo(one, 1, details_every=0, queue=0)
    root = one
    path = iter_results_files(root)[0]
    now = path.read_bytes()
    data = json.loads(now)
    details = read_model_details(path.parent / data["details_file"], load_shared(root))
    # the earlier format: lm-eval's whole output inline, indented (atomic.write_json)
    old = json.dumps({**data, "lm_eval": {**data["lm_eval"], **details.lm_eval}}, indent=2).encode()
    request = next((root / "requests").rglob("*.yaml")).read_bytes()
    print("bytes added to main per evaluation (results file; the request file's update adds "
          f"{git_object_size(request):,} more as git stores it):")  # fmt: skip
    print(f"  before: {len(old):>8,} on disk  {git_object_size(old):>7,} as git stores it")
    print(f"  now:    {len(now):>8,} on disk  {git_object_size(now):>7,} as git stores it   (goals: 30,000 / 20,000)")


def per_sample(work: Path) -> tuple[dict[str, int], int]:
    """Bytes per sample per benchmark, before and after; returns ({"file": one full-size model's
    compact details file (what the branch store copies into the site), "pages": the same model's
    details as site pages (details kept beside the results, no store)}, site bytes of the shared
    text pages)."""
    suite = load_suite("open_llm_v1", Path(__file__).resolve().parents[1])
    texts = shared_texts(suite, None)
    shared = {t.task: t for parts in texts.values() for t, _first in parts}
    rows = _details(random.Random(0), suite, texts, 0)
    details = ModelDetails(rows, shared)
    full = details.full_rows()
    print(f"details per sample (full size: {len(rows):,} rows per model), bytes as JSON / gzip'd:")
    print(
        f"  {'benchmark':<11} {'rows':>6}  {'before (full row)':>18}  {'after (compact row)':>20}  {'shared, once':>14}"
    )
    by: dict[str, list[int]] = {}
    for bench in suite.keys:
        idx = [i for i, r in enumerate(rows) if r["benchmark"] == bench]
        before = "".join(json.dumps(full[i], ensure_ascii=False) + "\n" for i in idx).encode()
        after = "".join(json.dumps(rows[i], ensure_ascii=False) + "\n" for i in idx).encode()
        texts_b = sum(len(t.encode()) for t, _f in texts[bench])
        n = len(idx)
        print(
            f"  {bench:<11} {n:>6}  {len(before) / n:>8,.0f} / {len(gzip.compress(before, 6)) / n:>6,.0f}"
            f"  {len(after) / n:>9,.0f} / {len(gzip.compress(after, 6)) / n:>6,.0f}"
            f"  {texts_b / 1e6:>8.2f} MB gz"
        )
        by[bench] = [len(before), len(after)]
    model_file = len(details.encode())
    print(f"  one model's details file: {model_file / 1e6:.2f} MB gz; shared texts: "
          f"{sum(len(t.encode()) for t in shared.values()) / 1e6:.1f} MB gz once per suite version")  # fmt: skip
    # the site's pages of the same model (what the branch store copies into the Pages artifact)
    root = work / "one-full-size"
    if not (root / "results").is_dir():
        make_repo(root, 1, details_every=1, full_size=True, missing_every=0, queue=0)
    board = load_board(root)
    ((path, res),) = board.results.values()
    _index, files = split_details(path, res, board.suites["open_llm_v1"], root)
    model_site = sum(len(v.encode()) for k, v in files.items() if not k.startswith("shared/"))
    shared_site = sum(len(v.encode()) for k, v in files.items() if k.startswith("shared/"))
    print(
        f"  in the site: {model_file / 1e6:.2f} MB per model with the branch store (its compact file), "
        f"{model_site / 1e6:.1f} MB of pages per model with details beside the results (no store); "
        f"{shared_site / 1e6:.1f} MB of shared pages once"
    )
    return {"file": model_file, "pages": model_site}, shared_site


def clone_size(root: Path, n: int) -> int:
    """A real git repository of the results and requests; the size of a fresh clone of it."""
    repo = root.with_name(root.name + "-git")
    if not (repo / ".git").is_dir():
        shutil.rmtree(repo, ignore_errors=True)
        repo.mkdir()
        for sub in ("results", "requests"):
            shutil.copytree(root / sub, repo / sub, ignore=shutil.ignore_patterns("details_*"))
        env = {**os.environ, **GIT_ENV}
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", f"{n} evaluations"], cwd=repo, check=True, env=env)
    if subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=repo, capture_output=True).returncode:
        raise SystemExit(f"{repo}: no commit (an interrupted run?); delete it and run again")
    clone = repo.with_name(repo.name + "-clone")
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", "--no-local", "--bare", str(repo), str(clone)], check=True)
    size = folder_bytes(clone)
    shutil.rmtree(clone, ignore_errors=True)
    return size


def build(root: Path, engine: str = "mkdocs") -> tuple[float, int]:
    out = root / f"_site-{engine}"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    cmd = [sys.executable, "-m", "shlepa", "build", "--root", str(root), "--out", str(out), "--engine", engine]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t, folder_bytes(out)


def compare_engines(root: Path, n: int, engines: list[str]) -> int:
    """Each engine's ``shlepa build`` twice, interleaved (A B ... B A), the mean of its two walls
    and both; returns the first engine's artifact bytes."""
    order = engines + engines[::-1]
    walls: dict[str, list[float]] = {e: [] for e in engines}
    sizes: dict[str, int] = {}
    for engine in order:
        seconds, sizes[engine] = build(root, engine)
        walls[engine].append(seconds)
    pages = {e: sum(1 for _ in (root / f"_site-{e}").rglob("*.html")) for e in engines}
    for engine in engines:
        w = walls[engine]
        print(f"shlepa build {n:>6} models --engine {engine:<10}: {sum(w) / len(w):5.1f} s wall (runs "
              f"{', '.join(f'{x:.1f}' for x in walls[engine])}); {pages[engine]:,} pages, "
              f"Pages artifact {sizes[engine] / 1e6:6.1f} MB", flush=True)  # fmt: skip
    return sizes[engines[0]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/shlepa-storage"))
    parser.add_argument("--no-build", action="store_true", help="skip the site builds")
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["mkdocs"],
        help="site generators to build with, interleaved (the first sizes the artifact)",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"cores available: {len(os.sched_getaffinity(0))}; load avg {os.getloadavg()[0]:.1f}", flush=True)
    sites: dict[int, int] = {}
    for n in args.sizes:
        root = args.work / f"r{n}"
        if not _stamp(root).is_file() or _stamp(root).read_text() != GENERATOR:
            shutil.rmtree(root, ignore_errors=True)
            t = time.perf_counter()
            make_repo(root, n, details_every=0, stored=True)
            _stamp(root).write_text(GENERATOR)
            print(f"generate {n:>6} models: {time.perf_counter() - t:.0f} s (not part of any figure)", flush=True)
        if n == args.sizes[0]:
            per_evaluation(root)
        print(f"fresh clone of main with {n:>6} results files: {clone_size(root, n) / 1e6:7.1f} MB", flush=True)
        if not args.no_build and len(args.engines) > 1:
            sites[n] = compare_engines(root, n, args.engines)
        elif not args.no_build:
            seconds, size = build(root, args.engines[0])
            sites[n] = size
            print(f"shlepa build {n:>6} models: {seconds:5.1f} s wall; Pages artifact with an external "
                  f"details store: {size / 1e6:6.1f} MB", flush=True)  # fmt: skip
    site, shared_site = per_sample(args.work)
    if len(sites) >= 2:
        (n0, s0), (n1, s1) = sorted(sites.items())[:2]
        per_model = (s1 - s0) / (n1 - n0)
        base = s0 - per_model * n0
        for label, key in (("the branch store", "file"), ("details beside the results (no store)", "pages")):
            each = per_model + site[key]
            fits = int((BUDGET - base - shared_site) // each)
            for n in sorted(sites):
                total = sites[n] + shared_site + n * site[key]
                print(f"Pages artifact with {label} at {n:>6} models: {total / 1e6:8.0f} MB")
            print(f"largest board under {BUDGET / 1e6:.0f} MB with {label}: {fits:,} full-size models "
                  f"({each / 1e6:.2f} MB each, linear fit of the builds above)")  # fmt: skip
        print("the hf or s3 store: the site alone (above)")


if __name__ == "__main__":
    main()
