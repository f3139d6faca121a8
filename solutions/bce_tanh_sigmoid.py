"""A tanh layer, a sigmoid output, binary cross-entropy: dE/dz2, the weight gradients and one
SGD step worked out at given numbers. Written from the README by a newcomer to the kit; the
weight gradients' derivations are the kit's own (`NET.derivation`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from answerkey import kit, relations, worked
from answerkey.kit.writing import derive, listed, say
from answerkey.mathfns import D, T, diag, elementwise, eq, hadamard_ones_minus, mm
from answerkey.model import Assignment, Exercise, Part, text
from answerkey.terms import between, positive

ID = "bce-tanh-sigmoid"
TITLE = "Binary cross-entropy through a tanh layer"
PARAMETERS: dict[str, Any] = {"x": [1.0, -0.5], "t": [1.0], "learning_rate": 0.5}
PARAMETERS |= {"W1": [[0.5, -0.3], [0.2, 0.8], [-0.6, 0.1]], "W2": [[0.7, -0.4, 0.3]]}
CONSTRAINTS = {"learning_rate": [positive(), between(0, 10)], "t.*": between(0, 1)}
CONSTRAINTS |= {k: between(-10, 10) for k in ("x.*", "W1.*.*", "W2.*.*")}

n, h, K = sp.symbols("n h K", integer=True, positive=True)
LAYERS = [kit.linear(h, bias=False), kit.tanh(), kit.linear(K, bias=False), kit.sigmoid()]
NET = kit.Network(n, LAYERS, kit.binary_cross_entropy())
x, t, W1, z1, y1, W2, z2, y2, E = (NET[s] for s in "x t W1 z1 y1 W2 z2 y2 E".split())
SHAPES = {"x": (2,), "W1": (3, 2), "W2": (1, 3)}
SIZES = {n: 2, h: 3, K: 1}  # the worked example's sizes
OTHER = {n: 3, h: 4, K: 2}  # all sizes differ; K = 2 is two independent sigmoid outputs


def part_a() -> Part:
    dlog = sp.MatAdd(
        -mm(T(t), sp.Inverse(diag(y2))),
        mm(T(hadamard_ones_minus(t)), sp.Inverse(diag(hadamard_ones_minus(y2)))),
    )
    steps = [
        (mm(D(E, y2), D(y2, z2)), "chain rule"),
        (mm(dlog, diag(sp.HadamardProduct(y2, hadamard_ones_minus(y2)))), "log and sigmoid"),
        (T(y2 - t), "multiply out the diagonal matrices"),
    ]
    insts = [NET.instance(SIZES, "z2"), NET.instance(OTHER, "z2")]
    d = derive(D(E, z2), steps, insts, NET.oracle)
    return Part(
        "a", "the output pre-activation", [say("Show that {}.", eq(D(E, z2), T(y2 - t)))], [d]
    )


def part_b() -> Part:
    grads = [D(E, W2), D(E, W1)]
    # written by the kit from the graph: the chain rule, one line per layer, each citing
    # the verified fragment it rests on, then the simplified form
    derivations = [NET.derivation(g, [SIZES, OTHER]) for g in grads]
    question = say("Give {} and {} in matrix form.", *grads)
    checks = NET.cited(*grads)  # the cited fragments, verified by the engine
    return Part("b", "the weight gradients", [question], derivations, numeric_checks=checks)


def part_c(p: Mapping[str, Any]) -> Part:
    at = NET.given({k: p[k] for k in ("x", "t", "W1", "W2")}, SIZES)
    rate = worked.given(p["learning_rate"], "learning rate", exact=True)
    show = [z1, y1, z2, y2, E, D(E, z2), D(E, W2), D(E, W1)]
    example = NET.example("worked example", SIZES, at, show)
    new = [(sp.MatrixSymbol(f"{w}'", *w.shape), worked.NewValueOf(w)) for w in (W1, W2)]
    params, sample = {W1: at[W1], W2: at[W2]}, [{x: at[x], t: at[t]}]
    step = NET.trace("SGD step", SIZES, params, sample, worked.SGD(rate), 1, new)
    given = say("Take {}.", listed([eq(v, at[v]) for v in (x, t, W1, W2)], last="and"))
    ask = say("{} after one SGD step at learning rate {}", listed([W1, W2], last="and"), rate)
    question = say("Compute the forward pass, the gradients, and {}.", ask)
    blocks = [example.block(text("forward pass and gradients")), step.block(0, text("SGD step"))]
    remark = say("Before the step the output is {}.", eq(y2, example[y2]))
    checks = worked.attach(example, step)
    return Part(
        "c",
        "a worked example",
        [given, question],
        blocks=blocks,
        remarks=[remark],
        numeric_checks=checks,
    )


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """Fresh numbers with one decimal (no -0.0); the target is 0 or 1."""
    r = {k: (np.round(rng.uniform(-1, 1, s), 1) + 0.0).tolist() for k, s in SHAPES.items()}
    return {**r, "t": [float(rng.integers(0, 2))]}


def instructive(p: Mapping[str, Any]) -> list[str]:
    """Why these numbers would not teach much (empty: they are fine)."""
    f = NET.forward({k: np.array(p[k], dtype=float) for k in ("x", "t", "W1", "W2")})
    reasons = ["a hidden unit saturates (|z1| > 2)"] if np.abs(f["z1"]).max() > 2 else []
    if np.abs(np.ravel(f["y2"]) - np.ravel(p["t"])).max() < 0.05:
        reasons.append("the output already matches the target")
    return reasons


def build(params: Mapping[str, Any]) -> Assignment:
    defs = [(z1, mm(W1, x)), (y1, elementwise("tanh", z1)), (z2, mm(W2, y1))]
    defs.append((y2, elementwise("sigmoid", z2)))
    layers = listed([relations.definition(a, b) for a, b in defs], last="and")
    loss = relations.definition(E, NET.definitions()[E])
    words = "A network with {}; for one sample with target {} the binary cross-entropy is {}."
    intro = say(words, layers, t, loss)
    parts = [part_a(), part_b(), part_c(params)]
    exercise = Exercise("1", "A tanh-sigmoid network", [intro], parts, [NET.figure(sizes=SIZES)])
    return Assignment(ID, TITLE, [exercise], notation=NET.notation)
