"""Child process of test_hardening_requests: validate every request file offline under an audit hook.

Run as ``python hardening_requests_worker.py WORLD REPO OUT.json``. After the
imports, a ``sys.addaudithook`` hook records every file opened, every folder listed
and every file-system change; then ``shlepa validate --offline``'s library function
runs over all of ``requests/``. An uncaught exception makes the process exit
non-zero with a traceback, which the test reports.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from shlepa.config import ValidationSettings
from shlepa.records.request import iter_request_files, load_all_requests
from shlepa.submission.checklist import Outcome
from shlepa.submission.validate import Options, validate_paths

WRITE_EVENTS = {
    "os.rename",
    "os.remove",
    "os.rmdir",
    "os.mkdir",
    "os.symlink",
    "os.link",
    "os.truncate",
    "os.chmod",
    "os.chown",
    "os.utime",
    "shutil.rmtree",
    "shutil.copyfile",
    "shutil.move",
    "os.mkfifo",
}


def main() -> None:
    world, repo, out = (Path(a).resolve() for a in sys.argv[1:4])
    events: list[tuple[str, str, str]] = []

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int) or path is None:
                return
            writes = bool(mode and any(c in str(mode) for c in "wax+")) or bool(
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC)
            )
            events.append(("write" if writes else "read", os.fsdecode(path), event))
        elif event in ("os.scandir", "os.listdir"):
            path = args[0] if args else "."
            if isinstance(path, (str, bytes, os.PathLike)):
                events.append(("list", os.fsdecode(path), event))
        elif event in WRITE_EVENTS:
            events.append(
                (
                    "write",
                    os.fsdecode(args[0]) if args and isinstance(args[0], (str, bytes, os.PathLike)) else str(args),
                    event,
                )
            )

    sys.addaudithook(hook)
    t0 = time.perf_counter()
    files = iter_request_files(repo)
    checklist = validate_paths(repo, files, Options(settings=ValidationSettings(), hub=None))
    _good, bad = load_all_requests(repo)
    seconds = time.perf_counter() - t0

    failed_files = sorted({c.file for c in checklist.checks if c.status == Outcome.failed})
    passed_schema = sorted({c.file for c in checklist.checks if c.name == "schema" and c.status == Outcome.passed})
    report = {
        "listed": [str(p.relative_to(repo)) for p in files],
        "failed_files": failed_files,
        "schema_ok": passed_schema,
        "unnamed_failures": [c.line() for c in checklist.checks if c.status == Outcome.failed and not c.file],
        "load_errors": [str(e) for e in bad],
        "checks": len(checklist.checks),
        "seconds": seconds,
        "events": [
            (kind, path, ev)
            for kind, path, ev in events
            if kind == "write"
            or Path(path).resolve().is_relative_to(world)
            or path.startswith(("/etc", "/proc", "/root", "/home"))
        ],
    }
    Path(out).write_text(json.dumps(report))


if __name__ == "__main__":
    main()
