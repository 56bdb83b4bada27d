/* The Submit page's form: resolve the revision on the Hub (its model-info API answers
 * browsers with CORS), run the checks the browser can run (worded by the validator's own
 * table), render the request file(s) and open GitHub's new-file page.
 *
 * Everything shown from the Hub or the form is set with textContent; links are built
 * from validated ids only. `?hub=<url>` (or data-hub-api) points the form at another Hub
 * endpoint (the tests' fake Hub).
 */
import {blocking, cardLicense, hubChecks, optOut, totalParams, storedDtype} from "./lib/checks.js";
import {billions3, command, gitPatch, newFileUrl, parseCheckpoints, queueAnchor, requestPath, requestYaml,
  seriesBranch} from "./lib/submit.js";

const app = document.getElementById("submit-app");
const $ = (id) => document.getElementById(id);
let data, hubApi;

function option(select, value, label) {
  const o = document.createElement("option");
  o.value = value; o.textContent = label;
  select.appendChild(o);
}

function setMode() {
  const series = $("sf-mode-series").checked;
  app.classList.toggle("sf-is-series", series);
  document.querySelectorAll(".sf-single").forEach((el) => { el.hidden = series; });
  document.querySelectorAll(".sf-multi").forEach((el) => { el.hidden = !series; });
  $("sf-base-row").hidden = series || $("sf-weight-type").value === "original";
  $("sf-precision").options[0].textContent = series ? data.series.default_precision + " (the default)" :
    "as the weights are stored";
  const suite = $("sf-suite");
  if (series && suite.dataset.touched !== "1" && [...suite.options].some((o) => o.value === data.series.default_suite)) {
    suite.value = data.series.default_suite;
  } else if (!series && suite.dataset.touched !== "1") {
    suite.value = data.names.default_suite;
  }
}

function init(json) {
  data = json;
  const attr = app.getAttribute("data-hub-api"), q = new URLSearchParams(location.search).get("hub");
  hubApi = (/^https?:\/\/[^\s]+$/.test(q || "") ? q : /^https?:\/\/[^\s]+$/.test(attr || "") ? attr : data.hub_api)
    .replace(/\/+$/, "");
  if (hubApi !== data.hub_api) $("sf-hub-note").textContent = "Hub endpoint: " + hubApi;
  $("sf-repo").textContent = data.repository;
  for (const p of data.request.precisions) option($("sf-precision"), p, p);
  for (const t of data.request.model_types) option($("sf-model-type"), t.key, t.title);
  for (const w of data.request.weight_types) option($("sf-weight-type"), w, w);
  const suites = data.suites.length ? data.suites : [{key: data.names.default_suite, title: data.names.default_suite}];
  for (const s of suites) option($("sf-suite"), s.key, s.title);
  $("sf-suite").addEventListener("change", () => { $("sf-suite").dataset.touched = "1"; });
  $("sf-weight-type").addEventListener("change", setMode);
  $("sf-mode-single").addEventListener("change", setMode);
  $("sf-mode-series").addEventListener("change", setMode);
  $("sf-form").addEventListener("submit", (ev) => { ev.preventDefault(); run(); });
  setMode();
  app.setAttribute("data-ready", "");
}

/* The model-info JSON at a revision, or {error: "missing"|"revision"|"gated"|"unreachable"}. */
async function modelInfo(model, revision) {
  const url = hubApi + "/api/models/" + model + (revision ? "/revision/" + encodeURIComponent(revision) : "");
  let resp;
  try { resp = await fetch(url, {credentials: "omit"}); } catch { return {error: "unreachable"}; }
  if (resp.ok) return resp.json();
  const code = resp.headers.get("X-Error-Code") || "";
  const body = await resp.text().catch(() => "");
  if (resp.status >= 500 || resp.status === 429) return {error: "unreachable"};
  if (code === "RevisionNotFound" || /revision/i.test(body)) return {error: "revision"};
  if (code === "GatedRepo") return {error: "gated"};
  return {error: "missing"};
}

function showChecks(list, title, outcomes) {
  if (title) {
    const h = document.createElement("li");
    h.className = "sf-group"; h.textContent = title;
    list.appendChild(h);
  }
  for (const o of outcomes) {
    const li = document.createElement("li");
    li.className = "sf-check sf-" + o.status;
    li.setAttribute("data-status", o.status);
    const icon = {pass: "✅", fail: "❌", warn: "⚠️", unverified: "❔"}[o.status] || "";
    const name = document.createElement("strong");
    name.className = "sf-check-name"; name.textContent = o.name;
    const msg = document.createElement("span");
    msg.className = "sf-check-message"; msg.textContent = o.message;
    li.append(icon + " ", name, ": ", msg);
    if (o.fix && o.status !== "pass") {
      const fix = document.createElement("div");
      fix.className = "sf-fix"; fix.textContent = "How to fix: " + o.fix;
      li.appendChild(fix);
    }
    list.appendChild(li);
  }
}

function status(text, bad) {
  const el = $("sf-status");
  el.textContent = text;
  el.classList.toggle("sf-bad", Boolean(bad));
}

function fields() {
  return {
    model: $("sf-model").value.trim(), revision: $("sf-revision").value.trim() || "main",
    precision: $("sf-precision").value, modelType: $("sf-model-type").value, weightType: $("sf-weight-type").value,
    baseModel: $("sf-base-model").value.trim(), chatTemplate: $("sf-chat").checked, suite: $("sf-suite").value,
    submitter: $("sf-submitter").value.trim(), license: $("sf-license").value.trim(),
    series: $("sf-series").value.trim(), checkpoints: $("sf-checkpoints").value,
  };
}

function inputErrors(f, series) {
  const errors = [], idRe = new RegExp(data.names.model_id_re);
  if (!idRe.test(f.model)) errors.push("model id: expected ORG/NAME as on the Hugging Face Hub");
  if (!f.submitter || f.submitter.length > 200 || /\s/.test(f.submitter)) errors.push("submitter: your GitHub login");
  if (!series && f.weightType !== "original" && !idRe.test(f.baseModel)) {
    errors.push("base model: an adapter or delta names its base model, ORG/NAME");
  }
  if (series && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(f.series)) errors.push("series: a name such as my-run-v1");
  if (f.license && (f.license.length > 100 || /[\n\r]/.test(f.license))) errors.push("license: one license id");
  return errors;
}

function clearOutput() {
  $("sf-checks").replaceChildren();
  $("sf-files").replaceChildren();
  $("sf-output").hidden = true;
  $("sf-one").hidden = true;
  $("sf-several").hidden = true;
}

function fileBlock(path, text) {
  const wrap = document.createElement("div");
  wrap.className = "sf-file";
  const p = document.createElement("p");
  const code = document.createElement("code");
  code.className = "sf-path"; code.textContent = path;
  p.append("File ", code);
  const pre = document.createElement("pre");
  const body = document.createElement("code");
  body.className = "sf-yaml"; body.textContent = text;
  pre.appendChild(body);
  wrap.append(p, pre);
  return wrap;
}

async function run() {
  clearOutput();
  const f = fields(), series = $("sf-mode-series").checked;
  const errors = inputErrors(f, series);
  let specs = [];
  if (series) {
    const parsed = parseCheckpoints(f.checkpoints, data.series.spec_re);
    errors.push(...parsed.errors);
    specs = parsed.checkpoints;
  }
  if (errors.length) { status(errors.join("; "), true); return; }
  status("Asking the Hub…");
  const rules = data.rules, list = $("sf-checks");
  const now = new Date();
  if (!series) {
    const info = await modelInfo(f.model, f.revision);
    if (info.error === "unreachable") { status("The Hub did not answer; try again later.", true); return; }
    const precision = f.precision || rules.stored_dtype_precision[storedDtype(info)] || data.request.default_precision;
    const outcomes = [...optOut(rules, f.model),
      ...hubChecks(rules, info, {model: f.model, revision: f.revision, weightType: f.weightType, precision})];
    let baseRevision = null;  // the base model's commit, pinned in the request (validate.py checks it)
    if (!info.error && f.weightType !== "original") {
      const base = await modelInfo(f.baseModel, null);
      if (!base.error) baseRevision = String(base.sha);
      outcomes.push(...hubChecks(rules, base, {model: f.baseModel, revision: baseRevision}, rules.base_prefix));
    }
    showChecks(list, "", outcomes);
    if (info.error) { status("Fix the model id or revision first.", true); return; }
    if (!new RegExp(data.names.sha_re).test(String(info.sha))) { status("The Hub answered without a commit sha.", true); return; }
    const license = f.license || cardLicense(info);
    if (!license) { status("The model card declares no license: add one, or fill in the license field.", true); return; }
    const total = totalParams(info);
    const req = {model: f.model, revision: info.sha, precision, modelType: f.modelType, weightType: f.weightType,
      baseModel: f.weightType === "original" ? null : f.baseModel, baseRevision, chatTemplate: f.chatTemplate, license,
      params: total === null ? null : billions3(total), submitter: f.submitter, suite: f.suite};
    const path = requestPath(data.names, f.model, info.sha, precision, f.suite);
    const text = requestYaml(data, req, now);
    $("sf-files").appendChild(fileBlock(path, text));
    const link = $("sf-github");
    link.href = newFileUrl(data.repository, data.branch, path, text);
    $("sf-queue-anchor").textContent = "#" + queueAnchor(data.names, f.model, info.sha, precision, f.suite);
    const words = ["shlepa", "submit", f.model, "--revision", info.sha, "--precision", precision,
      "--model-type", f.modelType, "--submitter", f.submitter];
    if (f.weightType !== "original") words.push("--weight-type", f.weightType, "--base-model", f.baseModel);
    if (f.chatTemplate) words.push("--chat-template");
    if (f.license) words.push("--license", f.license);
    $("sf-command-one").textContent = command([...words, "--open-pr"]);
    $("sf-one").hidden = false;
    $("sf-output").hidden = false;
    status(blocking(outcomes) ? "Some checks fail (❌): fix them before you open the PR." :
      "These checks pass; the PR's checklist comment runs the rest.", blocking(outcomes));
    return;
  }
  const precision = f.precision || data.series.default_precision;
  const infos = await Promise.all(specs.map((s) => modelInfo(f.model, s.ref)));
  if (infos.some((i) => i.error === "unreachable")) { status("The Hub did not answer; try again later.", true); return; }
  const problems = [];
  const shas = new Map();
  specs.forEach((s, i) => {
    const info = infos[i];
    showChecks(list, "step " + s.step + " (" + s.ref + ")",
      [...(i === 0 ? optOut(rules, f.model) : []),
        ...hubChecks(rules, info, {model: f.model, revision: s.ref, weightType: "original", precision})]);
    if (info.error) { problems.push("checkpoint step " + s.step + ": revision " + s.ref + " was not found"); return; }
    if (!new RegExp(data.names.sha_re).test(String(info.sha))) {
      problems.push("checkpoint step " + s.step + ": revision " + s.ref + " did not resolve to a commit sha");
      return;
    }
    if (shas.has(info.sha)) {
      problems.push("checkpoint step " + s.step + ": revision " + s.ref + " is the same commit as step " +
        shas.get(info.sha) + " (" + info.sha.slice(0, data.names.short_sha) + ")");
    }
    shas.set(info.sha, s.step);
  });
  const license = f.license || cardLicense(infos[infos.length - 1]);
  if (!license) problems.push("the model card declares no license: fill in the license field");
  if (problems.length) { status(problems.join("; "), true); return; }
  const files = specs.map((s, i) => ({step: s.step, ref: s.ref, sha: infos[i].sha}))
    .sort((a, b) => a.step - b.step)
    .map((c) => {
      const req = {model: f.model, revision: c.sha, precision, modelType: f.modelType, license, params: null,
        submitter: f.submitter, suite: f.suite, checkpoint: {series: f.series, step: c.step, ref: c.ref}};
      return {path: requestPath(data.names, f.model, c.sha, precision, f.suite), text: requestYaml(data, req, now)};
    });
  for (const file of files) $("sf-files").appendChild(fileBlock(file.path, file.text));
  $("sf-patch").textContent = gitPatch(files);
  const words = ["shlepa", "submit-series", f.model];
  for (const s of specs) words.push("-c", s.step + "=" + s.ref);
  words.push("--series", f.series, "--suite", f.suite, "--precision", precision, "--model-type", f.modelType,
    "--submitter", f.submitter);
  if (f.license) words.push("--license", f.license);
  $("sf-command-series").textContent = command([...words, "--open-pr"]);
  $("sf-branch").textContent = seriesBranch(data.names, f.model, f.series);
  $("sf-several").hidden = false;
  $("sf-output").hidden = false;
  const bad = blocking([...list.querySelectorAll(".sf-check")].map((li) => ({status: li.getAttribute("data-status")})));
  status(files.length + " request files. " + (bad ? "Some checks fail (❌): fix them first." :
    "These checks pass; the PR's checklist comment runs the rest."), bad);
}

if (app) {
  fetch(app.getAttribute("data-src"))
    .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(init)
    .catch((err) => { status("The form could not load its rules (" + err.message + "); use `shlepa submit`.", true); });
}
