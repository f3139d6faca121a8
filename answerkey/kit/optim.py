"""Optimizers: the update rule as SymPy for the key's text, and as NumPy for the numbers.

The NumPy side follows `answerkey.worked`'s optimizer interface (`rate`,
`step(gradient)`, `describe()`), so a trace the engine checks can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

ETA, BETA = sp.symbols("eta beta")


@dataclass(frozen=True)
class SGD:
    """Gradient descent: ``w <- w - eta g``."""

    learning_rate: float

    @property
    def rate(self) -> float:
        return float(self.learning_rate)

    def rule(self, w: Any, g: Any, eta: Any = ETA) -> list[tuple[Any, Any]]:
        """The update as (new value, expression) pairs, in the order written (w - eta g)."""
        new = (
            sp.Symbol(f"{w.name}'")
            if isinstance(w, sp.Symbol)
            else sp.MatrixSymbol(f"{w.name}'", *w.shape)
        )
        add = sp.Add if isinstance(w, sp.Symbol) else sp.MatAdd
        return [(new, add(w, -eta * g, evaluate=False))]

    def step(self, gradient: Any) -> np.ndarray:
        return -self.rate * np.asarray(gradient, dtype=float)

    def describe(self) -> str:
        return "-learning rate × gradient"


@dataclass(frozen=True)
class Momentum:
    """Momentum: ``v <- beta v - eta g``, ``w <- w + v`` (v starts at 0)."""

    learning_rate: float
    beta: float

    @property
    def rate(self) -> float:
        return float(self.learning_rate)

    def rule(
        self, w: Any, g: Any, v: Any, eta: Any = ETA, beta: Any = BETA
    ) -> list[tuple[Any, Any]]:
        """(v', beta v - eta g) and (w', w + v'), in the order written."""
        scalar = isinstance(w, sp.Symbol)
        add = sp.Add if scalar else sp.MatAdd

        def primed(s: Any) -> Any:
            return sp.Symbol(f"{s.name}'") if scalar else sp.MatrixSymbol(f"{s.name}'", *s.shape)

        v_new = primed(v)
        return [
            (v_new, add(beta * v, -eta * g, evaluate=False)),
            (primed(w), add(w, v_new, evaluate=False)),
        ]

    def step(self, gradient: Any, velocity: Any = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(the new velocity, the step), which are equal: w + step is the new w."""
        v = float(self.beta) * np.asarray(velocity, dtype=float) - self.rate * np.asarray(
            gradient, dtype=float
        )
        return v, v

    def describe(self) -> str:
        return "momentum × previous step - learning rate × gradient"
