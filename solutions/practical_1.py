"""Practical 1: backpropagation by hand (chain rule, a numeric SGD trace, hinge over softmax).

Exercise 1 derives the gradients of a scalar chain with arbitrary activations and
the backward recursion of error signals; exercise 2 traces nine SGD updates of a
2-3-1 ReLU network at full precision; exercise 3 studies a hinge loss on softmax
outputs. Every formula is checked by the engine at concrete instances, and every
number against finite differences, before anything is written.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from answerkey import figures, relations, worked
from answerkey.errors import VerificationError
from answerkey.instantiate import Concrete, tree_function
from answerkey.kit import checks
from answerkey.kit.writing import derive, say
from answerkey.mathfns import D, T, diag, elementwise, eq, relu, softmax
from answerkey.model import (
    Assignment,
    CheckRecord,
    Derivation,
    Exercise,
    Figure,
    Instance,
    Part,
    Step,
    Table,
    Text,
    text,
)
from answerkey.relations import definition, notation
from answerkey.terms import at_least, at_most, between, integer, positive

from ._practical_1_draw import CONSTRAINTS as _DRAW_CONSTRAINTS
from ._practical_1_draw import draw, instructive, validate
from ._sgd import TRACE_KEYS

__all__ = [
    "CONSTRAINTS",
    "ID",
    "PARAMETERS",
    "SEED",
    "TITLE",
    "build",
    "draw",
    "instructive",
    "validate",
]

ID = "practical-1"
TITLE = "Practical 1: pen and paper exercises"
SEED = "003_618ffd4da391ee83.txt"

PARAMETERS: dict[str, Any] = {
    "trace": {
        "W": [[0.6, 0.7, 0.0], [0.01, 0.43, 0.88]],
        "w": [0.02, 0.03, 0.09],
        "learning_rate": 0.2,
        "samples": [
            {"x": [0.75, 0.8], "y": 1.0},
            {"x": [0.2, 0.05], "y": 1.0},
            {"x": [-0.75, 0.8], "y": -1.0},
        ],
        "iterations": 3,
    },
    "hinge": {"margin": 0.2, "scores": [1.2, 0.9, -0.3, 1.0], "true_class": 1},
}

CONSTRAINTS: dict[str, Any] = {
    **_DRAW_CONSTRAINTS,
    "hinge.margin": [positive(), at_most(100)],
    "hinge.scores.*": between(-100, 100),
    "hinge.true_class": [integer(), at_least(1)],
}

NOTATION = {
    "x_in": r"x_{\mathrm{in}}",
    "W_out": r"W_{\mathrm{out}}",
    "s_out": r"s_{\mathrm{out}}",
    "y_out": r"y_{\mathrm{out}}",
    "y_gt": r"y_{\mathrm{gt}}",
    "z_out": r"z_{\mathrm{out}}",
    "delta_out": r"\delta_{\mathrm{out}}",
    "delta_hidden": r"\delta",
    "L": r"\mathcal{L}",
    "Delta_w": r"\Delta w",
    "Delta_W": r"\Delta W",
    "Delta_w_j": r"\Delta w_{j}",
    "Delta_W_ij": r"\Delta W_{ij}",
    "w_next": r"w + \Delta w",
    "W_next": r"W + \Delta W",
    "DeltaW_ij": r"\Delta W_{i \to j}",
    "w_jk": r"w_{jk}",
    "N_next": r"N",
}

FD_STEP = 1e-6
FD_TOL = 1e-6
#: relative tolerance between a stored trace value and its recomputation (same float64 formulas)
TRACE_RTOL = 1e-12

# --------------------------------------------------------------------------- exercise 1

# arbitrary activations: opaque to the proofs, a different smooth stand-in for random points
f_1, fprime_1 = checks.arbitrary("f_1", sp.tanh)
f_2, fprime_2 = checks.arbitrary("f_2", lambda u: 1 / (1 + sp.exp(-u)))
f_3, fprime_3 = checks.arbitrary("f_3", lambda u: sp.sin(u) + 2 * u)
x_in, w_1, s_1, z_1, w_2, s_2, z_2 = sp.symbols("x_in w_1 s_1 z_1 w_2 s_2 z_2")
W_out, s_out, y_out, y_gt, L = sp.symbols("W_out s_out y_out y_gt L")
delta_out, delta_1, delta_2, theta = sp.symbols("delta_out delta_1 delta_2 theta")
delta_j, delta_k, z_i, z_j, s_j, w_jk = sp.symbols("delta_j delta_k z_i z_j s_j w_jk")
_u, w_ij, u = sp.Dummy("u"), sp.Symbol("w_ij"), sp.Symbol("u")
#: relu' as a function symbol for prose (prints as relu')
RELU_PRIME = type(
    "reluprime", (sp.Function,), {"nargs": 1, "_imp_": sp.Lambda(_u, sp.Heaviside(_u, 0))}
)
CHAIN_DEFS: dict[Any, Any] = {
    s_1: w_1 * x_in,
    z_1: f_1(s_1),
    s_2: w_2 * z_1,
    z_2: f_2(s_2),
    s_out: W_out * z_2,
    y_out: f_3(s_out),
    L: sp.Rational(1, 2) * (y_out - y_gt) ** 2,
}
CHAIN = Instance(defs=CHAIN_DEFS, label="the chain")
# the backward recursion as definitions of the error signals: each is checked to be dL/ds
DELTAS = {
    delta_out: (y_out - y_gt) * fprime_3(s_out),
    delta_2: fprime_2(s_2) * W_out * delta_out,
    delta_1: fprime_1(s_1) * w_2 * delta_2,
}
DELTA = Instance(defs={**CHAIN_DEFS, **DELTAS}, label="the chain")
#: each weight of the chain: the weight, the error signal of the unit it feeds, its input
WEIGHTS = ((W_out, delta_out, z_2), (w_2, delta_2, z_1), (w_1, delta_1, x_in))
FUNCTIONS = ((f_1, fprime_1), (f_2, fprime_2), (f_3, fprime_3))
ACTIVATION_SETS = (("sigmoid",) * 3, ("tanh",) * 3, ("ReLU",) * 3, ("tanh", "sigmoid", "ReLU"))
#: the inputs' random ranges in the activation checks (positive: every ReLU active)
CHAIN_DOMAIN = {n: (0.2, 1.5) for n in ("x_in", "w_1", "w_2", "W_out")} | {"y_gt": (-1.0, 1.0)}


def chain_gradient_check(where: str, result: Any, weight: Any) -> list[CheckRecord]:
    """The derived gradient with concrete activations put in, against central differences."""
    return checks.activations_check(
        where, result, CHAIN, L, weight, FUNCTIONS, ACTIVATION_SETS, CHAIN_DOMAIN
    )


def exercise_1() -> Exercise:
    """Parts 1a-1c: the chain-rule gradients and the backward recursion of error signals."""
    e, sq = y_out - y_gt, say("derivative of {} with {}", u**2 / 2, notation(u, y_out - y_gt))
    links = [(y_out, f_3(s_out)), (s_out, W_out * z_2), (z_2, f_2(s_2)), (s_2, w_2 * z_1)]
    links += [(z_1, f_1(s_1)), (s_1, w_1 * x_in)]
    d_wout = derive(
        D(L, W_out),
        [
            (e * D(y_out, W_out), sq),
            (e * D(y_out, s_out) * D(s_out, W_out), say("chain rule through {}", s_out)),
            (e * fprime_3(s_out) * z_2, say("{} and {}", eq(*links[0]), eq(*links[1]))),
        ],
        [CHAIN],
    )
    chain_2 = e * D(y_out, s_out) * D(s_out, z_2) * D(z_2, s_2) * D(s_2, w_2)
    d_w2 = derive(
        D(L, w_2),
        [
            (e * D(y_out, w_2), sq),
            (chain_2, say("chain rule through {}, {}, {}", s_out, z_2, s_2)),
            (e * fprime_3(s_out) * W_out * fprime_2(s_2) * z_1, "derivative of each link"),
        ],
        [CHAIN],
    )
    chain_1 = e * D(y_out, s_out) * D(s_out, z_2) * D(z_2, s_2) * D(s_2, z_1)
    d_w1 = derive(
        D(L, w_1),
        [
            (e * D(y_out, w_1), sq),
            (chain_1 * D(z_1, s_1) * D(s_1, w_1), "chain rule through every link"),
            (d_w2.steps[-1].expr / z_1 * w_2 * fprime_1(s_1) * x_in, "derivative of each link"),
        ],
        [CHAIN],
    )
    fed = say("gradient: the {} of the unit the weight feeds times its input", sp.Symbol("delta"))
    up = "the recursion, one unit above"
    recursion = [
        derive(
            D(L, s_out),
            [
                (e * D(y_out, s_out), sq),
                (e * fprime_3(s_out), say("{}", eq(*links[0]))),
                (delta_out, "the error signal of the output unit"),
            ],
            [DELTA],
        ),
        derive(
            D(L, s_2),
            [
                (D(L, s_out) * D(s_out, z_2) * D(z_2, s_2), "chain rule"),
                (DELTAS[delta_2], say("{} and {}", eq(*links[1]), eq(*links[2]))),
                (delta_2, up),
            ],
            [DELTA],
        ),
        derive(
            D(L, s_1),
            [
                (D(L, s_2) * D(s_2, z_1) * D(z_1, s_1), "chain rule"),
                (DELTAS[delta_1], say("{} and {}", eq(*links[3]), eq(*links[4]))),
                (delta_1, up),
            ],
            [DELTA],
        ),
        *(derive(D(L, w), [(d * z, fed)], [DELTA]) for w, d, z in WEIGHTS),
    ]
    parts = []
    for pid, title, derivations, weight in (
        ("1a", "Gradient by the output weight", [d_wout], W_out),
        ("1b", "Gradient by the middle weight", [d_w2], w_2),
        ("1c", "Gradient by the first weight, and the general rule", [d_w1, *recursion], w_1),
    ):
        result, where = derivations[0].steps[-1].expr, f"{ID}, part {pid}"
        parts.append(
            Part(
                pid,
                title,
                [say("Give {}.", D(L, weight))],
                derivations=derivations,
                numeric_checks=[lambda w=where, r=result, v=weight: chain_gradient_check(w, r, v)],
            )
        )
    k_, n_next = sp.symbols("k N_next", integer=True)
    fprime, rule = type("fprime", (sp.Function,), {"nargs": 1}), sp.Symbol("DeltaW_ij")
    part_c, where = parts[2], f"{ID}, part 1c"
    part_c.question = [
        say(
            "Give {} and the general rule: error signals {} propagated backwards, and the "
            "weight update {}.",
            D(L, w_1),
            sp.Symbol("delta"),
            rule,
        )
    ]
    part_c.answer_lhs, part_c.answer = rule, -theta * delta_j * z_i
    cases = [(d, (delta, z)) for d, (_, delta, z) in zip(recursion[3:], WEIGHTS, strict=True)]
    part_c.numeric_checks = [
        lambda: checks.update_rule_check(where, part_c.answer, theta, (delta_j, z_i), cases),
        lambda: checks.backprop_rule_check(where, part_c.answer, theta, delta_j, z_i),
        *part_c.numeric_checks,
    ]
    each = [{w_ij: w, delta_j: d, z_i: z} for w, d, z in WEIGHTS]
    part_c.remarks = [
        say(
            "Define the error signal of a unit as the derivative of the loss by its input, {}. "
            "At the output, {}; going backwards, a unit j that feeds the units k of the next "
            "layer through weights {} has {}. The gradient by a weight from unit i to unit j is "
            "{} (the signal of the unit the weight feeds times the weight's input), so gradient "
            "descent with learning rate {} changes it by {}. For the chain this gives {}, {} and "
            "{}, the three results above (checked step by step), and the general rule is checked "
            "against finite differences on a branching 2-3-2-1 network.",
            definition(delta_j, D(L, s_j)),
            sp.Eq(delta_out, DELTAS[delta_out]),
            w_jk,
            definition(delta_j, fprime(s_j) * sp.Sum(w_jk * delta_k, (k_, 1, n_next))),
            relations.identity(D(L, w_ij), delta_j * z_i, DELTA, cases=each),
            theta,
            definition(rule, -theta * delta_j * z_i),
            *((D(L, w), d * z) for w, d, z in WEIGHTS),
        )
    ]
    intro = say(
        "The chain from the input {} to the output {}: {}, {}, {}, {}, {}, {} with the loss {}; "
        "the activations {}, {}, {} are arbitrary differentiable functions and {} is the "
        "derivative of {}.",
        x_in,
        y_out,
        *(definition(a, b) for a, b in reversed(links)),
        definition(L, CHAIN_DEFS[L]),
        f_1,
        f_2,
        f_3,
        fprime_1(u),
        f_1(u),
    )
    chain = Figure(
        "chain",
        text("The chain of exercise 1."),
        lambda: figures.network_figure("chain", figures.practical1_chain_network()),
    )
    return Exercise("1", "Backpropagation through a chain", [intro], parts, figures=[chain])


# --------------------------------------------------------------------------- exercise 2

# The 2-3-1 ReLU network of exercise 2, no biases; products in the order written
# (s = x W, a row times a matrix).
X_ROW, W_MAT = sp.MatrixSymbol("x", 1, 2), sp.MatrixSymbol("W", 2, 3)
S_ROW, Z_ROW = sp.MatrixSymbol("s", 1, 3), sp.MatrixSymbol("z", 1, 3)
W_OUT = sp.MatrixSymbol("w", 3, 1)
Y_T, S_O, Z_O = sp.Symbol("y"), sp.Symbol("s_out"), sp.Symbol("z_out")
RELU_NET = Instance(
    defs={
        S_ROW: X_ROW * W_MAT,
        Z_ROW: elementwise("relu", S_ROW),
        S_O: Z_ROW * W_OUT,
        Z_O: relu(S_O),
        L: sp.Rational(1, 2) * (Z_O - Y_T) ** 2,
    },
    label="the 2-3-1 ReLU network",
)


def relu_net_oracle(v: Mapping[str, Any]) -> dict[str, Any]:
    """The network's forward pass in plain NumPy; a value given for s or s_out
    overrides the layer below it (finite differences by a unit's input)."""
    s = np.asarray(v["s"]) if "s" in v else np.asarray(v["x"]) @ np.asarray(v["W"])
    z = np.maximum(s, 0.0)
    s_out = float(v["s_out"]) if "s_out" in v else float((z @ np.asarray(v["w"])).item())
    z_out = max(s_out, 0.0)
    return {"s": s, "z": z, "s_out": s_out, "z_out": z_out, "L": 0.5 * (z_out - v["y"]) ** 2}


#: a hidden unit / the output unit that does not fire (s <= 0), for the remarks about them
HIDDEN_OFF = Instance(defs={z_j: relu(s_j)}, domain={"s_j": (-1.5, -0.01)}, label="s_j < 0")
OUTPUT_OFF = Instance(
    defs={Z_O: relu(S_O), delta_out: (Z_O - Y_T) * RELU_PRIME(S_O)},
    domain={"s_out": (-1.5, -0.01)},
    label="s_out < 0",
)

#: what each Block line shows: trace key, label symbol, what the engine computes
BLOCK_LINES: tuple[tuple[str, Any, Any], ...] = (
    ("x", sp.Symbol("x"), X_ROW),
    ("y", sp.Symbol("y"), Y_T),
    ("s_hidden", sp.Symbol("s"), S_ROW),
    ("z_hidden", sp.Symbol("z"), Z_ROW),
    ("s_out", sp.Symbol("s_out"), S_O),
    ("z_out", sp.Symbol("z_out"), Z_O),
    ("loss", L, L),
    ("delta_out", sp.Symbol("delta_out"), D(L, S_O)),
    ("delta_hidden", sp.Symbol("delta_hidden"), D(L, S_ROW)),
    ("dw", sp.Symbol("Delta_w"), worked.StepOf(W_OUT)),
    ("dW", sp.Symbol("Delta_W"), worked.StepOf(W_MAT)),
    ("w", sp.Symbol("w_next"), worked.NewValueOf(W_OUT)),
    ("W", sp.Symbol("W_next"), worked.NewValueOf(W_MAT)),
)
_LABEL = {key: label for key, label, _ in BLOCK_LINES}

#: numbers the earlier published solution gives (for the errata only; never used as answers)
SEED_FIRST_UPDATE: dict[str, Any] = {
    "s_hidden": [0.458, 0.869, 0.704],
    "z_hidden": [0.458, 0.869, 0.704],
    "s_out": 0.09859,
    "loss": 0.40626999405,
    "delta_out": -0.90141,
    "delta_hidden": [-0.90141, -0.90141, -0.90141],
    "dw": [0.08256916, 0.15666506, 0.12691853],
    "w": [0.10256916, 0.18666506, 0.21691853],
    "W": [[0.7352115, 0.8352115, 0.1352115], [0.1542256, 0.5742256, 1.0242256]],
}
#: the seed's loss of the first sample in iterations 1, 2, 3
SEED_SAMPLE_1_LOSSES = (0.40626999405, 0.218611904772, 0.0482300904842)


def sgd_trace(trace: Mapping[str, Any]) -> worked.Trace:
    """The engine's trace of per-sample SGD on the network, from the parameters."""
    samples = [
        {X_ROW: worked.given(s["x"], f"sample {n}: x"), Y_T: worked.given(s["y"], f"sample {n}: y")}
        for n, s in enumerate(trace["samples"], start=1)
    ]
    return worked.trace(
        "trace",
        RELU_NET,
        params={W_MAT: trace["W"], W_OUT: np.asarray(trace["w"], dtype=float).reshape(3, 1)},
        samples=samples,
        loss=L,
        optimizer=worked.SGD(worked.given(trace["learning_rate"], "learning rate")),
        iterations=int(trace["iterations"]),
        show=[(label, expr) for _, label, expr in BLOCK_LINES],
        oracle=relu_net_oracle,
    )


def trace_rows(t: worked.Trace) -> list[dict[str, Any]]:
    """The trace as plain rows (answers.json, errata, remarks' logic)."""
    rows = []
    for point, (it, n) in zip(t.steps, t.order, strict=True):
        row: dict[str, Any] = {"iteration": it, "sample": n}
        for key, label, _ in BLOCK_LINES:
            row[key] = point[label].plain()
        rows.append({k: row[k] for k in TRACE_KEYS})
    return rows


def _units(indices: Sequence[int]) -> str:
    names = [str(i + 1) for i in indices]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _listed(numbers: Sequence[Any]) -> list[Any]:
    """Prose items: the numbers separated by commas."""
    out: list[Any] = []
    for i, n in enumerate(numbers):
        out += [",", n] if i else [n]
    return out


def trace_remarks(
    t: worked.Trace, rows: Sequence[Mapping[str, Any]], trace: Mapping[str, Any]
) -> tuple[list[Text], list[Any]]:
    """What a lecturer would point out, read off the computed trace (and the engine
    objects that compute the numbers these remarks add)."""
    remarks: list[Text] = []
    extra: list[Any] = []
    samples = trace["samples"]
    # hidden units that do not fire: grouped by sample and units, listing iterations
    groups: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    for row in rows:
        off = tuple(j for j, s in enumerate(row["s_hidden"]) if s <= 0)
        if off and row["s_out"] > 0:
            groups.setdefault((row["sample"], off), []).append(row["iteration"])
    for (n, off), its in groups.items():
        when = (
            "every iteration"
            if len(its) == int(trace["iterations"])
            else "iteration " + _units([i - 1 for i in its])
        )
        plural = len(off) > 1
        remarks.append(
            text(
                f"For sample {n} (in {when}) hidden unit{'s' if plural else ''} {_units(off)} "
                f"{'are' if plural else 'is'} inactive:",
                relations.assumption(sp.Le(s_j, 0)),
                ", so",
                relations.identity(z_j, 0, HIDDEN_OFF),
                "and",
                relations.identity(RELU_PRIME(s_j), 0, HIDDEN_OFF),
                ". The unit's error signal",
                delta_j,
                "is 0, hence its column of",
                sp.Symbol("W"),
                "does not move, and its output weight in",
                sp.Symbol("w"),
                "does not move either (its input z is 0).",
            )
        )
    for point, row in zip(t.steps, rows, strict=True):
        if row["s_out"] <= 0:
            remarks.append(
                text(
                    f"In iteration {row['iteration']}, sample {row['sample']}, "
                    "the output unit is inactive (",
                    (sp.Symbol("s_out"), point[_LABEL["s_out"]]),
                    ", not positive):",
                    relations.identity(delta_out, 0, OUTPUT_OFF),
                    "and no weight changes, although the loss is",
                    point[L],
                    ".",
                )
            )
    for n, sample in enumerate(samples, start=1):
        if float(sample["y"]) < 0:
            losses = [p[L] for p, (_, m) in zip(t.steps, t.order, strict=True) if m == n]
            y = t.samples[n - 1][Y_T]
            bound = sp.Rational(1, 2) * Y_T**2
            floor = worked.value(f"sample {n}: the loss's lower bound", bound, bound, {Y_T: y})
            extra.append(floor)
            remarks.append(
                text(
                    f"Sample {n} has target",
                    (sp.Symbol("y"), y),
                    ", which the output",
                    relations.definition(sp.Symbol("z_out"), relu(sp.Symbol("s_out"))),
                    ", never negative, can never reach: its loss is at least",
                    (bound, floor[bound]),
                    "whatever the weights (here",
                    *_listed(losses),
                    "). The best the network can do is to push",
                    sp.Symbol("s_out"),
                    "to 0 or below, after which",
                    relations.identity(RELU_PRIME(s_out), 0, OUTPUT_OFF),
                    "and this sample stops teaching it anything.",
                )
            )
    totals = t.totals(L)
    values = [float(v) for v in totals]
    trend = (
        "falls"
        if all(b < a for a, b in itertools.pairwise(values))
        else "does not fall monotonically"
    )
    remarks.append(
        text(
            "The loss summed over the samples of each iteration is",
            *_listed(totals),
            f": it {trend}.",
        )
    )
    return remarks, extra


def seed_errata(
    t: worked.Trace, rows: Sequence[Mapping[str, Any]], trace: Mapping[str, Any]
) -> tuple[list[Text], list[dict[str, Any]]]:
    """Where the earlier published trace disagrees with ours (only for the original numbers)."""
    if _normalise(trace) != _normalise(PARAMETERS["trace"]):
        return [], []
    first = rows[0]
    records: list[dict[str, Any]] = []
    agree: list[str] = []
    differ: list[str] = []
    for key, seed_value in SEED_FIRST_UPDATE.items():
        ours = np.asarray(first[key], dtype=float)
        same = bool(np.allclose(ours, seed_value, rtol=0, atol=6e-6))
        (agree if same else differ).append(key)
        records.append(
            {"update": 1, "quantity": key, "seed": seed_value, "ours": first[key], "agrees": same}
        )
    sample_1 = [r["loss"] for r in rows if r["sample"] == 1]
    for it, (seed_loss, ours) in enumerate(
        zip(SEED_SAMPLE_1_LOSSES, sample_1, strict=False), start=1
    ):
        same = abs(seed_loss - ours) <= 6e-6
        records.append(
            {
                "update": 1 + (it - 1) * len(trace["samples"]),
                "quantity": "loss",
                "seed": seed_loss,
                "ours": ours,
                "agrees": same,
            }
        )
    remarks = []
    quoted = "earlier published solution"
    if differ:
        seed_dh = np.asarray(SEED_FIRST_UPDATE["delta_hidden"])
        no_w = first["delta_out"] * (np.asarray(first["s_hidden"]) > 0)
        why: list[Any] = (
            [
                ". Its hidden error signal is",
                delta_out * RELU_PRIME(s_j),
                ": it leaves out the output weight",
                sp.Symbol("w_j"),
                "of",
                relations.definition(delta_j, RELU_PRIME(s_j) * sp.Symbol("w_j") * delta_out),
                ",",
            ]
            if np.allclose(seed_dh, no_w, atol=6e-6)
            else [";"]
        )
        step_1 = t.steps[0]
        remarks.append(
            text(
                "Erratum. The earlier published solution's first update agrees with ours in",
                *_symbol_list(agree),
                "but not in",
                *_symbol_list(differ),
                ": it gives",
                (sp.Symbol("delta_hidden"), worked.given(seed_dh, f"{quoted}: delta_hidden")),
                "where the computation gives",
                step_1[_LABEL["delta_hidden"]],
                *why,
                "so its new W,",
                worked.given(SEED_FIRST_UPDATE["W"], f"{quoted}: W"),
                ", should be",
                step_1[_LABEL["W"]],
                ". Every later number of its trace inherits the error.",
            )
        )
    ones = [(p, m) for p, (it, m) in zip(t.steps, t.order, strict=True) if m == 1]
    bad: list[Any] = []
    for i, (s, o) in enumerate(zip(SEED_SAMPLE_1_LOSSES, sample_1, strict=False), start=1):
        if abs(s - o) > 6e-6:
            bad += [
                ";" if bad else "",
                f"iteration {i} is",
                worked.given(s, f"{quoted}: loss of sample 1, iteration {i}"),
                "(ours",
                ones[i - 1][0][L],
                ")",
            ]
    if bad:
        remarks.append(text("The earlier published loss of sample 1 in", *bad[1:], "."))
    return remarks, records


def _symbol_list(keys: Sequence[str]) -> list[Any]:
    """Trace keys as their symbols, separated by commas (prose items)."""
    out: list[Any] = []
    for i, key in enumerate(keys):
        if i:
            out.append(",")
        out.append(_LABEL[key])
    return out


def _normalise(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _normalise(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_normalise(x) for x in v]
    if isinstance(v, int | float):
        return float(v)
    return v


def exercise_2(trace: Mapping[str, Any]) -> Exercise:
    """The nine-update SGD trace, one block per update, computed and checked by the engine."""
    t = sgd_trace(trace)
    rows = trace_rows(t)
    blocks = [
        t.block(k, text(f"Update {k + 1}: iteration {it}, sample {n}"))
        for k, (it, n) in enumerate(t.order)
    ]
    table = Table(
        header=("update", "iteration", "sample", sp.Symbol("y"), sp.Symbol("z_out"), L),
        rows=tuple(
            (k, it, n, p[_LABEL["y"]], p[_LABEL["z_out"]], p[L])
            for k, (p, (it, n)) in enumerate(zip(t.steps, t.order, strict=True), start=1)
        ),
        caption=text("The loss of each update's sample, before the update."),
    )
    errata_text, errata = seed_errata(t, rows, trace)
    remarks, extra = trace_remarks(t, rows, trace)
    x, W, s, z, w = X_ROW, W_MAT, S_ROW, Z_ROW, W_OUT
    y, s_o, z_o = Y_T, S_O, Z_O
    sample_items: list[Any] = []
    for n, sample in enumerate(t.samples, start=1):
        sample_items += [
            f"{';' if n > 1 else ''} sample {n}:",
            (x, sample[X_ROW]),
            ",",
            (y, sample[Y_T]),
        ]
    part = Part(
        id="2",
        title="A numeric trace of SGD",
        question=[
            text(
                "A network with 2 inputs, 3 hidden ReLU units and one ReLU output unit, no biases:",
                relations.definition(s, x * W),
                ",",
                relations.definition(z, elementwise("relu", s)),
                ",",
                relations.definition(s_o, z * w),
                ",",
                relations.definition(z_o, relu(s_o)),
                ", loss",
                relations.definition(L, sp.Rational(1, 2) * (z_o - y) ** 2),
                ", with",
                relations.assumption(RELU_PRIME(0), 0),
                ". Initial weights",
                (W, t.initial[W_MAT]),
                "and",
                (w, t.initial[W_OUT]),
                ", learning rate",
                (theta, t.optimizer.learning_rate),
                ". Train with per-sample SGD (one update after each sample) on the samples",
                *sample_items,
                f", in this order, for {int(trace['iterations'])} iterations, "
                "and report every update.",
            )
        ],
        remarks=[
            text(
                "Each update: forward pass as above; error signals",
                relations.definition(delta_out, (z_o - y) * RELU_PRIME(s_o)),
                "and",
                relations.definition(delta_j, RELU_PRIME(s_j) * sp.Symbol("w_j") * delta_out),
                "; updates",
                relations.definition(sp.Symbol("Delta_w_j"), -theta * delta_out * z_j),
                "and",
                relations.definition(
                    sp.Symbol("Delta_W_ij"), -theta * sp.Symbol("x_i") * sp.Symbol("delta_j")
                ),
                "(the rule of 1c), with the weights before the update.",
            ),
            *remarks,
            *errata_text,
        ],
        blocks=blocks,
        tables=[table],
        data={"trace": rows, "seed_errata": errata},
        numeric_checks=worked.attach(t, *extra),
    )
    W0, w0 = trace["W"], trace["w"]
    network = Figure(
        "network",
        text("The network with its initial weights (on the edges)."),
        lambda: figures.network_figure("network", figures.practical1_ex2_network(W0, w0)),
    )
    losses = [row["loss"] for row in rows]
    samples = [row["sample"] for row in rows]
    part.figures = [
        Figure(
            "loss-curve",
            text("The loss of each update, coloured by sample."),
            lambda: figures.loss_curve_figure("loss-curve", losses, samples),
            handout=False,
        )
    ]
    return Exercise("2", "A numeric trace", [], [part], figures=[network])


# --------------------------------------------------------------------------- exercise 3

K = sp.Symbol("K", integer=True, positive=True)
o_vec = sp.MatrixSymbol("o", K, 1)
p_vec = sp.MatrixSymbol("p", K, 1)
a_vec = sp.MatrixSymbol("a", K, 1)
e_vec = sp.MatrixSymbol("e", K, 1)
n_active, margin = sp.symbols("n m")
j_idx, k_idx, y_idx = sp.symbols("j k y", integer=True, positive=True)
P, OUT, A = sp.IndexedBase("p"), sp.IndexedBase("o"), sp.IndexedBase("a")

#: dL/do_k for general K: a_j = 1 when the term of class j is active (a_y = 0)
HINGE_GRADIENT = sp.Sum(
    A[j_idx]
    * (
        P[j_idx] * (sp.KroneckerDelta(j_idx, k_idx) - P[k_idx])
        - P[y_idx] * (sp.KroneckerDelta(y_idx, k_idx) - P[k_idx])
    ),
    (j_idx, 1, K),
)


def softmax_np(o: np.ndarray) -> np.ndarray:
    e = np.exp(o - np.max(o))
    return np.asarray(e / e.sum())


def hinge_loss_np(o: np.ndarray, y: int, m: float) -> float:
    """L = sum over j != y of max(0, p_j - p_y + m), y 0-based (the definition, term by term)."""
    p = softmax_np(o)
    return float(sum(max(0.0, p[j] - p[y] + m) for j in range(len(o)) if j != y))


def hinge_gradient_np(o: np.ndarray, y: int, m: float) -> np.ndarray:
    """Our dL/do as a vector: (a - n e_y)^T (diag(p) - p p^T)."""
    p = softmax_np(o)
    a = np.array([1.0 if j != y and p[j] - p[y] + m > 0 else 0.0 for j in range(len(o))])
    e = np.eye(len(o))[y]
    return np.asarray((a - a.sum() * e) @ (np.diag(p) - np.outer(p, p)))


#: per (K, true class): the active terms of that instance (1-based); all, some and none occur
HINGE_CASES = {
    3: {1: (2,), 2: (1, 3), 3: ()},
    4: {1: (2, 3), 2: (1, 3, 4), 3: (1,), 4: ()},
}


def hinge_instances() -> tuple[Instance, ...]:
    """K = 3 and 4, every true class, each with a fixed set of active terms."""
    out = []
    for size, cases in HINGE_CASES.items():
        for y1, act1 in cases.items():
            y, act = y1 - 1, [j - 1 for j in act1]
            loss = sum((p_vec[j, 0] - p_vec[y, 0] + margin for j in act), sp.Integer(0))
            given: dict[str, Any] = {f"a_{j + 1}": int(j in act) for j in range(size)}
            given |= {f"e_{j + 1}": int(j == y) for j in range(size)}
            given["n"] = len(act)
            given["y"] = y1  # the true class, for answers written with components (p_y)
            active = ", ".join(map(str, act1)) or "none"
            out.append(
                Instance(
                    sizes={K: size},
                    defs={p_vec: softmax(o_vec), L: loss},
                    given=given,
                    label=f"K = {size}, y = {y1}, active terms: {active}",
                )
            )
    return tuple(out)


#: the sizes at which 3b's stated componentwise answer is proved equal to the derivation
HINGE_ANSWER_SIZES = (3, 4, 5)
#: the sizes at which it is also compared with central differences of the loss
HINGE_ORACLE_SIZES = (3, 4)


def hinge_answer_proof(where: str, answer: Any, vector_form: Any) -> list[CheckRecord]:
    """The stated dL/do_k equals, component by component, the derivation's verified
    vector form (a - n e)^T (diag(p) - p p^T), with a_y = 0, n = sum of a, e one-hot
    at y: exactly (polynomials in p and a), at every K in HINGE_ANSWER_SIZES and y."""
    for size in HINGE_ANSWER_SIZES:
        c = Concrete(Instance(sizes={K: size}))
        row = c.lazy(vector_form)
        p_e, a_e, e_e = (c.entries(v) for v in (p_vec, a_vec, e_vec))
        n_e = c.entries(n_active)[0, 0]
        expanded = answer.subs(K, size).doit()
        for y in range(size):
            a_of = {a_e[j, 0]: (A[j + 1] if j != y else 0) for j in range(size)}
            sub = {p_e[j, 0]: P[j + 1] for j in range(size)} | a_of
            sub |= {e_e[j, 0]: int(j == y) for j in range(size)}
            sub[n_e] = sum(A[j + 1] for j in range(size) if j != y)
            for kk in range(size):
                stated = expanded.xreplace({y_idx: y + 1, k_idx: kk + 1}).xreplace({A[y + 1]: 0})
                derived = row[0, kk].xreplace(sub)
                if sp.expand(stated - derived) != 0:
                    raise VerificationError(
                        where,
                        f"the stated dL/do_{kk + 1} at K = {size}, y = {y + 1} is {stated}, "
                        f"the derivation gives {sp.expand(derived)}",
                    )
    return [
        CheckRecord(
            "symbolic",
            "componentwise result",
            "equals the derivation's vector form, component by component, at K = "
            + ", ".join(map(str, HINGE_ANSWER_SIZES))
            + " and every true class",
        )
    ]


def hinge_answer_check(
    where: str, answer: Any, seed: int = 0, points: int = 3
) -> list[CheckRecord]:
    """The stated dL/do_k at random o (away from the kinks) against central differences."""
    rng = np.random.default_rng([seed, 3])
    worst, count = 0.0, 0
    for size in HINGE_ORACLE_SIZES:
        expanded = answer.subs(K, size).doit()
        for y in range(size):
            comps = [expanded.subs({y_idx: y + 1, k_idx: kk + 1}) for kk in range(size)]
            syms = [P[i] for i in range(1, size + 1)] + [A[i] for i in range(1, size + 1)]
            fn = tree_function(syms, comps)
            done = 0
            while done < points:
                o = rng.normal(0.0, 1.0, size=size)
                m = float(rng.uniform(0.05, 0.6))
                p = softmax_np(o)
                gaps = [p[j] - p[y] + m for j in range(size) if j != y]
                if min(abs(g) for g in gaps) < 1e-3:
                    continue  # too close to a kink of max(0, .)
                a = [1.0 if j != y and p[j] - p[y] + m > 0 else 0.0 for j in range(size)]
                claimed = np.array([float(v) for v in fn(*p, *a)])
                fd = np.array(
                    [
                        (
                            hinge_loss_np(o + FD_STEP * np.eye(size)[i], y, m)
                            - hinge_loss_np(o - FD_STEP * np.eye(size)[i], y, m)
                        )
                        / (2 * FD_STEP)
                        for i in range(size)
                    ]
                )
                err = float(np.max(np.abs(fd - claimed)))
                if not err <= FD_TOL:
                    raise VerificationError(
                        where,
                        f"dL/do at K = {size}, y = {y + 1}, o = {np.array2string(o, precision=4)}, "
                        f"m = {m:.4g} is {np.array2string(claimed, precision=6)}, "
                        "central differences "
                        f"give {np.array2string(fd, precision=6)}",
                    )
                worst, done, count = max(worst, err), done + 1, count + 1
    return [
        CheckRecord(
            "finite-difference",
            "componentwise result",
            f"matches central differences of the hinge loss at {count} random o (K = "
            + ", ".join(map(str, HINGE_ORACLE_SIZES))
            + f", every true class, away from the kinks; error {worst:.1e})",
        )
    ]


G_VEC = sp.MatrixSymbol("g", K, 1)
TERMS = sp.MatrixSymbol("h", K, 1)


def hinge_instance(size: int) -> Instance:
    """The hinge loss over softmax as definitions, at K = `size`: p = softmax(o),
    the gaps g = p - p_y + m, the terms (1 - e) ⊙ relu(g) (the true class's left out,
    e one-hot at y) and their sum."""
    ones = sp.OneMatrix(K, 1)
    return Instance(
        sizes={K: size},
        defs={
            p_vec: softmax(o_vec),
            G_VEC: p_vec - ones * (e_vec.T * p_vec) + margin * ones,
            TERMS: sp.HadamardProduct(ones - e_vec, elementwise("relu", G_VEC)),
            L: sp.OneMatrix(1, K) * TERMS,
        },
        label=f"the hinge loss, K = {size}",
    )


def hinge_oracle(v: Mapping[str, Any]) -> dict[str, Any]:
    """The hinge loss in plain NumPy, term by term (loops, no log-sum-exp)."""
    o = np.asarray(v["o"], dtype=float).reshape(-1)
    y = int(np.argmax(np.asarray(v["e"]).reshape(-1)))
    m = float(v["m"])
    total = sum(np.exp(x) for x in o)
    p = np.array([np.exp(x) / total for x in o])
    g = np.array([p[j] - p[y] + m for j in range(len(o))])
    terms = np.array([g[j] if j != y and g[j] > 0 else 0.0 for j in range(len(o))])
    return {
        "p": p.reshape(-1, 1),
        "g": g.reshape(-1, 1),
        "h": terms.reshape(-1, 1),
        "L": terms.sum(),
    }


def hinge_example(hinge: Mapping[str, Any]) -> worked.Example:
    """The worked example of 3a/3b: the engine evaluates softmax, gaps, terms, loss and
    gradient at the given scores and checks them against the oracle and finite differences."""
    o = np.array(hinge["scores"], dtype=float)
    y = int(hinge["true_class"]) - 1
    if not 0 <= y < len(o):
        raise ValueError(f"true_class {y + 1} is not one of the {len(o)} classes")
    return worked.example(
        "hinge example",
        hinge_instance(len(o)),
        at={
            o_vec: worked.given(o.reshape(-1, 1), "scores o", exact=True),
            e_vec: np.eye(len(o))[y].reshape(-1, 1),
            margin: worked.given(float(hinge["margin"]), "margin m", exact=True),
        },
        show=[p_vec, G_VEC, TERMS, L, D(L, o_vec)],
        oracle=hinge_oracle,
    )


def example_data(ex: worked.Example, hinge: Mapping[str, Any]) -> dict[str, Any]:
    """The example as plain data (answers.json)."""
    y = int(hinge["true_class"]) - 1
    gaps = ex[G_VEC].plain()
    return {
        "scores": [float(v) for v in hinge["scores"]],
        "true_class": y + 1,
        "margin": float(hinge["margin"]),
        "p": ex[p_vec].plain(),
        "gaps": gaps,
        "active": [j != y and g > 0 for j, g in enumerate(gaps)],
        "terms": ex[TERMS].plain(),
        "loss": ex[L].plain(),
        "gradient": ex[D(L, o_vec)].plain(),
    }


def exercise_3(hinge: Mapping[str, Any]) -> Exercise:
    """Hinge loss over softmax outputs: what it does (3a) and its gradient (3b)."""
    worked_ex = hinge_example(hinge)
    ex = example_data(worked_ex, hinge)
    y, m = ex["true_class"], ex["margin"]
    size = len(ex["p"])
    o_given, m_given = worked_ex.point.at[o_vec], worked_ex.point.at[margin]
    py, pj, oj, ok_ = P[y_idx], P[j_idx], OUT[j_idx], OUT[k_idx]
    hinge_term = sp.Max(0, pj - py + margin)
    table = Table(
        header=("class j", OUT[j_idx], P[j_idx], pj - py + margin, "active", "term"),
        rows=tuple(
            (
                str(j + 1) + (" (true class)" if j + 1 == y else ""),
                o_given.written(None)[j],
                worked_ex[p_vec][j],
                worked_ex[G_VEC][j],
                "-" if j + 1 == y else ("yes" if ex["active"][j] else "no"),
                worked_ex[TERMS][j],
            )
            for j in range(size)
        ),
        caption=text(
            f"The example: K = {size}, true class y = {y}, margin", (margin, m_given), "."
        ),
    )
    active = [j + 1 for j in range(size) if ex["active"][j]]
    inactive = [j + 1 for j in range(size) if j + 1 != y and not ex["active"][j]]
    what = [
        text(
            "Each term",
            hinge_term,
            "is zero exactly when",
            relations.assumption(sp.GreaterThan(py, pj + margin)),
            ": the loss makes the network give the true class a probability that exceeds "
            "every other "
            "class's probability by at least the margin",
            margin,
            ". A class that already trails by the margin contributes nothing, not even a gradient; "
            "for each class that does not, the loss pushes",
            OUT[y_idx],
            "up and",
            oj,
            "down. Unlike cross-entropy it stops once all margins hold, so it does not push",
            py,
            "towards 1 and does not try to separate the other classes from one another.",
        )
    ]
    if m >= 1:
        what.append(
            text(
                "With this margin",
                (margin, m_given),
                "the loss can never be zero: softmax probabilities differ by less than 1.",
            )
        )
    example = [
        text(
            "Example (table): with",
            (o_vec, o_given),
            f"and true class {y}, "
            + (
                f"the terms of class{'es' if len(active) > 1 else ''} "
                f"{_units([a - 1 for a in active])} "
                f"{'are' if len(active) > 1 else 'is'} active"
                if active
                else "no term is active"
            )
            + (
                f", class{'es' if len(inactive) > 1 else ''} {_units([i - 1 for i in inactive])} "
                "already trail(s) by the margin"
                if inactive
                else ""
            )
            + ", and the loss is",
            (L, worked_ex[L]),
            ".",
        )
    ]
    part_a = Part(
        id="3a",
        title="What the hinge loss over softmax does",
        question=[
            text(
                "Softmax outputs",
                relations.definition(p_vec, softmax(o_vec)),
                "over K classes and the multiclass hinge loss for a sample of class y,",
                relations.definition(L, sp.Sum(hinge_term, (j_idx, 1, K))),
                "with the term of the true class left out. "
                "What does this loss make the network do?",
            )
        ],
        answer_lhs=L,
        answer=worked_ex[L],
        remarks=what + example,
        tables=[table],
        data={"example": ex},
    )
    part_a.numeric_checks = worked.attach(worked_ex)

    derivation = Derivation(
        D(L, o_vec),
        (
            Step(
                D(L, p_vec) * D(p_vec, o_vec),
                text("chain rule through", sp.Eq(p_vec, softmax(o_vec))),
            ),
            Step(
                T(a_vec - n_active * e_vec) * D(p_vec, o_vec),
                text("only the", n_active, "active terms count"),
            ),
            Step(
                T(a_vec - n_active * e_vec) * (diag(p_vec) - p_vec * p_vec.T),
                text(
                    "softmax Jacobian",
                    relations.notation(
                        D(pj, ok_), pj * (sp.KroneckerDelta(j_idx, k_idx) - P[k_idx])
                    ),
                ),
            ),
        ),
        hinge_instances(),
    )
    grad = np.asarray(ex["gradient"])
    signs = text(
        "At the example,",
        (D(L, o_vec), worked_ex[D(L, o_vec)]),
        ": a gradient-descent step raises the score of "
        + ", ".join(f"class {k + 1}" for k in range(size) if grad[k] < 0)
        + " and lowers "
        + ", ".join(f"class {k + 1}" for k in range(size) if grad[k] > 0)
        + ".",
    )
    o_k = sp.symbols(f"o_1:{size + 1}")
    seed_expr = sp.ImmutableMatrix(
        [sp.exp(o_k[k]) * sum(sp.exp(o_k[i]) for i in range(size) if i != k) for k in range(size)]
    )
    seed_formula = worked.value(
        "the earlier published 3b formula at the example",
        "earlier published formula",
        seed_expr,
        {o_k[k]: o_given[k] for k in range(size)},
    )
    erratum = text(
        "Erratum. The earlier published answer,",
        sp.exp(OUT[j_idx]) * sp.Sum(sp.exp(OUT[k_idx]), (k_idx, 1, K)),
        "over k other than j, ignores the denominator of softmax, the",
        py,
        "term and the sum over the active terms; at the example it gives",
        seed_formula["earlier published formula"],
        "for the components where the derivative is",
        worked_ex[D(L, o_vec)],
        ".",
    )
    part_b = Part(
        id="3b",
        title="Its gradient",
        question=[text("Give", D(L, ok_), "for every output k.")],
        derivations=[derivation],
        answer_lhs=D(L, ok_),
        answer=HINGE_GRADIENT,
        remarks=[
            text(
                "Here",
                A[j_idx],
                "is 1 when the term of class j is active,",
                relations.assumption(sp.StrictGreaterThan(pj - py + margin, 0)),
                ", and 0 otherwise (and",
                relations.definition(A[y_idx], 0),
                "). With",
                n_active,
                "active terms,",
                relations.notation(
                    L, sp.Sum(A[j_idx] * pj, (j_idx, 1, K)) - n_active * py + n_active * margin
                ),
                ", i.e. a linear function of",
                p_vec,
                "with the one-hot vector",
                e_vec,
                "of class y, which gives the vector form of the derivation. At a kink",
                relations.assumption(pj - py + margin, 0),
                "the loss has no derivative; the formula then takes the term as inactive "
                "(a subgradient).",
            ),
            signs,
            erratum,
        ],
        data={"example_gradient": ex["gradient"]},
    )
    part_b.numeric_checks = [
        *worked.attach(seed_formula),
        lambda: hinge_answer_proof(f"{ID}, part 3b", part_b.answer, derivation.steps[-1].expr),
        lambda: hinge_answer_check(f"{ID}, part 3b", part_b.answer),
    ]
    intro = [text("The network's outputs", o_vec, "are turned into probabilities by softmax.")]
    return Exercise("3", "A hinge loss over softmax outputs", intro, [part_a, part_b])


# --------------------------------------------------------------------------- the assignment


@functools.cache
def _shared_exercise_1() -> Exercise:
    """Exercise 1 has no numbers: every term and variant shares one (verified once)."""
    return exercise_1()


@functools.cache
def _shared_exercise_3(hinge_json: str) -> Exercise:
    """Exercise 3 depends only on the hinge numbers, which variants do not redraw."""
    return exercise_3(json.loads(hinge_json))


def build(params: Mapping[str, Any]) -> Assignment:
    """The practical-1 key from its parameters (exercise 4's statement is lost: not covered)."""
    return Assignment(
        id=ID,
        title=TITLE,
        exercises=[
            _shared_exercise_1(),
            exercise_2(params["trace"]),
            _shared_exercise_3(json.dumps(params["hinge"], sort_keys=True)),
        ],
        notation=NOTATION,
        source=SEED,
    )
