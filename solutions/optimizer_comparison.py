"""Six optimizers from the same start on an elongated quadratic bowl: the gradient, three
updates of each side by side, and Adam's first update with its bias correction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from answerkey import relations, worked
from answerkey.kit import optim
from answerkey.kit.writing import derive, listed, say
from answerkey.mathfns import D, eq
from answerkey.model import Assignment, Exercise, Instance, Part, Table, text
from answerkey.terms import between, positive

ID = "optimizer-comparison"
TITLE = "Optimizers compared on an elongated bowl"
PARAMETERS: dict[str, Any] = {"start": [1.0, 1.0], "curvature": [1.0, 10.0]}
PARAMETERS |= {"learning_rate": 0.05, "beta": 0.9, "rho": 0.9, "beta1": 0.9, "beta2": 0.999}
HYPER = ("learning_rate", "beta", "rho", "beta1", "beta2")
CONSTRAINTS = {"start.*": between(-5, 5), "curvature.*": [positive(), between(0, 20)]}
CONSTRAINTS |= {k: [positive(), between(0, 1)] for k in HYPER}
STEPS = 3

x, y, a, b, E, t = sp.symbols("x y a b E t")
BOWL = Instance(defs={E: (a * x**2 + b * y**2) / 2}, label="the bowl")
EPSILON = worked.given(1e-8, "epsilon", stated_as="10^{-8}")
x_t, y_t, E_t = sp.symbols("x_t y_t E_t")  # after update t, as the rules write w_t
AFTER = [(x_t, worked.NewValueOf(x)), (y_t, worked.NewValueOf(y)), (E_t, worked.LossAfter())]


def oracle(v: Mapping[str, Any]) -> dict[str, float]:
    return {"E": 0.5 * (v["a"] * v["x"] ** 2 + v["b"] * v["y"] ** 2)}


def given(symbols: Sequence[Any], values: Sequence[float]) -> dict[Any, Any]:
    """{symbol: the given number} for the key's text and the traces."""
    return {s: worked.given(v, str(s), exact=True) for s, v in zip(symbols, values, strict=True)}


def optimizers(p: Mapping[str, Any]) -> list[Any]:
    eta, beta, rho, beta1, beta2 = given(HYPER, [p[k] for k in HYPER]).values()
    momentum = [optim.SGD(eta), optim.Momentum(eta, beta), optim.Nesterov(eta, beta)]
    adaptive = [optim.AdaGrad(eta, EPSILON), optim.RMSProp(eta, rho, EPSILON)]
    return [*momentum, *adaptive, optim.Adam(eta, beta1, beta2, EPSILON)]


def run(p: Mapping[str, Any], opt: Any, show: list[Any], name: str = "") -> worked.Trace:
    start, bowl = given((x, y), p["start"]), [given((a, b), p["curvature"])]
    return worked.trace(name or opt.NAME, BOWL, start, bowl, E, opt, STEPS, show, oracle)


def part_a() -> Part:
    ds = [derive(D(E, w), [(c * w, "power rule")], [BOWL], oracle) for w, c in ((x, a), (y, b))]
    return Part("a", "the gradient", [say("Give the gradient of {}.", E)], ds)


def part_b(p: Mapping[str, Any]) -> Part:
    rows, checks = [], []
    for opt in optimizers(p):
        tr = run(p, opt, AFTER)
        for k in range(1, STEPS + 1):  # x_t, y_t, E_t: after update t
            rows.append((opt.NAME if k == 1 else "", k, *(tr.steps[k - 1][v] for v, _ in AFTER)))
        checks += worked.attach(tr)
    ask = "From the same start, make three updates of {} and {} with each optimizer ({} is either):"
    rules = [opt.statement() for opt in optimizers(p)]
    caption = say("{}, {} and {} after update {} from the same start", *(v for v, _ in AFTER), t)
    nesterov = "Nesterov's update is written so that it needs the gradient at {} only."
    return Part(
        "b",
        "three updates of each optimizer",
        [say(ask, x, y, optim.W_OLD), *rules],
        tables=[Table((text("optimizer"), t, *(v for v, _ in AFTER)), tuple(rows), caption)],
        remarks=[say(nesterov, optim.W_OLD)],
        numeric_checks=checks,
    )


def part_c(p: Mapping[str, Any]) -> Part:
    adam = optimizers(p)[-1]
    lines = [(sp.Symbol(s.name.replace("_t", "_1")), s) for s, _ in adam.lines()]
    shows = {w: [(n, worked.LineOf(w, s)) for n, s in lines] for w in (x, y)}
    traces = [run(p, adam, show, f"Adam for {w}") for w, show in shows.items()]
    first = relations.assumption(t, 1)
    question = say("Write out Adam's first update ({}) line by line for {} and {}.", first, x, y)
    words = "At {} the bias correction divides {} by {}: the first step has length about {} in "
    words += "every coordinate, whatever the curvature."
    remark = say(words, first, sp.Symbol("m_t"), 1 - optim.BETA1, optim.ETA)
    blocks = [tr.block(0, say("for {}", w)) for tr, w in zip(traces, (x, y), strict=True)]
    shown = {"blocks": blocks, "remarks": [remark], "numeric_checks": worked.attach(*traces)}
    return Part("c", "Adam's bias correction", [question], **shown)


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """A fresh start (one decimal, away from the axes) and a ratio of curvatures."""
    start = [float(np.round(rng.choice([-1, 1]) * rng.uniform(0.5, 2), 1)) for _ in range(2)]
    return {**PARAMETERS, "start": start, "curvature": [1.0, float(rng.choice([4, 8, 10, 12]))]}


def build(params: Mapping[str, Any]) -> Assignment:
    curvature = [eq(s, n) for s, n in given((a, b), params["curvature"]).items()]
    start = [eq(s, n) for s, n in given((x, y), params["start"]).items()]
    words = "Minimise {} with {} from {}, with learning rate {} and {}. Each optimizer starts "
    words += "with its state at 0; {} counts the updates from 1 and {} is the gradient there."
    intro = say(
        words,
        relations.definition(E, BOWL.defs[E]),
        listed(curvature, last="and"),
        listed(start, last="and"),
        given(["learning_rate"], [params["learning_rate"]])["learning_rate"],
        relations.definition(optim.EPS, sp.Pow(sp.UnevaluatedExpr(10), -8)),
        t,
        optim.G,
    )
    parts = [part_a(), part_b(params), part_c(params)]
    return Assignment(ID, TITLE, [Exercise("1", "Optimizers on a bowl", [intro], parts)])
