"""A test-only exercise written the way a new course author would write one, with no
checks of its own: a linear softmax classifier under cross-entropy, a worked example
(the gradients at given numbers) and one SGD step. `build(mistake=...)` makes one of
the mistakes the engine has to catch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from answerkey import relations, worked
from answerkey.mathfns import D, T, diag, elementwise, eq, mm, softmax
from answerkey.model import Assignment, Block, Exercise, Instance, Part, Table, text

ID = "softmax-ce"
n, K = sp.symbols("n K", integer=True, positive=True)
x = sp.MatrixSymbol("x", n, 1)
W = sp.MatrixSymbol("W", K, n)
b = sp.MatrixSymbol("b", K, 1)
z = sp.MatrixSymbol("z", K, 1)
p = sp.MatrixSymbol("p", K, 1)
t = sp.MatrixSymbol("t", K, 1)
L = sp.Symbol("L")
eta = sp.Symbol("eta")

MODEL = Instance(
    sizes={n: 2, K: 3},
    defs={z: mm(W, x) + b, p: softmax(z), L: -mm(T(t), elementwise("log", p))},
    given={"t_3": 1 - sp.Symbol("t_1") - sp.Symbol("t_2")},  # one-hot: the targets sum to 1
    domain={"t": (0.0, 0.5)},
    label="2 inputs, 3 classes",
)

PARAMETERS: dict[str, Any] = {
    "W": [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]],
    "b": [0.0, 0.1, -0.1],
    "x": [1.0, 2.0],
    "t": [0.0, 1.0, 0.0],
    "learning_rate": 0.5,
}


def oracle(v: Mapping[str, Any]) -> dict[str, Any]:
    """The classifier in plain NumPy."""
    zv = v["W"] @ v["x"] + v["b"]
    e = np.exp(zv - zv.max())
    pv = e / e.sum()
    return {"z": zv, "p": pv, "L": float(-(v["t"] * np.log(pv)).sum())}


def build(params: Mapping[str, Any] = PARAMETERS, mistake: str = "") -> Assignment:
    col = {k: np.asarray(params[k], dtype=float).reshape(-1, 1) for k in ("b", "x", "t")}
    at = {
        W: worked.given(params["W"], "W"),
        b: worked.given(col["b"], "b"),
        x: worked.given(col["x"], "x"),
        t: worked.given(col["t"], "t"),
    }
    # the author's gradient formula; the mistake of the issue: p + t for p - t
    grad_W = mm(p + t, T(x)) if mistake == "gradient" else mm(p - t, T(x))
    shown: list[Any] = [z, p, L, (D(L, W), grad_W), D(L, b)]
    if mistake == "free-label":  # the loss printed as "p_2 = ..."
        shown.append((sp.Symbol("p_2"), L))
    if mistake == "text-label":  # likewise under a text label
        shown.append(("p_2", L))
    ex = worked.example("worked example", MODEL, at, shown, oracle=oracle)
    lr = worked.given(params["learning_rate"], "learning rate")
    # the trace's own rate: the one the question prints, unless the mistake hides another
    hidden = mistake in ("hidden-rate", "rate-in-remark")
    rate = worked.given(0.05, "learning rate") if hidden else lr
    new_values = [
        (sp.Symbol("W'"), worked.NewValueOf(W)),
        (sp.Symbol("b'"), worked.NewValueOf(b)),
    ]
    if mistake == "swapped-labels":  # b' printed over the new W, W' over the new b
        new_values = [(sp.Symbol("b'"), new_values[0][1]), (sp.Symbol("W'"), new_values[1][1])]
    if mistake == "step-label":  # the step's label over the new value
        new_values[0] = (sp.Symbol("Delta_W"), worked.NewValueOf(W))
    step = worked.trace(
        "one SGD step",
        MODEL,
        params={W: at[W], b: at[b]},
        samples=[{x: at[x], t: at[t]}],
        loss=L,
        optimizer=worked.SGD(rate),
        iterations=1,
        show=new_values,
        oracle=oracle,
    )
    block = ex.block(text("The worked example"))
    if mistake == "block":
        lines = list(block.lines)
        lines[2] = (lines[2][0], float(ex[L]) + 0.01)  # a number typed in by hand
        block = Block(block.title, tuple(lines))
    if mistake == "block-value":
        lines = list(block.lines)
        lines[2] = (
            lines[2][0],
            ex[L]
            .written(None)
            .__class__(float(ex[L]) + 1e-9, ex[L].label, ex[L].source, ex[L].origin, ex[L].key),
        )
        block = Block(block.title, tuple(lines))
    if mistake == "text-label-line":  # a block line under a text label
        block = Block(block.title, (*block.lines, ("p_2", ex[L])))
    if mistake == "block-label":  # the loss's number printed beside z
        lines = list(block.lines)
        lines[2] = (z, lines[2][1])
        block = Block(block.title, tuple(lines))
    cells = [(k + 1, ex[p][k]) for k in range(3)]
    if mistake == "cell":
        cells[1] = (2, 0.35)
    if mistake == "cell-label":  # an entry of z in the column of p
        cells[1] = (2, ex[z][1])
    table = Table(header=("class", p), rows=tuple(cells))
    if mistake == "cell-quantity":  # the loss in a column headed by the gradient
        table = Table(header=("class", p, D(L, b)), rows=((1, ex[p][0], ex[L]),))
    question = text(
        "A linear classifier",
        relations.definition(z, mm(W, x) + b),
        "with softmax and cross-entropy, at",
        (W, at[W]),
        ",",
        (b, at[b]),
        ",",
        (x, at[x]),
        ",",
        (t, at[t]),
        "and learning rate",
        (eta, lr),
        ".",
    )
    if mistake == "question":
        question = text("A linear classifier at learning rate", (eta, 0.5), ".")
    remark = text("The loss at the example is", (L, ex[L]), ".")
    if mistake == "mislabelled":  # an engine number beside the wrong quantity
        remark = text("The loss at the example is", (z[0, 0], ex[L]), ".")
    if mistake == "given-for-computed":  # a computed quantity stated as a given number
        remark = text("The loss at the example is", (L, worked.given(0.3, "loss")), ".")
    if mistake == "given-other-value":  # an input stated with another value than used
        remark = text("Recall", (x, worked.given([[9.0], [9.0]], "x")), ".")
    grad_b = np.asarray(ex[D(L, b)].value)
    if mistake == "given-gradient":  # dL/db typed from the author's sheet: twice the gradient
        remark = text("Here", (D(L, b), worked.given(2 * grad_b, "dL/db")), ".")
    if mistake == "given-new-value":  # W' of a step at 0.05 while the question says 0.5
        new_w = np.asarray(at[W].value) - 0.05 * np.asarray(ex[D(L, W)].value)
        remark = text("After the step", (sp.Symbol("W'"), worked.given(new_w, "W'")), ".")
    if mistake == "rate-in-remark":  # the trace runs at 0.05, printed in a remark only
        remark = text("The step uses a rate of", rate, ".")
    # the author's equations in prose: a fact and a remark, no check of their own
    fact_rhs = mm(T(t), sp.Inverse(diag(p)))
    fact = text("From the loss,", eq(D(L, p), fact_rhs if mistake == "fact" else -fact_rhs), ".")
    grad = mm(p + t, T(x)) if mistake == "remark-equation" else mm(p - t, T(x))
    rule = text("With one-hot targets,", eq(D(L, W), grad), ".")
    if mistake == "remark-number":
        remark = text(f"The loss at the example is {float(ex[L]):.4f}.")
    answer: Any = ex[L]
    if mistake == "answer":
        answer = float(ex[L])
    part = Part(
        "2",
        "a worked example",
        [question],
        facts=[fact],
        remarks=[remark, rule],
        blocks=[block, step.block(0, text("After one step"))],
        tables=[table],
        answer=answer,
        answer_lhs=z[0, 0] if mistake == "answer-lhs" else L,
        numeric_checks=worked.attach(ex, step),
    )
    return Assignment(ID, "Softmax and cross-entropy", [Exercise("1", "", [], [part])])
