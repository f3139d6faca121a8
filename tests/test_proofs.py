"""Symbolic proofs: a sigmoid identity is a rational identity, a wrong entry is refused, and
a backprop step is proved without expanding the whole network."""

from __future__ import annotations

import sympy as sp

import solutions.cv_assignment9 as cv
from answerkey.instantiate import Concrete, Matrix
from answerkey.kit.writing import proved_small
from answerkey.mathfns import D, T, sigmoid
from answerkey.proofs import prove_equal, prove_lazy, rational_zero

x, y, u = sp.symbols("x y u", real=True)


# --- prove_equal ------------------------------------------------------------------


def test_prove_equal_reads_sigmoid_identities_as_rational_identities() -> None:
    left = Matrix([[sigmoid(u) * (1 - sigmoid(u))]])
    right = Matrix([[sp.exp(-u) / (1 + sp.exp(-u)) ** 2]])
    assert prove_equal(left, right) == "rational identity"
    assert prove_equal(Matrix([[sp.log(1 + sp.exp(-u))]]), Matrix([[-sp.log(sigmoid(u))]]))


def test_prove_equal_refuses_unequal_entries() -> None:
    assert prove_equal(Matrix([[x, y]]), Matrix([[x, y + 1]])) is None
    assert prove_equal(Matrix([[sigmoid(u)]]), Matrix([[1 - sigmoid(u)]])) is None


def test_prove_equal_falls_back_to_simplify() -> None:
    assert prove_equal(Matrix([[sp.sin(x) ** 2 + sp.cos(x) ** 2]]), Matrix([[1]])) == "simplify"


def test_prove_lazy_proves_a_backprop_step_without_expanding_the_whole_network() -> None:
    c = Concrete(proved_small(cv.E, cv._network("x"))[-1])
    chain = c.lazy(D(cv.E, cv.z2))
    step = c.lazy(T(cv.y2 - cv.t))
    assert prove_lazy(c, chain, step) == "rational identity"
    # An identity in z2 needs y2 = softmax(z2) and t summing to one; nothing below.
    ex, ey = c.align(c.expand_from(chain[0, 0], 3), c.expand_from(step[0, 0], 3))
    assert {s.name.split("_")[0] for s in ex.free_symbols | ey.free_symbols} == {"z2", "t"}


def test_prove_lazy_refuses_what_holds_only_at_some_points() -> None:
    c = Concrete(proved_small(cv.E, cv._network("x"))[-1])
    chain = c.lazy(D(cv.E, cv.z2))
    assert prove_lazy(c, chain, c.lazy(T(cv.y2 + cv.t))) is None
    assert prove_lazy(c, chain, c.lazy(T(cv.y2))) is None
    # y1 is sigmoid(z1), not z1: equal only if the definitions were other than they are
    assert prove_lazy(c, c.lazy(cv.y1), c.lazy(cv.z1)) is None


def test_rational_zero_decides_rational_identities_without_a_gcd() -> None:
    p, q = sp.symbols("p q", positive=True)
    assert rational_zero(1 / (1 + p) - p / (p + p**2)) is True
    assert rational_zero((p + q) ** 2 / (p * q) - p / q - q / p - 2) is True
    assert rational_zero(1 / (1 + p) - 1 / (2 + p)) is False
    assert rational_zero(p / (p + q) + q / (p + q) - 1) is True
    assert rational_zero(p / (p + q) + q / (p + q)) is False


def test_rational_zero_leaves_what_is_not_a_rational_function_to_sympy() -> None:
    p = sp.Symbol("p", positive=True)
    assert rational_zero(sp.sqrt(p) - sp.sqrt(p)) is True  # SymPy cancels it when built
    assert rational_zero(sp.sqrt(p) + 1) is None
    assert rational_zero(sp.Float(0.5) * p + 1) is None
    assert rational_zero(sp.sin(p)) is None
