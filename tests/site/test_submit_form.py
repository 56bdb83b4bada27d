"""The Submit form's data (data/submit.json), the shared check table, and the queue links of the checklist."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.config import Settings, ValidationSettings
from shlepa.records.keys import name_formats, queue_anchor, request_relpath
from shlepa.records.request import Request, new_request, save_request
from shlepa.site.build import build_site
from shlepa.site.submit_data import SUBMIT_DATA, submit_form_data
from shlepa.submission import rules
from shlepa.submission.checklist import Checklist
from shlepa.submission.validate import Options, validate_paths

from support.result_sets import make_repo

SRC = Path(__file__).resolve().parents[2] / "src" / "shlepa"
SHA = "0123456789abcdef0123456789abcdef01234567"


def test_every_shared_check_is_used_by_the_validator_and_exported_unchanged():
    used = set(re.findall(r'ctx\.rule\("(\w+)"', (SRC / "submission" / "validate.py").read_text()))
    assert used == set(rules.CHECKS)
    exported = rules.form_rules(ValidationSettings(max_params_b=0.5, optout_orgs=["Big"]))
    for key, rule in rules.CHECKS.items():
        assert exported["checks"][key] == {
            "name": rule.name,
            "status": rule.status,
            "message": rule.message,
            "fix": rule.fix,
        }
        assert rule.status in ("pass", "fail", "warn") and all(f.isidentifier() for f in rule.fields())
    assert exported["limit"] == "0.5" and exported["optout_orgs"] == ["big"]
    assert (rules.fmt_params(1024), rules.fmt_params(7_241_732_096), rules.fmt_billions(200_000_000_000)) == (
        "1,024",
        "7.24B",
        "200.0",
    )


def test_name_formats_give_the_paths_the_python_side_uses():
    f = name_formats()
    for suite in ("open_llm_v1", "analysis360"):
        suffix = "" if suite == f["default_suite"] else f["suite_suffix"].format(suite=suite)
        assert f["request_path"].format(org="o", name="m", revision=SHA, precision="4bit", suffix=suffix) == str(
            request_relpath("o/m", SHA, "4bit", suite)
        )
    row = f["evaluation_key"].format(model="o/m", revision=SHA[:12], precision="4bit", suite="s")
    assert f["queue_anchor"].format(row_id=row) == queue_anchor("o/m", SHA, "4bit", "s")


def test_submit_json_carries_the_boards_rules_repository_and_schema(tmp_path):
    root = make_repo(tmp_path / "repo", 2, queue=1)
    (root / "leaderboard.yaml").write_text(
        "validation:\n  optout_orgs: [Nope]\nsite:\n  repository: own/board\n  branch: trunk\n"
    )
    build_site(root, root / "_site")
    data = json.loads((root / "_site" / SUBMIT_DATA).read_text())
    assert data == json.loads(
        json.dumps(
            submit_form_data(
                Settings.model_validate(
                    {"validation": {"optout_orgs": ["Nope"]}, "site": {"repository": "own/board", "branch": "trunk"}}
                ),
                {"open_llm_v1": data["suites"][0]["title"]},
            )
        )
    )
    assert data["rules"]["optout_orgs"] == ["nope"] and (data["repository"], data["branch"]) == ("own/board", "trunk")
    assert data["request"]["fields"] == list(Request.model_fields)
    page = (root / "_site" / "submit" / "index.html").read_text()
    assert 'id="submit-app"' in page and "assets/js/submit.js" in page


def test_the_checklist_links_each_request_to_its_queue_entry(tmp_path):
    root = tmp_path / "board"
    req = new_request("org/m", SHA, "bfloat16", "pretrained", "mit", "me")
    path = save_request(req, root)
    opts = Options(settings=ValidationSettings(), site_url="https://board.example/lb/")
    md = validate_paths(root, [path], opts).to_markdown()
    anchor = queue_anchor("org/m", SHA, "bfloat16", "open_llm_v1")
    assert f"(https://board.example/lb/queue/#{anchor})" in md and "follow the evaluation on the queue" in md
    assert "queue/#" not in validate_paths(root, [path], Options(settings=ValidationSettings())).to_markdown()
    assert Checklist().to_markdown().count("queue") == 0


def test_validate_takes_the_site_url_from_leaderboard_yaml(tmp_path):
    root = tmp_path / "board"
    path = save_request(new_request("org/m", SHA, "bfloat16", "pretrained", "mit", "me"), root)
    (root / "leaderboard.yaml").write_text("site:\n  url: https://board.example/\n")
    (root / "eval" / "suites").mkdir(parents=True)
    out = tmp_path / "checklist.md"
    CliRunner().invoke(app, ["validate", str(path), "--offline", "--markdown", str(out), "--root", str(root)])
    assert "https://board.example/queue/#req-org/m@0123456789ab@bfloat16@open_llm_v1" in out.read_text()


def test_the_queue_page_has_an_anchor_and_the_submitter_on_every_request(tmp_path):
    root = make_repo(tmp_path / "repo", 2, queue=3)
    build_site(root, root / "_site")
    html = (root / "_site" / "queue" / "index.html").read_text()
    from shlepa.records.request import load_all_requests

    good, _ = load_all_requests(root)
    assert good
    for _path, req in good:
        anchor = queue_anchor(req.model, req.revision, req.precision.value, req.suite)
        assert f'<tr id="{anchor}" data-submitter="{req.submitter}">' in html
    assert 'id="queue-submitter"' in html and "assets/js/queue.js" in html


YAML_STRINGS = [
    "org/m",
    "yes",
    "No",
    "on",
    "123",
    "1" * 40,
    "0123abc",
    "0x1F",
    "1_000",
    "1:30",
    "1e5",
    "1.5",
    ".5",
    "+1",
    ".inf",
    "v1.0",
    "apache-2.0",
    "a: b",
    "a:b",
    "#x",
    "a #b",
    "a#b",
    "-x",
    "- x",
    "-",
    "?x",
    "? x",
    ":x",
    "x:",
    "b: ",
    "step_1000",
    "refs/pr/1",
    "it's",
    "a ' b",
    "",
    " x",
    "x ",
    "null",
    "~",
    "=",
    "<<",
    "2024-01-01",
    "2026-12-02T00:37:50.430579Z",
    "ünïcode",
    "✓ ok",
    "tab\tx",
    "a,b",
    "[x",
    "x]",
    "{x}",
    "@x",
    "%x",
    "`x",
    "!x",
    "&x",
    "*x",
    "|x",
    ">x",
    "'x",
    '"x',
    "---x",
    "...",
    "my-run_v1.2",
    "Llama-3 8B",
]


def test_the_forms_yaml_strings_are_quoted_as_pyyaml_quotes_them(tmp_path):
    """site/assets/js/lib/yaml.js against yaml.safe_dump (Request.to_yaml's dumper) on awkward strings."""
    import shutil
    import subprocess

    import yaml

    node = shutil.which("node")
    if node is None:
        import pytest

        pytest.skip("node is not installed (make js-test needs it too)")
    lib = Path(__file__).resolve().parents[2] / "site" / "assets" / "js" / "lib" / "yaml.js"
    script = tmp_path / "quote.mjs"
    script.write_text(
        f"import {{yamlString}} from {json.dumps(lib.as_uri())};\n"
        "const xs = JSON.parse(process.argv[2]); console.log(JSON.stringify(xs.map(yamlString)));\n"
    )
    got = json.loads(
        subprocess.run([node, str(script), json.dumps(YAML_STRINGS)], capture_output=True, text=True, check=True).stdout
    )
    want = [yaml.safe_dump({"k": s}, allow_unicode=True, width=100)[3:-1] for s in YAML_STRINGS]
    assert dict(zip(YAML_STRINGS, got, strict=False)) == dict(zip(YAML_STRINGS, want, strict=False))
