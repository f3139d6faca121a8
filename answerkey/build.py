"""The pipeline: compute, verify, render, then publish — in that order, per assignment.

Nothing is written until every check has passed and every output (PDFs
included) exists in memory or in a temporary directory; then each file is
written under a temporary name and renamed into place, so a failure or an
interrupt leaves the previous outputs as they were.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import pdf, render
from .errors import UsageError
from .model import Assignment
from .registry import SolutionModule, select
from .verify import verify_assignment

FORMATS = ("tex", "md", "pdf", "json")
KINDS = ("key", "handout")


@dataclass
class BuildResult:
    assignment: str
    directory: Path
    files: list[str] = field(default_factory=list)
    checks: int = 0
    seconds: float = 0.0


def parse_formats(spec: str | None) -> tuple[str, ...]:
    """`tex,md` -> ("tex", "md"); all formats when not given."""
    if not spec:
        return FORMATS
    wanted = tuple(dict.fromkeys(f.strip() for f in spec.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise UsageError(
            f"unknown format {', '.join(map(repr, unknown)) or repr(spec)}; "
            f"expected a comma-separated list of {', '.join(FORMATS)}"
        )
    return wanted


def compute(module: SolutionModule, params: Mapping[str, Any]) -> Assignment:
    """Build the assignment's document model from its parameters, and verify it."""
    assignment = module.build(params)
    verify_assignment(assignment)
    return assignment


def outputs(
    assignment: Assignment, formats: Iterable[str], meta: render.Meta, log_dir: Path
) -> dict[str, bytes]:
    """Every requested output file of one assignment, as bytes, nothing yet written."""
    formats = tuple(formats)
    files: dict[str, bytes] = {}
    for kind in KINDS:
        if "tex" in formats:
            files[f"{kind}.tex"] = render.render(assignment, "tex", kind, meta).encode()
        if "md" in formats or "pdf" in formats:
            md = render.render(assignment, "md", kind, meta)
            if "md" in formats:
                files[f"{kind}.md"] = md.encode()
            if "pdf" in formats:
                files[f"{kind}.pdf"] = pdf_bytes(md, log_dir, f"{assignment.id}-{kind}")
    if "json" in formats:
        files["answers.json"] = render.answers_json(assignment, meta).encode()
    return files


def pdf_bytes(markdown: str, log_dir: Path, name: str) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="answerkey-pdf-") as tmp:
        out = Path(tmp) / "out.pdf"
        pdf.compile_latex(pdf.markdown_to_latex(markdown), out, log_dir, name)
        return out.read_bytes()


def publish(directory: Path, files: Mapping[str, bytes]) -> None:
    """Write each file under a temporary name, then rename them all into place."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(".*.partial-*"):
        stale.unlink(missing_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, data in files.items():
            tmp = directory / f".{name}.partial-{os.getpid()}"
            tmp.write_bytes(data)
            staged.append((tmp, directory / name))
        for tmp, final in staged:
            os.replace(tmp, final)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def build(
    names: list[str] | None,
    formats: tuple[str, ...] = FORMATS,
    term: str = "default",
    out_root: Path = Path("build"),
    report: Callable[[str], None] = print,
) -> list[BuildResult]:
    """Build the named assignments (all by default) for `term` into out_root/term/<id>/."""
    modules = select(names)
    results = []
    for module in modules:
        start = time.perf_counter()
        params = module.parameters
        meta = render.Meta(label=term)
        assignment = compute(module, params)
        directory = out_root / term / module.id
        files = outputs(assignment, formats, meta, out_root / term / ".logs")
        publish(directory, files)
        result = BuildResult(
            module.id,
            directory,
            sorted(files),
            assignment.check_count(),
            time.perf_counter() - start,
        )
        report(
            f"built {module.id} ({term}): {', '.join(result.files)} — "
            f"{result.checks} checks passed, {result.seconds:.1f}s"
        )
        results.append(result)
    return results
