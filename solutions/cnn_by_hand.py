"""A 4x4 input, a 3x3 convolution, ReLU, 2x2 max pooling: sizes, forward, backward rules (the
input gradient a full convolution with the flipped kernel), gradients and one SGD step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from answerkey import relations, worked
from answerkey.kit import conv, diagrams
from answerkey.kit.writing import listed, say
from answerkey.mathfns import D, elementwise, eq
from answerkey.model import Assignment, Exercise, Figure, Instance, Part, text
from answerkey.terms import between, positive

ID = "cnn-by-hand"
TITLE = "A convolutional layer by hand"
PARAMETERS: dict[str, Any] = {"X": [[1, 0, 2, 1], [0, 1, 1, 0], [2, 1, 0, 1], [1, 0, 1, 2]]}
PARAMETERS |= {"K": [[1, 0, -1], [0, 1, 0], [-1, 0, 1]], "b": 0.5, "t": 1.0, "learning_rate": 0.1}
PARAMETERS |= {"layer": {"N": 32, "C_in": 3, "C_out": 16, "F": 5, "P": 2}}
CONSTRAINTS = {k: between(-10, 10) for k in ("X.*.*", "K.*.*", "b", "t")}
CONSTRAINTS |= {f"layer.{k}": between(0, 512) for k in PARAMETERS["layer"]}
CONSTRAINTS["learning_rate"] = [positive(), between(0, 1)]
HERE = {"N": 4, "F": 3, "P": 0, "C_in": 1, "C_out": 1}  # the layer of parts c-e

LAYER = conv.Conv2d(3)
X, K, Z, A = (sp.MatrixSymbol(n, m, m) for n, m in zip("XKZA", (4, 3, 2, 2), strict=True))
b, p, t, E = sp.symbols("b p t E")
DEFS = {Z: LAYER.definition(X, K, b), A: elementwise("relu", Z), p: conv.max_pool(A, 2)}
NET = Instance(defs={**DEFS, E: (p - t) ** 2 / 2}, label="the network")
DELTA, GRADIENTS = sp.Symbol(r"\delta"), [D(E, K), D(E, b), D(E, X)]
WINDOW = say("The kernel's window over {} and the entry of {} it computes.", X, Z)
FIG = Figure("feature-map", WINDOW, lambda: diagrams.feature_map("feature-map", 4, 3))


def oracle(v: Mapping[str, Any]) -> dict[str, Any]:
    z = v["Z"] if "Z" in v else LAYER.forward(v["X"], v["K"], v["b"])  # a stage given overrides
    a = v.get("A", np.maximum(z, 0.0))
    top = v.get("p", np.max(a))
    return {"Z": z, "A": a, "p": top, "E": 0.5 * (top - v["t"]) ** 2}


def numbers(params: Mapping[str, Any]) -> dict[Any, Any]:
    return {q: worked.given(params[q.name], q.name, exact=True) for q in (X, K, b, t)}


def part_sizes(pid: str, params: Mapping[str, Any]) -> Part:
    name, layer = ("this layer", HERE) if pid == "a" else ("a larger layer", params["layer"])
    ex, (size, count) = conv.layer_facts(name, **{"S": 1, **layer}), (conv.SIZE, conv.COUNT)
    given = listed([eq(sp.Symbol(k), n) for k, n in ex.givens()])
    words = "Give the output size {} and parameter count {} of {} ({})."
    ask = say(words, size, count, name, given)
    rules = [relations.definition(*q) for q in ((size, conv.OUTPUT_SIZE), (count, conv.PARAMETERS))]
    answer = say("By {} and {}: {}, {}.", *rules, (size, ex[size]), (count, ex[count]))
    checks = [conv.facts_check] * (pid == "a") + worked.attach(ex)
    return Part(pid, f"sizes of {name}", [ask], remarks=[answer], numeric_checks=checks, decimals=0)


def part_c(params: Mapping[str, Any]) -> Part:
    ex = worked.example("forward pass", NET, numbers(params), [Z, A, p, E], oracle)
    ask, blocks = say("Compute {}, {}, {} and {}.", Z, A, p, E), [ex.block(text("forward pass"))]
    return Part("c", "the forward pass", [ask], blocks=blocks, numeric_checks=worked.attach(ex))


def part_d() -> Part:
    delta, fact, remark = conv.backward_text(Z, X, K, b, E)
    ask = say("With {} the gradient reaching {}, give {}, {} and {}.", delta, Z, *GRADIENTS)
    checks = [f.check for f in conv.fragments()]
    return Part("d", "backward rules", [ask], facts=[fact], remarks=[remark], numeric_checks=checks)


def part_e(params: Mapping[str, Any]) -> Part:
    at = numbers(params)
    show = [D(E, p), D(E, A), worked.named(DELTA, D(E, Z)), *GRADIENTS]
    ex = worked.example("gradients", NET, at, show, oracle)
    rate = worked.given(params["learning_rate"], "learning rate", exact=True)
    new = [(sp.Symbol(f"{q}'"), worked.NewValueOf(q)) for q in (K, b)]
    sample, sgd = [{X: at[X], t: at[t]}], worked.SGD(rate)
    step = worked.trace("SGD step", NET, {K: at[K], b: at[b]}, sample, E, sgd, 1, new, oracle)
    ask = say("Give the gradients, then {} and {} after one SGD step at rate {}.", K, b, rate)
    routing = (
        "Max pooling sends {} to the largest entry of {} only; ReLU passes it where {} is positive."
    )
    kw = {"remarks": [say(routing, D(E, p), A, Z)], "numeric_checks": worked.attach(ex, step)}
    blocks = [ex.block(text("gradients")), step.block(0, text("SGD step"))]
    return Part("e", "gradients and a step", [ask], blocks=blocks, **kw)


def validate(params: Mapping[str, Any]) -> list[str]:
    """A tie for the maximum or an entry of Z at 0 leaves the gradient undefined."""
    z = LAYER.forward(*(np.array(params[k], dtype=float) for k in ("X", "K", "b")))
    return conv.ties(np.maximum(z, 0), 2) + ["an entry of Z is 0"] * bool(np.isclose(z, 0).any())


def instructive(params: Mapping[str, Any]) -> list[str]:
    top = oracle({k: np.array(params[k], dtype=float) for k in ("X", "K", "b", "t")})["p"]
    return validate(params) + ["no gradient"] * bool(np.isclose(top, params["t"]) or top <= 0)


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """Small integers a student multiplies in their head; b and t in halves."""
    x, k = rng.integers(-1, 3, (4, 4)), rng.integers(-1, 2, (3, 3))
    b_, t_ = float(rng.integers(-2, 3)) / 2, float(rng.integers(0, 5)) / 2
    return {**PARAMETERS, "X": x.tolist(), "K": k.tolist(), "b": b_, "t": t_}


def build(params: Mapping[str, Any]) -> Assignment:
    at = numbers(params)
    words = "A 4x4 input {} goes through a 3x3 convolution with kernel {} and bias {} (stride 1, "
    words += "no padding), a ReLU and 2x2 max pooling: {}, {}, {}; the loss is {} for target {}."
    top = sp.Max(*[sp.IndexedBase("A")[m, n] for m in (1, 2) for n in (1, 2)])
    stages = [conv.index_definition(Z, X, K, b), relations.definition(A, elementwise("relu", Z))]
    stages += [relations.definition(p, top), relations.definition(E, (p - t) ** 2 / 2)]
    setting = say(words, eq(X, at[X]), eq(K, at[K]), eq(b, at[b]), *stages, eq(t, at[t]))
    parts = [part_sizes("a", params), part_sizes("b", params), part_c(params), part_d()]
    parts.append(part_e(params))
    return Assignment(ID, TITLE, [Exercise("1", "A convolutional layer", [setting], parts, [FIG])])
