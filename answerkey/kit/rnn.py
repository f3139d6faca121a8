"""A tanh recurrent cell unrolled over T steps, backpropagation through time, and an LSTM
cell's gates, with scalar states (the size a by-hand exercise uses).

`TanhRNN(steps)`: ``h_t = tanh(w h_(t-1) + u x_t + b)`` for t = 1..T from a given
``h_0``, and the loss at the last step ``E = (h_T - y)^2 / 2``. It gives

* `instance()` (the definitions, one per time step) and `oracle` (NumPy, a loop);
* `through_time(p)`: ``dE/dp`` as the sum over time of each step's local gradient,
  ``sum_t dE/dh_t (1 - h_t^2) dz_t/dp`` with ``dE/dh_t`` the *total* derivative
  (through every later step) — the gradient is never the last step's term alone;
* `signals()`: ``dE/dh_t`` unrolled back from ``dE/dh_T = h_T - y``, each one the
  next times ``(1 - h_(t+1)^2) w``, and `expanded(p)`, the sum with them put in, or
  `nested(p)`, the same with the common factors taken out (shorter to print);
* `jacobian_product(k, t)`: ``dh_t/dh_k = prod_(j=k+1..t) w (1 - h_j^2)``, the product
  that vanishes (every factor below 1 in size) or explodes over long spans.

`LSTMCell()`: one step of an LSTM with scalar state, the gates ``f, i, o = sigma(...)``,
the candidate ``g = tanh(...)``, ``c = f c_prev + i g`` and ``h = o tanh(c)``
(`instance`, `oracle`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from ..mathfns import D, sigmoid
from ..model import Instance
from .fragments import Fragment
from .writing import derive


def _f(v: Any) -> float:
    return float(np.asarray(v, dtype=float).reshape(-1)[0])


class TanhRNN:
    """A scalar tanh RNN unrolled over `steps` (see the module's docstring)."""

    def __init__(self, steps: int = 3) -> None:
        self.steps = steps
        self.w, self.u, self.b, self.y, self.E = sp.symbols("w u b y E")
        self.h = [sp.Symbol(f"h_{t}") for t in range(steps + 1)]
        self.x = [None, *(sp.Symbol(f"x_{t}") for t in range(1, steps + 1))]

    def pre(self, t: int) -> Any:
        """z_t = w h_(t-1) + u x_t + b."""
        return self.w * self.h[t - 1] + self.u * self.x[t] + self.b

    def definitions(self) -> dict[Any, Any]:
        defs: dict[Any, Any] = {self.h[t]: sp.tanh(self.pre(t)) for t in range(1, self.steps + 1)}
        defs[self.E] = (self.h[-1] - self.y) ** 2 / 2
        return defs

    def instance(self) -> Instance:
        return Instance(defs=self.definitions(), label=f"T = {self.steps}")

    def oracle(self, v: Mapping[str, Any]) -> dict[str, float]:
        """NumPy, a loop over time (a state given by name overrides its computation)."""
        w, u, b = _f(v["w"]), _f(v["u"]), _f(v["b"])
        h, out = _f(v["h_0"]), {}
        for t in range(1, self.steps + 1):
            name = f"h_{t}"
            h = _f(v[name]) if name in v else float(np.tanh(w * h + u * _f(v[f"x_{t}"]) + b))
            out[name] = h
        return {**out, "E": 0.5 * (h - _f(v["y"])) ** 2}

    # ------------------------------------------------------------------ backward
    def local(self, t: int, p: Any) -> Any:
        """dz_t/dp for p among w, u, b (h_(t-1), x_t, 1)."""
        return {self.w: self.h[t - 1], self.u: self.x[t], self.b: sp.Integer(1)}[p]

    def through_time(self, p: Any) -> Any:
        """sum_t dE/dh_t (1 - h_t^2) dz_t/dp, latest step first, as written."""
        terms = [
            sp.Mul(D(self.E, self.h[t]), 1 - self.h[t] ** 2, self.local(t, p), evaluate=False)
            for t in range(self.steps, 0, -1)
        ]
        return sp.Add(*terms, evaluate=False)

    def signals(self) -> dict[Any, Any]:
        """dE/dh_t for t = T..1, each from the next: (h_T - y), then times (1 - h^2) w."""
        out = {self.h[-1]: self.h[-1] - self.y}
        for t in range(self.steps - 1, 0, -1):
            nxt = self.h[t + 1]
            out[self.h[t]] = sp.Mul(out[nxt], 1 - nxt**2, self.w, evaluate=False)
        return out

    def expanded(self, p: Any) -> Any:
        """`through_time` with every dE/dh_t written out by `signals`."""
        signals = self.signals()
        terms = [
            sp.Mul(signals[self.h[t]], 1 - self.h[t] ** 2, self.local(t, p), evaluate=False)
            for t in range(self.steps, 0, -1)
        ]
        return sp.Add(*terms, evaluate=False)

    def nested(self, p: Any) -> Any:
        """The same sum with the common factors taken out, latest step outside:
        ``(h_T - y)(1 - h_T^2)(l_T + w (1 - h_(T-1)^2)(l_(T-1) + ...))``, l_t = dz_t/dp."""
        inner = self.local(1, p)
        for t in range(2, self.steps + 1):
            carried = sp.Mul(self.w, 1 - self.h[t - 1] ** 2, inner, evaluate=False)
            inner = sp.Add(self.local(t, p), carried, evaluate=False)
        last = self.h[-1]
        return sp.Mul(last - self.y, 1 - last**2, inner, evaluate=False)

    def jacobian_product(self, k: int, t: int) -> Any:
        """dh_t/dh_k = prod_(j = k+1..t) w (1 - h_j^2)."""
        factors = [sp.Mul(self.w, 1 - self.h[j] ** 2, evaluate=False) for j in range(k + 1, t + 1)]
        return sp.Mul(*factors, evaluate=False)


class LSTMCell:
    """One LSTM step with scalar state (see the module's docstring)."""

    GATES = ("f", "i", "o", "g")

    def __init__(self) -> None:
        self.x, self.h_prev, self.c_prev, self.c, self.h = sp.symbols("x h_prev c_prev c h")
        self.gate = {k: sp.Symbol(k) for k in self.GATES}
        self.weights = {k: sp.symbols(f"w_{k} u_{k} b_{k}") for k in self.GATES}

    def pre(self, k: str) -> Any:
        w, u, b = self.weights[k]
        return w * self.x + u * self.h_prev + b

    def definitions(self) -> dict[Any, Any]:
        defs: dict[Any, Any] = {self.gate[k]: sigmoid(self.pre(k)) for k in ("f", "i", "o")}
        defs[self.gate["g"]] = sp.tanh(self.pre("g"))
        f, i, o, g = (self.gate[k] for k in self.GATES)
        defs[self.c] = f * self.c_prev + i * g
        defs[self.h] = o * sp.tanh(self.c)
        return defs

    def instance(self) -> Instance:
        return Instance(defs=self.definitions(), label="one LSTM step")

    def inputs(self, numbers: Mapping[str, Any]) -> dict[Any, Any]:
        """{symbol: value} from ``{"x", "h_prev", "c_prev", "w", "u", "b"}``, the last
        three a number per gate in the order f, i, o, g."""
        out = {self.x: numbers["x"], self.h_prev: numbers["h_prev"], self.c_prev: numbers["c_prev"]}
        for n, k in enumerate(self.GATES):
            out |= dict(zip(self.weights[k], (numbers[r][n] for r in "wub"), strict=True))
        return out

    def shown(self) -> list[Any]:
        """The gates, the cell state and the output, in the order computed."""
        return [*self.gate.values(), self.c, self.h]

    def oracle(self, v: Mapping[str, Any]) -> dict[str, float]:
        x, h_prev, c_prev = _f(v["x"]), _f(v["h_prev"]), _f(v["c_prev"])

        def pre(k: str) -> float:
            return _f(v[f"w_{k}"]) * x + _f(v[f"u_{k}"]) * h_prev + _f(v[f"b_{k}"])

        out = {k: 1.0 / (1.0 + np.exp(-pre(k))) for k in ("f", "i", "o")}
        out["g"] = float(np.tanh(pre("g")))
        out["c"] = out["f"] * c_prev + out["i"] * out["g"]
        out["h"] = out["o"] * float(np.tanh(out["c"]))
        return {k: float(val) for k, val in out.items()}


@functools.cache
def fragments(steps: int = 3) -> tuple[Fragment, ...]:
    """Backpropagation through time over `steps` as citable fragments: dE/dw, dE/du and
    dE/db as a sum over time with the total dE/dh_t, then nested (the signals put in), and
    dh_T/dh_1 as the product of one Jacobian per step; roles w, u, b, y, E and h_0..h_T."""
    rnn = TanhRNN(steps)
    inst, roles = rnn.instance(), {"w": rnn.w, "u": rnn.u, "b": rnn.b, "y": rnn.y, "E": rnn.E}
    roles |= {f"h_{t}": h for t, h in enumerate(rnn.h)}
    made = [
        Fragment(
            f"backpropagation through time to {p}",
            derive(
                D(rnn.E, p),
                [(rnn.through_time(p), "a sum over time"), (rnn.nested(p), "the signals put in")],
                [inst],
                rnn.oracle,
            ),
            roles,
        )
        for p in (rnn.w, rnn.u, rnn.b)
    ]
    product = [(rnn.jacobian_product(1, steps), "chain rule, one factor per step")]
    jac = derive(D(rnn.h[-1], rnn.h[1]), product, [inst])
    return (*made, Fragment("the product of Jacobians through time", jac, roles))


__all__ = ["LSTMCell", "TanhRNN", "fragments"]
