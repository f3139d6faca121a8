"""The pipeline: every file is produced, two clean builds agree, and a failed check —
or any failure before publishing — leaves the previous key exactly as it was."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CV, OUTPUT_FILES, ROOT, Built, compile_tex, needs_pdflatex, small_cv
from test_procs import gone

import answerkey.build as pipeline
import solutions.cv_assignment9 as cv
from answerkey import cli, render
from answerkey.errors import ModuleError, RenderError, UsageError, VerificationError

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `root` (hidden ones too) with its bytes and modification time,
    but for the caches in .cache/tex, proofs, verdicts and outputs (a failed build
    may still have dumped the PDFs' preamble, stored the proofs that passed or kept
    an HTML page there: caches, not outputs; so are the publishing and build locks; the stamps,
    in the output directories, are compared)."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[:2] not in CACHES
    }


CACHES = {
    (".cache", "tex"),
    (".cache", "proofs"),
    (".cache", "outputs"),
    (".cache", "verdicts"),
    (".cache", "publish.lock"),
    (".cache", "build.lock"),
}


# --- the outputs ------------------------------------------------------------------


def test_the_build_writes_every_file_and_nothing_half_written(built: Built) -> None:
    names = sorted(p.name for p in built.directory.iterdir() if p.name != ".stamp.json")
    assert set(OUTPUT_FILES) <= set(names)
    extra = set(names) - set(OUTPUT_FILES)
    assert all(name.endswith((".svg", ".html")) for name in extra), extra
    for name in names:
        assert (built.directory / name).stat().st_size > 0, name
    assert not [p for p in built.root.rglob("*") if ".partial" in p.name]


def test_the_build_reports_what_it_verified_and_wrote(built: Built) -> None:
    text = "\n".join(built.messages)
    assert re.search(r"\b\d+ checks\b", text), text
    assert f"default/{CV}" in text


def test_pdfs_are_pdfs(built: Built) -> None:
    for name in ("key.pdf", "handout.pdf"):
        data = built.read(name)
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


@needs_pdflatex
@pytest.mark.parametrize("name", ["key.tex", "handout.tex"])
def test_each_tex_file_compiles_standalone(built: Built, name: str, tmp_path: Path) -> None:
    proc = compile_tex(built.text(name), tmp_path, "doc")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0
    assert "Undefined control sequence" not in proc.stdout


@pytest.mark.parametrize("name", ["key.tex", "key.md", "handout.tex", "handout.md", "answers.json"])
def test_two_clean_builds_give_byte_identical_text_outputs(built: Built, name: str) -> None:
    assert built.second is not None, built.second_error
    assert built.read(name) == (built.second / name).read_bytes()


@pytest.mark.parametrize("name", ["key.pdf", "handout.pdf"])
def test_two_clean_builds_give_byte_identical_pdfs(built: Built, name: str) -> None:
    assert built.second is not None, built.second_error
    # Digests, not bytes: pytest's diff of two differing PDFs takes minutes.
    first = hashlib.sha256(built.read(name)).hexdigest()
    assert first == hashlib.sha256((built.second / name).read_bytes()).hexdigest()


# --- a wrong step planted in the solution module ------------------------------------


@pytest.fixture
def previous(built: Built, tmp_path: Path) -> Path:
    """A copy of the shared build's outputs: 'the previous key', ours to break.

    Build caches (stamps saying the outputs are fresh) are left behind: the
    wrong step is planted by monkeypatching, which a stamp of the solution's
    source cannot see, and the point here is what a real rebuild does.
    """
    root = tmp_path / "out"
    shutil.copytree(built.root, root, ignore=shutil.ignore_patterns(".cache", ".stamp.json"))
    assert (root / "default" / CV / "key.pdf").exists()
    return root


ORIGINAL_PART_2 = cv.part_2


def wrong_part_2() -> object:
    part = ORIGINAL_PART_2()
    d = part.derivations[0]
    last = d.steps[-1]
    wrong = dataclasses.replace(last, expr=cv.T(cv.t - cv.y2))  # a flipped sign
    return dataclasses.replace(
        part, derivations=[dataclasses.replace(d, steps=(*d.steps[:-1], wrong))]
    )


ORIGINAL_PART_9 = cv.part_9


def wrong_part_9() -> object:
    """Part 9 with the sign of the penalty's gradient flipped in the W2 result."""
    part = ORIGINAL_PART_9()
    d = part.derivations[0]
    wrong = dataclasses.replace(d.steps[-1], expr=cv.mm(cv.y2 - cv.t, cv.T(cv.y1)) - cv.lam * cv.W2)
    derivations = list(part.derivations)
    derivations[0] = dataclasses.replace(d, steps=(*d.steps[:-1], wrong))
    return dataclasses.replace(part, derivations=derivations)


# Worker processes see the monkeypatched part only when they are forked.
JOBS = "2" if multiprocessing.get_start_method() == "fork" else "1"


@pytest.mark.usefixtures("cv_only_registry")
def test_a_wrong_step_fails_the_build_and_leaves_the_previous_key(
    previous: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(previous)
    monkeypatch.setattr(cv, "part_9", wrong_part_9)
    monkeypatch.chdir(ROOT)
    code = cli.main(["build", CV, "--out", str(previous), "--jobs", JOBS])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(
        f"answerkey: error: verification failed: {CV}, part 9, derivation of ∂E_reg/∂W2, step 2"
    )
    assert len(err.strip().splitlines()) == 1, err
    assert snapshot(previous) == before


@pytest.mark.usefixtures("cv_only_registry")
def test_the_pipeline_raises_before_writing(
    previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(previous)
    monkeypatch.setattr(cv, "part_9", wrong_part_9)
    with pytest.raises(VerificationError) as err:
        pipeline.build(
            [CV],
            out_root=previous,
            report=lambda _m: None,
            terms_dir=ROOT / "terms",
            workers=int(JOBS),
        )
    assert err.value.where.startswith(f"{CV}, part 9, derivation of ∂E_reg/∂W2, step 2")
    assert snapshot(previous) == before


@pytest.mark.usefixtures("cv_only_registry")
def test_the_handout_rendered_while_verifying_is_not_published_when_verification_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cv, "part_2", wrong_part_2)
    with pytest.raises(VerificationError):
        pipeline.build(
            [CV],
            formats=("md",),
            out_root=tmp_path,
            report=lambda _m: None,
            terms_dir=ROOT / "terms",
            workers=int(JOBS),
        )
    assert not (tmp_path / "default" / CV).exists() or not any(
        (tmp_path / "default" / CV).iterdir()
    )


def test_the_handout_needs_no_checks_and_the_key_brings_the_answers(tmp_path: Path) -> None:
    a = small_cv()
    handout = pipeline.outputs(a, ("md", "json"), render.Meta(), tmp_path, kinds=("handout",))
    assert set(handout) >= {"handout.md"} and "answers.json" not in handout
    assert not any(name.startswith("key.") for name in handout)
    key = pipeline.outputs(a, ("md", "json"), render.Meta(), tmp_path, kinds=("key",))
    assert {"key.md", "answers.json"} <= set(key)


def test_a_verification_error_survives_the_trip_from_a_worker_process() -> None:
    err = pickle.loads(pickle.dumps(VerificationError(f"{CV}, part 2, step 4", "differs")))
    assert isinstance(err, VerificationError)
    assert err.where == f"{CV}, part 2, step 4"
    assert str(err) == f"verification failed: {CV}, part 2, step 4: differs"


@pytest.mark.usefixtures("cv_only_registry")
def test_a_failure_after_verification_also_leaves_the_previous_key(
    previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PDF step fails after everything verified: still nothing is written."""
    before = snapshot(previous)
    fast = small_cv()
    monkeypatch.setattr(cv, "build", lambda _params: fast)
    monkeypatch.setattr(pipeline, "verify_assignment", lambda a, **_kw: a.check_count())

    def broken(*_args: object) -> None:
        raise RenderError("LaTeX error in cv-assignment9-handout, line 1: boom")

    monkeypatch.setattr(pipeline.pdf, "compile_latex", broken)
    with pytest.raises(RenderError):
        pipeline.build(
            [CV], out_root=previous, report=lambda _m: None, terms_dir=ROOT / "terms", workers=1
        )
    assert snapshot(previous) == before


# --- pieces of the pipeline --------------------------------------------------------


def test_outputs_makes_only_the_formats_asked_for(tmp_path: Path) -> None:
    a = small_cv()
    meta = render.Meta()
    assert set(pipeline.outputs(a, ("tex",), meta, tmp_path)) == {"key.tex", "handout.tex"}
    assert set(pipeline.outputs(a, ("json",), meta, tmp_path)) == {"answers.json"}
    md = pipeline.outputs(a, ("md",), meta, tmp_path)
    assert {"key.md", "handout.md"} <= set(md)
    assert not [k for k in md if k.endswith((".tex", ".pdf", ".json"))]


def test_publish_replaces_files_and_leaves_no_temporary_name(tmp_path: Path) -> None:
    d = tmp_path / "out"
    d.mkdir()
    (d / "key.md").write_bytes(b"old")
    pipeline.publish(d, {"key.md": b"new", "answers.json": b"{}"})
    assert sorted(p.name for p in d.iterdir()) == ["answers.json", "key.md"]
    assert (d / "key.md").read_bytes() == b"new"


def test_publish_that_fails_while_writing_changes_nothing(tmp_path: Path) -> None:
    d = tmp_path / "out"
    d.mkdir()
    (d / "key.md").write_bytes(b"old")
    with pytest.raises(TypeError):
        pipeline.publish(d, {"key.md": "not bytes"})  # type: ignore[dict-item]
    assert sorted(os.listdir(d)) == ["key.md"]
    assert (d / "key.md").read_bytes() == b"old"


def test_all_formats_are_the_default() -> None:
    assert {"tex", "md", "pdf", "json"} <= set(pipeline.FORMATS)
    assert pipeline.parse_formats(None) == pipeline.FORMATS
    assert pipeline.parse_formats("") == pipeline.FORMATS


@pytest.mark.parametrize(
    ("spec", "formats"),
    [
        ("tex", ("tex",)),
        ("md, json", ("md", "json")),
        ("pdf,pdf,tex", ("pdf", "tex")),
    ],
)
def test_parse_formats(spec: str | None, formats: tuple[str, ...]) -> None:
    assert pipeline.parse_formats(spec) == formats


@pytest.mark.parametrize("spec", ["docx", "tex,docx", ",", "TEX"])
def test_parse_formats_refuses_unknown_formats(spec: str) -> None:
    with pytest.raises(UsageError, match="unknown format"):
        pipeline.parse_formats(spec)


def _sleep(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


def test_abandoning_the_pool_ends_its_manager_thread_even_with_half_a_result_in_the_pipe() -> None:
    # a worker killed while writing its result leaves the header of a message and
    # nothing more; the pool's manager thread then waits for the rest, and the
    # interpreter would hang at exit joining it
    import concurrent.futures as cf
    import struct

    executor = cf.ProcessPoolExecutor(2, initializer=pipeline._worker_init, initargs=(os.getpid(),))
    future = executor.submit(_sleep, 30)
    manager = executor._executor_manager_thread  # type: ignore[attr-defined]
    writer = executor._result_queue._writer  # type: ignore[attr-defined]
    os.write(writer.fileno(), struct.pack("!i", 1000) + b"x")
    try:
        pipeline._abandon(executor)
        assert manager is not None and not manager.is_alive()
        assert future.done()
    finally:
        if not writer.closed:  # let this test fail rather than hang
            writer.close()
            manager.join()


# --- broken and vanishing solution modules ---------------------------------------------

GOOD = """
from conftest import small_cv
ID = "good-one"
TITLE = "Good"
PARAMETERS = {"a": 1}
def draw(rng):
    return {"a": int(rng.integers(1, 100))}
def build(params):
    a = small_cv()
    a.id = ID
    return a
"""


def test_a_broken_module_is_reported_at_the_end_and_the_others_still_build(
    fake_solutions: Path, tmp_path: Path
) -> None:
    (fake_solutions / "good.py").write_text(GOOD)
    raises = GOOD.replace('"good-one"', '"raises"').replace("a = small_cv()", "a = 1 / 0")
    (fake_solutions / "raises.py").write_text(raises)
    line = raises.splitlines().index("    a = 1 / 0") + 1
    (fake_solutions / "unreadable.py").write_text("import sys\nsys.exit(0)\n")
    out = tmp_path / "out"
    with pytest.raises(ModuleError) as err:
        pipeline.build(None, ("md",), out_root=out, terms_dir=tmp_path, workers=1, report=print)
    assert str(err.value).splitlines() == [
        "solutions/unreadable.py: import called sys.exit(0); a solution module must not exit",
        "raises (solutions/raises.py): build() failed: ZeroDivisionError: division by zero "
        f"(at solutions/raises.py:{line})",
    ]
    assert (out / "default" / "good-one" / "key.md").is_file()
    assert not (out / "default" / "raises").exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_module_deleted_during_the_build_is_built_from_the_snapshot_taken(
    fake_solutions: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Discovery is read once: a module renamed or deleted once the build has planned
    does not end it half-way (all variants come from the module as it was)."""
    (fake_solutions / "good.py").write_text(GOOD)
    plan = pipeline.plan

    def plan_then_delete(*args: object, **kwargs: object) -> list[pipeline.Job]:
        jobs = plan(*args, **kwargs)  # type: ignore[arg-type]
        (fake_solutions / "good.py").unlink(missing_ok=True)
        sys.modules.pop("solutions.good", None)
        return jobs

    monkeypatch.setattr(pipeline, "plan", plan_then_delete)
    (tmp_path / "spring.toml").write_text('seed = 7\nlabel = "Spring"\n')
    out = tmp_path / "out"
    results = pipeline.build(
        None, ("md",), "spring", out, print, variants=3, terms_dir=tmp_path, workers=workers
    )
    assert len(results) == 4  # the term's own key, and its three variants beside it
    assert "Spring" in (out / "spring" / "good-one" / "key.md").read_text()
    index = json.loads((out / "spring" / "good-one" / "variants.json").read_text())
    assert [v["directory"] for v in index["variants"]] == [f"variant-0{k}" for k in (1, 2, 3)]
    for k in (1, 2, 3):
        assert "Spring" in (out / "spring" / "good-one" / f"variant-0{k}" / "key.md").read_text()


SLOW = GOOD.replace('ID = "good-one"', 'ID = "slow-one"').replace(
    "    a = small_cv()", "    import time\n    time.sleep(params['a'] / 1000)\n    a = small_cv()"
)


def test_each_variant_reports_its_own_time_not_its_batchs(fake_solutions: Path) -> None:
    """Variants are verified several to a job; each directory's "built ... in X s" adds
    its own verification's seconds to its rendering's, not the time since its job started."""
    (fake_solutions / "slow.py").write_text(SLOW)
    sys.modules.pop("solutions.slow", None)
    many = pipeline._verify_many("slow-one", [{"a": 1}, {"a": 3000}, {"a": 1}])
    seconds = [s for _, s in many]
    assert seconds[1] >= 3 and seconds[0] < 3 and seconds[2] < 3, seconds


# --- workers and their child processes ------------------------------------------------

WORKER = """
import os, sys
from answerkey import build, pdf
build._worker_init(os.getppid())
pdf._run_tex(["sh", "-c", "echo $$ > tex.part; mv tex.part tex; exec sleep 60"], sys.argv[1])
"""


def test_a_worker_the_build_ends_takes_its_tex_with_it(tmp_path: Path) -> None:
    """When one worker's pdflatex runs past its limit the build ends the other workers
    (SIGTERM, `_abandon`): their TeX must not go on running under init."""
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "tex").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        tex = int((tmp_path / "tex").read_text())
        worker.terminate()
        worker.wait(timeout=10)
        assert gone(tex), "the worker's TeX is still running"
    finally:
        worker.kill()
        worker.wait()


def test_a_job_whose_exercise_code_exits_or_recurses_names_the_assignment_and_part() -> None:
    def endless() -> None:
        endless()

    with pytest.raises(ModuleError, match=r"^m-one, part 2: the solution module called sys.exit"):
        pipeline._task("m-one, part 2", sys.exit, 0)
    with pytest.raises(ModuleError, match=r"^m-one, part 2: recursed too deeply"):
        pipeline._task("m-one, part 2", endless)


def test_a_process_builds_each_assignment_once_for_a_whole_term(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from answerkey import build as build_module

    calls: list[str] = []

    def module(name: str) -> SimpleNamespace:
        return SimpleNamespace(id=name, build=lambda params: calls.append(name) or name)

    monkeypatch.setattr(build_module, "_BUILT", {})
    monkeypatch.setattr(build_module, "BUILT_KEPT", 3)
    a, b, c, d = (module(n) for n in "abcd")
    for m in (a, b, c, a, b, c):  # verify every assignment, then render every one
        build_module.built(m, {})
    assert calls == ["a", "b", "c"]
    build_module.built(a, {})  # a is now the most recently used: d evicts b
    build_module.built(d, {})
    build_module.built(a, {})
    build_module.built(b, {})
    assert calls == ["a", "b", "c", "d", "b"]
