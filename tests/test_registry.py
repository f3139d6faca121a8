"""Assignments are found, not registered: one module per assignment under `solutions/`."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CV

from answerkey import registry
from answerkey.errors import AnswerkeyError, AuthoringError, UsageError


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
    return (
        f"ID = {assignment_id!r}\nTITLE = {title!r}\nPARAMETERS = {{'a': 1}}\n"
        "def build(params):\n    return params\n"
    )


def test_discovery_finds_modules_with_an_id_in_name_order(fake_solutions: Path) -> None:
    (fake_solutions / "zeta.py").write_text(module_source("z-one"))
    (fake_solutions / "alpha.py").write_text(module_source("a-one", "Alpha"))
    (fake_solutions / "_helper.py").write_text(module_source("hidden"))
    (fake_solutions / "notes.py").write_text("X = 1\n")
    found = registry.discover()
    assert list(found) == ["a-one", "z-one"]
    alpha = found["a-one"]
    assert alpha.title == "Alpha"
    assert alpha.parameters == {"a": 1}
    assert alpha.build({"b": 2}) == {"b": 2}
    assert alpha.draw is None and alpha.instructive is None and alpha.constraints == {}


def test_optional_hooks_are_picked_up(fake_solutions: Path) -> None:
    (fake_solutions / "m.py").write_text(
        module_source("m")
        + "CONSTRAINTS = {'a': 'rule'}\n"
        + "def draw(rng):\n    return {}\n"
        + "def instructive(params):\n    return []\n"
    )
    m = registry.discover()["m"]
    assert m.constraints == {"a": "rule"}
    assert m.draw is not None and m.instructive is not None


def test_two_modules_with_one_id_are_refused(fake_solutions: Path) -> None:
    (fake_solutions / "a.py").write_text(module_source("same", "first"))
    (fake_solutions / "b.py").write_text(module_source("same", "second"))
    with pytest.raises(Exception, match="same"):
        registry.discover()


def test_a_broken_module_is_one_clear_error(fake_solutions: Path) -> None:
    (fake_solutions / "a.py").write_text('ID = "a"\nTITLE = "A"\nPARAMETERS = {}\n')
    with pytest.raises(AnswerkeyError, match=r"solutions/a.py: a solution module needs build"):
        registry.discover()
    (fake_solutions / "a.py").unlink()
    (fake_solutions / "b.py").write_text("raise RuntimeError('half-written')\n")
    with pytest.raises(AnswerkeyError, match=r"solutions/b.py: cannot be imported: RuntimeError"):
        registry.discover()


def test_select_returns_the_named_modules_in_the_order_given(fake_solutions: Path) -> None:
    (fake_solutions / "a.py").write_text(module_source("a"))
    (fake_solutions / "b.py").write_text(module_source("b"))
    assert [m.id for m in registry.select(None)] == ["a", "b"]
    assert [m.id for m in registry.select([])] == ["a", "b"]
    assert [m.id for m in registry.select(["b", "a"])] == ["b", "a"]


def test_select_refuses_unknown_names_listing_the_known_ones(fake_solutions: Path) -> None:
    (fake_solutions / "a.py").write_text(module_source("a"))
    with pytest.raises(UsageError) as err:
        registry.select(["a", "nope", "nada"])
    assert str(err.value) == "unknown assignment 'nope', 'nada'; known: a"
    assert err.value.exit_code == 2


# --- the real solutions package ----------------------------------------------------


def test_the_real_solutions_include_cv_assignment9() -> None:
    """Imports every solution module: fails while one of them is broken."""
    found = registry.discover()
    assert CV in found
    cv = found[CV]
    assert cv.title == "CV Assignment 9"
    assert cv.module.__name__ == "solutions.cv_assignment9"
    assert not [i for i in found if i.startswith("_")]
    for module in found.values():
        assert module.id == module.module.ID
        assert callable(module.build)


def test_an_authoring_error_names_the_assignment_and_the_module(fake_solutions: Path) -> None:
    raising = "from answerkey.errors import AuthoringError\n"
    source = module_source("m-one").replace("return params", "raise AuthoringError('derive(x)')")
    (fake_solutions / "m.py").write_text(raising + source)
    with pytest.raises(AuthoringError, match=r"^m-one: derive\(x\)$"):
        registry.discover()["m-one"].build({})
    (fake_solutions / "m.py").unlink()
    (fake_solutions / "n.py").write_text(raising + "raise AuthoringError('derive(y): step 2')\n")
    with pytest.raises(AuthoringError, match=r"^solutions/n.py: derive\(y\): step 2$"):
        registry.discover()
