"""answerkey.kit.chain: a scalar chain's derivations verify, read as the textbook's, and a
wrong result or a wrong recursion is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from answerkey.errors import VerificationError
from answerkey.kit import checks
from answerkey.kit.chain import ScalarChain, Unit
from answerkey.mathfns import D
from answerkey.model import Step
from answerkey.printing import prose
from answerkey.verify import verify_derivation

g_1, gprime_1 = checks.arbitrary("g_1", sp.tanh)
g_2, gprime_2 = checks.arbitrary("g_2", lambda u: sp.sin(u) + 2 * u)
x, v_1, a_1, b_1, v_2, a_2, b_2, t, E = sp.symbols("x v_1 a_1 b_1 v_2 a_2 b_2 t E")
d_1, d_2 = sp.symbols("d_1 d_2")
U1, U2 = Unit(v_1, a_1, b_1, g_1, gprime_1, d_1), Unit(v_2, a_2, b_2, g_2, gprime_2, d_2)
CHAIN = ScalarChain(x, [U1, U2], t, E)


def _verify(d: object) -> None:
    verify_derivation("here", d, np.random.default_rng(0))  # type: ignore[arg-type]


def test_the_chain_is_defined_from_the_input_on_and_read_from_the_output_back() -> None:
    assert list(CHAIN.defs) == [a_1, b_1, a_2, b_2, E]
    assert CHAIN.defs[a_2] == v_2 * b_1 and CHAIN.defs[E] == (b_2 - t) ** 2 / 2
    assert [lhs for lhs, _ in CHAIN.links] == [b_2, a_2, b_1, a_1]
    assert CHAIN.signals == {d_2: (b_2 - t) * gprime_2(a_2), d_1: gprime_1(a_1) * v_2 * d_2}
    assert CHAIN.weights == [(v_2, d_2, b_1), (v_1, d_1, x)]


def test_each_gradient_verifies_and_names_its_links() -> None:
    top, bottom = CHAIN.gradient(v_2), CHAIN.gradient(v_1)
    for d in (top, bottom):
        _verify(d)
    assert top.steps[-1].expr == (b_2 - t) * gprime_2(a_2) * b_1
    assert bottom.steps[-1].expr == (b_2 - t) * gprime_2(a_2) * v_2 * gprime_1(a_1) * x
    reasons = [prose(s.reason, "md") for s in top.steps]
    assert reasons[1] == "chain rule through $a_{2}$"
    assert "and" in reasons[2]  # two links: both named
    assert prose(bottom.steps[1].reason, "md") == "chain rule through every link"
    assert prose(bottom.steps[2].reason, "md") == "derivative of each link"
    with pytest.raises(ValueError, match="not a weight"):
        CHAIN.gradient(x)


def test_the_signals_and_the_local_rule_verify_and_a_wrong_recursion_is_refused() -> None:
    for d in [CHAIN.signal(U2), CHAIN.signal(U1), CHAIN.local(v_1), CHAIN.local(v_2)]:
        _verify(d)
    assert CHAIN.local(v_1).steps[-1].expr == d_1 * x
    d = CHAIN.signal(U1)
    wrong = Step(gprime_1(a_1) * d_2, d.steps[1].reason)  # the weight left out
    with pytest.raises(VerificationError):
        _verify(dataclasses.replace(d, steps=(d.steps[0], wrong, d.steps[2])))


def test_the_activation_check_passes_the_gradient_and_refuses_a_dropped_factor() -> None:
    right = CHAIN.gradient(v_1).steps[-1].expr
    records = CHAIN.check("here", right, v_1)
    assert [r.subject for r in records] == [
        "result with g_1, g_2 = sigmoid, sigmoid",
        "result with g_1, g_2 = tanh, tanh",
        "result with g_1, g_2 = ReLU, ReLU",
        "result with g_1, g_2 = tanh, sigmoid",
    ]
    with pytest.raises(VerificationError, match="here: with f = "):
        CHAIN.check("here", right / v_2, v_1)
    assert D(E, v_1) == CHAIN.gradient(v_1).lhs


def test_a_part_asks_for_the_gradient_and_checks_it_with_concrete_activations() -> None:
    part = CHAIN.part("p", "title", v_1, "here", [CHAIN.local(v_1)])
    assert prose(part.question[0], "md") == r"Give $\frac{\partial E}{\partial v_{1}}$."
    assert part.derivations[0].steps[-1].expr == CHAIN.gradient(v_1).steps[-1].expr
    assert len(part.derivations) == 2
    (check,) = part.numeric_checks
    assert len(check()) == 4


def test_the_rule_checks_pass_the_local_rule_and_refuse_another() -> None:
    theta, delta, z = sp.symbols("theta delta z")
    rule = [-theta * delta * z]
    found = CHAIN.rule_checks("here", lambda: rule[0], theta, (delta, z))
    assert [r.kind for check in found for r in check()] == ["symbolic"] + ["finite-difference"] * 2
    for wrong in (theta * delta * z, -theta * delta):
        rule[0] = wrong
        for check in found:
            with pytest.raises(VerificationError, match="here"):
                check()
