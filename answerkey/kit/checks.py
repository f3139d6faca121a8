"""Checks a part adds to its `numeric_checks` when its result is general.

* `arbitrary(name, stand_in)`: an arbitrary differentiable function ``f_1`` with its
  derivative ``f'_1`` (printed so); proofs treat both as opaque, random points
  evaluate them as the smooth `stand_in`.
* `activations_check`: a result derived with arbitrary functions, with concrete
  activations (sigmoid, tanh, ReLU, in any combination) put in, against central
  differences of the instance's loss with the same activations.
* `update_rule_check`: a gradient-descent rule stated in local quantities
  (``-theta delta_j z_i``), put in for each weight, equals ``-theta`` times the
  weight's verified gradient, exactly.
* `inactive`: the instance where a ReLU unit does not fire (its input negative), at
  which a remark's relations about such a unit (``relu'(s) = 0``) are checked.
* `backprop_rule_check`: the backward recursion ``delta_j = f'(s_j) sum_k w_jk delta_k``,
  implemented literally unit by unit, with the stated update rule, against
  ``-theta`` times central differences of every weight of a branching network.

Each returns the check records (and raises `VerificationError` naming `where` and
the point where it fails), so a part lists it as ``lambda: check(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..errors import VerificationError
from ..model import CheckRecord, Derivation, Instance, counted

FD_STEP = 1e-6
FD_TOL = 1e-6
#: the random range of a chain's inputs unless given: positive, so every ReLU stays active
DOMAIN = (0.2, 1.5)

_u = sp.Dummy("u")


def arbitrary(name: str, stand_in: Callable[[Any], Any]) -> tuple[Any, Any]:
    """An arbitrary differentiable function `name` ("f_1") and its derivative ("fprime_1",
    printed f'_1). Symbolic proofs treat both as opaque, so they hold for every f; numeric
    checks evaluate them as `stand_in` (a SymPy function of one argument) and its derivative
    (give each f a different one, so that confusing f'_2 with f'_3 is caught)."""
    base, _, index = name.partition("_")
    f_u = sp.sympify(stand_in(_u))
    prime = type(
        f"{base}prime_{index}" if index else f"{base}prime",
        (sp.Function,),
        {"nargs": 1, "_imp_": sp.Lambda(_u, sp.diff(f_u, _u))},
    )

    def fdiff(self: Any, argindex: int = 1) -> Any:
        return prime(self.args[0])

    func = type(name, (sp.Function,), {"nargs": 1, "_imp_": sp.Lambda(_u, f_u), "fdiff": fdiff})
    return func, prime


def _sigmoid(u: Any) -> Any:
    return 1 / (1 + sp.exp(-u))


#: concrete activations for `activations_check`, by name: the function and its derivative
ACTIVATIONS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "sigmoid": (_sigmoid, lambda u: _sigmoid(u) * (1 - _sigmoid(u))),
    "tanh": (sp.tanh, lambda u: 1 - sp.tanh(u) ** 2),
    "ReLU": (lambda u: sp.Max(u, 0), lambda u: sp.Heaviside(u, 0)),
}
_NUMPY: dict[str, Callable[[Any], Any]] = {
    "sigmoid": lambda u: 1.0 / (1.0 + np.exp(-u)),
    "tanh": np.tanh,
}


def _numeric(expr: Any, symbols: Sequence[Any]) -> Callable[..., float]:
    fn = sp.lambdify(list(symbols), expr, modules="numpy")
    return lambda *a: float(fn(*a))


def activations_check(
    where: str,
    result: Any,
    instance: Instance,
    loss: Any,
    wrt: Any,
    functions: Sequence[tuple[Any, Any]],
    sets: Sequence[Sequence[str]],
    domain: Mapping[str, tuple[float, float]] | None = None,
    points: int = 4,
    seed: int = 0,
) -> list[CheckRecord]:
    """`result`, the derivative of `loss` by the scalar `wrt` under `instance`'s scalar
    definitions, written with the arbitrary `functions` [(f, f'), ...], checked with each
    of `sets` of concrete activations (names in `ACTIVATIONS`) put in for f_1, f_2, ...:
    at `points` random inputs (`domain` by name, else `DOMAIN`), the result evaluated at
    the forward values against central differences of the loss by `wrt`."""
    rng = np.random.default_rng([seed, *str(wrt).encode()])
    defined = list(instance.defs)
    order = list(domain or {})
    free = set().union(*(sp.sympify(e).free_symbols for e in instance.defs.values()))
    inputs = sorted(
        free - set(defined),
        key=lambda s: (order.index(s.name), "") if s.name in order else (len(order), s.name),
    )
    names = ", ".join(str(f.__name__) for f, _ in functions)
    records = []
    for acts in sets:
        subs: list[tuple[Any, Any]] = []
        for (func, prime), act in zip(functions, acts, strict=True):
            subs += [(func, ACTIVATIONS[act][0]), (prime, ACTIVATIONS[act][1])]

        def put_in(e: Any, subs: list[tuple[Any, Any]] = subs) -> Any:
            for old, new in subs:
                e = sp.sympify(e).replace(old, new)
            return e

        steps = [(s, _numeric(put_in(instance.defs[s]), inputs + defined)) for s in defined]
        leftover = put_in(result).free_symbols - set(inputs) - set(defined)
        if leftover:
            raise VerificationError(
                where, f"result has unexpected symbols {sorted(map(str, leftover))}"
            )
        claim = _numeric(put_in(result), inputs + defined)

        def forward(v: dict[Any, float], steps: Any = steps) -> dict[Any, float]:
            out = dict(v)
            for symbol, fn in steps:
                out[symbol] = fn(*(out.get(s, 0.0) for s in inputs + defined))
            return out

        worst = 0.0
        for _ in range(points):
            v = {s: float(rng.uniform(*(domain or {}).get(s.name, DOMAIN))) for s in inputs}
            fwd = forward(v)
            claimed = claim(*(fwd[s] for s in inputs + defined))
            up, down = forward({**v, wrt: v[wrt] + FD_STEP}), forward({**v, wrt: v[wrt] - FD_STEP})
            fd = (up[loss] - down[loss]) / (2 * FD_STEP)
            err = abs(fd - claimed) / max(1.0, abs(fd))
            if not err <= FD_TOL:
                at = ", ".join(f"{s}={v[s]:.4g}" for s in inputs)
                raise VerificationError(
                    where,
                    f"with f = ({', '.join(acts)}) the result gives {claimed:.8g} but central "
                    f"differences give {fd:.8g} ({at})",
                )
            worst = max(worst, err)
        records.append(
            CheckRecord(
                "finite-difference",
                f"result with {names} = {', '.join(acts)}",
                f"matches central differences at {counted(points, 'point')} (error {worst:.1e})",
            )
        )
    return records


def _only(where: str, rule: Any, allowed: Sequence[Any]) -> None:
    extra = sp.sympify(rule).free_symbols - set(allowed)
    if extra:
        names = ", ".join(sorted(map(str, extra)))
        allowed_names = ", ".join(map(str, allowed))
        raise VerificationError(
            where, f"the stated update rule may use only {allowed_names}, not {names}"
        )


def inactive(pre: sp.Symbol, defs: Mapping[Any, Any], low: float = -1.5) -> Instance:
    """The instance with `defs` where the input `pre` of a ReLU unit is negative (random
    points in [low, -0.01]), labelled "pre < 0"."""
    return Instance(defs=dict(defs), domain={pre.name: (low, -0.01)}, label=f"{pre.name} < 0")


def update_rule_check(
    where: str,
    rule: Any,
    rate: Any,
    local: Sequence[Any],
    cases: Sequence[tuple[Derivation, Sequence[Any]]],
) -> list[CheckRecord]:
    """The stated update `rule`, in the learning `rate` and the `local` symbols (``delta_j,
    z_i``), against verified gradients: for each (derivation of dL/dw, the weight's own
    values of `local`), the rule must give ``-rate`` times the derivation's result exactly."""
    _only(where, rule, [rate, *local])
    for derivation, values in cases:
        gradient = derivation.steps[-1].expr
        update = rule.subs(dict(zip(local, values, strict=True)), simultaneous=True)
        if sp.expand(update + rate * gradient) != 0:
            raise VerificationError(
                where,
                f"the stated rule gives Delta {derivation.lhs.x} = {update}, "
                f"but -{rate} times the verified {derivation.lhs} is {-rate * gradient}",
            )
    return [
        CheckRecord(
            "symbolic",
            "update rule",
            f"equals -{rate} times the verified gradient for "
            + ("the 1 weight" if len(cases) == 1 else f"each of the {len(cases)} weights"),
        )
    ]


_DERIVATIVE = {
    "sigmoid": lambda f, s: float(f(s) * (1 - f(s))),
    "tanh": lambda f, s: float(1 - f(s) ** 2),
}


def backprop_rule_check(
    where: str,
    rule: Any,
    rate: Any,
    delta: Any,
    source: Any,
    sizes: Sequence[int] = (2, 3, 2, 1),
    activations: Sequence[str] = tuple(_NUMPY),
    seed: int = 0,
) -> list[CheckRecord]:
    """The backward recursion and the stated update `rule` (in `rate`, the error signal
    `delta` of the unit a weight feeds and the weight's `source` value) on a network of
    `sizes` (weights between consecutive layers, every unit with the activation, loss
    ``(z_out - target)^2 / 2``): delta_j = f'(s_j) sum_k w_jk delta_k computed unit by unit,
    each weight's update by the rule against ``-rate`` times central differences."""
    _only(where, rule, [rate, delta, source])
    update = sp.lambdify((rate, delta, source), rule, "math")
    rng = np.random.default_rng([seed, 17])
    lr = 0.3
    layers = "-".join(map(str, sizes))
    records = []
    for act in activations:
        f = _NUMPY[act]
        Ws = [rng.uniform(-1, 1, size=(sizes[i], sizes[i + 1])) for i in range(len(sizes) - 1)]
        x = rng.uniform(-1, 1, size=sizes[0])
        target = float(rng.uniform(-0.5, 0.5))

        def loss(Ws: list[np.ndarray], f: Any = f, x: np.ndarray = x, t: float = target) -> float:
            z = x
            for W in Ws:
                z = f(z @ W)
            return float(0.5 * (z[0] - t) ** 2)

        zs, ss = [x], []
        for W in Ws:
            ss.append(zs[-1] @ W)
            zs.append(f(ss[-1]))
        fprime = _DERIVATIVE[act]
        deltas: list[list[float]] = [[] for _ in Ws]
        deltas[-1] = [(zs[-1][0] - target) * fprime(f, ss[-1][0])]
        for layer in range(len(Ws) - 2, -1, -1):
            nxt = Ws[layer + 1]
            deltas[layer] = [
                fprime(f, ss[layer][j])
                * sum(nxt[j, k] * deltas[layer + 1][k] for k in range(nxt.shape[1]))
                for j in range(nxt.shape[0])
            ]
        worst = 0.0
        for layer, W in enumerate(Ws):
            for i, j in np.ndindex(*W.shape):
                stated = float(update(lr, deltas[layer][j], zs[layer][i]))
                up, down = [M.copy() for M in Ws], [M.copy() for M in Ws]
                up[layer][i, j] += FD_STEP
                down[layer][i, j] -= FD_STEP
                fd = -lr * (loss(up) - loss(down)) / (2 * FD_STEP)
                err = abs(fd - stated) / max(1.0, abs(fd))
                if not err <= 1e-5:
                    raise VerificationError(
                        where,
                        f"backward rule with {act}: Delta W for layer {layer + 1}, "
                        f"unit {i + 1} -> {j + 1} is {stated:.8g}, "
                        f"finite differences give {fd:.8g}",
                    )
                worst = max(worst, err)
        records.append(
            CheckRecord(
                "finite-difference",
                f"backward rule on a {layers} {act} network",
                f"every Delta W_(i->j) by the stated rule matches -{rate} times central "
                f"differences (error {worst:.1e})",
            )
        )
    return records
