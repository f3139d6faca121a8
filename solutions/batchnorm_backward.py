"""Batch normalisation of one feature over a mini-batch of four: the forward pass, the backward
pass in compact form (derived, then at given numbers) and the running statistics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from answerkey import relations, worked
from answerkey.kit import norm
from answerkey.kit.writing import listed, say
from answerkey.mathfns import D, T, eq
from answerkey.model import Assignment, Exercise, Part, text
from answerkey.terms import between, positive

ID = "batchnorm-backward"
TITLE = "Batch normalisation forward and backward"
PARAMETERS: dict[str, Any] = {"x": [1.0, 2.0, 4.0, 5.0], "g": [0.1, -0.2, 0.3, 0.4]}
PARAMETERS |= {"gamma": 2.0, "beta": 0.5, "epsilon": 0.01}
PARAMETERS |= {"rho": 0.9, "mu_run": 0.0, "sigma2_run": 1.0, "x_test": 2.0}
CONSTRAINTS = {k: between(-10, 10) for k in ("x.*", "g.*", "gamma", "beta", "mu_run", "x_test")}
CONSTRAINTS |= {"epsilon": [positive(), between(0, 1)], "rho": between(0, 1)}
CONSTRAINTS |= {"sigma2_run": [positive(), between(0, 100)]}

BN = norm.Normalisation()
x, g, z, y, mu, sigma2, s = BN.x, BN.g, BN.z, BN.y, BN.mu, BN.sigma2, BN.s
gamma, beta, E, m = BN.gamma, BN.beta, BN.E, BN.m
GRADIENTS = [D(E, x), D(E, gamma), D(E, beta)]
AT4, SYMBOLS = BN.instance(4), BN.symbols()
FORWARD = ["x", "gamma", "beta", "epsilon", "g"]


def given(params: Mapping[str, Any], names: list[str]) -> dict[Any, Any]:
    return {SYMBOLS[n]: worked.given(params[n], n, exact=True) for n in names}


def part_a(params: Mapping[str, Any]) -> Part:
    shown = [mu, sigma2, s, z, y]
    ex = worked.example("forward pass", AT4, given(params, FORWARD[:-1]), shown, BN.oracle)
    ask, blocks = say("Compute {}, {}, {}, {} and {}.", *shown), [ex.block(text("forward pass"))]
    return Part("a", "the forward pass", [ask], blocks=blocks, numeric_checks=worked.attach(ex))


def part_b() -> Part:
    arriving = relations.notation(g, T(D(E, y)))
    ask = say("With {} the gradient arriving at {}, derive {}, {} and {}.", arriving, y, *GRADIENTS)
    words = "Write {} and {}. The path from {} through {} vanishes: the centred values sum to 0."
    fact, derivations = say(words, *BN.means(), mu, sigma2), BN.derivations([BN.instance(3), AT4])
    return Part("b", "the backward pass", [ask], derivations, facts=[fact])


def part_c(params: Mapping[str, Any]) -> Part:
    at = given(params, FORWARD)
    ex = worked.example("gradients", AT4, at, GRADIENTS, BN.oracle)
    ask = say("Evaluate them at the numbers of (a) with {}.", eq(g, at[g]))
    blocks = [ex.block(text("gradients"))]
    return Part("c", "at the numbers", [ask], blocks=blocks, numeric_checks=worked.attach(ex))


def part_d(params: Mapping[str, Any]) -> Part:
    at = given(params, [*FORWARD[:-1], "rho", "mu_run", "sigma2_run", "x_test"])
    inst, new = norm.running(BN, 4), [norm.MU_NEW, norm.VAR_NEW, norm.Y_TEST]
    ex = worked.example("running statistics", inst, at, new, norm.running_oracle)
    rules = listed([relations.definition(k, inst.defs[k]) for k in new], sep=";")
    start = listed([eq(k, at[k]) for k in (norm.RHO, norm.MU_RUN, norm.VAR_RUN, norm.X_TEST)])
    ask = say(
        "With {}, update the running statistics and normalise {} at test time: {}.",
        start,
        norm.X_TEST,
        rules,
    )
    layer = "Layer normalisation is the same computation over the features of one sample, so its "
    layer += "backward pass is the compact form of (b) with {} the number of features."
    kw = {"blocks": [ex.block(text("after this batch"))], "remarks": [say(layer, m)]}
    return Part("d", "running statistics", [ask], **kw, numeric_checks=worked.attach(ex))


def instructive(params: Mapping[str, Any]) -> list[str]:
    """Values too close together make s tiny; an upstream gradient of 0 teaches nothing."""
    spread = float(np.std(params["x"]))
    return ["the values hardly differ"] * (spread < 0.5) + ["g is 0"] * (not np.any(params["g"]))


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """Whole-number values, an upstream gradient in tenths, gamma and beta in halves."""
    x_ = sorted(rng.choice(np.arange(-4, 7), size=4, replace=False).astype(float).tolist())
    g_ = (rng.integers(-5, 6, size=4) / 10).tolist()
    gamma_, beta_ = float(rng.integers(1, 5)) / 2, float(rng.integers(-2, 3)) / 2
    return {**PARAMETERS, "x": x_, "g": g_, "gamma": gamma_, "beta": beta_}


def build(params: Mapping[str, Any]) -> Assignment:
    at = given(params, FORWARD[:-1])
    words = "Batch normalisation takes the values {} of a single feature over a mini-batch of "
    words += "{} values to {}: {}. Here {}."
    intro = say(
        words,
        x,
        m,
        y,
        listed(BN.statements(), sep=";"),
        listed([eq(k, v) for k, v in at.items()], last="and"),
    )
    parts = [part_a(params), part_b(), part_c(params), part_d(params)]
    exercise = Exercise("1", "Batch normalisation", [intro], parts)
    return Assignment(ID, TITLE, [exercise], notation=norm.NOTATION)
