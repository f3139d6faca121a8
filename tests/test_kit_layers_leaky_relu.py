"""kit.layers.leaky_relu: a new activation in one file works everywhere a layer does: its
oracle, its verified Jacobian fragment, and generated derivations through it."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from answerkey import kit, printing
from answerkey.errors import VerificationError
from answerkey.kit.layers.leaky_relu import LeakyReLU, leaky_relu, lrelu
from answerkey.mathfns import D
from answerkey.verify import verify_derivation

n, h, K = sp.symbols("n h K", integer=True, positive=True)
NET = kit.Network(n, [kit.linear(h), leaky_relu(), kit.linear(K)], kit.squared_error())


def test_its_oracle_matches_its_definition_and_backward() -> None:
    z = np.array([[1.5], [-2.0], [0.3]])
    assert leaky_relu().forward(z, {}) == pytest.approx(np.array([[1.5], [-0.2], [0.3]]))
    g = np.array([[1.0], [1.0], [2.0]])
    assert leaky_relu().backward(z, z, {}, g)[0] == pytest.approx(np.array([[1.0], [0.1], [2.0]]))
    assert lrelu(sp.Symbol("u")).diff(sp.Symbol("u")) != 0  # differentiates through fdiff


def test_its_jacobian_fragment_is_verified_and_a_wrong_one_refused() -> None:
    assert {"numeric", "symbolic"} <= {r.kind for r in LeakyReLU().jacobian_fragment().verify()}

    class Wrong(LeakyReLU):
        kind = "leaky_relu_wrong_for_the_test"

        def derivative(self, z, y):  # type: ignore[no-untyped-def]
            return 2 * super().derivative(z, y)

    with pytest.raises(VerificationError):
        Wrong().jacobian_fragment().verify()


def test_generated_derivations_through_it_verify_and_print_its_name() -> None:
    for lhs in (D(NET["E"], NET["W1"]), D(NET["E"], NET["b1"])):
        d = NET.derivation(lhs, [{n: 2, h: 3, K: 2}, {n: 3, h: 2, K: 4}])
        kinds = {r.kind for r in verify_derivation("leaky", d, np.random.default_rng(0))}
        assert {"symbolic", "finite-difference"} <= kinds
    latex = printing.latex(NET.steps(D(NET["E"], NET["W1"]))[-1].expr, NET.notation)
    assert r"\operatorname{lrelu}'\left(z^{(1)}\right)" in latex


def test_the_figure_draws_its_glyph() -> None:
    drawing = NET.figure(sizes={n: 2, h: 3, K: 2}).draw()
    assert r"\mathrm{lReLU}" in drawing.tikz and "leaky ReLU" in drawing.alt
