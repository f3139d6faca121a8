"""The pipeline: compute, verify, render, then publish — in that order, per assignment.

Nothing is written until every check has passed and every output (PDFs
included) exists in memory or in a temporary directory; then each file is
written under a temporary name and renamed into place, so a failure or an
interrupt leaves the previous outputs as they were.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import pdf, render
from .errors import UsageError
from .model import Assignment
from .registry import SolutionModule, discover, select
from .terms import Term, load_term, parameter_hash, variant_params
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
    verify_assignment(assignment, reuse=True)
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
        if "md" in formats:
            files[f"{kind}.md"] = render.render(assignment, "md", kind, meta).encode()
            for name, svg in render.figure_files(assignment, kind).items():
                files[name] = svg.encode()
        if "pdf" in formats:
            md = render.render(assignment, "md", kind, meta, for_pdf=True)
            header = render.TIKZ_PREAMBLE if render.figure_files(assignment, kind) else ""
            files[f"{kind}.pdf"] = pdf_bytes(md, log_dir, f"{assignment.id}-{kind}", header)
    if "json" in formats:
        files["answers.json"] = render.answers_json(assignment, meta).encode()
    return files


def pdf_bytes(markdown: str, log_dir: Path, name: str, header: str = "") -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="answerkey-pdf-") as tmp:
        out = Path(tmp) / "out.pdf"
        pdf.compile_latex(pdf.markdown_to_latex(markdown, header), out, log_dir, name)
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


def provenance(label: str, params_hash: str) -> str:
    """One line naming what produced a key: term, parameters and tool versions."""
    import numpy
    import pypandoc
    import sympy

    return (
        f"term {label}, parameters {params_hash}; SymPy {sympy.__version__}, "
        f"NumPy {numpy.__version__}, pandoc {pypandoc.get_pandoc_version()}"
    )


@dataclass
class Job:
    """One output directory: an assignment (or one variant of it) with its numbers."""

    module: SolutionModule
    params: Mapping[str, Any]
    directory: Path
    meta: render.Meta
    assignment: Assignment | None = None


def plan(modules: list[SolutionModule], term: Term, out_root: Path, variants: int) -> list[Job]:
    """The jobs a build runs: one per assignment, or one per variant of each."""
    jobs = []
    for module in modules:
        base = out_root / term.name / module.id
        numbers = (
            [(None, term.params[module.id])]
            if variants == 0
            else [(k, variant_params(term, module.id, k)) for k in range(1, variants + 1)]
        )
        for k, params in numbers:
            h = parameter_hash(params)
            variant = "" if k is None else f"{k:02d}"
            meta = render.Meta(
                course=term.course,
                label=term.label,
                variant=variant,
                provenance=provenance(term.label, h),
                extra={"parameters": params, "parameter_hash": h},
            )
            directory = base if k is None else base / f"variant-{variant}"
            jobs.append(Job(module, params, directory, meta))
    return jobs


def build(
    names: list[str] | None,
    formats: tuple[str, ...] = FORMATS,
    term: str = "default",
    out_root: Path = Path("build"),
    report: Callable[[str], None] = print,
    variants: int = 0,
    terms_dir: Path = Path("terms"),
) -> list[BuildResult]:
    """Build the named assignments (all by default) for `term` into out_root/<term>/<id>/.

    With `variants` > 0 each student gets variant-01 ... variant-NN with numbers
    derived from the term's seed, and an index (variants.json) per assignment.
    Everything is computed and verified before the first file is written.
    """
    if variants < 0:
        raise UsageError(f"--variants must be >= 0, got {variants}")
    modules = select(names)
    the_term = load_term(term, discover(), terms_dir)
    jobs = plan(modules, the_term, out_root, variants)
    computed: dict[tuple[str, str], Assignment] = {}
    for job in jobs:
        start = time.perf_counter()
        key = (job.module.id, parameter_hash(job.params))
        if key not in computed:
            computed[key] = compute(job.module, job.params)
        job.assignment = computed[key]
        report(
            f"verified {job.directory}: {job.assignment.check_count()} checks passed, "
            f"{time.perf_counter() - start:.1f}s"
        )
    staged: list[tuple[Job, dict[str, bytes], float]] = []
    for job in jobs:
        start = time.perf_counter()
        assert job.assignment is not None
        files = outputs(job.assignment, formats, job.meta, out_root / the_term.name / ".logs")
        staged.append((job, files, time.perf_counter() - start))
    results = []
    for job, files, seconds in staged:
        publish(job.directory, files)
        assert job.assignment is not None
        result = BuildResult(
            job.module.id, job.directory, sorted(files), job.assignment.check_count(), seconds
        )
        report(f"wrote {job.directory}: {', '.join(result.files)} ({seconds:.1f}s)")
        results.append(result)
    if variants:
        for module in modules:
            index = [
                {
                    "variant": job.meta.variant,
                    "directory": job.directory.name,
                    "parameter_hash": parameter_hash(job.params),
                }
                for job in jobs
                if job.module.id == module.id
            ]
            body = json.dumps(
                {"assignment": module.id, "term": the_term.name, "variants": index}, indent=2
            )
            publish(out_root / the_term.name / module.id, {"variants.json": (body + "\n").encode()})
    return results
