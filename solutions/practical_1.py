"""Practical 1: backpropagation by hand (chain rule, a numeric SGD trace, hinge over softmax).

Exercise 1 derives the gradients of a scalar chain with arbitrary activations and
the backward recursion of error signals; exercise 2 traces nine SGD updates of a
2-3-1 ReLU network at full precision; exercise 3 studies a hinge loss on softmax
outputs. Every formula is checked by the engine at concrete instances, and every
number against finite differences, before anything is written.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from answerkey import figures, relations, worked
from answerkey.kit import checks, draws, traces
from answerkey.kit.chain import ScalarChain, Unit
from answerkey.kit.network import diagram
from answerkey.kit.softmax_hinge import HingeOverSoftmax
from answerkey.kit.writing import increments, listed, numbered, say, upright
from answerkey.mathfns import D, relu, reluprime, softmax
from answerkey.model import Assignment, Exercise, Part, Text, text
from answerkey.relations import definition, notation
from answerkey.terms import at_least, at_most, between, integer, positive

from ._practical_1_draw import CONSTRAINTS as DRAW_CONSTRAINTS
from ._practical_1_draw import NET
from ._practical_1_draw import TRACE_KEYS as TRACE_KEYS
from ._practical_1_draw import draw as draw
from ._practical_1_draw import instructive as instructive
from ._practical_1_draw import validate as validate

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
    **DRAW_CONSTRAINTS,
    "hinge.margin": [positive(), at_most(100)],
    "hinge.scores.*": between(-100, 100),
    "hinge.true_class": [integer(), at_least(1)],
}
NOTATION = upright("x_in W_out s_out y_out y_gt z_out delta_out") | {
    "delta_hidden": r"\delta",
    "L": r"\mathcal{L}",
    **increments("w W w_j W_ij"),
    "w_next": r"w + \Delta w",
    "W_next": r"W + \Delta W",
    "DeltaW_ij": r"\Delta W_{i \to j}",
    "N_next": r"N",
}

# --------------------------------------------------------------------------- exercise 1

# arbitrary activations: opaque to the proofs, a different smooth stand-in for random points
f_1, fprime_1 = checks.arbitrary("f_1", sp.tanh)
f_2, fprime_2 = checks.arbitrary("f_2", lambda u: 1 / (1 + sp.exp(-u)))
f_3, fprime_3 = checks.arbitrary("f_3", lambda u: sp.sin(u) + 2 * u)
x_in, w_1, s_1, z_1, w_2, s_2, z_2 = sp.symbols("x_in w_1 s_1 z_1 w_2 s_2 z_2")
W_out, s_out, y_out, y_gt, L = sp.symbols("W_out s_out y_out y_gt L")
delta_out, delta_1, delta_2, theta = sp.symbols("delta_out delta_1 delta_2 theta")
delta_j, delta_k, z_i, z_j, s_j, w_jk = sp.symbols("delta_j delta_k z_i z_j s_j w_jk")
w_ij, w_j, u = sp.symbols("w_ij w_j u")
CHAIN = ScalarChain(
    x_in,
    [
        Unit(w_1, s_1, z_1, f_1, fprime_1, delta_1),
        Unit(w_2, s_2, z_2, f_2, fprime_2, delta_2),
        Unit(W_out, s_out, y_out, f_3, fprime_3, delta_out),
    ],
    y_gt,
    L,
)


@functools.cache
def exercise_1() -> Exercise:
    """Parts 1a-1c: the chain-rule gradients and the backward recursion of error signals.
    It has no numbers: every term and variant shares one (verified once)."""
    parts = [
        CHAIN.part("1a", "Gradient by the output weight", W_out),
        CHAIN.part("1b", "Gradient by the middle weight", w_2),
    ]
    k_, n_next = sp.symbols("k N_next", integer=True)
    fprime, rule = type("fprime", (sp.Function,), {"nargs": 1}), sp.Symbol("DeltaW_ij")
    question = say(
        "Give {} and the general rule: error signals {} propagated backwards, and the "
        "weight update {}.",
        D(L, w_1),
        sp.Symbol("delta"),
        rule,
    )
    remarks = [
        say(
            "Define the error signal of a unit as the derivative of the loss by its input, {}. "
            "At the output, {}; going backwards, a unit j that feeds the units k of the next "
            "layer through weights {} has {}. The gradient by a weight from unit i to unit j is "
            "{} (the signal of the unit the weight feeds times the weight's input), so gradient "
            "descent with learning rate {} changes it by {}. For the chain this gives {}, {} and "
            "{}, the three results above (checked step by step), and the general rule is checked "
            "against finite differences on a branching 2-3-2-1 network.",
            definition(delta_j, D(L, s_j)),
            sp.Eq(delta_out, CHAIN.signals[delta_out]),
            w_jk,
            definition(delta_j, fprime(s_j) * sp.Sum(w_jk * delta_k, (k_, 1, n_next))),
            CHAIN.local_identity(w_ij, delta_j, z_i),
            theta,
            definition(rule, -theta * delta_j * z_i),
            *((D(L, w), d * z) for w, d, z in CHAIN.weights),
        )
    ]
    title = "Gradient by the first weight, and the general rule"
    part_c = CHAIN.part("1c", title, w_1, CHAIN.recursion(), question=[question], remarks=remarks)
    parts.append(CHAIN.state_rule(part_c, rule, theta, (delta_j, z_i)))
    intro = say(
        "The chain from the input {} to the output {}: {} with the loss {}; the activations {} "
        "are arbitrary differentiable functions and {} is the derivative of {}.",
        x_in,
        y_out,
        listed([definition(a, b) for a, b in reversed(CHAIN.links)]),
        definition(L, CHAIN.defs[L]),
        listed([f_1, f_2, f_3]),
        fprime_1(u),
        f_1(u),
    )
    chain = diagram("chain", "The chain of exercise 1.", chain_network())
    return Exercise("1", "Backpropagation through a chain", [intro], parts, figures=[chain])


# --------------------------------------------------------------------------- exercise 2

X_ROW, W_MAT, W_OUT, S_ROW, Z_ROW, Y_T, S_O, Z_O = NET.get("x W w s z y s_out z_out")
RELU_NET = NET.instance("the 2-3-1 ReLU network")
#: a hidden unit / the output unit that does not fire (s <= 0), for the remarks about them
HIDDEN_OFF = checks.inactive(s_j, {z_j: relu(s_j)})
OUTPUT_OFF = checks.inactive(S_O, {Z_O: relu(S_O), delta_out: (Z_O - Y_T) * reluprime(S_O)})


#: each block line: its key in answers.json's rows, its label, what the engine computes
SHOWN = traces.columns(
    ("x", "x", X_ROW),
    ("y", "y", Y_T),
    ("s_hidden", "s", S_ROW),
    ("z_hidden", "z", Z_ROW),
    ("s_out", "s_out", S_O),
    ("z_out", "z_out", Z_O),
    ("loss", "L", L),
    ("delta_out", "delta_out", D(L, S_O)),
    ("delta_hidden", "delta_hidden", D(L, S_ROW)),
    ("dw", "Delta_w", worked.StepOf(W_OUT)),
    ("dW", "Delta_W", worked.StepOf(W_MAT)),
    ("w", "w_next", worked.NewValueOf(W_OUT)),
    ("W", "W_next", worked.NewValueOf(W_MAT)),
)
LABEL = {key: label for key, (label, _) in SHOWN.items()}
SEED_TOL, EARLIER = 6e-6, "earlier published solution"


def sgd_trace(trace: Mapping[str, Any]) -> worked.Trace:
    """The engine's trace of per-sample SGD on the network, from the parameters."""
    inputs, show = {"x": X_ROW, "y": Y_T}, list(SHOWN.values())
    return traces.sgd_of(RELU_NET, L, NET.weights(trace), trace, inputs, show, NET.oracle)


def trace_remarks(
    t: worked.Trace, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[Text], list[Any]]:
    """What a lecturer would point out, read off the computed trace (and the engine objects
    that compute the numbers these remarks add)."""
    remarks, extra = [], []
    off = traces.grouped(  # hidden units that do not fire while the output does
        rows, lambda r: tuple(j + 1 for j, s in enumerate(r["s_hidden"]) if s <= 0 < r["s_out"])
    )
    for (n, units), its in off.items():
        remarks.append(
            say(
                f"For sample {n} (in {traces.when(t, its)}) hidden {numbered('unit', units)} "
                f"{'are' if len(units) > 1 else 'is'} inactive: {{}}, so {{}} and {{}}. The "
                "unit's error signal {} is 0, hence its column of {} does not move, and its "
                "output weight in {} does not move either (its input z is 0).",
                relations.assumption(sp.Le(s_j, 0)),
                relations.identity(z_j, 0, HIDDEN_OFF),
                relations.identity(reluprime(s_j), 0, HIDDEN_OFF),
                delta_j,
                sp.Symbol("W"),
                sp.Symbol("w"),
            )
        )
    for point, row in zip(t.steps, rows, strict=True):
        if row["s_out"] <= 0:
            remarks.append(
                say(
                    f"In iteration {row['iteration']}, sample {row['sample']}, the output unit "
                    "is inactive ({}, not positive): {} and no weight changes, although the loss "
                    "is {}.",
                    (S_O, point[LABEL["s_out"]]),
                    relations.identity(delta_out, 0, OUTPUT_OFF),
                    point[L],
                )
            )
    for n, sample in enumerate(t.samples, start=1):
        if float(sample[Y_T].value) < 0:
            losses = [p[L] for p, (_, m) in zip(t.steps, t.order, strict=True) if m == n]
            bound = Y_T**2 / 2
            floor = worked.value(
                f"sample {n}: the loss's lower bound", bound, bound, {Y_T: sample[Y_T]}
            )
            extra.append(floor)
            remarks.append(
                say(
                    f"Sample {n} has target {{}}, which the output {{}}, never negative, can never "
                    "reach: its loss is at least {} whatever the weights (here {}). The best the "
                    "network can do is to push {} to 0 or below, after which {} and this sample "
                    "stops teaching it anything.",
                    (Y_T, sample[Y_T]),
                    definition(Z_O, relu(S_O)),
                    (bound, floor[bound]),
                    listed(losses),
                    S_O,
                    relations.identity(reluprime(s_out), 0, OUTPUT_OFF),
                )
            )
    return [*remarks, traces.trend(t, L)], extra


def seed_errata(
    t: worked.Trace, rows: Sequence[Mapping[str, Any]], trace: Mapping[str, Any]
) -> tuple[list[Text], list[dict[str, Any]]]:
    """Where the earlier published trace (its numbers in the claims file) disagrees with ours:
    its first update, and the loss of sample 1 in each iteration (original numbers only)."""
    if not draws.same_numbers(trace, PARAMETERS["trace"]):
        return [], []
    seed = traces.transcribed(ID, "2")
    first = traces.compare(rows, seed, [k for k in seed if k[1] == 1], SEED_TOL)
    ones = [("loss", k + 1) for k, row in enumerate(rows) if row["sample"] == 1]
    later = traces.compare(rows, seed, ones, SEED_TOL)
    differ = [LABEL[r["quantity"]] for r in first if not r["agrees"]]
    remarks = []
    if differ:
        seed_dh = seed[("delta_hidden", 1)].reshape(-1)
        no_w = rows[0]["delta_out"] * (np.asarray(rows[0]["s_hidden"]) > 0)
        why = say(
            ". Its hidden error signal is {}: it leaves out the output weight {} of {},",
            delta_out * reluprime(s_j),
            w_j,
            definition(delta_j, reluprime(s_j) * w_j * delta_out),
        )
        if not np.allclose(seed_dh, no_w, atol=SEED_TOL):
            why = text(";")
        remarks.append(
            say(
                "Erratum. The earlier published solution's first update agrees with ours in {} "
                "but not in {}: it gives {} where the computation gives {} {} so its new W, {}, "
                "should be {}. Every later number of its trace inherits the error.",
                listed([LABEL[r["quantity"]] for r in first if r["agrees"]]),
                listed(differ),
                (
                    sp.Symbol("delta_hidden"),
                    worked.given(seed_dh, f"{EARLIER}: delta_hidden", quoted=EARLIER),
                ),
                t.steps[0][LABEL["delta_hidden"]],
                list(why.items),
                worked.given(seed[("W", 1)], f"{EARLIER}: W"),
                t.steps[0][LABEL["W"]],
            )
        )
    bad = traces.disagreements(t, later, L, EARLIER)
    if bad:
        remarks.append(say("The earlier published loss of sample 1 in {}.", bad))
    return remarks, first + later


def exercise_2(trace: Mapping[str, Any]) -> Exercise:
    """The SGD trace, one block per update, computed and checked by the engine."""
    t = sgd_trace(trace)
    rows = traces.rows(t, LABEL)
    errata_text, errata = seed_errata(t, rows, trace)
    remarks, extra = trace_remarks(t, rows)
    part = traces.part(
        t,
        L,
        [Y_T, Z_O, L],
        text("The loss of each update's sample, before the update."),
        extra,
        id="2",
        title="A numeric trace of SGD",
        question=[
            say(
                "A network with 2 inputs, 3 hidden ReLU units and one ReLU output unit, no "
                "biases: {}, {}, {}, {}, loss {}, with {}. Initial weights {} and {}, learning "
                "rate {}. Train with per-sample SGD (one update after each sample) on the samples "
                f"{{}}, in this order, for {t.iterations} iterations, and report every update.",
                *(definition(a, b) for a, b in NET.defs.items()),
                definition(L, RELU_NET.defs[L]),
                relations.assumption(reluprime(0), 0),
                (W_MAT, t.initial[W_MAT]),
                (W_OUT, t.initial[W_OUT]),
                (theta, t.optimizer.learning_rate),
                traces.samples(t, [X_ROW, Y_T]),
            )
        ],
        remarks=[
            say(
                "Each update: forward pass as above; error signals {} and {}; updates {} and {} "
                "(the rule of 1c), with the weights before the update.",
                definition(delta_out, (Z_O - Y_T) * reluprime(S_O)),
                definition(delta_j, reluprime(s_j) * w_j * delta_out),
                definition(sp.Symbol("Delta_w_j"), -theta * delta_out * z_j),
                definition(sp.Symbol("Delta_W_ij"), -theta * sp.Symbol("x_i") * delta_j),
            ),
            *remarks,
            *errata_text,
        ],
        data={"trace": rows, "seed_errata": errata},
    )
    drawing = trace_network(trace["W"], trace["w"])
    network = diagram("network", "The network with its initial weights (on the edges).", drawing)
    return Exercise("2", "A numeric trace", [], [part], figures=[network])


# --------------------------------------------------------------------------- exercise 3

K = sp.Symbol("K", integer=True, positive=True)
o_vec, p_vec, a_vec, e_vec = (sp.MatrixSymbol(c, K, 1) for c in "opae")
n_active, margin = sp.symbols("n m")
j_idx, k_idx, y_idx = sp.symbols("j k y", integer=True, positive=True)
P, OUT, A = sp.IndexedBase("p"), sp.IndexedBase("o"), sp.IndexedBase("a")
HINGE = HingeOverSoftmax(
    o_vec, p_vec, e_vec, margin, L, sp.MatrixSymbol("g", K, 1), sp.MatrixSymbol("h", K, 1)
)
#: dL/do_k for general K: a_j = 1 when the term of class j is active (a_y = 0)
HINGE_GRADIENT = HINGE.componentwise(a_vec, (j_idx, k_idx, y_idx))
#: per (K, true class): the active terms the derivation is proved at; all, some and none occur
HINGE_CASES = {3: {1: (2,), 2: (1, 3), 3: ()}, 4: {1: (2, 3), 2: (1, 3, 4), 3: (1,), 4: ()}}


@draws.shared  # exercise 3 depends only on the hinge numbers, which variants do not redraw
def exercise_3(hinge: Mapping[str, Any]) -> Exercise:
    """Hinge loss over softmax outputs: what it does (3a) and its gradient (3b)."""
    y, m = int(hinge["true_class"]), float(hinge["margin"])
    worked_ex = HINGE.example("hinge example", hinge["scores"], y, m)
    ex = {"scores": [float(v) for v in hinge["scores"]], "true_class": y, "margin": m}
    ex |= HINGE.plain(worked_ex, y)
    size = len(ex["p"])
    o_given, m_given = worked_ex.point.at[o_vec], worked_ex.point.at[margin]
    py, pj, oj, ok_ = P[y_idx], P[j_idx], OUT[j_idx], OUT[k_idx]
    hinge_term = sp.Max(0, HINGE.gap(j_idx, y_idx))
    caption = say(f"The example: K = {size}, true class y = {y}, margin {{}}.", (margin, m_given))
    what = [
        say(
            "Each term {} is zero exactly when {}: the loss makes the network give the true class "
            "a probability that exceeds every other class's probability by at least the margin "
            "{}. A class that already trails by the margin contributes nothing, not even a "
            "gradient; for each class that does not, the loss pushes {} up and {} down. Unlike "
            "cross-entropy it stops once all margins hold, so it does not push {} towards 1 and "
            "does not try to separate the other classes from one another.",
            hinge_term,
            relations.assumption(sp.GreaterThan(py, pj + margin)),
            margin,
            OUT[y_idx],
            oj,
            py,
        )
    ]
    if m >= 1:
        what.append(
            say(
                "With this margin {} the loss can never be zero: softmax probabilities differ by "
                "less than 1.",
                (margin, m_given),
            )
        )
    what.append(
        say(
            f"Example (table): with {{}} and true class {y}, {HINGE.terms(worked_ex, y)}, and the "
            "loss is {}.",
            (o_vec, o_given),
            (L, worked_ex[L]),
        )
    )
    part_a = Part(
        id="3a",
        title="What the hinge loss over softmax does",
        question=[
            say(
                "Softmax outputs {} over K classes and the multiclass hinge loss for a sample of "
                "class y, {} with the term of the true class left out. What does this loss make "
                "the network do?",
                definition(p_vec, softmax(o_vec)),
                definition(L, sp.Sum(hinge_term, (j_idx, 1, K))),
            )
        ],
        answer_lhs=L,
        answer=worked_ex[L],
        remarks=what,
        tables=[HINGE.table(worked_ex, y, (j_idx, k_idx, y_idx), caption)],
        data={"example": ex},
        numeric_checks=worked.attach(worked_ex),
    )
    derivation = HINGE.gradient(a_vec, n_active, (j_idx, k_idx, y_idx), HINGE_CASES)
    grad = ex["gradient"]
    raised = ", ".join(f"class {k + 1}" for k in range(size) if grad[k] < 0)
    lowered = ", ".join(f"class {k + 1}" for k in range(size) if grad[k] > 0)
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
    part_b = Part(
        id="3b",
        title="Its gradient",
        question=[say("Give {} for every output k.", D(L, ok_))],
        derivations=[derivation],
        answer_lhs=D(L, ok_),
        answer=HINGE_GRADIENT,
        remarks=[
            say(
                "Here {} is 1 when the term of class j is active, {}, and 0 otherwise (and {}). "
                "With {} active terms, {}, i.e. a linear function of {} with the one-hot vector "
                "{} of class y, which gives the vector form of the derivation. At a kink {} the "
                "loss has no derivative; the formula then takes the term as inactive (a "
                "subgradient).",
                A[j_idx],
                relations.assumption(sp.StrictGreaterThan(pj - py + margin, 0)),
                definition(A[y_idx], 0),
                n_active,
                notation(
                    L, sp.Sum(A[j_idx] * pj, (j_idx, 1, K)) - n_active * py + n_active * margin
                ),
                p_vec,
                e_vec,
                relations.assumption(pj - py + margin, 0),
            ),
            say(
                f"At the example, {{}}: a gradient-descent step raises the score of {raised} and "
                f"lowers {lowered}.",
                (D(L, o_vec), worked_ex[D(L, o_vec)]),
            ),
            say(
                "Erratum. The earlier published answer, {} over k other than j, ignores the "
                "denominator of softmax, the {} term and the sum over the active terms; at the "
                "example it gives {} for the components where the derivative is {}.",
                sp.exp(OUT[j_idx]) * sp.Sum(sp.exp(OUT[k_idx]), (k_idx, 1, K)),
                py,
                seed_formula["earlier published formula"],
                worked_ex[D(L, o_vec)],
            ),
        ],
        data={"example_gradient": ex["gradient"]},
    )
    part_b.numeric_checks = [
        *worked.attach(seed_formula),
        *HINGE.answer_checks(
            lambda: part_b.answer,
            derivation.steps[-1].expr,
            a_vec,
            n_active,
            (P, A),
            (y_idx, k_idx),
        ),
    ]
    intro = [say("The network's outputs {} are turned into probabilities by softmax.", o_vec)]
    return Exercise("3", "A hinge loss over softmax outputs", intro, [part_a, part_b])


# --------------------------------------------------------------------------- the assignment


def chain_network() -> figures.Network:
    """Exercise 1's figure: x_in -w_1-> s_1 -f_1-> z_1 -w_2-> ... -f_3-> y_out."""
    return figures.Network(
        "practical-1-ex1",
        (
            figures.Layer("x_{\\mathrm{in}}", "x_in", 1),
            figures.Layer("z_1", "z_1", 1, "f_1", "s_1", "s_1"),
            figures.Layer("z_2", "z_2", 1, "f_2", "s_2", "s_2"),
            figures.Layer("y_{\\mathrm{out}}", "y_out", 1, "f_3", "s_{\\mathrm{out}}", "s_out"),
        ),
        (
            figures.Connection("w_1", "w_1"),
            figures.Connection("w_2", "w_2"),
            figures.Connection("W_{\\mathrm{out}}", "W_out"),
        ),
    )


def trace_network(
    W: Sequence[Sequence[float]], w: Sequence[float], *, show_weights: bool = True
) -> figures.Network:
    """Exercise 2's figure: inputs -> ReLU hidden -> ReLU output, no biases.

    `W[i][j]` is the weight from input i to hidden unit j, `w[j]` from hidden
    unit j to the output; the sizes follow the shapes of `W`.
    """
    n_in, n_hidden = len(W), len(W[0])
    if len(w) != n_hidden:
        raise ValueError(f"w has {len(w)} weights for {n_hidden} hidden units")
    return figures.Network(
        "practical-1-ex2",
        (
            figures.Layer("x", "x", n_in, unit_name="inputs" if n_in != 1 else "input"),
            figures.Layer("z", "z", n_hidden, "relu", "s", "s", "hidden units"),
            figures.Layer(
                "z_{\\mathrm{out}}", "z_out", 1, "relu", "s_{\\mathrm{out}}", "s_out", "output"
            ),
        ),
        (
            figures.Connection(
                "W", "W", tuple(tuple(float(v) for v in row) for row in W) if show_weights else None
            ),
            figures.Connection("w", "w", tuple((float(v),) for v in w) if show_weights else None),
        ),
    )


def build(params: Mapping[str, Any]) -> Assignment:
    """The practical-1 key from its parameters (exercise 4's statement is lost: not covered)."""
    return Assignment(
        id=ID,
        title=TITLE,
        exercises=[
            exercise_1(),
            exercise_2(params["trace"]),
            exercise_3(params["hinge"]),
        ],
        notation=NOTATION,
        source=SEED,
    )
