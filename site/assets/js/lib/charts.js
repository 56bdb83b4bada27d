/* Data shaping for the Vega-Lite charts and training curves (pure: node imports it). */

export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
export const EMBED_OPTIONS = {actions: {export: true, source: false, compiled: false, editor: false}};

/** The Pareto front of points {params, average}: walking up in size, each point that
 * beats every smaller one. */
export function paretoFront(points) {
  const sorted = points.slice().sort((a, b) => a.params - b.params || b.average - a.average);
  const front = [];
  let best = -Infinity;
  sorted.forEach((p) => { if (p.average > best) { best = p.average; front.push(p); } });
  return front;
}

/** The chart metrics of a suite: the average first, then its benchmarks. */
export function metrics(suite) {
  return [{key: "average", title: "Average", unit: "%", higher_is_better: true}].concat(suite.benchmarks);
}

/** A metric's facet title: "Title (unit)". */
export function metricTitle(b) {
  return b.title + (b.unit ? " (" + b.unit + ")" : "");
}

/** One series as long rows {kind, metric, step, value, label, sha, url}, missing values left out. */
export function seriesRows(series, suite, label) {
  const rows = [];
  series.points.forEach((p) => {
    metrics(suite).forEach((b) => {
      const v = p.scores[b.key];
      if (v !== null && v !== undefined) rows.push({kind: "series", metric: metricTitle(b),
        step: p.step, value: v, label: label, sha: p.sha.slice(0, 12), url: p.page});
    });
  });
  return rows;
}

/** A finished model as long rows {kind: "model", metric, value, label} (drawn as lines). */
export function modelRows(model, suite) {
  const rows = [];
  metrics(suite).forEach((b) => {
    const v = model.scores[b.key];
    if (v !== null && v !== undefined) rows.push({kind: "model", metric: metricTitle(b),
      value: v, label: model.model + " (" + model.sha.slice(0, 12) + ")"});
  });
  return rows;
}
