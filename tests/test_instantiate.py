"""Concrete-size instantiation: a general matrix formula becomes explicit matrices of
scalar expressions in the free inputs, with derivatives computed from the definitions."""

from __future__ import annotations

import pytest
import sympy as sp

import solutions.cv_assignment9 as cv
from answerkey.instantiate import Concrete, entry_symbol
from answerkey.mathfns import D, T, elementwise, mm, sigmoid, softmax
from answerkey.model import Instance

Matrix = sp.ImmutableMatrix


def r(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def test_entry_symbols_are_named_by_1_based_position() -> None:
    assert entry_symbol("x", 2, 0, 1) == r("x_3")
    assert entry_symbol("W1", 0, 1, 3) == r("W1_12")
    assert entry_symbol("W", 0, 9, 12) == r("W_1_10")  # unambiguous from ten columns on


def test_matrix_symbols_get_one_symbol_per_entry_at_the_instances_size() -> None:
    c = Concrete(Instance(sizes=cv.SIZES))
    w1 = c.entries(cv.W1)
    assert w1.shape == (4, 3)
    assert w1[3, 2] == r("W1_43")
    assert c.entries(cv.x) == Matrix([r("x_1"), r("x_2"), r("x_3")])
    assert c.entries(cv.E) == Matrix([[r("E")]])
    assert c.entries(cv.W1) is w1


def test_a_product_is_the_explicit_matrix_product() -> None:
    c = Concrete(Instance(sizes=cv.SIZES))
    assert c.value(mm(cv.W1, cv.x)) == c.entries(cv.W1) * c.entries(cv.x)
    assert c.value(T(cv.W2)) == c.entries(cv.W2).T


def test_definitions_are_substituted_down_to_the_free_inputs() -> None:
    c = Concrete(cv._network("z1"))
    assert not c.is_free(cv.E) and not c.is_free(cv.y2)
    assert c.is_free(cv.z1) and c.is_free(cv.W2)
    y1 = c.value(cv.y1)
    assert y1[0, 0] == sigmoid(r("z1_1"))
    free = {s.name.split("_")[0] for s in c.value(cv.E).free_symbols}
    assert free == {"z1", "W2", "t"}


def test_given_assumptions_replace_inputs() -> None:
    c = Concrete(cv._network("z2"))
    e = c.value(cv.E)[0, 0]
    assert r("t_3") not in e.free_symbols
    assert {r("t_1"), r("t_2")} <= e.free_symbols


def test_the_derivative_is_computed_from_the_definitions_in_the_courses_layout() -> None:
    c = Concrete(cv._network("z2"))
    grad = c.value(D(cv.E, cv.z2))
    assert grad.shape == (1, 3)
    expected = c.value(T(cv.y2 - cv.t))
    point = {r("z2_1"): 0.3, r("z2_2"): -0.7, r("z2_3"): 1.1, r("t_1"): 0.2, r("t_2"): 0.5}
    for got, want in zip(grad, expected, strict=True):
        assert float(got.subs(point)) == pytest.approx(float(want.subs(point)))


def test_the_jacobian_of_a_vector_by_a_vector_is_rows_by_columns() -> None:
    c = Concrete(Instance(sizes=cv.SIZES, defs={cv.y2: softmax(cv.z2)}))
    jac = c.value(D(cv.y2, cv.z2))
    assert jac.shape == (3, 3)
    y = c.value(cv.y2)
    assert sp.simplify(jac[0, 1] + y[0] * y[1]) == 0
    assert sp.simplify(jac[0, 0] - y[0] * (1 - y[0])) == 0


def test_a_scalar_by_a_matrix_has_the_matrixs_shape() -> None:
    c = Concrete(Instance(sizes=cv.SIZES, defs={cv.E: mm(T(cv.t), cv.W2, cv.y1)}))
    g = c.value(D(cv.E, cv.W2))
    assert g.shape == (3, 4)
    assert g[1, 2] == r("t_2") * r("y1_3")


def test_derivatives_stop_at_the_variable_they_are_taken_by() -> None:
    # dE/dy1 must not look through y1's own definition.
    c = Concrete(cv._network("x"))
    g = c.value(D(cv.E, cv.y1))
    assert g.shape == (1, 4)
    assert all(s.name.split("_")[0] in {"W1", "W2", "x", "t"} for s in g.free_symbols)


def test_a_definition_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="definition of z1 has shape"):
        Concrete(Instance(sizes=cv.SIZES, defs={cv.z1: mm(T(cv.x), cv.x)}))


def test_only_symbols_can_be_differentiated_by() -> None:
    c = Concrete(Instance(sizes=cv.SIZES))
    with pytest.raises(TypeError, match="can only differentiate by a symbol"):
        c.entries(cv.W1 * 2)


def test_elementwise_of_a_defined_vector() -> None:
    c = Concrete(Instance(sizes=cv.SIZES, defs={cv.y1: elementwise("sigmoid", cv.z1)}))
    assert c.value(cv.y1)[2, 0] == sigmoid(r("z1_3"))
