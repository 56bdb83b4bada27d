"""Site scale benchmark: `shlepa build` at 1k/10k/20k models and the 10k leaderboard in Chromium.

Goals (issue 6): build 10,000 models in <= 15 s on 2 cores with output <= 150 MB;
20,000 in <= 2.2x the 10,000 time; the 10,000-row leaderboard interactive within
1.5 s in headless Chromium; each sort, search and filter within 100 ms. Also
compares Tabulator with a plain full-DOM table on the same 10,000 rows.

    PYTHONPATH=src python benchmarks/bench_site.py [--sizes 1000 10000 20000] [--work /tmp/shlepa-bench]

Generated repositories are kept in --work and reused (generation is not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from shlepa.website.build import build_site  # noqa: E402
from shlepa.website.fake_data import make_repo  # noqa: E402
from shlepa.website.serve import serve_in_thread  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

PLAIN_TABLE = """<!doctype html><meta charset=utf-8><body><table id=t><thead><tr></tr></thead><tbody></tbody></table>
<script>
window.build = function (rows) {
  var t0 = performance.now(), tb = document.querySelector('#t tbody'), f = document.createDocumentFragment();
  rows.forEach(function (r) { var tr = document.createElement('tr');
    [r.rank, r.model, r.average, r.scores.arc, r.scores.hellaswag, r.scores.mmlu, r.scores.truthfulqa,
     r.scores.winogrande, r.scores.gsm8k, r.precision, r.params, r.license].forEach(function (v) {
      var td = document.createElement('td'); td.textContent = v === null ? '' : v; tr.appendChild(td); });
    tr._r = r; f.appendChild(tr); });
  tb.appendChild(f); document.body.offsetHeight; return performance.now() - t0; };
window.sortBy = function (k) { var t0 = performance.now(), tb = document.querySelector('#t tbody');
  var trs = Array.prototype.slice.call(tb.children);
  trs.sort(function (a, b) { return (a._r.scores[k] || 0) - (b._r.scores[k] || 0); });
  var f = document.createDocumentFragment(); trs.forEach(function (tr) { f.appendChild(tr); });
  tb.appendChild(f); document.body.offsetHeight; return performance.now() - t0; };
window.filter = function (q) { var t0 = performance.now();
  Array.prototype.forEach.call(document.querySelector('#t tbody').children, function (tr) {
    tr.style.display = tr._r.model.toLowerCase().indexOf(q) >= 0 ? '' : 'none'; });
  document.body.offsetHeight; return performance.now() - t0; };
</script>"""

MEASURE = """async ([kind, arg]) => {
  const lb = window.__lb, frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const t0 = performance.now();
  if (kind === 'sort') lb.table.setSort(arg, 'asc');
  if (kind === 'search') { const el = document.getElementById('lb-search'); el.value = arg;
    lb.state.q = arg; el.dispatchEvent(new Event('input')); await new Promise(r => setTimeout(r, 130));
    return performance.now() - t0 - 120; }
  if (kind === 'filter') { const cb = document.querySelector('input[name="type"][value="' + arg + '"]');
    cb.checked = !cb.checked; cb.dispatchEvent(new Event('change')); }
  await frame();
  return performance.now() - t0;
}"""


def build_once(root: Path, out: Path) -> tuple[float, int, dict]:
    if out.exists():
        shutil.rmtree(out)
    report = build_site(root, out)
    return report.seconds, report.bytes, report.timings


def browser_figures(site: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    server, url = serve_in_thread(site)
    figures: dict[str, float] = {}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = b.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.wait_for_selector("#lb-app[data-ready]", timeout=60000)
        figures["interactive_s"] = page.evaluate("window.__lb.readyAt") / 1000
        for kind, arg in [("sort", "b_arc"), ("sort", "model"), ("sort", "avg"), ("search", "llama"),
                          ("search", "mistral; qwen; license: mit"), ("search", ""), ("filter", "chat"),
                          ("filter", "chat")]:
            figures[f"{kind}:{arg or '(clear)'}_ms"] = page.evaluate(MEASURE, [kind, arg])
        rows = json.loads((site / "data" / "leaderboard.json").read_text())["rows"]
        plain = b.new_page(viewport={"width": 1400, "height": 900})
        plain.set_content(PLAIN_TABLE)
        figures["plain_table_load_ms"] = plain.evaluate("rows => window.build(rows)", rows)
        figures["plain_table_sort_ms"] = plain.evaluate("() => window.sortBy('arc')")
        figures["plain_table_filter_ms"] = plain.evaluate("() => window.filter('llama')")
        b.close()
    server.shutdown()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 20000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/shlepa-bench"))
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    print(f"cores available: {len(os.sched_getaffinity(0))}; load average: {os.getloadavg()[0]:.1f}")
    times: dict[int, float] = {}
    for n in args.sizes:
        root = args.work / f"r{n}"
        if not (root / "results").is_dir():
            t = time.perf_counter()
            make_repo(root, n, details_every=100)
            print(f"generated {n} models in {time.perf_counter() - t:.0f} s (not part of the build time)")
        seconds, size, timings = build_once(root, root / "_site")
        times[n] = seconds
        parts = ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        print(f"build {n:>6} models: {seconds:6.1f} s  output {size / 1e6:7.1f} MB  ({parts})")
    if 10000 in times and 20000 in times:
        print(f"ratio 20k/10k build time: {times[20000] / times[10000]:.2f} (goal <= 2.2)")
    if not args.no_browser:
        n = 10000 if 10000 in times else max(times)
        for key, value in browser_figures(args.work / f"r{n}" / "_site").items():
            unit = "s" if key.endswith("_s") else "ms"
            print(f"browser {n} rows  {key:<40} {value:8.2f} {unit}" if unit == "ms" else
                  f"browser {n} rows  {key:<40} {value:8.2f} s")


if __name__ == "__main__":
    main()
