"""``shlepa demo``: the whole leaderboard, offline, on this machine."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from shlepa.cli._app import RootOption, app, console, resolve_root
from shlepa.cli.site import serve as serve_site


@app.command()
def demo(
    root: Path | None = RootOption,
    work: Path | None = typer.Option(None, "--work", help="Demo leaderboard folder (default: <root>/.shlepa/demo)."),
    limit: int = typer.Option(4, "--limit", help="Items per bundled task to evaluate (keeps the demo to minutes)."),
    port: int = typer.Option(8000, "--port", help="Port on 127.0.0.1 for the site."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the built site when done."),
) -> None:
    """Build tiny models, evaluate them offline with lm-eval on the bundled suite, build and serve the site."""
    from shlepa.demo.run import run_demo
    from shlepa.site.build import build_site

    repo = resolve_root(root)
    folder = run_demo(repo, work, limit=limit, say=lambda m: console.print(escape(m), highlight=False))
    report = build_site(folder, folder / "_site", progress=lambda m: console.print(escape(m), highlight=False))
    console.print(f"built {report.models} evaluation(s) into {escape(str(report.out))}")
    if not serve:
        return
    console.print("[bold green]Shlepa demo ready.[/]")
    serve_site(root=folder, out=report.out, port=port, do_build=False)
