"""Reading a file the tool did not write (a term, claims or errata file, a template)
only if it is a regular file: never a FIFO (whose open() blocks until a writer
comes, hanging every build), a device (/dev/zero, read without end) or a socket.

The file is opened without blocking (O_NONBLOCK: opening a FIFO returns at once),
checked with fstat on the open descriptor (no window between the check and the
read), and read up to a limit. `within`: the file must also resolve inside that
directory (a symlink in `templates/` may not lead out of it).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import AnswerkeyError, UsageError

__all__ = ["read_regular", "regular_problem", "write_all", "write_new"]


def regular_problem(path: Path, what: str, within: Path | None = None) -> str | None:
    """Why `path` would not be read as a `what` (a FIFO, a device, a directory, a
    symlink out of `within`), or None when it is a regular file (or missing)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: cannot read the {what}: {exc.strerror or exc}"
    if within is not None and not path.resolve().is_relative_to(within.resolve()):
        return f"{path}: a symlink out of {within}, not read as a {what}"
    if stat.S_ISDIR(mode):
        return f"{path}: is a directory, not a {what}"
    if not stat.S_ISREG(mode):
        return f"{path}: {_kind(mode)}, not a regular file, so not read as a {what}"
    return None


def read_regular(
    path: Path,
    what: str = "file",
    max_bytes: int | None = None,
    within: Path | None = None,
    error: type[AnswerkeyError] = UsageError,
) -> bytes:
    """The bytes of `path`, a regular file of at most `max_bytes`; anything else is one
    `error` naming the file: missing, a directory, a FIFO or a device, too large."""
    if within is not None and not path.resolve().is_relative_to(within.resolve()):
        raise error(f"{path}: a symlink out of {within}, not read as a {what}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{path}: is a directory, not a {what}")
        if not stat.S_ISREG(mode):
            raise error(f"{path}: {_kind(mode)}, not a regular file, so not read as a {what}")
        os.set_blocking(fd, True)
        chunks, size = [], 0
        limit = None if max_bytes is None else max_bytes + 1
        while limit is None or size < limit:
            chunk = os.read(fd, 1 << 20 if limit is None else min(1 << 20, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if max_bytes is not None and len(data) > max_bytes:
        raise error(f"{path}: larger than {max_bytes // 1024} kB, the limit for a {what}")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def write_new(path: Path, data: bytes) -> None:
    """Create `path` holding `data`: never through a symlink (a dangling one included)
    nor over anything already there (FileExistsError)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o644)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to the open file `fd` (one `os.write` may write less)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
