"""Typical mistakes derived from the right answer, recognised and named."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import sympy as sp
from claims_common import KEYS, NET, SIG_PRIME, VECTORS, W2, E, tv, y1, y2, z1, z2

from answerkey.claims import (
    KeyAnswer,
    check,
    judge,
    typical_mistakes,
)
from answerkey.mathfns import D


def test_missing_transpose_and_softmax_mistakes_are_named() -> None:
    key2 = sp.Transpose(y2 - tv)
    ka = KeyAnswer(key2, VECTORS, (NET,), D(E, z2))
    v = check(r"y^{(2)} - t", ka)  # the column for the row: its own verdict, not a mistake
    assert v.status == "transposed" and "a column where the key writes a row" in v.reason
    v = check(r"y^{(2)} - t", replace(ka, layout="refuse"))
    assert v.status == "transposed" and not v.accepted and v.exit_code == 1
    soft = check(r"(t \odot y^{(2)} - t)^T", ka)
    assert soft.mistake == "softmax Jacobian's off-diagonal terms ignored"


@pytest.mark.parametrize(
    ("key", "lhs"),
    [
        (sp.Transpose(y2 - tv), D(E, z2)),
        (sp.MatMul(sp.Transpose(y2 - tv), W2), D(E, y1)),
        (sp.MatMul(y2 - tv, sp.Transpose(y1)), D(E, W2)),
        (SIG_PRIME, D(y1, z1)),
    ],
)
def test_typical_mistakes_differ_from_the_key_and_are_recognised(key: sp.Expr, lhs: D) -> None:
    mistakes = typical_mistakes(key, lhs=lhs, instance=NET)
    assert len(mistakes) >= 2
    assert any(name == "sign flipped" for name, _ in mistakes)
    for name, wrong in mistakes:
        v = judge(wrong, key, NET, mistakes=mistakes, points=12)
        if v.status == "transposed":  # the whole answer transposed: the other layout
            assert "transpose" in name, name
            continue
        assert v.status == "incorrect", name
        assert v.mistake == name


@pytest.mark.parametrize("key", KEYS)
def test_scalar_typical_mistakes_differ_from_the_key(key: sp.Expr) -> None:
    mistakes = typical_mistakes(key)
    assert mistakes
    for name, wrong in mistakes:
        v = judge(wrong, key, mistakes=mistakes, points=20)
        assert v.status == "incorrect", name
        assert v.mistake == name


# --------------------------------------------------------------- the keys' own typical mistakes


def _verdict(assignment: str, part: str, answer: str) -> Any:
    from answerkey.claims.keys import siblings
    from answerkey.registry import discover

    module = discover()[assignment]
    a = module.build(module.parameters)
    p = next(x for x in a.parts() if x.id == part)
    key = KeyAnswer.from_part(p, notation=a.notation, siblings=siblings(a, p))
    assert key is not None
    return check(answer, key)


@pytest.mark.parametrize(
    ("assignment", "part", "answer", "named"),
    [
        ("cv-assignment9", "5", r"\sigma(u)(1+\sigma(u))", "σ' written as σ(1+σ)"),
        ("cv-assignment9", "5", r"\operatorname{diag}(y^{(1)} \odot (1+y^{(1)}))", "σ(1+σ)"),
        ("cv-assignment9", "9", r"(y^{(2)} - t) y^{(1)T} + 2\lambda W^{(2)}", "factor 2 on"),
        (
            "cv-assignment9",
            "9",
            r"(y^{(2)} - t) y^{(1)T} + \frac{\lambda}{2} W^{(2)}",
            "factor 1/2",
        ),
        ("cv-assignment9", "4", r"(y^{(2)} - t) x^T", "x where y^(1) belongs"),
        ("cv-assignment9", "6", r"(y^{(2)} - t)^T W^{(2)}", "dropped the sigmoid's derivative"),
        ("cv-assignment9", "7", r"(W^{(2)T}(y^{(2)}-t)) x^T", "dropped the sigmoid's derivative"),
        (
            "practical-1",
            "1b",
            r"(y_{out}-y_{gt}) f_3'(s_{out}) W_{out} f_2'(s_2) z_2",
            "z_2 where z_1",
        ),
        ("practical-1", "1c", r"\delta_1 z_1", "z_1 where x_in belongs"),
        ("practical-1", "1a", r"(y_{out} - y_{gt}) z_2", "dropped the factor f_3'(s_out)"),
    ],
)
def test_typical_mistakes_of_the_keys_are_named_in_the_course_notation(
    assignment: str, part: str, answer: str, named: str
) -> None:
    v = _verdict(assignment, part, answer)
    assert v.status == "incorrect" and v.mistake is not None and named in v.mistake, v.lines()
    text = "\n".join(v.lines())
    assert "prime_" not in text and "sigmoid(" not in text and "lambda" not in text


def test_a_flipped_update_of_the_trace_is_named() -> None:
    from answerkey.claims import Claim, check_claim, key_for
    from answerkey.registry import discover

    module = discover()["practical-1"]
    a = module.build(module.parameters)
    part = next(x for x in a.parts() if x.id == "2")
    claim = Claim("2", "[-0.0626, -0.1267, -0.0369]", "numeric", quantity="w", update=1)
    v = check_claim(claim, key_for(claim, part, a.notation))
    assert v.status == "incorrect" and v.mistake is not None and "w - Δw" in v.mistake


# --------------------------------------------------------------------------- the newer
# topics' mistakes, on small hand-built keys (no solution module): each named when a claim
# makes it, and never offered where the key has no such structure (a detector that cannot
# fail is a defect)

from answerkey.claims import mistakes as M  # noqa: E402
from answerkey.claims.shapes import Correlate, Rot180  # noqa: E402
from answerkey.model import Instance  # noqa: E402

W_, U_, Y_ = sp.symbols("w u y")
HS = [sp.Symbol(f"h_{k}") for k in range(4)]
XS = [None, *(sp.Symbol(f"x_{k}") for k in range(1, 4))]
RNN_DEFS = {HS[t]: sp.tanh(W_ * HS[t - 1] + U_ * XS[t]) for t in (1, 2, 3)}
RNN_DEFS[E] = (HS[3] - Y_) ** 2 / 2
RNN = Instance(defs=RNN_DEFS)
RNN_SYMBOLS = {"w": W_, "u": U_, "y": Y_, "E": E} | {f"h_{{{k}}}": HS[k] for k in range(4)}
RNN_SYMBOLS |= {f"x_{{{k}}}": XS[k] for k in (1, 2, 3)}
#: dE/du as a sum over time (the key's first line) and nested (its answer)
THROUGH_TIME = sp.Add(*[XS[t] * (1 - HS[t] ** 2) * D(E, HS[t]) for t in (1, 2, 3)])
NESTED = (
    (HS[3] - Y_)
    * (1 - HS[3] ** 2)
    * (W_ * (1 - HS[2] ** 2) * (W_ * (1 - HS[1] ** 2) * XS[1] + XS[2]) + XS[3])
)


def test_the_last_time_step_only_is_named_from_the_sum_over_time() -> None:
    key = KeyAnswer(NESTED, RNN_SYMBOLS, (RNN,), D(E, U_), forms=(THROUGH_TIME,))
    wrong = check(r"(h_3 - y)(1 - h_3^2) x_3", key)
    assert wrong.status == "incorrect" and wrong.mistake == M.LAST_STEP_ONLY.format(t=3)
    for right in (
        r"\sum_{t=1}^{T} x_t (1 - h_t^2) \frac{\partial E}{\partial h_t}",
        r"(h_3 - y)(1 - h_3^2)\left(x_3 + w (1 - h_2^2)(x_2 + w (1 - h_1^2) x_1)\right)",
    ):
        assert check(right, key).correct, right
    # no recurrence in the definitions (h_t not defined from h_(t-1)): no time steps to name
    flat = Instance(defs={**{HS[t]: sp.tanh(U_ * XS[t]) for t in (1, 2, 3)}, E: RNN_DEFS[E]})
    assert M.recurrences(flat.defs) == set()
    assert M.time_mistakes([THROUGH_TIME], flat.defs) == []


m3 = 3
XB, GB = sp.MatrixSymbol("x", m3, 1), sp.MatrixSymbol("g", m3, 1)
ZB = sp.MatrixSymbol("z", m3, 1)
MU, S2, SB, GAMMA, MUG, MUGZ = sp.symbols("mu sigma2 s gamma mu_g mu_gz")
BN_DEFS = {
    MU: sp.Add(*[XB[i, 0] for i in range(m3)]) / m3,
    S2: sp.Add(*[(XB[i, 0] - MU) ** 2 for i in range(m3)]) / m3,
    SB: sp.sqrt(S2 + sp.Rational(1, 100)),
    ZB: sp.ImmutableMatrix([[(XB[i, 0] - MU) / SB] for i in range(m3)]),
    E: sp.Add(*[GB[i, 0] * GAMMA * ZB[i, 0] for i in range(m3)]),
    MUG: sp.Add(*[GB[i, 0] for i in range(m3)]) / m3,
    MUGZ: sp.Add(*[GB[i, 0] * ZB[i, 0] for i in range(m3)]) / m3,
}
BN = Instance(defs=BN_DEFS)
BN_SYMBOLS = {"x": XB, "g": GB, "z": ZB, r"\gamma": GAMMA, "s": SB, r"\mu_g": MUG}
BN_SYMBOLS |= {r"\mu_{gz}": MUGZ, r"\mu": MU, r"\sigma^2": S2, "E": E}
COMPACT = sp.Transpose((GAMMA / SB) * sp.MatAdd(GB, -MUG * sp.OneMatrix(m3, 1), -MUGZ * ZB))


@pytest.mark.parametrize(
    ("claim", "name"),
    [
        (r"\frac{\gamma}{s}(g - \mu_{gz} z)", M.MEAN_TERM),
        (r"\left(\frac{\gamma}{s}(g - \mu_g \mathbf{1})\right)^T", M.VARIANCE_TERM),
        (r"\frac{\gamma}{\sqrt{\sigma^2 + 0.01}} g", M.BOTH_TERMS),
    ],
)
def test_batch_norms_mean_and_variance_terms_dropped_are_named(claim: str, name: str) -> None:
    key = KeyAnswer(COMPACT, BN_SYMBOLS, (BN,), D(E, XB))
    verdict = check(claim, key)
    assert verdict.status == "incorrect" and verdict.mistake == name
    right = r"\frac{\gamma}{s}\left(g - \mathbb{E}[g] - \mathbb{E}[g \circ z] z\right)"
    assert check(right, key).accepted


def test_no_normalisation_no_batch_terms_to_name() -> None:
    no_variance = {k: v for k, v in BN_DEFS.items() if k != S2} | {S2: sp.Symbol("v0")}
    assert M.batch_statistics(BN_DEFS) == (MU, S2)
    assert M.batch_statistics(no_variance) is None
    assert M.normalisation_mistakes([COMPACT], no_variance, None) == []


KX, KK = sp.MatrixSymbol("X", 4, 4), sp.MatrixSymbol("K", 3, 3)
DELTA = sp.MatrixSymbol("delta", 2, 2)
CONV_SYMBOLS = {"X": KX, "K": KK, r"\delta": DELTA}


def test_a_kernel_not_flipped_is_named() -> None:
    key = KeyAnswer(Correlate(DELTA, Rot180(KK)), CONV_SYMBOLS, (Instance(),))
    assert check(r"\delta \star \text{rot180}(K)", key).correct
    wrong = check(r"\delta * K", key)
    assert wrong.status == "incorrect" and wrong.mistake == M.NOT_FLIPPED.format(k="K")
    # the flipped kernel as a symbol of its own, defined entry by entry
    kt = sp.MatrixSymbol(r"\tilde{K}", 3, 3)
    flipped = Instance(defs={kt: sp.ImmutableMatrix(3, 3, lambda u, v: KK[2 - u, 2 - v])})
    named = M.flip_mistakes(Correlate(DELTA, kt), flipped.defs, None)
    assert [n for n, _ in named] == [M.NOT_FLIPPED.format(k="K")]
    unflipped = Instance(defs={kt: sp.ImmutableMatrix(3, 3, lambda u, v: KK[u, v])})
    assert M.flip_mistakes(Correlate(DELTA, kt), unflipped.defs, None) == []


def test_a_missing_bias_correction_is_named() -> None:
    eta, beta, t_, m_ = sp.symbols("eta beta_1 t m")
    key = KeyAnswer(eta * m_ / (1 - beta**t_), {r"\eta": eta, r"\beta_1": beta, "t": t_, "m": m_})
    wrong = check(r"\eta m", key)
    assert wrong.mistake is not None and wrong.mistake.startswith("a missing bias correction")
    assert check(r"\frac{\eta m}{1 - \beta_1^t}", key).correct
    assert M.bias_correction_mistakes(eta * m_ / (1 - beta), None) == []  # no power: no t


def test_the_gradient_sent_to_every_pooled_input_is_named() -> None:
    a, b, c, g = sp.symbols("a b c g")
    routed = g * sp.Heaviside(a - b) * sp.Heaviside(a - c)
    key = KeyAnswer(routed, {"a": a, "b": b, "c": c, "g": g})
    assert check("g", key).mistake == M.EVERY_POOLED
    assert M.routing_mistakes(g * sp.Heaviside(a + b)) == []  # relu' of a sum: no routing


def _full(delta: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Written apart from the engine: every delta entry scatters the kernel over its window."""
    f = k.shape[0]
    out = np.zeros((delta.shape[0] + f - 1, delta.shape[1] + f - 1))
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            out[i : i + f, j : j + f] += delta[i, j] * k
    return out


def test_numbers_computed_from_definitions_get_the_topics_mistakes() -> None:
    """A 3x3 input, a 2x2 kernel, max pooling over the 2x2 output: the wrong gradients by X,
    computed by the engine at the given numbers, against NumPy's."""
    x, k = sp.MatrixSymbol("X", 3, 3), sp.MatrixSymbol("K", 2, 2)
    z, p, t_ = sp.MatrixSymbol("Z", 2, 2), sp.Symbol("p"), sp.Symbol("t")
    conv = sp.ImmutableMatrix(
        2, 2, lambda i, j: sum(x[i + u, j + v] * k[u, v] for u in range(2) for v in range(2))
    )
    defs = {
        z: conv,
        p: sp.Max(*[z[i, j] for i in range(2) for j in range(2)]),
        E: (p - t_) ** 2 / 2,
    }
    xv = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0]])
    kv, tv_ = np.array([[1.0, -1.0], [2.0, 0.5]]), 1.0
    zv = np.array(
        [
            [sum(xv[i + u, j + v] * kv[u, v] for u in range(2) for v in range(2)) for j in range(2)]
            for i in range(2)
        ]
    )
    dp = zv.max() - tv_
    routed = np.where(zv == zv.max(), dp, 0.0)
    found = dict(M.numeric_mistakes(D(E, x), Instance(defs=defs), {x: xv, k: kv, t_: tv_}))
    assert np.allclose(found[M.NOT_FLIPPED.format(k="K")], _full(routed, kv[::-1, ::-1]))
    assert np.allclose(found[M.EVERY_POOLED], _full(np.full((2, 2), dp), kv))
    assert set(found) == {M.NOT_FLIPPED.format(k="K"), M.EVERY_POOLED}
    # by the kernel, no flip to name; the key itself is neither
    assert M.NOT_FLIPPED.format(k="K") not in dict(
        M.numeric_mistakes(D(E, k), Instance(defs=defs), {x: xv, k: kv, t_: tv_})
    )
    assert not np.allclose(found[M.NOT_FLIPPED.format(k="K")], _full(routed, kv))


def test_numbers_of_a_normalisation_and_a_recurrence_get_their_mistakes() -> None:
    xv, gv, gam = np.array([1.0, 2.0, 4.0]), np.array([0.1, -0.2, 0.3]), 2.0
    inputs = {XB: xv, GB: gv, GAMMA: gam}
    found = dict(M.numeric_mistakes(D(E, XB), BN, inputs))
    s = np.sqrt(xv.var() + 0.01)
    zv = (xv - xv.mean()) / s
    assert np.allclose(found[M.MEAN_TERM], gam / s * (gv - (gv * zv).mean() * zv))
    assert np.allclose(found[M.VARIANCE_TERM], gam / s * (gv - gv.mean()))
    assert np.allclose(found[M.BOTH_TERMS], gam / s * gv)
    values = {W_: 0.5, U_: 1.0, Y_: 0.5, HS[0]: 0.0, XS[1]: 1.0, XS[2]: -1.0, XS[3]: 0.5}
    h = [0.0]
    for t in (1, 2, 3):
        h.append(np.tanh(0.5 * h[-1] + 1.0 * values[XS[t]]))
    last = dict(M.numeric_mistakes(D(E, W_), RNN, values))
    assert np.allclose(last[M.LAST_STEP_ONLY.format(t=3)], (h[3] - 0.5) * (1 - h[3] ** 2) * h[2])
    assert M.numeric_mistakes(D(E, HS[1]), RNN, values) == []  # by a state: no step to drop


def test_a_corrected_estimate_given_uncorrected_is_a_missing_bias_correction() -> None:
    from answerkey.claims.keys import printed_mistakes
    from answerkey.model import Part

    ledger = [
        {"part": "c", "label": "Adam, update 1: m_1", "value": 0.1, "source": "computed"},
        {"part": "c", "label": r"Adam, update 1: \hat{m}_1", "value": 1.0, "source": "computed"},
    ]
    named = printed_mistakes(Part("c", "Adam", []), ledger[1], ledger)
    assert [n for n, _ in named] == [M.NO_BIAS_CORRECTION.format(m="m_1", d="1 - β^t")]
    assert float(named[0][1]) == 0.1
    assert printed_mistakes(Part("c", "Adam", []), ledger[0], ledger) == []


def test_a_normalisations_pieces_go_by_their_conventional_names_too() -> None:
    names = M.conventional_names(BN_DEFS)
    assert names == {r"\mu_{B}": MU, r"\sigma_{B}^{2}": S2, r"\hat{x}": ZB}
    no_variance = {k: v for k, v in BN_DEFS.items() if k != S2} | {S2: sp.Symbol("v0")}
    assert M.conventional_names(no_variance) == {}
