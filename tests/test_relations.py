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
    with pytest.raises(
        VerificationError,
        match=r"a, part p, remark 1\): the definition E = 2\*u\*\*2\*v does not hold",
    ):
        relations.check_part("a", part_with(wrong, derivations=[d]))
    part = Part("1", "p", [text("Q.")], [d])
    a = Assignment("a", "t", [Exercise("1", "", [text("Let", wrong, ".")], [part])])
    with pytest.raises(
        VerificationError, match=r"a, exercise 1, introduction 1\): the definition E = 2"
    ):
        relations.audit_introductions(a)
    a.exercises[0].intro = [text("Let", relations.definition(E, v * u**2), ".")]
    relations.audit_introductions(a)  # the model's definition, written otherwise
    assert relations.check_part("a", part_with(relations.definition(u, 2 * v))) == []


# ---------------------------------------------------------------- declarations vs the model

x = sp.MatrixSymbol("x", 3, 1)
MEAN = sp.Symbol("mu")
MODEL = Instance(defs={MEAN: (x[0, 0] + x[1, 0] + x[2, 0]) / 3, E: u**2 * v}, label="the model")


def exercise_with(*items: Any, intro: Any = ()) -> Assignment:
    d = Derivation(D(E, u), (Step(2 * u * v, text("power rule")),), (MODEL,))
    part = Part("p", "t", [text("Q.")], derivations=[d], remarks=[text(*items)])
    return Assignment("a", "t", [Exercise("1", "", [text(*intro)] if intro else [], [part])])


def test_a_definition_the_model_agrees_with_is_taken_as_given() -> None:
    i = sp.Symbol("i")
    index_form = sp.Sum(sp.IndexedBase("x")[i], (i, 1, 3)) / 3  # 1-based, at the model's size
    relations.audit_declarations(
        exercise_with(relations.definition(E, v * u**2), relations.notation(MEAN, index_form))
    )


def test_a_definition_that_contradicts_the_model_is_refused_at_the_authors_line() -> None:
    wrong = relations.definition(E, u * v)  # the model says u^2 v
    line = wrong.line
    assert line is not None and line.startswith("tests/test_relations.py:")
    with pytest.raises(VerificationError) as err:
        relations.audit_declarations(exercise_with(wrong))
    assert err.value.where == f"{line} (a, part p, remark 1)"
    assert "E = u*v does not hold: at u=" in err.value.message
    assert err.value.message.endswith(
        "the model (the model) defines E = u**2*v: write that right side"
    )
    # in an introduction too, and through render (the key's audit)
    a = exercise_with(text("Q."), intro=["Here ", relations.definition(E, 2 * u**2 * v), "."])
    with pytest.raises(VerificationError, match=r"a, exercise 1, introduction 1\): the definition"):
        render.render(a, "md", "key", render.Meta())


def test_an_index_form_is_read_at_the_models_sizes_and_refused_when_wrong() -> None:
    i = sp.Symbol("i")
    off_by_one = sp.Sum(sp.IndexedBase("x")[i], (i, 1, 3)) / 2  # divides by m - 1
    with pytest.raises(VerificationError, match="the notation mu = Sum"):
        relations.audit_declarations(exercise_with(relations.notation(MEAN, off_by_one)))
    leaves_out = relations.definition(MEAN, (x[0, 0] + x[1, 0]) / 3)  # reads fewer inputs
    with pytest.raises(VerificationError, match="does not hold"):
        relations.audit_declarations(exercise_with(leaves_out))


def test_a_definition_in_other_symbols_is_given_and_one_in_the_models_must_link() -> None:
    k, K = sp.symbols("k K")
    index_form = relations.definition(E, -sp.Sum(sp.log(sp.Symbol("y_k")), (k, 1, K)))
    relations.audit_declarations(exercise_with(index_form))  # about no model: taken as given
    reads_more = relations.definition(E, u**2 * v + x[0, 0])  # the model's x, not E's input
    with pytest.raises(
        VerificationError,
        match=r"the definition E = u\*\*2\*v \+ x\[0, 0\] cannot be checked against the model "
        r"\(the model\): it reads x, which is not in E = u\*\*2\*v: write that right side",
    ):
        relations.audit_declarations(exercise_with(reads_more))


def test_a_definition_of_a_kit_quantity_is_checked_against_the_kit() -> None:
    from answerkey.kit import conv

    ex = conv.layer_facts("a layer", N=5, F=2, S=1, P=0, C_in=1, C_out=1)
    no_padding = relations.definition(conv.SIZE, sp.floor((conv.N_ - conv.F_) / conv.S_) + 1)
    part = Part("a", "t", [text("Q.")], remarks=[text(no_padding)], numeric_checks=[ex])
    a = Assignment("a", "t", [Exercise("1", "", [], [part])])
    with pytest.raises(VerificationError, match=r"the definition O = .* does not hold: at "):
        relations.audit_declarations(a)
    right = relations.definition(conv.SIZE, conv.OUTPUT_SIZE)
    part.remarks = [text(right)]
    relations.audit_declarations(Assignment("b", "t", [Exercise("1", "", [], [part])]))


def _read(m: Instance) -> set[Any]:
    """The symbols a model's definitions name (sums written out at the model's sizes)."""
    return {
        s
        for pair in m.defs.items()
        for e in pair
        if isinstance(e, sp.Basic)
        for s in relations.at_sizes(e, m).free_symbols
        if isinstance(s, sp.Symbol | sp.MatrixSymbol)
    }


def _checked_declarations(a: Assignment) -> list[tuple[Text, int, Any]]:
    """(text, index, declaration) of each definition or notation a model of `a` defines."""
    defined = {k for part in a.parts() for m in relations.models([part]) for k in m.defs}
    texts = [t for ex in a.exercises for t in ex.intro]
    texts += [t for p in a.parts() for t in (*p.question, *p.facts, *p.remarks)]
    return [
        (t, j, item)
        for t in texts
        for j, item in enumerate(t.items)
        if isinstance(item, relations.Declared)
        and item.kind != "assumption"
        and sp.sympify(item.relation.lhs) in defined
    ]


def test_every_declaration_of_a_models_quantity_in_the_keys_made_wrong_is_refused() -> None:
    from answerkey import registry

    tried = 0
    for module in registry.discover().values():
        a = module.build(module.parameters)
        relations.audit_declarations(a)  # the key as it is passes
        for t, j, item in _checked_declarations(a):
            lhs, rhs = item.relation.lhs, item.relation.rhs
            bad = dataclasses.replace(item, relation=eq(lhs, _wrong(rhs)))
            saved = t.items
            object.__setattr__(t, "items", (*saved[:j], bad, *saved[j + 1 :]))
            try:
                relations.audit_declarations(Assignment(a.id, a.title, a.exercises))
            except VerificationError as exc:
                file = module.module.__name__.split(".")[-1]
                assert exc.where.startswith(f"solutions/{file}.py:"), exc.where
                tried += 1
            else:  # only one about no model (reading what the models do not) is given
                read = {s for p in a.parts() for m in relations.models([p]) for s in _read(m)}
                foreign = _read(Instance(defs={E: rhs})) - read
                assert foreign, f"{a.id}: {item.relation} made wrong passed"
            finally:
                object.__setattr__(t, "items", saved)
    assert tried >= 10


def test_a_worked_example_shows_a_declared_label_only_as_what_it_is_declared_to_be() -> None:
    """The key must not declare g = dE/du and then print the value of something else as g
    (a newcomer's planted fault, once accepted): a label a worked example shows with
    `worked.named` is checked against the exercise's declaration of it."""
    from answerkey import worked

    g = sp.Symbol("g")
    at = {u: worked.given(2.0, "u"), v: worked.given(3.0, "v")}

    def key(shown_as: Any) -> Assignment:
        example = worked.example("at one point", MODEL, at, [worked.named(g, shown_as)])
        part = Part("p", "t", [text("Q.")], numeric_checks=[example])
        intro = [text("Write ", relations.notation(g, D(E, u)), ".")]
        return Assignment("a", "t", [Exercise("1", "", intro, [part])])

    relations.audit_declarations(key(2 * u * v))  # dE/du, written out
    relations.audit_declarations(key(sp.diff(u**2 * v, u)))
    with pytest.raises(VerificationError) as err:
        relations.audit_declarations(key(u * v))  # not the derivative
    assert err.value.where.startswith("tests/test_relations.py:")
    assert err.value.where.endswith(" (a, part p, at one point)")
    assert err.value.message.startswith(
        "the notation g = D(E, u) says what g is, but at one point shows g as u*v, "
        "and they differ: at u="
    )
