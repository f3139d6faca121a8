"""Fresh numbers for practical-1's trace (exercise 2), kept only when the trace teaches.

`solutions/practical_1.py` re-exports these::

    from ._practical_1_draw import CONSTRAINTS, draw, instructive

The parameters this expects (the original numbers, as in ``PARAMETERS``)::

    "trace": {
        "W": [[0.6, 0.7, 0.0], [0.01, 0.43, 0.88]],   # 2 inputs x 3 hidden
        "w": [0.02, 0.03, 0.09],                       # hidden -> output
        "learning_rate": 0.2,
        "iterations": 3,
        "samples": [{"x": [0.75, 0.8], "y": 1}, ...],  # y: int or float
    }

`draw` gives new ``W``, ``w``, ``learning_rate`` and ``samples`` in two
decimals (what a student can work with by hand); ``iterations`` stays the
term's. `instructive` runs the trace (plain NumPy, independent of the key's
own computation) and says what, if anything, makes the draw a poor exercise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from answerkey.terms import Rule, at_least, at_most, at_most_items, integer, non_empty, positive

from ._sgd import TRACE_KEYS, compute_trace

#: keys of the trace table (one place to change if PARAMETERS names them differently)
TRACE = "trace"

#: a trace a student works by hand: at most this many iterations and samples
MAX_ITERATIONS, MAX_SAMPLES = 10, 10
#: the largest size any value of the trace may reach (the numbers are printed and checked)
MAX_TRACE_VALUE = 1e6

CONSTRAINTS: dict[str, Rule | list[Rule]] = {
    "trace.learning_rate": positive(),
    "trace.iterations": [integer(), at_least(1), at_most(MAX_ITERATIONS)],
    "trace.samples": [non_empty(), at_most_items(MAX_SAMPLES)],
}

#: learning rates a student can multiply by in their head
LEARNING_RATES = (0.1, 0.2, 0.25, 0.3, 0.4, 0.5)
N_INPUTS, N_HIDDEN, N_SAMPLES = 2, 3, 3
#: |value| at or above this counts as exploding
LIMIT = 10.0
#: a pre-activation this close to 0 sits on the ReLU kink once printed to 4 decimals
KINK = 0.005


def _two_decimals(a: np.ndarray) -> list[Any]:
    """Round to two decimals as plain floats, with no negative zero."""
    out: list[Any] = (np.round(a, 2) + 0.0).tolist()
    return out


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """One candidate: fresh weights, learning rate and samples (overrides for PARAMETERS)."""
    W = _two_decimals(rng.uniform(-1.0, 1.0, size=(N_INPUTS, N_HIDDEN)))
    w = _two_decimals(rng.uniform(-0.3, 0.5, size=N_HIDDEN))
    lr = float(LEARNING_RATES[int(rng.integers(len(LEARNING_RATES)))])
    xs = _two_decimals(rng.uniform(-1.0, 1.0, size=(N_SAMPLES, N_INPUTS)))
    # targets +-1 as in the original; written as integers, which a float default accepts too
    ys = rng.choice([1, -1], size=N_SAMPLES, p=[0.7, 0.3]).tolist()
    samples = [{"x": x, "y": int(y)} for x, y in zip(xs, ys, strict=True)]
    return {TRACE: {"W": W, "w": w, "learning_rate": lr, "samples": samples}}


def instructive(params: Mapping[str, Any]) -> list[str]:
    """Why this trace would be a poor exercise; an empty list keeps it.

    Every hidden unit fires (s > 0) for some sample in the first iteration, the
    output unit fires for the first sample, the loss summed over each
    iteration's samples falls from one iteration to the next, no number
    reaches 10 in size, and no pre-activation sits on the ReLU kink.
    """
    trace = params[TRACE]
    rows = compute_trace(trace)
    reasons: list[str] = []
    n = len(trace["samples"])
    first = rows[:n]
    hidden = np.array([r["s_hidden"] for r in first])
    for j in range(hidden.shape[1]):
        if not (hidden[:, j] > 0).any():
            reasons.append(f"hidden unit {j + 1} is inactive for every sample")
    if rows[0]["s_out"] <= 0:
        reasons.append("the output unit is inactive at the start")
    losses = [sum(r["loss"] for r in rows[i : i + n]) for i in range(0, len(rows), n)]
    for i in range(1, len(losses)):
        if not losses[i] < losses[i - 1]:
            reasons.append(f"the loss does not fall in iteration {i + 1}")
    biggest = max(
        float(np.max(np.abs(np.atleast_1d(r[k]))))
        for r in rows
        for k in TRACE_KEYS
        if k not in ("iteration", "sample")
    )
    if not np.isfinite(biggest) or biggest >= LIMIT:
        reasons.append(f"a value explodes (|value| up to {biggest:.3g})")
    near_kink = min(min(float(np.min(np.abs(r["s_hidden"]))), abs(r["s_out"])) for r in rows)
    if near_kink < KINK:
        reasons.append("a pre-activation sits on the ReLU kink (s = 0 to 4 decimals)")
    return reasons


def validate(params: Mapping[str, Any]) -> list[str]:
    """Cross-field checks of a term's numbers, before anything is computed: the true
    class is one of the scores, and the trace (plain NumPy, microseconds) stays finite
    and below MAX_TRACE_VALUE, so verification never meets an overflow."""
    problems = []
    hinge = params.get("hinge", {})
    scores, true_class = hinge.get("scores", []), hinge.get("true_class", 1)
    if not 1 <= true_class <= len(scores):
        problems.append(
            f"hinge.true_class: expected a class between 1 and {len(scores)} "
            f"(the number of scores), got {true_class}"
        )
    with np.errstate(all="ignore"):
        rows = compute_trace(params[TRACE])
        biggest = max(
            (
                float(np.max(np.abs(np.atleast_1d(np.asarray(r[k], dtype=float)))))
                for r in rows
                for k in TRACE_KEYS
                if k not in ("iteration", "sample")
            ),
            default=0.0,
        )
    if not np.isfinite(biggest) or biggest > MAX_TRACE_VALUE:
        problems.append(
            f"{TRACE}: these numbers make the trace's values grow to {biggest:.3g}; "
            f"keep every value below {MAX_TRACE_VALUE:g} (smaller weights, inputs or learning rate)"
        )
    return problems
