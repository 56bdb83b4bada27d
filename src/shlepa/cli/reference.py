"""The CLI reference page, generated from the typer app so the docs never drift.

Run at development time (``make docs``): it writes ``site/pages/cli.md``, which is
committed; the site build copies that file like any hand-written page and never
imports the CLI. ``tests/cli/test_reference.py`` fails when the file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
import typer.core
import typer.main

#: Where the committed reference lives, relative to the repository root.
REFERENCE_PAGE = Path("site") / "pages" / "cli.md"


def command_tree() -> typer.core.TyperGroup:
    from shlepa.cli import app  # the CLI package imports this module's caller, not the reverse

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return group


def command_names() -> list[str]:
    group = command_tree()
    return sorted(group.list_commands(typer.Context(group, info_name="shlepa")))


def cli_reference_markdown() -> str:
    """Markdown with one section per command: its help text and its options."""
    group = command_tree()
    # A fixed width: the page must not depend on the terminal it was generated in.
    ctx = typer.Context(group, info_name="shlepa", terminal_width=100, max_content_width=100)
    lines = ["# CLI reference", "", "Generated from the code by `make docs`; do not edit by hand.", ""]
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
                meaning = meaning.replace("<", "&lt;").replace(">", "&gt;")  # <root> is text, not a tag
                rows.append(f"| `{name_}` | {meaning} |")
        if rows:
            lines += ["| option | meaning |", "| --- | --- |", *rows, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """``python -m shlepa.cli.reference [FILE]``: write the page (default: site/pages/cli.md)."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else REFERENCE_PAGE
    target.write_text(cli_reference_markdown(), encoding="utf-8")


if __name__ == "__main__":
    main()
