"""The students' tree: what students may see of a term, and nothing else.

`answerkey publish TERM` builds the term (like `answerkey build`), then gathers
from its output directories only the handouts (``handout.tex|md|html|pdf``) and
the figures a handout links to, into

    <out>/students/<term>/              the students' tree
    <out>/students/<term>.zip           the same, zipped (byte-identical for the same tree)

Keys, answers.json, the key's figures and stamps never enter it: files are
taken by a whitelist, not by leaving some out. With a roster (`roster.py`)
each student gets ``<student id>/<assignment>/handout.*`` of their variant,
whose footer names the variant *and the student* ("Variant 02 of <assignment>
(..., numbers ...) for student s0007: quote this line ..."), and the staff's
index (student -> variant -> files, with digests) goes to
``<out>/<term>/roster-index.csv``, which MANIFEST.json then covers.

A student's handout is the variant's, rendered for that student
(`render.Meta.student`): the text formats (tex, md) are rendered once per
variant with `STUDENT_MARK` where the id goes and the id put in, escaped for
the format, which gives the bytes a render for the student gives (tested); the
HTML and the PDF are made from the student's Markdown by pandoc and pdflatex,
on every core, and kept in the term's output directory under
``.handouts/<assignment>/<key>.<fmt>`` (`HANDOUT_STORE`), the key a digest of the format,
the variant's build inputs (its stamp's digest: numbers, sources, templates,
tools) and the student's id, so a second publish typesets nothing again and a
stale one is never taken (a publish drops those of its assignments that its
tree no longer uses).
The pool a roster spreads students over is the term file's ``pool``
(`roster_pool`).

A large course builds in slices: ``--shard K/N`` builds every N-th of the
term's output directories (sorted by assignment and variant, starting at the
K-th) and nothing else; after all slices' directories are gathered into one
output root, ``--merge`` builds nothing (it refuses if any directory is
missing or stale) and writes the students' tree, index and manifest, byte
for byte as one machine building everything would. Each shard also typesets
the HTML and PDF handouts of the students whose variants it built, into the
store that the gathering brings along (a hidden directory of the term's); the
merge typesets nothing: it takes them from there, and refuses, naming the
student, when one is missing or stale.
"""

from __future__ import annotations

import errno
import io
import multiprocessing
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import build as pipeline
from . import cache, pdf, printing, proofcache, publish, render
from .errors import UsageError
from .registry import discover
from .roster import DEFAULT_POOL, Columns, Student, index_csv, read_roster, variant_name
from .terms import MAX_VARIANTS, Term, load_term

__all__ = [
    "HANDOUT_FORMATS",
    "HANDOUT_STORE",
    "Published",
    "handout_files",
    "parse_shard",
    "personal_handouts",
    "publish_term",
    "roster_pool",
    "show_variant",
    "tree_files",
    "typeset_handouts",
    "zip_bytes",
]

#: the formats a handout comes in (json is the key's answers only)
HANDOUT_FORMATS = ("tex", "md", "html", "pdf")
#: the staff's index of a roster, in the term's output directory
INDEX_NAME = "roster-index.csv"
#: the typeset per-student handouts, in the term's output directory (hidden: no
#: manifest lists them, and shards' gathered directories bring them to the merge)
HANDOUT_STORE = ".handouts"
#: every zip entry carries this time (the earliest a zip can hold): reproducible
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: errors that mean the filesystem cannot exchange two paths (then: two renames)
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}
_FIGURE_LINK = re.compile(r"\]\(([A-Za-z0-9][A-Za-z0-9._-]*\.svg)\)")
#: where a student's id goes in a handout rendered once per variant: letters only,
#: which every format's escaping leaves as they are
STUDENT_MARK = "ANSWERKEYSTUDENTIDMARK"
#: the handout formats made by substituting the id (the others are typeset per student)
_TEXT = {"tex": printing.escape_latex, "md": printing.escape_markdown}


@dataclass
class Published:
    """What `publish_term` wrote (None for what a shard leaves to the merge)."""

    term: str
    directories: int
    tree: Path | None = None
    archive: Path | None = None
    index: Path | None = None
    files: int = 0
    students: int = 0
    skipped: list[str] = field(default_factory=list)


def handout_files(directory: Path) -> dict[str, bytes]:
    """What students may see of one output directory: its handouts and the figures
    handout.md links to. Regular files only (a symbolic link is never followed)."""
    out: dict[str, bytes] = {}
    for fmt in HANDOUT_FORMATS:
        data = _regular(directory / f"handout.{fmt}")
        if data is not None:
            out[f"handout.{fmt}"] = data
    if "handout.md" in out:
        for name in sorted(set(_FIGURE_LINK.findall(out["handout.md"].decode("utf-8")))):
            data = _regular(directory / name)
            if data is None:
                raise UsageError(f"{directory}/handout.md links {name}, which is not there")
            out[name] = data
    return out


def _regular(path: Path) -> bytes | None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if not path.is_file() or path.is_symlink() or st.st_nlink < 1:
        return None
    return path.read_bytes()


def tree_files(
    sources: Mapping[tuple[str, int | None], Path],
    students: list[Student] | None,
    personal: Mapping[tuple[str, str], Mapping[str, bytes]] | None = None,
) -> tuple[dict[str, bytes], dict[tuple[str, str], dict[str, str]]]:
    """The students' tree as {relative path: bytes}, and with a roster each student's
    files by (student id, assignment) as {path: sha256} (for the index).

    `sources` maps (assignment, variant or None) to its output directory; `personal`
    (student id, assignment) to that student's own handouts (`personal_handouts`),
    which replace the variant's."""
    tree: dict[str, bytes] = {}
    handed: dict[tuple[str, str], dict[str, str]] = {}
    cached: dict[Path, dict[str, bytes]] = {}

    def files_of(directory: Path) -> dict[str, bytes]:
        if directory not in cached:
            cached[directory] = handout_files(directory)
        return cached[directory]

    if students is None:
        for (assignment, k), directory in sorted(sources.items(), key=_source_order):
            prefix = assignment if k is None else f"{assignment}/variant-{variant_name(k)}"
            for name, data in files_of(directory).items():
                tree[f"{prefix}/{name}"] = data
        return tree, handed
    assignments = sorted({a for a, _ in sources})
    for s in students:
        for assignment in assignments:
            mine: dict[str, str] = {}
            files = files_of(sources[(assignment, s.variant)])
            if personal is not None:
                files = {**files, **personal[(s.id, assignment)]}
            for name, data in files.items():
                path = f"{s.id}/{assignment}/{name}"
                tree[path] = data
                mine[path] = cache.sha256(data)
            handed[(s.id, assignment)] = mine
    return tree, handed


def roster_pool(term: Term, variants: int) -> int:
    """The number of variants a roster spreads students over: the term file's `pool`
    (`--variants` may repeat it, not change it: another pool moves students to other
    variants), else `--variants`, else `DEFAULT_POOL`."""
    if term.pool is None:
        return variants or DEFAULT_POOL
    if variants and variants != term.pool:
        where = term.source_path or f"term {term.name!r}"
        raise UsageError(
            f"{where}: pool = {term.pool}, but --variants {variants} was given: a roster's "
            "pool is the term's (another moves students to other variants); leave "
            "--variants out, or change `pool` in the term file"
        )
    return term.pool


_PERSONAL: list[tuple[pipeline.Job, str, tuple[str, ...], Path, Path]] = []  # forked workers'


def _typeset_one(k: int) -> dict[str, bytes]:
    """One student's HTML/PDF handout of one variant (in a forked worker)."""
    job, sid, formats, log_dir, cache_dir = _PERSONAL[k]
    assignment = pipeline.built(job.module, job.params)
    meta = replace(job.meta, student=sid)
    with proofcache.using(cache_dir):
        return pipeline.outputs(assignment, formats, meta, log_dir, ("handout",), cache_dir / "tex")


def _term_root(job: pipeline.Job, out_root: Path) -> Path:
    return out_root / job.directory.relative_to(out_root).parts[0]


def stored_handout(job: pipeline.Job, student: str, fmt: str, out_root: Path) -> Path:
    """Where the typeset `fmt` handout of `job`'s variant for `student` is kept (see the
    module's docstring): a name no other variant, build input or student shares."""
    key = cache.value_digest([fmt, cache.digest(job.inputs), student])
    return _term_root(job, out_root) / HANDOUT_STORE / job.module.id / f"{key}.{fmt}"


def _typeset_formats(formats: Sequence[str]) -> tuple[str, ...]:
    return tuple(f for f in HANDOUT_FORMATS if f in formats and f not in _TEXT)


def _theirs(
    jobs: Mapping[tuple[str, int], pipeline.Job], students: Sequence[Student]
) -> list[tuple[pipeline.Job, Student]]:
    """(variant's job, student) for every student of a variant in `jobs`, in order."""
    return [
        (job, s)
        for (_, variant), job in sorted(jobs.items())
        for s in students
        if s.variant == variant
    ]


def typeset_handouts(
    jobs: Mapping[tuple[str, int], pipeline.Job],
    students: Sequence[Student],
    formats: Sequence[str],
    out_root: Path,
    workers: int | None = None,
) -> int:
    """Typeset the HTML and PDF handouts (those in `formats`) of each student of a
    variant in `jobs` (built and verified) that the store (`stored_handout`) lacks, on
    every core; returns how many files were typeset."""
    typeset = _typeset_formats(formats)
    work = []
    for job, s in _theirs(jobs, students):
        missing = tuple(
            f for f in typeset if _regular(stored_handout(job, s.id, f, out_root)) is None
        )
        if missing:
            logs = _term_root(job, out_root) / ".logs"
            work.append((job, s.id, missing, logs, out_root / ".cache"))
    made = _typeset_all(work, workers)
    with publish.publishing(out_root):
        for (job, sid, missing, _, _), files in zip(work, made, strict=True):
            for fmt in missing:
                publish.replace_file(
                    stored_handout(job, sid, fmt, out_root), files[f"handout.{fmt}"]
                )
    return sum(len(w[2]) for w in work)


def personal_handouts(
    jobs: Mapping[tuple[str, int], pipeline.Job],
    students: Sequence[Student],
    formats: Sequence[str],
    out_root: Path,
    workers: int | None = None,
    *,
    typeset: bool = True,
) -> dict[tuple[str, str], dict[str, bytes]]:
    """Each student's own handout files by (student id, assignment): their variant's
    (`jobs`: by (assignment, variant), built and verified) with their id in the footer
    (see the module's docstring). Only the handout formats in `formats`. The HTML and
    PDF come from the store, typeset first where it lacks them; with `typeset` False
    (a merge) a missing one is refused, naming the student and the variant."""
    text = [f for f in HANDOUT_FORMATS if f in formats and f in _TEXT]
    out: dict[tuple[str, str], dict[str, bytes]] = {}
    for (assignment, variant), job in sorted(jobs.items()):
        mine = [s for s in students if s.variant == variant]
        if not mine:
            continue
        marked: dict[str, str] = {}
        if text:
            model = pipeline.built(job.module, job.params)
            meta = replace(job.meta, student=STUDENT_MARK)
            for fmt in text:
                source = render.render(model, fmt, "handout", meta)
                marked[fmt] = pdf.standalone_tex(source) if fmt == "tex" else source
                if marked[fmt].count(STUDENT_MARK) != 1:
                    raise UsageError(
                        f"templates/document.{fmt}.j2: a handout's footer must show the "
                        "student once (doc.footer)"
                    )
        for s in mine:
            out[(s.id, assignment)] = {
                f"handout.{fmt}": marked[fmt].replace(STUDENT_MARK, _TEXT[fmt](s.id)).encode()
                for fmt in text
            }
    if typeset:
        typeset_handouts(jobs, students, formats, out_root, workers)
    for job, s in _theirs(jobs, students):
        for fmt in _typeset_formats(formats):
            path = stored_handout(job, s.id, fmt, out_root)
            data = _regular(path)
            if data is None:
                raise UsageError(
                    f"{path.parent}: no typeset handout.{fmt} of {job.module.id} variant "
                    f"{job.meta.variant} for student {s.id} (missing or stale): build every "
                    "shard with this roster and these formats first"
                )
            out[(s.id, job.module.id)][f"handout.{fmt}"] = data
    return out


def _prune_store(
    term_root: Path, assignments: set[str], formats: Sequence[str], kept: set[Path]
) -> None:
    """Drop the typeset handouts of `assignments` in `formats` that the tree just
    written does not use (a roster's student gone, a variant rebuilt). Call with the
    publishing lock held."""
    for assignment in sorted(assignments):
        store = term_root / HANDOUT_STORE / assignment
        if store.is_dir():
            for path in store.iterdir():
                if path.suffix[1:] in formats and path not in kept and path.is_file():
                    path.unlink()


def _typeset_all(
    work: list[tuple[pipeline.Job, str, tuple[str, ...], Path, Path]], workers: int | None
) -> list[dict[str, bytes]]:
    """`_typeset_one` of every item, on `workers` processes forked now (the built models
    inherited), in order."""
    global _PERSONAL
    _PERSONAL = work
    try:
        n = workers or pipeline.default_workers()
        if n <= 1 or len(work) < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return [_typeset_one(k) for k in range(len(work))]
        for job, *_ in work:  # built once here: the workers inherit the models
            pipeline.built(job.module, job.params)
        with multiprocessing.get_context("fork").Pool(n) as pool:
            return pool.map(_typeset_one, range(len(work)), chunksize=1)
    finally:
        _PERSONAL = []


def _source_order(item: tuple[tuple[str, int | None], Path]) -> tuple[str, int]:
    (assignment, k), _ = item
    return (assignment, k or 0)


def zip_bytes(tree: Mapping[str, bytes]) -> bytes:
    """The tree as a zip: entries sorted, fixed times and modes, so the same tree
    gives the same bytes on any machine and at any time."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(tree):
            info = zipfile.ZipInfo(path, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever builds it
            info.external_attr = 0o100644 << 16
            archive.writestr(info, tree[path], compresslevel=9)
    return buffer.getvalue()


def write_tree(root: Path, tree: Mapping[str, bytes]) -> None:
    """Replace the directory `root` by one holding exactly `tree`, in one step (staged
    beside it under a pid-owned name, then swapped in; see publish.py). Call with the
    publishing lock held."""
    root.parent.mkdir(parents=True, exist_ok=True)
    publish.recover(root.parent)
    new = publish.staged_name(root, "new")
    old = publish.staged_name(root, "old")
    shutil.rmtree(new, ignore_errors=True)
    try:
        new.mkdir()
        for path, data in tree.items():
            target = new / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if not root.exists():
            os.rename(new, root)
            return
        try:
            publish.exchange(new, root)
        except OSError as exc:
            if exc.errno not in _NO_EXCHANGE:
                raise
            os.rename(root, old)
            os.rename(new, root)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(new, ignore_errors=True)


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """`3/8` -> (3, 8): the third of eight slices."""
    if spec is None:
        return None
    m = re.fullmatch(r"\s*(\d{1,4})\s*/\s*(\d{1,4})\s*", spec)
    if m is None or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise UsageError(f"--shard: expected K/N with 1 <= K <= N (e.g. 2/8), got {spec!r}")
    return int(m.group(1)), int(m.group(2))


def _variant_number(job: pipeline.Job) -> int | None:
    return int(job.meta.variant) if job.meta.variant else None


def _selector(
    wanted: set[int] | None, shard: tuple[int, int] | None
) -> Callable[[list[pipeline.Job]], list[pipeline.Job]] | None:
    """The jobs to build: those of the wanted variants, then the shard's slice of them
    (every N-th in (assignment, variant) order, from the K-th)."""
    if wanted is None and shard is None:
        return None

    def pick(jobs: list[pipeline.Job]) -> list[pipeline.Job]:
        chosen = [j for j in jobs if wanted is None or _variant_number(j) in wanted]
        chosen.sort(key=lambda j: (j.module.id, _variant_number(j) or 0))
        if shard is not None:
            k, n = shard
            chosen = chosen[k - 1 :: n]
        return chosen

    return pick


def publish_term(
    term: str,
    names: list[str] | None = None,
    formats: tuple[str, ...] = pipeline.FORMATS,
    out_root: Path = Path("build"),
    *,
    roster: Path | None = None,
    columns: Columns | None = None,
    variants: int = 0,
    shard: tuple[int, int] | None = None,
    merge: bool = False,
    report: Callable[[str], None] = print,
    workers: int | None = None,
    terms_dir: Path = Path("terms"),
) -> Published:
    """Build the term (only a slice with `shard`, nothing with `merge`), then write the
    students' tree, its zip and with a roster the staff's index and the manifest."""
    if not set(formats) & set(HANDOUT_FORMATS):
        raise UsageError(
            f"publish hands out handouts: --format needs one of {', '.join(HANDOUT_FORMATS)}"
        )
    if shard is not None and merge:
        raise UsageError("--shard builds a slice and --merge gathers them: give one")
    the_term = load_term(term, discover(), terms_dir)
    students: list[Student] | None = None
    wanted: set[int] | None = None
    count = variants
    if roster is not None:
        pool = roster_pool(the_term, variants)
        students = read_roster(roster, the_term.seed, pool, columns or Columns())
        wanted = {s.variant for s in students}
        count = max(wanted)
    elif not 0 <= variants <= MAX_VARIANTS:
        raise UsageError(f"--variants must be between 0 and {MAX_VARIANTS}, got {variants}")
    planned: list[pipeline.Job] = []
    select = _selector(wanted, shard)

    def remember(jobs: list[pipeline.Job]) -> list[pipeline.Job]:
        if count:  # variants are handed out, not the term's own sheet beside them
            jobs = [j for j in jobs if _variant_number(j) is not None]
        chosen = jobs if select is None else select(jobs)
        planned.extend(chosen)
        return chosen

    results = pipeline.build(
        names,
        formats,
        term,
        out_root,
        report,
        variants=count,
        terms_dir=terms_dir,
        workers=workers,
        only=remember,
        fresh_only=merge,
    )
    published = Published(the_term.name, len(results))
    by_variant = {(job.module.id, _variant_number(job) or 0): job for job in planned}
    if shard is not None:
        typeset = 0
        if students is not None:
            typeset = typeset_handouts(by_variant, students, formats, out_root, workers)
        report(
            f"shard {shard[0]}/{shard[1]}: {len(results)} directories built"
            + (f", {typeset} students' handouts typeset" if students is not None else "")
            + f"; gather every shard's {out_root / the_term.name} (hidden files too) and "
            f"run `answerkey publish {term} --merge`"
        )
        return published
    sources = {(job.module.id, _variant_number(job)): job.directory for job in planned}
    personal = None
    kept: set[Path] = set()
    if students is not None:
        personal = personal_handouts(
            by_variant, students, formats, out_root, workers, typeset=not merge
        )
        kept = {
            stored_handout(job, s.id, fmt, out_root)
            for job, s in _theirs(by_variant, students)
            for fmt in _typeset_formats(formats)
        }
    term_root = out_root / the_term.name
    base = out_root / "students"
    with publish.publishing(out_root):
        tree, handed = tree_files(sources, students, personal)
        if not tree:
            raise UsageError("nothing to hand out: no handout was built")
        if students is not None:
            published.index = term_root / INDEX_NAME
            index = index_csv(students, handed)
            if _read(published.index) != index:
                (term_root / "MANIFEST.json").unlink(missing_ok=True)
                publish.replace_file(published.index, index)
            published.students = len(students)
        if students is not None:
            mine = {assignment for assignment, _ in by_variant}
            _prune_store(term_root, mine, _typeset_formats(formats), kept)
        pipeline.write_manifest(out_root, the_term)
        published.tree = base / the_term.name
        published.archive = base / f"{the_term.name}.zip"
        write_tree(published.tree, tree)
        publish.replace_file(published.archive, zip_bytes(tree))
        published.files = len(tree)
    report(
        f"students' tree {published.tree}: {published.files} files"
        + (f" for {published.students} students" if students is not None else "")
        + f"; zip {published.archive}"
        + (f"; index {published.index}" if published.index is not None else "")
    )
    return published


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def show_variant(
    term: str,
    student_id: str,
    roster: Path,
    *,
    columns: Columns | None = None,
    variants: int = 0,
    formats: tuple[str, ...] = pipeline.FORMATS,
    out_root: Path = Path("build"),
    to: Path | None = None,
    report: Callable[[str], None] = print,
    workers: int | None = None,
    terms_dir: Path = Path("terms"),
) -> tuple[Path, list[str]]:
    """Rebuild exactly what one student was handed (their variant of every assignment)
    into `to` (default <out>/show-variant/<term>/<student>/). Returns the directory
    and, when the term's roster index is there, the files that differ from what it
    recorded as handed out (empty: identical)."""
    the_term = load_term(term, discover(), terms_dir)
    pool = roster_pool(the_term, variants)
    everyone = read_roster(roster, the_term.seed, pool, columns or Columns())
    match = [s for s in everyone if s.id == student_id]
    if not match:
        raise UsageError(f"{roster}: no student with id {student_id!r}")
    student = match[0]
    planned: list[pipeline.Job] = []
    select = _selector({student.variant}, None)
    assert select is not None

    def remember(jobs: list[pipeline.Job]) -> list[pipeline.Job]:
        chosen = select(jobs)
        planned.extend(chosen)
        return chosen

    pipeline.build(
        None,
        formats,
        term,
        out_root,
        report,
        variants=student.variant,
        terms_dir=terms_dir,
        workers=workers,
        only=remember,
    )
    sources = {(job.module.id, _variant_number(job)): job.directory for job in planned}
    by_variant = {(job.module.id, _variant_number(job) or 0): job for job in planned}
    personal = personal_handouts(by_variant, [student], formats, out_root, workers)
    tree, handed = tree_files(sources, [student], personal)
    target = to or out_root / "show-variant" / the_term.name / student.id
    with publish.publishing(out_root):
        write_tree(target, {path.split("/", 1)[1]: data for path, data in tree.items()})
    differ: list[str] = []
    index_path = out_root / the_term.name / INDEX_NAME
    if index_path.is_file():
        from .roster import read_index

        recorded = read_index(index_path)
        for key, mine in sorted(handed.items()):
            was = recorded.get(key, {})
            differ += [p for p in sorted(set(was) | set(mine)) if was.get(p) != mine.get(p)]
    how = " (overridden in the roster)" if student.overridden else ""
    report(
        f"{student.id}: variant {variant_name(student.variant)}{how}, {len(tree)} files in {target}"
    )
    return target, differ
