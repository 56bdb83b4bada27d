"""The chat template rendered once in a child process: too slow fails, a machine too slow to load is unverified."""

from __future__ import annotations

from shlepa.submission import chat_render

from fakes.hub_models import SLOW_CHAT_TEMPLATE, tokenizer_files


def _folder(tmp_path, template: str | None = None):
    for name, data in tokenizer_files().items():
        (tmp_path / name).write_bytes(data)
    if template is not None:
        (tmp_path / "chat_template.jinja").write_text(template)
    return tmp_path


def test_a_render_that_never_ends_is_stopped_at_the_limit(tmp_path):
    outcome = chat_render.render_once(_folder(tmp_path, SLOW_CHAT_TEMPLATE), 1)
    assert outcome == chat_render.RenderOutcome(False, "the chat template took longer than 1 s to render")


def test_a_child_killed_before_the_tokenizer_loaded_is_could_not_verify(tmp_path, monkeypatch):
    monkeypatch.setattr(chat_render, "LOAD_ALLOWANCE_S", 0.0)
    outcome = chat_render.render_once(_folder(tmp_path), 0.05)
    assert outcome.unverified and not outcome.ok and "did not load within" in outcome.message
