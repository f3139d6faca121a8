"""answerkey.kit.derivation: the derivations a network writes from its graph verify like
hand-written ones (every gradient of every kit network the solution modules define, found, not
listed), cite each layer's fragment, and a wrong layer rule is refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
import sympy as sp

from answerkey import kit, printing
from answerkey.errors import VerificationError
from answerkey.kit.layers import Tanh
from answerkey.mathfns import D, T, hadamard_ones_minus, mm
from answerkey.model import Assignment, Exercise, Part
from answerkey.verify import verify_assignment, verify_derivation

n, h, K = sp.symbols("n h K", integer=True, positive=True)
SMALL, OTHER = {n: 2, h: 3, K: 2}, {n: 3, h: 2, K: 4}

# The networks of the exercises in solutions/: bce-tanh-sigmoid, cv-assignment9, and
# practical-1's ReLU network (written there in row layout; here as the kit's columns).
NETWORKS = {
    "bce-tanh-sigmoid": (
        [kit.linear(h, bias=False), kit.tanh(), kit.linear(K, bias=False), kit.sigmoid()],
        kit.binary_cross_entropy(),
    ),
    "cv-assignment9": (
        [kit.linear(h, bias=False), kit.sigmoid(), kit.linear(K, bias=False), kit.softmax()],
        kit.cross_entropy(),
    ),
    "practical-1": (
        [kit.linear(h, bias=False), kit.relu(), kit.linear(1, bias=False), kit.relu()],
        kit.squared_error(),
    ),
    "biases, tanh, squared error": (
        [kit.linear(h), kit.tanh(), kit.linear(K)],
        kit.squared_error(),
    ),
}


def network(name: str) -> kit.Network:
    layers, loss = NETWORKS[name]
    return kit.Network(n, layers, loss)


def gradients(net: kit.Network) -> list[Any]:
    return [D(net["E"], p) for p in (*net.weights, *net.biases)]


@pytest.mark.parametrize("name", NETWORKS)
def test_every_weight_gradient_of_the_networks_derives_and_verifies(name: str) -> None:
    net = network(name)
    for lhs in gradients(net):
        d = net.derivation(lhs, [SMALL, OTHER])
        kinds = [r.kind for r in verify_derivation(name, d, np.random.default_rng(0))]
        assert "symbolic" in kinds and "finite-difference" in kinds, lhs
        for f in net.cited(lhs):  # every fragment it cites is verified by the engine
            assert f()[0].kind == "fragment"


def test_the_derivation_reads_as_backpropagation_in_the_networks_names() -> None:
    net = network("bce-tanh-sigmoid")
    E, W1, W2, y1, y2, t, x = (net[s] for s in "E W1 W2 y1 y2 t x".split())
    steps = net.steps(D(E, W1))
    reasons = [s.reason.items[0] for s in steps]
    assert reasons == [
        "chain rule, a weight matrix's gradient is an outer product",
        "sigmoid with binary cross-entropy",
        "a linear layer's Jacobian is its weight matrix",
        "the tanh Jacobian",
        "multiply out the transposes and the diagonal matrices",
    ]
    tanh_prime = hadamard_ones_minus(sp.HadamardProduct(y1, y1))
    final = mm(sp.HadamardProduct(mm(T(W2), y2 - t), tanh_prime), T(x))
    assert printing.latex(steps[-1].expr) == printing.latex(final)
    assert net.leaf(D(E, W2)) == "y1" and net.leaf(D(E, W1)) is None


def test_an_author_may_replace_a_step_and_it_is_verified_the_same() -> None:
    net = network("bce-tanh-sigmoid")
    E, W2 = net["E"], net["W2"]
    from answerkey.kit.writing import derive

    steps: list[Any] = list(net.steps(D(E, W2)))
    steps[-1] = (2 * steps[-1].expr, "my own words")
    d = derive(D(E, W2), steps, [net.instance(OTHER, "y1")], net.oracle)
    with pytest.raises(VerificationError, match="step 2"):
        verify_derivation("edited", d, np.random.default_rng(0))


def test_a_quantity_the_network_lacks_or_a_hinge_loss_is_one_clear_line() -> None:
    net = network("bce-tanh-sigmoid")
    with pytest.raises(ValueError, match="no stage or parameter"):
        net.steps(D(net["E"], sp.MatrixSymbol("V", 2, 2)))
    hinge = kit.Network(n, [kit.linear(h), kit.relu(), kit.linear(K)], kit.hinge())
    with pytest.raises(ValueError, match=r"write the derivation of .* by hand"):
        hinge.steps(D(hinge["E"], hinge["W1"]))


@dataclass(frozen=True)
class WrongTanh(Tanh):
    """tanh with a planted wrong rule: tanh' written as 1 + tanh^2."""

    kind: ClassVar[str] = "wrong_tanh_for_the_test"
    reason: ClassVar[str] = "tanh' = 1 + tanh^2 (wrong)"

    def derivative(self, z: Any, y: Any) -> Any:
        return sp.HadamardProduct(y, y) + sp.OneMatrix(*y.shape)


def test_a_planted_wrong_fragment_in_a_new_layer_is_refused_by_the_build() -> None:
    layers = [kit.linear(h, bias=False), WrongTanh(), kit.linear(K, bias=False), kit.sigmoid()]
    net = kit.Network(n, layers, kit.binary_cross_entropy())
    lhs = D(net["E"], net["W1"])
    with pytest.raises(VerificationError, match="wrong_tanh_for_the_test Jacobian"):
        WrongTanh().jacobian_fragment().verify()  # its own fragment
    part = Part("1", "W1", [], [net.derivation(lhs, [SMALL, OTHER])], numeric_checks=net.cited(lhs))
    exercise = Exercise("1", "planted", [], [part])
    with pytest.raises(VerificationError, match=r"planted, part 1, step 4 .*differ"):
        verify_assignment(Assignment("planted", "planted", [exercise]))


def _solution_networks() -> dict[str, kit.Network]:
    """Every kit network a solution module defines (found, not listed)."""
    from answerkey import registry

    out = {}
    for aid, module in registry.discover().items():
        for attr, value in vars(module.module).items():
            if isinstance(value, kit.Network):
                out[f"{aid}.{attr}"] = value
    return out


SOLUTION_NETWORKS = _solution_networks()


def _sizes(net: kit.Network) -> list[dict[Any, int]]:
    """Two instances, the second with all its sizes different."""
    dims = sorted(
        {
            d
            for s in net.symbols.values()
            for d in getattr(s, "shape", ())
            if isinstance(d, sp.Symbol)
        },
        key=str,
    )
    return [{d: 2 + (i % 2) for i, d in enumerate(dims)}, {d: 2 + i for i, d in enumerate(dims)}]


@pytest.mark.parametrize("name", SOLUTION_NETWORKS)
def test_every_gradient_of_every_solutions_network_derives_and_verifies(name: str) -> None:
    net = SOLUTION_NETWORKS[name]
    for lhs in gradients(net):
        d = net.derivation(lhs, _sizes(net))
        kinds = [r.kind for r in verify_derivation(name, d, np.random.default_rng(0))]
        assert "symbolic" in kinds and "finite-difference" in kinds, lhs
