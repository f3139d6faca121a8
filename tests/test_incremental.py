"""The build as a build tool: incremental and never stale, atomic under kill, safe, HTML.

The incremental tests stub out verification (`verify_part`) and build only
answers.json in-process (`workers=1`), so each build takes a fraction of a
second: what they test is which directories get rebuilt. The end-to-end tests
at the bottom run the real thing on practical-1 (the quicker assignment).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import needs_pdflatex

import answerkey.build as pipeline
import solutions.practical_1 as practical_1
from answerkey import cache, registry, render

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent
TERM = "2026-winter"
P1 = "practical-1"
# Every assignment in solutions/: a term builds them all, whichever they are.
ALL = set(registry.discover())


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    cache.engine_digest.cache_clear()
    yield
    cache.engine_digest.cache_clear()
    cache.git_revision.cache_clear()


@pytest.fixture
def tree(stubbed_tree: Path) -> Path:
    """A terms directory holding a copy of the 2026-winter term; verification stubbed."""
    return stubbed_tree


def run(tree: Path) -> dict[str, bool]:
    """Build json for the term; which assignments were taken from the cache."""
    results = pipeline.build(
        None,
        ("json",),
        TERM,
        tree / "out",
        report=lambda _m: None,
        terms_dir=tree / "terms",
        workers=1,
    )
    return {r.assignment: r.cached for r in results}


def rebuilt(tree: Path) -> set[str]:
    return {a for a, cached in run(tree).items() if not cached}


def test_a_second_build_changes_nothing(tree: Path) -> None:
    assert rebuilt(tree) == ALL
    out = tree / "out" / TERM
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.json") if p.name != "MANIFEST.json"}
    assert rebuilt(tree) == set()
    assert before == {
        p: p.stat().st_mtime_ns for p in out.rglob("*.json") if p.name != "MANIFEST.json"
    }


def test_the_solution_module_or_a_helper_it_imports(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tree / "solutions"
    copy.mkdir()
    for name in ("practical_1.py", "_practical_1_draw.py"):
        shutil.copy(ROOT / "solutions" / name, copy / name)
    monkeypatch.setattr(practical_1, "__file__", str(copy / "practical_1.py"))
    assert rebuilt(tree) == ALL
    with (copy / "practical_1.py").open("a") as f:
        f.write("\n# touched\n")
    assert rebuilt(tree) == {P1}
    with (copy / "_practical_1_draw.py").open("a") as f:
        f.write("\n# touched\n")
    assert rebuilt(tree) == {P1}
    assert rebuilt(tree) == set()


def test_the_engine(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = tree / "engine"
    shutil.copytree(cache.ENGINE_DIR, engine, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "ENGINE_DIR", engine)
    assert rebuilt(tree) == ALL
    for touched in ("verify.py", "kit/network.py"):  # a subpackage is the engine too
        with (engine / touched).open("a") as f:
            f.write("\n# touched\n")
        cache.engine_digest.cache_clear()
        assert rebuilt(tree) == ALL
        assert rebuilt(tree) == set()


def test_the_templates(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    templates = tree / "templates"
    shutil.copytree(render.TEMPLATES, templates)
    monkeypatch.setattr(render, "TEMPLATES", templates)
    assert rebuilt(tree) == ALL
    with (templates / "document.md.j2").open("a") as f:
        f.write("{# touched #}\n")
    assert rebuilt(tree) == ALL
    assert rebuilt(tree) == set()


def test_the_claims_file_of_the_earlier_solution(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing solutions/claims/<id>.toml rebuilds that key: its errata are computed from it."""
    import answerkey.claims

    claims = tree / "claims"
    shutil.copytree(cache.CLAIMS_DIR, claims)
    monkeypatch.setattr(cache, "CLAIMS_DIR", claims)
    if hasattr(answerkey.claims, "CLAIMS_DIR"):
        monkeypatch.setattr(answerkey.claims, "CLAIMS_DIR", claims)
    assert rebuilt(tree) == ALL
    with (claims / f"{P1}.toml").open("a") as f:
        f.write("\n# touched\n")
    assert rebuilt(tree) == {P1}
    assert rebuilt(tree) == set()


def test_the_pinned_tools(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An upgrade is a commit to constraints.txt, and it rebuilds every key."""
    lock = tree / "constraints.txt"
    lock.write_text("sympy==1.0\n")
    monkeypatch.setattr(cache, "LOCK_FILE", lock)
    cache.lock_digest.cache_clear()
    assert rebuilt(tree) == ALL
    lock.write_text("sympy==1.1\n")
    cache.lock_digest.cache_clear()
    assert rebuilt(tree) == ALL
    assert rebuilt(tree) == set()
    cache.lock_digest.cache_clear()


def test_the_parameters_of_one_assignment(tree: Path) -> None:
    term = tree / "terms" / f"{TERM}.toml"
    assert rebuilt(tree) == ALL
    text = term.read_text()
    head, table, rest = text.partition(f"[{P1}.trace]")  # its own rate, no other's
    assert "learning_rate = 0.1\n" in rest
    term.write_text(
        head + table + rest.replace("learning_rate = 0.1\n", "learning_rate = 0.2\n", 1)
    )
    assert rebuilt(tree) == {P1}
    answers = json.loads((tree / "out" / TERM / P1 / "answers.json").read_text())
    assert answers["parameters"]["trace"]["learning_rate"] == 0.2
    assert rebuilt(tree) == set()


def test_the_title_page_text_of_the_term(tree: Path) -> None:
    term = tree / "terms" / f"{TERM}.toml"
    assert rebuilt(tree) == ALL
    term.write_text(re.sub(r"(?m)^course = .*$", 'course = "Another course"', term.read_text()))
    assert rebuilt(tree) == ALL


def test_the_tool_versions(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert rebuilt(tree) == ALL
    versions = dict(cache.tool_versions())
    monkeypatch.setattr(cache, "tool_versions", lambda: {**versions, "tex": "pdfTeX 9.99"})
    assert rebuilt(tree) == ALL
    monkeypatch.setattr(cache, "tool_versions", lambda: {**versions, "sympy": "9.9"})
    assert rebuilt(tree) == ALL
    assert rebuilt(tree) == set()


def test_an_output_edited_or_removed_by_hand(tree: Path) -> None:
    assert rebuilt(tree) == ALL
    answers = tree / "out" / TERM / P1 / "answers.json"
    good = answers.read_bytes()
    answers.write_text("{}")
    assert rebuilt(tree) == {P1}
    assert answers.read_bytes() == good
    answers.unlink()
    assert rebuilt(tree) == {P1}
    assert answers.read_bytes() == good


def test_the_formats_asked_for(tree: Path) -> None:
    def build(formats: tuple[str, ...]) -> list[bool]:
        results = pipeline.build(
            [P1], formats, TERM, tree / "out", lambda _m: None, terms_dir=tree / "terms", workers=1
        )
        return [r.cached for r in results]

    key_md = tree / "out" / TERM / P1 / "key.md"
    assert build(("json",)) == [False]
    assert build(("json", "md")) == [False]  # more formats than were built
    assert key_md.exists()
    assert build(("md",)) == [True]  # fewer: the files are there
    term = tree / "terms" / f"{TERM}.toml"
    term.write_text(re.sub(r"(?m)^course = .*$", 'course = "Another course"', term.read_text()))
    assert build(("json",)) == [False]
    assert not key_md.exists()  # a stale key.md does not survive


def test_the_manifest_lists_every_file(tree: Path) -> None:
    run(tree)
    out = tree / "out" / TERM
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["term"] == TERM
    assert manifest["git_revision"] == cache.git_revision()
    assert set(manifest["versions"]) == {"sympy", "numpy", "pandoc", "tex"}
    assert set(manifest["files"]) == {f"{a}/answers.json" for a in ALL}
    for name, digest in manifest["files"].items():
        assert cache.sha256((out / name).read_bytes()) == digest
    assert manifest["checks_passed"] == sum(
        d["checks_passed"] for d in manifest["directories"].values()
    )
    answers = json.loads((out / P1 / "answers.json").read_text())
    assert manifest["directories"][P1]["parameter_hash"] == answers["parameter_hash"]


def test_a_build_stopped_while_publishing_leaves_no_stale_manifest(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after one directory was swapped in, a build leaves that directory new and
    the others old, each with its own stamp, and no MANIFEST (never a stale one); the
    next build rebuilds the rest and writes a MANIFEST true to every file."""
    from answerkey import publish

    run(tree)
    out = tree / "out" / TERM
    term = tree / "terms" / f"{TERM}.toml"
    term.write_text(re.sub(r"(?m)^course = .*$", 'course = "Changed"', term.read_text()))
    real_swap = publish.swap_in
    swapped: list[Path] = []

    def stopped(directory: Path, files: dict[str, bytes], stamp: bytes) -> None:
        if swapped:
            raise KeyboardInterrupt  # as if killed after the first directory
        real_swap(directory, files, stamp)
        swapped.append(directory)

    monkeypatch.setattr(publish, "swap_in", stopped)
    with pytest.raises(KeyboardInterrupt):
        run(tree)
    assert not (out / "MANIFEST.json").exists()
    for a in ALL:
        d = out / a
        stamp = cache.read_stamp(cache.stamp_path(d))
        assert stamp is not None and set(stamp["files"]) == {"answers.json"}
        assert cache.sha256((d / "answers.json").read_bytes()) == stamp["files"]["answers.json"]
        assert (answers_course(d) == "Changed") == (d in swapped)
    monkeypatch.setattr(publish, "swap_in", real_swap)
    assert rebuilt(tree) == ALL - {swapped[0].name}
    manifest = json.loads((out / "MANIFEST.json").read_text())
    for name, digest in manifest["files"].items():
        assert cache.sha256((out / name).read_bytes()) == digest
        if name.endswith("answers.json"):
            assert json.loads((out / name).read_text())["course"] == "Changed"


# --- end to end: the real build -------------------------------------------------

HOSTILE = r"\input{/etc/hostname} 50% & $x$ #1 ~ ^ _ {}"


def _pdftext(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


@needs_pdflatex
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="no pdftotext")
def test_a_hostile_course_appears_literally_everywhere_and_reads_nothing(tmp_path: Path) -> None:
    terms = tmp_path / "terms"
    terms.mkdir()
    (terms / "hostile.toml").write_text(f"course = '{HOSTILE}'\nlabel = 'Hostile term'\n")
    out = tmp_path / "out"
    pipeline.build([P1], pipeline.FORMATS, "hostile", out, lambda _m: None, terms_dir=terms)
    d = out / "hostile" / P1
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""
    for kind in ("key", "handout"):
        text = _pdftext(d / f"{kind}.pdf")
        assert HOSTILE in text, text[:400]
        if hostname:
            assert not re.search(rf"(?<![\w.]){re.escape(hostname)}(?![\w.])", text)
        page = (d / f"{kind}.html").read_text()
        assert HOSTILE in " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())
        # self-contained: no script or style from the network, maths as MathML
        assert not re.search(r"""<(script|link|img)[^>]*(src|href)=["']?https?:""", page)
        assert "<math" in page and "<title>" in page
        import pypandoc

        plain = pypandoc.convert_text((d / f"{kind}.md").read_text(), "plain", format="markdown")
        assert HOSTILE in " ".join(plain.split())
    # the standalone .tex compiles (no shell escape, paranoid file access) to the same text
    work = tmp_path / "tex"
    work.mkdir()
    shutil.copy(d / "key.tex", work / "key.tex")
    from answerkey.pdf import PDFLATEX_FLAGS, reproducible_env

    subprocess.run(
        ["pdflatex", *PDFLATEX_FLAGS, "key.tex"],
        cwd=work,
        env=reproducible_env(),
        capture_output=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    assert HOSTILE in _pdftext(work / "key.pdf")
    assert answers_course(d) == HOSTILE


def answers_course(d: Path) -> str:
    return str(json.loads((d / "answers.json").read_text())["course"])


def _complete(d: Path) -> None:
    """Every file in `d` is whole: PDFs end with %%EOF, JSON parses, no temporary names."""
    for p in d.rglob("*"):
        assert ".partial-" not in p.name, p
        if p.suffix == ".pdf":
            assert p.read_bytes().rstrip().endswith(b"%%EOF"), p
        if p.suffix == ".json":
            json.loads(p.read_text())


@needs_pdflatex
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_killed_build_leaves_no_partial_file_and_the_next_build_is_right(
    tmp_path: Path, sig: signal.Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same revision in every build here, whatever is committed meanwhile
    monkeypatch.setenv("ANSWERKEY_REVISION", cache.git_revision())
    cache.git_revision.cache_clear()
    out = tmp_path / "out"
    # three variants and the term's own key on two workers (-j 2): when the first is
    # reported, one is being built and two wait, so the signal lands midway however fast
    # the machine is
    term, variants = "2026-winter", 3
    cmd = [sys.executable, "-m", "answerkey.cli", "build", P1, "--term", term]
    cmd += ["--variants", str(variants), "--out", str(out), "-j", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith(b"built"), first
    proc.send_signal(sig)
    start = time.perf_counter()
    rest, err = proc.communicate(timeout=60)
    assert time.perf_counter() - start < 10  # the build and its workers end promptly
    assert rest.count(b"built") < variants - 1  # it was stopped, not run to the end
    if sig != signal.SIGKILL:
        assert proc.returncode == 130, err
        assert b"interrupted" in err
        _complete(out)  # a clean interrupt removes its temporary files itself
    else:
        assert proc.returncode == -signal.SIGKILL
    # the next build sweeps anything a hard kill left, and gives a correct result
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    _complete(out)
    d = out / term / P1 / "variant-01"
    assert {"key.pdf", "handout.pdf", "key.html", "answers.json"} <= {p.name for p in d.iterdir()}
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "cached" in again.stdout and "built" not in again.stdout
    if sig == signal.SIGKILL:
        # and two clean builds give the same bytes, PDFs included
        clean = tmp_path / "clean"
        pipeline.build([P1], pipeline.FORMATS, term, clean, lambda _m: None, variants=1)
        for p in sorted(d.iterdir()):
            assert p.read_bytes() == (clean / term / P1 / "variant-01" / p.name).read_bytes(), (
                p.name
            )
    assert cache.read_stamp(cache.stamp_path(d)) is not None
