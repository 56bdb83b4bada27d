"""Run every submission check and collect the outcomes into one checklist.

Reads request files and the Hub; writes nothing anywhere in the repository (config and
tokenizer files are fetched into a throwaway temporary folder).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from shlepa.config import ValidationSettings
from shlepa.io.yaml import YamlError, load_yaml, load_yaml_text
from shlepa.records.keys import queue_anchor, short_sha
from shlepa.records.request import (
    STORED_DTYPE_PRECISION,
    SUBMITTED_REASON,
    Precision,
    Request,
    Status,
    StatusChange,
    WeightType,
    check_placement,
    collect_request_problems,
    load_all_requests,
    outside_requests,
)
from shlepa.submission import rules
from shlepa.submission.changes import Change, Kind, change_problem, changed_files
from shlepa.submission.chat_render import render_once
from shlepa.submission.checklist import Check, Checklist, Link, Outcome
from shlepa.submission.hub import (
    CONFIG_FILES,
    TOKENIZER_FILES,
    BadFile,
    CouldNotVerify,
    Hub,
    HubNotFound,
    ModelFacts,
)
from shlepa.submission.rules import (
    ADAPTER_SAFETENSORS,
    BF16_AS_FP16_HINT,
    PICKLE_SUFFIXES,
    fmt_billions,
    fmt_limit,
    fmt_params,
)

ACTIVE = (Status.pending, Status.running, Status.finished)
# safetensors dtype names -> the precisions that can load them without surprises


@dataclass
class Options:
    settings: ValidationSettings
    hub: Hub | None = None  # None: offline, the Hub checks are skipped
    pr_author: str | None = None
    repo_url: str | None = None  # e.g. https://github.com/org/board/blob/main, for links
    site_url: str | None = None  # the published site (ending in /): the checklist links to the queue page
    # Every request of the repository, read and indexed once per run: validating N
    # files stays O(N), not O(N^2) (10,000 files take seconds, not hours).
    _index: _RequestIndex | None = None
    # The request files this PR adds (resolved paths): the quota counts them for the PR author,
    # whatever submitter they declare.
    _pr_added: set[str] = field(default_factory=set)

    def index(self, root: Path) -> _RequestIndex:
        if self._index is None:
            self._index = _RequestIndex(load_all_requests(root)[0])
        return self._index


class _RequestIndex:
    """The repository's requests by key, by model and open ones by submitter."""

    def __init__(self, good: list[tuple[Path, Request]]):
        self.by_key: dict[str, list[tuple[str, Path, Request]]] = {}
        self.by_model: dict[str, list[tuple[str, Request]]] = {}
        self.open_by_submitter: dict[str, set[str]] = {}
        for path, req in good:
            where = str(path.resolve())
            self.by_key.setdefault(_same_key(req), []).append((where, path, req))
            self.by_model.setdefault(req.model.lower(), []).append((where, req))
            if req.status in (Status.pending, Status.running):
                self.open_by_submitter.setdefault(req.submitter.lower(), set()).add(where)


class _Ctx:
    """The checks of one file append here, all named with the file."""

    def __init__(self, checklist: Checklist, file: str):
        self.list, self.file = checklist, file

    def add(self, name: str, status: Outcome, message: str, fix: str = "") -> None:
        self.list.add(Check(name, status, message, self.file, fix))

    def ok(self, name: str, message: str) -> None:
        self.add(name, Outcome.passed, message)

    def fail(self, name: str, message: str, fix: str) -> None:
        self.add(name, Outcome.failed, message, fix)

    def warn(self, name: str, message: str, fix: str = "") -> None:
        self.add(name, Outcome.warning, message, fix)

    def rule(self, key: str, prefix: str = "", **values: str) -> None:
        """One outcome worded by the shared table (rules.CHECKS), as the Submit form words it."""
        name, status, message, fix = rules.render(key, prefix, **values)
        self.add(name, Outcome(status), message, fix)

    def unverified(self, name: str, exc: CouldNotVerify) -> None:
        self.add(
            name, Outcome.unverified, f"could not verify: {exc}", "nothing to fix on your side; re-run the check later"
        )


def _same_key(request: Request) -> str:
    """The evaluation key with the Hub id case-folded: the Hub treats Org/Model and org/model as one repository."""
    return request.key.lower()


def _rel(path: Path, root: Path) -> str:
    # Only the folder is resolved: the file itself may be a hostile symlink (even a loop).
    try:
        return str((Path(path).parent.resolve() / Path(path).name).relative_to(Path(root).resolve()))
    except (ValueError, OSError, RuntimeError):
        return str(path)


# -- entry points ---------------------------------------------------------------------
def validate_paths(root: Path, paths: list[Path], opts: Options) -> Checklist:
    checklist = Checklist()
    for path in paths:
        validate_request_file(root, Path(path), opts, checklist)
    return checklist


def validate_changes(root: Path, diff_range: str, opts: Options) -> Checklist:
    """Check a PR: only request files added or edited, then every check on each of them."""
    checklist = Checklist()
    base = diff_range.split("...", 1)[0]
    changes = changed_files(root, diff_range)
    checkable = []
    for change in changes:
        ctx = _Ctx(checklist, change.path)
        if change.kind != Kind.request:
            ctx.fail(
                "only request files",
                "this PR changes a file outside requests/<org>/<model>/*.yaml",
                "a submission PR may only add or edit request files; move other changes to a separate PR",
            )
        elif problem := change_problem(change):
            ctx.fail(
                "only request files",
                problem,
                "restore the file as it was; a submission only adds or edits regular request files",
            )
        else:
            checkable.append(change)
    opts._pr_added |= {str((root / c.path).resolve()) for c in checkable if c.status == "A"}
    for change in checkable:
        previous = _base_request(root, base, change)
        validate_request_file(root, root / change.path, opts, checklist, change=change, previous=previous)
    if not changes:
        checklist.add(Check("changes", Outcome.warning, f"no files changed in {diff_range}", ""))
    return checklist


def _base_request(root: Path, base: str, change: Change) -> Request | None:
    if change.status != "M":
        return None
    proc = subprocess.run(
        ["git", "-C", str(root), "show", f"{base}:{change.path}"], capture_output=True, check=False, timeout=60
    )
    if proc.returncode != 0:
        return None
    try:
        parsed = collect_request_problems(
            load_yaml_text(proc.stdout.decode("utf-8", "replace"), change.path), change.path
        )
    except YamlError:
        return None
    return parsed if isinstance(parsed, Request) else None


# -- one file -------------------------------------------------------------------------
def validate_request_file(
    root: Path,
    path: Path,
    opts: Options,
    checklist: Checklist,
    change: Change | None = None,
    previous: Request | None = None,
) -> Request | None:
    ctx = _Ctx(checklist, _rel(path, root))
    request = _schema(ctx, path, root)
    if request is None:
        return None
    _ownership(ctx, request, opts, change, previous)
    if request.weight_type != WeightType.original and request.base_revision is None:
        ctx.fail(
            "base model revision",
            f"a {request.weight_type.value} request must pin its base model's commit (base_revision); "
            f"without it {request.base_model} would be loaded at whatever its main branch holds",
            "set base_revision to the full commit sha of the base model (shlepa submit fills it in)",
        )
    _duplicates(ctx, root, path, request, opts, change, previous)
    _policy(ctx, root, request, opts, change)
    if opts.site_url:
        checklist.links.append(queue_link(opts.site_url, request, ctx.file))
    if opts.hub is None:
        ctx.add(
            "Hub checks", Outcome.warning, "skipped (offline)", "run without --offline to check the model on the Hub"
        )
    else:
        hub_checks(ctx, opts.hub, request, opts.settings)
    return request


def queue_link(site_url: str, request: Request, file: str) -> Link:
    """The request's entry on the queue page: ``<site>/queue/#<anchor>`` (anchor from records/keys.py)."""
    anchor = queue_anchor(request.model, request.revision, request.precision.value, request.suite)
    label = f"{request.model}@{short_sha(request.revision)} ({request.precision.value}, {request.suite})"
    return Link(file, label, f"{site_url.rstrip('/')}/queue/#{quote(anchor, safe='/@')}")


def _schema(ctx: _Ctx, path: Path, root: Path) -> Request | None:
    if problem := outside_requests(path, root):
        ctx.fail("placement", problem.message, "add the request as a regular file under requests/<org>/<model>/")
        return None
    try:
        data = load_yaml(path)
    except YamlError as exc:
        ctx.fail("schema", exc.message, "write the file as YAML: one 'field: value' per line")
        return None
    parsed = collect_request_problems(data, ctx.file)
    if isinstance(parsed, list):
        for err in parsed:
            ctx.fail(
                f"schema: field '{err.field}'" if err.field else "schema",
                err.message,
                "see the request format on the 'Submit a model' page, or create the file with `shlepa submit`",
            )
        return None
    ctx.ok("schema", "the request parses")
    misplaced = check_placement(parsed, path, root)
    if misplaced:
        ctx.fail(
            "placement", misplaced.message, f"the path must be {parsed.relpath} (model id, revision and precision)"
        )
    else:
        ctx.ok("placement", "the path matches model id, revision and precision")
    return parsed


def _ownership(ctx: _Ctx, request: Request, opts: Options, change: Change | None, previous: Request | None) -> None:
    if change is None:
        return
    if change.status == "A":
        _canonical_new(ctx, request, opts)
    else:
        _canonical_edit(ctx, request, previous)
    if previous is not None and opts.pr_author and previous.submitter.lower() != opts.pr_author.lower():
        ctx.fail(
            "other people's requests",
            f"this request was submitted by {previous.submitter}, not by {opts.pr_author}",
            "only edit your own requests; open an issue if someone else's request is wrong",
        )


_RUNNER_WRITES = "the status, history and failure of a request are written by the runners, never by a PR"


def _canonical_new(ctx: _Ctx, request: Request, opts: Options) -> None:
    """A new request has exactly the shape ``shlepa submit`` writes: PENDING, nothing a runner writes."""
    if request.status != Status.pending:
        ctx.fail("status", f"a new request must have status PENDING, not {request.status.value}", "set status: PENDING")
    if opts.pr_author and request.submitter.lower() != opts.pr_author.lower():
        ctx.fail(
            "submitter",
            f"submitter is {request.submitter!r} but the PR author is {opts.pr_author!r}",
            f"set submitter: {opts.pr_author} (your GitHub user name); a request is submitted by the PR's author",
        )
    now = datetime.now(UTC)
    oldest = now - timedelta(days=opts.settings.submitted_at_max_age_days)
    if not oldest <= request.submitted_at <= now + timedelta(hours=1):
        ctx.fail(
            "submitted_at",
            f"submitted_at {request.submitted_at.isoformat()} is not the time of this submission "
            f"(it must be within the last {opts.settings.submitted_at_max_age_days} days); "
            "the queue orders requests by when they are merged, not by this field",
            "set submitted_at to now, or create the file with `shlepa submit`",
        )
    history = request.history
    for i, entry in enumerate(history):
        why = _not_submitted_entry(entry, request, first=i == 0)
        if why:
            ctx.fail(f"history entry {i + 1}", f"{why}; {_RUNNER_WRITES}", _NEW_HISTORY_FIX)
    if request.failure is not None:
        where = f" (log_url {request.failure.log_url})" if request.failure.log_url else ""
        ctx.fail("failure", f"a new request has no failure record{where}; {_RUNNER_WRITES}", "remove the failure field")


_NEW_HISTORY_FIX = "remove the history, or keep only the one 'submitted' entry `shlepa submit` writes"


def _not_submitted_entry(entry: StatusChange, request: Request, first: bool) -> str:
    """Why a new request's history entry is not the one ``shlepa submit`` writes ('' if it is)."""
    said = f"{entry.status.value} at {entry.at.isoformat()}"
    if not first:
        return f"{said} is one entry too many: a new request has at most the 'submitted' entry"
    if entry.status != Status.pending or entry.reason != SUBMITTED_REASON:
        return f"{said} ({entry.reason!r}) is not the 'submitted' PENDING entry"
    if entry.runner is not None or entry.run_url is not None:
        return f"{said} names a runner ({entry.runner or entry.run_url!r})"
    if entry.at != request.submitted_at:
        return f"{said} is not at submitted_at ({request.submitted_at.isoformat()})"
    return ""


def _canonical_edit(ctx: _Ctx, request: Request, previous: Request | None) -> None:
    """An edited request keeps what the runners wrote; it may only append PENDING entries of its own."""
    if previous is None:
        return
    kept = request.history[: len(previous.history)]
    if kept != previous.history:
        ctx.fail(
            "history", f"this PR rewrites the request's history; {_RUNNER_WRITES}", "restore the history as it was"
        )
        return
    for i, entry in enumerate(request.history[len(previous.history) :], start=len(previous.history) + 1):
        if entry.status != Status.pending or entry.runner is not None or entry.run_url is not None:
            ctx.fail(
                f"history entry {i}",
                f"{entry.status.value} at {entry.at.isoformat()} was added by this PR; {_RUNNER_WRITES}",
                "remove the entry; to resubmit, set status: PENDING",
            )
    if request.failure is not None and request.failure != previous.failure:
        ctx.fail("failure", f"this PR writes a failure record; {_RUNNER_WRITES}", "remove the failure field")


def _link(path: Path, root: Path, opts: Options) -> str:
    rel = _rel(path, root)
    return f"{opts.repo_url.rstrip('/')}/{rel}" if opts.repo_url else rel


def _duplicates(
    ctx: _Ctx, root: Path, path: Path, request: Request, opts: Options, change: Change | None, previous: Request | None
) -> None:
    if previous is not None and _same_key(previous) == _same_key(request):
        if previous.status in ACTIVE:
            ctx.fail(
                "duplicate",
                f"{request.model} at {short_sha(request.revision)} in {request.precision.value} is already {previous.status.value}: {_link(path, root, opts)}",
                "to evaluate a newer version, submit its new commit sha as a new request",
            )
            return
        if request.status != Status.pending:
            ctx.fail("resubmission", "a resubmitted FAILED request must be set back to PENDING", "set status: PENDING")
            return
        ctx.ok("duplicate", "resubmission of a FAILED request")
        return
    index = opts.index(root)
    here = str(Path(path).resolve())
    for where, other_path, other in index.by_key.get(_same_key(request), []):
        if where != here and other.status in ACTIVE:
            ctx.fail(
                "duplicate",
                f"the same model, revision and precision is already {other.status.value}: {_link(other_path, root, opts)}",
                "do not submit it twice; follow the existing request",
            )
            return
    same_model = [
        short_sha(other.revision)
        for where, other in index.by_model.get(request.model.lower(), [])
        if where != here and other.revision != request.revision
    ]
    if same_model:
        ctx.ok(
            "duplicate",
            f"new commit of a model already submitted ({', '.join(sorted(set(same_model)))}): accepted as a resubmission",
        )
    else:
        ctx.ok("duplicate", "no other request for this model, revision and precision")


def _policy(ctx: _Ctx, root: Path, request: Request, opts: Options, change: Change | None = None) -> None:
    s = opts.settings
    if s.is_opted_out(request.model):
        ctx.rule("opt_out", org=request.org)
    # On a PR the quota counts the real author: their open requests plus every request this PR
    # adds, whatever submitter those files declare.
    who = opts.pr_author if change is not None and opts.pr_author else request.submitter
    open_requests = opts.index(root).open_by_submitter.get(who.lower(), set())
    if change is not None:
        open_requests = open_requests | opts._pr_added
    if len(open_requests) > s.max_open_requests_per_submitter:
        ctx.fail(
            "quota",
            f"{who} has {len(open_requests)} open requests (limit {s.max_open_requests_per_submitter})",
            "wait until some of your requests finish, then submit again",
        )
    else:
        ctx.ok("quota", f"{len(open_requests)} open request(s) of {s.max_open_requests_per_submitter} allowed")


# -- the Hub checks -------------------------------------------------------------------
def hub_checks(ctx: _Ctx, hub: Hub, request: Request, settings: ValidationSettings, prefix: str = "") -> None:
    """The Open LLM Leaderboard's checks on the model (and, for adapters/deltas, its base)."""
    p = prefix
    model = request.base_model if prefix else request.model
    # The base model is checked at the commit the request pins (base_revision), the one evaluated.
    revision = request.base_revision if prefix else request.revision
    assert model is not None
    try:
        facts = hub.model_facts(model, revision)
    except HubNotFound as exc:
        _not_found(ctx, p, model, revision, exc)
        return
    except CouldNotVerify as exc:
        ctx.unverified(f"{p}model on the Hub", exc)
        return
    if facts.gated:
        ctx.rule("model_gated", p, model=model)
        return
    ctx.rule("model_ok", p, model=model)
    if revision and facts.sha != revision:
        ctx.fail(
            f"{p}revision",
            f"revision {revision} resolves to {facts.sha}",
            "use the full commit sha (shlepa submit resolves it)",
        )
        return
    if revision:
        ctx.rule("revision_ok", p, short=short_sha(facts.sha))
    adapter = not prefix and request.weight_type == WeightType.adapter
    _weights(ctx, p, facts, adapter)
    if not adapter:
        _config_and_tokenizer(ctx, p, hub, facts, request.use_chat_template and not prefix, settings)
    _card_and_license(ctx, p, hub, facts, settings, request if not prefix else None)
    if not adapter:
        _size_and_precision(ctx, p, hub, facts, settings, request if not prefix else None)
    if not prefix and request.weight_type != WeightType.original:
        hub_checks(ctx, hub, request, settings, prefix="base model: ")


def _not_found(ctx: _Ctx, p: str, model: str, revision: str | None, exc: HubNotFound) -> None:
    if exc.kind == "gated":
        ctx.fail(f"{p}model is public", f"{model} is gated", "remove the gating so the evaluator can download it")
    elif exc.kind == "revision":
        ctx.rule("revision_missing", p, revision=str(revision), model=model)
    else:
        ctx.rule("model_missing", p, model=model)


def _weights(ctx: _Ctx, p: str, facts: ModelFacts, adapter: bool) -> None:
    files = facts.files
    # An adapter is loaded from adapter_model.safetensors, else from the pickle adapter_model.bin:
    # another .safetensors file in the repository proves nothing.
    if ADAPTER_SAFETENSORS in files if adapter else any(f.endswith(".safetensors") for f in files):
        ctx.rule("safetensors_ok", p)
    elif any(f.endswith(PICKLE_SUFFIXES) for f in files):
        ctx.rule("safetensors_pickle", p)
    else:
        ctx.rule("safetensors_none", p)
    if adapter and "adapter_config.json" not in files:
        ctx.rule("adapter_missing", p)


def _config_and_tokenizer(
    ctx: _Ctx, p: str, hub: Hub, facts: ModelFacts, need_chat: bool, settings: ValidationSettings
) -> None:
    code = sorted(f for f in facts.files if f.endswith(".py"))
    if "config.json" not in facts.files:
        ctx.fail(f"{p}config", "there is no config.json", "save the model with save_pretrained and push config.json")
        return
    try:
        config_data = hub.read_json(
            facts.model_id,
            facts.sha,
            "config.json",
            max_depth=settings.max_json_depth,
        )
    except CouldNotVerify as exc:
        ctx.unverified(f"{p}config", exc)
        return
    except HubNotFound as exc:
        ctx.fail(f"{p}config", f"config.json cannot be read: {exc}", "push a valid config.json")
        return
    except BadFile as exc:  # str(): "config.json: is nested more than 100 levels deep"
        ctx.fail(f"{p}config", f"{exc}; it is refused before parsing", "push the config.json save_pretrained writes")
        return
    auto_map = isinstance(config_data, dict) and "auto_map" in config_data
    if auto_map or code:
        why = (
            "config.json has an 'auto_map'"
            if auto_map
            else f"the repository contains code files ({', '.join(code[:3])})"
        )
        ctx.fail(
            f"{p}no remote code",
            f"{why}: loading it would need trust_remote_code switched on, which runs code from the repository on our machines",
            "use an architecture supported by transformers and remove auto_map and the .py files",
        )
        return
    ctx.ok(f"{p}no remote code", "config loads without trust_remote_code")
    names = [n for n in (*CONFIG_FILES, *TOKENIZER_FILES) if n in facts.files]
    with _scratch() as tmp:
        try:
            hub.download_small_files(facts.model_id, facts.sha, names, tmp)
        except CouldNotVerify as exc:
            ctx.unverified(f"{p}config and tokenizer", exc)
            return
        except HubNotFound as exc:
            ctx.fail(f"{p}config and tokenizer", str(exc), "push the missing files")
            return
        # A tokenizer bomb (a huge vocabulary or merge list) is refused before parsing it.
        limit = settings.max_tokenizer_mb * 1_000_000
        big = [(n, (tmp / n).stat().st_size) for n in names if (tmp / n).is_file() and (tmp / n).stat().st_size > limit]
        if big:
            listed = ", ".join(f"{n} ({size / 1e6:.0f} MB)" for n, size in big)
            ctx.fail(
                f"{p}config and tokenizer",
                f"{listed} larger than {settings.max_tokenizer_mb} MB",
                "ship a standard tokenizer; ask the maintainers if a legitimate one is this large",
            )
            return
        _load_with_auto_classes(ctx, p, tmp, need_chat, settings)


def _load_with_auto_classes(ctx: _Ctx, p: str, folder: Path, need_chat: bool, settings: ValidationSettings) -> None:
    import transformers
    from transformers import AutoConfig, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
    except Exception as exc:
        ctx.fail(
            f"{p}config",
            f"AutoConfig cannot load it: {_one_line(exc)}",
            "check that AutoConfig.from_pretrained(model_id, revision=sha) works",
        )
        return
    ctx.ok(f"{p}config", f"AutoConfig loads it ({config.model_type})")
    archs = list(getattr(config, "architectures", None) or [])
    unknown = [a for a in archs if not hasattr(transformers, a)]
    if not archs or unknown:
        ctx.fail(
            f"{p}architecture",
            f"architecture {', '.join(unknown) or '(none declared)'} is not supported by transformers {transformers.__version__}",
            "use an architecture that AutoModelForCausalLM knows, and set 'architectures' in config.json",
        )
    else:
        ctx.ok(f"{p}architecture", f"{', '.join(archs)} is supported by transformers {transformers.__version__}")
    try:
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    except Exception as exc:
        ctx.fail(
            f"{p}tokenizer",
            f"AutoTokenizer cannot load it: {_one_line(exc)}",
            "push the tokenizer files (tokenizer.json, tokenizer_config.json)",
        )
        return
    ctx.ok(f"{p}tokenizer", "AutoTokenizer loads it")
    if need_chat:
        if getattr(tok, "chat_template", None):
            # Rendered once, as the evaluation will, in a child process stopped at the limit:
            # a template can loop for hours (#15 item 4).
            outcome = render_once(folder, settings.chat_template_timeout_s)
            if outcome.ok:
                ctx.ok(f"{p}chat template", f"the tokenizer has a chat template; it {outcome.message}")
            elif outcome.unverified:
                ctx.add(f"{p}chat template", Outcome.unverified, outcome.message, "re-run the check later")
            else:
                ctx.fail(
                    f"{p}chat template",
                    outcome.message,
                    "fix the chat template so it renders a short conversation quickly "
                    f"(limit: validation.chat_template_timeout_s = {settings.chat_template_timeout_s:g} s)",
                )
        else:
            ctx.fail(
                f"{p}chat template",
                "use_chat_template is set but the tokenizer has no chat template",
                "add a chat template to the tokenizer, or set use_chat_template: false",
            )


def _card_and_license(
    ctx: _Ctx, p: str, hub: Hub, facts: ModelFacts, settings: ValidationSettings, request: Request | None
) -> None:
    from huggingface_hub import ModelCard

    if "README.md" not in facts.files:
        ctx.fail(
            f"{p}model card",
            "the repository has no model card (README.md)",
            "write a model card: what the model is, how it was trained, its license",
        )
        card_license = facts.license
    else:
        try:
            text = hub.read_text(facts.model_id, facts.sha, "README.md")
        except CouldNotVerify as exc:
            ctx.unverified(f"{p}model card", exc)
            return
        except HubNotFound as exc:
            ctx.fail(f"{p}model card", str(exc), "push a README.md")
            return
        try:
            card = ModelCard(text, ignore_metadata_errors=True)
            body, meta = card.text, (card.data.to_dict() if card.data else {})
        except Exception:
            body, meta = text, {}
        n = len(body.strip())
        if n < settings.min_card_chars:
            ctx.fail(
                f"{p}model card",
                f"the model card has {n} characters (at least {settings.min_card_chars} needed)",
                "describe the model, its training data and intended use in README.md",
            )
        else:
            ctx.ok(f"{p}model card", f"model card present ({n} characters)")
        lic = meta.get("license")
        card_license = (lic[0] if isinstance(lic, list) and lic else lic) or facts.license
    if not card_license:
        ctx.rule("license_none", p)
        return
    card_license = str(card_license)
    if not settings.license_is_open(card_license):
        ctx.rule("license_closed", p, license=card_license)
    else:
        ctx.rule("license_ok", p, license=card_license)
    if request is not None and request.license.strip().lower() != card_license.lower():
        ctx.warn(
            f"{p}license",
            f"the request says {request.license!r} but the model card says {card_license!r}",
            f"set license: {card_license}",
        )


def _size_and_precision(
    ctx: _Ctx, p: str, hub: Hub, facts: ModelFacts, settings: ValidationSettings, request: Request | None
) -> None:
    if not any(f.endswith(".safetensors") for f in facts.files):
        return
    try:
        total, per_dtype = hub.param_count(facts.model_id, facts.sha)
    except CouldNotVerify as exc:
        ctx.unverified(f"{p}parameters", exc)
        return
    except HubNotFound as exc:
        ctx.fail(f"{p}parameters", f"cannot read the safetensors headers: {exc}", "push valid safetensors files")
        return
    billions = total / 1e9
    if billions > settings.max_params_b:
        ctx.rule("params_too_big", p, billions=fmt_billions(total), limit=fmt_limit(settings.max_params_b))
    else:
        ctx.rule("params_ok", p, params=fmt_params(total), limit=fmt_limit(settings.max_params_b))
    if request is None:
        return
    if request.params is not None and billions > 0 and abs(request.params - billions) > max(0.05 * billions, 0.01):
        ctx.warn(
            f"{p}parameters",
            f"the request says {request.params}B, the weights have {billions:.3f}B",
            f"set params: {round(billions, 3)}",
        )
    stored = max(per_dtype, key=per_dtype.__getitem__) if per_dtype else None
    want = request.precision
    if stored in STORED_DTYPE_PRECISION and want in STORED_DTYPE_PRECISION.values():
        if STORED_DTYPE_PRECISION[stored] != want:
            hint = BF16_AS_FP16_HINT if stored == "BF16" and want == Precision.float16 else ""
            ctx.rule("precision_mismatch", p, stored=STORED_DTYPE_PRECISION[stored].value, want=want.value, hint=hint)
        else:
            ctx.rule("precision_ok", p, want=want.value)


@contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="shlepa-validate-") as tmp:
        yield Path(tmp)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


__all__ = ["Options", "hub_checks", "queue_link", "validate_changes", "validate_paths", "validate_request_file"]
