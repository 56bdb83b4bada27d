"""The leaderboard table as a visitor reads it: the rendered rows and cells, through the DOM."""

from __future__ import annotations

from shlepa.records.request import MODEL_TYPE_SYMBOLS


def open_board(page, url: str, query: str = "") -> None:
    page.goto(url + query)
    page.wait_for_selector("#lb-app[data-ready]")


# The rows a visitor can scroll through, read from the table's DOM: Tabulator renders only
# the rows in view (virtual DOM), so the reader scrolls the table from top to bottom and
# collects each row once (by its model page link), in display order, with the text of
# every cell that is shown (hidden columns' cells are display: none).
READ_ROWS = """async () => {
  const holder = document.querySelector('#lb-table .tabulator-tableholder');
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const seen = new Map(), start = holder.scrollTop;
  holder.scrollTop = 0;
  await frames();
  for (;;) {
    for (const row of holder.querySelectorAll('.tabulator-row')) {
      const link = row.querySelector('a.lb-model');
      if (!link || seen.has(link.getAttribute('href'))) continue;
      const cells = {};
      for (const cell of row.querySelectorAll('.tabulator-cell[tabulator-field]')) {
        if (getComputedStyle(cell).display !== 'none') cells[cell.getAttribute('tabulator-field')] = cell.textContent;
      }
      seen.set(link.getAttribute('href'), {cells, model: link.textContent, page: link.getAttribute('href'),
                                           flag: !!row.querySelector('.lb-flag')});
    }
    if (holder.scrollTop + holder.clientHeight >= holder.scrollHeight - 1) break;
    holder.scrollTop += Math.max(1, holder.clientHeight - 60);
    await frames();
  }
  holder.scrollTop = start;
  await frames();
  return [...seen.values()];
}"""
TYPE_OF_SYMBOL = {symbol: kind for kind, symbol in MODEL_TYPE_SYMBOLS.items()}


def _score(text: str) -> float | None:
    text = text.rstrip("*")  # a partial average
    return None if text == "–" else float(text)


def visible(page) -> list[dict]:
    """The shown rows as {model, flag, rank, avg, type, b_<key>, precision, params, ...}: one key per shown column."""
    rows = []
    for r in page.evaluate(READ_ROWS):
        row = {"model": r["model"], "page": r["page"], "flag": r["flag"]}
        for field, text in r["cells"].items():
            if field == "rank":
                row["rank"] = int(text)
            elif field == "symbol":
                row["type"] = TYPE_OF_SYMBOL[text]
            elif field == "avg" or field.startswith("b_"):
                row[field] = _score(text)
            elif field == "params":
                row["params"] = float(text) if text else None
            elif field != "model":
                row[field] = text or None
        rows.append(row)
    return rows


def search(page, text: str) -> list[dict]:
    page.fill("#lb-search", text)
    page.wait_for_function("q => (new URLSearchParams(location.search).get('search') || '') === q", arg=text)
    return visible(page)
