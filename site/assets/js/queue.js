/* The queue page.
 * Ages: counted in the browser from the ISO times in each <time datetime> (the text the
 * build wrote is the no-JavaScript fallback, frozen at build time), again every 30 s.
 * "My submissions": filters every table's rows by submitter (state in ?submitter=), and a
 * link to a request's anchor (queue/#req-...) scrolls to its row and marks it, even when
 * the filter would hide it. */
import {formatAge} from "./lib/format.js";
import {readSubmitter, submitterMatches, writeSubmitter} from "./lib/queue.js";

function renderAges() {
  const now = Date.now();
  document.querySelectorAll("time.queue-age[datetime]").forEach((el) => {
    const t = Date.parse(el.getAttribute("datetime"));
    if (Number.isNaN(t)) return;
    el.textContent = formatAge(now - t) + (el.getAttribute("data-suffix") || "");
    el.title = new Date(t).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  });
  document.documentElement.setAttribute("data-queue-ages", String(now));
}

renderAges();
setInterval(renderAges, 30000);

const box = document.getElementById("queue-submitter");
const count = document.getElementById("queue-count");

function applyFilter() {
  const q = box.value, rows = document.querySelectorAll(".queue-table tr[data-submitter]");
  const target = decodeURIComponent(location.hash.slice(1));
  let shown = 0;
  rows.forEach((tr) => {
    const on = submitterMatches(tr.getAttribute("data-submitter"), q) || tr.id === target;
    tr.hidden = !on;
    shown += on ? 1 : 0;
  });
  count.textContent = q.trim() ? shown + " of " + rows.length + " requests" : "";
}

if (box) {
  box.value = readSubmitter(location.search);
  box.addEventListener("input", () => {
    applyFilter();
    history.replaceState(null, "", location.pathname + writeSubmitter(location.search, box.value) + location.hash);
  });
  window.addEventListener("hashchange", applyFilter);
  applyFilter();
  const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (target) target.scrollIntoView({block: "center"});
  document.body.setAttribute("data-queue-ready", "");
}
