"""answerkey.kit.checks: arbitrary functions stay opaque to proofs, and each check passes a
right result and refuses a wrong one (a dropped factor, a flipped sign, a foreign symbol)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from answerkey.errors import VerificationError
from answerkey.kit import checks
from answerkey.kit.writing import derive
from answerkey.mathfns import D
from answerkey.model import Instance
from answerkey.verify import verify_derivation

g_1, gprime_1 = checks.arbitrary("g_1", sp.tanh)
g_2, gprime_2 = checks.arbitrary("g_2", lambda u: sp.sin(u) + 2 * u)
x, w, v, s, a, r, y, t, L = sp.symbols("x w v s a r y t L")
theta, delta, z = sp.symbols("theta delta z")
DEFS = {s: w * x, a: g_1(s), r: v * a, y: g_2(r), L: (y - t) ** 2 / 2}
CHAIN = Instance(defs=DEFS, label="a two-link chain")
FUNCTIONS = ((g_1, gprime_1), (g_2, gprime_2))
SETS = (("sigmoid", "tanh"), ("ReLU", "ReLU"))
DOMAIN = {"x": (0.2, 1.5), "w": (0.2, 1.5), "v": (0.2, 1.5), "t": (-1.0, 1.0)}
RIGHT = (y - t) * gprime_2(r) * v * gprime_1(s) * x


def test_an_arbitrary_function_prints_its_derivative_and_differentiates_to_it() -> None:
    assert sp.diff(g_1(s), s) == gprime_1(s)
    assert type(gprime_1(s)).__name__ == "g_1".replace("_", "prime_")
    # numeric stand-in: tanh and its derivative
    assert float(gprime_1(sp.Float(0.3)).evalf()) == pytest.approx(1 - np.tanh(0.3) ** 2)


def test_a_proof_with_arbitrary_functions_holds_and_a_confused_derivative_is_refused() -> None:
    right = derive(D(L, w), [(RIGHT, "chain rule")], [CHAIN])
    verify_derivation("right", right, np.random.default_rng(0))
    wrong = derive(
        D(L, w), [((y - t) * gprime_1(r) * v * gprime_1(s) * x, "g_1' for g_2'")], [CHAIN]
    )
    with pytest.raises(VerificationError):
        verify_derivation("wrong", wrong, np.random.default_rng(0))


def test_the_activations_check_passes_the_gradient_and_refuses_each_dropped_factor() -> None:
    records = checks.activations_check("here", RIGHT, CHAIN, L, w, FUNCTIONS, SETS, DOMAIN)
    assert [r.subject for r in records] == [
        "result with g_1, g_2 = sigmoid, tanh",
        "result with g_1, g_2 = ReLU, ReLU",
    ]
    for i in range(len(RIGHT.args)):
        dropped = sp.Mul(*(RIGHT.args[:i] + RIGHT.args[i + 1 :]))
        with pytest.raises(VerificationError, match="here: with f = "):
            checks.activations_check("here", dropped, CHAIN, L, w, FUNCTIONS, SETS, DOMAIN)
    with pytest.raises(VerificationError, match="unexpected symbols"):
        checks.activations_check("here", RIGHT * sp.Symbol("q"), CHAIN, L, w, FUNCTIONS, SETS)


def test_the_update_rule_check_wants_minus_the_rate_times_each_gradient() -> None:
    d_v = derive(D(L, v), [((y - t) * gprime_2(r) * a, "chain rule")], [CHAIN])
    d_w = derive(D(L, w), [(RIGHT, "chain rule")], [CHAIN])
    signal = (y - t) * gprime_2(r)
    cases = [(d_v, (signal, a)), (d_w, (signal * v * gprime_1(s), x))]
    (record,) = checks.update_rule_check("here", -theta * delta * z, theta, (delta, z), cases)
    assert "for each of the 2 weights" in record.detail
    for wrong in (theta * delta * z, -theta * delta, -theta * delta * z * x):
        with pytest.raises(VerificationError, match="here: the stated"):
            checks.update_rule_check("here", wrong, theta, (delta, z), cases)


def test_the_backprop_rule_check_passes_the_delta_rule_and_refuses_others() -> None:
    records = checks.backprop_rule_check("here", -theta * delta * z, theta, delta, z)
    assert [r.subject for r in records] == [
        "backward rule on a 2-3-2-1 sigmoid network",
        "backward rule on a 2-3-2-1 tanh network",
    ]
    for wrong in (theta * delta * z, -theta * delta * z**2, -theta * delta, -theta * x * z):
        with pytest.raises(VerificationError, match="here: "):
            checks.backprop_rule_check("here", wrong, theta, delta, z, sizes=(3, 2, 1))


def test_inactive_is_where_a_relu_does_not_fire() -> None:
    from answerkey import relations
    from answerkey.mathfns import relu, reluprime

    s, z = sp.symbols("s_j z_j")
    off = checks.inactive(s, {z: relu(s)})
    assert off.label == "s_j < 0" and off.domain == {"s_j": (-1.5, -0.01)}
    rng = np.random.default_rng(0)
    assert relations.check(z, 0, [off], rng) and relations.check(reluprime(s), 0, [off], rng)
    with pytest.raises(ValueError):
        relations.check(z, s, [off], rng)  # z = s only where it fires
