"""Child processes (pandoc, pdflatex, LuaLaTeX, pdftex): each runs in a process group
of its own, and the group is killed on every way out but a normal exit.

`subprocess.run(timeout=...)` kills only the child it started, not what that child
started, and nothing at all when the caller itself is ended (a build worker the
build stops because another worker's pdflatex ran past its limit): TeX would go on
running under init. Here a time limit, an exception, Ctrl-C or SIGTERM in the
calling process (`kill_all`, which a worker's SIGTERM handler calls) kills the
child's whole group.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["kill_all", "run"]

#: the process groups of the children this process is running (each led by its child)
_LIVE: set[int] = set()


def run(
    args: Sequence[str],
    *,
    timeout: float,
    input: bytes | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """`subprocess.run(args, capture_output=True, timeout=...)`, the child leading a
    process group of its own that is killed whole on a timeout (`TimeoutExpired`
    re-raised), an interrupt or any other exception."""
    proc = subprocess.Popen(
        list(args),
        stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=None if env is None else dict(env),
        process_group=0,
    )
    _LIVE.add(proc.pid)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except BaseException:
        _kill_group(proc.pid)  # before reaping: the group id is still this child's
        proc.wait()
        raise
    finally:
        _LIVE.discard(proc.pid)
    return subprocess.CompletedProcess(list(args), proc.returncode, out, err)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all() -> None:
    """Kill every child group this process is running (from a signal handler, or a
    thread that is about to end the process)."""
    for pgid in list(_LIVE):
        _kill_group(pgid)
