"""Optimizers: the update rule as SymPy for the key's text, and as NumPy for the numbers.

`SGD` follows `answerkey.worked`'s optimizer interface (`rate`, `step(gradient)`,
`describe()`). The others carry state (a velocity, running averages of the gradient
and its square) and follow `worked.StatefulOptimizer`: `update(gradient, state,
count)` is the NumPy path, `entrywise()` the rule as the key prints it, entry by
entry, in the course's notation (``m_t = beta_1 m_{t-1} + (1 - beta_1) g_t``). A
trace checks every printed number of an update against that rule evaluated by SymPy
on finite-difference gradients, with a state it carries itself: the NumPy code and
the printed rule must agree at every update.

=========  ==========================================================================
Momentum   v_t = beta v_{t-1} - eta g_t;  w_t = w_{t-1} + v_t
Nesterov   v_t = beta v_{t-1} - eta g_t;  w_t = w_{t-1} - beta v_{t-1} + (1 + beta) v_t
           (the form that needs the gradient at w_{t-1} only)
AdaGrad    G_t = G_{t-1} + g_t^2;  w_t = w_{t-1} - eta g_t / (sqrt(G_t) + eps)
RMSProp    s_t = rho s_{t-1} + (1 - rho) g_t^2;  w_t = w_{t-1} - eta g_t / (sqrt(s_t) + eps)
Adam       m_t, v_t (running means of g and g^2), bias-corrected
           mhat_t = m_t / (1 - beta_1^t), vhat_t = v_t / (1 - beta_2^t);
           w_t = w_{t-1} - eta mhat_t / (sqrt(vhat_t) + eps)
=========  ==========================================================================

Every state starts at 0; t counts updates from 1. Hyperparameters are given numbers
(`worked.given`), or plain floats where the key does not print them (a test's
optimizer) or where they are the optimizer's defaults; `statement()` refuses to print a
plain number typed into the code. `hyperparameters()` lists them for the key's ledger
(each must be printed, like the learning rate).
"""

from __future__ import annotations

from dataclasses import MISSING, Field, dataclass, fields, is_dataclass
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ..errors import AuthoringError
from ..mathfns import eq
from ..model import Text
from ..numbers import Number, given
from ..relations import definition
from ..worked import Rule
from .writing import listed, say

ETA, BETA = sp.symbols("eta beta")
RHO, EPS = sp.symbols("rho epsilon")
BETA1, BETA2 = sp.symbols("beta_1 beta_2")
T_ = sp.Symbol("t")


def _value(v: Any) -> float:
    return float(v.value) if isinstance(v, Number) else float(v)


def _at(name: str, when: str) -> sp.Symbol:
    """``name_t`` or ``name_{t-1}`` (``w``, ``g``, ``\\hat{m}``...)."""
    return sp.Symbol(f"{name}_{{{when}}}" if len(when) > 1 else f"{name}_{when}")


W_OLD, W_NEW, G = _at("w", "t-1"), _at("w", "t"), _at("g", "t")


#: every optimizer class, by its `kind` (filled as the classes are defined)
OPTIMIZERS: dict[str, type[Optimizer]] = {}


class Optimizer:
    """What every optimizer declares: its `kind` (registry key, `OPTIMIZERS`), its `NAME`
    as the key prints it, its hyperparameters (`_symbols`: symbol, value, label; the
    learning rate first), its rule entry by entry in the course's notation
    (`entrywise_lines`), the NumPy update and `describe()` (the words of the check). A
    subclass that sets `kind` registers itself; adding an optimizer is one class (and its
    test: tests/test_kit_optim.py checks that every registered one is tested)."""

    kind: ClassVar[str] = ""
    NAME: ClassVar[str] = ""
    learning_rate: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            OPTIMIZERS[cls.kind] = cls

    @property
    def rate(self) -> float:
        return _value(self.learning_rate)

    def _symbols(self) -> list[tuple[sp.Symbol, Any, str]]:
        """(symbol, value, label) of each hyperparameter, the learning rate first."""
        return [(ETA, self.learning_rate, "learning rate")]

    def entrywise_lines(self) -> list[tuple[sp.Symbol, Any]]:
        """The rule's lines ``(lhs, rhs)``, the new value ``w_t`` last."""
        raise NotImplementedError

    def hyperparameters(self) -> list[tuple[str, Any]]:
        """The numbers besides the learning rate the updates are computed from."""
        return [(label, v) for s, v, label in self._symbols() if s is not ETA]

    def givens(self) -> dict[sp.Symbol, Number]:
        """Each hyperparameter as a given number, by its symbol (for the key's text). A
        plain number is printed only where it is the optimizer's own default (Adam's
        beta_2 = 0.999): one typed into the code is an exercise value the engine did not
        compute and a term cannot change, refused like a number typed into prose."""
        own: tuple[Field[Any], ...] = fields(self) if is_dataclass(self) else ()
        defaults = {f.name: f.default for f in own if f.default is not MISSING}
        for name, value in ((f.name, getattr(self, f.name)) for f in own):
            typed = isinstance(value, int | float) and not isinstance(value, bool)
            if typed and defaults.get(name, None) != value:
                raise AuthoringError(
                    f"{self.NAME}: {name} is the plain number {value!r} typed into the code; "
                    f"a printed hyperparameter is a given number: "
                    f'{name}=worked.given(params["{name}"], "{name}")'
                )
        return {s: given(v, label, exact=True) for s, v, label in self._symbols()}

    def statement(self, besides: tuple[Any, ...] = (ETA, EPS)) -> Text:
        return statement(self, besides)

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class SGD(Optimizer):
    """Gradient descent: ``w <- w - eta g``."""

    learning_rate: Any
    kind: ClassVar[str] = "sgd"
    NAME: ClassVar[str] = "SGD"

    def rule(self, w: Any, g: Any, eta: Any = ETA) -> list[tuple[Any, Any]]:
        """The update as (new value, expression) pairs, in the order written (w - eta g)."""
        new = (
            sp.Symbol(f"{w.name}'")
            if isinstance(w, sp.Symbol)
            else sp.MatrixSymbol(f"{w.name}'", *w.shape)
        )
        add = sp.Add if isinstance(w, sp.Symbol) else sp.MatAdd
        return [(new, add(w, -eta * g, evaluate=False))]

    def entrywise_lines(self) -> list[tuple[sp.Symbol, Any]]:
        """``w_t = w_{t-1} - eta g_t``, for a key that prints every optimizer alike."""
        return [(W_NEW, sp.Add(W_OLD, -ETA * G, evaluate=False))]

    def step(self, gradient: Any) -> np.ndarray:
        return -self.rate * np.asarray(gradient, dtype=float)

    def describe(self) -> str:
        return "-learning rate × gradient"


class Stateful(Optimizer):
    """An optimizer with state (a velocity, running averages): `state()` pairs each
    state's symbol before and after an update, `lines()` the rule, `update(gradient,
    state, count)` the NumPy path (`answerkey.worked.StatefulOptimizer`), `entrywise()`
    the rule the trace's check evaluates."""

    def lines(self) -> list[tuple[sp.Symbol, Any]]:
        raise NotImplementedError

    def state(self) -> list[tuple[sp.Symbol, sp.Symbol]]:
        raise NotImplementedError

    def entrywise(self) -> Rule:
        values = tuple((s, _value(v)) for s, v, _ in self._symbols())
        new = ((W_OLD, W_NEW), *self.state())
        return Rule(tuple(self.lines()), W_OLD, G, new, T_, values)

    def entrywise_lines(self) -> list[tuple[sp.Symbol, Any]]:
        return self.lines()


def statement(optimizer: Any, besides: tuple[Any, ...] = (ETA, EPS)) -> Text:
    """ "Adam, beta_1 = 0.9, beta_2 = 0.999: m_t = ...; ...; w_t = ...": the optimizer's
    name, its hyperparameters but `besides` (printed elsewhere), and its rule entry by
    entry, each line a definition."""
    values = [(s, n) for s, n in optimizer.givens().items() if s not in besides]
    rule = listed([definition(*line) for line in optimizer.entrywise_lines()], sep=";")
    if not values:
        return say("{}: {}", optimizer.NAME, rule)
    return say("{}, {}: {}", optimizer.NAME, listed([eq(s, n) for s, n in values]), rule)


def _sub(a: Any, b: Any) -> Any:
    return sp.Add(a, -b, evaluate=False)


@dataclass(frozen=True)
class Momentum(Stateful):
    """Momentum: ``v <- beta v - eta g``, ``w <- w + v`` (v starts at 0)."""

    learning_rate: Any
    beta: Any
    kind: ClassVar[str] = "momentum"
    NAME: ClassVar[str] = "Momentum"

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

    def _symbols(self) -> list[tuple[sp.Symbol, Any, str]]:
        return [*super()._symbols(), (BETA, self.beta, "momentum beta")]

    def state(self) -> list[tuple[sp.Symbol, sp.Symbol]]:
        return [(_at("v", "t-1"), _at("v", "t"))]

    def lines(self) -> list[tuple[sp.Symbol, Any]]:
        v_old, v = _at("v", "t-1"), _at("v", "t")
        return [
            (v, sp.Add(BETA * v_old, -ETA * G, evaluate=False)),
            (W_NEW, sp.Add(W_OLD, v, evaluate=False)),
        ]

    def step(self, gradient: Any, velocity: Any = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(the new velocity, the step), which are equal: w + step is the new w."""
        v = _value(self.beta) * np.asarray(velocity, dtype=float) - self.rate * np.asarray(
            gradient, dtype=float
        )
        return v, v

    def update(
        self, gradient: np.ndarray, state: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        v, _ = self.step(gradient, state["v_{t-1}"])
        return v, {"v_t": v}

    def describe(self) -> str:
        return "momentum × previous step - learning rate × gradient"


@dataclass(frozen=True)
class Nesterov(Stateful):
    """Nesterov momentum in the form that needs the gradient at the current weights only:
    ``v <- beta v - eta g``, ``w <- w - beta v_old + (1 + beta) v``."""

    learning_rate: Any
    beta: Any
    kind: ClassVar[str] = "nesterov"
    NAME: ClassVar[str] = "Nesterov"

    def _symbols(self) -> list[tuple[sp.Symbol, Any, str]]:
        return [*super()._symbols(), (BETA, self.beta, "momentum beta")]

    def state(self) -> list[tuple[sp.Symbol, sp.Symbol]]:
        return [(_at("v", "t-1"), _at("v", "t"))]

    def lines(self) -> list[tuple[sp.Symbol, Any]]:
        v_old, v = _at("v", "t-1"), _at("v", "t")
        return [
            (v, sp.Add(BETA * v_old, -ETA * G, evaluate=False)),
            (W_NEW, sp.Add(W_OLD, -BETA * v_old, (1 + BETA) * v, evaluate=False)),
        ]

    def update(
        self, gradient: np.ndarray, state: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        beta, g = _value(self.beta), np.asarray(gradient, dtype=float)
        v_old = state["v_{t-1}"]
        v = beta * v_old - self.rate * g
        return -beta * v_old + (1 + beta) * v, {"v_t": v}

    def describe(self) -> str:
        return "Nesterov momentum, the gradient at the current weights"


@dataclass(frozen=True)
class AdaGrad(Stateful):
    """AdaGrad: ``G <- G + g^2``, ``w <- w - eta g / (sqrt(G) + eps)``."""

    learning_rate: Any
    epsilon: Any = 1e-8
    kind: ClassVar[str] = "adagrad"
    NAME: ClassVar[str] = "AdaGrad"

    def _symbols(self) -> list[tuple[sp.Symbol, Any, str]]:
        return [*super()._symbols(), (EPS, self.epsilon, "epsilon")]

    def state(self) -> list[tuple[sp.Symbol, sp.Symbol]]:
        return [(_at("G", "t-1"), _at("G", "t"))]

    def lines(self) -> list[tuple[sp.Symbol, Any]]:
        g_old, g_sum = _at("G", "t-1"), _at("G", "t")
        return [
            (g_sum, sp.Add(g_old, G**2, evaluate=False)),
            (W_NEW, _sub(W_OLD, ETA * G / (sp.sqrt(g_sum) + EPS))),
        ]

    def update(
        self, gradient: np.ndarray, state: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        g = np.asarray(gradient, dtype=float)
        total = state["G_{t-1}"] + g * g
        return -self.rate * g / (np.sqrt(total) + _value(self.epsilon)), {"G_t": total}

    def describe(self) -> str:
        return "AdaGrad: -learning rate × gradient / (root of the summed squares + epsilon)"


@dataclass(frozen=True)
class RMSProp(Stateful):
    """RMSProp: ``s <- rho s + (1 - rho) g^2``, ``w <- w - eta g / (sqrt(s) + eps)``."""

    learning_rate: Any
    rho: Any
    epsilon: Any = 1e-8
    kind: ClassVar[str] = "rmsprop"
    NAME: ClassVar[str] = "RMSProp"

    def _symbols(self) -> list[tuple[sp.Symbol, Any, str]]:
        return [*super()._symbols(), (RHO, self.rho, "decay rho"), (EPS, self.epsilon, "epsilon")]

    def state(self) -> list[tuple[sp.Symbol, sp.Symbol]]:
        return [(_at("s", "t-1"), _at("s", "t"))]

    def lines(self) -> list[tuple[sp.Symbol, Any]]:
        s_old, s = _at("s", "t-1"), _at("s", "t")
        return [
            (s, sp.Add(RHO * s_old, (1 - RHO) * G**2, evaluate=False)),
            (W_NEW, _sub(W_OLD, ETA * G / (sp.sqrt(s) + EPS))),
        ]

    def update(
        self, gradient: np.ndarray, state: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        g, rho = np.asarray(gradient, dtype=float), _value(self.rho)
        s = rho * state["s_{t-1}"] + (1 - rho) * g * g
        return -self.rate * g / (np.sqrt(s) + _value(self.epsilon)), {"s_t": s}

    def describe(self) -> str:
        return "RMSProp: -learning rate × gradient / (root of the mean square + epsilon)"


@dataclass(frozen=True)
class Adam(Stateful):
    """Adam with bias correction (Kingma and Ba): running means m and v of g and g^2,
    divided by ``1 - beta^t`` before the step."""

    learning_rate: Any
    beta1: Any = 0.9
    beta2: Any = 0.999
    epsilon: Any = 1e-8
    kind: ClassVar[str] = "adam"
    NAME: ClassVar[str] = "Adam"

    def _symbols(self) -> list[tuple[sp.Symbol, Any, str]]:
        return [
            *super()._symbols(),
            (BETA1, self.beta1, "beta 1"),
            (BETA2, self.beta2, "beta 2"),
            (EPS, self.epsilon, "epsilon"),
        ]

    def state(self) -> list[tuple[sp.Symbol, sp.Symbol]]:
        return [(_at("m", "t-1"), _at("m", "t")), (_at("v", "t-1"), _at("v", "t"))]

    def lines(self) -> list[tuple[sp.Symbol, Any]]:
        m_old, m, v_old, v = _at("m", "t-1"), _at("m", "t"), _at("v", "t-1"), _at("v", "t")
        m_hat, v_hat = _at(r"\hat{m}", "t"), _at(r"\hat{v}", "t")
        return [
            (m, sp.Add(BETA1 * m_old, (1 - BETA1) * G, evaluate=False)),
            (v, sp.Add(BETA2 * v_old, (1 - BETA2) * G**2, evaluate=False)),
            (m_hat, m / (1 - BETA1**T_)),
            (v_hat, v / (1 - BETA2**T_)),
            (W_NEW, _sub(W_OLD, ETA * m_hat / (sp.sqrt(v_hat) + EPS))),
        ]

    def update(
        self, gradient: np.ndarray, state: dict[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        g = np.asarray(gradient, dtype=float)
        b1, b2 = _value(self.beta1), _value(self.beta2)
        m = b1 * state["m_{t-1}"] + (1 - b1) * g
        v = b2 * state["v_{t-1}"] + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**count), v / (1 - b2**count)
        step = -self.rate * m_hat / (np.sqrt(v_hat) + _value(self.epsilon))
        return step, {"m_t": m, "v_t": v, r"\hat{m}_t": m_hat, r"\hat{v}_t": v_hat}

    def describe(self) -> str:
        return "Adam: bias-corrected running means of the gradient and its square"


__all__ = [
    "OPTIMIZERS",
    "SGD",
    "AdaGrad",
    "Adam",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "RMSProp",
    "Stateful",
    "statement",
]
