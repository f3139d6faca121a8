"""Per-sample SGD on practical-1's 2-3-1 ReLU network: the one implementation.

The solution module prints and verifies this trace; the term draw uses it to
judge whether fresh numbers make an instructive exercise. (The tests compare it
with an independent implementation built on autograd.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

TRACE_KEYS = (
    "iteration",
    "sample",
    "x",
    "y",
    "s_hidden",
    "z_hidden",
    "s_out",
    "z_out",
    "loss",
    "delta_out",
    "delta_hidden",
    "dw",
    "dW",
    "w",
    "W",
)


def relu_np(a: Any) -> Any:
    return np.maximum(a, 0.0)


def sgd_step(W: np.ndarray, w: np.ndarray, x: np.ndarray, y: float, lr: float) -> dict[str, Any]:
    """One SGD update of the 2-3-1 ReLU net on one sample (relu'(0) = 0)."""
    s = x @ W
    z = relu_np(s)
    s_out = float(w @ z)
    z_out = max(s_out, 0.0)
    loss = 0.5 * (z_out - y) ** 2
    delta_out = (z_out - y) * (1.0 if s_out > 0 else 0.0)
    delta_hidden = delta_out * w * (s > 0)
    dw = -lr * delta_out * z
    dW = -lr * np.outer(x, delta_hidden)
    return {
        "s_hidden": s,
        "z_hidden": z,
        "s_out": s_out,
        "z_out": z_out,
        "loss": loss,
        "delta_out": delta_out,
        "delta_hidden": delta_hidden,
        "dw": dw,
        "dW": dW,
        "w": w + dw,
        "W": W + dW,
    }


def plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.floating):
        return float(v)
    return v


def compute_trace(trace: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every update of per-sample SGD, in order, as plain Python values (full float64)."""
    W = np.array(trace["W"], dtype=float)
    w = np.array(trace["w"], dtype=float)
    lr = float(trace["learning_rate"])
    rows = []
    for it in range(1, int(trace["iterations"]) + 1):
        for n, sample in enumerate(trace["samples"], start=1):
            x = np.array(sample["x"], dtype=float)
            y = float(sample["y"])
            out = sgd_step(W, w, x, y, lr)
            W, w = out["W"], out["w"]
            row = {"iteration": it, "sample": n, "x": x, "y": y, **out}
            rows.append({k: plain(row[k]) for k in TRACE_KEYS})
    return rows
