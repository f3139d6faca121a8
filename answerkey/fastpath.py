"""A no-op build that does not import SymPy.

Checking the per-directory stamps needs the solution modules, hence SymPy,
whose import alone costs more than the rest of a no-op rebuild. So after every
successful build (whose directories no build beside it replaced meanwhile:
`build.build`'s `on_published`) we also record one fingerprint of *all* its inputs (every
source file of the engine and of `solutions/`, the claims files, the templates,
the term file, the git revision, the constraints file and the tool versions, and
the request itself) with the sha256
of every output. When all of that is unchanged, the next identical request is
answered from this record; anything else falls through to the full build,
whose stamps decide what to rebuild.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from . import cache, scratch, store

STAMP_VERSION = 1


def _version(*dists: str) -> str:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "none"


def _tex_version() -> str:
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        return "none"
    try:
        out = subprocess.run(
            [pdflatex, "--version"], capture_output=True, text=True, check=False, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.splitlines()[0].strip() if out else "unknown"


def _term_file(term: str, terms_dir: Path) -> Path | None:
    path = Path(term) if "/" in term or term.endswith(".toml") else terms_dir / f"{term}.toml"
    return path if path.is_file() else None


def fingerprint(request: Mapping[str, Any], terms_dir: Path) -> str:
    """One digest of everything a build with this request depends on."""
    solutions = [p for p in (cache.ROOT / "solutions").rglob("*") if p.is_file()]
    solutions = [p for p in solutions if "__pycache__" not in p.parts]
    claims = sorted(cache.CLAIMS_DIR.glob("*.toml")) if cache.CLAIMS_DIR.is_dir() else []
    term_file = _term_file(str(request["term"]), terms_dir)
    inputs = {
        "engine": cache.engine_digest(),
        "solutions": cache.files_digest(solutions, base=cache.ROOT),
        "claims": cache.files_digest(claims, base=cache.CLAIMS_DIR),
        "templates": cache.templates_digest(cache.ROOT / "templates"),
        "lock": cache.lock_digest(),
        "term": cache.sha256(term_file.read_bytes()) if term_file else "built-in",
        "revision": cache.git_revision(),
        "versions": [
            _version("sympy"),
            _version("numpy"),
            _version("pypandoc-binary", "pypandoc_binary", "pypandoc"),
            _version("jinja2"),
            _tex_version(),
        ],
        "request": request,
    }
    return cache.sha256(json.dumps(inputs, sort_keys=True, default=str).encode())


def _record_key(request: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def _outputs(term_root: Path) -> dict[str, str]:
    """Every file of the term and its sha256 (the directories' stamps too), but the logs
    and what a build running beside this one has staged."""
    out = {}
    for p in sorted(term_root.rglob("*")):
        parts = p.relative_to(term_root).parts
        if ".logs" in parts or any(
            scratch.generation(x) or scratch.PARTIAL.search(x) for x in parts
        ):
            continue
        if p.is_file():
            out["/".join(parts)] = cache.sha256(p.read_bytes())
    return out


def up_to_date(
    request: Mapping[str, Any],
    out_root: Path,
    terms_dir: Path,
    report: Callable[[str], None],
    inputs: str | None = None,
) -> bool:
    """True (and one line per directory reported) when the recorded build still stands;
    `inputs`: the request's `fingerprint`, when already taken."""
    record = store.get_json(out_root / ".cache", "fast", _record_key(request))
    if not isinstance(record, dict) or record.get("version") != STAMP_VERSION:
        return False
    if record.get("fingerprint") != (inputs or fingerprint(request, terms_dir)):
        return False
    term, lines = record.get("term"), record.get("lines")
    if not isinstance(term, str) or not isinstance(lines, list):
        return False
    if not all(isinstance(line, str) for line in lines):
        return False
    try:
        if _outputs(out_root / term) != record.get("outputs"):
            return False
    except OSError:
        return False
    for line in lines:
        report(line)
    return True


def remember(
    request: Mapping[str, Any],
    out_root: Path,
    terms_dir: Path,
    term_name: str,
    inputs: str | None = None,
) -> None:
    """Record the build that just succeeded, for `up_to_date`. `inputs`: the request's
    `fingerprint` taken BEFORE the build, so that an input edited while it ran is not
    recorded as built (the next request rebuilds instead)."""
    term_root = out_root / term_name
    wanted = set(request.get("assignments") or ())
    directories = sorted(
        p.parent
        for p in term_root.rglob("answers.json")
        if not wanted or p.relative_to(term_root).parts[0] in wanted
    )
    lines = [f"cached {d.relative_to(out_root).as_posix()}: up to date" for d in directories]
    record = {
        "version": STAMP_VERSION,
        "fingerprint": inputs or fingerprint(request, terms_dir),
        "term": term_name,
        "outputs": _outputs(term_root),
        "lines": lines,
    }
    store.put_json(out_root / ".cache", "fast", _record_key(request), record)
