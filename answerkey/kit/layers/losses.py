"""The losses: cross-entropy, binary cross-entropy, squared error and multiclass hinge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ...mathfns import D, T, diag, elementwise, hadamard_ones_minus, mm
from ...model import Instance
from ..fragments import SIGMOID_BINARY_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY, Fragment
from .activations import Sigmoid, Softmax
from .base import E, K, Layer, Loss, Rule, fragment, t, y


def _one_hot_sum(columns: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Each column's last entry is 1 minus the others (a one-hot target sums to one)."""
    return {c[-1]: 1 - sum(sp.Symbol(e) for e in c[:-1]) for c in columns}


def _mean(row: Any, entries: Any, samples: Any) -> Any:
    return mm(row, entries, sp.OneMatrix(samples, 1))


@dataclass(frozen=True)
class CrossEntropy(Loss):
    """``E = -t^T log y`` with a one-hot target t (after a softmax)."""

    kind: ClassVar[str] = "cross_entropy"

    def definition(self, out: Any, target: Any) -> Any:
        return -mm(T(target), elementwise("log", out))

    def batch_definition(self, out: Any, target: Any, samples: Any) -> Any:
        row = sp.OneMatrix(1, out.shape[0])
        log = sp.HadamardProduct(target, elementwise("log", out))
        return -(1 / samples) * _mean(row, log, samples)

    def target(self, columns: Sequence[Sequence[str]], name: str) -> tuple[dict, dict]:
        # one-hot, the free components small enough to keep the last one in [0, 1]
        return _one_hot_sum(columns), {name: (0.0, 1.0 / len(columns[0]))}

    def np_target(self, target: np.ndarray) -> np.ndarray:
        t = np.array(target, dtype=float).reshape(-1, 1)
        t[-1] = 1.0 - t[:-1].sum()  # the instance's one-hot assumption
        return t

    def np_loss(self, out: np.ndarray, target: np.ndarray) -> float:
        return float(-(target * np.log(out)).sum())

    def np_gradient(self, out: np.ndarray, target: np.ndarray) -> np.ndarray:
        return -target / out  # type: ignore[no-any-return]

    def np_from_logits(self, last: Layer, z: np.ndarray, target: np.ndarray) -> float | None:
        if not isinstance(last, Softmax):
            return None
        # log-softmax, which never takes the log of an underflowed 0
        log_y = z - z.max(axis=0) - np.log(np.exp(z - z.max(axis=0)).sum(axis=0))
        return float(-(target * log_y).sum())

    def gradient(self, out: Any, target: Any) -> Rule:
        f = CROSS_ENTROPY
        return Rule(f.rewrite(f.result, y=out, t=target), f, f.name)

    def column(self, out: Any, target: Any) -> Any:
        return -mm(sp.Inverse(diag(out)), target)

    def fused(self, last: Layer, z: Any, out: Any, target: Any) -> Rule | None:
        if not isinstance(last, Softmax):
            return None
        f = SOFTMAX_CROSS_ENTROPY
        return Rule(f.rewrite(f.result, y=out, t=target), f, f.name)

    def fused_column(self, last: Layer, z: Any, out: Any, target: Any) -> Any:
        return out - target

    def fragments(self) -> list[Fragment]:
        return [CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY]


@dataclass(frozen=True)
class BinaryCrossEntropy(Loss):
    """``E = -(t^T log y + (1 - t)^T log(1 - y))`` after a sigmoid output: each output an
    independent probability, each target in [0, 1] (not one-hot)."""

    kind: ClassVar[str] = "binary_cross_entropy"

    def check_output(self, last: Layer) -> None:
        if not isinstance(last, Sigmoid):
            raise ValueError("binary_cross_entropy() needs a sigmoid output layer")

    def definition(self, out: Any, target: Any) -> Any:
        log_y, log_1my = elementwise("log", out), elementwise("log", hadamard_ones_minus(out))
        return -(mm(T(target), log_y) + mm(T(hadamard_ones_minus(target)), log_1my))

    def batch_definition(self, out: Any, target: Any, samples: Any) -> Any:
        row = sp.OneMatrix(1, out.shape[0])
        log_y = sp.HadamardProduct(target, elementwise("log", out))
        log_1my = elementwise("log", hadamard_ones_minus(out))
        log_1my = sp.HadamardProduct(hadamard_ones_minus(target), log_1my)
        return -(1 / samples) * _mean(row, log_y + log_1my, samples)

    def target(self, columns: Sequence[Sequence[str]], name: str) -> tuple[dict, dict]:
        return {}, {name: (0.0, 1.0)}  # any target in [0, 1]

    def np_loss(self, out: np.ndarray, target: np.ndarray) -> float:
        return float(-(target * np.log(out) + (1 - target) * np.log(1 - out)).sum())

    def np_gradient(self, out: np.ndarray, target: np.ndarray) -> np.ndarray:
        return -target / out + (1 - target) / (1 - out)  # type: ignore[no-any-return]

    def np_from_logits(self, last: Layer, z: np.ndarray, target: np.ndarray) -> float | None:
        # log y = -log(1 + e^-z), log(1 - y) = -log(1 + e^z)
        log_pq = target * np.logaddexp(0, -z) + (1 - target) * np.logaddexp(0, z)
        return float(log_pq.sum())

    def gradient(self, out: Any, target: Any) -> Rule:
        f = BINARY_CROSS_ENTROPY
        return Rule(f.rewrite(f.result, y=out, t=target), f, f.name)

    def column(self, out: Any, target: Any) -> Any:
        return T(BINARY_CROSS_ENTROPY.rewrite(BINARY_CROSS_ENTROPY.result, y=out, t=target))

    def fused(self, last: Layer, z: Any, out: Any, target: Any) -> Rule | None:
        f = SIGMOID_BINARY_CROSS_ENTROPY
        return Rule(f.rewrite(f.result, y=out, t=target), f, f.name)

    def fused_column(self, last: Layer, z: Any, out: Any, target: Any) -> Any:
        return out - target

    def fragments(self) -> list[Fragment]:
        return [BINARY_CROSS_ENTROPY, SIGMOID_BINARY_CROSS_ENTROPY]


@dataclass(frozen=True)
class SquaredError(Loss):
    """``E = 1/2 (y - t)^T (y - t)``."""

    kind: ClassVar[str] = "squared_error"

    def definition(self, out: Any, target: Any) -> Any:
        return sp.Rational(1, 2) * mm(T(out - target), out - target)

    def batch_definition(self, out: Any, target: Any, samples: Any) -> Any:
        row = sp.OneMatrix(1, out.shape[0])
        squares = sp.HadamardProduct(out - target, out - target)
        return (1 / (2 * samples)) * _mean(row, squares, samples)

    def np_loss(self, out: np.ndarray, target: np.ndarray) -> float:
        return float(0.5 * ((out - target) ** 2).sum())

    def np_gradient(self, out: np.ndarray, target: np.ndarray) -> np.ndarray:
        return out - target  # type: ignore[no-any-return]

    def gradient(self, out: Any, target: Any) -> Rule:
        f = SQUARED_ERROR
        return Rule(f.rewrite(f.result, y=out, t=target), f, f.name)

    def column(self, out: Any, target: Any) -> Any:
        return out - target

    def fragments(self) -> list[Fragment]:
        return [SQUARED_ERROR]


@dataclass(frozen=True)
class Hinge(Loss):
    """Multiclass hinge: ``E = sum over j != class of max(0, y_j - y_class + margin)``,
    the class given by a one-hot t. (No matrix form of dE/dy: no generated derivation.)"""

    margin: float = 1.0
    kind: ClassVar[str] = "hinge"

    def definition(self, out: Any, target: Any) -> Any:
        ones = sp.OneMatrix(out.shape[0], 1)
        margin = sp.nsimplify(self.margin)
        score_gap = out - mm(ones, T(target), out) + margin * ones
        return mm(T(hadamard_ones_minus(target)), elementwise("relu", score_gap))

    def batch_definition(self, out: Any, target: Any, samples: Any) -> Any:
        k = out.shape[0]
        row = sp.OneMatrix(1, k)
        true_score = mm(sp.OneMatrix(k, k), sp.HadamardProduct(target, out))
        gap = out - true_score + sp.nsimplify(self.margin) * sp.OneMatrix(k, samples)
        active = sp.HadamardProduct(hadamard_ones_minus(target), elementwise("relu", gap))
        return (1 / samples) * _mean(row, active, samples)

    def target(self, columns: Sequence[Sequence[str]], name: str) -> tuple[dict, dict]:
        # exactly one-hot: class 1
        return {e: int(i == 0) for c in columns for i, e in enumerate(c)}, {}

    def np_loss(self, out: np.ndarray, target: np.ndarray) -> float:
        true = float((target * out).sum())
        return float(((1 - target) * np.maximum(out - true + self.margin, 0.0)).sum())

    def np_gradient(self, out: np.ndarray, target: np.ndarray) -> np.ndarray:
        true = float((target * out).sum())
        active = (1 - target) * (out - true + self.margin > 0)
        return active - target * active.sum()  # type: ignore[no-any-return]


def _smooth(v: Mapping[str, Any], loss: Any) -> float:
    return float(loss(np.asarray(v["y"], dtype=float), np.asarray(v["t"], dtype=float)))


SQUARED_ERROR = fragment(
    "the squared error's gradient",
    D(E, y),
    [(T(y - t), "d(1/2 ||y - t||^2)/dy = (y - t)^T")],
    Instance(sizes={K: 4}, defs={E: SquaredError().definition(y, t)}, label="4 outputs"),
    {"E": E, "y": y, "t": t},
    oracle=lambda v: _smooth(v, SquaredError().np_loss),
)

CROSS_ENTROPY = fragment(
    "the cross-entropy's gradient",
    D(E, y),
    [(-mm(T(t), sp.Inverse(diag(y))), "d(-t^T log y)/dy_k = -t_k / y_k")],
    Instance(
        sizes={K: 4},
        defs={E: CrossEntropy().definition(y, t)},
        domain={"y": (0.1, 1.0)},
        label="4 classes",
    ),
    {"E": E, "y": y, "t": t},
    oracle=lambda v: _smooth(v, CrossEntropy().np_loss),
)

BINARY_CROSS_ENTROPY = fragment(
    "the binary cross-entropy's gradient",
    D(E, y),
    [
        (
            sp.MatAdd(
                -mm(T(t), sp.Inverse(diag(y))),
                mm(T(hadamard_ones_minus(t)), sp.Inverse(diag(hadamard_ones_minus(y)))),
            ),
            "dE/dy_k = -t_k / y_k + (1 - t_k) / (1 - y_k)",
        )
    ],
    Instance(
        sizes={K: 4},
        defs={E: BinaryCrossEntropy().definition(y, t)},
        domain={"y": (0.1, 0.9), "t": (0.0, 1.0)},
        label="4 outputs",
    ),
    {"E": E, "y": y, "t": t},
    oracle=lambda v: _smooth(v, BinaryCrossEntropy().np_loss),
)


def cross_entropy() -> CrossEntropy:
    """``E = -t^T log y`` with a one-hot target t (after a softmax)."""
    return CrossEntropy()


def binary_cross_entropy() -> BinaryCrossEntropy:
    """``E = -(t^T log y + (1 - t)^T log(1 - y))`` after a sigmoid output (targets in
    [0, 1], not one-hot)."""
    return BinaryCrossEntropy()


def squared_error() -> SquaredError:
    """``E = 1/2 (y - t)^T (y - t)``."""
    return SquaredError()


def hinge(margin: float = 1.0) -> Hinge:
    """Multiclass hinge with this margin, the class given by a one-hot t."""
    return Hinge(margin)
