"""A no-op build answers from one recorded fingerprint, without importing SymPy; any change
to an input or an output falls through to the real build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent

RUN = """
import sys
from answerkey import cli
code = cli.main(sys.argv[1:])
print("SYMPY-IMPORTED" if "sympy" in sys.modules else "SYMPY-NOT-IMPORTED")
sys.exit(code)
"""


def build(out: Path, term: Path) -> subprocess.CompletedProcess[str]:
    argv = ["build", "practical-1", "--format", "json,md", "--term", str(term), "--out", str(out)]
    return subprocess.run(
        [sys.executable, "-c", RUN, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "ANSWERKEY_REVISION": "pinned-for-test"},
    )


@pytest.fixture
def term(tmp_path: Path) -> Path:
    path = tmp_path / "fast.toml"
    path.write_text('course = "Fast Path 101"\nlabel = "fast"\n')
    return path


def test_a_no_op_build_is_answered_without_sympy(tmp_path: Path, term: Path) -> None:
    out = tmp_path / "out"
    first = build(out, term)
    assert first.returncode == 0, first.stderr
    assert "SYMPY-IMPORTED" in first.stdout
    again = build(out, term)
    assert again.returncode == 0, again.stderr
    assert "SYMPY-NOT-IMPORTED" in again.stdout
    assert "cached fast/practical-1: up to date" in again.stdout


def test_a_deleted_output_is_rebuilt(tmp_path: Path, term: Path) -> None:
    out = tmp_path / "out"
    assert build(out, term).returncode == 0
    answers = out / "fast" / "practical-1" / "answers.json"
    answers.unlink()
    again = build(out, term)
    assert again.returncode == 0, again.stderr
    assert "SYMPY-IMPORTED" in again.stdout
    assert json.loads(answers.read_text())["assignment"] == "practical-1"


def test_a_changed_term_file_is_rebuilt(tmp_path: Path, term: Path) -> None:
    out = tmp_path / "out"
    assert build(out, term).returncode == 0
    term.write_text('course = "Slow Path 202"\nlabel = "fast"\n')
    again = build(out, term)
    assert again.returncode == 0, again.stderr
    assert "SYMPY-IMPORTED" in again.stdout
    key = (out / "fast" / "practical-1" / "key.md").read_text()
    assert "Slow Path 202" in key and "Fast Path 101" not in key


def test_every_kind_of_input_is_in_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claims file, the constraints file, a term file: each changes the fingerprint, so
    the no-op answer falls through to the build (whose stamps rebuild what changed)."""
    import shutil

    from answerkey import cache, fastpath

    claims = tmp_path / "claims"
    shutil.copytree(cache.CLAIMS_DIR, claims)
    monkeypatch.setattr(cache, "CLAIMS_DIR", claims)
    lock = tmp_path / "constraints.txt"
    lock.write_text("sympy==1.0\n")
    monkeypatch.setattr(cache, "LOCK_FILE", lock)
    cache.lock_digest.cache_clear()
    term = tmp_path / "t.toml"
    term.write_text('course = "A"\n')
    request = {"assignments": [], "formats": "", "term": str(term), "variants": 0, "out": "o"}
    seen = {fastpath.fingerprint(request, tmp_path)}
    with next(claims.glob("*.toml")).open("a") as f:
        f.write("\n# changed\n")
    seen.add(fastpath.fingerprint(request, tmp_path))
    lock.write_text("sympy==1.1\n")
    cache.lock_digest.cache_clear()
    seen.add(fastpath.fingerprint(request, tmp_path))
    term.write_text('course = "B"\n')
    seen.add(fastpath.fingerprint(request, tmp_path))
    assert len(seen) == 4
    cache.lock_digest.cache_clear()


def test_an_input_edited_during_the_build_is_not_recorded_as_built(
    tmp_path: Path, term: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record holds the inputs as the build started: a term file (or claims file,
    or module) saved while the build ran makes the next request build again, instead of
    answering "up to date" with outputs made from the old one."""
    import answerkey.build as pipeline
    from answerkey import cli, fastpath

    real = pipeline.build

    def edited_meanwhile(*args: Any, on_published: Any = None, **kwargs: Any) -> Any:
        def edited_then_recorded() -> None:  # saved after the term was read
            term.write_text('course = "Edited While Building"\nlabel = "fast"\n')
            on_published()

        return real(*args, on_published=edited_then_recorded, **kwargs)

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("ANSWERKEY_REVISION", "pinned-for-test")
    monkeypatch.setattr(pipeline, "build", edited_meanwhile)
    out = tmp_path / "out"
    argv = ["build", "practical-1", "--format", "json", "--term", str(term), "--out", str(out)]
    assert cli.main([*argv, "--jobs", "1"]) == 0
    request = {
        "assignments": ["practical-1"],
        "formats": "json",
        "term": str(term),
        "variants": 0,
        "out": str(out.resolve()),
    }
    assert not fastpath.up_to_date(request, out, ROOT / "terms", lambda _m: None)
