/* Model page: the per-sample details browser (pages of JSON loaded on demand) and BibTeX.
 * Everything from the data is shown with textContent, never as HTML. */
(function () {
  "use strict";
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = typeof text === "string" ? text : JSON.stringify(text);
    if (cls) e.className = cls;
    return e;
  }

  var idx = document.getElementById("details-index");
  if (idx) {
    var index = JSON.parse(idx.textContent), sel = document.getElementById("details-bench");
    var box = document.getElementById("details-rows"), label = document.getElementById("details-page");
    var bench = null, page = 0;
    Object.keys(index).forEach(function (k) {
      var o = el("option", k + " (" + index[k].rows + ")"); o.value = k; sel.appendChild(o);
    });
    function show() {
      bench = sel.value;
      var pages = index[bench].pages;
      label.textContent = "page " + (page + 1) + " of " + pages;
      box.textContent = "loading…";
      fetch("details/" + encodeURIComponent(bench) + "-" + page + ".json").then(function (r) { return r.json(); }).then(function (items) {
        box.textContent = "";
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
          box.appendChild(row);
        });
      }).catch(function () { box.textContent = "could not load this page of details"; });
    }
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
})();
