"""CV Assignment 9, Task 1: gradients of a sigmoid-softmax network under cross-entropy.

Every formula is a general matrix expression (sizes n, h, K, m); the verifier
instantiates it at concrete sizes with the network's definitions and checks
it step by step, and against finite differences of the NumPy oracle below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp

from answerkey import figures, relations
from answerkey.mathfns import (
    D,
    T,
    diag,
    elementwise,
    eq,
    hadamard_ones_minus,
    mm,
    sigmoid,
    softmax,
    sqnorm,
)
from answerkey.model import Assignment, Derivation, Exercise, Figure, Instance, Part, Step, text

ID = "cv-assignment9"
TITLE = "CV Assignment 9"
SEED = "000_6d7bfadbf1f9dda0.txt"
PARAMETERS: dict[str, Any] = {}

n, h, K, m = sp.symbols("n h K m", integer=True, positive=True)
x = sp.MatrixSymbol("x", n, 1)
W1 = sp.MatrixSymbol("W1", h, n)
z1 = sp.MatrixSymbol("z1", h, 1)
y1 = sp.MatrixSymbol("y1", h, 1)
W2 = sp.MatrixSymbol("W2", K, h)
z2 = sp.MatrixSymbol("z2", K, 1)
y2 = sp.MatrixSymbol("y2", K, 1)
t = sp.MatrixSymbol("t", K, 1)
E = sp.Symbol("E")
ones_K = sp.OneMatrix(K, 1)

# Mini-batch: one column per sample.
X = sp.MatrixSymbol("Xb", n, m)
Z1 = sp.MatrixSymbol("Z1b", h, m)
Y1 = sp.MatrixSymbol("Y1b", h, m)
Z2 = sp.MatrixSymbol("Z2b", K, m)
Y2 = sp.MatrixSymbol("Y2b", K, m)
Tb = sp.MatrixSymbol("Tb", K, m)

# L2 penalty.
lam = sp.Symbol("lambda", positive=True)
E_reg = sp.Symbol("E_reg")
N1, N2 = sp.symbols("N1 N2")

# Index notation in the reasons.
a_, b_ = sp.MatrixSymbol("a", h, 1), sp.MatrixSymbol("b", h, 1)
y_k, t_k, y_i, y_j, z_j = sp.symbols("y_k t_k y_i y_j z_j")
i_, j_ = sp.symbols("i j", integer=True)

# One term of a sum in index notation (part 2) and one output unit (part 4), to check
# the index formulas of their facts on.
t_i = sp.Symbol("t_i")
TWO_TERMS = Instance(
    defs={E: -(t_k * sp.log(y_k) + t_i * sp.log(y_i))},
    domain={"y_k": (0.1, 1.0), "y_i": (0.1, 1.0)},
    label="two terms of the sum",
)
z_k, w_kj, w_ki, y_j_ = sp.symbols("z_k w_kj w_ki y_j")
ONE_UNIT = Instance(
    defs={z_k: w_kj * y_j_ + w_ki * y_i, E: sp.log(1 + sp.exp(-z_k))},
    label="one unit with two inputs",
)

# Scalar unit of parts 1a/1b.
W, xs, ts, u = sp.symbols("W x t u", real=True)
s_u = sp.Symbol("s")

NOTATION = {
    "W1": "W^{(1)}",
    "W2": "W^{(2)}",
    "z1": "z^{(1)}",
    "z2": "z^{(2)}",
    "y1": "y^{(1)}",
    "y2": "y^{(2)}",
    "Xb": "X",
    "Z1b": "Z^{(1)}",
    "Y1b": "Y^{(1)}",
    "Z2b": "Z^{(2)}",
    "Y2b": "Y^{(2)}",
    "Tb": "T",
    "E_reg": r"E_{\lambda}",
    "s": r"\sigma(u)",
}

SIZES = {n: 2, h: 4, K: 3}
LABEL = "2 inputs, 4 hidden units, 3 classes"
# The symbolic proofs of parts 7 and 9 grow fast with the sizes: they run at the
# smallest instance that still has every index (numeric checks stay at SIZES).
PROOF_SIZES = {n: 2, h: 3, K: 3}
PROOF_LABEL = "2 inputs, 3 hidden units, 3 classes"


def _one_hot(k: int, name: str = "t", column: int | None = None) -> dict[str, Any]:
    """Targets sum to one: the last component is 1 minus the others."""
    if column is None:
        names = [f"{name}_{i}" for i in range(1, k + 1)]
    else:
        names = [f"{name}_{i}{column}" for i in range(1, k + 1)]
    return {names[-1]: 1 - sum(sp.Symbol(v) for v in names[:-1])}


def _network(leaf: str, proof: bool = False) -> Instance:
    """The network's definitions, starting at `leaf` (which stays a free input).

    `proof=True`: the small instance for the symbolic proof."""
    chain: list[tuple[Any, Any]] = [
        (z1, mm(W1, x)),
        (y1, elementwise("sigmoid", z1)),
        (z2, mm(W2, y1)),
        (y2, softmax(z2)),
        (E, -mm(T(t), elementwise("log", y2))),
    ]
    names = [str(v.name) for v, _ in chain]
    defs = dict(chain[names.index(leaf) + 1 :]) if leaf in names else dict(chain)
    return Instance(
        sizes=PROOF_SIZES if proof else SIZES,
        defs=defs,
        given=_one_hot(3),
        domain={"t": (0.0, 0.5)},
        label=PROOF_LABEL if proof else LABEL,
    )


def _proved_small(leaf: str) -> tuple[Instance, Instance]:
    """Numeric checks at SIZES, the symbolic proof at PROOF_SIZES."""
    big = _network(leaf)
    return (replace(big, prove=False), _network(leaf, proof=True))


def oracle(v: Mapping[str, np.ndarray]) -> float:
    """Cross-entropy of the network in plain NumPy, from whichever stage is given."""
    if "z2" in v:
        z2v = v["z2"]
    else:
        if "y1" in v:
            y1v = v["y1"]
        else:
            z1v = v["z1"] if "z1" in v else v["W1"] @ v["x"]
            y1v = 1.0 / (1.0 + np.exp(-z1v))
        z2v = v["W2"] @ y1v
    shifted = z2v - z2v.max(axis=0)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=0))
    t_v = v["t"].copy()
    t_v[-1] = 1.0 - t_v[:-1].sum()
    return float(-(t_v * log_p).sum())


def _step(expr: Any, *reason: Any) -> Step:
    return Step(expr, text(*reason))


def part_1a() -> Part:
    inst = Instance(
        defs={E: -ts * sp.log(sigmoid(W * xs))}, domain={"t": (0.0, 1.0)}, label="scalars"
    )
    d = Derivation(
        D(E, ts),
        (
            _step(-sp.log(sigmoid(W * xs)), "E is linear in", ts),
            _step(sp.log(1 + sp.exp(-W * xs)), "since", eq(sigmoid(u), 1 / (1 + sp.exp(-u)))),
        ),
        (inst,),
    )
    return Part(
        "1a",
        "a single sigmoid unit",
        [
            text(
                "For one sample,",
                relations.assumption(m, 1),
                ", and a single sigmoid unit with scalar weight",
                W,
                ", input",
                xs,
                "and target",
                ts,
                "the error is",
                eq(E, -ts * sp.log(sigmoid(W * xs))),
                ". Give",
                D(E, ts),
                ".",
            )
        ],
        [d],
    )


def part_1b() -> Part:
    inst = Instance(
        defs={E: -ts * sp.log(sigmoid(W * xs))}, domain={"t": (0.0, 1.0)}, label="scalars"
    )
    sig = sigmoid(W * xs)
    d = Derivation(
        D(E, xs),
        (
            _step(
                sp.Mul(-ts, 1 / sig, sp.Mul(sig, 1 - sig, evaluate=False), W, evaluate=False),
                "chain rule",
            ),
            _step(-ts * W * (1 - sig), "cancel", sig),
            _step(
                -ts * W * sp.exp(-W * xs) / (1 + sp.exp(-W * xs)),
                "since",
                eq(1 - sigmoid(u), sp.exp(-u) / (1 + sp.exp(-u))),
            ),
            _step(-ts * W / (1 + sp.exp(W * xs)), "multiply through by", sp.exp(W * xs)),
        ),
        (inst,),
    )
    return Part(
        "1b",
        "the same unit, by its input",
        [
            text(
                "For the same unit, give",
                D(E, xs),
                "in terms of the scalars",
                W,
                ",",
                xs,
                "and",
                ts,
                ".",
            )
        ],
        [d],
        facts=[
            text(
                "The chain rule with",
                eq(D(sp.log(u), u), 1 / u),
                ",",
                eq(sp.Derivative(sigmoid(u), u), sigmoid(u) * (1 - sigmoid(u))),
                "(part 5) and",
                eq(D(W * xs, xs), W),
                ":",
            )
        ],
    )


def part_2() -> Part:
    sm_jac = sp.MatAdd(diag(y2), -mm(y2, T(y2)))
    inst_3 = _network("z2")
    inst_4 = Instance(
        sizes={n: 3, h: 4, K: 4},
        defs=inst_3.defs,
        given=_one_hot(4),
        domain={"t": (0.0, 0.33)},
        label="4 classes",
    )
    d = Derivation(
        D(E, z2),
        (
            _step(mm(D(E, y2), D(y2, z2)), "chain rule"),
            _step(-mm(T(t), sp.Inverse(diag(y2)), sm_jac), "the two factors above"),
            _step(
                sp.MatAdd(-T(t), mm(T(t), ones_K, T(y2))),
                "multiply out",
            ),
            _step(T(y2 - t), "the target is one-hot:", eq(mm(T(t), ones_K), 1)),
        ),
        (inst_3, inst_4),
        oracle=oracle,
    )
    return Part(
        "2",
        "softmax followed by cross-entropy",
        [text("Show that", eq(D(E, z2), T(y2 - t)), ".")],
        [d],
        facts=[
            text(
                "From",
                relations.definition(E, -sp.Sum(t_k * sp.log(y_k), (sp.Symbol("k"), 1, K))),
                ":",
                # checked on two terms of the sum, one of them the k-th
                relations.identity(D(E, y_k), -t_k / y_k, TWO_TERMS),
                ", so",
                eq(D(E, y2), -mm(T(t), sp.Inverse(diag(y2)))),
                ". The softmax Jacobian is",
                # the entrywise form of the Jacobian checked just after
                relations.notation(D(y_i, z_j), y_i * (sp.KroneckerDelta(i_, j_) - y_j)),
                ", that is",
                eq(D(y2, z2), sm_jac),
                ". Multiplying out uses",
                eq(mm(sp.Inverse(diag(y2)), y2), ones_K),
                ".",
            )
        ],
    )


def part_3() -> Part:
    d = Derivation(
        D(E, y1),
        (
            _step(mm(D(E, z2), D(z2, y1)), "chain rule"),
            _step(mm(T(y2 - t), W2), "part 2, and", eq(D(z2, y1), W2), "since", eq(z2, mm(W2, y1))),
        ),
        (_network("y1"),),
        oracle=oracle,
    )
    return Part(
        "3",
        "back through the second layer",
        [text("Show that", eq(D(E, y1), mm(T(y2 - t), W2)), ".")],
        [d],
    )


def part_4() -> Part:
    d = Derivation(
        D(E, W2),
        (
            _step(
                mm(T(D(E, z2)), T(y1)),
                "outer product (see above)",
            ),
            _step(mm(y2 - t, T(y1)), "part 2"),
        ),
        (_network("y1"),),
        oracle=oracle,
    )
    return Part(
        "4",
        "the second layer's weights",
        [text("Show that", eq(D(E, W2), mm(y2 - t, T(y1))), ".")],
        [d],
        facts=[
            text(
                "Entry",
                sp.Symbol("z_k"),
                "of",
                z2,
                "depends on row k of",
                W2,
                "only, with",
                relations.identity(D(z_k, w_kj), y_j_, ONE_UNIT),
                "; so",
                relations.identity(D(E, w_kj), D(E, z_k) * y_j_, ONE_UNIT),
                ": the gradient is an outer product.",
            )
        ],
    )


def part_5() -> Part:
    scalar = Derivation(
        D(s_u, u),
        (
            _step(
                sp.exp(-u) / (1 + sp.exp(-u)) ** 2,
                "differentiate",
                eq(sigmoid(u), 1 / (1 + sp.exp(-u))),
            ),
            _step(
                sp.Mul(1 / (1 + sp.exp(-u)), sp.exp(-u) / (1 + sp.exp(-u)), evaluate=False),
                "split the fraction",
            ),
            _step(
                sigmoid(u) * (1 - sigmoid(u)),
                "since",
                eq(sp.exp(-u) / (1 + sp.exp(-u)), 1 - sigmoid(u)),
            ),
        ),
        (Instance(defs={s_u: sigmoid(u)}, label="scalar"),),
    )
    vector = Derivation(
        D(y1, z1),
        (
            _step(
                diag(sp.HadamardProduct(y1, hadamard_ones_minus(y1))),
                "entrywise, as above",
            ),
        ),
        (Instance(sizes=SIZES, defs={y1: elementwise("sigmoid", z1)}, label="4 hidden units"),),
    )
    return Part(
        "5",
        "the derivative of the sigmoid",
        [
            text(
                "Show that",
                eq(D(y1, z1), diag(sp.HadamardProduct(y1, hadamard_ones_minus(y1)))),
                ".",
            )
        ],
        [scalar, vector],
    )


SIGMA_PRIME = diag(sp.HadamardProduct(y1, hadamard_ones_minus(y1)))


def part_6() -> Part:
    d = Derivation(
        D(E, z1),
        (
            _step(mm(D(E, y1), D(y1, z1)), "chain rule"),
            _step(mm(T(y2 - t), W2, SIGMA_PRIME), "parts 3 and 5"),
        ),
        (_network("z1"),),
        oracle=oracle,
    )
    return Part(
        "6",
        "back through the sigmoid",
        [text("Show that", eq(D(E, z1), mm(T(y2 - t), W2, SIGMA_PRIME)), ".")],
        [d],
    )


def part_7() -> Part:
    delta1 = sp.HadamardProduct(mm(T(W2), y2 - t), y1, hadamard_ones_minus(y1))
    d = Derivation(
        D(E, W1),
        (
            _step(mm(T(D(E, z1)), T(x)), "as in part 4, since", eq(z1, mm(W1, x))),
            _step(mm(SIGMA_PRIME, T(W2), y2 - t, T(x)), "part 6 transposed; diag is symmetric"),
            _step(
                mm(delta1, T(x)),
                "since",
                eq(mm(diag(a_), b_), sp.HadamardProduct(a_, b_)),
            ),
        ),
        _proved_small("x"),
        oracle=oracle,
    )
    return Part("7", "the first layer's weights", [text("Give", D(E, W1), ".")], [d])


def batch_oracle(v: Mapping[str, np.ndarray]) -> float:
    """Mean cross-entropy over the columns of a mini-batch, in NumPy."""
    y1v = 1.0 / (1.0 + np.exp(-(v["W1"] @ v["Xb"])))
    z2v = v["W2"] @ y1v
    shifted = z2v - z2v.max(axis=0)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=0))
    t_v = v["Tb"].copy()
    t_v[-1] = 1.0 - t_v[:-1].sum(axis=0)
    return float(-(t_v * log_p).sum() / t_v.shape[1])


def part_8() -> Part:
    sizes = {n: 2, h: 3, K: 2, m: 2}
    inst = Instance(
        sizes=sizes,
        defs={
            Z1: mm(W1, X),
            Y1: elementwise("sigmoid", Z1),
            Z2: mm(W2, Y1),
            Y2: softmax(Z2),
            E: -(1 / m)
            * mm(
                sp.OneMatrix(1, K),
                sp.HadamardProduct(Tb, elementwise("log", Y2)),
                sp.OneMatrix(m, 1),
            ),
        },
        given={**_one_hot(2, "Tb", 1), **_one_hot(2, "Tb", 2)},
        domain={"Tb": (0.0, 1.0)},
        label="2 samples, 2 inputs, 3 hidden units, 2 classes",
    )
    # numerically also where no two sizes coincide, so 1/m cannot pass for 1/K
    samples = 5
    distinct = replace(
        inst,
        sizes={n: 3, h: 4, K: 2, m: samples},
        given={k: v for c in range(1, samples + 1) for k, v in _one_hot(2, "Tb", c).items()},
        label=f"{samples} samples, 3 inputs, 4 hidden units, 2 classes",
        prove=False,
    )
    w2 = Derivation(
        D(E, W2),
        (
            _step(
                (1 / m) * mm(Y2 - Tb, T(Y1)),
                "mean of part 4 over the samples",
            ),
        ),
        (inst, distinct),
        oracle=batch_oracle,
    )
    w1 = Derivation(
        D(E, W1),
        (
            _step(
                (1 / m)
                * mm(sp.HadamardProduct(mm(T(W2), Y2 - Tb), Y1, hadamard_ones_minus(Y1)), T(X)),
                "the same for part 7",
            ),
        ),
        (inst, distinct),
        oracle=batch_oracle,
    )
    return Part(
        "8",
        "mini-batches",
        [
            text(
                "How do the gradients change for a mini-batch of",
                m,
                "samples, with",
                relations.definition(E, (1 / m) * sp.Sum(sp.Symbol("E_j"), (j_, 1, m))),
                ", the mean of the per-sample errors? Write the samples as the columns of",
                X,
                "and",
                Tb,
                "and the layer outputs as the columns of",
                Y1,
                "and",
                Y2,
                ".",
            )
        ],
        [w2, w1],
        facts=[
            text(
                "The gradient of a mean is the mean of the gradients; a sum of outer products",
                "over the samples is one matrix product of the stacked columns:",
            )
        ],
        remarks=[text("With", relations.assumption(m, 1), "these are parts 4 and 7 again.")],
    )


def l2_oracle(v: Mapping[str, np.ndarray]) -> float:
    """Cross-entropy plus (lambda/2)(||W1||^2 + ||W2||^2), in NumPy."""
    penalty = 0.5 * float(v["lambda"].item()) * ((v["W1"] ** 2).sum() + (v["W2"] ** 2).sum())
    return oracle(v) + float(penalty)


def part_9() -> Part:
    insts = tuple(
        replace(
            base,
            defs={**base.defs, N1: sqnorm(W1), N2: sqnorm(W2), E_reg: E + lam / 2 * (N1 + N2)},
            domain={**base.domain, "lambda": (0.01, 1.0)},
        )
        for base in _proved_small("x")
    )
    w2 = Derivation(
        D(E_reg, W2),
        (
            _step(
                D(E, W2) + lam * W2,
                "the penalty is a sum of squares:",
                eq(D(sqnorm(W2), W2), 2 * W2),
            ),
            _step(mm(y2 - t, T(y1)) + lam * W2, "part 4"),
        ),
        insts,
        oracle=l2_oracle,
    )
    w1 = Derivation(
        D(E_reg, W1),
        (
            _step(D(E, W1) + lam * W1, "likewise"),
            _step(
                mm(sp.HadamardProduct(mm(T(W2), y2 - t), y1, hadamard_ones_minus(y1)), T(x))
                + lam * W1,
                "part 7",
            ),
        ),
        insts,
        oracle=l2_oracle,
    )
    eta = sp.Symbol("eta", positive=True)
    return Part(
        "9",
        "an L2 penalty",
        [
            text(
                "How do the gradients change when the penalty",
                (lam / 2) * sp.MatAdd(sqnorm(W1), sqnorm(W2)),
                "is added to",
                E,
                "? Call the sum",
                E_reg,
                ".",
            )
        ],
        [w2, w1],
        remarks=[
            text(
                "Each weight matrix gets the extra term",
                lam * W2,
                "(resp.",
                lam * W1,
                "): a gradient step with learning rate",
                eta,
                "first shrinks the weights by the factor",
                1 - eta * lam,
                "(weight decay), then applies the usual gradient.",
            )
        ],
    )


def build(params: Mapping[str, Any]) -> Assignment:
    """The whole assignment; it has no numbers, so `params` is unused."""
    intro = text(
        "The network maps an input",
        x,
        "to",
        relations.definition(z1, mm(W1, x)),
        ",",
        relations.definition(y1, elementwise("sigmoid", z1)),
        ",",
        relations.definition(z2, mm(W2, y1)),
        "and",
        relations.definition(y2, softmax(z2)),
        "; for one sample with one-hot target",
        t,
        "the cross-entropy error is",
        relations.definition(E, -mm(T(t), elementwise("log", y2))),
        ". Derivatives of a scalar by a column vector are row vectors;",
        "by a matrix, they have the matrix's shape.",
    )
    diagram = Figure(
        "network",
        text("The network (the figure lost from the earlier published solution)."),
        lambda: figures.network_figure("network", figures.cv_assignment9_network()),
    )
    exercise = Exercise(
        "1",
        "Backpropagation through a sigmoid-softmax network",
        [intro],
        figures=[diagram],
        parts=[
            part_1a(),
            part_1b(),
            part_2(),
            part_3(),
            part_4(),
            part_5(),
            part_6(),
            part_7(),
            part_8(),
            part_9(),
        ],
    )
    return Assignment(ID, TITLE + ", Task 1", [exercise], notation=NOTATION, source=SEED)
