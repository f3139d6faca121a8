"""The activations: sigmoid, tanh, ReLU (entry by entry) and softmax (of the whole column)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ...mathfns import D, T, diag, hadamard_ones_minus, mm
from ...mathfns import softmax as softmax_of
from ...model import Instance
from ..fragments import SIGMOID_DERIVATIVE, Fragment
from .base import Elementwise, K, Layer, Rule, fragment, y, z


@dataclass(frozen=True)
class Sigmoid(Elementwise):
    kind: ClassVar[str] = "sigmoid"
    function: ClassVar[str] = "sigmoid"
    glyph: ClassVar[tuple[str, str, str]] = ("\\sigma", "sigmoid", "\\sigma")
    reason: ClassVar[str] = "sigma' = sigma (1 - sigma)"

    def np_function(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-z))  # type: ignore[no-any-return]

    def np_derivative(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y * (1 - y)  # type: ignore[no-any-return]

    def derivative(self, z: Any, y: Any) -> Any:
        return sp.HadamardProduct(y, hadamard_ones_minus(y))

    def jacobian_fragment(self) -> Fragment:
        return SIGMOID_DERIVATIVE  # the kit's fragment, verified as it always was


@dataclass(frozen=True)
class Tanh(Elementwise):
    kind: ClassVar[str] = "tanh"
    function: ClassVar[str] = "tanh"
    glyph: ClassVar[tuple[str, str, str]] = ("\\tanh", "tanh", "\\tanh")
    reason: ClassVar[str] = "tanh' = 1 - tanh^2"

    def np_function(self, z: np.ndarray) -> np.ndarray:
        return np.tanh(z)  # type: ignore[no-any-return]

    def np_derivative(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 1 - y**2  # type: ignore[no-any-return]

    def derivative(self, z: Any, y: Any) -> Any:
        return hadamard_ones_minus(sp.HadamardProduct(y, y))


@dataclass(frozen=True)
class ReLU(Elementwise):
    kind: ClassVar[str] = "relu"
    function: ClassVar[str] = "relu"
    glyph: ClassVar[tuple[str, str, str]] = ("\\mathrm{ReLU}", "ReLU", "\\mathrm{ReLU}")
    reason: ClassVar[str] = "relu'(u) = 1 for u > 0, else 0"

    def np_function(self, z: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0.0)

    def np_derivative(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (z > 0).astype(float)

    def derivative(self, z: Any, y: Any) -> Any:
        return HeavisideOf(z)


class HeavisideOf(sp.MatrixExpr):  # type: ignore[misc]
    """The column of relu'(z_i) = H(z_i) (H(0) = 0)."""

    def __new__(cls, v: Any) -> HeavisideOf:
        return sp.MatrixExpr.__new__(cls, v)

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape  # type: ignore[no-any-return]

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return sp.Heaviside(self.args[0][i, j], 0)

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{relu}}'\left({printer._print(self.args[0])}\right)"


@dataclass(frozen=True)
class Softmax(Layer):
    """softmax(z): exp of each entry over the sum of all; its Jacobian diag(y) - y y^T."""

    kind: ClassVar[str] = "softmax"
    glyph: ClassVar[tuple[str, str, str]] = ("\\mathrm{softmax}", "softmax", "\\mathrm{sm}")

    def definition(self, inp: Any, params: Mapping[str, Any]) -> Any:
        return softmax_of(inp)

    def forward(self, inp: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        e = np.exp(inp - inp.max(axis=0))
        return e / e.sum(axis=0)  # type: ignore[no-any-return]

    def backward(
        self, inp: np.ndarray, out: np.ndarray, params: Mapping[str, np.ndarray], g: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return out * (g - float((out * g).sum())), {}  # (diag(y) - y y^T) g

    def jacobian(self, inp: Any, out: Any, params: Mapping[str, Any]) -> Rule:
        f = SOFTMAX_JACOBIAN
        return Rule(f.rewrite(f.result, y=out, z=inp), f, f.name)

    def vjp(self, inp: Any, out: Any, params: Mapping[str, Any], delta: Any) -> Any:
        return mm(sp.MatAdd(diag(out), -mm(out, T(out))), delta)

    def fragments(self) -> list[Fragment]:
        return [SOFTMAX_JACOBIAN]


SOFTMAX_JACOBIAN = fragment(
    "the softmax Jacobian",
    D(y, z),
    [(sp.MatAdd(diag(y), -mm(y, T(y))), "dy_i/dz_j = y_i (delta_ij - y_j)")],
    Instance(sizes={K: 4}, defs={y: softmax_of(z)}, label="4 classes"),
    {"y": y, "z": z},
)


def sigmoid() -> Sigmoid:
    """The logistic function, entry by entry."""
    return Sigmoid()


def tanh() -> Tanh:
    return Tanh()


def relu() -> ReLU:
    """max(0, z) entry by entry (relu'(0) = 0)."""
    return ReLU()


def softmax() -> Softmax:
    return Softmax()
