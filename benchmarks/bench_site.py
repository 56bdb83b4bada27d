"""Site scale benchmark: `shlepa build` at 1k/10k/20k models and the 10k leaderboard in Chromium.

Goals (issue 6): build 10,000 models in <= 15 s on 2 cores with output <= 150 MB;
20,000 in <= 2.2x the 10,000 time; the 10,000-row leaderboard interactive within
1.5 s in headless Chromium; each sort, search and filter within 100 ms. Also
compares Tabulator with a plain full-DOM table on the same 10,000 rows.

    PYTHONPATH=src python benchmarks/bench_site.py [--sizes 1000 10000 20000] [--work /tmp/shlepa-bench]

Generated repositories are kept in --work and reused; generating one is timed
separately and is not part of the build time. Each build starts with no previous
output (deleting an old site is not the build's work). The machine may be shared,
so the load average is printed next to each figure and CPU seconds (this process
and its forked workers) are printed beside wall seconds.

Browser timings are from the user action to the table updated and laid out: the
call (Tabulator ``setSort``, the search box's handler after its typing debounce, a
filter checkbox's change event) until Tabulator's ``renderComplete`` event, then a
forced layout. No animation frame or timeout is added.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
  const lb = window.__lb, table = lb.table;
  const done = new Promise(resolve => table.on('renderComplete', function once() {
    table.off('renderComplete', once); resolve(); }));
  const t0 = performance.now();
  if (kind === 'sort') table.setSort(arg, 'asc');
  if (kind === 'search') { document.getElementById('lb-search').value = arg; lb.search(arg); }
  if (kind === 'filter') { const cb = document.querySelector('input[name="type"][value="' + arg + '"]');
    cb.checked = !cb.checked; cb.dispatchEvent(new Event('change')); }
  await done;
  document.body.offsetHeight;  // layout of the updated rows
  return performance.now() - t0;
}"""


CALIBRATE = """() => { const a = []; for (let i = 0; i < 100000; i++) a.push(Math.random());
  const t0 = performance.now(); a.sort((x, y) => x - y); return performance.now() - t0; }"""


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def load() -> str:
    return f"load avg {os.getloadavg()[0]:.1f}"


def build_once(root: Path, out: Path) -> tuple[float, float, int, dict]:
    if out.exists():
        shutil.rmtree(out)
    cpu = cpu_seconds()
    report = build_site(root, out)
    return report.seconds, cpu_seconds() - cpu, report.bytes, report.timings


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
        figures["rows_in_table"] = page.evaluate("window.__lb.table.getDataCount()")
        # How fast this Chromium is right now (a desktop does this in ~15 ms): scale the rest by it.
        figures["calibration_sort_100k_numbers_ms"] = page.evaluate(CALIBRATE)
        for kind, arg, label in [
            ("sort", "b_arc", "sort ARC"), ("sort", "model", "sort model name"), ("sort", "avg", "sort average"),
            ("search", "llama", "search 'llama'"), ("search", "mistral; qwen; license: mit", "search 3 terms"),
            ("search", "", "search cleared"), ("filter", "chat", "filter chat off"), ("filter", "chat", "filter chat on"),
            ("filter", "merge", "filter merge off"), ("filter", "merge", "filter merge on"),
        ]:
            figures[f"{label}_ms"] = page.evaluate(MEASURE, [kind, arg])
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
    print(f"cores available: {len(os.sched_getaffinity(0))}; {load()}", flush=True)
    times: dict[int, float] = {}
    for n in args.sizes:
        root = args.work / f"r{n}"
        if not (root / "results").is_dir():
            t, cpu = time.perf_counter(), cpu_seconds()
            make_repo(root, n, details_every=100)
            print(f"generate {n:>6} models: {time.perf_counter() - t:6.1f} s  cpu {cpu_seconds() - cpu:5.1f} s"
                  f"  ({load()}; not part of the build time)", flush=True)
        else:
            print(f"generate {n:>6} models: reused {root}", flush=True)
        seconds, cpu, size, timings = build_once(root, root / "_site")
        times[n] = seconds
        parts = ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        print(f"build    {n:>6} models: {seconds:6.1f} s  cpu {cpu:5.1f} s  output {size / 1e6:6.1f} MB"
              f"  ({parts}; {load()})", flush=True)
    if 10000 in times and 20000 in times:
        print(f"ratio 20k/10k build time: {times[20000] / times[10000]:.2f} (goal <= 2.2)")
    if not args.no_browser:
        n = 10000 if 10000 in times else max(times)
        for key, value in browser_figures(args.work / f"r{n}" / "_site").items():
            unit = "s" if key.endswith("_s") else ("" if key == "rows_in_table" else "ms")
            print(f"browser {n} rows  {key:<40} {value:8.2f} {unit}  ({load()})", flush=True)


if __name__ == "__main__":
    main()
