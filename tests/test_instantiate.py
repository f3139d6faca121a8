"""Concrete-size instantiation: a general matrix formula becomes explicit matrices of
scalar expressions in the free inputs, with derivatives computed from the definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import solutions.cv_assignment9 as cv
from answerkey.instantiate import Concrete, entry_symbol, numeric_function, tree_function
from answerkey.kit.writing import proved_small
from answerkey.mathfns import D, T, elementwise, mm, sigmoid, softmax
from answerkey.model import Instance
from answerkey.proofs import prove_equal

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
    assert w1.shape == (4, 2)
    assert w1[3, 1] == r("W1_42")
    assert c.entries(cv.x) == Matrix([r("x_1"), r("x_2")])
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


# --- the lazy form: defined variables stay symbols, D by the chain rule ---------


def _agree_numerically(c: Concrete, a: Matrix, b: Matrix, points: int = 5) -> bool:
    env = c.sample([a, b], points, np.random.default_rng(0), (-1.0, 1.0))
    return bool(np.allclose(c.evaluate(a, env, points), c.evaluate(b, env, points)))


def test_the_lazy_form_keeps_defined_variables_as_their_entry_symbols() -> None:
    c = Concrete(cv._network("x"))
    assert c.lazy(cv.y2) == c.entries(cv.y2)
    assert c.lazy(mm(T(cv.W2), cv.y2 - cv.t)) == c.entries(cv.W2).T * (
        c.entries(cv.y2) - c.entries(cv.t)
    )


@pytest.mark.parametrize("by", ["W1", "W2", "z1", "y1", "z2"])
def test_the_chain_rule_derivative_equals_the_derivative_of_the_expansion(by: str) -> None:
    c = Concrete(proved_small(cv.E, cv._network("x"))[-1])
    x = {"W1": cv.W1, "W2": cv.W2, "z1": cv.z1, "y1": cv.y1, "z2": cv.z2}[by]
    lazy = c.lazy(D(cv.E, x))
    assert any(s in c.nodes for s in lazy.free_symbols)  # still written in the layers
    assert lazy.shape == c.value(D(cv.E, x)).shape
    direct = c.value(D(cv.E, x))
    assert _agree_numerically(c, lazy, direct)
    assert not _agree_numerically(c, lazy, 2 * direct)  # the comparison can fail
    if by == "W2":  # expanded all the way, it is the derivative of the expansion
        expanded = Matrix(c.expand_from(lazy, 0))
        assert prove_equal(expanded, direct) is not None


def test_expanding_from_rank_zero_substitutes_every_definition_and_assumption() -> None:
    c = Concrete(cv._network("z2"))
    e = c.expand_from(c.lazy(cv.E)[0, 0], 0)
    assert e == c.value(cv.E)[0, 0]
    assert r("t_3") not in e.free_symbols
    top = c.ranks()[0]
    assert c.expand_from(c.lazy(cv.E)[0, 0], top) == r("E")


def test_align_writes_both_sides_in_the_same_variables() -> None:
    c = Concrete(cv._network("x"))
    a, b = c.align(r("y1_1"), sigmoid(r("z1_1")))
    assert a == b == sigmoid(r("z1_1"))


def test_sample_evaluates_every_definition_and_fixed_values_win() -> None:
    c = Concrete(cv._network("x"))
    rng = np.random.default_rng(1)
    env = c.sample([c.lazy(cv.E)], 4, rng, (-1.0, 1.0))
    z1 = c.evaluate(c.entries(cv.z1), env, 4)
    w1, x = c.evaluate(c.entries(cv.W1), env, 4), c.evaluate(c.entries(cv.x), env, 4)
    assert np.allclose(z1, w1 @ x)
    assert np.allclose(env[r("t_3")], 1 - env[r("t_1")] - env[r("t_2")])
    moved = {s: env[s] for s in env if s not in c.nodes}
    moved.update({e: np.full(4, 0.5) for e in c.entries(cv.z1)})
    again = c.sample([c.lazy(cv.E)], 4, rng, (-1.0, 1.0), fixed=moved)
    y1 = c.evaluate(c.entries(cv.y1), again, 4)
    assert np.allclose(y1, 1 / (1 + np.exp(-0.5)))


def test_reached_only_evaluates_just_the_definitions_a_value_depends_on() -> None:
    c = Concrete(cv._network("x"))
    z1 = c.lazy(cv.z1)  # the first layer: y1 = sigmoid(z1) is not needed for it
    rng = np.random.default_rng(2)
    some = c.sample([z1], 3, rng, (-1.0, 1.0), reached_only=True)
    every = c.sample([z1], 3, np.random.default_rng(2), (-1.0, 1.0))
    assert set(c.entries(cv.z1)) <= set(some)
    assert not set(c.entries(cv.y1)) & set(some)
    assert set(c.entries(cv.y1)) <= set(every)
    assert np.array_equal(c.evaluate(z1, some, 3), c.evaluate(z1, every, 3))


def test_inputs_are_the_same_when_asked_again_and_a_caller_cannot_change_them() -> None:
    c = Concrete(cv._network("x"))
    e = c.lazy(cv.E)
    first = c.inputs(e)
    first.clear()
    assert c.inputs(e) == c.inputs(e) and c.inputs(e)
    assert sp.Symbol("x_1", real=True) in c.inputs(e)


def test_evaluate_names_a_symbol_without_values() -> None:
    c = Concrete(cv._network("x"))
    with pytest.raises(KeyError, match="no values for W1_11"):
        c.evaluate(c.entries(cv.W1), {}, 1)


def test_functions_implemented_by_a_lambda_take_arrays() -> None:
    from answerkey.instantiate import numeric_function

    u = sp.Symbol("u")
    f = type("f_demo", (sp.Function,), {"nargs": 1, "_imp_": sp.Lambda(u, sp.tanh(u))})
    fn = numeric_function([u], [f(u) + 1])
    assert np.allclose(fn(np.array([0.0, 1.0]))[0], np.tanh([0.0, 1.0]) + 1)


def test_tree_functions_agree_with_lambdify_and_hand_over_what_they_do_not_know() -> None:
    from answerkey.instantiate import numeric_function, tree_function

    u, v = r("u"), r("v")
    exprs = [
        sigmoid(u) * (1 - sigmoid(u)) + sp.exp(-v) / (1 + u**2),
        sp.log(v) - sp.Rational(1, 3) * sp.tanh(u) ** 2,
        sp.asinh(u) + sp.Max(u, v),  # not in its table: lambdify does these
        sp.Integer(2),
    ]
    points = (np.linspace(-1, 1, 5), np.linspace(0.1, 2, 5))
    got = tree_function([u, v], exprs)(*points)
    want = numeric_function([u, v], exprs)(*points)
    for g, w in zip(got, want, strict=True):
        assert np.allclose(np.broadcast_to(g, (5,)), np.broadcast_to(w, (5,)))
    with np.errstate(all="ignore"):
        assert np.isnan(tree_function([v], [sp.log(v)])(np.array([-1.0]))[0][0])


def test_a_derivative_the_definitions_do_not_link_is_refused_not_taken_as_zero() -> None:
    # z2 is left free here, so D(z2, y1) would be 0 and "+ D(z2, y1)·W" would pass as "+ 0"
    c = Concrete(Instance(sizes=cv.SIZES, defs={cv.y2: softmax(cv.z2)}))
    with pytest.raises(ValueError, match="D\\(z2, y1\\): z2 does not depend on y1"):
        c.lazy(D(cv.z2, cv.y1))
    with pytest.raises(ValueError, match="does not depend on y1"):
        c.chain_derivative(cv.y2, cv.y1)


def test_a_claim_reads_an_unlinked_derivative_as_zero() -> None:
    c = Concrete(Instance(sizes=cv.SIZES, defs={cv.y2: softmax(cv.z2)}), unlinked_zero=True)
    assert c.chain_derivative(cv.y2, cv.y1) == sp.zeros(3, 4)


def test_a_constant_has_derivative_zero() -> None:
    x, L = sp.Symbol("x"), sp.Symbol("L")
    c = Concrete(Instance(defs={L: sp.Integer(0)}))
    assert c.chain_derivative(L, x) == sp.Matrix([[0]])


# --- the chain rule's pieces ----------------------------------------------------------


def test_partial_derivative_agrees_with_sympy_on_the_rules_and_falls_back_for_the_rest() -> None:
    import sympy as sp

    from answerkey.instantiate import partial_derivative
    from answerkey.mathfns import relu, sigmoid

    a, b, c = sp.symbols("a b c", real=True)
    f = sp.Function("f")
    cases = [
        a * b + sp.exp(-a * b) / (1 + sp.exp(c - a)),
        sp.log(sigmoid(a * b)) * c**3 - sp.tanh(a) ** sp.Rational(1, 3),
        relu(a - b) * b,
        (a + b) ** c,  # the exponent holds no a: the power rule; by c: SymPy's
        f(a * b) + sp.Abs(a) + sp.Piecewise((a, b > 0), (b, True)),  # SymPy's
        sp.Integer(7),
    ]
    point = {a: 0.3, b: 1.7, c: 0.6}
    for e in cases:
        for p in (a, b, c):
            ours, theirs = partial_derivative(e, p), sp.diff(e, p)
            if ours.has(sp.Derivative) or theirs.has(sp.Derivative):
                assert sp.simplify(ours - theirs) == 0, (e, p)
                continue
            assert abs(complex((ours - theirs).subs(point).evalf())) < 1e-12, (e, p)


def test_concrete_is_shared_for_the_same_objects_and_only_for_them() -> None:
    from answerkey.instantiate import concrete

    defs = {cv.E: mm(T(cv.x), cv.x)}
    inst = Instance(sizes=cv.SIZES, defs=defs)
    c = concrete(inst)
    assert isinstance(c, Concrete)
    assert concrete(inst) is c
    # rebuilt from the same objects (as the judge gives an instance its sizes): shared
    assert concrete(Instance(sizes=dict(cv.SIZES), defs=dict(defs))) is c
    # a flag, a definition or a size replaced: not shared
    assert concrete(inst, unlinked_zero=True) is not c
    assert concrete(Instance(sizes=cv.SIZES, defs={cv.E: mm(T(cv.x), 2 * cv.x)})) is not c
    bigger = {**cv.SIZES, next(iter(cv.SIZES)): 7}
    assert concrete(Instance(sizes=bigger, defs=defs)) is not c
    # something mutable in it: never shared, it could change after
    mutable = Instance(sizes=cv.SIZES, defs={cv.E: sp.Matrix([[1]])})
    assert concrete(mutable) is not concrete(mutable)


def test_a_derivative_with_no_layout_is_refused_saying_so() -> None:
    """A matrix by a matrix has no layout in the course's convention: a ValueError the
    verifier reports, naming the derivative."""
    c = Concrete(cv._network("z1"))
    with pytest.raises(ValueError, match=r"no layout for D\(W1, W1\)"):
        c.lazy(D(cv.W1, cv.W1))


def test_erf_is_evaluated_entry_by_entry_as_the_exact_gelu_needs() -> None:
    """NumPy has no erf; SymPy's printer calls math.erf, which takes no array."""
    z = r("z")
    gelu = z * (1 + sp.erf(z / sp.sqrt(2))) / 2
    values = np.array([-1.5, 0.0, 0.3, 2.0])
    h = 1e-6
    for make in (tree_function, numeric_function):
        y, dy = make([z], [gelu, sp.diff(gelu, z)])(values)
        exact = [v * (1 + math.erf(v / math.sqrt(2))) / 2 for v in values]
        assert np.allclose(y, exact, rtol=1e-12)
        above, below = make([z], [gelu])(values + h)[0], make([z], [gelu])(values - h)[0]
        assert np.allclose(dy, (above - below) / (2 * h), atol=1e-8)
