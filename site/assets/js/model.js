/* Model page: the long sections drawn from the page's #model-data JSON (MMLU subjects,
 * request history, lm-eval commands, settings), the per-sample details browser (pages of
 * JSON loaded on demand) and BibTeX.
 * Everything from the data is shown with textContent, never as HTML. */
import {formatValue as fmt, isHttpUrl} from "./lib/format.js";

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

var dataEl = document.getElementById("model-data");
if (dataEl) {
  var md = JSON.parse(dataEl.textContent), box;
  if (md.subjects && (box = document.getElementById("subjects"))) {
    var subjectsTable = table(["Subject", "Score"], Object.keys(md.subjects).map(function (k) { return [k, fmt(md.subjects[k])]; }));
    subjectsTable.className = "model-subjects";
    box.appendChild(subjectsTable);
  }
  if (md.history && (box = document.getElementById("history"))) {
    box.appendChild(table(["When", "Status", "Reason", "Runner", "Run"], md.history.map(function (h) {
      var run = "–";
      if (isHttpUrl(h.run_url)) { run = el("a", "run"); run.href = h.run_url; run.rel = "nofollow noopener"; }
      return [h.at, h.status, h.reason || "", h.runner || "–", run];
    })));
  }
  if (md.lm_eval && md.lm_eval.length && (box = document.getElementById("reproduce"))) {
    box.appendChild(el("p", "or with lm-eval directly, one command per benchmark:"));
    var pre = el("pre"); pre.appendChild(el("code", md.lm_eval.join("\n"))); box.appendChild(pre);
  }
  if (md.settings && (box = document.getElementById("settings-list"))) {
    var spre = el("pre");
    spre.appendChild(el("code", Object.keys(md.settings).sort().map(function (k) { return k + ": " + JSON.stringify(md.settings[k]); }).join("\n")));
    box.appendChild(spre);
  }
}

var idx = document.getElementById("details-index");
if (idx) {
  var index = JSON.parse(idx.textContent), sel = document.getElementById("details-bench");
  var rowsBox = document.getElementById("details-rows"), label = document.getElementById("details-page");
  var pageUrl = document.getElementById("details-browser").getAttribute("data-page-url");
  var bench = null, page = 0;
  Object.keys(index).forEach(function (k) {
    var o = el("option", k + " (" + index[k].rows + ")"); o.value = k; sel.appendChild(o);
  });
  var show = function () {
    bench = sel.value;
    var pages = index[bench].pages;
    label.textContent = "page " + (page + 1) + " of " + pages;
    rowsBox.textContent = "loading…";
    fetch(pageUrl.replace("{bench}", encodeURIComponent(bench)).replace("{page}", String(page))).then(function (r) { return r.json(); }).then(function (items) {
      rowsBox.textContent = "";
      items.forEach(function (it) {
        var row = el("div", null, "details-row");
        var score = it.metrics ? Object.keys(it.metrics).map(function (m) { return m + " = " + it.metrics[m]; }).join(", ") : "";
        row.appendChild(el("div", "#" + it.doc_id + " · " + (it.task || "") + " · " + score, "details-meta"));
        row.appendChild(el("pre", it.prompt || "", "details-prompt"));
        if (it.choices && it.choices.length) {
          var ol = el("ol", null, "details-choices"); ol.start = 0;
          it.choices.forEach(function (c) { ol.appendChild(el("li", c)); });
          row.appendChild(ol);
        }
        if (it.response !== null && it.response !== undefined) row.appendChild(el("div", "response: " + JSON.stringify(it.response), "details-response"));
        row.appendChild(el("div", "target: " + (typeof it.target === "string" ? it.target : JSON.stringify(it.target)), "details-target"));
        rowsBox.appendChild(row);
      });
    }).catch(function () { rowsBox.textContent = "could not load this page of details"; });
  };
  sel.addEventListener("change", function () { page = 0; show(); });
  document.getElementById("details-prev").addEventListener("click", function () { if (page > 0) { page--; show(); } });
  document.getElementById("details-next").addEventListener("click", function () { if (page < index[bench].pages - 1) { page++; show(); } });
  show();
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
