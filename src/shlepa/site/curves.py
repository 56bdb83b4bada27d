"""Site pieces for training trajectories: data files, the compare page, model-page curves.

Kept apart from build.py/render.py: the build calls :func:`write_curves` once and the
model page template includes ``curves.html.j2`` with :func:`curves_context`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shlepa.site.board import Board
from shlepa.site.meta import VEGA_JS
from shlepa.site.trajectory import series_of_page, trajectories

# Vega's classic scripts, then the page's own ES module.
VEGA_SCRIPTS = VEGA_JS
CURVES_MODULES = ("assets/js/curves.js",)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def board_trajectories(board: Board) -> dict[str, Any]:
    return trajectories(board.rows, board.suites)


def write_curves(docs: Path, data: dict[str, Any], renderer: Any) -> dict[str, Any]:
    """data/trajectories.json (everything), data/series/<id>.json (one per series) and compare.md.

    ``data``: :func:`board_trajectories` of the board being built.
    """
    folder = docs / "data" / "series"
    folder.mkdir(parents=True, exist_ok=True)
    (docs / "data" / "trajectories.json").write_text(_dump(data), encoding="utf-8")
    for s in data["series"]:
        (folder / f"{s['id']}.json").write_text(
            _dump({"schema": data["schema"], **s, "meta": data["suites"][s["suite"]]}), encoding="utf-8"
        )
    text = renderer.env.get_template("compare.md.j2").render(data=data, scripts=VEGA_SCRIPTS, modules=CURVES_MODULES)
    (docs / "compare.md").write_text(text, encoding="utf-8")
    return data


class CurvesIndex:
    """Which model pages belong to a series (built once per site build)."""

    def __init__(self, data: dict[str, Any]):
        self.by_page = series_of_page(data)

    def context(self, row: dict[str, Any]) -> dict[str, Any] | None:
        s = self.by_page.get(row["page"])
        if s is None:
            return None
        step = next((p["step"] for p in s["points"] if p["page"] == row["page"]), None)
        return {
            "id": s["id"],
            "series": s["series"],
            "step": step,
            "n": len(s["points"]),
            "scripts": VEGA_SCRIPTS,
            "modules": CURVES_MODULES,
        }
