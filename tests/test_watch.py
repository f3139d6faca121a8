"""`answerkey watch`: a real file change rebuilds, a broken one keeps the last good outputs,
Ctrl-C stops cleanly.

The watcher runs as a user runs it, in its own process, on a copy of the project
(engine, solutions, templates, terms) so the test can edit a solution module
without touching the real one; it builds Markdown only, so no TeX is needed.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from answerkey import watch

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent
CV = "cv-assignment9"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    for name in ("answerkey", "solutions", "templates", "terms"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


class Watcher:
    """`python -m answerkey.cli watch ...` in `cwd`, its output lines in a queue."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {**os.environ, "ANSWERKEY_REVISION": "test", "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "answerkey.cli", "watch", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, containing: str, timeout: float = 120) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if containing in line:
                return line
        raise AssertionError(f"no line with {containing!r} in time; saw {self.seen}")

    def rest(self) -> str:
        """Everything printed after the last line read, once the watcher has exited."""
        self.reader.join(timeout=10)
        out = []
        while not self.lines.empty():
            out.append(self.lines.get())
        return "\n".join(out)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_a_real_change_rebuilds_a_broken_one_keeps_the_outputs_and_ctrl_c_stops(
    project: Path,
) -> None:
    module = project / "solutions" / "cv_assignment9.py"
    key = project / "build" / "default" / CV / "key.md"
    w = Watcher(project, CV, "--format", "md", "-j", "1")
    try:
        w.next_line("watching")
        first = w.next_line("first build")
        assert re.search(rf"default/{CV} \(\d+ checks\)", first), first
        good = key.read_bytes()

        # the watcher listens from before the first build on
        module.write_text(module.read_text() + "\n# an author's note\n")
        line = w.next_line("changed")
        assert "solutions/cv_assignment9.py changed: built in" in line
        assert re.search(rf"default/{CV} \(\d+ checks\)", line), line

        original = module.read_text()
        module.write_text(original + "\nthis is not python(\n")
        failed = w.next_line("changed")
        assert "build FAILED" in failed and "last good outputs kept" in failed
        error = w.next_line("answerkey: error:")
        assert "solutions/cv_assignment9.py" in error and "SyntaxError" in error
        assert key.read_bytes() == good

        module.write_text(original.replace("# an author's note", "# another note"))
        assert "built in" in w.next_line("changed")

        w.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert w.proc.wait(timeout=60) in (0, 130)
        rest = w.rest()
        assert "Traceback" not in rest and "stopped watching" in rest, rest
    finally:
        w.stop()


def test_only_source_files_count(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    assert watch.relevant(tmp_path / "solutions" / "x.py", tmp_path)
    assert watch.relevant(tmp_path / "solutions" / "claims" / "x.toml", tmp_path)
    assert watch.relevant(tmp_path / "templates" / "document.tex.j2", tmp_path)
    assert not watch.relevant(tmp_path / "solutions" / ".x.py.swp", tmp_path)
    assert not watch.relevant(tmp_path / "solutions" / "x.py~", tmp_path)
    assert not watch.relevant(tmp_path / "solutions" / "__pycache__" / "x.pyc", tmp_path)
    assert not watch.relevant(tmp_path / "solutions" / "notes.txt", tmp_path)


def test_a_rebuild_is_summed_up_from_the_builds_progress_lines() -> None:
    out = (
        "built  default/cv-assignment9: 93 checks, 10 files in 1.4s (render 0.8s)\n"
        "cached default/practical-1 (125 checks)\n"
    )
    assert watch.summary(out) == "default/cv-assignment9 (93 checks)"
    assert "up to date" in watch.summary("cached default/practical-1: up to date\n")
