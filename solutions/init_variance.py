"""The variance of a unit's input at initialisation: n V_w V_x, Xavier's and He's
choices of V_w that keep it, and the numbers for a layer of a given width."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from answerkey import relations, worked
from answerkey.kit import init
from answerkey.kit.writing import derive, say
from answerkey.model import Assignment, Exercise, Part, text
from answerkey.terms import between, integer

ID = "init-variance"
TITLE = "Initialisation variance: Xavier and He"
PARAMETERS: dict[str, Any] = {"n": 256}
CONSTRAINTS = {"n": [integer(), between(1, 10000)]}

n, Vz, Vw, Vx, Vp = init.n, init.V_z, init.V_w, init.V_x, init.V_p
SIZES = (3, 4)


def instances(relu: bool = False, scheme: Any = None) -> list[Any]:
    return [init.instance(k, relu, scheme) for k in SIZES]


def part_a() -> Part:
    step = (n * Vw * Vx, "independent terms of mean 0: the cross terms vanish")
    ask = say(
        "A unit sums {} inputs of variance {} with weights of variance {}, all independent and "
        "of mean 0. Give the variance {} of the sum.",
        n,
        Vx,
        Vw,
        Vz,
    )
    fact = say(
        "The expectation is taken exactly: weights and inputs are plus or minus their standard "
        "deviation with equal chances, every case averaged at {} and {}.",
        *(relations.assumption(n, k) for k in SIZES),
    )
    return Part(
        "a", "the variance of a sum", [ask], [derive(Vz, [step], instances())], facts=[fact]
    )


def part_b() -> Part:
    steps = [(n * Vw * Vx, "part (a)"), (Vx, "Xavier: the weight variance is 1/n")]
    ask = say(
        "Show that Xavier's choice {} keeps the variance.", relations.definition(Vw, init.XAVIER)
    )
    return Part("b", "Xavier", [ask], [derive(Vz, steps, instances(scheme=init.XAVIER))])


def part_c() -> Part:
    steps = [
        (n * Vw * Vp / 2, "a ReLU of a symmetric input keeps half its second moment"),
        (Vp, "He: the weight variance is 2/n"),
    ]
    ask = say(
        "The inputs are {} of symmetric pre-activations of variance {}. Show that He's choice {} "
        "keeps the variance.",
        sp.Function("relu")(sp.Symbol("p")),
        Vp,
        relations.definition(Vw, init.HE),
    )
    return Part("c", "He", [ask], [derive(Vz, steps, instances(relu=True, scheme=init.HE))])


def part_d(p: Mapping[str, Any]) -> Part:
    width = worked.given(p["n"], "n", exact=True)
    xavier = worked.value("Xavier", sp.Symbol("sigma_Xavier"), sp.sqrt(init.XAVIER), {n: width})
    he = worked.value("He", sp.Symbol("sigma_He"), sp.sqrt(init.HE), {n: width})
    ask = say("For a layer with {} inputs, give the weights' standard deviation under each.", width)
    blocks = [xavier.block(text("Xavier")), he.block(text("He"))]
    return Part(
        "d", "a layer's numbers", [ask], blocks=blocks, numeric_checks=worked.attach(xavier, he)
    )


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """A width a network would use: a multiple of 16 up to 1024."""
    return {"n": int(16 * rng.integers(2, 65))}


def build(params: Mapping[str, Any]) -> Assignment:
    intro = say(
        "A layer's units each sum {} weighted inputs; its weights are drawn independently with "
        "mean 0.",
        n,
    )
    parts = [part_a(), part_b(), part_c(), part_d(params)]
    notation = {"sigma_Xavier": r"\sigma_{\mathrm{Xavier}}", "sigma_He": r"\sigma_{\mathrm{He}}"}
    return Assignment(
        ID, TITLE, [Exercise("1", "Initialisation", [intro], parts)], notation=notation
    )
