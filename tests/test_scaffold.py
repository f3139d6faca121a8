"""`answerkey new-exercise`: the module it writes passes lint, builds, verifies and is found
like any other; a bad or taken name is refused with exit 2 and nothing written."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT

import answerkey.build as pipeline
import solutions
from answerkey import cli, registry
from answerkey.kit import scaffold
from answerkey.verify import verify_assignment

NAME = "scaffold-probe"
MODULE = "scaffold_probe"


@pytest.fixture
def written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A scaffolded exercise in a solutions/ of its own, seen by the registry."""
    (tmp_path / "solutions").mkdir()
    (tmp_path / "tests").mkdir()
    scaffold.new_exercise(NAME, tmp_path)
    monkeypatch.setattr(solutions, "__path__", [*solutions.__path__, str(tmp_path / "solutions")])
    yield tmp_path
    for mod in (f"solutions.{MODULE}", f"test_{MODULE}"):
        sys.modules.pop(mod, None)


def test_it_writes_a_module_and_its_test_that_lint_clean(written: Path) -> None:
    files = [written / "solutions" / f"{MODULE}.py", written / "tests" / f"test_{MODULE}.py"]
    for path in files:
        # linted as if it were in this repository, where `make test` will lint it
        as_in_repo = str(path.relative_to(written))
        for cmd in (["check"], ["format", "--check"]):
            done = subprocess.run(
                [sys.executable, "-m", "ruff", *cmd, "--stdin-filename", as_in_repo, "-"],
                input=path.read_text(),
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr
    assert len(files[0].read_text().splitlines()) <= 150


def test_the_exercise_builds_verifies_and_its_own_test_passes(
    written: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert NAME in registry.discover()
    results = pipeline.build(
        [NAME], ("json", "tex", "md"), "default", tmp_path / "out", lambda _m: None, workers=1
    )
    assert results[0].checks > 0
    key = (tmp_path / "out" / "default" / NAME / "key.tex").read_text()
    assert r"\tanh" in key
    monkeypatch.syspath_prepend(str(written / "tests"))
    test = importlib.import_module(f"test_{MODULE}")
    test.test_it_builds_and_verifies()
    test.test_a_wrong_step_is_refused()


def test_its_draws_are_instructive_and_verify(written: Path) -> None:
    from answerkey import terms

    module = registry.discover()[NAME]
    for seed in (1, 2):
        _, params = terms.draw_params(NAME, module, module.parameters, [seed])
        assert not module.instructive(params)  # type: ignore[misc]
        assert verify_assignment(module.build(params)) > 0


def test_its_title_is_the_name_as_typed_and_its_draws_never_give_minus_zero(written: Path) -> None:
    import numpy as np

    module = registry.discover()[NAME]
    assert module.title == "scaffold probe"  # no "Bce" made of "bce"
    assert module.draw is not None
    zeros = [
        v
        for seed in range(40)
        for value in module.draw(np.random.default_rng(seed)).values()
        for v in np.ravel(value)
        if v == 0
    ]
    assert zeros and not any(np.signbit(zeros))  # -0.0 would print as -0.0


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Bad_Name", "bad exercise name"),
        ("9lives", "bad exercise name"),
        ("two--hyphens", "bad exercise name"),
        ("../escape", "bad exercise name"),
        ("class", "cannot be a module name"),
        ("test-thing", "cannot be a module name"),
        ("practical-1", "exists"),
    ],
)
def test_a_bad_or_taken_name_is_refused_with_exit_2(
    name: str, why: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(p.name for p in (ROOT / "solutions").iterdir())
    assert cli.main(["new-exercise", name]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("answerkey: error: ") and why in err and "\n" not in err
    assert sorted(p.name for p in (ROOT / "solutions").iterdir()) == before


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "solutions").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / f"test_{MODULE}.py").write_text("mine\n")
    with pytest.raises(scaffold.UsageError, match="exists"):
        scaffold.new_exercise(NAME, tmp_path)
    assert not (tmp_path / "solutions" / f"{MODULE}.py").exists()
    assert (tmp_path / "tests" / f"test_{MODULE}.py").read_text() == "mine\n"


def test_the_writing_guide_fits_in_120_lines_and_points_only_to_what_authors_read() -> None:
    page = (ROOT / "docs" / "reference" / "writing.md").read_text(encoding="utf-8")
    tutorial = page.split("\n## The kit's other tools")[0]
    assert len(tutorial.splitlines()) <= 120  # issue #12
    assert "tests/exercises" not in tutorial
    for module in ("solutions/bce_tanh_sigmoid.py",):
        assert module in tutorial and (ROOT / module).is_file()


@pytest.mark.parametrize(
    "name", ["tanh-step\n", "tanh-step\r", "tanh\x1bstep", "x" * 65, "a" + "-b" * 123]
)
def test_a_name_with_a_control_character_or_too_long_is_refused_before_writing(
    tmp_path: Path, name: str
) -> None:
    """A name ending in a newline broke every later command; a 247-character one made
    every build fail with "File name too long" (and deleted MANIFEST.json)."""
    (tmp_path / "solutions").mkdir()
    (tmp_path / "tests").mkdir()
    with pytest.raises(scaffold.UsageError, match="bad exercise name"):
        scaffold.new_exercise(name, tmp_path)
    assert not any(tmp_path.rglob("*.py"))


def test_a_dangling_symlink_is_never_written_through(tmp_path: Path) -> None:
    (tmp_path / "solutions").mkdir()
    (tmp_path / "tests").mkdir()
    target = tmp_path / "elsewhere.py"
    (tmp_path / "tests" / f"test_{MODULE}.py").symlink_to(target)
    with pytest.raises(scaffold.UsageError, match="exists"):
        scaffold.new_exercise(NAME, tmp_path)
    assert not target.exists()
    assert not (tmp_path / "solutions" / f"{MODULE}.py").exists()
