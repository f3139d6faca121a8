"""The build's cache on disk (``build/.cache``): data only, each entry naming what it answers.

The proof cache, the remembered verdicts, the rendered outputs and the no-op fast
path keep their entries here. An entry is one file,
``<cache>/<kind>/<key[:2]>/<key>``: a header line of JSON (``{"kind", "key",
"size", "sha256"}``), then `size` bytes of content, JSON or plain bytes, never
anything that runs when read (no pickle). `get` returns the content only when

* the file is a regular file reached without a symbolic link below the cache
  directory (no FIFO, device or link out of the cache: opened non-blocking,
  checked before a byte is read), of at most `MAX_ENTRY` bytes;
* its header names the kind and the key asked for (an entry copied or swapped
  from another key is foreign);
* its content has the size and the sha256 the header gives (not cut short,
  not edited).

Anything else is a miss: the caller computes the value again and `put` replaces
the entry; `note` (``--verbose``) says which entry was ignored and why. A cache
restored from elsewhere can at worst cost time.

The cache is bounded: `prune` removes the least recently used entries (a hit
renews an entry's date) until the whole holds at most `limit()` bytes
(``$ANSWERKEY_CACHE_MB``, default 512 MB), and anything in a kind's directory
that is not an entry (an older cache's files, a stray link). A build prunes when
it wrote entries; ``answerkey cache --prune`` and ``--clear`` do it by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .regular import write_all

#: the kinds of entry, each a directory of the cache
KINDS = ("proofs", "verdicts", "outputs", "fast")
#: an entry larger than this is not read (a PDF of a key is a few hundred kB)
MAX_ENTRY = 64 * 1024 * 1024
MAX_HEADER = 1024
DEFAULT_LIMIT_MB = 512
LIMIT_ENV = "ANSWERKEY_CACHE_MB"

_KEY = re.compile(r"^[0-9a-f]{16,128}$")
_PARTIAL = ".partial-"

Note = Callable[[str], None]


def quiet(_message: str) -> None:
    """A `Note` that says nothing."""
    pass


def limit() -> int:
    """The cache's bound in bytes ($ANSWERKEY_CACHE_MB, default 512 MB)."""
    raw = os.environ.get(LIMIT_ENV, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_LIMIT_MB
    except ValueError:
        mb = DEFAULT_LIMIT_MB
    if not 0 <= mb < 1e9:  # nan, negative, absurd
        mb = DEFAULT_LIMIT_MB
    return int(mb * 1024 * 1024)


def _check(kind: str, key: str) -> None:
    if kind not in KINDS or not _KEY.match(key):
        raise ValueError(f"not a cache entry: {kind}/{key}")


def _open_dir(root: Path, names: tuple[str, ...]) -> int:
    """A descriptor of root/names..., each name a real directory (no link)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in names:
            nxt = os.open(
                name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd
            )
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_entry(root: Path, kind: str, key: str) -> bytes:
    """The entry file's bytes; OSError or ValueError when it is not a readable regular
    file within bounds."""
    dir_fd = _open_dir(root, (kind, key[:2]))
    try:
        fd = os.open(key, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    try:
        data = _read_fd(fd, MAX_ENTRY)
        with contextlib.suppress(OSError):
            os.utime(fd)  # used now: the last to be evicted
        return data
    finally:
        os.close(fd)


def read_regular(path: Path, most: int) -> bytes:
    """The bytes of `path` if it is a regular file (not a link, FIFO or device: opened
    non-blocking, checked before a byte is read) of at most `most` bytes; else
    OSError or ValueError. For the cache's files kept outside entries (TeX formats)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return _read_fd(fd, most)
    finally:
        os.close(fd)


def _read_fd(fd: int, most: int) -> bytes:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("not a regular file")
    if st.st_size > most:
        raise ValueError(f"larger than {most} bytes")
    chunks = []
    left = st.st_size + 1  # one more: a file growing meanwhile is refused
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    data = b"".join(chunks)
    if len(data) > st.st_size:
        raise ValueError("changed while read")
    return data


def _parse(data: bytes, kind: str, key: str) -> bytes:
    end = data.find(b"\n", 0, MAX_HEADER)
    if end < 0:
        raise ValueError("no header")
    header = json.loads(data[:end])
    if not isinstance(header, dict) or set(header) != {"kind", "key", "size", "sha256"}:
        raise ValueError("not an entry's header")
    if header["kind"] != kind or header["key"] != key:
        raise ValueError(f"an entry for {header['kind']}/{str(header['key'])[:16]}, not this key")
    content = data[end + 1 :]
    if header["size"] != len(content):
        raise ValueError(f"{len(content)} bytes of content, the header says {header['size']}")
    if header["sha256"] != hashlib.sha256(content).hexdigest():
        raise ValueError("content does not match its digest")
    return content


def get(root: Path | None, kind: str, key: str, note: Note = quiet) -> bytes | None:
    """The content stored for `key`, or None (absent, or not to be trusted: noted)."""
    if root is None:
        return None
    _check(kind, key)
    try:
        data = _read_entry(root, kind, key)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        note(f"cache: ignored {kind}/{key[:2]}/{key}: {_why(exc)}; computed again")
        return None
    try:
        return _parse(data, kind, key)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        note(f"cache: ignored {kind}/{key[:2]}/{key}: {_why(exc)}; computed again")
        return None


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def put(root: Path | None, kind: str, key: str, content: bytes) -> None:
    """Store `content` for `key`, atomically; a cache that cannot be written only
    costs time. Nothing is written through a link out of the cache."""
    if root is None or len(content) > MAX_ENTRY - MAX_HEADER:
        return
    _check(kind, key)
    header = {
        "kind": kind,
        "key": key,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    data = json.dumps(header, sort_keys=True).encode() + b"\n" + content
    tmp = f".{key}{_PARTIAL}{os.getpid()}"
    try:
        (root / kind / key[:2]).mkdir(parents=True, exist_ok=True)
        dir_fd = _open_dir(root, (kind, key[:2]))
    except OSError:
        return
    try:
        fd = os.open(
            tmp,
            os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o644,
            dir_fd=dir_fd,
        )
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, key, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def get_json(root: Path | None, kind: str, key: str, note: Note = quiet) -> object | None:
    """`get`, read as JSON (None when absent, untrusted or not JSON)."""
    content = get(root, kind, key, note)
    if content is None:
        return None
    try:
        return json.loads(content)  # type: ignore[no-any-return]
    except (ValueError, UnicodeDecodeError):
        note(f"cache: ignored {kind}/{key[:2]}/{key}: not JSON; computed again")
        return None


def put_json(root: Path | None, kind: str, key: str, value: object) -> None:
    put(root, kind, key, json.dumps(value, sort_keys=True, allow_nan=True).encode())


# --- the bound -------------------------------------------------------------------------


@dataclass
class Usage:
    """The entries of a cache (and what `prune` did to it)."""

    entries: int = 0
    size: int = 0
    evicted: int = 0
    strays: int = 0

    def describe(self, bound: int | None = None) -> str:
        text = f"cache: {self.entries} entries, {self.size / 1e6:.1f} MB"
        if bound is not None:
            return text + f" (bound {bound / 1e6:.1f} MB)"
        return (
            text + f" kept; {self.evicted} least recently used evicted, "
            f"{self.strays} stray files removed"
        )


def _scan(root: Path, strays: list[Path]) -> list[tuple[float, int, Path]]:
    """Every entry as (last used, size, path), most recent first; what is no entry (an
    older cache's files, a link, a FIFO) goes to `strays`. Partial files are left alone."""
    found: list[tuple[float, int, Path]] = []
    for kind in KINDS:
        top = root / kind
        try:
            if not stat.S_ISDIR(os.lstat(top).st_mode):
                strays.append(top)
                continue
        except OSError:
            continue
        for dirpath, dirnames, filenames in os.walk(top):  # links are not followed
            here = Path(dirpath)
            for name in dirnames + filenames:
                p = here / name
                if _PARTIAL in name:
                    continue
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if here != top or len(name) != 2:
                        strays.append(p)
                        dirnames.remove(name)
                elif (
                    stat.S_ISREG(st.st_mode)
                    and _KEY.match(name) is not None
                    and here.parent == top
                    and here.name == name[:2]
                ):
                    found.append((st.st_mtime, st.st_size, p))
                else:
                    strays.append(p)
    found.sort(key=lambda e: (e[0], str(e[2])), reverse=True)
    return found


def usage(root: Path) -> Usage:
    """How many entries the cache holds, and their size."""
    found = _scan(root, [])
    return Usage(entries=len(found), size=sum(size for _t, size, _p in found))


def prune(root: Path, bound: int | None = None) -> Usage:
    """Keep at most `bound` bytes (default `limit()`) of entries, the most recently used;
    remove what is no entry."""
    bound = limit() if bound is None else bound
    strays: list[Path] = []
    found = _scan(root, strays)
    result = Usage(strays=len(strays))
    for path in strays:
        _remove(path)
    for _mtime, size, path in found:
        if result.size + size <= bound:
            result.size += size
            result.entries += 1
        else:
            _remove(path)
            result.evicted += 1
    return result


def clear(root: Path) -> None:
    """Remove every entry (the other tools' caches beside them are left alone)."""
    for kind in KINDS:
        _remove(root / kind)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
