"""practical-1's trace in plain NumPy (one implementation), and fresh numbers that teach.

`NET` is the network (its forward pass in NumPy is the verifier's oracle) and
`compute_trace` runs per-sample SGD on the 2-3-1 ReLU network of exercise 2 (relu'(0) = 0),
independently of the key's own computation (the tests compare it with autograd).
`draw` gives new ``W``, ``w``, ``learning_rate`` and ``samples`` in two decimals (what a
student can work with by hand; ``iterations`` stays the term's), `instructive` says what,
if anything, makes a draw a poor exercise, and `validate` refuses a term's numbers that
make the trace explode or name a true class that is not among the scores.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from answerkey.kit import draws, traces
from answerkey.kit.rows import RowNetwork
from answerkey.kit.softmax_hinge import term_problems

TRACE_KEYS = ("iteration", "sample", "x", "y", "s_hidden", "z_hidden", "s_out", "z_out")
TRACE_KEYS += ("loss", "delta_out", "delta_hidden", "dw", "dW", "w", "W")
#: the largest size any value of the trace may reach (the numbers are printed and checked)
MAX_TRACE_VALUE = 1e6
#: a trace a student works by hand: at most 10 iterations over at most 10 samples
CONSTRAINTS = draws.trace_constraints("trace", max_iterations=10, max_samples=10)
N_INPUTS, N_HIDDEN, N_SAMPLES = 2, 3, 3
#: |value| at or above this counts as exploding; a pre-activation this close to 0 sits on
#: the ReLU kink once printed to 4 decimals
LIMIT, KINK = 10.0, 0.005
#: the 2-3-1 ReLU network of exercise 2, no biases; products in the order written (s = x W)
NET = RowNetwork("x", 2, [("W", "s", "z", 3), ("w", "s_out", "z_out", 1)], "y", "L")


def compute_trace(trace: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every update of per-sample SGD, in order, as plain Python values (full float64)."""
    W, w = np.array(trace["W"], dtype=float), np.array(trace["w"], dtype=float)
    lr, rows = float(trace["learning_rate"]), []
    for it in range(1, int(trace["iterations"]) + 1):
        for n, sample in enumerate(trace["samples"], start=1):
            x, y = np.array(sample["x"], dtype=float), float(sample["y"])
            forward = NET.oracle({"x": x, "W": W, "w": w, "y": y})
            s, z, s_out, z_out, loss = forward.values()
            delta_out = (z_out - y) * (1.0 if s_out > 0 else 0.0)
            delta_hidden = delta_out * w * (s > 0)
            dw, dW = -lr * delta_out * z, -lr * np.outer(x, delta_hidden)
            W, w = W + dW, w + dw
            row = [it, n, x, y, s, z, s_out, z_out, loss, delta_out, delta_hidden, dw, dW, w, W]
            rows.append(traces.plain_row(TRACE_KEYS, row))
    return rows


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """One candidate: fresh weights, learning rate and samples (overrides for PARAMETERS)."""
    W = draws.uniform(rng, -1.0, 1.0, (N_INPUTS, N_HIDDEN))
    w = draws.uniform(rng, -0.3, 0.5, N_HIDDEN)
    lr = float(draws.pick(rng, draws.LEARNING_RATES))
    xs = draws.uniform(rng, -1.0, 1.0, (N_SAMPLES, N_INPUTS))
    # targets +-1 as in the original; written as integers, which a float default accepts too
    ys = rng.choice([1, -1], size=N_SAMPLES, p=[0.7, 0.3]).tolist()
    samples = [{"x": x, "y": int(y)} for x, y in zip(xs, ys, strict=True)]
    return {"trace": {"W": W, "w": w, "learning_rate": lr, "samples": samples}}


def instructive(params: Mapping[str, Any]) -> list[str]:
    """Why this trace would be a poor exercise (an empty list keeps it): every hidden unit
    fires for some sample in the first iteration, the output unit fires for the first sample,
    the loss summed over each iteration's samples falls, no number reaches 10 in size, and
    no pre-activation sits on the ReLU kink."""
    trace = params["trace"]
    rows, n = compute_trace(trace), len(trace["samples"])
    reasons = draws.inactive_units([r["s_hidden"] for r in rows[:n]])
    if rows[0]["s_out"] <= 0:
        reasons.append("the output unit is inactive at the start")
    reasons += draws.not_falling([r["loss"] for r in rows], n)
    reasons += draws.too_large(rows, TRACE_KEYS[2:], LIMIT)
    return reasons + draws.on_kink([r[k] for r in rows for k in ("s_hidden", "s_out")], KINK, 4)


def validate(params: Mapping[str, Any]) -> list[str]:
    """Cross-field checks of a term's numbers, before anything is computed: the true
    class is one of the scores, and the trace (plain NumPy, microseconds) stays finite
    and below MAX_TRACE_VALUE, so verification never meets an overflow."""
    problems = term_problems(params.get("hinge", {}), "hinge")
    advice = "smaller weights, inputs or learning rate"
    trace = functools.partial(compute_trace, params["trace"])
    return problems + draws.bound_problem("trace", trace, TRACE_KEYS[2:], MAX_TRACE_VALUE, advice)
