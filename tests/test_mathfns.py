"""The SymPy objects exercises are written in: shapes in the course's layout, derivatives,
and products and transposes that stay as written."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from answerkey.instantiate import Concrete
from answerkey.mathfns import (
    D,
    T,
    derivative_shape,
    diag,
    elementwise,
    eq,
    hadamard_ones_minus,
    mm,
    ones_like,
    relu,
    reluprime,
    sigmoid,
    softmax,
    sqnorm,
    to_plain_sympy,
)
from answerkey.model import Instance

u = sp.Symbol("u", real=True)
n, h = sp.symbols("n h", integer=True, positive=True)
x = sp.MatrixSymbol("x", n, 1)
z = sp.MatrixSymbol("z", h, 1)
W = sp.MatrixSymbol("W", h, n)
E = sp.Symbol("E")


# --- layout -----------------------------------------------------------------------


def test_a_scalar_by_a_column_vector_is_a_row() -> None:
    assert D(E, x).shape == (1, n)


def test_a_scalar_by_a_matrix_has_the_matrixs_shape() -> None:
    assert D(E, W).shape == (h, n)


def test_a_vector_by_a_vector_is_a_jacobian_in_numerator_layout() -> None:
    assert D(z, x).shape == (h, n)


def test_a_scalar_by_a_scalar_and_a_1x1_numerator_are_scalars() -> None:
    assert D(E, u).shape == (1, 1)
    assert derivative_shape(mm(T(x), x), x) == (1, n)


def test_a_vector_by_a_matrix_has_no_layout() -> None:
    with pytest.raises(ValueError, match="no layout"):
        derivative_shape(z, W)


def test_a_derivative_stays_unevaluated_and_in_its_place_in_a_product() -> None:
    chain = mm(D(E, z), D(z, x))
    assert chain.args == (D(E, z), D(z, x))
    assert chain.doit().args == (D(E, z), D(z, x))
    assert chain.shape == (1, n)
    with pytest.raises(TypeError, match="instantiate"):
        D(E, x)[0, 0]


# --- functions --------------------------------------------------------------------


def test_sigmoid_has_its_derivative_value_and_exp_form() -> None:
    assert sp.diff(sigmoid(u), u) == sigmoid(u) * (1 - sigmoid(u))
    assert float(sigmoid(sp.Float(0.3)).evalf()) == pytest.approx(1 / (1 + math.exp(-0.3)))
    assert sp.simplify(sigmoid(u).rewrite(sp.exp) - 1 / (1 + sp.exp(-u))) == 0


def test_relu_has_derivative_zero_at_zero() -> None:
    d = sp.diff(relu(u), u)
    assert d.subs(u, 0) == 0
    assert d.subs(u, 2) == 1
    assert d.subs(u, -2) == 0
    assert relu(u).rewrite(sp.Piecewise).subs(u, -3) == 0


def test_elementwise_functions_are_applied_entry_by_entry() -> None:
    c = Concrete(Instance(sizes={h: 2}))
    assert list(c.value(elementwise("sigmoid", z))) == [
        sigmoid(sp.Symbol("z_1", real=True)),
        sigmoid(sp.Symbol("z_2", real=True)),
    ]
    assert list(c.value(elementwise("tanh", z))) == [
        sp.tanh(sp.Symbol("z_1", real=True)),
        sp.tanh(sp.Symbol("z_2", real=True)),
    ]
    with pytest.raises(ValueError, match="unknown elementwise function 'swish'"):
        elementwise("swish", z)


def test_softmax_columns_are_distributions() -> None:
    c = Concrete(Instance(sizes={h: 3}))
    s = c.value(softmax(z))
    assert sp.simplify(sum(s) - 1) == 0
    batch = sp.MatrixSymbol("Z", 3, 2)
    sb = Concrete(Instance()).value(softmax(batch))
    assert sp.simplify(sb[0, 1] + sb[1, 1] + sb[2, 1] - 1) == 0
    assert sb[0, 0].free_symbols.isdisjoint(sb[0, 1].free_symbols)


def test_sqnorm_diag_and_ones_minus_at_a_concrete_size() -> None:
    c = Concrete(Instance(sizes={n: 2, h: 2}))
    w = c.entries(W)
    assert c.value(sqnorm(W))[0, 0] == sum(e**2 for e in w)
    z1, z2 = c.entries(z)
    assert c.value(diag(z)) == sp.ImmutableMatrix([[z1, 0], [0, z2]])
    assert c.value(hadamard_ones_minus(z)) == sp.ImmutableMatrix([[1 - z1], [1 - z2]])
    assert ones_like(z).shape == (h, 1)
    assert diag(z).shape == (h, h)


# --- written as written -----------------------------------------------------------


def test_T_keeps_the_transpose_on_the_whole_expression() -> None:
    y = sp.MatrixSymbol("y", n, 1)
    t = sp.MatrixSymbol("t", n, 1)
    kept = T(y - t)
    assert isinstance(kept.doit(), T)
    assert isinstance(sp.Transpose(y - t).doit(), sp.MatAdd)  # what SymPy would do


def test_mm_keeps_order_and_grouping() -> None:
    A = sp.MatrixSymbol("A", n, n)
    B = sp.MatrixSymbol("B", n, n)
    assert mm(A, B).args == (A, B)
    assert mm(B, A).args == (B, A)
    assert mm(A, B) != mm(B, A)


def test_eq_is_never_evaluated() -> None:
    e = eq(u, u)
    assert isinstance(e, sp.Equality)
    assert e.lhs == e.rhs == u


# --- plain SymPy ------------------------------------------------------------------


def test_to_plain_sympy_gives_a_string_sympify_reads_back() -> None:
    for expr in [sigmoid(u) * (1 - sigmoid(u)), relu(u) + 1, sp.log(1 + sp.exp(-u))]:
        plain = to_plain_sympy(expr)
        back = sp.sympify(str(plain))
        for value in (-1.3, 0.2, 2.0):
            got = float(back.subs(sp.Symbol("u"), value))
            assert got == pytest.approx(float(plain.subs(u, value)))


def test_to_plain_sympy_writes_our_matrix_objects_in_sympys_own() -> None:
    assert to_plain_sympy(T(x)) == sp.Transpose(x)
    assert type(to_plain_sympy(T(x))) is sp.Transpose
    with pytest.raises(ValueError, match="softmax has no plain SymPy form"):
        to_plain_sympy(softmax(z))


def test_reluprime_prints_as_relu_prime_and_is_the_step_with_zero_at_zero() -> None:
    from answerkey.printing import latex

    assert latex(reluprime(u)) == r"\operatorname{{relu}'}{\left(u \right)}"
    step = sp.lambdify(u, reluprime(u))
    assert [float(step(v)) for v in (-0.5, 0.0, 0.5)] == [0.0, 0.0, 1.0]
    assert sp.diff(relu(u), u).subs(u, 0) == 0


def test_eq_with_a_printed_number_keeps_the_number_as_a_pair() -> None:
    from answerkey import numbers, printing
    from answerkey.mathfns import eq, named
    from answerkey.model import Part, text

    x = sp.Symbol("x")
    rate = numbers.given(0.6, "rate", exact=True)
    assert eq(x, rate) == (x, rate) and eq(rate, x) == (rate, x)
    assert isinstance(eq(x, 2 * x), sp.Eq)
    assert printing.latex(eq(x, rate)) == "x = 0.6"
    # the audit sees a given number where SymPy would have made it a bare Float
    part = Part("p", "t", [text("Take", eq(x, rate), ".")])
    assert numbers.check_part("demo", part)[0].detail.startswith("1 printed numbers: 1 given")
    assert named(D(x, sp.MatrixSymbol("W1", 2, 2))) == "∂x/∂W1"
