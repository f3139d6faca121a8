"""Equations in prose: each checked by the engine (at random points and symbolically, with
the part's definitions) or declared; a wrong one is refused naming part and place."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import pytest
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from answerkey import relations, render
from answerkey.errors import VerificationError
from answerkey.mathfns import D, eq, sigmoid
from answerkey.model import Assignment, Derivation, Exercise, Instance, Part, Step, Text, text

u, v, E = sp.symbols("u v E")


def part_with(*items: Any, derivations: Any = ()) -> Part:
    return Part("p", "t", [text("Q.")], derivations=list(derivations), remarks=[text(*items)])


def test_a_true_identity_is_checked_and_a_wrong_one_refused_with_the_point() -> None:
    ok = relations.check_part("a", part_with(eq(sigmoid(u), 1 / (1 + sp.exp(-u)))))
    assert ok[0].kind == "relation" and "symbolically" in ok[0].detail
    with pytest.raises(
        VerificationError,
        match=r"a, part p, remark 1: sigmoid\(u\) = .* does "
        "not hold: at u=",
    ):
        relations.check_part("a", part_with(eq(sigmoid(u), 1 / (1 + sp.exp(u)))))


def test_an_unlinked_or_conditional_relation_must_be_declared() -> None:
    with pytest.raises(VerificationError, match="neither checked nor declared"):
        relations.check_part("a", part_with(eq(E, u + v)))
    with pytest.raises(VerificationError, match="which the engine does not check: declare it"):
        relations.check_part("a", part_with(sp.Le(u, 0)))
    with pytest.raises(VerificationError, match="writes a relation into its text"):
        relations.check_part("a", part_with("with u = 1"))
    declared = part_with(relations.definition(E, u + v), relations.assumption(sp.Le(u, 0)))
    assert relations.check_part("a", declared) == []


def test_the_parts_definitions_link_a_relation() -> None:
    inst = Instance(defs={E: u**2 * v}, label="E")
    d = Derivation(D(E, u), (Step(2 * u * v, text("power rule")),), (inst,))
    records = relations.check_part("a", part_with(eq(D(E, v), u**2), derivations=[d]))
    assert "(E)" in records[0].detail
    with pytest.raises(VerificationError, match="does not hold"):
        relations.check_part("a", part_with(eq(D(E, v), 2 * u), derivations=[d]))
    # restating the derivation is recognised as such
    restated = relations.check_part("a", part_with(eq(D(E, u), 2 * u * v), derivations=[d]))
    assert "a verified derivation" in restated[0].detail


def test_an_identity_with_cases_is_checked_in_each() -> None:
    w1, w2, z1, z2, d1 = sp.symbols("w1 w2 z1 z2 d1")
    wij, dj, zi = sp.symbols("w_ij delta_j z_i")
    inst = Instance(defs={E: (w1 * z1 + w2 * z2) ** 2, d1: 2 * (w1 * z1 + w2 * z2)})
    cases = [{wij: w1, dj: d1, zi: z1}, {wij: w2, dj: d1, zi: z2}]
    ok = relations.identity(D(E, wij), dj * zi, inst, cases=cases)
    assert "each of its 2 cases" in relations.check_part("a", part_with(ok))[0].detail
    bad = relations.identity(D(E, wij), dj * zi, inst, cases=[*cases, {wij: w2, dj: d1, zi: z1}])
    with pytest.raises(VerificationError, match="does not hold"):
        relations.check_part("a", part_with(bad))


def test_an_introductions_relations_are_declared() -> None:
    intro = text("The model", eq(E, u + v), ".")
    a = Assignment("a", "t", [Exercise("1", "", [intro], [Part("1", "p", [text("Q.")])])])
    with pytest.raises(VerificationError, match="a, exercise 1, introduction 1: shows E = u"):
        render.render(a, "md", "key", render.Meta())
    ok = text("The model", relations.definition(E, u + v), ".")
    a.exercises[0].intro = [ok]
    assert "E = u + v" in render.render(a, "md", "key", render.Meta())


def _wrong(rhs: Any) -> Any:
    rhs = sp.sympify(rhs)
    if isinstance(rhs, MatrixExpr) or getattr(rhs, "is_Matrix", False):
        return 2 * rhs
    return rhs + 1


def _mutations(part: Part) -> list[Part]:
    """The part once per checked relation in its facts and remarks, that relation made wrong."""
    out = []
    for field in ("facts", "remarks", "question"):
        texts = list(getattr(part, field))
        for i, t in enumerate(texts):
            for j, item in enumerate(t.items):
                if not relations.is_relation(item) or isinstance(item, relations.Declared):
                    continue
                if isinstance(item, relations.Identity):
                    lhs, rhs = item.relation.lhs, item.relation.rhs
                    bad: Any = dataclasses.replace(item, relation=eq(lhs, _wrong(rhs)))
                elif isinstance(item, tuple):
                    bad = eq(item[0], _wrong(item[1]))
                else:
                    bad = eq(item.lhs, _wrong(item.rhs))
                items = list(t.items)
                items[j] = bad
                changed = [*texts[:i], Text(tuple(items)), *texts[i + 1 :]]
                out.append(dataclasses.replace(part, **{field: changed}))
    return out


@pytest.mark.parametrize("module", ["cv_assignment9", "practical_1"])
def test_every_checked_relation_of_the_keys_made_wrong_is_refused(module: str) -> None:
    m = importlib.import_module(f"solutions.{module}")
    a = m.build(m.PARAMETERS)
    tried = 0
    for part in a.parts():
        relations.check_part(a.id, part)  # the key as it is passes
        for mutated in _mutations(part):
            with pytest.raises(VerificationError, match=f"part {part.id}, "):
                relations.check_part(a.id, mutated)
            tried += 1
    assert tried >= 5


def test_a_definition_the_model_contradicts_is_refused() -> None:
    """A declared definition is taken as given, but not against the model the key is
    checked with: an introduction or a part that defines E as something else than the
    instance its numbers and steps are checked at is refused (it was printed)."""
    inst = Instance(defs={E: u**2 * v}, label="E")
    d = Derivation(D(E, u), (Step(2 * u * v, text("power rule")),), (inst,))
    wrong = relations.definition(E, 2 * u**2 * v)
    with pytest.raises(VerificationError, match=r"a, part p, remark 1: defines E = 2\*u\*\*2\*v"):
        relations.check_part("a", part_with(wrong, derivations=[d]))
    part = Part("1", "p", [text("Q.")], [d])
    a = Assignment("a", "t", [Exercise("1", "", [text("Let", wrong, ".")], [part])])
    with pytest.raises(VerificationError, match=r"a, exercise 1, introduction 1: defines E = 2"):
        relations.audit_introductions(a)
    a.exercises[0].intro = [text("Let", relations.definition(E, v * u**2), ".")]
    relations.audit_introductions(a)  # the model's definition, written otherwise
    assert relations.check_part("a", part_with(relations.definition(u, 2 * v))) == []
