/* The queue page's ages, counted in the browser from the ISO times in each <time datetime>
 * (the text the build wrote is the no-JavaScript fallback, frozen at build time), and
 * counted again every 30 seconds while the page is open. */
import {formatAge} from "./lib/format.js";

function render() {
  const now = Date.now();
  document.querySelectorAll("time.queue-age[datetime]").forEach((el) => {
    const t = Date.parse(el.getAttribute("datetime"));
    if (Number.isNaN(t)) return;
    el.textContent = formatAge(now - t) + (el.getAttribute("data-suffix") || "");
    el.title = new Date(t).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  });
  document.documentElement.setAttribute("data-queue-ages", String(now));
}

render();
setInterval(render, 30000);
