"""Derivation steps verified once by the engine, which a derivation cites instead of re-deriving.

A `Fragment` is a small general result (``dE/dz = (y - t)^T`` for softmax with
cross-entropy, say) with its own derivation, checked by the engine like any
part's (`verify`: step by step, symbolically and numerically, and against
finite differences). A derivation cites it with `step`, which writes the result
in the citing exercise's symbols, with the fragment's name as the reason; the part
that cites it runs `fragment.check` (listed in its `numeric_checks` or not), which
verifies the fragment itself (once per process) and records it in the key's checks. The cited
step is then verified in its own derivation too, like every step: a citation
that does not fit fails there.

The fragments and their roles (the keywords of `step` and `statement`):

* `SOFTMAX_CROSS_ENTROPY` (E, z, y, t): y = softmax(z), E = -t^T log y, t one-hot;
  dE/dz = (y - t)^T.
* `SIGMOID_BINARY_CROSS_ENTROPY` (E, z, y, t): y = sigmoid(z), binary cross-entropy,
  t in [0, 1]; dE/dz = (y - t)^T.
* `SIGMOID_DERIVATIVE` (y, z): dy/dz = diag(y * (1 - y)).
* `LINEAR_BACKWARD` (E, z, W, x): z = W x; dE/dx = dE/dz W.
* `OUTER_PRODUCT` (E, z, W, x): z = W x; dE/dW = (dE/dz)^T x^T.
* `BATCH_OUTER_PRODUCT` (E, Z, W, X): Z = W X, E a mean over columns; dE/dW = dE/dZ X^T.
* `L2_PENALTY` (E_reg, E, W, lambda): E_reg = E + lambda/2 ||W||^2;
  dE_reg/dW = dE/dW + lambda W.

`FRAGMENT.roles` lists a fragment's roles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..mathfns import D, T, diag, elementwise, eq, hadamard_ones_minus, mm, softmax, sqnorm
from ..model import CheckRecord, Derivation, Instance, Step, counted, text


@dataclass(frozen=True, eq=False)
class Fragment:
    """A verified general step: `derivation` proves ``lhs = result`` in the fragment's
    own symbols (`symbols`, by role: ``{"E": E, "z": z, ...}``)."""

    name: str
    derivation: Derivation
    symbols: Mapping[str, Any]

    @property
    def lhs(self) -> Any:
        return self.derivation.lhs

    @property
    def roles(self) -> tuple[str, ...]:
        """The role names `step` and `statement` take as keywords (``("E", "z", "y", "t")``)."""
        return tuple(self.symbols)

    @property
    def result(self) -> Any:
        return self.derivation.steps[-1].expr

    def verify(self) -> list[CheckRecord]:
        """The engine's check of the fragment's own derivation (memoised per process)."""
        if id(self) not in _VERIFIED:
            from ..verify import verify_derivation

            rng = np.random.default_rng([0, *self.name.encode()])
            records = verify_derivation(f"fragment '{self.name}'", self.derivation, rng)
            _VERIFIED[id(self)] = (self, records)
        return list(_VERIFIED[id(self)][1])

    def check(self) -> list[CheckRecord]:
        """For a part's `numeric_checks`: the fragment verified, in one record."""
        records = self.verify()
        return [
            CheckRecord(
                "fragment",
                self.name,
                f"the cited fragment is verified by the engine ({counted(len(records), 'check')})",
            )
        ]

    def rewrite(self, expr: Any, **roles: Any) -> Any:
        """`expr`, written in the fragment's symbols, in the citing exercise's symbols."""
        unknown = set(roles) - set(self.symbols)
        if unknown:
            raise ValueError(
                f"fragment '{self.name}' has no role {', '.join(sorted(unknown))}; "
                f"its roles: {', '.join(self.symbols)}"
            )
        return expr.xreplace({self.symbols[r]: v for r, v in roles.items()})

    def step(self, *reason: Any, **roles: Any) -> Step:
        """The fragment's result in the citing exercise's symbols (``z=z2, y=y2, t=t``),
        as a derivation step whose reason names the fragment (and `reason`, if any)."""
        return Step(self.rewrite(self.result, **roles), text(self.name, *reason), cites=self)

    def statement(self, **roles: Any) -> Any:
        """``lhs = result`` in the citing exercise's symbols, for prose."""
        return eq(self.rewrite(self.lhs, **roles), self.rewrite(self.result, **roles))


_VERIFIED: dict[int, tuple[Fragment, list[CheckRecord]]] = {}

# The fragments' own sizes: all different, so a confused index cannot pass.
_n, _K = sp.symbols("n_f K_f", integer=True, positive=True)
_SIZES = {_n: 3, _K: 4}
_x = sp.MatrixSymbol("x", _n, 1)
_W = sp.MatrixSymbol("W", _K, _n)
_z = sp.MatrixSymbol("z", _K, 1)
_y = sp.MatrixSymbol("y", _K, 1)
_t = sp.MatrixSymbol("t", _K, 1)
_E = sp.Symbol("E")
_ONES = sp.OneMatrix(_K, 1)


def _one_hot(k: int) -> dict[str, Any]:
    names = [f"t_{i}" for i in range(1, k + 1)]
    return {names[-1]: 1 - sum(sp.Symbol(v) for v in names[:-1])}


def _ce_of_softmax(v: Mapping[str, Any]) -> float:
    """-t^T log softmax(z) in NumPy, t one-hot (its last entry 1 minus the others)."""
    z = np.asarray(v["z"], dtype=float)
    log_p = z - z.max() - np.log(np.exp(z - z.max()).sum())
    t = np.array(v["t"], dtype=float).reshape(z.shape)
    t[-1] = 1.0 - t[:-1].sum()
    return float(-(t * log_p).sum())


def _bce_of_sigmoid(v: Mapping[str, Any]) -> float:
    """-(t^T log sigmoid(z) + (1 - t)^T log(1 - sigmoid(z))) in NumPy, from the logits."""
    z = np.asarray(v["z"], dtype=float)
    t = np.asarray(v["t"], dtype=float).reshape(z.shape)
    return float((t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z)).sum())


def _smooth_loss(v: Mapping[str, Any]) -> float:
    """The test loss the linear-layer fragments are checked under: sum of log(1 + z^2)
    over z = W x, in NumPy."""
    z = np.asarray(v["W"], dtype=float) @ np.asarray(v["x"], dtype=float)
    return float(np.log1p(z**2).sum())


def _after_linear() -> Instance:
    """z = W x and a smooth scalar E of z (any E would do: only dE/dz enters)."""
    sq = sp.HadamardProduct(_z, _z)
    defs = {_z: mm(_W, _x), _E: mm(sp.OneMatrix(1, _K), elementwise("log", _ONES + sq))}
    return Instance(sizes=_SIZES, defs=defs, label="3 inputs, 4 outputs")


def _make(
    name: str,
    lhs: Any,
    steps: list[tuple[Any, str]],
    instance: Instance,
    symbols: Mapping[str, Any],
    oracle: Callable[[Mapping[str, Any]], float] | None = None,
) -> Fragment:
    derivation = Derivation(
        lhs, tuple(Step(e, text(r)) for e, r in steps), (instance,), oracle=oracle
    )
    return Fragment(name, derivation, symbols)


SOFTMAX_CROSS_ENTROPY = _make(
    "softmax with cross-entropy",
    D(_E, _z),
    [
        (mm(D(_E, _y), D(_y, _z)), "chain rule"),
        (
            -mm(T(_t), sp.Inverse(diag(_y)), sp.MatAdd(diag(_y), -mm(_y, T(_y)))),
            "dE/dy = -t^T diag(y)^-1, softmax Jacobian diag(y) - y y^T",
        ),
        (sp.MatAdd(-T(_t), mm(T(_t), _ONES, T(_y))), "multiply out"),
        (T(_y - _t), "the target is one-hot: t^T 1 = 1"),
    ],
    Instance(
        sizes={_K: 4},
        defs={_y: softmax(_z), _E: -mm(T(_t), elementwise("log", _y))},
        given=_one_hot(4),
        domain={"t": (0.0, 0.25)},
        label="4 classes",
    ),
    {"E": _E, "z": _z, "y": _y, "t": _t},
    oracle=_ce_of_softmax,
)

SIGMOID_BINARY_CROSS_ENTROPY = _make(
    "sigmoid with binary cross-entropy",
    D(_E, _z),
    [
        (mm(D(_E, _y), D(_y, _z)), "chain rule"),
        (
            mm(
                sp.MatAdd(
                    -mm(T(_t), sp.Inverse(diag(_y))),
                    mm(T(hadamard_ones_minus(_t)), sp.Inverse(diag(hadamard_ones_minus(_y)))),
                ),
                diag(sp.HadamardProduct(_y, hadamard_ones_minus(_y))),
            ),
            "dE/dy = -t^T diag(y)^-1 + (1 - t)^T diag(1 - y)^-1, sigma' = sigma (1 - sigma)",
        ),
        (T(_y - _t), "multiply out the diagonal matrices"),
    ],
    Instance(
        sizes={_K: 4},
        defs={
            _y: elementwise("sigmoid", _z),
            _E: -(
                mm(T(_t), elementwise("log", _y))
                + mm(T(hadamard_ones_minus(_t)), elementwise("log", hadamard_ones_minus(_y)))
            ),
        },
        domain={"t": (0.0, 1.0)},
        label="4 outputs",
    ),
    {"E": _E, "z": _z, "y": _y, "t": _t},
    oracle=_bce_of_sigmoid,
)

SIGMOID_DERIVATIVE = _make(
    "the sigmoid's derivative",
    D(_y, _z),
    [(diag(sp.HadamardProduct(_y, hadamard_ones_minus(_y))), "sigma' = sigma (1 - sigma)")],
    Instance(sizes={_K: 4}, defs={_y: elementwise("sigmoid", _z)}, label="4 units"),
    {"y": _y, "z": _z},
)

LINEAR_BACKWARD = _make(
    "a linear layer's backward step",
    D(_E, _x),
    [(mm(D(_E, _z), D(_z, _x)), "chain rule"), (mm(D(_E, _z), _W), "z = W x")],
    _after_linear(),
    {"E": _E, "z": _z, "W": _W, "x": _x},
    oracle=_smooth_loss,
)

OUTER_PRODUCT = _make(
    "a weight matrix's gradient is an outer product",
    D(_E, _W),
    [(mm(T(D(_E, _z)), T(_x)), "dE/dW_kj = dE/dz_k x_j")],
    _after_linear(),
    {"E": _E, "z": _z, "W": _W, "x": _x},
    oracle=_smooth_loss,
)

# A mini-batch: one column per sample (2 samples, so no size coincides), E a smooth mean.
_m = sp.Symbol("m_f", integer=True, positive=True)
_X = sp.MatrixSymbol("X", _n, _m)
_Z = sp.MatrixSymbol("Z", _K, _m)


def _smooth_batch_loss(v: Mapping[str, Any]) -> float:
    """The mean over the columns of sum of log(1 + z^2), z a column of Z = W X, in NumPy."""
    z = np.asarray(v["W"], dtype=float) @ np.asarray(v["X"], dtype=float)
    return float(np.log1p(z**2).sum(axis=0).mean())


def _after_linear_batch() -> Instance:
    sq = sp.HadamardProduct(_Z, _Z)
    mean = (1 / _m) * mm(sp.OneMatrix(1, _K), elementwise("log", sp.OneMatrix(_K, _m) + sq))
    defs = {_Z: mm(_W, _X), _E: mm(mean, sp.OneMatrix(_m, 1))}
    return Instance(sizes={**_SIZES, _m: 2}, defs=defs, label="3 inputs, 4 outputs, 2 samples")


BATCH_OUTER_PRODUCT = _make(
    "over a mini-batch, a weight gradient is one matrix product",
    D(_E, _W),
    [(mm(D(_E, _Z), T(_X)), "dE/dW_kj = sum over the samples c of dE/dZ_kc X_jc")],
    _after_linear_batch(),
    {"E": _E, "Z": _Z, "W": _W, "X": _X},
    oracle=_smooth_batch_loss,
)

# An L2 penalty on W: E_reg = E + lambda/2 ||W||^2.
_lam = sp.Symbol("lambda", positive=True)
_E_reg = sp.Symbol("E_reg")


def _penalised_loss(v: Mapping[str, Any]) -> float:
    w = np.asarray(v["W"], dtype=float)
    return _smooth_loss(v) + 0.5 * float(np.asarray(v["lambda"]).item()) * float((w**2).sum())


def _penalised() -> Instance:
    base = _after_linear()
    norm = sp.Symbol("sqnorm_W")  # a scalar: E is one, the 1x1 sqnorm a matrix
    defs = {**base.defs, norm: sqnorm(_W), _E_reg: _E + _lam / 2 * norm}
    return Instance(sizes=_SIZES, defs=defs, domain={"lambda": (0.01, 1.0)}, label=base.label)


L2_PENALTY = _make(
    "an L2 penalty adds lambda W to the gradient",
    D(_E_reg, _W),
    [(D(_E, _W) + _lam * _W, "d(lambda/2 ||W||^2)/dW = lambda W")],
    _penalised(),
    {"E_reg": _E_reg, "E": _E, "W": _W, "lambda": _lam},
    oracle=_penalised_loss,
)

FRAGMENTS = (
    SOFTMAX_CROSS_ENTROPY,
    SIGMOID_BINARY_CROSS_ENTROPY,
    SIGMOID_DERIVATIVE,
    LINEAR_BACKWARD,
    OUTER_PRODUCT,
    BATCH_OUTER_PRODUCT,
    L2_PENALTY,
)
