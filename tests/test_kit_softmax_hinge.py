"""answerkey.kit.softmax_hinge: the hinge loss over softmax, its oracle and worked example agree,
a derivation is proved at its active-term instances, and a wrong componentwise answer
(or a wrong derivation step) is refused."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from answerkey.errors import VerificationError
from answerkey.kit.softmax_hinge import HingeOverSoftmax, gradient_np, loss_np, softmax_np
from answerkey.kit.writing import derive
from answerkey.mathfns import D, T, diag
from answerkey.verify import verify_derivation

C = sp.Symbol("C", integer=True, positive=True)
s, q, act, one = (sp.MatrixSymbol(c, C, 1) for c in "sqbu")
gap, term = sp.MatrixSymbol("g", C, 1), sp.MatrixSymbol("h", C, 1)
mu, E, cnt = sp.symbols("mu E n")
i, k, c = sp.symbols("i k c", integer=True, positive=True)
Q, B = sp.IndexedBase("q"), sp.IndexedBase("b")
H = HingeOverSoftmax(s, q, one, mu, E, gap, term)
CASES = {3: {1: (2,), 2: (1, 3), 3: ()}, 4: {1: (2, 3), 2: (1, 3, 4), 3: (1,), 4: ()}}
ANSWER = sp.Sum(
    B[i] * (Q[i] * (sp.KroneckerDelta(i, k) - Q[k]) - Q[c] * (sp.KroneckerDelta(c, k) - Q[k])),
    (i, 1, C),
)
VECTOR = T(act - cnt * one) * (diag(q) - q * q.T)


def test_numpy_loss_gradient_and_oracle_agree_with_finite_differences() -> None:
    rng = np.random.default_rng(1)
    for size in (3, 5):
        o, y, m = rng.normal(size=size), int(rng.integers(size)), 0.3
        fd = [
            (loss_np(o + 1e-6 * e, y, m) - loss_np(o - 1e-6 * e, y, m)) / 2e-6 for e in np.eye(size)
        ]
        np.testing.assert_allclose(gradient_np(o, y, m), fd, atol=1e-7)
        out = H.oracle({"s": o, "u": np.eye(size)[y], "mu": m})
        assert out["E"] == pytest.approx(loss_np(o, y, m))
        np.testing.assert_allclose(out["q"].ravel(), softmax_np(o))


def test_the_worked_example_is_checked_and_a_corrupted_value_is_refused() -> None:
    ex = H.example("example", [1.2, 0.9, -0.3, 1.0], 1, 0.2)
    assert len(ex()) > 0
    data = H.plain(ex, 1)
    assert data["active"] == [False, True, False, True]
    assert data["loss"] == pytest.approx(loss_np(np.array([1.2, 0.9, -0.3, 1.0]), 0, 0.2))
    key = next(iter(ex.point.values))
    ex.point.values[key] = ex.point.values[key] + 1e-3
    with pytest.raises(AssertionError, match="example"):
        ex()
    with pytest.raises(ValueError, match="true class 5"):
        H.example("example", [1.0, 2.0], 5, 0.2)


def test_a_derivation_is_proved_at_the_active_instances_and_a_wrong_step_refused() -> None:
    instances = H.active(act, cnt, c, CASES)
    assert len(instances) == 7 and instances[-1].label == "C = 4, c = 4, active terms: none"
    right = derive(
        D(E, s), [(T(act - cnt * one) * D(q, s), "active terms"), (VECTOR, "Jacobian")], instances
    )
    verify_derivation("right", right, np.random.default_rng(0))
    wrong = derive(D(E, s), [(T(act - one) * D(q, s), "n dropped")], instances)
    with pytest.raises(VerificationError, match="wrong"):
        verify_derivation("wrong", wrong, np.random.default_rng(0))


def test_answer_checks_pass_the_answer_and_refuse_wrong_ones() -> None:
    proof, differences = H.answer_checks(
        lambda: ANSWER, VECTOR, act, cnt, (Q, B), (c, k), where="here"
    )
    assert "C = 3, 4, 5" in proof()[0].detail
    assert "central differences" in differences()[0].detail
    summand, limits = ANSWER.args
    for wrong in (
        sp.Sum(-summand, limits),
        sp.Sum(summand - B[i] * Q[c] * (sp.KroneckerDelta(c, k) - Q[k]), limits),
        ANSWER + (C - 3) * (C - 4) * Q[k],  # wrong only at C = 5: the proof's
    ):
        checks = H.answer_checks(lambda w=wrong: w, VECTOR, act, cnt, (Q, B), (c, k), where="here")
        with pytest.raises(VerificationError, match="here: "):
            for check in checks:
                check()


def test_the_module_does_not_shadow_the_kits_hinge_loss() -> None:
    from answerkey import kit

    assert kit.hinge(0.5).margin == 0.5


def test_the_kits_derivation_and_componentwise_answer_agree_and_prove() -> None:
    derivation = H.gradient(act, cnt, (i, k, c), CASES)
    assert derivation.steps[-1].expr == VECTOR
    verify_derivation("here", derivation, np.random.default_rng(0))
    assert H.componentwise(act, (i, k, c)) == ANSWER
    (proof, differences) = H.answer_checks(
        lambda: H.componentwise(act, (i, k, c)), VECTOR, act, cnt, (Q, B), (c, k), where="here"
    )
    assert proof() and differences()


def test_the_example_in_a_table_and_in_words() -> None:
    from answerkey.model import text

    ex = H.example("ex", [1.2, 0.9, -0.3, 1.0], 1, 0.2)
    table = H.table(ex, 1, (i, k, c), text("caption"))
    assert [row[0] for row in table.rows] == ["1 (true class)", "2", "3", "4"]
    assert [row[4] for row in table.rows] == ["-", "yes", "no", "yes"]
    assert table.header[3] == Q[i] - Q[c] + mu
    assert table.rows[1][5].label == ex[term][1].label == "ex: h[2]"
    words = H.terms(ex, 1)
    assert (
        words == "the terms of classes 2 and 4 are active, class 3 already trail(s) by the margin"
    )
    assert H.terms(H.example("ex", [0.0, 0.1, 0.0], 2, 0.01), 2) == "no term is active" + (
        ", classes 1 and 3 already trail(s) by the margin"
    )
    assert H.terms(H.example("ex", [0.0, 0.0], 1, 0.5), 1) == "the terms of class 2 is active"


def test_term_problems_want_the_true_class_among_the_scores() -> None:
    from answerkey.kit.softmax_hinge import term_problems

    assert term_problems({"scores": [1.0, 2.0], "true_class": 2}, "h") == []
    assert term_problems({"scores": [1.0, 2.0], "true_class": 3}, "h") == [
        "h.true_class: expected a class between 1 and 2 (the number of scores), got 3"
    ]
    assert term_problems({}, "h") != []  # no scores: no class can be the true one
