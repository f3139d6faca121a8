"""The pipeline: plan, compute and verify, render, then publish — like a build tool.

* **Incremental.** Each output directory (an assignment, or one variant of it)
  has a stamp (`cache.py`) of everything it depends on; a fresh directory is
  not touched, a stale one is rebuilt in full.
* **Parallel.** Verification (split by part when there are few assignments,
  by assignment when there are many variants) and rendering (pandoc and one
  pdflatex pass per PDF) run in a process pool, one worker per core.
* **Atomic.** Nothing is written until the outputs of a directory exist in
  memory; then the directory's new generation (files and stamp) is staged
  beside it and swapped in as one step (`publish.py`). An interrupt, a failure
  or kill -9 leaves each directory entirely old or entirely new; what a killed
  build left is cleaned up (or its swap finished) by the next one.
* After publishing, out_root/<term>/MANIFEST.json lists every file's sha256
  with the git revision, parameters, checks and tool versions.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from . import cache, errata, pdf, procs, proofcache, render, scratch, sources, store
from . import publish as publishing
from .claims import roundtrip
from .errors import AnswerkeyError, AuthoringError, EnvironmentProblem, ModuleError, UsageError
from .model import Assignment, CheckRecord
from .registry import SolutionModule, broken, discover, select
from .regular import read_regular
from .terms import MAX_VARIANTS, Term, load_term, parameter_hash, variant_params
from .verify import verify_assignment, verify_part

FORMATS = ("tex", "md", "html", "pdf", "json")
KINDS = ("key", "handout")
PARTIAL = ".*.partial-*"

Checks = dict[str, list[CheckRecord]]
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class BuildResult:
    assignment: str
    directory: Path
    files: list[str] = field(default_factory=list)
    checks: int = 0
    seconds: float = 0.0
    cached: bool = False


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


def built(module: SolutionModule, params: Mapping[str, Any]) -> Assignment:
    """The assignment's document model for `params`, built once per process for the
    `BUILT_KEPT` parameter sets used last: a worker verifies a part, then renders, of the
    same one, and a term's build visits every assignment between the two (with 4 kept,
    a term of 10 assignments built each twice). (Rendering sets `checks` and `errata`,
    which every render sets afresh.)"""
    key = (module.id, parameter_hash(params))
    if key in _BUILT:
        _BUILT[key] = _BUILT.pop(key)  # the most recently used last
    else:
        if len(_BUILT) >= BUILT_KEPT:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = module.build(params)
    return _BUILT[key]


#: how many built assignments a process keeps (each a few MB of SymPy objects)
BUILT_KEPT = 32
_BUILT: dict[tuple[str, str], Assignment] = {}


def compute(module: SolutionModule, params: Mapping[str, Any]) -> Assignment:
    """The assignment's document model for `params` (`built`: the render job in the same
    process reuses it rather than building it again), verified."""
    assignment = built(module, params)
    verify_assignment(assignment, reuse=True)
    return assignment


def outputs(
    assignment: Assignment,
    formats: Iterable[str],
    meta: render.Meta,
    log_dir: Path,
    kinds: Iterable[str] = KINDS,
    tex_cache: Path | None = None,
) -> dict[str, bytes]:
    """Every requested output file of one assignment, as bytes, nothing yet written.

    answers.json goes with the key. `tex_cache` keeps the dumped LaTeX preamble
    (`pdf.tex_format`) between PDFs."""
    formats, kinds = tuple(formats), tuple(kinds)
    files: dict[str, bytes] = {}
    for kind in kinds:
        if "tex" in formats:
            tex = pdf.standalone_tex(render.render(assignment, "tex", kind, meta))
            files[f"{kind}.tex"] = tex.encode()
        if "md" in formats or "html" in formats:
            md = render.render(assignment, "md", kind, meta)
            figures = render.figure_files(assignment, kind)
            if "md" in formats:
                files[f"{kind}.md"] = md.encode()
                for name, svg in figures.items():
                    files[name] = svg.encode()
            if "html" in formats:
                title = f"{assignment.title} — {'answer key' if kind == 'key' else 'exercises'}"
                page = render.render(assignment, "md", kind, meta, for_html=True)
                files[f"{kind}.html"] = proofcache.rendered(
                    ("html", page, title, figures), partial(_html, page, title, figures)
                )
        if "pdf" in formats:
            md = render.render(assignment, "md", kind, meta, for_pdf=True)
            # Every PDF has the same preamble (TikZ too), so one dumped format serves all.
            files[f"{kind}.pdf"] = pdf_bytes(
                md, log_dir, f"{assignment.id}-{kind}", render.TIKZ_PREAMBLE, tex_cache
            )
    if "json" in formats and "key" in kinds:
        files["answers.json"] = render.answers_json(assignment, meta).encode()
    return files


def _html(markdown: str, title: str, figures: Mapping[str, str]) -> bytes:
    return pdf.markdown_to_html(markdown, title, figures).encode()


def pdf_bytes(
    markdown: str, log_dir: Path, name: str, header: str = "", tex_cache: Path | None = None
) -> bytes:
    """The PDF of `markdown`; the same source as an earlier build's is not typeset again."""
    return proofcache.rendered(
        ("pdf", markdown, header), lambda: _typeset(markdown, log_dir, name, header, tex_cache)
    )


def _typeset(
    markdown: str, log_dir: Path, name: str, header: str = "", tex_cache: Path | None = None
) -> bytes:
    with tempfile.TemporaryDirectory(prefix=scratch.tmp_prefix("pdf")) as tmp:
        out = Path(tmp) / "out.pdf"
        latex = pdf.markdown_to_latex(markdown, header)
        pdf.compile_latex(latex, out, log_dir, name, tex_cache)
        return out.read_bytes()


def _prepare_tex_format(tex_cache: Path) -> tuple[bool, float]:
    """Dump the PDFs' preamble while the keys are verified (unless another process,
    such as the one `answerkey build` starts first, is doing it)."""
    start = time.perf_counter()
    made = pdf.tex_format(pdf.pdf_preamble(), tex_cache, wait=False) is not None
    return made, time.perf_counter() - start


def publish(directory: Path, files: Mapping[str, bytes]) -> None:
    """Write each file atomically into `directory` (files beside a directory's own
    outputs: variants.json, MANIFEST.json). Call with the publishing lock held."""
    for name, data in files.items():
        publishing.replace_file(directory / name, data)


def sweep_partials(root: Path) -> None:
    """Remove temporary files a killed build left behind (not a running build's)."""
    if root.is_dir():
        for stale in root.rglob(PARTIAL):
            if scratch.stale(stale):
                stale.unlink(missing_ok=True)


def provenance(label: str, params_hash: str) -> str:
    """One line naming what produced a key: revision, term, parameters and tool versions."""
    v = cache.tool_versions()
    return (
        f"revision {cache.git_revision()}, term {label}, parameters {params_hash}; "
        f"SymPy {v['sympy']}, NumPy {v['numpy']}, pandoc {v['pandoc']}, {v['tex']}"
    )


@dataclass
class Job:
    """One output directory: an assignment (or one variant of it) with its numbers."""

    module: SolutionModule
    params: Mapping[str, Any]
    directory: Path
    meta: render.Meta
    assignment: Assignment | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    checks: Checks = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.module.id, parameter_hash(self.params))


def plan(modules: list[SolutionModule], term: Term, out_root: Path, variants: int) -> list[Job]:
    """The jobs a build runs: one per assignment (the term's own numbers), and with
    `variants` one per variant of each besides, in variant-NN/ under the term's own:
    its answers.json is the key the variants vary (`answerkey export` asks it too)."""
    jobs = []
    for module in modules:
        base = out_root / term.name / module.id
        numbers: list[tuple[int | None, Mapping[str, Any]]] = [(None, term.params[module.id])]
        numbers += [(k, variant_params(term, module.id, k)) for k in range(1, variants + 1)]
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


def job_inputs(job: Job, formats: tuple[str, ...], term_name: str) -> dict[str, str]:
    """Everything the job's outputs depend on, one digest per input kind."""
    return {
        "solution": cache.module_digest(job.module.module),
        "claims": cache.claims_digest(job.module.id),
        "lock": cache.lock_digest(),
        "engine": cache.engine_digest(),
        "templates": cache.templates_digest(render.TEMPLATES),
        "parameters": parameter_hash(job.params),
        "title": cache.value_digest(
            [term_name, job.meta.course, job.meta.label, job.meta.variant, job.meta.provenance]
        ),
        "formats": ",".join(sorted(formats)),
        "versions": cache.value_digest(cache.tool_versions()),
    }


# --- work done in the worker processes ------------------------------------------

#: the solution modules as this build discovered them, once, before its workers
#: started (they inherit it): a module renamed or deleted meanwhile is still the one
#: this build planned with, so every directory of a term comes from one snapshot
_SNAPSHOT: dict[str, SolutionModule] = {}


def _module(module_id: str) -> SolutionModule:
    module = _SNAPSHOT.get(module_id)
    if module is None and not _SNAPSHOT:  # called outside a build
        module = discover().get(module_id)
    if module is None:
        raise ModuleError(
            f"{module_id}: its solution module is gone (renamed or deleted during the build)"
        )
    return module


def _task(where: str, fn: Callable[..., Any], /, *args: Any) -> Any:
    """Run one job in a worker: an exercise's code that exits (sys.exit in an oracle,
    say) or recurses without end ends the job with one line naming `where` (the
    assignment, and the part when the job verifies one), not the build with its code
    nor with a message blaming the input."""
    try:
        return fn(*args)
    except SystemExit as exc:
        raise ModuleError(
            f"{where}: the solution module called sys.exit({exc.code!r}); "
            "a solution module must not exit"
        ) from None
    except RecursionError:
        raise ModuleError(f"{where}: recursed too deeply (RecursionError)") from None


def _verify_parts(
    module_id: str, params: Mapping[str, Any], part_ids: list[str]
) -> dict[str, tuple[list[CheckRecord], float, str]]:
    assignment = built(_module(module_id), params)
    out = {}
    for part in assignment.parts():
        if part.id in part_ids:
            start = time.perf_counter()
            with proofcache.tally() as counts:
                records = verify_part(assignment.id, part)
            out[part.id] = (records, time.perf_counter() - start, counts.describe())
    return out


def _verify_many(module_id: str, many: list[Mapping[str, Any]]) -> list[tuple[Checks, float]]:
    """Each variant of `many` verified in turn: its checks and the seconds it took."""
    module = _module(module_id)
    out = []
    for params in many:
        start = time.perf_counter()
        assignment = compute(module, params)
        checks = {p.id: p.checks for p in assignment.parts()}
        out.append((checks, time.perf_counter() - start))
    return out


def _errata(module_id: str, params: Mapping[str, Any]) -> tuple[list[Any], float]:
    """The earlier solution's claims judged against this key (needs no checks), after
    checking that every answer the key prints reads back as itself."""
    start = time.perf_counter()
    module = _module(module_id)
    original = parameter_hash(params) == parameter_hash(module.parameters)
    assignment = built(module, params)
    _read_back(assignment)
    return errata.judged(assignment, original), time.perf_counter() - start


def _read_back(assignment: Assignment) -> None:
    """Every answer the key prints reads back as itself (`claims.roundtrip`, a failure
    stops the build); remembered by content like the errata."""
    proofcache.remembered(
        ("roundtrip", assignment), lambda: [roundtrip.check_assignment(assignment)], int
    )


def _render(
    module_id: str,
    params: Mapping[str, Any],
    checks: Checks | None,
    formats: tuple[str, ...],
    meta: render.Meta,
    log_dir: Path,
    kind: str | None = None,
    judged: list[Any] | None = None,
    tex_cache: Path | None = None,
) -> tuple[dict[str, bytes], float]:
    """Render one kind (or both): the key needs the checks (and errata, computed
    here when not given); the handout shows neither, so it can be rendered while
    the key is still being verified. Nothing is published before both are done."""
    start = time.perf_counter()
    module = _module(module_id)
    assignment = built(module, params)
    kinds = KINDS if kind is None else (kind,)
    if "key" in kinds:
        assert checks is not None, "the key is rendered only after verification"
        for part in assignment.parts():
            part.checks = checks[part.id]
        if judged is None:
            original = parameter_hash(params) == parameter_hash(module.parameters)
            _read_back(assignment)
            judged = errata.judged(assignment, original)
        errata.attach(assignment, judged)
    files = outputs(assignment, formats, meta, log_dir, kinds, tex_cache)
    return files, time.perf_counter() - start


class _Inline(cf.Executor):
    """An executor that runs each call at once, in this process (workers=1)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        fut: cf.Future[Any] = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            fut.set_exception(exc)
        return fut


def _worker_init(
    parent: int,
    proofs: Path | None = None,
    notes: bool = False,
    hashed: dict[str, str] | None = None,
) -> None:
    """Signals: the build (the parent) handles Ctrl-C and ends its workers; SIGTERM
    ends a worker at once, with the TeX or pandoc it runs (`procs`). A worker also ends
    itself (and them) when the build is gone (kill -9).
    `proofs`: the cache's directory (build/.cache); `notes`: print what it ignores;
    `hashed`: the sources the build hashed, the only ones a worker may import."""
    import signal
    import threading

    sources.expect(hashed or {})
    proofcache.configure(proofs, partial(print, flush=True) if notes else None)

    def end(signum: int, frame: object) -> None:
        procs.kill_all()  # no pdflatex left running under init
        os._exit(1)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, end)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        procs.kill_all()
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


# --- the build ---------------------------------------------------------------------


#: what `build` holds until it returns: the build lock, once it writes anything
_HELD = contextlib.ExitStack()


def _releasing(fn: Callable[P, R]) -> Callable[P, R]:
    """`build`, letting go of what it holds (`_HELD`: its output root's build lock,
    `publishing.building`) and of the snapshot of the solution modules (`_module`)
    however it returns."""

    @functools.wraps(fn)
    def releasing(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        finally:
            _HELD.close()
            _SNAPSHOT.clear()

    return releasing


@_releasing
def build(
    names: list[str] | None,
    formats: tuple[str, ...] = FORMATS,
    term: str = "default",
    out_root: Path = Path("build"),
    report: Callable[[str], None] = print,
    variants: int = 0,
    terms_dir: Path = Path("terms"),
    verbose: Callable[[str], None] | None = None,
    workers: int | None = None,
    on_published: Callable[[], None] | None = None,
    only: Callable[[list[Job]], list[Job]] | None = None,
    fresh_only: bool = False,
) -> list[BuildResult]:
    """Build the named assignments (all by default) for `term` into out_root/<term>/<id>/.

    With `variants` > 0 each student gets variant-01 ... variant-NN with numbers
    derived from the term's seed, and an index (variants.json) per assignment,
    beside the term's own key (built too: its answers.json is the key they vary).
    Only directories whose inputs changed are rebuilt; each is computed and
    verified before any of its files is written. `on_published` runs at the end,
    with the publishing lock held, if every directory is still as this build left
    it (another build running beside it may have replaced one since, say with
    fewer formats): the no-op fast path records the outputs there (`fastpath`).

    `only` picks some of the planned directories (a shard, one student's variant):
    then no index or manifest is written, since they describe the whole term.
    `fresh_only` builds nothing: every directory must be fresh already (merging
    shards built elsewhere), else a UsageError names the first that is not.
    """
    if not 0 <= variants <= MAX_VARIANTS:
        raise UsageError(f"--variants must be between 0 and {MAX_VARIANTS}, got {variants}")
    say = verbose or (lambda _m: None)
    t0 = time.perf_counter()
    _BUILT.clear()  # solution code may have changed since (a long-lived process, tests)
    found = discover()  # once: the workers use this snapshot (`_module`)
    _SNAPSHOT.clear()
    _SNAPSHOT.update(found)
    modules = select(names, found)
    # like make -k: a broken module is reported at the end, the others still build
    failed: dict[str, AnswerkeyError] = {}
    unreadable = [] if names else list(broken(found))
    the_term = load_term(term, found, terms_dir, absent_ok=bool(broken(found)))
    term_root = out_root / the_term.name
    unnumbered = [m.id for m in modules if m.id in the_term.unnumbered]
    if unnumbered:
        report(
            f"note: {the_term.source_path} gives no numbers for {', '.join(unnumbered)}: "
            "they take their modules' own, the default term's; add a table per assignment "
            "(`answerkey new-term NAME --seed N` writes drawn ones)"
        )
    # held until the build returns: `clean` refuses to remove what it publishes
    _HELD.enter_context(publishing.building(out_root))
    with publishing.publishing(out_root):
        publishing.sweep(term_root)  # finish or undo what killed builds left
        sweep_partials(term_root)
        sweep_partials(out_root / ".cache")
        shutil.rmtree(out_root / ".cache" / "stamps", ignore_errors=True)  # where stamps were
    scratch.sweep_tmp()
    jobs: list[Job] = []
    for module in modules:
        try:
            jobs += plan([module], the_term, out_root, variants)
        except (ModuleError, AuthoringError) as exc:  # its draw() failed, say
            failed[module.id] = exc
    whole = only is None
    if only is not None:
        jobs = only(jobs)
    fresh: list[tuple[Job, dict[str, Any]]] = []
    stale: list[Job] = []
    for job in jobs:
        job.inputs = job_inputs(job, formats, the_term.name)
        stamp = cache.read_stamp(cache.stamp_path(job.directory))
        if cache.is_fresh(stamp, job.inputs, job.directory):
            assert stamp is not None
            fresh.append((job, stamp))
        else:
            why = ", ".join(cache.changed(stamp, job.inputs))
            say(f"stale {_rel(job.directory, out_root)}: {why}")
            stale.append(job)
    if fresh_only and stale:
        why = ", ".join(
            cache.changed(cache.read_stamp(cache.stamp_path(stale[0].directory)), stale[0].inputs)
        )
        raise UsageError(
            f"{len(stale)} of {len(jobs)} directories are missing or stale, the first "
            f"{_rel(stale[0].directory, out_root)} ({why}): build every shard first"
        )
    took = time.perf_counter() - t0
    say(f"planned {len(jobs)} directories ({len(stale)} to build) in {took:.2f}s")

    results: dict[Path, BuildResult] = {}
    for job, stamp in fresh:
        results[job.directory] = BuildResult(
            job.module.id,
            job.directory,
            sorted(stamp["files"]),
            int(stamp.get("checks", 0)),
            0.0,
            True,
        )
        report(f"cached {_rel(job.directory, out_root)} ({stamp.get('checks', 0)} checks)")

    if stale:
        n = workers or default_workers()
        proofs = out_root / ".cache"
        executor: cf.Executor = (
            _Inline()
            if n == 1
            else cf.ProcessPoolExecutor(
                n,
                initializer=_worker_init,
                initargs=(os.getpid(), proofs, verbose is not None, sources.snapshot()),
            )
        )
        try:
            with proofcache.using(proofs, verbose):
                _run(
                    stale,
                    formats,
                    out_root,
                    term_root / ".logs",
                    executor,
                    n,
                    report,
                    say,
                    results,
                    failed,
                )
        except BaseException:
            _abandon(executor)
            raise
        else:
            executor.shutdown(wait=True)
        say(store.prune(proofs).describe())  # bounded: the least recently used go

    with publishing.publishing(out_root):
        if variants and whole:
            _publish_indexes(jobs, [m for m in modules if m.id not in failed], the_term, term_root)
        if whole:
            write_manifest(out_root, the_term)
        gone = [
            job.directory
            for job in jobs
            if cache.read_stamp(cache.stamp_path(job.directory)) is None
            and job.module.id not in failed
        ]
        if gone:  # not by `clean` (it waits for no build to run): removed by hand
            raise EnvironmentProblem(
                f"{_rel(gone[0], out_root)} and {len(gone) - 1} other directories this build "
                "wrote were removed while it ran; build again"
                if len(gone) > 1
                else f"{_rel(gone[0], out_root)}, which this build wrote, was removed while it "
                "ran; build again"
            )
        if failed or unreadable:
            raise _failures([*unreadable, *failed.values()])
        if on_published is not None and all(
            cache.is_current(cache.read_stamp(cache.stamp_path(job.directory)), job.inputs)
            for job in jobs
        ):
            on_published()
    say(f"build finished in {time.perf_counter() - t0:.2f}s")
    return [results[job.directory] for job in jobs]


def _failures(errors: list[AnswerkeyError]) -> AnswerkeyError:
    """The broken modules' errors, one line each (the only one as it is)."""
    if len(errors) == 1:
        return errors[0]
    return ModuleError("\n".join(str(e) for e in errors))


def _publish_indexes(
    jobs: list[Job], modules: list[SolutionModule], term: Term, term_root: Path
) -> None:
    """Each assignment's variants.json (with the publishing lock held)."""
    for module in modules:
        index = [
            {
                "variant": job.meta.variant,
                "directory": job.directory.name,
                "parameter_hash": parameter_hash(job.params),
            }
            for job in jobs
            if job.module.id == module.id and job.meta.variant
        ]
        body = json.dumps({"assignment": module.id, "term": term.name, "variants": index}, indent=2)
        data = (body + "\n").encode()
        path = term_root / module.id / "variants.json"
        try:
            same = read_regular(path, "variants.json") == data
        except UsageError:  # missing, or not a regular file: written afresh
            same = False
        if not same:  # the manifest vouches for it: gone until rewritten
            (term_root / "MANIFEST.json").unlink(missing_ok=True)
            publish(path.parent, {"variants.json": data})


def _abandon(executor: cf.Executor) -> None:
    """On an interrupt or error: stop the workers now, leaving nothing behind."""
    if isinstance(executor, cf.ProcessPoolExecutor):
        processes = list(getattr(executor, "_processes", {}).values())
        results = getattr(executor, "_result_queue", None)
        manager = getattr(executor, "_executor_manager_thread", None)
        executor.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.terminate()
        for proc in processes:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.kill()
        # A worker ended while writing its result leaves half a message in the result
        # pipe, and the pool's manager thread waits for the rest forever, so the
        # interpreter would hang at exit joining it. With the workers gone, closing
        # our end of the pipe gives that read an EOF and the thread ends.
        writer = getattr(results, "_writer", None)
        if writer is not None:
            writer.close()
        if manager is not None:
            manager.join(timeout=5)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _run(
    stale: list[Job],
    formats: tuple[str, ...],
    out_root: Path,
    log_dir: Path,
    executor: cf.Executor,
    workers: int,
    report: Callable[[str], None],
    say: Callable[[str], None],
    results: dict[Path, BuildResult],
    failed: dict[str, AnswerkeyError] | None = None,
) -> None:
    """Verify the stale jobs' assignments, render them, publish each directory when ready.

    A module whose code fails (a `ModuleError` or an `AuthoringError`) goes into
    `failed` by assignment id; the other assignments go on (the caller reports it)."""
    failed = {} if failed is None else failed
    by_key: dict[tuple[str, str], list[Job]] = {}
    for job in stale:
        by_key.setdefault(job.key, []).append(job)
    # the seconds each key's own work took (its verification, its errata), so that a
    # report line is the directory's time, not the time since its batch started
    worked_s: dict[tuple[str, str], float] = dict.fromkeys(by_key, 0.0)
    pending: dict[cf.Future[Any], Any] = {}
    # Few assignments: verification split by part, the errata and the handouts
    # as jobs of their own, so every core has work; the key is rendered when
    # its parts are verified and its errata judged.
    split = len(by_key) <= 2 * workers
    partial: dict[tuple[str, str], dict[str, list[CheckRecord]]] = {}
    waiting: dict[tuple[str, str], int] = {}
    verdicts: dict[tuple[str, str], list[Any]] = {}
    rendered: dict[Path, dict[str, bytes]] = {}
    render_time: dict[Path, float] = {}
    kinds_left: dict[Path, int] = {}
    tex_cache = out_root / ".cache" / "tex"

    def publish_job(job: Job, files: dict[str, bytes], render_s: float) -> None:
        n_checks = sum(len(c) for c in job.checks.values())
        stamp = cache.stamp_bytes(
            job.inputs,
            files,
            {
                "checks": n_checks,
                "assignment": job.module.id,
                "parameter_hash": parameter_hash(job.params),
                "variant": job.meta.variant,
            },
        )
        term = job.directory.relative_to(out_root).parts[0]
        with publishing.publishing(out_root):
            # MANIFEST.json vouches for the whole term: gone from the first directory
            # changed (a build killed now leaves none rather than a stale one), written
            # at the end
            (out_root / term / "MANIFEST.json").unlink(missing_ok=True)
            publishing.swap_in(job.directory, files, stamp)
        total = worked_s.get(job.key, 0.0) + render_s
        results[job.directory] = BuildResult(
            job.module.id, job.directory, sorted(files), n_checks, total
        )
        report(
            f"built  {_rel(job.directory, out_root)}: {n_checks} checks, "
            f"{len(files)} files in {total:.1f}s (render {render_s:.1f}s)"
        )
        say("       " + ", ".join(sorted(files)))

    def module_of(what: str, arg: Any) -> str | None:
        if what in ("parts", "errata"):
            return str(arg[0])
        if what == "many":
            return str(arg[0][0])
        if what == "render":
            return str(arg.module.id)
        return None

    def submit(what: str, arg: Any, fn: Callable[..., Any], *args: Any) -> None:
        module_id = module_of(what, arg)
        if module_id in failed:
            return
        where = module_id or "the build"
        if what == "parts":
            where = f"{module_id}, part {', '.join(args[-1])}"
        pending[executor.submit(_task, where, fn, *args)] = (what, arg)

    # In split mode each kind is rendered in two jobs, the PDF and the rest, so
    # the last jobs of a build are short and both cores finish together.
    groups = [
        g for g in (("pdf",), tuple(f for f in formats if f != "pdf")) if set(g) & set(formats)
    ]

    def submit_key(key: tuple[str, str], checks: Checks) -> None:
        for job in by_key[key]:
            job.checks = checks
            for fmts in groups if split else [formats]:
                kind = "key" if split else None
                args = (checks, fmts, job.meta, log_dir, kind, verdicts.get(key), tex_cache)
                submit("render", job, _render, job.module.id, job.params, *args)

    if split:
        # built here, before the first job starts the workers, so they inherit it
        part_ids: dict[tuple[str, str], list[str]] = {}
        for key, same in list(by_key.items()):
            job = same[0]
            try:
                if job.module.id not in failed:
                    part_ids[key] = [p.id for p in built(job.module, job.params).parts()]
            except (ModuleError, AuthoringError) as exc:
                failed[job.module.id] = exc
            if job.module.id in failed:
                del by_key[key]
    if "pdf" in formats:
        submit("tex-format", None, _prepare_tex_format, tex_cache)
    if split:
        for key, same in by_key.items():
            job = same[0]
            partial[key], waiting[key] = {}, len(part_ids[key]) + 1
            submit("errata", key, _errata, job.module.id, job.params)
        for key, ids in part_ids.items():
            job = by_key[key][0]
            for pid in reversed(ids):  # the slowest parts (usually the last) first
                submit("parts", key, _verify_parts, job.module.id, job.params, [pid])
        for jobs in by_key.values():
            for job in jobs:
                kinds_left[job.directory] = 2 * len(groups)
                for fmts in groups:
                    args = (None, fmts, job.meta, log_dir, "handout", None, tex_cache)
                    submit("render", job, _render, job.module.id, job.params, *args)
    else:
        # Many variants: whole assignments, in chunks so the parts variants share
        # are verified once per chunk.
        for module_id in dict.fromkeys(k[0] for k in by_key):
            keys = [k for k in by_key if k[0] == module_id]
            size = max(1, -(-len(keys) // (2 * workers)))
            for i in range(0, len(keys), size):
                chunk = keys[i : i + size]
                many = [by_key[k][0].params for k in chunk]
                submit("many", chunk, _verify_many, module_id, many)

    while pending:
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        for fut in done:
            what, arg = pending.pop(fut)
            owner = module_of(what, arg)
            try:
                value: Any = fut.result()
            except (ModuleError, AuthoringError) as exc:
                if owner is None:
                    raise
                failed.setdefault(owner, exc)
                for other in [f for f, (w, a) in pending.items() if module_of(w, a) == owner]:
                    if other.cancel():
                        del pending[other]
                continue
            if owner in failed:
                continue
            if what == "parts":
                for pid, (records, seconds, cached) in value.items():
                    partial[arg][pid] = records
                    say(
                        f"verified {arg[0]} part {pid}: {len(records)} checks, {seconds:.2f}s "
                        f"({cached})"
                    )
                waiting[arg] -= len(value)
                worked_s[arg] += sum(seconds for _, seconds, _ in value.values())
            elif what == "errata":
                verdicts[arg], seconds = value
                worked_s[arg] += seconds
                claims = len(verdicts[arg])
                say(f"judged {arg[0]}'s earlier solution: {claims} claims, {seconds:.2f}s")
                waiting[arg] -= 1
            elif what == "tex-format":
                made, seconds = value
                state = "ready" if made else "left to another process"
                say(f"PDFs' preamble format {state}, {seconds:.2f}s")
            elif what == "many":
                for key, (checks, seconds) in zip(arg, value, strict=True):
                    worked_s[key] += seconds
                    submit_key(key, checks)
            else:
                job = arg
                files, seconds = value
                rendered.setdefault(job.directory, {}).update(files)
                render_time[job.directory] = render_time.get(job.directory, 0.0) + seconds
                kinds_left[job.directory] = kinds_left.get(job.directory, 1) - 1
                if kinds_left[job.directory] == 0:
                    publish_job(job, rendered.pop(job.directory), render_time[job.directory])
            if what in ("parts", "errata") and waiting[arg] == 0:
                waiting[arg] = -1
                submit_key(arg, partial[arg])


def write_manifest(out_root: Path, term: Term) -> dict[str, Any]:
    """out_root/<term>/MANIFEST.json: every file's sha256 and what produced it (with the
    publishing lock held, so that no directory changes while it is read)."""
    term_root = out_root / term.name
    files = {}
    for path in sorted(term_root.rglob("*")):
        rel = path.relative_to(term_root).as_posix()
        if not path.is_file() or rel == "MANIFEST.json":
            continue
        if any(part.startswith(".") for part in path.relative_to(term_root).parts):
            continue
        files[rel] = cache.sha256(path.read_bytes())
    directories = {}
    for stamp_file in sorted(term_root.rglob(cache.STAMP_NAME)):
        rel = stamp_file.parent.relative_to(term_root).as_posix()
        if any(part.startswith(".") for part in stamp_file.parent.relative_to(term_root).parts):
            continue  # another build's staged generation
        stamp = cache.read_stamp(stamp_file)
        if stamp is not None:
            directories[rel] = {
                "assignment": stamp.get("assignment"),
                "variant": stamp.get("variant") or None,
                "parameter_hash": stamp.get("parameter_hash"),
                "checks_passed": stamp.get("checks", 0),
            }
    hashes = {
        module_id: parameter_hash(params) for module_id, params in sorted(term.params.items())
    }
    manifest = {
        "term": term.name,
        "label": term.label,
        "git_revision": cache.git_revision(),
        "parameter_hash": cache.value_digest(hashes)[:16],
        "parameter_hashes": hashes,
        "checks_passed": sum(d["checks_passed"] for d in directories.values()),
        "versions": cache.tool_versions(),
        "directories": directories,
        "files": files,
    }
    publish(term_root, {"MANIFEST.json": (json.dumps(manifest, indent=2) + "\n").encode()})
    return manifest
