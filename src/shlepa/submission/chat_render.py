"""Render a model's chat template once, in a child process that is stopped at a time limit.

A chat template is a Jinja program written by the model's author: two nested loops of
100,000 steps fit in 100 bytes and render for hours. Validation therefore renders it once,
the way the evaluation will (``tokenizer.apply_chat_template``, which transformers runs in
jinja2's ImmutableSandboxedEnvironment), in a separate Python process: the render gets
``timeout_s`` seconds (an alarm in the child), and the parent kills the child outright if
it does not answer in time (a render stuck outside Python code). The child's data segment
is capped so a template that builds a huge string fails instead of eating the machine.

Run as a script (``python -I chat_render.py FOLDER TIMEOUT``) it is the child.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Seconds the child may spend importing transformers and loading the tokenizer (not the render).
LOAD_ALLOWANCE_S = 300.0
#: Memory the render may allocate on top of the loaded tokenizer.
RENDER_MEMORY_BYTES = 2 * 1024**3
#: The conversation rendered: plain user/assistant turns every chat template must accept.
SAMPLE_MESSAGES = [
    {"role": "user", "content": "Hello!"},
    {"role": "assistant", "content": "Hi. How can I help?"},
    {"role": "user", "content": "What is 2 + 2?"},
]
_TIMEOUT_EXIT = 3
_LOADED = "loaded"  # the child's first line: the tokenizer is loaded, the render starts


@dataclass(frozen=True)
class RenderOutcome:
    ok: bool
    message: str  # the problem when not ok; the size of the prompt when ok
    unverified: bool = False  # the machine was too slow to even load the tokenizer: nobody's fault


def render_once(folder: Path, timeout_s: float) -> RenderOutcome:
    """Render the chat template of the tokenizer saved in ``folder`` once, within ``timeout_s`` seconds."""
    cmd = [sys.executable, "-I", str(Path(__file__).resolve()), str(folder), repr(float(timeout_s))]
    too_slow = RenderOutcome(False, f"the chat template took longer than {timeout_s:g} s to render")
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=LOAD_ALLOWANCE_S + timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed the child
        out = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else ""
        if _LOADED in out.splitlines():
            return too_slow
        return RenderOutcome(
            False, f"could not verify: the tokenizer did not load within {LOAD_ALLOWANCE_S:g} s", unverified=True
        )
    if proc.returncode == _TIMEOUT_EXIT:
        return too_slow
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        answer = {}
    if proc.returncode == 0 and answer.get("ok"):
        return RenderOutcome(
            True, f"renders a conversation in {answer['seconds']:.2f} s ({answer['chars']} characters)"
        )
    error = answer.get("error") or _tail(proc.stderr) or f"the renderer exited with status {proc.returncode}"
    return RenderOutcome(False, f"the chat template does not render: {error}")


def _tail(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip().splitlines()
    return " ".join(text[-1].split())[:300] if text else ""


def _child(folder: str, timeout_s: float) -> int:  # pragma: no cover - runs in the child process
    import resource
    import signal
    import time

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    used = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmData:"):
            used = int(line.split()[1]) * 1024
    limit = used + RENDER_MEMORY_BYTES
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    print(_LOADED, flush=True)

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    started = time.perf_counter()
    try:
        text = tok.apply_chat_template(SAMPLE_MESSAGES, tokenize=False, add_generation_prompt=True)
    except TimeoutError:
        return _TIMEOUT_EXIT
    except MemoryError:
        print(json.dumps({"error": f"rendering needs more than {RENDER_MEMORY_BYTES // 1024**3} GiB of memory"}))
        return 1
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}))
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    print(json.dumps({"ok": True, "seconds": time.perf_counter() - started, "chars": len(str(text))}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_child(sys.argv[1], float(sys.argv[2])))


__all__ = ["LOAD_ALLOWANCE_S", "SAMPLE_MESSAGES", "RenderOutcome", "render_once"]
