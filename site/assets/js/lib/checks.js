/* The checks the Submit form runs in the browser, worded by the table `shlepa validate`
 * uses (src/shlepa/submission/rules.py, exported into data/submit.json as `rules`): the
 * same check names, statuses and messages for the same model. A browser test compares
 * the two. Everything else (config, tokenizer, remote code, model card, duplicates,
 * quota) is checked by the PR's checklist comment.
 */

/* A template's {field}s filled in. */
export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
}

export function outcome(rules, key, prefix, values) {
  const rule = rules.checks[key];
  return {key, name: prefix + rule.name, status: rule.status, message: fill(rule.message, values || {}),
    fix: fill(rule.fix, values || {})};
}

/* rules.py's fmt_billions / fmt_params. */
export function fmtBillions(n) { return (n / 1e9).toFixed(1); }
export function fmtParams(n) { return n >= 1e8 ? (n / 1e9).toFixed(2) + "B" : n.toLocaleString("en-US"); }

/* The license the model card declares (the Hub's cardData), or null. */
export function cardLicense(info) {
  let lic = info && info.cardData ? info.cardData.license : null;
  if (Array.isArray(lic)) lic = lic.length ? lic[0] : null;
  return lic ? String(lic) : null;
}

/* The dtype most weights are stored in (the first of equal counts), as safetensors names it. */
export function storedDtype(info) {
  const counts = (info && info.safetensors && info.safetensors.parameters) || {};
  let best = null;
  for (const [dtype, n] of Object.entries(counts)) if (best === null || n > counts[best]) best = dtype;
  return best;
}

export function totalParams(info) {
  const st = info && info.safetensors;
  if (!st) return null;
  if (typeof st.total === "number") return st.total;
  return Object.values(st.parameters || {}).reduce((a, b) => a + b, 0);
}

export function files(info) { return ((info && info.siblings) || []).map((s) => s.rfilename); }

export function optOut(rules, model) {
  const org = model.split("/")[0];
  return rules.optout_orgs.includes(org.toLowerCase()) ? [outcome(rules, "opt_out", "", {org})] : [];
}

/* validate.py's hub_checks on what the Hub's model-info API tells: `info` is its JSON, or
 * {error: "missing" | "revision" | "gated"}. `want`: {model, revision (as typed), weightType,
 * precision} of the request; `prefix` is rules.base_prefix for an adapter's base model. */
export function hubChecks(rules, info, want, prefix = "") {
  const out = [], add = (key, values) => out.push(outcome(rules, key, prefix, values));
  const model = want.model;
  if (info.error === "gated" || (!info.error && info.gated)) { add("model_gated", {model}); return out; }
  if (info.error === "revision") { add("revision_missing", {revision: want.revision, model}); return out; }
  if (info.error) { add("model_missing", {model}); return out; }
  add("model_ok", {model});
  if (!prefix || want.revision) add("revision_ok", {short: String(info.sha).slice(0, 12)});
  const names = files(info), adapter = !prefix && want.weightType === "adapter";
  // An adapter loads from adapter_model.safetensors or else its pickle: no other file counts.
  const safetensors = adapter ? names.includes(rules.adapter_safetensors) : names.some((f) => f.endsWith(".safetensors"));
  if (safetensors) add("safetensors_ok");
  else if (names.some((f) => rules.pickle_suffixes.some((s) => f.endsWith(s)))) add("safetensors_pickle");
  else add("safetensors_none");
  if (adapter && !names.includes("adapter_config.json")) add("adapter_missing");
  const lic = cardLicense(info);
  if (!lic) add("license_none");
  else add(rules.open_licenses.includes(lic.trim().toLowerCase()) ? "license_ok" : "license_closed", {license: lic});
  const total = totalParams(info);
  if (!adapter && safetensors && total !== null) {
    if (total / 1e9 > rules.max_params_b) add("params_too_big", {billions: fmtBillions(total), limit: rules.limit});
    else add("params_ok", {params: fmtParams(total), limit: rules.limit});
    const stored = rules.stored_dtype_precision[storedDtype(info)];
    const known = Object.values(rules.stored_dtype_precision);
    if (!prefix && stored && known.includes(want.precision)) {
      if (stored !== want.precision) {
        const b = rules.bf16_as_fp16, hint = stored === b.stored && want.precision === b.want ? b.hint : "";
        add("precision_mismatch", {stored, want: want.precision, hint});
      } else {
        add("precision_ok", {want: want.precision});
      }
    }
  }
  return out;
}

/* True when a list of outcomes would keep the PR from being ready. */
export function blocking(outcomes) { return outcomes.some((o) => o.status === "fail"); }
