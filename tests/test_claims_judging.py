"""Judging claims against keys: equal forms accepted, wrong ones refuted with a counterexample."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from claims_common import KEYS, NET, SCALARS, SIG_PRIME, VECTORS, W2, E, W, tv, x, y2, z1
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from answerkey.claims import (
    KeyAnswer,
    check,
    judge,
)
from answerkey.mathfns import D, sigmoid


def _rewrites(key: sp.Expr) -> list[sp.Expr]:
    via_exp = key.rewrite(sp.exp)
    return [
        key,
        sp.expand(key),
        sp.factor(key),
        sp.together(via_exp),
        via_exp,
        sp.expand(via_exp),
        sp.expand_log(key, force=True),
    ]


class Writer:
    """Writes a SymPy expression as LaTeX the way people do, with random choices."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.mul = draw(st.sampled_from([" ", r" \cdot ", " * ", r" \times ", ""]))
        self.sigma = draw(
            st.sampled_from([r"\sigma", r"\operatorname{sigmoid}", r"\text{sigmoid}", "sigmoid"])
        )
        self.exp_style = draw(st.sampled_from(["e", "exp"]))
        self.paren = draw(st.sampled_from([("(", ")"), (r"\left(", r"\right)")]))

    def group(self, s: str) -> str:
        return f"{self.paren[0]}{s}{self.paren[1]}"

    def write(self, e: sp.Expr) -> str:
        if e.is_Symbol:
            return e.name
        if e.is_Integer:
            return str(e) if e >= 0 else self.group(str(e))
        if e.is_Rational:
            return (
                rf"\frac{{{e.p}}}{{{e.q}}}" if e > 0 else self.group(rf"-\frac{{{-e.p}}}{{{e.q}}}")
            )
        if isinstance(e, sp.Add):
            args = list(e.args)
            order = self.draw(st.permutations(range(len(args))))
            out = ""
            for k, i in enumerate(order):
                a = args[i]
                c, rest = a.as_coeff_Mul()
                if c < 0:
                    term = "-" + self.factor(-a)
                else:
                    term = ("+" if k else "") + self.factor(a)
                out += term if not out else f" {term}"
            return out
        if isinstance(e, sp.Mul):
            num, den = sp.fraction(e)
            if den != 1:
                return rf"\frac{{{self.write(num)}}}{{{self.write(den)}}}"
            c, rest = e.as_coeff_Mul()
            if c == -1:
                return "-" + self.factor(rest)
            factors = [self.factor(a) for a in sp.Mul.make_args(e)]
            return self.mul.join(factors) if self.mul else " ".join(factors)
        if isinstance(e, sp.Pow):
            if e.exp == -1:
                return rf"\frac{{1}}{{{self.write(e.base)}}}"
            return f"{self.atom(e.base)}^{{{self.write(e.exp)}}}"
        if isinstance(e, sp.exp):
            arg = self.write(e.args[0])
            return f"e^{{{arg}}}" if self.exp_style == "e" else rf"\exp{self.group(arg)}"
        if isinstance(e, sp.log):
            return rf"\log{self.group(self.write(e.args[0]))}"
        if isinstance(e, sigmoid):
            return f"{self.sigma}{self.group(self.write(e.args[0]))}"
        raise NotImplementedError(type(e))

    def factor(self, e: sp.Expr) -> str:
        return self.group(self.write(e)) if isinstance(e, sp.Add) else self.write(e)

    def atom(self, e: sp.Expr) -> str:
        return self.write(e) if e.is_Symbol else self.group(self.write(e))


@st.composite
def equivalent_claims(draw: st.DrawFn) -> tuple[sp.Expr, str]:
    key = draw(st.sampled_from(KEYS))
    form = draw(st.sampled_from(_rewrites(key)))
    return key, Writer(draw).write(form)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(equivalent_claims())
def test_equivalent_rewritings_are_accepted(case: tuple[sp.Expr, str]) -> None:
    key, latex = case
    v = check(latex, KeyAnswer(key, SCALARS), seed=3)
    assert v.status == "correct", (latex, v.lines())


PERTURB = st.sampled_from(["scale", "shift", "sign", "drop", "square"])


@st.composite
def wrong_claims(draw: st.DrawFn) -> tuple[sp.Expr, sp.Expr, str]:
    key = draw(st.sampled_from(KEYS))
    how = draw(PERTURB)
    if how == "scale":
        wrong = key * draw(st.sampled_from([2, 3, sp.Rational(1, 2), -2]))
    elif how == "shift":
        wrong = key + draw(st.sampled_from([1, -1, x, sp.Rational(1, 10)]))
    elif how == "sign":
        wrong = -key
    elif how == "square":
        wrong = key**2
    else:
        muls = [m for m in sp.preorder_traversal(key) if isinstance(m, sp.Mul)]
        if not muls:
            wrong = key + 1
        else:
            m = draw(st.sampled_from(muls))
            drop = draw(st.sampled_from([a for a in m.args if a != -1] or [m.args[0]]))
            wrong = key.xreplace({m: m.func(*[a for a in m.args if a != drop])})
    if sp.simplify(wrong - key) == 0:
        wrong = key + 1
    return key, wrong, Writer(draw).write(wrong)


def _value_at(e: sp.Expr, point: dict[str, float]) -> float:
    subs = {s: point[s.name] for s in e.free_symbols}
    return float(e.rewrite(sp.exp).subs(subs).evalf())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wrong_claims())
def test_perturbations_are_rejected_with_a_counterexample(
    case: tuple[sp.Expr, sp.Expr, str],
) -> None:
    key, wrong, latex = case
    v = check(latex, KeyAnswer(key, SCALARS), seed=5)
    assert v.status == "incorrect", (latex, v.lines())
    cex = v.counterexample
    assert cex is not None
    point = {**{s: 0.0 for s in "tWx"}, **cex.point}
    # The counterexample is real: claim and key differ there, with the values shown.
    assert abs(_value_at(key, point) - cex.key) < 1e-4 * max(1, abs(cex.key))
    assert abs(_value_at(wrong, point) - cex.claim) < 1e-4 * max(1, abs(cex.claim))
    assert not np.isclose(cex.claim, cex.key)


def test_counterexample_reads_as_one_line() -> None:
    v = judge(W * x, W * x + 1, seed=0)
    assert v.status == "incorrect"
    text = str(v.counterexample)
    assert text.startswith("at W=") and "claim = " in text and "key = " in text


def test_points_outside_the_domain_are_skipped() -> None:
    # sqrt(x^2) = x only for x > 0: with that domain it is accepted, otherwise not.
    assert judge(sp.sqrt(x**2), x, {"x": (0.1, 3.0)}).correct
    assert not judge(sp.sqrt(x**2), x, {"x": (-3.0, 3.0)}).correct
    # log(x) is not finite for x < 0: those points are skipped, not counted as differences.
    assert judge(sp.log(x**2) / 2, sp.log(x), {"x": (-1.0, 2.0)}).correct


def test_numeric_claims_compare_at_written_precision() -> None:
    key = 0.406269994
    assert check("0.4063", KeyAnswer(key)).correct
    assert check("0.406", KeyAnswer(key)).correct
    assert not check("0.4062", KeyAnswer(key)).correct
    vec = np.array([0.45799999999999996, 0.8689999999999999, 0.7040000000000001])
    assert check("[0.458, 0.869, 0.704]", KeyAnswer(vec)).correct
    assert check(r"\begin{bmatrix} 0.458 & 0.869 & 0.704 \end{bmatrix}", KeyAnswer(vec)).correct
    bad = check("[0.458, 0.870, 0.704]", KeyAnswer(vec))
    assert bad.status == "incorrect" and bad.counterexample is not None
    assert bad.counterexample.entry == (0, 1)
    assert not check("[0.458, 0.869]", KeyAnswer(vec)).correct


def test_matrix_claims() -> None:
    key6 = sp.MatMul(sp.Transpose(y2 - tv), W2, SIG_PRIME)
    ka = KeyAnswer(key6, VECTORS, (NET,), D(E, z1))
    ok = check(r"(y^{(2)} - t)^T W^{(2)} \text{diag}(y^{(1)} * (1 - y^{(1)}))", ka)
    assert ok.correct, ok.lines()
    assert check(r"\frac{\partial E}{\partial z^{(1)}}", ka).correct
    wrong = check(r"(y^{(2)} - t)^T W^{(2)}", ka)
    assert wrong.status == "incorrect"
    assert wrong.mistake == "dropped the sigmoid's derivative y^(1) ∘ (1 - y^(1))"


def test_chains_check_every_member() -> None:
    key = sp.log(1 + sp.exp(-W * x))
    ka = KeyAnswer(key, SCALARS)
    assert check(r"-\log(\sigma(Wx)) = \log(1 + e^{-Wx})", ka).correct
    v = check(r"-\log(\sigma(Wx)) = \log(1 + e^{Wx})", ka)
    assert v.status == "incorrect" and "member 2" in v.reason


def test_arbitrary_functions_and_their_derivatives() -> None:
    f = sp.Function("f")
    u, v = sp.symbols("u v")
    symbols = {"f": f, "u": u, "v": v}
    key = sp.diff(f(u * v), u)  # v * f'(u v)
    assert check(r"v f'(uv)", KeyAnswer(key, symbols)).correct
    wrong = check(r"v f(uv)", KeyAnswer(key, symbols))
    assert wrong.status == "incorrect"
    assert wrong.counterexample is not None and "f(u)=" in str(wrong.counterexample)


@pytest.mark.parametrize(
    ("claim", "key", "ok"),
    [
        ("0", 0.13620097325, False),  # right to the precision written, but no figure right
        ("0", 0.24171691918, False),
        ("0.14", 0.13620097325, False),  # two significant figures: below the floor
        ("0.136", 0.13620097325, True),
        ("0.1362", 0.13620097325, True),
        ("1.362e-1", 0.13620097325, True),
        ("0.1363", 0.13620097325, False),
        ("[0.0000, 0.0000, 0.2616]", [0.0, 0.0, 0.26161], True),
        ("[0.0001, 0.0000, 0.2616]", [0.0, 0.0, 0.26161], False),
        ("-0.0026", -0.00260456, True),
        ("-0.003", -0.00260456, False),
    ],
)
def test_numbers_match_to_the_precision_written_and_three_figures(
    claim: str, key: object, ok: bool
) -> None:
    v = check(claim, KeyAnswer(np.asarray(key, dtype=float)))
    assert v.correct is ok, v.lines()


def test_the_keys_printed_value_copied_is_correct() -> None:
    """The floor is never finer than the key prints: 0.0041 is what a 4-decimal key shows
    for 0.004056, although it has only two significant figures."""
    assert check("0.0041", KeyAnswer(0.004056345)).correct
    assert not check("0.0051", KeyAnswer(0.004056345)).correct
    assert not check("0.004", KeyAnswer(0.004056345, printed=6)).correct
    assert check("0.004056", KeyAnswer(0.004056345, printed=6)).correct


def test_an_exercise_sets_its_own_significant_figures() -> None:
    assert not check("0.14", KeyAnswer(0.13620097325)).correct
    assert check("0.14", KeyAnswer(0.13620097325, figures=2)).correct


@pytest.mark.parametrize("claim", ["0e5", "1e309", "-1e309", "[0e9, 0e9, 0e9]", "1e400", "0.0e3"])
def test_absurd_numbers_are_unreadable(claim: str) -> None:
    v = check(claim, KeyAnswer(np.array([0.4, 0.0, 0.1])))
    assert v.status == "unreadable", v.lines()


def test_a_differing_entry_is_named() -> None:
    v = check(
        "[[0.6027, 0.7041, 0.0122], [0.0129, 0.4343, 0.8931]]",
        KeyAnswer(np.array([[0.60270423, 0.7041, 0.0122], [0.0129, 0.4343, 0.8930]])),
    )
    assert v.status == "incorrect" and "entry 2,3" in v.reason


def test_equal_answers_are_not_called_unequal_for_float_noise() -> None:
    """(x+W)^30 (x-W)^30 - (x^2-W^2)^30 is 0, but in floats it is noise of order 1e13."""
    key = sp.log(1 + sp.exp(-W * x))
    noisy = r"\log(1+e^{-Wx}) + (x+W)^{30}(x-W)^{30} - (x^2-W^2)^{30}"
    assert check(noisy, KeyAnswer(key, SCALARS)).correct
    assert not check(
        r"\log(1+e^{-Wx}) + (x+W)^{30}(x-W)^{30} - (x^2-W^2)^{29}", KeyAnswer(key, SCALARS)
    ).correct


def test_a_counterexample_is_as_simple_as_the_difference_allows() -> None:
    v = check(r"\log(1+e^{Wx})", KeyAnswer(sp.log(1 + sp.exp(-W * x)), SCALARS))
    assert v.counterexample is not None
    assert v.counterexample.point == {"W": 1, "x": 1}  # W = x = 0 would not show it
    one = check(r"W x + t", KeyAnswer(W * x, SCALARS))
    assert one.counterexample is not None and one.counterexample.relevant == ("t",)
    assert str(one.counterexample).startswith("at t=1 (any values of the other 2 inputs)")


def test_candidates_are_judged_equal_at_shared_points_as_compare_judges_them() -> None:
    from answerkey.claims.judging import Judge
    from answerkey.model import Instance

    jd = Judge(Instance(), np.random.default_rng(0), 8)
    value = jd.value(sp.log(1 + sp.exp(-W * x)))
    same = jd.value(-sp.log(1 / (1 + sp.exp(-W * x))))
    other = jd.value(sp.log(1 + sp.exp(W * x)))
    column = jd.value(sp.ImmutableMatrix([W, x]))
    assert jd.equal_to(value, [same, other, column]) == [True, False, False]
    arrays = jd.arrays([value, same, other])
    assert arrays is not None and all(a.shape == (8, 1, 1) for a in arrays)
    # nowhere finite is not "equal", and one bad candidate does not spoil the others
    assert jd.equal_to(value, [jd.value(sp.log(-(W**2) - 1)), same]) == [False, True]


def test_a_correct_claim_is_proved_symbolically_when_time_allows() -> None:
    v = judge(W * x + W * x, 2 * W * x, seed=0)
    assert v.correct and "proved symbolically (" in v.how, v.how


def test_a_verdict_names_a_typical_mistake_only_when_there_is_one() -> None:
    from answerkey.claims import Verdict

    named = Verdict("incorrect", "differs from the answer", mistake="the sign flipped")
    assert "this is a typical mistake: the sign flipped" in named.lines()
    assert not any("typical mistake" in line for line in Verdict("incorrect", "differs").lines())
    # how it was checked is said of an accepted answer only
    assert (
        Verdict("incorrect", "differs", how="equal at 3 points").lines()[0] == "incorrect: differs"
    )


def test_an_answer_equal_up_to_layout_says_which_layout_each_has() -> None:
    v = judge(sp.Matrix([[x, W]]), sp.Matrix([[x], [W]]), seed=0)
    assert v.status == "transposed"
    assert v.reason.endswith("a row where the key writes a column"), v.reason


def test_a_claim_undefined_where_the_answer_is_defined_is_incorrect() -> None:
    v = judge(sp.sqrt(-(x**2) - 1), x, seed=0)
    assert v.status == "incorrect" and v.reason.startswith("undefined where the answer"), v.lines()


def test_numbers_written_as_a_column_are_compared_at_their_precision_with_a_row() -> None:
    key = np.array([[0.406269994, 0.8689999]])
    column = r"\begin{bmatrix} 0.4063 \\ 0.869 \end{bmatrix}"
    v = check(column, KeyAnswer(key))
    assert v.status in ("correct", "transposed"), v.lines()


def test_a_wrong_number_equal_to_a_named_mistake_is_named() -> None:
    v = judge(sp.Float(-0.25), sp.Float(0.25), mistakes=[("the sign flipped", sp.Float(-0.25))])
    assert v.status == "incorrect" and v.mistake == "the sign flipped", v.lines()
