"""Atomic writes: readers see the old file or the new one, with ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shlepa.io import atomic


def test_a_new_file_gets_the_mode_open_would_give_not_mkstemps_0600(tmp_path: Path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    atomic.write_text(tmp_path / "requests" / "a.yaml", "model: org/a\n")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    mode = stat.S_IMODE((tmp_path / "requests" / "a.yaml").stat().st_mode)
    assert mode == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~mask


def test_a_failed_write_leaves_the_old_content_and_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "results.json"
    atomic.write_json(target, {"v": 1})

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(atomic.WriteError, match=r"results\.json: No space left on device"):
        atomic.write_json(target, {"v": 2})
    assert target.read_text() == '{\n  "v": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
