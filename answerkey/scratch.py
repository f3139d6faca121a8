"""Temporary files and directories named after the process that owns them.

Several builds may run at once (two terminals, `make -j`, a watcher). Each
temporary name carries its owner's pid (``.key.pdf.partial-<pid>``,
``$TMPDIR/answerkey-tex-<pid>-xxxx``), so a build sweeps only what a *dead*
build left (killed with SIGKILL, say), never a live build's files mid-publish.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["TMP_KINDS", "owner_alive", "stale", "sweep_tmp", "tmp_prefix"]

#: the kinds of scratch directory made in $TMPDIR (answerkey-<kind>-<pid>-...)
TMP_KINDS = ("pdf", "tex", "fmt")
#: a scratch name without a pid (an older version made those) is left this long
OLD_STYLE_AGE = 24 * 3600.0

_PID_SUFFIX = re.compile(r"\.partial-(\d+)$")
_TMP_NAME = re.compile(rf"^answerkey-(?:{'|'.join(TMP_KINDS)})-(?:(\d+)-)?")


def owner_alive(pid: int) -> bool:
    """Whether process `pid` exists (ours, or anyone's we may not signal)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale(path: Path) -> bool:
    """A partial file (``.name.partial-<pid>``) whose build is gone."""
    m = _PID_SUFFIX.search(path.name)
    return m is not None and not owner_alive(int(m.group(1)))


def tmp_prefix(kind: str) -> str:
    """The prefix for a scratch directory of this process (tempfile's `prefix`)."""
    return f"answerkey-{kind}-{os.getpid()}-"


def sweep_tmp(root: Path | None = None) -> list[Path]:
    """Remove the scratch directories dead builds left in $TMPDIR; returns them."""
    base = Path(root or tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return []
    now = time.time()
    for entry in entries:
        m = _TMP_NAME.match(entry.name)
        if m is None:
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if m.group(1) is not None:
                if owner_alive(int(m.group(1))):
                    continue
            elif now - entry.stat(follow_symlinks=False).st_mtime < OLD_STYLE_AGE:
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed
