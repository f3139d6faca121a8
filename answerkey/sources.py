"""The exact bytes: the engine and the solution modules run the source their digests hash.

Python reuses a module's bytecode (``__pycache__/*.pyc``) when the source's
modification time and size are the ones recorded in it. An edit that keeps both
(``cp -p``, ``rsync -t``, ``tar x``, some editors and checkouts) then runs the old
code while the stamps and the proof cache, which hash the source, describe the new:
a wrong step published as verified. So the packages ``answerkey`` and ``solutions``
are imported by `ExactLoader` (put in place by ``answerkey/__init__.py``, before any
other module of the engine): it reads a module's source once, runs the code
compiled from those very bytes, and keeps them. Bytecode is reused only from a
hash-checked ``.pyc`` (PEP 552) whose hash is of these bytes; any other ``.pyc``
(by date, unchecked, foreign, damaged) is ignored and written again, hash-checked.

`read` is how a digest reads a file: a module already imported gives the bytes it
was imported from, any other file what it holds now, remembered, so that a module
imported later from other bytes than a digest saw (an edit during a build) fails
to import rather than run unhashed code.

This module is loaded by ``answerkey/__init__.py`` from its source (never from
bytecode) and uses the standard library only.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import CodeType, ModuleType

#: the packages whose modules run their exact source
PACKAGES = ("answerkey", "solutions")

_FLAGS_CHECKED_HASH = (0b11).to_bytes(4, "little")  # PEP 552: hash-based, checked
_loaded: dict[str, bytes] = {}  # real path -> the bytes a module was imported from
_seen: dict[str, bytes] = {}  # real path -> the bytes a digest last read
_expected: dict[str, str] = {}  # real path -> sha256 a parent process hashed (`expect`)


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(path)


def read(path: str | os.PathLike[str]) -> bytes:
    """The bytes a digest must hash for `path`: those its module was imported from
    when it is one, else the file's present content (remembered, see `ExactLoader`)."""
    key = _key(path)
    data = _loaded.get(key)
    if data is not None:
        return data
    data = Path(path).read_bytes()
    _seen[key] = data
    return data


def adopt(path: str | os.PathLike[str], data: bytes) -> None:
    """Record that the module at `path` runs `data` (for a module loaded by hand)."""
    _loaded[_key(path)] = data


def snapshot() -> dict[str, str]:
    """The sha256 of every file this process imported or hashed, by real path: what
    its worker processes must run (`expect`)."""
    files = {**_seen, **_loaded}
    return {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}


def expect(digests: dict[str, str]) -> None:
    """In a worker process: import a file only with the bytes the build hashed (a
    worker started afresh, not forked, reads the modules again)."""
    _expected.update(digests)


def _pyc_header(data: bytes) -> bytes:
    return importlib.util.MAGIC_NUMBER + _FLAGS_CHECKED_HASH + importlib.util.source_hash(data)


def code_for(path: str, data: bytes, write: bool = True) -> CodeType:
    """The code of source `data` (of the file `path`): from its hash-checked .pyc when
    that is of these bytes, else compiled (and the .pyc written, when `write`)."""
    header = _pyc_header(data)
    try:
        pyc: str | None = importlib.util.cache_from_source(path)
    except (NotImplementedError, ValueError):
        pyc = None
    if pyc is not None:
        try:
            with open(pyc, "rb") as f:
                cached = f.read()
            if cached[:16] == header:
                code = marshal.loads(cached[16:])
                if isinstance(code, CodeType) and code.co_filename == path:
                    return code
        except (OSError, ValueError, EOFError, TypeError):
            pass
    code = compile(data, path, "exec", dont_inherit=True)
    if pyc is not None and write:
        _write_pyc(pyc, header + marshal.dumps(code))
    return code


def _write_pyc(pyc: str, body: bytes) -> None:
    """Atomically; bytecode that cannot be written only costs time."""
    tmp = f"{pyc}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(pyc), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(body)
        os.replace(tmp, pyc)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


class ExactLoader(importlib.machinery.SourceFileLoader):
    """Runs the code compiled from the bytes it read, and records them (`read`)."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        key = _key(path)
        data = Path(path).read_bytes()
        seen = _seen.get(key)
        want = _expected.get(key)
        if (seen is not None and seen != data) or (
            want is not None and want != hashlib.sha256(data).hexdigest()
        ):
            raise ImportError(
                f"{path} changed after answerkey read it for this build's digests; "
                "build again once the edit is saved",
                name=fullname,
                path=path,
            )
        _loaded[key] = data
        return code_for(path, data, write=not sys.dont_write_bytecode)


class ExactFinder(importlib.abc.MetaPathFinder):
    """Finds `PACKAGES`' modules with the finders after it, and loads their source with
    `ExactLoader`."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in PACKAGES:
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, ExactFinder):
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        origin = spec.origin or ""
        if type(spec.loader) is importlib.machinery.SourceFileLoader and origin.endswith(".py"):
            spec.loader = ExactLoader(fullname, origin)
        return spec


def install() -> None:
    """Put `ExactFinder` first on the import path (once per process)."""
    if not any(isinstance(f, ExactFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, ExactFinder())


def precompile(roots: Iterable[str | os.PathLike[str]]) -> int:
    """Write the hash-checked .pyc of every .py under `roots` whose bytecode is missing
    or not of its bytes (`make setup`: bytecode even with PYTHONDONTWRITEBYTECODE).
    Returns how many were written."""
    written = 0
    for root in roots:
        for path in sorted(Path(root).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            name = str(path.resolve())
            data = path.read_bytes()
            pyc = importlib.util.cache_from_source(name)
            try:
                with open(pyc, "rb") as f:
                    if f.read(16) == _pyc_header(data):
                        continue
            except OSError:
                pass
            try:
                code_for(name, data)
            except SyntaxError:
                continue  # the import will say where
            written += 1
    return written
