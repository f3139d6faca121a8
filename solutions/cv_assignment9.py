"""CV Assignment 9, Task 1: gradients of a sigmoid-softmax network under cross-entropy.

Every formula is a general matrix expression (sizes n, h, K, m); the verifier
instantiates it at concrete sizes with the network's definitions (`answerkey.kit`)
and checks it step by step, and against finite differences of the kit's NumPy oracle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp

from answerkey import figures, kit, relations
from answerkey.kit.writing import derive, listed, say
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
from answerkey.model import Assignment, Exercise, Figure, Grading, Instance, Part, text

ID = "cv-assignment9"
TITLE = "CV Assignment 9"
SEED = "000_6d7bfadbf1f9dda0.txt"
PARAMETERS: dict[str, Any] = {}

n, h, K, m = sp.symbols("n h K m", integer=True, positive=True)
NET = kit.Network(
    n,
    [kit.linear(h, bias=False), kit.sigmoid(), kit.linear(K, bias=False), kit.softmax()],
    kit.cross_entropy(),
)
x, W1, z1, y1, W2, z2, y2, t, E = (NET[s] for s in "x W1 z1 y1 W2 z2 y2 t E".split())
BATCH = NET.batch(m)  # one column per sample, the mean error
X, Y1, Y2, Tb = (BATCH[s] for s in ("x", "y1", "y2", "t"))
lam = sp.Symbol("lambda", positive=True)
L2 = NET.l2(lam)  # E_reg = E + lambda/2 (||W1||^2 + ||W2||^2)
E_reg = L2.symbol
ones_K = sp.OneMatrix(K, 1)
NOTATION = {**NET.notation, **BATCH.notation, "E_reg": r"E_{\lambda}", "s": r"\sigma(u)"}

# Index notation in the reasons and facts.
a_, b_ = sp.MatrixSymbol("a", h, 1), sp.MatrixSymbol("b", h, 1)
y_k, t_k, y_i, y_j, z_j, t_i = sp.symbols("y_k t_k y_i y_j z_j t_i")
i_, j_ = sp.symbols("i j", integer=True)
z_k, w_kj, w_ki = sp.symbols("z_k w_kj w_ki")
# one term of a sum in index notation (part 2), one output unit (part 4)
TWO_TERMS = Instance(
    defs={E: -(t_k * sp.log(y_k) + t_i * sp.log(y_i))},
    domain={"y_k": (0.1, 1.0), "y_i": (0.1, 1.0)},
    label="two terms of the sum",
)
ONE_UNIT = Instance(
    defs={z_k: w_kj * y_j + w_ki * y_i, E: sp.log(1 + sp.exp(-z_k))},
    label="one unit with two inputs",
)
# Scalar unit of parts 1a/1b, and of the sigmoid's derivative.
W, xs, ts, u = sp.symbols("W x t u", real=True)
s_u = sp.Symbol("s")

SIZES = {n: 2, h: 4, K: 3}
LABEL = "2 inputs, 4 hidden units, 3 classes"
SIGMA_PRIME = diag(sp.HadamardProduct(y1, hadamard_ones_minus(y1)))
DELTA1 = sp.HadamardProduct(mm(T(W2), y2 - t), y1, hadamard_ones_minus(y1))


def _network(leaf: str, net: kit.Network | kit.Penalised = NET) -> Instance:
    """The definitions from `leaf` on (x: all)."""
    return net.instance(SIZES, None if leaf == "x" else leaf, LABEL, domain={"t": (0.0, 0.5)})


SIG = eq(sigmoid(u), 1 / (1 + sp.exp(-u)))
SCALARS = Instance(
    defs={E: -ts * sp.log(sigmoid(W * xs))}, domain={"t": (0.0, 1.0)}, label="scalars"
)


def part_1a() -> Part:
    steps = [
        (-sp.log(sigmoid(W * xs)), say("E is linear in {}", ts)),
        (sp.log(1 + sp.exp(-W * xs)), say("since {}", SIG)),
    ]
    question = say(
        "For one sample, {}, and a single sigmoid unit with scalar weight {}, input {} and"
        " target {} the error is {}. Give {}.",
        relations.assumption(m, 1),
        W,
        xs,
        ts,
        eq(E, -ts * sp.log(sigmoid(W * xs))),
        D(E, ts),
    )
    return Part("1a", "a single sigmoid unit", [question], [derive(D(E, ts), steps, [SCALARS])])


def part_1b() -> Part:
    sig, e = sigmoid(W * xs), sp.exp(-W * xs)
    chain = sp.Mul(-ts, 1 / sig, sp.Mul(sig, 1 - sig, evaluate=False), W, evaluate=False)
    steps = [
        (chain, "chain rule"),
        (-ts * W * (1 - sig), say("cancel {}", sig)),
        (-ts * W * e / (1 + e), say("since {}", eq(1 - sigmoid(u), sp.exp(-u) / (1 + sp.exp(-u))))),
        (-ts * W / (1 + sp.exp(W * xs)), say("multiply through by {}", sp.exp(W * xs))),
    ]
    scalars = listed([W, xs, ts], last="and")
    question = say("For the same unit, give {} in terms of the scalars {}.", D(E, xs), scalars)
    sig_prime = eq(sp.Derivative(sigmoid(u), u), sigmoid(u) * (1 - sigmoid(u)))
    fact = say(
        "The chain rule with {}, {} (part 5) and {}:",
        eq(D(sp.log(u), u), 1 / u),
        sig_prime,
        eq(D(W * xs, xs), W),
    )
    d = derive(D(E, xs), steps, [SCALARS])
    return Part("1b", "the same unit, by its input", [question], [d], facts=[fact])


def part_2() -> Part:
    sm_jac = sp.MatAdd(diag(y2), -mm(y2, T(y2)))
    inst_4 = NET.instance({n: 3, h: 4, K: 4}, "z2", "4 classes", domain={"t": (0.0, 0.33)})
    steps = [
        (mm(D(E, y2), D(y2, z2)), "chain rule"),
        (-mm(T(t), sp.Inverse(diag(y2)), sm_jac), "the two factors above"),
        (sp.MatAdd(-T(t), mm(T(t), ones_K, T(y2))), "multiply out"),
        (T(y2 - t), say("the target is one-hot: {}", eq(mm(T(t), ones_K), 1))),
    ]
    d = derive(D(E, z2), steps, [_network("z2"), inst_4], NET.oracle)
    fact = say(
        "From {}: {}, so {}. The softmax Jacobian is {}, that is {}. Multiplying out uses {}.",
        relations.definition(E, -sp.Sum(t_k * sp.log(y_k), (sp.Symbol("k"), 1, K))),
        # checked on two terms of the sum, one of them the k-th
        relations.identity(D(E, y_k), -t_k / y_k, TWO_TERMS),
        eq(D(E, y2), -mm(T(t), sp.Inverse(diag(y2)))),
        # the entrywise form of the Jacobian checked just after
        relations.notation(D(y_i, z_j), y_i * (sp.KroneckerDelta(i_, j_) - y_j)),
        eq(D(y2, z2), sm_jac),
        eq(mm(sp.Inverse(diag(y2)), y2), ones_K),
    )
    question = say("Show that {}.", eq(D(E, z2), T(y2 - t)))
    return Part("2", "softmax followed by cross-entropy", [question], [d], facts=[fact])


def part_3() -> Part:
    steps = [
        (mm(D(E, z2), D(z2, y1)), "chain rule"),
        (mm(T(y2 - t), W2), say("part 2, and {} since {}", eq(D(z2, y1), W2), eq(z2, mm(W2, y1)))),
    ]
    d = derive(D(E, y1), steps, [_network("y1")], NET.oracle)
    question = say("Show that {}.", eq(D(E, y1), mm(T(y2 - t), W2)))
    return Part("3", "back through the second layer", [question], [d])


def part_4() -> Part:
    steps = [
        (mm(T(D(E, z2)), T(y1)), "outer product (see above)"),
        (mm(y2 - t, T(y1)), "part 2"),
    ]
    d = derive(D(E, W2), steps, [_network("y1")], NET.oracle)
    fact = say(
        "Entry {} of {} depends on row k of {} only, with {}; so {}: the gradient is an outer"
        " product.",
        z_k,
        z2,
        W2,
        relations.identity(D(z_k, w_kj), y_j, ONE_UNIT),
        relations.identity(D(E, w_kj), D(E, z_k) * y_j, ONE_UNIT),
    )
    question = say("Show that {}.", eq(D(E, W2), mm(y2 - t, T(y1))))
    return Part("4", "the second layer's weights", [question], [d], facts=[fact])


def part_5() -> Part:
    frac = sp.exp(-u) / (1 + sp.exp(-u))
    steps = [
        (sp.exp(-u) / (1 + sp.exp(-u)) ** 2, say("differentiate {}", SIG)),
        (sp.Mul(1 / (1 + sp.exp(-u)), frac, evaluate=False), "split the fraction"),
        (sigmoid(u) * (1 - sigmoid(u)), say("since {}", eq(frac, 1 - sigmoid(u)))),
    ]
    scalar = derive(D(s_u, u), steps, [Instance(defs={s_u: sigmoid(u)}, label="scalar")])
    units = Instance(sizes=SIZES, defs={y1: elementwise("sigmoid", z1)}, label="4 hidden units")
    vector = derive(D(y1, z1), [(SIGMA_PRIME, "entrywise, as above")], [units])
    question = say("Show that {}.", eq(D(y1, z1), SIGMA_PRIME))
    return Part("5", "the derivative of the sigmoid", [question], [scalar, vector])


def part_6() -> Part:
    steps = [
        (mm(D(E, y1), D(y1, z1)), "chain rule"),
        (mm(T(y2 - t), W2, SIGMA_PRIME), "parts 3 and 5"),
    ]
    d = derive(D(E, z1), steps, [_network("z1")], NET.oracle)
    question = say("Show that {}.", eq(D(E, z1), mm(T(y2 - t), W2, SIGMA_PRIME)))
    return Part("6", "back through the sigmoid", [question], [d])


def part_7() -> Part:
    steps = [
        (mm(T(D(E, z1)), T(x)), say("as in part 4, since {}", eq(z1, mm(W1, x)))),
        (mm(SIGMA_PRIME, T(W2), y2 - t, T(x)), "part 6 transposed; diag is symmetric"),
        (mm(DELTA1, T(x)), say("since {}", eq(mm(diag(a_), b_), sp.HadamardProduct(a_, b_)))),
    ]
    d = derive(D(E, W1), steps, [_network("x")], NET.oracle, prove_small=True)
    return Part("7", "the first layer's weights", [say("Give {}.", D(E, W1))], [d])


def part_8() -> Part:
    targets = {"Tb": (0.0, 1.0)}  # two classes: t_2 = 1 - t_1 in (0, 1)
    label = "2 samples, 2 inputs, 3 hidden units, 2 classes"
    inst = BATCH.instance({n: 2, h: 3, K: 2, m: 2}, label=label, domain=targets)
    # numerically also where no two sizes coincide, so 1/m cannot pass for 1/K
    label = "5 samples, 3 inputs, 4 hidden units, 2 classes"
    distinct = BATCH.instance({n: 3, h: 4, K: 2, m: 5}, label=label, prove=False, domain=targets)
    delta = sp.HadamardProduct(mm(T(W2), Y2 - Tb), Y1, hadamard_ones_minus(Y1))
    w2_step = ((1 / m) * mm(Y2 - Tb, T(Y1)), "mean of part 4 over the samples")
    w2 = derive(D(E, W2), [w2_step], [inst, distinct], BATCH.oracle)
    w1_step = ((1 / m) * mm(delta, T(X)), "the same for part 7")
    w1 = derive(D(E, W1), [w1_step], [inst, distinct], BATCH.oracle)
    question = say(
        "How do the gradients change for a mini-batch of {} samples, with {}, the mean of the"
        " per-sample errors? Write the samples as the columns of {} and {} and the layer"
        " outputs as the columns of {} and {}.",
        m,
        relations.definition(E, (1 / m) * sp.Sum(sp.Symbol("E_j"), (j_, 1, m))),
        X,
        Tb,
        Y1,
        Y2,
    )
    fact = text(
        "The gradient of a mean is the mean of the gradients; a sum of outer products",
        "over the samples is one matrix product of the stacked columns:",
    )
    remark = say("With {} these are parts 4 and 7 again.", relations.assumption(m, 1))
    return Part("8", "mini-batches", [question], [w2, w1], facts=[fact], remarks=[remark])


def part_9() -> Part:
    insts = [_network("x", L2)]
    squares = say("the penalty is a sum of squares: {}", eq(D(sqnorm(W2), W2), 2 * W2))
    steps_w2 = [(D(E, W2) + lam * W2, squares), (mm(y2 - t, T(y1)) + lam * W2, "part 4")]
    w2 = derive(D(E_reg, W2), steps_w2, insts, L2.oracle, prove_small=True)
    steps_w1 = [(D(E, W1) + lam * W1, "likewise"), (mm(DELTA1, T(x)) + lam * W1, "part 7")]
    w1 = derive(D(E_reg, W1), steps_w1, insts, L2.oracle, prove_small=True)
    question = say(
        "How do the gradients change when the penalty {} is added to {}? Call the sum {}.",
        L2.penalty,
        E,
        E_reg,
    )
    eta = sp.Symbol("eta", positive=True)
    remark = say(
        "Each weight matrix gets the extra term {} (resp. {}): a gradient step with learning"
        " rate {} first shrinks the weights by the factor {} (weight decay), then applies the"
        " usual gradient.",
        lam * W2,
        lam * W1,
        eta,
        1 - eta * lam,
    )
    return Part("9", "an L2 penalty", [question], [w2, w1], remarks=[remark])


def network_diagram(
    inputs: int | str = "n", hidden: int | str = "h", classes: int | str = "K"
) -> figures.Network:
    """The figure: x -W(1)-> z(1) -sigmoid-> y(1) -W(2)-> z(2) -softmax-> y(2)."""
    return figures.Network(
        "cv-assignment9",
        (
            figures.Layer("x", "x", inputs, unit_name="inputs"),
            figures.Layer("y^{(1)}", "y(1)", hidden, "sigmoid", "z^{(1)}", "z(1)", "hidden units"),
            figures.Layer("y^{(2)}", "y(2)", classes, "softmax", "z^{(2)}", "z(2)", "classes"),
        ),
        (figures.Connection("W^{(1)}", "W(1)"), figures.Connection("W^{(2)}", "W(2)")),
    )


def build(params: Mapping[str, Any]) -> Assignment:
    """The whole assignment; it has no numbers, so `params` is unused."""
    layers = [
        relations.definition(z1, mm(W1, x)),
        relations.definition(y1, elementwise("sigmoid", z1)),
        relations.definition(z2, mm(W2, y1)),
        relations.definition(y2, softmax(z2)),
    ]
    intro = say(
        "The network maps an input {} to {}; for one sample with one-hot target {} the"
        " cross-entropy error is {}. Derivatives of a scalar by a column vector are row vectors;"
        " by a matrix, they have the matrix's shape.",
        x,
        listed(layers, last="and"),
        t,
        relations.definition(E, -mm(T(t), elementwise("log", y2))),
    )
    diagram = Figure(
        "network",
        text("The network (the figure lost from the earlier published solution)."),
        lambda: figures.network_figure("network", network_diagram()),
    )
    parts = [part_1a(), part_1b(), part_2(), part_3(), part_4()]
    parts += [part_5(), part_6(), part_7(), part_8(), part_9()]
    title = "Backpropagation through a sigmoid-softmax network"
    exercise = Exercise("1", title, [intro], figures=[diagram], parts=parts)
    # The parts state the layout they ask for (show that dE/dz2 = (y2 - t)^T, a row) and
    # the later ones keep it: an answer transposed is not what was asked.
    return Assignment(
        ID,
        TITLE + ", Task 1",
        [exercise],
        notation=NOTATION,
        source=SEED,
        grading=Grading(layout="refuse"),
    )
