"""Temporary files and directories named after the process that owns them.

Several builds may run at once (two terminals, `make -j`, a watcher). Each
temporary name carries its owner's pid (``.key.pdf.partial-<pid>``, a staged
output directory ``.<assignment>.new-<pid>``,
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

__all__ = ["PARTIAL", "TMP_KINDS", "generation", "owner_alive", "stale", "sweep_tmp", "tmp_prefix"]

#: the kinds of scratch directory made in $TMPDIR (answerkey-<kind>-<pid>-...)
TMP_KINDS = ("pdf", "tex", "fmt")
#: a scratch name without a pid (an older version made those) is left this long
OLD_STYLE_AGE = 24 * 3600.0

#: a file written under a temporary name (``.NAME.partial-<pid>``)
PARTIAL = re.compile(r"\.partial-(\d+)$")
#: a directory's generation being swapped in or out (``.NAME.new-<pid>``, ``.NAME.old-<pid>``)
_GENERATION = re.compile(r"^\.(.+)\.(new|old)-(\d+)$")
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


def generation(name: str) -> tuple[str, str, int] | None:
    """``.NAME.new-<pid>`` -> (NAME, "new", pid); None for any other name."""
    m = _GENERATION.match(name)
    return None if m is None else (m.group(1), m.group(2), int(m.group(3)))


def stale(path: Path) -> bool:
    """A partial file (``.name.partial-<pid>``) or a staged generation whose build is gone."""
    m = PARTIAL.search(path.name)
    if m is not None:
        return not owner_alive(int(m.group(1)))
    gen = generation(path.name)
    return gen is not None and not owner_alive(gen[2])


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
