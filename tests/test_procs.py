"""A child process runs in a process group of its own, killed whole on every way out."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from answerkey import procs


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped by init) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_normal_run_is_subprocess_run_with_output_captured(tmp_path: Path) -> None:
    proc = procs.run(["sh", "-c", "cat; echo err >&2; exit 3"], input=b"in", timeout=10)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, b"in", b"err\n")
    assert procs.run(["pwd"], cwd=tmp_path, timeout=10).stdout.decode().strip() == str(tmp_path)


def test_past_the_time_limit_the_child_and_what_it_started_are_killed(tmp_path: Path) -> None:
    script = "sleep 60 & echo $! > grandchild; echo $$ > child; wait"
    with pytest.raises(subprocess.TimeoutExpired):
        procs.run(["sh", "-c", script], cwd=tmp_path, timeout=1)
    for name in ("child", "grandchild"):
        assert gone(int((tmp_path / name).read_text())), f"the {name} is still running"


def test_kill_all_kills_the_groups_still_running(tmp_path: Path) -> None:
    child = subprocess.Popen(["sleep", "60"], process_group=0)
    procs._LIVE.add(child.pid)
    try:
        procs.kill_all()
        assert child.wait(timeout=5) == -9
    finally:
        procs._LIVE.discard(child.pid)
