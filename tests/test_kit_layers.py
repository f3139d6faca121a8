"""answerkey.kit.layers: every layer and loss is one object declaring its definition, oracle
and verified backward rules; the engine verifies every registered fragment and refuses a
wrong one; the oracle's backward pass agrees with finite differences of its forward pass."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import sympy as sp

from answerkey import kit
from answerkey.errors import VerificationError
from answerkey.kit.fragments import Fragment
from answerkey.kit.layers import REGISTRY, Elementwise, Layer, Loss, load_all
from answerkey.model import Step

load_all()  # every module of the package registers its classes


def instances() -> list[Layer | Loss]:
    """One object of every registered class (a layer with a size takes 3 outputs)."""
    out: list[Layer | Loss] = []
    for kind, cls in sorted(REGISTRY.items()):
        if kind.endswith("_for_the_test"):
            continue
        fields = [f for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
        out.append(cls(*[3] * len(fields)))  # type: ignore[arg-type]
    return out


def fragments() -> list[Fragment]:
    seen: list[Fragment] = []
    for obj in instances():
        seen += [f for f in obj.fragments() if f not in seen]
    return seen


def test_the_registry_holds_the_kits_layers_and_losses() -> None:
    kinds = set(REGISTRY)
    assert {"linear", "sigmoid", "tanh", "relu", "softmax"} <= kinds
    assert {"cross_entropy", "binary_cross_entropy", "squared_error", "hinge"} <= kinds
    assert isinstance(kit.tanh(), Elementwise) and isinstance(kit.hinge(), Loss)


@pytest.mark.parametrize("fragment", fragments(), ids=lambda f: f.name)
def test_every_registered_fragment_is_verified_by_the_engine(fragment: Fragment) -> None:
    assert {"numeric", "symbolic"} <= {r.kind for r in fragment.verify()}


@pytest.mark.parametrize("fragment", fragments(), ids=lambda f: f.name)
def test_a_fragment_with_a_wrong_result_is_refused(fragment: Fragment) -> None:
    d = fragment.derivation
    wrong = Step(2 * d.steps[-1].expr + sp.OneMatrix(*d.lhs.shape), d.steps[-1].reason)
    bad = Fragment(fragment.name + " (wrong)", dataclasses.replace(d, steps=(wrong,)), {})
    with pytest.raises(VerificationError, match="wrong"):
        bad.verify()


def _numeric(f: Any, a: np.ndarray) -> np.ndarray:
    out = np.zeros((a.size, 1))
    for i in range(a.size):
        up, down = a.copy(), a.copy()
        up.flat[i] += 1e-6
        down.flat[i] -= 1e-6
        out[i] = (f(up) - f(down)) / 2e-6
    return out.reshape(a.shape)


@pytest.mark.parametrize("layer", [o for o in instances() if isinstance(o, Layer)], ids=str)
def test_each_layers_backward_is_the_gradient_of_its_forward(layer: Layer) -> None:
    rng = np.random.default_rng(4)
    inp = rng.normal(size=(4, 1)) + 0.05  # away from ReLU's kink
    params = {r: rng.normal(size=(int(s[0]), 4 if s[1] != 1 else 1)) for r, s in
              layer.parameters(4).items()}  # fmt: skip
    out = layer.forward(inp, params)
    g = rng.normal(size=out.shape)
    g_in, g_params = layer.backward(inp, out, params, g)
    assert np.allclose(g_in, _numeric(lambda a: float((g * layer.forward(a, params)).sum()), inp))
    for role, p in params.items():

        def f(a: np.ndarray, role: str = role) -> float:
            return float((g * layer.forward(inp, {**params, role: a})).sum())

        assert np.allclose(g_params[role], _numeric(f, p)), role


@pytest.mark.parametrize("loss", [o for o in instances() if isinstance(o, Loss)], ids=str)
def test_each_losss_gradient_is_the_gradient_of_its_value(loss: Loss) -> None:
    y = np.array([[0.2], [0.5], [0.3]])
    t = np.array([[0.0], [1.0], [0.0]])
    numeric = _numeric(lambda a: loss.np_loss(a, t), y)
    assert np.allclose(loss.np_gradient(y, t), numeric, atol=1e-6)


def test_an_unknown_activation_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; known: .*tanh"):
        kit.Activation("swish")
    assert kit.Activation("tanh") == kit.tanh()
