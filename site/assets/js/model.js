/* Model page: the long sections drawn from the page's #model-data JSON (MMLU subjects,
 * request history, settings), the per-sample details viewer and BibTeX. The viewer reads
 * either pages of JSON beside the page (loaded on demand, filtered with details/index.json)
 * or one details file from the configured details store (branch: copied into the site; hf,
 * s3: fetched from there), paged in the browser; a file that cannot be read shows
 * "details unavailable".
 * Everything from the data is shown with textContent, never as HTML. */
import {formatValue as fmt, isHttpUrl} from "./lib/format.js";
import {formatMetric, formatPercent, indexRows, joinRow, pageText, readDetailsFile, readRow, selectRows, sharedRef,
  splitHeader} from "./lib/details.js";

function el(tag, text, cls) {
  var e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = typeof text === "string" ? text : JSON.stringify(text);
  if (cls) e.className = cls;
  return e;
}

function table(head, rows) {
  var t = el("table"), thead = el("thead"), tr = el("tr"), tb = el("tbody");
  head.forEach(function (h) { tr.appendChild(el("th", h)); });
  thead.appendChild(tr); t.appendChild(thead);
  rows.forEach(function (cells) {
    var row = el("tr");
    cells.forEach(function (c) { var td = el("td"); if (c instanceof Node) td.appendChild(c); else td.textContent = c; row.appendChild(td); });
    tb.appendChild(row);
  });
  t.appendChild(tb);
  return t;
}

function sortable(t, numeric) {
  // Click a header to sort by it (again to reverse); numeric[i]: column i holds numbers.
  var heads = t.querySelectorAll("thead th"), body = t.tBodies[0], state = {col: -1, dir: 1};
  Array.prototype.forEach.call(heads, function (th, col) {
    th.tabIndex = 0; th.className = "sortable"; th.setAttribute("aria-sort", "none");
    var go = function () {
      state.dir = state.col === col ? -state.dir : (numeric[col] ? -1 : 1); state.col = col;
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v") || a.cells[col].textContent;
        var y = b.cells[col].getAttribute("data-v") || b.cells[col].textContent;
        return (numeric[col] ? Number(x) - Number(y) : x.localeCompare(y)) * state.dir;
      });
      rows.forEach(function (r) { body.appendChild(r); });
      Array.prototype.forEach.call(heads, function (h, i) {
        h.setAttribute("aria-sort", i === col ? (state.dir > 0 ? "ascending" : "descending") : "none");
      });
    };
    th.addEventListener("click", go);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
  });
}

var dataEl = document.getElementById("model-data");
if (dataEl) {
  var md = JSON.parse(dataEl.textContent), box;
  if (md.subjects && (box = document.getElementById("subjects-table"))) {
    var names = Object.keys(md.subjects);
    var subjectsTable = table(["Subject", "Score (%)"], names.map(function (k) { return [k, fmt(md.subjects[k])]; }));
    Array.prototype.forEach.call(subjectsTable.tBodies[0].rows, function (r, i) {
      var v = md.subjects[names[i]];
      r.cells[1].setAttribute("data-v", v === null || v === undefined ? "-1" : String(v));
    });
    sortable(subjectsTable, [false, true]);
    box.appendChild(subjectsTable);
  }
  if (md.history && (box = document.getElementById("history-table"))) {
    box.appendChild(table(["When", "Status", "Reason", "Runner", "Run"], md.history.map(function (h) {
      var run = "–";
      if (isHttpUrl(h.run_url)) { run = el("a", "run"); run.href = h.run_url; run.rel = "nofollow noopener"; }
      return [h.at, h.status, h.reason || "", h.runner || "–", run];
    })));
  }
  if (md.settings && (box = document.getElementById("settings-list"))) {
    var spre = el("pre");
    spre.appendChild(el("code", Object.keys(md.settings).sort().map(function (k) { return k + ": " + JSON.stringify(md.settings[k]); }).join("\n")));
    box.appendChild(spre);
  }
}

function badge(text, cls) { return el("span", text, "details-badge " + cls); }

function drawRow(it, info) {
  var row = el("article", null, "details-row" + (it.right === true ? " details-right" : (it.right === false ? " details-wrong" : "")));
  var meta = el("div", null, "details-meta");
  meta.appendChild(el("span", "#" + it.doc_id, "details-doc"));
  if (it.task) meta.appendChild(el("span", it.taskTitle || it.task, "details-task"));
  Object.keys(it.metrics).forEach(function (m) {
    var mt = el("span", null, "details-metric");
    mt.appendChild(el("span", ((info.metric_titles || {})[m] || m) + " ", "details-metric-name"));
    mt.appendChild(el("strong", formatMetric(it.metrics[m], (info.binary_metrics || []).indexOf(m) >= 0, m)));
    meta.appendChild(mt);
  });
  row.appendChild(meta);
  if (it.kind === "loglikelihood") {
    row.appendChild(el("div", "Log-likelihood of this text: " + formatMetric(it.loglikelihood), "details-label"));
    row.appendChild(el("pre", it.text, "details-text details-question"));
    return row;
  }
  if (it.preamble) {
    var fold = el("details", null, "details-preamble"), sum = el("summary");
    var what = "few-shot examples and instructions (" + it.preamble.length.toLocaleString("en-US") + " characters)";
    sum.textContent = "▸ Show the " + what;
    fold.appendChild(sum);
    fold.addEventListener("toggle", function () {  // drawn when opened: a 25-shot prompt is long
      sum.textContent = (fold.open ? "▾ Hide the " : "▸ Show the ") + what;
      if (fold.open && fold.childNodes.length === 1) fold.appendChild(el("pre", it.preamble, "details-text"));
    });
    row.appendChild(fold);
  }
  row.appendChild(el("pre", it.question, "details-text details-question"));
  if (it.kind === "choice") {
    // Numbered from 1, as a reader counts (lm-eval's gold index is 0-based: the badges say which is gold);
    // choices that are labels themselves (MMLU's " A" to " D") need no number in front.
    var labels = it.choices.every(function (c) { return c.text.trim().length === 1; });
    var ol = el("ol", null, "details-choices" + (labels ? " details-choices-labels" : ""));
    it.choices.forEach(function (c) {
      var li = el("li", null, (c.pick ? "pick " : "") + (c.gold ? "gold" : ""));
      li.appendChild(el("span", c.text, "details-choice"));
      var nums = el("span", null, "details-ll");
      if (c.ll !== null) nums.textContent = "log-likelihood " + c.ll.toFixed(2) + " · probability " + formatPercent(c.prob);
      li.appendChild(nums);
      if (c.pick) li.appendChild(badge("model's pick", "details-pick"));
      if (c.gold) li.appendChild(badge("gold", "details-gold"));
      ol.appendChild(li);
    });
    row.appendChild(ol);
    if (it.sameText) row.appendChild(el("div", "The options differ in the sentence before this ending (the prompt above is the first option's); the row does not record the others.", "details-note"));
  } else {
    var gen = el("div", null, "details-gen");
    var left = el("div", null, "details-gen-col");
    left.appendChild(el("div", "Model" + (it.filter && it.filter !== "none" ? " (answer extracted: " + it.filter + ")" : ""), "details-label"));
    if (it.generation !== null) left.appendChild(el("pre", it.generation, "details-text"));
    left.appendChild(el("pre", it.answer || "(empty)", "details-text details-answer"));
    var right = el("div", null, "details-gen-col");
    right.appendChild(el("div", "Target", "details-label"));
    right.appendChild(el("pre", it.target, "details-text"));
    gen.appendChild(left); gen.appendChild(right);
    row.appendChild(gen);
    if (it.matched !== null) row.appendChild(badge(it.matched ? "✓ matched the target" : "✗ did not match", it.matched ? "details-gold" : "details-miss"));
  }
  return row;
}

function detailsViewer(root, source) {
  var index = source.index;
  var sel = document.getElementById("details-bench"), taskSel = document.getElementById("details-task");
  var wrong = document.getElementById("details-wrong");
  var rowsBox = document.getElementById("details-rows"), label = document.getElementById("details-page");
  var prev = document.getElementById("details-prev"), next = document.getElementById("details-next");
  var pages = new Map(), rowsIndex = null, start = 0, shown = 0;
  var sharedUrl = root.getAttribute("data-shared-url"), sharedRows = Number(root.getAttribute("data-shared-rows")) || 20;
  Object.keys(index).forEach(function (k) {
    var o = el("option", (index[k].title || k) + " (" + index[k].rows.toLocaleString("en-US") + ")"); o.value = k; sel.appendChild(o);
  });
  var all = function (n) { var a = []; for (var i = 0; i < n; i++) a.push(i); return a; };
  var chosen = function () {
    var b = sel.value, ri = rowsIndex && rowsIndex[b];
    return ri ? selectRows(ri, taskSel.value, wrong.checked) : all(index[b].rows);
  };
  var getJson = function (key, url) {
    if (!pages.has(key)) pages.set(key, fetch(url).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); }));
    return pages.get(key);
  };
  var load = function (b, n) {  // a page of compact rows, joined with the shared text pages it names
    var key = b + "/" + n;
    if (!pages.has(key)) pages.set(key, source.page(b, n));
    return pages.get(key).then(function (page) {
      if (Array.isArray(page)) return page;  // a format-1 page: full rows
      var refs = page.rows.map(function (row) { return sharedRef(row, page.shared, sharedRows); });
      return Promise.all(refs.map(function (ref) {
        return ref ? getJson("shared:" + ref.task + "/" + ref.version + "/" + ref.page, sharedUrl.replace("{task}", encodeURIComponent(ref.task))
          .replace("{version}", encodeURIComponent(ref.version)).replace("{page}", String(ref.page)))
          .catch(function () { return null; }) : null;  // a missing text page: the row shows without its text
      })).then(function (texts) { return page.rows.map(function (row, i) { return joinRow(row, texts[i], sharedRows); }); });
    });
  };
  var fillTasks = function () {
    var ri = rowsIndex && rowsIndex[sel.value];
    taskSel.textContent = "";
    taskSel.appendChild(el("option", "all")).value = "";
    if (ri) ri.tasks.forEach(function (t) { var o = el("option", t[1]); o.value = t[0]; taskSel.appendChild(o); });
    document.getElementById("details-task-label").hidden = !ri || ri.tasks.length < 2;
    var scored = !!ri && /[01]/.test(ri.right);
    wrong.disabled = !scored; if (!scored) wrong.checked = false;
  };
  var show = function () {
    var b = sel.value, info = index[b], per = info.page_rows || 20, picked = chosen();
    if (start >= picked.length) start = Math.max(0, picked.length - per);
    var part = picked.slice(start, start + per), serial = ++shown;
    var pager = function () {  // with the rows it describes, never ahead of them
      label.textContent = pageText(start, part.length, picked.length);
      prev.disabled = start === 0;
      next.disabled = start + per >= picked.length;
    };
    if (!part.length) { pager(); rowsBox.textContent = ""; rowsBox.appendChild(el("p", "No sample matches these filters.", "details-none")); return; }
    rowsBox.setAttribute("aria-busy", "true");
    var need = Array.from(new Set(part.map(function (i) { return Math.floor(i / per); })));
    var titles = {};
    if (rowsIndex && rowsIndex[b]) rowsIndex[b].tasks.forEach(function (t) { titles[t[0]] = t[1]; });
    Promise.all(need.map(function (n) { return load(b, n); })).then(function (chunks) {
      if (serial !== shown) return;  // a later click won
      var byPage = {};
      need.forEach(function (n, i) { byPage[n] = chunks[i]; });
      rowsBox.textContent = "";
      var perByte = false;
      part.forEach(function (i) {
        var it = readRow(byPage[Math.floor(i / per)][i % per], info.metric);
        it.taskTitle = titles[it.task];
        perByte = perByte || !!it.perByte;
        rowsBox.appendChild(drawRow(it, info));
      });
      if (perByte) {
        rowsBox.insertBefore(el("p", "The model's pick is the choice with the highest log-likelihood per byte " +
          "(length-normalized accuracy); the probabilities come from the raw log-likelihoods.", "details-note"), rowsBox.firstChild);
      }
      pager();
      rowsBox.removeAttribute("aria-busy");
      root.setAttribute("data-ready", "1");
    }).catch(function () { rowsBox.textContent = "could not load this page of details"; });
  };
  sel.addEventListener("change", function () { start = 0; fillTasks(); show(); });
  taskSel.addEventListener("change", function () { start = 0; show(); });
  wrong.addEventListener("change", function () { start = 0; show(); });
  prev.addEventListener("click", function () { start = Math.max(0, start - (index[sel.value].page_rows || 20)); show(); });
  next.addEventListener("click", function () { start += index[sel.value].page_rows || 20; show(); });
  fillTasks();
  show();
  source.rowsIndex.then(function (ri) {
    if (!ri) return;
    rowsIndex = ri; fillTasks(); show();  // again, with the tasks' names
    root.setAttribute("data-filters", "1");
  }).catch(function () { /* filters stay off; paging still works */ });
}

function pagesBeside(root) {
  // Details split into pages by the build, beside the page (details kept on main).
  var pageUrl = root.getAttribute("data-page-url");
  return {
    index: JSON.parse(document.getElementById("details-index").textContent),
    page: function (b, n) {
      return fetch(pageUrl.replace("{bench}", encodeURIComponent(b)).replace("{page}", String(n)))
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
    },
    rowsIndex: fetch(root.getAttribute("data-index-url")).then(function (r) { return r.ok ? r.json() : null; }),
  };
}

function unavailable(root, why) {
  root.textContent = "";
  root.appendChild(el("p", "Per-sample details unavailable: " + why, "details-unavailable"));
  root.setAttribute("data-ready", "unavailable");
}

function fromStore(root) {
  // One details file in the details store: fetched once, split into pages here.
  var benches = JSON.parse(document.getElementById("details-benchmarks").textContent);
  var meta = fetch(root.getAttribute("data-meta-url")).then(function (r) { return r.ok ? r.json() : {}; }).catch(function () { return {}; });
  return fetch(root.getAttribute("data-details-url")).then(function (r) {
    if (!r.ok) throw new Error(r.status === 404 ? "the details file is not in the store" : "the store answered " + r.status);
    return r.arrayBuffer();
  }).then(readDetailsFile).then(function (lines) {
    var file = splitHeader(lines);  // format 2: compact rows, joined with the site's shared text pages
    return meta.then(function (titles) {
      var built = indexRows(file.rows, benches, titles);
      if (!Object.keys(built.index).length) throw new Error("the details file holds no samples");
      return {
        index: built.index,
        page: function (b, n) {
          var rows = built.pages[b][n];
          return Promise.resolve(file.shared ? {shared: file.shared, rows: rows} : rows);
        },
        rowsIndex: Promise.resolve(built.rowsIndex),
      };
    });
  });
}

var browserEl = document.getElementById("details-browser");
if (browserEl && browserEl.hasAttribute("data-details-url")) {
  browserEl.setAttribute("aria-busy", "true");
  fromStore(browserEl).then(function (source) {
    browserEl.removeAttribute("aria-busy");
    detailsViewer(browserEl, source);
  }).catch(function (err) {
    browserEl.removeAttribute("aria-busy");
    unavailable(browserEl, err && err.message ? err.message : "it could not be read");
  });
} else if (browserEl) {
  detailsViewer(browserEl, pagesBeside(browserEl));
}

var cite = document.getElementById("citations");
if (cite) {
  document.getElementById("citations-show").addEventListener("click", function () {
    fetch(cite.getAttribute("data-src")).then(function (r) { return r.text(); }).then(function (t) {
      cite.textContent = "";
      var pre = el("pre"); pre.appendChild(el("code", t)); cite.appendChild(pre);
    });
  });
}
