"""``shlepa build`` and ``shlepa serve``: the published site."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.markup import escape

from shlepa.cli._app import RootOption, app, console, fail, resolve_root


@app.command()
def build(
    root: Path | None = RootOption,
    out: Path | None = typer.Option(None, "--out", help="Output folder (default: <root>/_site)."),
    engine: str | None = typer.Option(
        None,
        "--engine",
        help="Site generator for mkdocs.yml: properdocs, mkdocs or zensical (default: leaderboard.yaml site.engine).",
    ),
    site_url: str | None = typer.Option(
        None,
        "--site-url",
        help="The published site's address, ending in / (default: site.url in leaderboard.yaml); publish.yml "
        "passes the one GitHub Pages reports.",
    ),
) -> None:
    """Build the site: leaderboard, charts, queue, about and one page per evaluated model."""
    from shlepa.config import BASE_URL
    from shlepa.site.build import BuildError, Engine, build_site

    if engine is not None and engine not in set(Engine):
        raise BuildError(f"--engine: unknown engine {engine!r}; one of {', '.join(Engine)}", field="engine")
    if site_url:  # empty: not given (an unset variable in a workflow)
        site_url = site_url if site_url.endswith("/") else site_url + "/"  # GitHub Pages reports it without
        if not re.fullmatch(BASE_URL, site_url):
            raise BuildError(f"--site-url: not an http(s) address: {site_url!r}", field="site_url")
    base = resolve_root(root)
    report = build_site(
        base,
        out,
        progress=lambda msg: console.print(escape(msg), highlight=False),
        engine=Engine(engine) if engine else None,
        site_url=site_url,
    )
    for problem in report.skipped:
        console.print(f"[yellow]skipped:[/] {escape(problem)}", soft_wrap=True, highlight=False)
    console.print(
        f"built {report.models} model(s), {report.model_pages} model page(s), details for "
        f"{report.details_models}, in {report.seconds:.1f} s ({report.bytes / 1e6:.1f} MB) -> {escape(str(report.out))}"
        + (f"; skipped {len(report.skipped)} broken file(s)" if report.skipped else ""),
        highlight=False,
    )


@app.command()
def serve(
    root: Path | None = RootOption,
    out: Path | None = typer.Option(None, "--out", help="Built site folder (default: <root>/_site)."),
    port: int = typer.Option(8000, "--port", help="Port on 127.0.0.1."),
    do_build: bool = typer.Option(True, "--build/--no-build", help="Build before serving."),
) -> None:
    """Serve the built site on http://127.0.0.1:PORT/, and under site.url's path as the 404 page links (Ctrl-C stops)."""
    from shlepa.config import load_settings
    from shlepa.site.serve import base_path, make_server

    base = resolve_root(root)
    folder = Path(out or base / "_site")
    if do_build:
        build(root=base, out=folder)
    if not (folder / "index.html").is_file():
        fail(f"{folder}: no built site here; run shlepa build first or drop --no-build")
    try:
        site_url = load_settings(base).site.url
        server = make_server(folder, port, site_url=site_url)
    except OSError as exc:
        fail(f"127.0.0.1:{port}: cannot listen: {exc.strerror or exc}")
    under = base_path(site_url)
    also = f" (and under {under})" if under != "/" else ""
    console.print(
        f"serving {escape(str(folder))} on http://127.0.0.1:{server.server_address[1]}/{escape(also)} (Ctrl-C stops)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
