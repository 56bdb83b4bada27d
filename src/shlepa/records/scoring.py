"""What scored each task: the paths a backend can take, and the results file's compact record of them.

``shlepa-hf`` scores a log-likelihood request by one of five paths (its
``scoring_report()`` counts them per task, with reasons); other backends score every
request by lm-eval's own code. The results file keeps, per task, the requests per
path, the reasons, and how many went a fallback path, so the model page and the log
say what ran. The path names live here, below both the backend and the site.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PACKED = "packed-tree"  # token tries with a tree attention mask, each distinct prefix once
SHARED_PASS = "shared-pass"  # one causal row per distinct sequence (single-token answers share one pass)
ONE_ROW = "one-row"  # each row alone, unpadded: plain hf batch size 1's bits (half precision)
KV_CACHE = "kv-cache"  # fallback: each context once into a KV cache, continuations batched from it
PLAIN = "plain"  # lm-eval's own HFLM code (a fallback on shlepa-hf; the only path of plain backends)
GENERATE = "generate"  # generation requests: the backend's lm-eval generate_until

#: How the model page names each path.
PATH_TITLES = {
    PACKED: "packed token tree",
    SHARED_PASS: "shared pass",
    ONE_ROW: "one row at a time",
    KV_CACHE: "KV-cache fallback",
    PLAIN: "plain lm-eval",
    GENERATE: "generation",
}

#: The usual reason of each of shlepa-hf's own paths. The results file writes a reason only
#: where it is not the usual one (MMLU's 57 subtasks would otherwise repeat one sentence each,
#: ~2 KB a file); :func:`expand` puts it back for the model page and the log.
USUAL_WHY = {
    PACKED: "token tree estimated cheaper than one row per context",
    SHARED_PASS: "single-token continuations: one pass per context, as plain hf",
    ONE_ROW: (
        "single-token documents one row each, plain hf batch size 1's bits: with the near ties "
        "of the first documents re-scored, cheaper than a token tree"
    ),
}

#: The start of the reason shlepa-hf gives for re-scoring a near tie through the plain path
#: on purpose (its decision is then plain hf's): not a fallback.
NEAR_TIE = "near tie"

_SHARED_BACKENDS = ("shlepa-hf",)


def _reasons(reasons: list[str]) -> list[str]:
    return [r for r in reasons if not r.startswith(NEAR_TIE)]


def compact(
    report: Mapping[str, Any],
    requests: Mapping[str, int],
    output_types: Mapping[str, str],
    backend: str,
) -> dict[str, dict[str, Any]]:
    """Per task: ``{"requests": n, "paths": {path: n}, "why": {path: [reason]}, "fallback": n}``, with
    ``fallback`` only when non-zero, ``why`` for lm-eval's own paths only on a fallback and for
    shlepa-hf's own paths only where the reason is not the usual one alone (``USUAL_WHY``; read
    the record through :func:`expand`), plus ``"rescored_near_ties": documents`` where some were.

    ``report`` is shlepa-hf's ``scoring_report()`` ({} for other backends); ``requests`` the
    requests lm-eval sent per task and ``output_types`` each task's lm-eval output type,
    which cover the tasks the report does not (generation, plain backends).
    """
    out: dict[str, dict[str, Any]] = {}
    for task in sorted(set(requests) | set(report)):
        entry = report.get(task)
        if entry:
            rescored = int(entry.get("rescored_requests", 0))
            paths, why = {}, {}
            for plan, p in entry.get("plans", {}).items():
                n = int(p["requests"]) - (rescored if plan == PLAIN else 0)
                if n > 0:
                    paths[plan] = n
                    reasons = _reasons(list(p.get("reasons", [])))
                    why[plan] = [] if reasons == [USUAL_WHY.get(plan)] else reasons
            record: dict[str, Any] = {
                "requests": int(entry.get("requests", sum(paths.values()))),
                "paths": paths,
            }
            if any(why.values()):
                record["why"] = {k: v for k, v in why.items() if v}
            if paths.get(KV_CACHE, 0) + paths.get(PLAIN, 0):
                record["fallback"] = paths.get(KV_CACHE, 0) + paths.get(PLAIN, 0)
            if entry.get("rescored_near_ties"):
                record["rescored_near_ties"] = int(entry["rescored_near_ties"])
        else:
            n = int(requests.get(task, 0))
            generation = output_types.get(task) == "generate_until"
            path = GENERATE if generation else PLAIN
            reason = (
                f"generate_until through {backend}'s lm-eval generation"
                if generation
                else f"--backend {backend}: lm-eval's own code"
            )
            # shlepa-hf sends every log-likelihood request through its report; one missing there is unexpected.
            fallback = n if backend in _SHARED_BACKENDS and not generation else 0
            # The reason of lm-eval's own path is implied by the backend: written only for a fallback
            # (a results file carries ~60 of these; the common case stays a few bytes each).
            record = {"requests": n, "paths": {path: n}}
            if fallback:
                record.update(why={path: [reason]}, fallback=fallback)
        out[task] = record
    return out


def reasons(entry: Mapping[str, Any], path: str) -> list[str]:
    """Why ``path`` scored a task's requests: the reasons written, else the path's usual one."""
    written = (entry.get("why") or {}).get(path)
    return list(written) if written else ([USUAL_WHY[path]] if path in USUAL_WHY else [])


def expand(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A task's record with every path's reasons: those written, else the path's usual one."""
    why = {p: reasons(entry, p) for p in entry.get("paths") or {}}
    return {**entry, "why": {p: r for p, r in why.items() if r}}


def fallbacks(scoring: Mapping[str, Any] | None) -> list[tuple[str, str, int, list[str]]]:
    """(task, path, requests, reasons) of every fallback path taken, for warnings."""
    found = []
    for task, entry in sorted((scoring or {}).items()):
        if not isinstance(entry, dict) or not entry.get("fallback"):
            continue
        for path in (KV_CACHE, PLAIN):
            n = (entry.get("paths") or {}).get(path, 0)
            if n:
                found.append((task, path, int(n), list((entry.get("why") or {}).get(path, []))))
    return found
