"""Softmax regression: scores s = W x + b, probabilities p = softmax(s), cross-entropy L;
the gradients by W and b (derived by the kit), a worked example, one SGD step and the loss
after it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from answerkey import kit, relations, worked
from answerkey.kit.writing import listed, say
from answerkey.mathfns import D, eq
from answerkey.model import Assignment, Exercise, Part, text
from answerkey.terms import between, integer, positive

ID = "softmax-regression"
TITLE = "Softmax regression"
PARAMETERS: dict[str, Any] = {"x": [1.0, -0.5], "y": 2, "learning_rate": 0.5}
PARAMETERS |= {"W": [[0.2, -0.1], [0.4, 0.3], [-0.5, 0.1]], "b": [0.1, 0.0, -0.1]}
CONSTRAINTS = {"learning_rate": [positive(), between(0, 10)], "y": [integer(), between(1, 3)]}
CONSTRAINTS |= {k: between(-10, 10) for k in ("x.*", "W.*.*", "b.*")}

n, K = sp.symbols("n K", integer=True, positive=True)
NAMES = {"W1": "W", "b1": "b", "z1": "s", "y1": "p", "E": "L"}  # the course's names
NET = kit.Network(n, [kit.linear(K), kit.softmax()], kit.cross_entropy(), names=NAMES)
x, t, W, b, s, p, L = (NET[q] for q in "x t W b s p L".split())
SIZES, OTHER = {n: 2, K: 3}, {n: 3, K: 4}  # the example's sizes; all different


def gradients() -> Part:
    grads = [D(L, W), D(L, b)]
    derivations = [NET.derivation(g, [SIZES, OTHER]) for g in grads]
    question = say("Give {} and {}.", *grads)
    return Part("1", "the gradients", [question], derivations, numeric_checks=NET.cited(*grads))


def worked_step(prm: Mapping[str, Any]) -> Part:
    onehot = [int(k == prm["y"]) for k in (1, 2, 3)]  # integers print as integers: [0 1 0]
    at = NET.given({"x": prm["x"], "t": onehot, "W": prm["W"], "b": prm["b"]}, SIZES)
    rate = worked.given(prm["learning_rate"], "learning rate", exact=True)
    example = NET.example("worked example", SIZES, at, [s, p, L, D(L, W), D(L, b)])
    show = [worked.NewValueOf(W), worked.NewValueOf(b), worked.LossAfter()]
    sample = [{x: at[x], t: at[t]}]
    sgd = NET.trace("SGD step", SIZES, {W: at[W], b: at[b]}, sample, worked.SGD(rate), 1, show)
    cls = worked.given(prm["y"], "true class")  # an integer: printed 2, not 2.0
    given = say("Take {} (true class {}).", listed([eq(v, at[v]) for v in (x, W, b, t)]), cls)
    ask = say("Compute {}, {}, {}, the gradients, and {} and {}", s, p, L, W, b)
    ask = say("{} after one SGD step at learning rate {}, and the loss after it.", ask, rate)
    blocks = [example.block(text("forward pass and gradients")), sgd.block(0, text("SGD step"))]
    p_y = worked.entry(p, prm["y"])
    remark = say("The true class had probability {} before the step.", (p_y, example[p_y]))
    checks = worked.attach(example, sgd)
    prose = {"blocks": blocks, "remarks": [remark]}
    return Part("2", "one SGD step", [given, ask], **prose, numeric_checks=checks)


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """Fresh numbers with one decimal (never -0.0); the true class is 1, 2 or 3."""
    r = {q: (np.round(rng.uniform(-1, 1, z), 1) + 0.0).tolist() for q, z in
         (("x", 2), ("W", (3, 2)), ("b", 3))}  # fmt: skip
    return {**r, "y": int(rng.integers(1, 4))}


def build(params: Mapping[str, Any]) -> Assignment:
    defs = listed([relations.definition(q, d) for q, d in NET.definitions().items()], last="and")
    words = "A linear classifier with {}, for an input {} of the class the one-hot {} gives."
    intro = [say(words, defs, x, t)]
    exercise = Exercise("1", "Softmax regression", intro, [gradients(), worked_step(params)])
    return Assignment(ID, TITLE, [exercise], notation=NET.notation)
