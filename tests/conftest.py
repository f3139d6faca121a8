"""Shared fixtures: cv-assignment9 built once per session, and a registry that holds only it;
a term tree with verification stubbed (`stubbed_tree`); the session's proof cache, shared by
the builds that test something else than proving (`shared_proofs`).

The full verified build of cv-assignment9 takes about 20 s, so the tests that only
read its outputs share one build (`built`). A second, independent clean build runs
in a subprocess at the same time, for the determinism test.

Builds here resolve "cv-assignment9" through a registry holding only that module
(`cv_only_registry`), so a solution module another engineer is half-way through
writing cannot break tests about the pipeline; `tests/test_registry.py` tests the
real discovery.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

import answerkey.build
import answerkey.cli
import solutions.cv_assignment9 as cv
from answerkey import registry, verify
from answerkey.claims import roundtrip
from answerkey.model import Assignment, CheckRecord, Exercise
from answerkey.registry import SolutionModule
from answerkey.verify import verify_assignment

# CI runs the property tests on a fixed sequence of examples, so a run is
# reproducible; on a developer's machine each run explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
CV = "cv-assignment9"
PART_IDS = ["1a", "1b", "2", "3", "4", "5", "6", "7", "8", "9"]
OUTPUT_FILES = [
    "answers.json",
    "handout.html",
    "handout.md",
    "handout.pdf",
    "handout.tex",
    "key.html",
    "key.md",
    "key.pdf",
    "key.tex",
]

needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs pdflatex runs TeX: it gets the `tex` marker (`make check` skips it).

    Then the modules are ordered for pytest-xdist (`--dist loadfile --no-loadscope-reorder`
    hands them to the workers in this order): those with builds or TeX runs first, the
    most such tests first, then by their number of tests; each module's tests keep their
    order. The long modules start early and the quick ones fill the end, so both workers
    finish together (xdist's own order, by number of tests, started a module with one
    37 s build test among the last)."""
    for item in items:
        if any("pdflatex" in str(m.kwargs.get("reason", "")) for m in item.iter_markers("skipif")):
            item.add_marker(pytest.mark.tex)
    heavy: dict[str, int] = {}
    count: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        slow = item.get_closest_marker("build") or item.get_closest_marker("tex")
        heavy[module] = heavy.get(module, 0) + bool(slow)
        count[module] = count.get(module, 0) + 1

    def order(item: pytest.Item) -> tuple[int, int]:
        module = item.nodeid.split("::")[0]
        return (-heavy[module], -count[module])

    items.sort(key=order)  # stable: a module's tests keep their order


def cv_module() -> SolutionModule:
    """cv-assignment9 as `registry.discover` would describe it, without importing the others."""
    import solutions.cv_assignment9 as mod

    return SolutionModule(mod.ID, mod.TITLE, mod.PARAMETERS, mod.build, mod)


def _only_cv() -> dict[str, SolutionModule]:
    m = cv_module()
    return {m.id: m}


@pytest.fixture
def cv_only_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """`registry.discover` (and so `select`, `build`, the CLI) sees only cv-assignment9."""
    for module in (registry, answerkey.build):
        monkeypatch.setattr(module, "discover", _only_cv)


# The second clean build, run in its own interpreter, with the same one-module registry.
_SUBPROCESS_BUILD = """
import sys
from pathlib import Path
import solutions.cv_assignment9 as mod
import answerkey.build
import answerkey.cli
import answerkey.build
from answerkey import registry, verify

m = registry.SolutionModule(mod.ID, mod.TITLE, mod.PARAMETERS, mod.build, mod)
registry.discover = answerkey.build.discover = lambda: {m.id: m}
answerkey.build.build(
    [m.id], out_root=Path(sys.argv[1]), report=lambda _msg: None, terms_dir=Path("terms")
)
"""


@dataclass
class Built:
    """The outputs of one build of cv-assignment9 (term `default`) and of a second one."""

    root: Path  # out_root of the first build
    directory: Path  # root / default / cv-assignment9
    seconds: float
    messages: list[str]
    second: Path | None  # the second build's directory, None if it failed
    second_error: str

    def read(self, name: str) -> bytes:
        return (self.directory / name).read_bytes()

    def text(self, name: str) -> str:
        return (self.directory / name).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    from answerkey.build import build

    root = tmp_path_factory.mktemp("build-1")
    root2 = tmp_path_factory.mktemp("build-2")
    second = subprocess.Popen(
        [sys.executable, "-c", _SUBPROCESS_BUILD, str(root2)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        messages: list[str] = []
        with pytest.MonkeyPatch.context() as mp:
            for module in (registry, answerkey.build):
                mp.setattr(module, "discover", _only_cv)
            start = time.perf_counter()
            build([CV], out_root=root, report=messages.append, terms_dir=ROOT / "terms")
            seconds = time.perf_counter() - start
        _, err = second.communicate(timeout=300)
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    ok = second.returncode == 0
    yield Built(
        root=root,
        directory=root / "default" / CV,
        seconds=seconds,
        messages=messages,
        second=root2 / "default" / CV if ok else None,
        second_error="" if ok else err,
    )


@pytest.fixture(scope="session")
def answers(built: Built) -> dict:
    import json

    return json.loads(built.text("answers.json"))


def pdf_text(path: Path) -> str:
    """The text of a PDF, via pypdf (whitespace normalised)."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def compile_tex(source: str, directory: Path, name: str = "doc") -> subprocess.CompletedProcess:
    """pdflatex, no shell escape, stopping at the first error, in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.tex").write_text(source, encoding="utf-8")
    return subprocess.run(
        [
            "pdflatex",
            "-no-shell-escape",
            "-interaction=nonstopmode",
            "-halt-on-error",
            f"{name}.tex",
        ],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        check=False,
    )


def small_cv() -> Assignment:
    """cv-assignment9 cut down to its two cheap scalar parts, verified (well under a second)."""
    full = cv.build(cv.PARAMETERS)
    ex = full.exercises[0]
    parts = [p for p in ex.parts if p.id in ("1a", "1b")]
    a = Assignment(full.id, full.title, [Exercise(ex.number, ex.title, ex.intro, parts)])
    a.notation = full.notation
    verify_assignment(a)
    return a


@pytest.fixture
def fake_solutions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A stand-in `solutions` package in tmp_path; the real one is restored afterwards."""
    package = tmp_path / "solutions"
    package.mkdir()
    fake = types.ModuleType("solutions")
    fake.__path__ = [str(package)]  # type: ignore[attr-defined]
    for name in [m for m in sys.modules if m == "solutions" or m.startswith("solutions.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "solutions", fake)
    yield package
    for name in [m for m in sys.modules if m.startswith("solutions.")]:
        sys.modules.pop(name, None)


def module_source(assignment_id: str, title: str = "T") -> str:
    """A module whose build(params) returns an empty Assignment titled with params' keys."""
    return (
        "from answerkey.model import Assignment\n"
        f"ID = {assignment_id!r}\nTITLE = {title!r}\nPARAMETERS = {{'a': 1}}\n"
        "def build(params):\n    return Assignment(ID, ','.join(params), [])\n"
    )


WINTER = "2026-winter"


def run_store(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A directory for the whole test run: under pytest-xdist, the workers of one run
    share it (their temporary roots are siblings), so what one worker proved another
    need not prove again. Entries are named by what they answer and written whole
    (`_copy_entries`), so two workers adding the same entry is harmless."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        store = base.parent / name
        store.mkdir(exist_ok=True)
        return store
    return tmp_path_factory.mktemp(name)


@pytest.fixture(scope="session")
def _remembered_verdicts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_store(tmp_path_factory, "remembered-verdicts")


@pytest.fixture
def stubbed_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _remembered_verdicts: Path
) -> Iterator[Path]:
    """tmp_path with terms/ holding a copy of the 2026-winter term, and verification stubbed:
    every part passes with one stub record and the printed answers' read-back (through the
    claims reader) is skipped, so a build takes a fraction of a second. For
    the tests of what a build publishes and when it rebuilds, not of what it proves.

    Builds into tmp_path/out start with the verdicts (errata, read-back) that such builds
    remembered earlier in the session, each under what it depends on (the engine's, the
    claims file's digest...): a test that changes one of those finds no verdict for it."""
    terms = tmp_path / "terms"
    terms.mkdir()
    shutil.copy(ROOT / "terms" / f"{WINTER}.toml", terms)

    def fake_verify(assignment_id: str, part: object, seed: int = 0) -> list[CheckRecord]:
        return [CheckRecord("numeric", "stub", "verification stubbed for this test")]

    monkeypatch.setattr(answerkey.build, "verify_part", fake_verify)
    monkeypatch.setattr(verify, "verify_part", fake_verify)
    # the read-back of every printed answer through the claims reader is proving too
    monkeypatch.setattr(roundtrip, "check_assignment", lambda assignment, printer=None: 0)
    verdicts = tmp_path / "out" / ".cache" / "verdicts"
    _copy_entries(_remembered_verdicts, verdicts)
    yield tmp_path
    _copy_entries(verdicts, _remembered_verdicts)


# What one build proved (the proof cache's kinds: proofs, remembered verdicts) and the
# dumped LaTeX preamble; not the rendered outputs, nor the no-op fast path's records.
SHARED_KINDS = ("proofs", "verdicts", "tex")
SharedProofs = Callable[..., contextlib.AbstractContextManager[None]]


@pytest.fixture(scope="session")
def shared_proofs(tmp_path_factory: pytest.TempPathFactory) -> SharedProofs:
    """`with shared_proofs(out_root): build(..., out_root)`: the build starts from what the
    session's earlier such builds proved (their proof cache, copied into out_root/.cache),
    and adds what it proves. Each proof is computed once per test run (the store starts
    empty; the xdist workers share it), whichever test needs it first; a test that builds
    the same assignment at the same numbers again spends its time on what it tests
    (publishing, exporting, layout).
    `cold=True`: the build starts from an empty cache (it proves everything itself, a
    test of verification) and only gives what it proved. Not for tests of the cache, or
    that time or kill a build."""
    store = run_store(tmp_path_factory, "shared-proofs")

    @contextlib.contextmanager
    def sharing(out_root: Path, cold: bool = False) -> Iterator[None]:
        cache = out_root / ".cache"
        for kind in SHARED_KINDS:
            if not cold:
                _copy_entries(store / kind, cache / kind)
        yield
        for kind in SHARED_KINDS:
            _copy_entries(cache / kind, store / kind)

    return sharing


def _copy_entries(source: Path, target: Path) -> None:
    """The files under `source` that `target` lacks (entries are named by what they
    answer), each copied whole or not at all; an entry being written is skipped."""
    if not source.is_dir():
        return
    for entry in source.rglob("*"):
        to = target / entry.relative_to(source)
        if ".partial-" in entry.name or entry.is_symlink() or not entry.is_file() or to.exists():
            continue
        to.parent.mkdir(parents=True, exist_ok=True)
        partial = to.with_name(f"{to.name}.partial-{os.getpid()}")
        try:
            shutil.copyfile(entry, partial)
        except FileNotFoundError:  # replaced meanwhile
            continue
        os.replace(partial, to)
