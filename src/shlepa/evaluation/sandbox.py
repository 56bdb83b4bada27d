"""Run one model-written Python program in a bubblewrap sandbox, or refuse to run it.

The code benchmarks (HumanEval, MBPP) execute what the model wrote, on a machine
that may hold credentials. Each program therefore runs under ``bwrap`` (Debian and
Ubuntu package ``bubblewrap``; ``make sandbox`` installs it) in new user, pid,
network, ipc, uts and cgroup namespaces:

- as uid/gid 65534 (nobody) of a fresh user namespace, with no capabilities and
  ``no_new_privs`` (bwrap's default), so nothing it runs can gain privileges;
- with no network at all: the namespace has only its own, empty loopback, so a
  listener on the host's 127.0.0.1 is unreachable;
- seeing only read-only system folders (``/usr``, ``/lib*``, ``/bin``, ``/sbin``)
  and the interpreter's own install prefix, plus an empty private ``/tmp``: no home,
  checkout, cache, ``/etc`` secrets or runner work folder exist inside;
- with its own ``/proc``: the parent's process (and its ``environ``) is not in the
  pid namespace, and bwrap itself starts from an emptied environment, so even the
  namespace's pid 1 holds no variable of the caller;
- under ``prlimit``: 1 GiB of address space, CPU seconds just over the time limit,
  1 MiB per written file, 64 processes, no core dumps; no nested user namespaces
  (``--disable-userns`` where bwrap has it);
- killed as a whole tree: when the program exits or the time limit ends it, bwrap's
  pid 1 ends and the kernel kills every process of the namespace (a double-forked
  daemon included); ``--die-with-parent`` covers a caller that dies.

There is no silent fallback: when bwrap is missing or cannot create the namespaces
(for example Ubuntu 24.04's AppArmor restriction on unprivileged user namespaces,
which ``make sandbox`` lifts for bwrap only), :func:`require_sandbox` raises
:class:`SandboxUnavailable` with what to do.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from shlepa.errors import ShlepaError

NOBODY = 65534
#: Read-only system folders bound into the sandbox (the ones that exist on this machine).
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
#: Single files from /etc a Python program may need; nothing else of /etc is visible.
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")
MEMORY_BYTES = 1 << 30
FILE_BYTES = 1 << 20
MAX_PROCESSES = 64
OUTPUT_BYTES = 1 << 16  # what run() keeps of the program's stdout+stderr

_HOW_TO = (
    "Install bubblewrap (`make sandbox`, or `apt-get install bubblewrap`); on Ubuntu 23.10+ "
    "`make sandbox` also installs an AppArmor profile that lets bwrap create user namespaces "
    "(kernel.apparmor_restrict_unprivileged_userns). Model-written code is never run unsandboxed."
)


class SandboxUnavailable(ShlepaError, RuntimeError):
    """Raised when generated code would have to run outside the sandbox."""


@dataclass(frozen=True)
class SandboxResult:
    """How one sandboxed program ended: exit status (None when killed at the limit) and its output."""

    returncode: int | None
    output: str
    timed_out: bool

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def _interpreter() -> tuple[str, list[str]]:
    """The base Python (not a virtualenv's site-packages) and the folders it needs bound."""
    exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    prefix = os.path.realpath(sys.base_prefix)
    binds = [] if any(prefix == d or prefix.startswith(d + "/") for d in SYSTEM_DIRS) else [prefix]
    if not any(exe.startswith(d + "/") for d in (*SYSTEM_DIRS, *binds)):
        binds.append(os.path.dirname(exe))
    return exe, binds


def _limits(timeout: float) -> list[str]:
    """util-linux ``prlimit`` inside the sandbox: soft = hard, so the program cannot raise them again.

    A wrapper rather than Python code put before the program: the program stays
    byte-for-byte what the scorer was given (a leading ``from __future__`` still works).
    """
    cpu = int(timeout) + 1
    return [
        "prlimit",
        f"--as={MEMORY_BYTES}",
        f"--cpu={cpu}",
        f"--fsize={FILE_BYTES}",
        f"--nproc={MAX_PROCESSES}",
        "--core=0",
        "--",
    ]


@functools.cache
def _supports(bwrap: str, flag: str) -> bool:
    """Whether this bwrap knows ``flag`` (``--disable-userns`` arrived in 0.8.0; Ubuntu 22.04 has 0.6)."""
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return flag in text


def command(timeout: float) -> list[str]:
    """The bwrap command line that runs a Python program read from stdin, limits for ``timeout`` set."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed. {_HOW_TO}")
    exe, extra = _interpreter()
    cmd = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--uid",
        str(NOBODY),
        "--gid",
        str(NOBODY),
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]
    if _supports(bwrap, "--disable-userns"):  # no nested user namespace: less kernel surface to attack
        cmd.append("--disable-userns")
    for folder in SYSTEM_DIRS:
        cmd += ["--ro-bind-try", folder, folder]
    for name in ETC_FILES:
        cmd += ["--ro-bind-try", name, name]
    for folder in extra:
        cmd += ["--ro-bind", folder, folder]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/tmp", "--clearenv"]
    for key, value in (("PATH", "/usr/bin:/bin"), ("HOME", "/tmp"), ("PYTHONHASHSEED", "0"), ("LANG", "C.UTF-8")):
        cmd += ["--setenv", key, value]
    return [*cmd, "--", *_limits(timeout), exe, "-I", "-"]


def run(program: str, timeout: float) -> SandboxResult:
    """Run ``program`` in the sandbox; at ``timeout`` seconds the whole process tree is killed."""
    cmd = command(timeout)
    source = program.encode("utf-8", errors="surrogateescape")
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin"},  # bwrap's pid 1 keeps bwrap's environ: give it nothing
            cwd="/",
            start_new_session=True,
        )
        timed_out = False
        try:
            proc.communicate(source, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # bwrap dies; its pid 1 gets SIGKILL, the namespace ends
            proc.wait()
        out.seek(0)
        text = out.read(OUTPUT_BYTES).decode("utf-8", errors="replace")
    return SandboxResult(None if timed_out else proc.returncode, text, timed_out)


@functools.cache
def _probe() -> str | None:
    """None when a trivial program runs in the sandbox, else why not (checked once per process)."""
    try:
        result = run("print('ok')", timeout=30)
    except SandboxUnavailable as exc:
        return str(exc)
    except OSError as exc:
        return f"bwrap could not be started: {exc}. {_HOW_TO}"
    if result.passed and result.output.strip() == "ok":
        return None
    return f"bwrap cannot create the sandbox here: {result.output.strip() or result.returncode}. {_HOW_TO}"


def require_sandbox() -> None:
    """Fail closed: raise :class:`SandboxUnavailable` unless programs can run sandboxed here."""
    problem = _probe()
    if problem is not None:
        raise SandboxUnavailable(problem)


def available() -> bool:
    return _probe() is None
