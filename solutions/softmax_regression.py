"""Softmax regression: scores s = W x + b, probabilities p = softmax(s), cross-entropy L;
the gradients by W and b (derived by the kit), a worked example and one SGD step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from answerkey import kit, relations, worked
from answerkey.kit.writing import listed, say
from answerkey.mathfns import D, eq
from answerkey.model import Assignment, Exercise, Part, text
from answerkey.terms import between, positive

ID = "softmax-regression"
TITLE = "Softmax regression"
PARAMETERS: dict[str, Any] = {"x": [1.0, -0.5], "t": [0.0, 1.0, 0.0], "learning_rate": 0.5}
PARAMETERS |= {"W": [[0.2, -0.1], [0.4, 0.3], [-0.5, 0.1]], "b": [0.1, 0.0, -0.1]}
CONSTRAINTS = {"learning_rate": positive(), "t.*": between(0, 1)}

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
    at = NET.given({q: prm[q] for q in ("x", "t", "W", "b")}, SIZES)
    rate = worked.given(prm["learning_rate"], "learning rate", exact=True)
    example = NET.example("worked example", SIZES, at, [s, p, L, D(L, W), D(L, b)])
    new = [(sp.MatrixSymbol(f"{v}'", *v.shape), worked.NewValueOf(v)) for v in (W, b)]
    sample = [{x: at[x], t: at[t]}]
    sgd = NET.trace("SGD step", SIZES, {W: at[W], b: at[b]}, sample, worked.SGD(rate), 1, new)
    given = say("Take {}.", listed([eq(v, at[v]) for v in (x, t, W, b)], last="and"))
    ask = say("Compute {}, {}, {}, the gradients, and {} and {}", s, p, L, W, b)
    ask = say("{} after one SGD step at learning rate {}.", ask, rate)
    blocks = [example.block(text("forward pass and gradients")), sgd.block(0, text("SGD step"))]
    checks = worked.attach(example, sgd)
    return Part("2", "one SGD step", [given, ask], blocks=blocks, numeric_checks=checks)


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """Fresh numbers with one decimal (never -0.0), a one-hot target."""
    r = {q: (np.round(rng.uniform(-1, 1, z), 1) + 0.0).tolist() for q, z in
         (("x", 2), ("W", (3, 2)), ("b", 3))}  # fmt: skip
    return {**r, "t": np.eye(3)[rng.integers(0, 3)].tolist()}


def build(params: Mapping[str, Any]) -> Assignment:
    defs = listed([relations.definition(q, d) for q, d in NET.definitions().items()], last="and")
    words = "A linear classifier with {}, for an input {} of the class the one-hot {} gives."
    intro = [say(words, defs, x, t)]
    exercise = Exercise("1", "Softmax regression", intro, [gradients(), worked_step(params)])
    return Assignment(ID, TITLE, [exercise], notation=NET.notation)
