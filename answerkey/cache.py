"""Stamps: what each output directory was built from, so a rebuild skips only what is fresh.

An output directory depends on the solution module's source (and the helper
modules of `solutions` it imports), its claims file (the errata), the engine's
source (answerkey/*.py), the templates, the constraints file the tools were
installed from, the term's parameters and title-page text, the formats asked for,
and the versions of SymPy, NumPy, pandoc and TeX. Each input kind gets its own
digest; the stamp (<dir>/.stamp.json, inside the directory so that it is
published with the files it describes: `publish.py`) keeps them with the
sha256 of every file written. A directory is fresh only when every digest
matches and every file is still there with the same bytes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from . import sources
from .errors import UsageError
from .regular import read_regular, regular_problem
from .tomlfile import MAX_BYTES as TOML_MAX_BYTES
from .tomlfile import TomlFileError

ENGINE_DIR = Path(__file__).resolve().parent
ROOT = ENGINE_DIR.parent
#: the Jinja and pandoc templates (rendering and typesetting read them; their digest keys outputs)
TEMPLATES = ROOT / "templates"
STAMP_VERSION = 1
STAMP_NAME = ".stamp.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_digest(paths: Iterable[Path], base: Path | None = None) -> str:
    """One digest over the names and contents of `paths` (a module's: the bytes it runs,
    `sources.read`), each a regular file (a FIFO or a device is one error naming it,
    exit 2, never a build waiting on it)."""
    h = hashlib.sha256()
    for p in sorted(set(paths)):
        name = str(p.relative_to(base)) if base is not None else p.name
        problem = regular_problem(p, "source file")
        if problem is not None:
            raise UsageError(problem)
        h.update(name.encode() + b"\0" + sources.read(p) + b"\0")
    return h.hexdigest()


@functools.cache
def engine_digest() -> str:
    """The engine's source: every answerkey/**/*.py, the kit too (read once per process)."""
    return files_digest(ENGINE_DIR.rglob("*.py"), ENGINE_DIR)


#: the earlier published solutions' claims, graded into each key's errata
CLAIMS_DIR = ROOT / "solutions" / "claims"
#: the pinned versions of every Python package a build uses (README, "Pinned tools")
LOCK_FILE = ROOT / "constraints.txt"


def claims_digest(assignment_id: str) -> str:
    """The claims file of an assignment (its errata), or "none" without one."""
    path = CLAIMS_DIR / f"{assignment_id}.toml"
    if not os.path.lexists(path):
        return "none"
    return sha256(read_regular(path, "claims file", TOML_MAX_BYTES, error=TomlFileError))


@functools.cache
def lock_digest() -> str:
    """The constraints file the tools were installed from (an upgrade rebuilds)."""
    try:
        return sha256(LOCK_FILE.read_bytes())
    except FileNotFoundError:
        return "none"


def templates_digest(templates: Path) -> str:
    """The templates' digest; each must be a regular file inside `templates` (a FIFO,
    a device or a symlink out of it is one error naming it: a template is read by
    Jinja, pandoc and TeX, none of which should wait on a pipe)."""
    paths = [p for p in templates.rglob("*") if not p.is_dir()]
    for p in paths:
        problem = regular_problem(p, "template", templates)
        if problem is not None:
            raise UsageError(problem)
    return files_digest(paths, templates)


def module_files(module: ModuleType) -> list[Path]:
    """A solution module's file and the files of the `solutions` modules it imports."""
    seen: list[Path] = []
    todo = [Path(str(module.__file__))]
    while todo:
        path = todo.pop()
        if path in seen or not path.exists():
            continue
        seen.append(path)
        for node in ast.walk(ast.parse(sources.read(path).decode("utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    names = [node.module or ""] + [a.name for a in node.names]
                elif node.module and node.module.split(".")[0] == "solutions":
                    names = [node.module.split(".", 1)[1] if "." in node.module else ""]
                    names += [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [
                    a.name.split(".", 1)[1] for a in node.names if a.name.startswith("solutions.")
                ]
            for name in names:
                if name:
                    todo.append(path.parent / (name.split(".")[0] + ".py"))
    return seen


def module_digest(module: ModuleType) -> str:
    files = module_files(module)
    return files_digest(files, files[0].parent) if files else "none"


@functools.cache
def tool_versions() -> dict[str, str]:
    """SymPy, NumPy, pandoc and TeX versions (TeX: first line of `pdflatex --version`)."""
    import numpy
    import pypandoc
    import sympy

    return {
        "sympy": sympy.__version__,
        "numpy": numpy.__version__,
        "pandoc": str(pypandoc.get_pandoc_version()),
        "tex": tex_version(),
    }


@functools.cache
def tex_version() -> str:
    """The first line of `pdflatex --version` ("none" without TeX). Apart from
    `tool_versions` so the PDFs' format, keyed by it, is named without importing
    SymPy and NumPy (`pdf.start_tex_format` runs while the build imports them)."""
    pdflatex = shutil.which("pdflatex")
    if not pdflatex:
        return "none"
    try:
        out = subprocess.run(
            [pdflatex, "--version"], capture_output=True, text=True, check=False, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.splitlines()[0].strip() if out else "unknown"


@functools.cache
def git_revision() -> str:
    """The short git revision of the source tree, or "unknown" outside git.

    $ANSWERKEY_REVISION, when set, is used instead (a build from a tarball, or
    tests that must not see a commit made meanwhile)."""
    pinned = os.environ.get("ANSWERKEY_REVISION", "").strip()
    if pinned:
        return pinned
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        proc = subprocess.run(
            [git, "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    rev = proc.stdout.strip()
    return rev if proc.returncode == 0 and rev else "unknown"


def value_digest(value: Any) -> str:
    return sha256(json.dumps(value, sort_keys=True, default=repr).encode())


def stamp_path(directory: Path) -> Path:
    """A directory's stamp: a hidden file in it, swapped in and out with its files."""
    return directory / STAMP_NAME


def read_stamp(path: Path) -> dict[str, Any] | None:
    """A directory's stamp; None when missing, unreadable or not a regular file (a FIFO
    planted there is a stale directory, never a build waiting on it)."""
    try:
        stamp = json.loads(read_regular(path, "stamp", error=_Unreadable).decode("utf-8"))
    except (OSError, ValueError, _Unreadable):
        return None
    if not isinstance(stamp, dict) or stamp.get("version") != STAMP_VERSION:
        return None
    return stamp


def digest(inputs: Mapping[str, str]) -> str:
    """One digest of every input but the formats (a build of more formats covers fewer)."""
    return value_digest({k: v for k, v in inputs.items() if k != "formats"})


def _formats(inputs: Mapping[str, Any]) -> set[str]:
    return set(filter(None, str(inputs.get("formats", "")).split(",")))


def is_current(stamp: Mapping[str, Any] | None, inputs: Mapping[str, str]) -> bool:
    """Same inputs as the stamp (formats: at least those asked for now)."""
    if stamp is None or stamp.get("digest") != digest(inputs):
        return False
    return _formats(inputs) <= _formats(stamp.get("inputs", {}))


def is_fresh(stamp: Mapping[str, Any] | None, inputs: Mapping[str, str], directory: Path) -> bool:
    """Same inputs as the stamp (formats: at least those asked for now), and every file
    written then still has its bytes."""
    if not is_current(stamp, inputs):
        return False
    assert stamp is not None
    files = stamp.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for name, want in files.items():
        try:
            if sha256(read_regular(directory / name, "output", error=_Unreadable)) != want:
                return False
        except _Unreadable:
            return False
    return True


class _Unreadable(UsageError):
    """A file of an output directory that is missing or not a regular file: stale."""


def changed(stamp: Mapping[str, Any] | None, inputs: Mapping[str, str]) -> list[str]:
    """Which input kinds differ from the stamp (for --verbose)."""
    if stamp is None:
        return ["no previous build"]
    old = stamp.get("inputs", {})
    kinds = [k for k in inputs if k != "formats" and old.get(k) != inputs[k]]
    if not _formats(inputs) <= _formats(old):
        kinds.append("formats")
    return kinds or ["output files changed or missing"]


def stamp_bytes(
    inputs: Mapping[str, str], files: Mapping[str, bytes], extra: Mapping[str, Any]
) -> bytes:
    """The stamp of a directory holding `files`, built from `inputs`."""
    body = {
        "version": STAMP_VERSION,
        "digest": digest(inputs),
        "inputs": dict(inputs),
        "files": {name: sha256(data) for name, data in sorted(files.items())},
        **extra,
    }
    return (json.dumps(body, indent=1, sort_keys=True) + "\n").encode()


def write_stamp(
    path: Path, inputs: Mapping[str, str], files: Mapping[str, bytes], extra: Mapping[str, Any]
) -> None:
    """Write a stamp on its own, atomically (a build publishes it with the files instead)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        tmp.write_bytes(stamp_bytes(inputs, files, extra))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
