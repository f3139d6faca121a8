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
from answerkey.model import Part, Step, text
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
    part = CHAIN.part("p", "title", v_1, [CHAIN.local(v_1)], where="here")
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


def test_the_recursion_is_the_signals_from_the_output_back_then_the_local_rules() -> None:
    found = CHAIN.recursion()
    assert [d.lhs for d in found] == [D(E, a_2), D(E, a_1), D(E, v_2), D(E, v_1)]
    for d in found:
        _verify(d)


def test_the_local_identity_is_checked_at_each_weight() -> None:
    from answerkey import relations

    w, delta, z = sp.symbols("w_ij delta_j z_i")
    ok = CHAIN.local_identity(w, delta, z)
    assert [dict(c)[w] for c in ok.cases] == [v_2, v_1]  # as `weights`, the output's first
    assert [dict(c)[delta] for c in ok.cases] == [d_2, d_1]
    assert [dict(c)[z] for c in ok.cases] == [b_1, x]
    part = Part("p", "t", [text("Q.")], remarks=[text(ok)])
    assert "each of its 2 cases" in relations.check_part("a", part)[0].detail
    first = tuple((k, d_1 if k == delta else v) for k, v in ok.cases[0])  # v_2 with d_1
    wrong = dataclasses.replace(ok, cases=(first, *ok.cases[1:]))
    with pytest.raises(VerificationError, match="does not hold"):
        relations.check_part("a", Part("p", "t", [text("Q.")], remarks=[text(wrong)]))


def test_a_stated_rule_is_the_answer_and_checked_first() -> None:
    theta, delta, z, rule = sp.symbols("theta delta z Delta_w")
    asked = CHAIN.part("p", "title", v_1, where="here")
    (gradient_check,) = asked.numeric_checks
    part = CHAIN.state_rule(asked, rule, theta, (delta, z), where="here")
    assert asked.answer is None and len(asked.numeric_checks) == 1  # left as it was
    assert (part.answer_lhs, part.answer) == (rule, -theta * delta * z)
    assert len(part.numeric_checks) == 3 and part.numeric_checks[-1] is gradient_check
    part.answer = theta * delta * z  # the checks read the part's answer when they run
    with pytest.raises(VerificationError, match="here"):
        part.numeric_checks[0]()
