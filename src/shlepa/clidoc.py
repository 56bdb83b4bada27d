"""The CLI reference page, generated from the typer app so the docs never drift."""

from __future__ import annotations

import typer
import typer.core
import typer.main


def command_tree() -> typer.core.TyperGroup:
    from shlepa.cli import app

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return group


def command_names() -> list[str]:
    group = command_tree()
    return sorted(group.list_commands(typer.Context(group, info_name="shlepa")))


def cli_reference_markdown() -> str:
    """Markdown with one section per command: its help text and its options."""
    group = command_tree()
    ctx = typer.Context(group, info_name="shlepa")
    lines = ["# CLI reference", "", "Generated from the code by `shlepa build`.", ""]
    for name in sorted(group.list_commands(ctx)):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        sub = typer.Context(cmd, info_name=name, parent=ctx)
        lines += [f"## `shlepa {name}`", "", (cmd.help or "").strip(), ""]
        usage = cmd.get_usage(sub).replace("Usage: ", "")
        lines += ["```text", usage, "```", ""]
        rows = []
        for param in cmd.get_params(sub):
            record = param.get_help_record(sub)
            if record:
                name_, meaning = (part.replace("|", "\\|") for part in record)
                rows.append(f"| `{name_}` | {meaning} |")
        if rows:
            lines += ["| option | meaning |", "| --- | --- |", *rows, ""]
    return "\n".join(lines)
