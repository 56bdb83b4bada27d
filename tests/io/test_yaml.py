"""Strict YAML reading: what PyYAML's SafeLoader reads, minus what a request must never hold."""

from __future__ import annotations

import pytest
import yaml

from shlepa.io.yaml import YamlError, load_yaml_text

DOCUMENTS = [
    "model: org/name\nparams: 7\nratio: 0.5\nok: true\nnothing: null\n",
    "submitted_at: 2024-03-08T16:55:00Z\nday: 2024-03-08\n",
    "history:\n- at: '2024-01-01'\n  status: PENDING\n- {at: x, status: RUNNING, n: [1, 2, {a: b}]}\n",
    "base: &b {precision: bfloat16, suite: open_llm_v1}\nrequest:\n  <<: *b\n  model: org/name\n",
    "one: &x [1, 2, 3]\ntwo: *x\n",
    "octal: 0o17\nhex: 0x1f\nfloat: 1e3\ninf: .inf\nyes_is_text: yes\n",
    "- a\n- - b\n  - c\n",
    "just a string\n",
    "",
    'quoted: "line\\nbreak"\nfolded: >\n  one\n  two\nliteral: |\n  keep\n  lines\n',
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_reads_what_safe_load_reads(text: str) -> None:
    assert load_yaml_text(text, "r.yaml") == yaml.safe_load(text)


def test_an_alias_is_built_once_so_alias_bombs_stay_small() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 leaves if copied
    data = load_yaml_text("\n".join(lines) + "\n", "bomb.yaml")
    assert data["a8"][0] is data["a8"][9] is data["a7"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("status: PENDING\nstatus: FINISHED\n", "duplicate key 'status'"),
        ("base: &b {model: a}\nrequest:\n  <<: *b\n  model: b\n", "duplicate key 'model'"),
        ("loop: &l [1, *l]\n", "recursive alias"),
        ("data: !!binary aGVsbG8=\n", "tag:yaml.org,2002:binary"),
        ("data: !!set {a: null}\n", "tag:yaml.org,2002:set"),
        ("data: !!python/object:os.system {}\n", "python/object"),
        ("? [a, b]\n: value\n", "unhashable key"),
    ],
)
def test_refuses_what_a_request_must_not_hold(text: str, problem: str) -> None:
    with pytest.raises(YamlError, match=r"^r\.yaml: invalid YAML \(line \d+, column \d+\): ") as info:
        load_yaml_text(text, "r.yaml")
    assert problem in str(info.value)
