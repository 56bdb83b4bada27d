"""10,000 generated request files, hostile and broken, through ``shlepa validate --offline``.

Every kind of bad input a pull request can carry: broken YAML, wrong types, huge
values, unicode and control characters, path traversal in names and fields,
duplicate keys, Python-object YAML tags, alias bombs, symlinks out of the repository,
a FIFO. The validator runs in a child process under an audit hook
(``sys.addaudithook``) that records every file opened, every folder listed and every
file-system change, so "nothing outside requests/ read or written" is checked on
what the process actually did. Figures are printed with the test output.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from shlepa.records.request import new_request

N_FILES = 10_000
SEED = 20260101
SECRET = "SECRET_TOKEN_d0n7_l3ak"
PROJECT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("hardening_requests_worker.py")

TAGS = [
    "!!python/object/apply:os.system ['touch /tmp/shlepa-pwned']",
    "!!python/object:__main__.Evil {}",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!custom-tag value",
    "!!omap [a: 1]",
]
STRANGE_TEXT = [
    "\u202eevil\u202c",
    "zero\u200bwidth",
    "emoji 🤖🔥",
    "Ünïcödé",
    "\ufeffbom",
    "a\u0085b",
    "\u2028line",
    "../../etc/passwd",
    "..\\..\\windows",
    "$(rm -rf /)",
    "`id`",
    "; ls",
    "|| true",
    "%00",
    "\\x00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "${{ secrets.GITHUB_TOKEN }}",
    "{{7*7}}",
    "a" * 5000,
]
BAD_NAMES = [
    "..yaml",
    "....yaml",
    "..%2f..%2fetc.yaml",
    "..\\..\\x.yaml",
    "-rf.yaml",
    " .yaml",
    "\u202egnp.yaml",
    "名前.yaml",
    "emoji🤖.yaml",
    "$(id).yaml",
    "a;b.yaml",
    "x" * 250 + ".yaml",
    "new\nline.yaml",
    "tab\tname.yaml",
    ".hidden.yaml",
    "UPPER.YAML.yaml",
]


def _valid(rng: random.Random, i: int) -> dict:
    req = new_request(
        f"org{i % 50}/model-{i}",
        f"{rng.getrandbits(160):040x}",
        rng.choice(["float16", "bfloat16"]),
        "pretrained",
        "apache-2.0",
        f"user{i}",
    )
    return req.model_dump(mode="json", exclude_none=True)


def _dump(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False)  # JSON is YAML: exact control over the text


def generate(repo: Path, world: Path, rng: random.Random) -> dict[str, list[str]]:
    """Write N_FILES request files (and a few links) under ``repo/requests``; returns rel paths by kind."""
    kinds: dict[str, list[str]] = {}

    def put(kind: str, rel: str, text: str | bytes) -> None:
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        kinds.setdefault(kind, []).append(rel)

    def canonical(data: dict) -> str:
        org, name = data["model"].split("/")
        return f"requests/{org}/{name}/{data['revision']}_{data['precision']}.yaml"

    i = 0
    makers = []

    def maker(weight: int):
        def deco(fn):
            makers.extend([fn] * weight)
            return fn

        return deco

    @maker(20)
    def valid(i):
        data = _valid(rng, i)
        put(
            "valid",
            canonical(data),
            _dump(data)
            if rng.random() < 0.5
            else new_request(
                **{k: data[k] for k in ("model", "revision", "precision", "model_type", "license", "submitter")}
            ).to_yaml(),
        )

    @maker(8)
    def misplaced(i):
        data = _valid(rng, i)
        put("misplaced", f"requests/org{i % 7}/elsewhere/{data['revision']}_float32.yaml", _dump(data))

    @maker(12)
    def broken_yaml(i):
        text = _dump(_valid(rng, i))
        cut = rng.choice(
            [
                lambda t: t[: rng.randrange(1, len(t))],
                lambda t: t.replace(",", "\n\t", 3),
                lambda t: "{" * rng.randrange(1, 50) + t,
                lambda t: t.replace('"', "", 5),
                lambda t: "key: [unclosed\n  - x: y: z",
                lambda t: "- a\nb: c\n",
                lambda t: "%YAML 9.9\n---\n" + t,
                lambda t: "&a [*a]",
                lambda t: "\t" + t,
            ]
        )
        put("broken_yaml", f"requests/broken/m{i}/{i}.yaml", cut(text))

    @maker(12)
    def wrong_types(i):
        data = _valid(rng, i)
        rel = canonical(data)
        field = rng.choice(
            [
                "model",
                "revision",
                "precision",
                "model_type",
                "license",
                "submitter",
                "params",
                "history",
                "status",
                "submitted_at",
                "use_chat_template",
                "checkpoint",
                "failure",
            ]
        )
        data[field] = rng.choice(
            [
                [1, 2],
                {"x": {"y": 1}},
                -1e309 if field == "params" else [None],
                "definitely not valid ✗",
                {"nested": [[[]]]},
            ]
        )
        if field == "params":
            data[field] = rng.choice([-1, 1e300, "seven", [7]])
        if field in ("license", "submitter"):
            data[field] = rng.choice([["list"], {"a": 1}, "", None])
        if field == "use_chat_template":
            data[field] = rng.choice(["maybe", [True], {"a": 1}])
        put("wrong_types", rel, _dump(data))

    @maker(8)
    def huge(i):
        data = _valid(rng, i)
        choice = rng.randrange(6)
        if choice == 0:
            data["license"] = "x" * rng.randrange(101, 60_000)
        elif choice == 1:
            data["params"] = 10 ** rng.randrange(6, 300)
        elif choice == 2:
            data["history"] = [data["history"][0]] * 1001
        elif choice == 3:
            put("huge", f"requests/huge/m{i}/{i}.yaml", "license: " + "y" * 70_000)
            return
        elif choice == 4:
            put("huge", f"requests/huge/m{i}/{i}.yaml", "[" * 20_000 + "]" * 20_000)
            return
        else:  # an alias bomb: 9**9 leaves if expanded
            lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
            lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 9)]
            lines.append("license: *a8")
            put("huge", f"requests/huge/m{i}/{i}.yaml", "\n".join(lines))
            return
        put("huge", canonical(data), _dump(data))

    @maker(10)
    def strange_text(i):
        data = _valid(rng, i)
        field = rng.choice(["model", "license", "submitter", "suite", "revision", "base_model"])
        data[field] = rng.choice(STRANGE_TEXT) + rng.choice(["", "\x07", "\x1b[31m", "\r", "\x7f"])
        if field == "base_model":
            data["weight_type"] = "adapter"
        text = _dump(data)
        if rng.random() < 0.3:  # raw control characters in the file itself
            text = text.replace("apache-2.0", "apache\x00-2.0\x1b[2J\x08")
        if rng.random() < 0.2:
            text = text.encode("utf-8")[:-3] + b"\xff\xfe\xc3("  # not UTF-8
        put("strange_text", f"requests/strange/m{i}/{rng.choice(BAD_NAMES)}", text)

    @maker(8)
    def traversal(i):
        data = _valid(rng, i)
        data["model"] = rng.choice(
            [
                "../../etc",
                "..//..",
                "org/../../x",
                "/etc/passwd",
                "org/..",
                "./org/m",
                "org\\..\\..\\x",
                "org/m/../../../../tmp",
                "~root/.ssh",
            ]
        )
        put("traversal", f"requests/trav/m{i}/{rng.choice(['..', '...', '.'])}{i}.yaml", _dump(data))

    @maker(8)
    def duplicate_keys(i):
        text = new_request(f"dup/m{i}", "b" * 40, "float16", "pretrained", "mit", "eve").to_yaml()
        put(
            "duplicate_keys",
            f"requests/dup/m{i}/{'b' * 40}_float16.yaml",
            text + rng.choice(["status: FINISHED\n", "model: other/model\n", "license: mit\n"]),
        )

    @maker(8)
    def yaml_tags(i):
        data = _valid(rng, i)
        lines = [f"{k}: {json.dumps(v)}" for k, v in data.items() if k != "license"]
        lines.append(f"license: {rng.choice(TAGS)}")
        put("yaml_tags", canonical(data), "\n".join(lines))

    @maker(6)
    def odd_files(i):
        choice = rng.randrange(6)
        texts = ["", "# only a comment\n", "---\n...\n", "null", "[]", "42"]
        put("odd_files", f"requests/odd/m{i}/{i}.yaml", texts[choice] if choice < 6 else b"\xef\xbb\xbf")

    while i < N_FILES:
        rng.choice(makers)(i)
        i += 1

    # Links out of the repository and special files: must be refused, never read.
    secret = world / "secret" / "secret.yaml"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text(f"{SECRET}: 1\nmodel: secret/secret\n", encoding="utf-8")
    links = repo / "requests" / "links" / "model"
    links.mkdir(parents=True)
    for name, target in [
        ("abs_secret.yaml", secret),
        ("rel_secret.yaml", Path("../../../../secret/secret.yaml")),
        ("passwd.yaml", Path("/etc/passwd")),
        ("dangling.yaml", world / "missing.yaml"),
        ("loop_a.yaml", Path("loop_b.yaml")),
        ("loop_b.yaml", Path("loop_a.yaml")),
        ("proc.yaml", Path("/proc/self/environ")),
    ]:
        (links / name).symlink_to(target)
        kinds.setdefault("symlink", []).append(str((links / name).relative_to(repo)))
    (repo / "requests" / "evil-dir").symlink_to(secret.parent, target_is_directory=True)
    os.mkfifo(links / "fifo.yaml")
    kinds.setdefault("fifo", []).append(str((links / "fifo.yaml").relative_to(repo)))
    return kinds


@pytest.mark.slow
def test_ten_thousand_hostile_request_files(tmp_path, capsys):
    world = tmp_path / "world"
    repo = world / "repo"
    (repo / "requests").mkdir(parents=True)
    kinds = generate(repo, world, random.Random(SEED))
    total = sum(len(v) for v in kinds.values())
    assert total >= N_FILES

    # The rest of the world is read-only for the run (a second line of defence besides the audit).
    before = {p: p.stat().st_mtime_ns for p in world.rglob("*") if not p.is_symlink() and p.exists()}
    out = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(world), str(repo), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, f"uncaught exception:\n{proc.stderr[-5000:]}"
    report = json.loads(out.read_text())

    listed = set(report["listed"])
    failed = set(report["failed_files"])
    ok = set(report["schema_ok"])
    # Every file got a verdict; every bad one failed, named by its own path.
    assert report["unnamed_failures"] == []
    assert not any(p.startswith("requests/evil-dir") for p in listed), "followed a symlinked folder"
    missing_verdict = listed - failed - ok
    assert not missing_verdict, sorted(missing_verdict)[:5]
    for kind, rels in kinds.items():
        if kind == "valid":
            assert set(rels) <= ok and not set(rels) & failed, kind
        else:
            assert set(rels) <= failed, (kind, sorted(set(rels) - failed)[:3])
    assert any("symbolic link" in e for e in report["load_errors"])
    assert not any(SECRET in e for e in report["load_errors"])

    # Nothing outside requests/ read or listed, nothing written anywhere, the secret never opened.
    base = os.path.normpath(repo / "requests")
    outside = [
        (k, p, e)
        for k, p, e in report["events"]
        if os.path.normpath(p) != base and not os.path.normpath(p).startswith(base + os.sep)
    ]
    writes = [(k, p, e) for k, p, e in report["events"] if k == "write"]
    assert outside == [], outside[:5]
    assert writes == [], writes[:5]
    after = {p: p.stat().st_mtime_ns for p in before}
    assert after == before
    assert not Path("/tmp/shlepa-pwned").exists()

    counts = Counter({k: len(v) for k, v in kinds.items()})
    with capsys.disabled():
        print(f"\n[hardening] request fuzz: {total} files ({', '.join(f'{k} {n}' for k, n in counts.most_common())})")
        print(
            f"[hardening] request fuzz: uncaught exceptions 0; failed (file named) {len(failed)}, "
            f"parsed {len(ok)}, unnamed errors 0; {len(report['events'])} file events audited, "
            f"outside requests/ 0, writes 0"
        )
        print(
            f"[hardening] request fuzz: validation {report['seconds']:.1f} s "
            f"({total / report['seconds']:.0f} files/s), process wall {wall:.1f} s, {report['checks']} checks"
        )
