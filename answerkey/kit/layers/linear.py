"""The linear (dense) layer: ``z = W y + b`` (without b when `bias` is False)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ...mathfns import D, T, elementwise, mm
from ...model import Instance
from ..fragments import LINEAR_BACKWARD, OUTER_PRODUCT, Fragment
from .base import SIZES, E, K, Layer, Rule, W, b, fragment, transpose, x, z


def _smooth_loss(v: Mapping[str, Any]) -> float:
    """sum of log(1 + z^2) over z = W x + b, in NumPy: the loss the bias rule is checked under."""
    zz = np.asarray(v["W"], dtype=float) @ np.asarray(v["x"], dtype=float)
    return float(np.log1p((zz + np.asarray(v["b"], dtype=float)) ** 2).sum())


def _with_bias() -> Instance:
    sq = sp.HadamardProduct(z, z)
    ones = sp.OneMatrix(K, 1)
    defs = {z: mm(W, x) + b, E: mm(sp.OneMatrix(1, K), elementwise("log", ones + sq))}
    return Instance(sizes=SIZES, defs=defs, label="3 inputs, 4 outputs")


#: dE/db = dE/dz for z = W x + b (b a column: its gradient a row, like dE/dz)
BIAS = fragment(
    "a bias's gradient is the error signal",
    D(E, b),
    [(mm(D(E, z), D(z, b)), "chain rule"), (D(E, z), "dz/db = I")],
    _with_bias(),
    {"E": E, "z": z, "b": b},
    oracle=_smooth_loss,
)

#: dz/dx = W for z = W x (+ b)
LINEAR_JACOBIAN = fragment(
    "a linear layer's Jacobian is its weight matrix",
    D(z, x),
    [(W, "z = W x + b")],
    Instance(sizes=SIZES, defs={z: mm(W, x) + b}, label="3 inputs, 4 outputs"),
    {"z": z, "x": x, "W": W},
)


@dataclass(frozen=True)
class Linear(Layer):
    """``z = W y + b`` (without b when `bias` is False); `size` is its number of outputs."""

    size: Any
    bias: bool = True

    kind: ClassVar[str] = "linear"
    opens: ClassVar[bool] = True

    def output_size(self, size: Any) -> Any:
        return self.size

    def parameters(self, size: Any) -> dict[str, tuple[Any, Any]]:
        out = {"W": (self.size, size)}
        if self.bias:
            out["b"] = (self.size, 1)
        return out

    def definition(self, inp: Any, params: Mapping[str, Any]) -> Any:
        out = mm(params["W"], inp)
        return out + params["b"] if self.bias else out

    def forward(self, inp: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        out = params["W"] @ inp
        return out + params["b"] if self.bias else out

    def backward(
        self, inp: np.ndarray, out: np.ndarray, params: Mapping[str, np.ndarray], g: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        grads = {"W": g @ inp.T}
        if self.bias:
            grads["b"] = g.copy()
        return params["W"].T @ g, grads

    def jacobian(self, inp: Any, out: Any, params: Mapping[str, Any]) -> Rule:
        f = LINEAR_JACOBIAN
        return Rule(params["W"], f, f.name)

    def vjp(self, inp: Any, out: Any, params: Mapping[str, Any], delta: Any) -> Any:
        return mm(T(params["W"]), delta)

    def parameter_rule(self, role: str, inp: Any, params: Mapping[str, Any], up: Any) -> Rule:
        if role == "W":
            return Rule(mm(transpose(up), T(inp)), OUTER_PRODUCT, OUTER_PRODUCT.name)
        return Rule(up, BIAS, BIAS.name)

    def parameter_column(self, role: str, inp: Any, params: Mapping[str, Any], delta: Any) -> Any:
        return mm(delta, T(inp)) if role == "W" else T(delta)

    def fragments(self) -> list[Fragment]:
        return [OUTER_PRODUCT, LINEAR_JACOBIAN, LINEAR_BACKWARD] + ([BIAS] if self.bias else [])


def linear(size: Any, bias: bool = True) -> Linear:
    """A linear layer with `size` outputs (a dimension symbol such as ``h``)."""
    return Linear(size, bias)
