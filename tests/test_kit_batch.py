"""answerkey.kit.batch: a network on a mini-batch and a loss with an L2 penalty, whose SymPy
definitions and NumPy oracles agree, and whose wrong gradients the verifier refuses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp

from answerkey import kit
from answerkey.errors import VerificationError
from answerkey.instantiate import Concrete
from answerkey.kit.fragments import BATCH_OUTER_PRODUCT, L2_PENALTY
from answerkey.mathfns import D, T, elementwise, mm
from answerkey.model import Derivation, Instance, Step, text
from answerkey.verify import lambdify, verify_derivation

n, h, K, m = sp.symbols("n h K m", integer=True, positive=True)
lam = sp.Symbol("lambda", positive=True)
SIZES = {n: 2, h: 3, K: 4, m: 5}  # all different
SHAPES = {"Xb": (2, 5), "W1": (3, 2), "b1": (3, 1), "W2": (4, 3), "b2": (4, 1)}

NETWORKS = {
    "tanh, squared error": ([kit.linear(h), kit.tanh(), kit.linear(K)], kit.squared_error()),
    "sigmoid, softmax, cross-entropy": (
        [kit.linear(h), kit.sigmoid(), kit.linear(K, bias=False), kit.softmax()],
        kit.cross_entropy(),
    ),
    "relu, hinge": ([kit.linear(h), kit.relu(), kit.linear(K)], kit.hinge(0.5)),
    "tanh, sigmoid, binary cross-entropy": (
        [kit.linear(h), kit.tanh(), kit.linear(K), kit.sigmoid()],
        kit.binary_cross_entropy(),
    ),
}


def network(name: str) -> kit.Network:
    layers, loss = NETWORKS[name]
    return kit.Network(n, layers, loss)


def values(net: kit.Network, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs and parameters; one-hot targets (class 1, 3, 2, 4, 1 by column; the
    hinge's instance fixes class 1)."""
    rng = np.random.default_rng(seed)
    out = {k: rng.normal(size=s) for k, s in SHAPES.items() if k == "Xb" or k in net.symbols}
    out["Tb"] = np.eye(4)[:, [0] * 5 if net.loss.name == "hinge" else [0, 2, 1, 3, 0]]
    if net.loss.name == "binary_cross_entropy":  # targets in [0, 1], not one-hot
        out["Tb"] = rng.uniform(0, 1, (4, 5))
    return out


def sympy_value(inst: Instance, expr: Any, v: dict[str, np.ndarray]) -> float:
    """`expr` from the instance's SymPy definitions, at the values `v` (by name)."""
    c = Concrete(inst)
    e = c.value(expr)[0, 0]
    point = {}
    for name, array in v.items():
        symbol = sp.Symbol(name) if array.ndim == 0 else sp.MatrixSymbol(name, *array.shape)
        for s, a in zip(c.entries(symbol), np.atleast_1d(array).reshape(-1), strict=True):
            point[s] = float(a)
    symbols = sorted(e.free_symbols, key=lambda s: s.name)
    result = lambdify(symbols, sp.Matrix([[e]]))(*(point[s] for s in symbols))
    return float(np.asarray(result, dtype=float).reshape(-1)[0])


@pytest.mark.parametrize("name", NETWORKS)
def test_the_batch_oracle_is_the_mean_over_columns_and_agrees_with_the_definitions(
    name: str,
) -> None:
    net = network(name)
    batch = net.batch(m)
    v = values(net)
    params = {k: a for k, a in v.items() if k not in ("Xb", "Tb")}
    columns = [net.oracle({**params, "x": v["Xb"][:, [c]], "t": v["Tb"][:, [c]]}) for c in range(5)]
    assert batch.oracle(v) == pytest.approx(np.mean(columns), rel=1e-12)
    assert sympy_value(batch.instance(SIZES), net["E"], v) == pytest.approx(batch.oracle(v))


def test_batch_matrices_are_named_after_their_stages() -> None:
    net = network("tanh, squared error")
    batch = net.batch(m)
    X, Z1, Y1 = batch["x"], batch["z1"], batch["y1"]
    assert (X.name, X.shape, Y1.name, batch["t"].name) == ("Xb", (n, m), "Y1b", "Tb")
    assert batch["W1"] is net["W1"] and batch["E"] is net["E"]
    assert batch.notation["Y1b"] == "Y^{(1)}" and batch.notation["Xb"] == "X"
    defs = batch.definitions()
    assert defs[Z1] == mm(net["W1"], X) + mm(net["b1"], sp.OneMatrix(1, m))
    assert defs[Y1] == elementwise("tanh", Z1)
    assert list(batch.definitions("y1")) == [batch["z2"], net["E"]]
    given = network("sigmoid, softmax, cross-entropy").batch(m).instance(SIZES).given
    assert len(given) == 5  # one one-hot assumption per sample
    assert given["Tb_45"] == 1 - sum(sp.Symbol(f"Tb_{i}5") for i in (1, 2, 3))


def _gradient(net: kit.Network) -> Derivation:
    """dE/dW2 of the squared-error batch: (1/m) (Z2 - T) Y1^T."""
    batch = net.batch(m)
    Z2, Tb, Y1 = batch["z2"], batch["t"], batch["y1"]
    step = Step((1 / m) * mm(Z2 - Tb, T(Y1)), text("the mean of the outer products"))
    return Derivation(D(net["E"], net["W2"]), (step,), (batch.instance(SIZES),), batch.oracle)


def test_a_batch_gradient_is_verified_and_a_wrong_one_refused() -> None:
    net = network("tanh, squared error")
    good = _gradient(net)
    kinds = [r.kind for r in verify_derivation("batch", good, np.random.default_rng(0))]
    assert "finite-difference" in kinds
    Z2, Tb, Y1 = (net.batch(m)[s] for s in ("z2", "t", "y1"))
    for wrong in (mm(Z2 - Tb, T(Y1)), (1 / K) * mm(Z2 - Tb, T(Y1))):  # no mean; 1/K
        bad = Derivation(good.lhs, (Step(wrong, good.steps[0].reason),), good.instances)
        with pytest.raises(VerificationError):
            verify_derivation("batch", bad, np.random.default_rng(0))
    # an oracle that sums where it should average
    summed = Derivation(good.lhs, good.steps, good.instances, lambda v: 5 * net.batch(m).oracle(v))
    with pytest.raises(VerificationError, match="finite differences"):
        verify_derivation("batch", summed, np.random.default_rng(0))


@pytest.mark.parametrize("batched", [False, True], ids=["one sample", "mini-batch"])
def test_the_l2_penalty_adds_lambda_w_and_a_wrong_one_is_refused(batched: bool) -> None:
    net = network("sigmoid, softmax, cross-entropy")
    base: Any = net.batch(m) if batched else net
    reg = base.l2(lam)
    E_reg, W1 = reg.symbol, net["W1"]
    assert reg["E_reg"] is E_reg and reg["W1"] is W1 and reg.weights == [W1, net["W2"]]
    sizes = SIZES if batched else {n: 2, h: 3, K: 4}
    inst = reg.instance(sizes, leaf="y1" if not batched else None)
    assert inst.domain[str(lam)] == (0.01, 1.0)
    W2 = net["W2"]
    good = Derivation(
        D(E_reg, W2),
        (Step(D(net["E"], W2) + lam * W2, text("the penalty's gradient")),),
        (inst,),
        reg.oracle,
    )
    kinds = [r.kind for r in verify_derivation("l2", good, np.random.default_rng(3))]
    assert "finite-difference" in kinds
    bad = Derivation(good.lhs, (Step(D(net["E"], W2) + 2 * lam * W2, text("x")),), (inst,))
    with pytest.raises(VerificationError):
        verify_derivation("l2", bad, np.random.default_rng(3))
    no_penalty = Derivation(good.lhs, good.steps, (inst,), base.oracle)
    with pytest.raises(VerificationError, match="finite differences"):
        verify_derivation("l2", no_penalty, np.random.default_rng(3))


def test_the_penalty_is_written_as_the_author_writes_it_and_computed_in_numpy() -> None:
    net = network("tanh, squared error")
    reg = net.l2(lam, "E_lambda")
    assert reg.symbol == sp.Symbol("E_lambda")
    assert str(reg.penalty) == "(lambda/2)*(sqnorm(W1) + sqnorm(W2))"
    rng = np.random.default_rng(4)
    v = {k: rng.normal(size=s) for k, s in SHAPES.items() if k != "Xb"}
    v |= {"x": rng.normal(size=(2, 1)), "t": rng.normal(size=(4, 1)), "lambda": np.array(0.3)}
    penalty = 0.15 * ((v["W1"] ** 2).sum() + (v["W2"] ** 2).sum())
    assert reg.oracle(v) == pytest.approx(net.oracle(v) + penalty)
    inst = reg.instance({n: 2, h: 3, K: 4})
    assert sympy_value(inst, reg.symbol, v) == pytest.approx(reg.oracle(v))


def test_the_batch_and_penalty_fragments_are_cited_in_the_exercises_symbols() -> None:
    net = network("tanh, squared error")
    batch = net.batch(m)
    reg = batch.l2(lam)
    E, W2, Z2, Y1 = net["E"], net["W2"], batch["z2"], batch["y1"]
    outer = BATCH_OUTER_PRODUCT.step(E=E, Z=Z2, W=W2, X=Y1)
    assert outer.expr == mm(D(E, Z2), T(Y1))
    penalty = L2_PENALTY.step(E_reg=reg.symbol, E=E, W=W2, **{"lambda": lam})
    assert penalty.expr == D(E, W2) + lam * W2
    inst = reg.instance(SIZES)
    d = Derivation(D(reg.symbol, W2), (penalty,), (inst,), reg.oracle)
    assert verify_derivation("citing", d, np.random.default_rng(5))
    d = Derivation(D(E, W2), (outer,), (batch.instance(SIZES),), batch.oracle)
    assert verify_derivation("citing", d, np.random.default_rng(5))
    # cited at the wrong layer (Y1 for the first layer's input X): refused in context
    wrong = BATCH_OUTER_PRODUCT.step(E=E, Z=batch["z1"], W=net["W1"], X=Y1)
    with pytest.raises(VerificationError):
        verify_derivation(
            "misfit",
            Derivation(D(E, net["W1"]), (wrong,), (batch.instance(SIZES),)),
            np.random.default_rng(5),
        )
