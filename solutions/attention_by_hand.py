"""Scaled dot-product attention for one query over three keys: the forward pass, the softmax
Jacobian, the gradient by the query (derived, then at given numbers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from answerkey import relations, worked
from answerkey.kit import attention as att
from answerkey.kit.writing import listed, say
from answerkey.mathfns import D, T, eq, mm, softmax
from answerkey.model import Assignment, Exercise, Part, text
from answerkey.terms import between

ID = "attention-by-hand"
TITLE = "Scaled dot-product attention by hand"
PARAMETERS: dict[str, Any] = {"q": [1.0, 2.0], "K": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]}
PARAMETERS |= {"V": [[1.0, 2.0], [0.0, 1.0], [-1.0, 0.0]], "g": [1.0, 0.5]}
CONSTRAINTS = {k: between(-10, 10) for k in ("q.*", "K.*.*", "V.*.*", "g.*")}

q, K, V, g, s, a, o, E, d = att.q, att.K, att.V, att.g, att.s, att.a, att.o, att.E, att.d
SIZES = {att.d: 2, att.m: 3, att.dv: 2}
HERE, J = att.instance(SIZES), sp.Symbol("J")


def numbers(params: Mapping[str, Any]) -> dict[Any, Any]:
    return {x: worked.given(params[x.name], x.name, exact=True) for x in (q, K, V, g)}


def part_a(params: Mapping[str, Any]) -> Part:
    ex = worked.example("forward pass", HERE, numbers(params), [s, a, o, E], att.oracle)
    ask, blocks = say("Compute {}, {}, {} and {}.", s, a, o, E), [ex.block(text("forward pass"))]
    return Part("a", "the forward pass", [ask], blocks=blocks, numeric_checks=worked.attach(ex))


def part_b() -> Part:
    ask = say("Show that the softmax Jacobian is {}.", eq(D(a, s), att.jacobian()))
    return Part("b", "the softmax Jacobian", [ask], [att.jacobian_derivation()])


def part_c() -> Part:
    ask = say(
        "With {} the gradient arriving at {}, derive {}.",
        relations.notation(g, T(D(E, o))),
        o,
        D(E, q),
    )
    rows = "A matrix of queries is this computation row by row: its gradient has this row "
    rows += "for each query."
    return Part(
        "c", "the gradient by the query", [ask], [att.query_derivation()], remarks=[say(rows)]
    )


def part_d(params: Mapping[str, Any]) -> Part:
    show = [worked.named(J, att.jacobian()), D(E, s), D(E, q), D(E, V)]
    ex = worked.example("gradients", HERE, numbers(params), show, att.oracle)
    ask = say(
        "Evaluate {} (written {}), {}, {} and {} at the numbers of (a).",
        D(a, s),
        J,
        D(E, s),
        D(E, q),
        D(E, V),
    )
    return Part(
        "d",
        "at the numbers",
        [ask],
        blocks=[ex.block(text("gradients"))],
        numeric_checks=worked.attach(ex),
    )


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """Small whole numbers; the scores then differ by multiples of 1/sqrt(2)."""
    pick = lambda *shape: rng.integers(-1, 3, shape).astype(float).tolist()  # noqa: E731
    return {"q": pick(2), "K": pick(3, 2), "V": pick(3, 2), "g": pick(2)}


def instructive(params: Mapping[str, Any]) -> list[str]:
    """No gradient reaches the scores when every value row scores the same against g; an
    entry that is 0 only up to rounding would print as 10^-17."""
    kv, vv, qv, gv = (np.asarray(params[k], dtype=float) for k in ("K", "V", "q", "g"))
    av = np.exp(kv @ qv / np.sqrt(2)) / np.exp(kv @ qv / np.sqrt(2)).sum()
    ds = (vv @ gv) @ (np.diag(av) - np.outer(av, av))
    rounding = [np.abs(x).min() < 1e-9 for x in (ds, ds @ kv)]
    why = ["every value row gives the same g-score: no gradient"] * bool(np.ptp(vv @ gv) < 0.5)
    return why + ["a gradient entry is 0 up to rounding"] * any(rounding)


def build(params: Mapping[str, Any]) -> Assignment:
    at = numbers(params)
    stages = [(s, mm(K, q) / sp.sqrt(d)), (a, softmax(s)), (o, mm(T(V), a))]
    stages.append((E, mm(T(g), o)))
    words = "A query {} attends to the rows of the keys {} and the values {} ({} entries each): "
    words += "{}. Here {}."
    given = listed([eq(x, at[x]) for x in (q, K, V, g)], last="and")
    intro = say(
        words,
        q,
        K,
        V,
        relations.assumption(d, 2),
        listed([relations.definition(*x) for x in stages], sep=";"),
        given,
    )
    parts = [part_a(params), part_b(), part_c(), part_d(params)]
    return Assignment(ID, TITLE, [Exercise("1", "Attention", [intro], parts)])
