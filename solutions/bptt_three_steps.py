"""A scalar tanh RNN unrolled over three steps: the forward pass, backpropagation through time
(the gradient a sum over time), the product of Jacobians, and one LSTM step's gates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from answerkey import relations, worked
from answerkey.kit import diagrams, rnn
from answerkey.kit.writing import derive, listed, say
from answerkey.mathfns import D, eq
from answerkey.model import Assignment, Exercise, Figure, Part, text
from answerkey.terms import between

ID = "bptt-three-steps"
TITLE = "Backpropagation through time"
PARAMETERS: dict[str, Any] = {"x": [1.0, -1.0, 0.5], "h_0": 0.0, "w": 0.5, "u": 1.0, "b": 0.1}
PARAMETERS |= {"y": 0.5, "lstm": {"x": 1.0, "h_prev": 0.5, "c_prev": 0.2}}
PARAMETERS["lstm"] |= {"w": [0.5, 0.4, -0.3, 0.2], "u": [0.1, 0.2, 0.3, 0.4], "b": [0.0] * 4}
CONSTRAINTS = {k: between(-5, 5) for k in ("x.*", "h_0", "w", "u", "b", "y")}
CONSTRAINTS |= {f"lstm.{k}": between(-5, 5) for k in ("x", "h_prev", "c_prev", "w.*", "u.*", "b.*")}

RNN, LSTM = rnn.TanhRNN(3), rnn.LSTMCell()
w, u, b, y, E, h = RNN.w, RNN.u, RNN.b, RNN.y, RNN.E, RNN.h
NET, PARAMS = RNN.instance(), (w, u, b)


def numbers(p: Mapping[str, Any]) -> dict[Any, Any]:
    values = {RNN.x[t]: p["x"][t - 1] for t in (1, 2, 3)} | {h[0]: p["h_0"], w: p["w"], u: p["u"]}
    values |= {b: p["b"], y: p["y"]}
    return {k: worked.given(v, str(k), exact=True) for k, v in values.items()}


def part_a(p: Mapping[str, Any]) -> Part:
    ex = worked.example("forward pass", NET, numbers(p), [*h[1:], E], RNN.oracle)
    ask, blocks = say("Compute {}, {}, {} and {}.", *h[1:], E), [ex.block(text("forward pass"))]
    return Part("a", "the forward pass", [ask], blocks=blocks, numeric_checks=worked.attach(ex))


def part_b() -> Part:
    sums = [(q, RNN.through_time(q), RNN.nested(q)) for q in PARAMS]
    why = ("a sum over time", "the signals put in")
    derivations = [
        derive(D(E, q), list(zip(st, why, strict=True)), [NET], RNN.oracle) for q, *st in sums
    ]
    signals = [relations.identity(D(E, h[t]), RNN.signals()[h[t]], NET) for t in (3, 2)]
    ask = say("Derive {}, {} and {} through time.", *(D(E, q) for q in PARAMS))
    words = "The error reaches each step from the ones after it: {}; {}, and so on (the "
    words += "signals, put in with their common factors taken out)."
    fact = say(words, *signals)
    remark = say("Every step contributes: the last step's term alone is not the gradient.")
    kw = {"facts": [fact], "remarks": [remark]}
    return Part("b", "backpropagation through time", [ask], derivations, **kw)


def part_c(p: Mapping[str, Any]) -> Part:
    product = [(RNN.jacobian_product(1, 3), "chain rule, one factor per step")]
    d = derive(D(h[3], h[1]), product, [NET])
    ex = worked.example("Jacobians", NET, numbers(p), [D(h[3], h[1])], RNN.oracle)
    ask = say("Give {} as a product of Jacobians, and its value here.", D(h[3], h[1]))
    words = "Each factor {} has size at most {}: over a long span the product vanishes when the "
    words += "factors stay below 1 and explodes when they stay above."
    remark = say(words, w * (1 - h[2] ** 2), sp.Abs(w))
    kw = {"blocks": [ex.block(text("at the numbers"))], "remarks": [remark]}
    return Part("c", "the product of Jacobians", [ask], [d], numeric_checks=worked.attach(ex), **kw)


def part_d(p: Mapping[str, Any]) -> Part:
    show = [D(E, h[3]), D(E, h[2]), D(E, h[1]), *(D(E, q) for q in PARAMS)]
    ex = worked.example("gradients", NET, numbers(p), show, RNN.oracle)
    ask, blocks = (
        say("Evaluate the gradients at the numbers of (a)."),
        [ex.block(text("gradients"))],
    )
    return Part("d", "at the numbers", [ask], blocks=blocks, numeric_checks=worked.attach(ex))


def part_e(q: Mapping[str, Any]) -> Part:
    at = {k: worked.given(v, str(k), exact=True) for k, v in LSTM.inputs(q).items()}
    ex = worked.example("LSTM step", LSTM.instance(), at, LSTM.shown(), LSTM.oracle)
    rules = listed([relations.definition(*r) for r in LSTM.definitions().items()], sep=";")
    given = listed([eq(k, v) for k, v in at.items()])
    ask = say(
        "An LSTM step: {}. With {}, compute its gates, {} and {}.", rules, given, LSTM.c, LSTM.h
    )
    blocks = [ex.block(text("LSTM step"))]
    return Part("e", "an LSTM step", [ask], blocks=blocks, numeric_checks=worked.attach(ex))


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """Inputs in halves, a recurrent weight below 1 in size, a target in tenths."""
    x = (rng.integers(-2, 3, 3) / 2).tolist()
    w_, y_ = float(rng.choice([-0.5, 0.5, 0.8])), float(rng.integers(-5, 6)) / 10
    return {**PARAMETERS, "x": x, "w": w_, "y": y_}


def build(params: Mapping[str, Any]) -> Assignment:
    at = numbers(params)
    cell = sp.tanh(w * sp.Symbol("h_{t-1}") + u * sp.Symbol("x_t") + b)
    stated = [
        relations.definition(sp.Symbol("h_t"), cell),
        h[0],
        relations.definition(E, NET.defs[E]),
    ]
    words = "A tanh cell {} runs for three steps from {}; the loss at the last step is {}. Here {}."
    intro = say(words, *stated, listed([eq(k, v) for k, v in at.items()], last="and"))
    parts = [part_a(params), part_b(), part_c(params), part_d(params), part_e(params["lstm"])]
    figure = Figure(
        "unrolled",
        say("The cell unrolled over three steps."),
        lambda: diagrams.unrolled("unrolled", 3),
    )
    return Assignment(ID, TITLE, [Exercise("1", "A recurrent network", [intro], parts, [figure])])
