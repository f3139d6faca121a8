"""Publishing: an output directory is replaced as a whole, even under kill -9.

A directory's new generation (its files and its stamp, ``.stamp.json``) is
staged beside it under a hidden name owned by the build's pid
(``.<assignment>.new-<pid>``), then swapped in by one ``renameat2(...,
RENAME_EXCHANGE)``; the old generation, now under the hidden name, is removed.
Where the filesystem or the C library cannot exchange (EINVAL, ENOSYS, no
``renameat2``), the old generation is first renamed aside
(``.NAME.old-<pid>``) and the new one renamed in; a kill between those two
renames leaves no directory under the real name, and the next build's start-up
sweep (`recover`) finishes the swap. Whatever a directory holds that is not its
own output (the variant-NN directories and variants.json beside an assignment's
key) is carried into the new generation as hard links, so nothing leaves the
old generation before the swap and a staged generation never holds the only
copy of anything: a dead build's staged generation is simply removed.

Builds running at once serialise their publishing (one lock per output root,
``.cache/publish.lock``, released by the kernel when its holder dies) but not
their work; the start-up sweep removes only what dead builds left. Each build
also holds ``.cache/build.lock`` shared for as long as it runs (`building`), and
`clean` takes it exclusively, so it refuses while a build runs: a build never
reports directories that were removed under it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from . import cache, scratch
from .errors import EnvironmentProblem
from .regular import write_new

__all__ = [
    "STAMP",
    "BuildRunning",
    "building",
    "checkpoint",
    "clean",
    "publishing",
    "recover",
    "replace_file",
    "swap_in",
]

#: a directory's stamp (`cache.py`), inside it so that it is swapped with the files
STAMP = cache.STAMP_NAME
#: with this variable set to a moment of `swap_in`, a build stops there (tests only)
PAUSE_VARIABLE = "ANSWERKEY_PAUSE"


def checkpoint(moment: str) -> None:
    """Tests only: with $ANSWERKEY_PAUSE=<moment> the build says so on stderr and
    waits there, so that a test can kill it at that moment of publishing."""
    if os.environ.get(PAUSE_VARIABLE) == moment:
        print(f"answerkey: paused at {moment}", file=sys.stderr, flush=True)
        time.sleep(600)


@contextlib.contextmanager
def publishing(out_root: Path) -> Iterator[None]:
    """Hold the output root's publishing lock (not re-entrant). A POSIX record lock:
    released when its process dies, and not held by a process forked meanwhile (a
    worker), which with flock() would keep it after we let go."""
    path = out_root / ".cache" / "publish.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class BuildRunning(EnvironmentProblem):
    """`clean` while a build runs in the same output root (exit 3)."""


def _build_lock(out_root: Path, mode: int) -> int:
    """An open descriptor holding `mode` (LOCK_SH, LOCK_EX, with LOCK_NB) on
    out_root/.cache/build.lock: the file at that path now, not one `clean` removed
    while we waited for it."""
    path = out_root / ".cache" / "build.lock"
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.lockf(fd, mode)
            held = os.fstat(fd)
            try:
                now = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                now = None
        except BaseException:
            os.close(fd)
            raise
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            return fd
        os.close(fd)


@contextlib.contextmanager
def building(out_root: Path) -> Iterator[None]:
    """Held (shared: builds run side by side) for the whole of a build, so that
    `clean` cannot remove what it is about to publish or report."""
    fd = _build_lock(out_root, fcntl.LOCK_SH)
    try:
        checkpoint("building")
        yield
    finally:
        os.close(fd)


def clean(out_root: Path) -> bool:
    """Remove `out_root` (every term's outputs and the caches); False when there was
    none. Refused (`BuildRunning`) while a build runs there: never half of what a
    build publishes or reports."""
    if not out_root.is_dir() or out_root.is_symlink():
        if out_root.is_symlink() or out_root.exists():
            raise EnvironmentProblem(f"{out_root}: not a directory, so not removed")
        return False
    try:
        fd = _build_lock(out_root, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        raise BuildRunning(
            f"{out_root}: a build is running there; not removed (wait for it, or stop it)"
        ) from None
    try:
        shutil.rmtree(out_root)
    finally:
        os.close(fd)
    return True


def replace_file(path: Path, data: bytes) -> None:
    """Write one file atomically: under a pid-owned temporary name, then renamed over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.unlink(missing_ok=True)  # ours, from an earlier attempt: never written through
    try:
        write_new(tmp, data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _renameat2() -> Any:
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2  # glibc >= 2.28
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _renameat2() if sys.platform.startswith("linux") else None


def exchange(a: Path, b: Path) -> None:
    """Swap two existing paths in one step; OSError(ENOSYS) where that is not possible."""
    if _RENAMEAT2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a), None, str(b))


#: errors that mean "this filesystem (or kernel) cannot exchange": use the fallback
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


def staged_name(directory: Path, kind: str, pid: int | None = None) -> Path:
    return directory.with_name(f".{directory.name}.{kind}-{pid or os.getpid()}")


def swap_in(directory: Path, files: Mapping[str, bytes], stamp: bytes) -> None:
    """Replace `directory` by a generation holding `files` and `stamp` (plus what it
    holds that is not its own output), in one step. Call with the lock held."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    recover(directory.parent)
    new = staged_name(directory, "new")
    old = staged_name(directory, "old")
    shutil.rmtree(new, ignore_errors=True)  # our own, from an earlier failed attempt
    try:
        new.mkdir()
        for name, data in files.items():
            (new / name).write_bytes(data)
        if directory.is_dir():
            _carry(directory, new, set(files))
        (new / STAMP).write_bytes(stamp)  # last: a staged generation with a stamp is whole
        checkpoint("staged")
        if not directory.exists():
            os.rename(new, directory)
            return
        try:
            exchange(new, directory)
        except OSError as exc:
            if exc.errno not in _NO_EXCHANGE:
                raise
            os.rename(directory, old)
            try:
                checkpoint("aside")
                os.rename(new, directory)
            except BaseException:  # not a kill (the next build sees to that): undo
                os.rename(old, directory)
                raise
            checkpoint("swapped")
            shutil.rmtree(old, ignore_errors=True)
        else:
            checkpoint("swapped")  # the old generation is under the staged name now
    finally:
        shutil.rmtree(new, ignore_errors=True)


def _own(directory: Path) -> set[str]:
    """The names a directory's generation owns: the files its stamp lists (without a
    readable stamp, every plain file but variants.json, as built before stamps moved)."""
    try:
        stamp = json.loads((directory / STAMP).read_text(encoding="utf-8"))
        return set(stamp["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return {
            e.name
            for e in os.scandir(directory)
            if e.is_file(follow_symlinks=False) and e.name != "variants.json"
        }


def _carry(directory: Path, new: Path, taken: set[str]) -> None:
    """Hard-link into the staged generation what `directory` holds but does not own."""
    skip = _own(directory) | taken | {STAMP}
    for entry in os.scandir(directory):
        if entry.name in skip or _is_scratch(entry.name):
            continue
        _link_tree(Path(entry.path), new / entry.name)


def _link_tree(src: Path, dst: Path) -> None:
    if src.is_symlink() or not src.is_dir():
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:  # no hard links here (another filesystem's rules): a copy
            shutil.copy2(src, dst, follow_symlinks=False)
        return
    dst.mkdir()
    for entry in os.scandir(src):
        if not _is_scratch(entry.name):
            _link_tree(Path(entry.path), dst / entry.name)


def _is_scratch(name: str) -> bool:
    return scratch.generation(name) is not None or scratch.PARTIAL.search(name) is not None


def recover(parent: Path) -> None:
    """Finish or undo what dead builds left in `parent`: a swap stopped between its
    two renames is completed, staged and old generations and partial files removed.
    A live build's are left alone. Call with the lock held."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    dead: dict[tuple[str, int], set[str]] = {}
    for name in names:
        gen = scratch.generation(name)
        if gen is not None and not scratch.owner_alive(gen[2]):
            dead.setdefault((gen[0], gen[2]), set()).add(gen[1])
        elif scratch.stale(Path(name)):
            (parent / name).unlink(missing_ok=True)
    for (name, pid), kinds in sorted(dead.items()):
        live = parent / name
        if not live.exists():
            # stopped between the fallback's two renames: the staged generation is
            # whole (it was staged before the old one went aside), so it goes in
            source = "new" if {"new", "old"} <= kinds else "old" if "old" in kinds else None
            if source is not None:
                os.rename(staged_name(live, source, pid), live)
        for kind in kinds:
            shutil.rmtree(staged_name(live, kind, pid), ignore_errors=True)


def sweep(root: Path) -> None:
    """`recover` in `root` and every visible directory below it (the start-up sweep)."""
    if not root.is_dir():
        return
    recover(root)
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
            sweep(Path(entry.path))
