"""Assignments are found, not registered: one module per assignment under `solutions/`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CV, module_source

from answerkey import registry
from answerkey.errors import AuthoringError, ModuleError, UsageError


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
    assert alpha.build({"b": 2}).title == "b"
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
    found = registry.discover()
    assert found["same"].title == "first"
    (error,) = found.broken
    assert str(error) == "solutions/b.py: assignment id 'same' is already used by solutions/a.py"


def broken_messages(fake_solutions: Path, source: str, name: str = "bad") -> list[str]:
    """What discovery says of solutions/<name>.py holding `source`, beside a working module."""
    for old in fake_solutions.glob("*.py"):
        old.unlink()
    (fake_solutions / "good.py").write_text(module_source("good"))
    (fake_solutions / f"{name}.py").write_text(source)
    found = registry.discover()
    assert list(found) == ["good"]  # the others still work
    return [str(e) for e in found.broken]


def test_a_broken_module_is_one_clear_error_and_hides_no_other(fake_solutions: Path) -> None:
    assert broken_messages(fake_solutions, 'ID = "a"\nTITLE = "A"\nPARAMETERS = {}\n') == [
        "solutions/bad.py: a solution module needs build"
    ]
    assert broken_messages(fake_solutions, "raise RuntimeError('half-written')\n", "worse") == [
        "solutions/worse.py: cannot be imported: RuntimeError: half-written "
        "(at solutions/worse.py:1)"
    ]


@pytest.mark.parametrize("code", ["0", "3"])
def test_a_module_that_exits_at_import_is_an_error_not_the_outcome(
    fake_solutions: Path, code: str
) -> None:
    assert broken_messages(fake_solutions, f"import sys\nsys.exit({code})\n") == [
        f"solutions/bad.py: import called sys.exit({code}); a solution module must not exit"
    ]


def test_a_module_recursing_at_import_is_blamed_not_the_input(fake_solutions: Path) -> None:
    (message,) = broken_messages(fake_solutions, "def f():\n    f()\nf()\n")
    assert message == "solutions/bad.py: import recursed too deeply (RecursionError)"


def test_a_module_looping_at_import_is_stopped(
    fake_solutions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANSWERKEY_MODULE_SECONDS", "0.5")
    (message,) = broken_messages(fake_solutions, "while True:\n    pass\n")
    assert message.startswith("solutions/bad.py: import did not finish within 0.5 s")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("import sys; sys.exit(0)", "build() called sys.exit(0); a solution module must not exit"),
        (
            "return 1 / 0",
            "build() failed: ZeroDivisionError: division by zero (at solutions/m.py:6)",
        ),
        ("return build(params)", "build() recursed too deeply (RecursionError)"),
        ("return {'parts': []}", "build() returned dict, not an Assignment"),
    ],
)
def test_a_misbehaving_build_is_one_line_naming_the_module(
    fake_solutions: Path, body: str, expected: str
) -> None:
    source = module_source("m-one").replace("return Assignment(ID, ','.join(params), [])", body)
    (fake_solutions / "m.py").write_text(source)
    with pytest.raises(ModuleError) as err:
        registry.discover()["m-one"].build({})
    assert str(err.value) == f"m-one (solutions/m.py): {expected}"
    assert err.value.exit_code == 1


def test_a_name_that_may_be_a_broken_modules_gets_its_error(fake_solutions: Path) -> None:
    (fake_solutions / "a.py").write_text(module_source("a"))
    (fake_solutions / "b.py").write_text("raise RuntimeError('half-written')\n")
    assert [m.id for m in registry.select(None)] == ["a"]
    with pytest.raises(ModuleError, match=r"unknown assignment 'b'; solutions/b.py: cannot be"):
        registry.select(["b"])


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
    assert not found.broken, [str(e) for e in found.broken]
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
    source = module_source("m-one").replace(
        "return Assignment(ID, ','.join(params), [])", "raise AuthoringError('derive(x)')"
    )
    (fake_solutions / "m.py").write_text(raising + source)
    with pytest.raises(AuthoringError, match=r"^m-one: derive\(x\) \(at solutions/m.py:7\)$"):
        registry.discover()["m-one"].build({})
    (fake_solutions / "m.py").unlink()
    (fake_solutions / "n.py").write_text(raising + "raise AuthoringError('derive(y): step 2')\n")
    assert [str(e) for e in registry.discover().broken] == [
        "solutions/n.py: derive(y): step 2 (at solutions/n.py:2)"
    ]


@pytest.mark.parametrize("bad_id", ["line\n", "x" * 65, "../up", ""])
def test_an_id_that_cannot_name_a_directory_is_a_broken_module(
    fake_solutions: Path, bad_id: str
) -> None:
    (message,) = broken_messages(fake_solutions, module_source(bad_id), f"id{len(bad_id)}")
    assert f"ID {bad_id!r} cannot name a directory" in message
