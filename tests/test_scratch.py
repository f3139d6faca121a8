"""Temporary names carry their owner's pid: a build sweeps only what dead builds left."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from answerkey import build, scratch


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def live_pid() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_only_a_dead_builds_partials_are_swept(tmp_path: Path) -> None:
    other = live_pid()
    try:
        dead = tmp_path / f".key.pdf.partial-{dead_pid()}"
        alive = tmp_path / f".key.pdf.partial-{other.pid}"
        mine = tmp_path / f".key.md.partial-{os.getpid()}"
        for p in (dead, alive, mine):
            p.write_bytes(b"half")
        build.sweep_partials(tmp_path)
        assert not dead.exists()
        assert alive.exists() and mine.exists()
        # publishing into the directory does not take a concurrent build's file either
        build.publish(tmp_path, {"key.tex": b"x"})
        assert alive.exists()
        assert (tmp_path / "key.tex").read_bytes() == b"x"
    finally:
        other.kill()
        other.wait()


def test_scratch_directories_of_dead_builds_are_removed(tmp_path: Path) -> None:
    other = live_pid()
    try:
        dead = tmp_path / f"answerkey-tex-{dead_pid()}-abc"
        alive = tmp_path / f"answerkey-pdf-{other.pid}-abc"
        old_style = tmp_path / "answerkey-fmt-xyz"
        unrelated = tmp_path / "someone-else"
        for d in (dead, alive, old_style, unrelated):
            d.mkdir()
            (d / "doc.tex").write_text("x")
        os.utime(old_style, (0, 0))
        assert sorted(scratch.sweep_tmp(tmp_path)) == sorted([dead, old_style])
        assert alive.exists() and unrelated.exists()
    finally:
        other.kill()
        other.wait()


def test_scratch_names_carry_the_pid() -> None:
    with tempfile.TemporaryDirectory(prefix=scratch.tmp_prefix("tex")) as tmp:
        assert Path(tmp).name.startswith(f"answerkey-tex-{os.getpid()}-")
    assert scratch.owner_alive(os.getpid())
    assert not scratch.owner_alive(dead_pid())
