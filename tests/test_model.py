"""The document model: what a part's boxed result is, and how checks are counted."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from answerkey.model import (
    Assignment,
    CheckRecord,
    Derivation,
    Exercise,
    Instance,
    Part,
    Step,
    Text,
    text,
)

x, f = sp.symbols("x f")
first = Derivation(f, (Step(x + x, text("one")), Step(2 * x, text("two"))), (Instance(),))
second = Derivation(x, (Step(3 * x, text("three")),), (Instance(),))


def test_text_keeps_its_items_in_order() -> None:
    t = text("Give", x, ".")
    assert isinstance(t, Text)
    assert t.items == ("Give", x, ".")


def test_steps_and_derivations_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.steps[0].expr = x  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.lhs = x  # type: ignore[misc]
    assert first.prove is True and first.oracle is None


def test_the_final_answer_is_the_last_step_of_the_last_derivation() -> None:
    p = Part("1", "t", [text("q")], [first, second])
    assert p.final == 3 * x
    assert p.final_lhs == x
    assert p.results == [(f, 2 * x), (x, 3 * x)]


def test_an_explicit_answer_wins() -> None:
    p = Part("1", "t", [], [first], answer=sp.Float(0.5), answer_lhs=sp.Symbol("L"))
    assert p.final == sp.Float(0.5)
    assert p.final_lhs == sp.Symbol("L")
    assert p.results == [(sp.Symbol("L"), sp.Float(0.5))]


def test_a_part_without_solution_has_no_final_answer() -> None:
    p = Part("1", "t", [text("Discuss.")])
    assert p.final is None and p.final_lhs is None


def test_parts_are_listed_across_exercises_and_checks_counted() -> None:
    a = Part("1a", "a", [])
    b = Part("1b", "b", [])
    c = Part("2", "c", [])
    assignment = Assignment(
        "demo", "Demo", [Exercise("1", "E1", [], [a, b]), Exercise("2", "E2", [], [c])]
    )
    assert [p.id for p in assignment.parts()] == ["1a", "1b", "2"]
    assert assignment.check_count() == 0
    a.checks = [CheckRecord("numeric", "step 1", "ok")] * 2
    c.checks = [CheckRecord("symbolic", "step 1", "ok")]
    assert assignment.check_count() == 3


def test_each_part_has_its_own_checks_list() -> None:
    a, b = Part("1", "a", []), Part("2", "b", [])
    a.checks.append(CheckRecord("numeric", "s", "d"))
    assert b.checks == []


def test_a_count_takes_the_noun_in_the_singular_for_one_only() -> None:
    from answerkey.model import counted, plural

    assert [counted(n, "zero") for n in (0, 1, 2)] == ["0 zeros", "1 zero", "2 zeros"]
    assert (
        counted(1, "class", "classes") == "1 class" and plural(3, "class", "classes") == "classes"
    )
