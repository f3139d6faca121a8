"""Softmax regression: scores s = W x + b, probabilities p = softmax(s), cross-entropy L.
The gradients by W and b, a worked example, and one SGD step with the loss after it.
Written from the README alone (the acceptance trial of issue 20)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from answerkey import kit, relations, worked
from answerkey.kit.fragments import OUTER_PRODUCT, SOFTMAX_CROSS_ENTROPY
from answerkey.kit.writing import derive, listed, say
from answerkey.mathfns import D, T, eq, mm
from answerkey.model import Assignment, Exercise, Part, text
from answerkey.terms import between, integer, positive

ID = "softmax-regression-trial"
TITLE = "Softmax regression: one SGD step and the loss after it"
PARAMETERS: dict[str, Any] = {"x": [1.0, -2.0], "y": 2, "learning_rate": 0.5}
PARAMETERS |= {"W": [[0.2, -0.1], [0.4, 0.3], [-0.5, 0.1]], "b": [0.1, 0.0, -0.2]}
CONSTRAINTS = {"learning_rate": [positive(), between(0, 10)], "y": [integer(), between(1, 3)]}
CONSTRAINTS |= {k: between(-10, 10) for k in ("x.*", "W.*.*", "b.*")}

n, K = sp.symbols("n K", integer=True, positive=True)
NAMES = {"W1": "W", "b1": "b", "z1": "s", "y1": "p", "E": "L"}  # the course's names
NET = kit.Network(n, [kit.linear(K), kit.softmax()], kit.cross_entropy(), names=NAMES)
x, t, W, b, s, p, L = (NET[k] for k in ("x", "t", "W", "b", "s", "p", "L"))
SIZES = {n: 2, K: 3}
OTHER = {n: 4, K: 3}  # sizes differ from the example's (n != K)


def part_a() -> Part:
    insts = [NET.instance(SIZES, "s"), NET.instance(OTHER, "s")]
    ds = derive(D(L, s), [SOFTMAX_CROSS_ENTROPY.step(E=L, z=s, y=p, t=t)], insts, NET.oracle)
    full = [NET.instance(SIZES), NET.instance(OTHER)]
    dW = derive(
        D(L, W),
        [OUTER_PRODUCT.step(E=L, z=s, W=W, x=x), (mm(p - t, T(x)), "part (a)")],
        full,
        NET.oracle,
    )
    db = derive(
        D(L, b),
        [(mm(D(L, s), D(s, b)), "chain rule"), (T(p - t), "the bias enters s with identity")],
        full,
        NET.oracle,
    )
    question = say("Show that {}, and give {} and {}.", eq(D(L, s), T(p - t)), D(L, W), D(L, b))
    checks = [SOFTMAX_CROSS_ENTROPY.check, OUTER_PRODUCT.check]
    return Part("a", "the gradients", [question], [ds, dW, db], numeric_checks=checks)


def part_b(prm: Mapping[str, Any]) -> Part:
    y = prm["y"]
    onehot = [int(k == y) for k in range(1, 4)]  # integers print as integers: [0 1 0]
    at = NET.given({"x": prm["x"], "W": prm["W"], "b": prm["b"], "t": onehot}, SIZES)
    rate = worked.given(prm["learning_rate"], "learning rate", exact=True)
    example = NET.example("worked example", SIZES, at, [s, p, L, D(L, W), D(L, b)])
    show = [worked.NewValueOf(W), worked.NewValueOf(b), worked.LossAfter()]
    params = {W: at[W], b: at[b]}
    step = NET.trace("SGD step", SIZES, params, [{x: at[x], t: at[t]}], worked.SGD(rate), 1, show)
    cls = worked.given(y, "true class")  # an integer: printed 2, not 2.0
    given = say("Take {} (true class {}).", listed([eq(v, at[v]) for v in (x, W, b, t)]), cls)
    ask = say(
        "Compute {}, then {} and {} after one SGD step at learning rate {}, and the loss after it.",
        listed([s, p, L, D(L, W), D(L, b)]),
        W,
        b,
        rate,
    )
    blocks = [example.block(text("forward pass and gradients")), step.block(0, text("SGD step"))]
    p_y = worked.entry(p, y)
    remark = say("The true class had probability {} before the step.", (p_y, example[p_y]))
    checks = worked.attach(example, step)
    return Part(
        "b",
        "a worked example",
        [given, ask],
        blocks=blocks,
        remarks=[remark],
        numeric_checks=checks,
    )


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """Fresh numbers with one decimal; the class is 1, 2 or 3."""
    r = {
        k: (np.round(rng.uniform(-1, 1, sh), 1) + 0.0).tolist()
        for k, sh in {"x": (2,), "W": (3, 2), "b": (3,)}.items()
    }
    return {**r, "y": int(rng.integers(1, 4))}


def build(params: Mapping[str, Any]) -> Assignment:
    defs = [relations.definition(s, mm(W, x) + b), relations.definition(p, NET.definitions()[p])]
    loss = relations.definition(L, NET.definitions()[L])
    intro = say(
        "Scores {}, probabilities {}; for a one-hot target {} the loss is {}.",
        defs[0],
        defs[1],
        t,
        loss,
    )
    parts = [part_a(), part_b(params)]
    return Assignment(
        ID, TITLE, [Exercise("1", "Softmax regression", [intro], parts)], notation=NET.notation
    )
