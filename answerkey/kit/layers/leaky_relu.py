"""Leaky ReLU: ``lrelu(u) = u`` for u > 0, else ``u / 10``; one file, as any new activation.

Its SymPy function prints as lrelu and differentiates to lrelu' (both evaluated
through their ``_imp_``, a SymPy Lambda); the layer declares its oracle and derivative, and the
engine verifies its Jacobian fragment diag(lrelu'(z)) like every other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from .base import Elementwise, Entrywise, entrywise

SLOPE = sp.Rational(1, 10)  # the slope for u < 0
_u = sp.Dummy("u")


@entrywise
class lrelu_step(sp.Function):
    """lrelu'(u): 1 for u > 0, else the slope (lrelu'(0) = slope, like relu'(0) = 0)."""

    nargs = 1
    _imp_ = sp.Lambda(_u, sp.Piecewise((1, _u > 0), (SLOPE, True)))  # its values

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return rf"\operatorname{{lrelu}}'\left({printer._print(self.args[0])}\right)"


@entrywise
class lrelu(sp.Function):
    """max(u, slope u)."""

    nargs = 1
    _imp_ = sp.Lambda(_u, sp.Piecewise((_u, _u > 0), (SLOPE * _u, True)))

    def fdiff(self, argindex: int = 1) -> Any:
        return lrelu_step(self.args[0])

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return rf"\operatorname{{lrelu}}\left({printer._print(self.args[0])}\right)"


@dataclass(frozen=True)
class LeakyReLU(Elementwise):
    kind: ClassVar[str] = "leaky_relu"
    glyph: ClassVar[tuple[str, str, str]] = ("\\mathrm{lReLU}", "leaky ReLU", "\\mathrm{lReLU}")
    reason: ClassVar[str] = "lrelu'(u) = 1 for u > 0, else the slope"

    def definition(self, inp: Any, params: Any) -> Any:
        return Entrywise(lrelu, inp)

    def np_function(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, float(SLOPE) * z)

    def np_derivative(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.where(z > 0, 1.0, float(SLOPE))

    def derivative(self, z: Any, y: Any) -> Any:
        return Entrywise(lrelu_step, z)


def leaky_relu() -> LeakyReLU:
    """Leaky ReLU, slope 1/10 below zero."""
    return LeakyReLU()
