/* Data shaping for the Vega-Lite charts and training curves (pure: node imports it). */

export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
// No action menu: vega-embed draws it as a <details>, which Material styles as an
// admonition over the legend. SVG: crisp text in the site's font.
export const EMBED_OPTIONS = {actions: false, renderer: "svg"};

/** Material's colors for charts (a readable categorical palette that works on both schemes). */
export const PALETTE = ["#4051b5", "#e8710a", "#1b9e77", "#d81b60", "#7b1fa2", "#00838f", "#827717", "#5d4037",
  "#c62828", "#546e7a"];

/** Vega-Lite config from the page's theme: `css(name)` reads a CSS custom property
 * (Material's --md-* variables), `font` the body's font family. */
export function themeConfig(css, font) {
  const fg = css("--md-default-fg-color") || "rgba(0,0,0,.87)";
  const light = css("--md-default-fg-color--light") || "rgba(0,0,0,.54)";
  const lightest = css("--md-default-fg-color--lightest") || "rgba(0,0,0,.07)";
  const axis = {labelColor: light, titleColor: light, gridColor: lightest, domainColor: light, tickColor: light,
    labelFontSize: 11, titleFontSize: 11, titleFontWeight: 500, labelFont: font, titleFont: font};
  return {
    font: font, background: null, padding: 4,
    axis: axis, legend: {labelColor: fg, titleColor: light, labelFontSize: 11, titleFontSize: 11, labelFont: font,
      titleFont: font, symbolSize: 90, orient: "bottom", direction: "horizontal", columns: 3, labelLimit: 260},
    title: {color: fg, font: font, fontSize: 13, fontWeight: 700, anchor: "start"},
    header: {labelColor: fg, labelFont: font, titleFont: font},
    view: {stroke: lightest},
    range: {category: PALETTE},
    point: {size: 60, filled: true},
    line: {strokeWidth: 2},
    bar: {color: css("--md-primary-fg-color") || PALETTE[0]},
    mark: {color: css("--md-primary-fg-color") || PALETTE[0]},
  };
}

/** d3's tick step for `count` ticks over `span` (1, 2 or 5 times a power of ten). */
export function tickStep(span, count) {
  const step0 = span / count, power = Math.pow(10, Math.floor(Math.log10(step0))), error = step0 / power;
  return power * (error >= Math.sqrt(50) ? 10 : (error >= Math.sqrt(10) ? 5 : (error >= Math.sqrt(2) ? 2 : 1)));
}

/** A d3 number format that suits the values: as many decimals as the ticks (about
 * `count` of them) need, never six; large values in SI units (6M). */
export function axisFormat(values, count = 4) {
  const nums = values.filter((v) => typeof v === "number" && isFinite(v));
  if (!nums.length) return ",.0f";
  const lo = Math.min.apply(null, nums), hi = Math.max.apply(null, nums);
  if (Math.max(Math.abs(lo), Math.abs(hi)) >= 10000) return "~s";  // 6,329,971 -> 6M: short labels
  if (lo === hi) return Number.isInteger(lo) ? ",.0f" : ",.2f";
  const decimals = Math.max(0, -Math.floor(Math.log10(tickStep(hi - lo, count)) + 1e-9));
  return ",." + Math.min(decimals, 4) + "f";
}

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

/** A metric's panel title: "Title (unit)", marked "lower is better" where it is. */
export function metricTitle(b) {
  return b.title + (b.unit ? " (" + b.unit + ")" : "") + (b.higher_is_better === false ? " ↓ lower is better" : "");
}

/** One series as long rows {kind, metric, step, value, label, sha, url}, missing values left out. */
export function seriesRows(series, suite, label) {
  const rows = [];
  series.points.forEach((p) => {
    metrics(suite).forEach((b) => {
      const v = p.scores[b.key];
      if (v !== null && v !== undefined) rows.push({kind: "series", key: b.key, metric: metricTitle(b),
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
    if (v !== null && v !== undefined) rows.push({kind: "model", key: b.key, metric: metricTitle(b),
      value: v, label: model.model + " (" + model.sha.slice(0, 12) + ")"});
  });
  return rows;
}

/** Axis label options for a d3 format: SI formats per label (Vega's axis format would give
 * every tick the largest one's prefix: "0k, 0.5k, 1k"). */
export function axisLabels(fmt) {
  return fmt === "~s" ? {labelExpr: "format(datum.value, '~s')"} : {format: fmt};
}

/** The Vega-Lite spec of one training-curve panel (one metric): only the layers that have
 * data (an empty layer makes Vega warn "Infinite extent"), the x domain shared by every
 * panel (`steps`: [first, last]) so they line up, the colors fixed by `labels`. */
export function curveSpec(rows, steps, labels, step, schema = VEGA_LITE_SCHEMA) {
  const series = rows.filter((r) => r.kind === "series"), models = rows.filter((r) => r.kind === "model");
  const fmt = axisFormat(rows.map((r) => r.value));
  const color = {field: "label", type: "nominal", legend: null, scale: {domain: labels, range: PALETTE}};
  const y = {field: "value", type: "quantitative", title: null, scale: {zero: false, nice: true},
    axis: Object.assign(axisLabels(fmt), {tickCount: 4, minExtent: 44, maxExtent: 44})};  // the same label room: panels line up
  const x = {field: "step", type: "quantitative", title: "training step", scale: {domain: steps, nice: false},
    axis: Object.assign(axisLabels(steps[1] >= 10000 ? "~s" : ",.0f"), {tickCount: 4})};
  const layers = [];
  if (series.length) {
    layers.push({data: {values: series}, mark: {type: "line", point: {size: 50, filled: true}, tooltip: true},
      encoding: {x: x, y: y, color: color, href: {field: "url"},
        tooltip: [{field: "label", title: "series"}, {field: "step", title: "step", format: ","},
          {field: "value", title: "value", format: fmt}, {field: "sha", title: "revision"}]}});
  }
  if (models.length) {
    layers.push({data: {values: models}, mark: {type: "rule", strokeDash: [4, 3], strokeWidth: 1.5},
      encoding: {y: y, color: color, tooltip: [{field: "label", title: "model"}, {field: "value", title: "value", format: fmt}]}});
  }
  const here = step === null || step === undefined ? [] : series.filter((r) => r.step === Number(step));
  if (here.length) {
    layers.push({data: {values: here}, mark: {type: "point", size: 130, shape: "diamond", filled: true, color: "#000", stroke: "#fff", strokeWidth: 1, opacity: 1},
      encoding: {x: x, y: y, tooltip: [{field: "step", title: "this checkpoint", format: ","}, {field: "value", title: "value", format: fmt}]}});
  }
  return {$schema: schema, width: "container", height: 150, autosize: {type: "fit-x", contains: "padding"}, layer: layers};
}

/** One histogram panel of the charts page (one benchmark's scores over models): percent
 * scores in 5-point bins over 0–100, so every panel reads the same way. */
export function histogramSpec(values, unit = "%", schema = VEGA_LITE_SCHEMA) {
  const percent = unit === "%";
  const bin = percent ? {step: 5, extent: [0, 100]} : {maxbins: 20};
  const fmt = percent ? ",.0f" : axisFormat(values.map((v) => v.score));
  return {$schema: schema, width: "container", height: 140, autosize: {type: "fit-x", contains: "padding"},
    data: {values: values}, mark: {type: "bar", tooltip: true, cornerRadiusEnd: 1},
    encoding: {x: {field: "score", type: "quantitative", bin: bin, title: percent ? "score (%)" : "score",
      scale: percent ? {domain: [0, 100]} : {}, axis: {format: fmt, tickCount: 5}},
    y: {aggregate: "count", type: "quantitative", title: "models", axis: {format: "d", tickMinStep: 1}},
    tooltip: [{field: "score", bin: bin, title: "score", format: fmt}, {aggregate: "count", type: "quantitative", title: "models"}]}};
}
