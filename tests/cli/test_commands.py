"""Every command documents itself, and the reference page is generated from the code."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import typer.core
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.cli.reference import REFERENCE_PAGE, cli_reference_markdown, command_names, command_tree

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
GROUP = command_tree()
COMMANDS = command_names()


def test_the_core_commands_exist() -> None:
    assert {"evaluate", "validate"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name: str) -> None:
    cmd = GROUP.get_command(typer.Context(GROUP, info_name="shlepa"), name)
    assert cmd is not None and (cmd.help or "").strip(), f"shlepa {name} has no help text"
    for param in cmd.params:
        if isinstance(param, typer.core.TyperOption):
            assert (param.help or "").strip(), f"shlepa {name} {param.opts[0]} has no help text"
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_reference(name: str) -> None:
    assert f"## `shlepa {name}`" in cli_reference_markdown()


def test_the_committed_reference_page_is_current() -> None:
    committed = (REPO / REFERENCE_PAGE).read_text(encoding="utf-8")
    assert committed == cli_reference_markdown(), f"{REFERENCE_PAGE} is stale: run `make docs` and commit it"
