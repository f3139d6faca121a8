"""kit.conv: a convolution as frameworks compute it (cross-correlation), its size rules
checked against brute force, its backward rules proved entry by entry (a wrong one is
refused), and pooling that routes the gradient to the argmax and refuses a tie."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from answerkey.errors import VerificationError
from answerkey.kit import conv
from answerkey.kit.fragments import Fragment
from answerkey.mathfns import D
from answerkey.model import Derivation, Step, text


def test_the_rules_give_the_textbook_numbers() -> None:
    assert conv.output_size(32, 5, stride=1, padding=2) == 32
    assert conv.output_size(7, 3, stride=2) == 3
    assert conv.parameter_count(3, 16, 5) == 1216
    assert conv.receptive_field([(3, 1), (3, 1)]) == 5
    assert conv.receptive_field([(3, 2), (3, 1)]) == 7


def test_the_facts_check_compares_each_rule_with_brute_force() -> None:
    (record,) = conv.facts_check()
    assert "window positions counted by sliding" in record.detail


def test_a_wrong_output_size_rule_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = sp.floor((conv.N_ + conv.P_ - conv.F_) / conv.S_) + 1  # padding counted once
    monkeypatch.setattr(conv, "OUTPUT_SIZE", wrong)
    with pytest.raises(AssertionError, match="output-size rule fails"):
        conv.facts_check()


def test_the_forward_pass_is_a_cross_correlation_the_kernel_not_flipped() -> None:
    x = np.arange(16.0).reshape(4, 4)
    k = np.array([[1.0, 0, 0], [0, 0, 0], [0, 0, 0]])  # picks the window's top-left entry
    assert conv.Conv2d(3).forward(x, k, 0.5) == pytest.approx(x[:2, :2] + 0.5)
    z = conv.Conv2d(3, stride=2, padding=1).forward(x, np.ones((3, 3)), 0.0)
    assert z.shape == (2, 2) and z[0, 0] == pytest.approx(x[:2, :2].sum())


def test_the_numpy_backward_matches_finite_differences() -> None:
    rng = np.random.default_rng(1)
    layer = conv.Conv2d(3, stride=2, padding=1)
    x, k, b = rng.normal(size=(5, 5)), rng.normal(size=(3, 3)), 0.3
    delta = rng.normal(size=layer.out_shape((5, 5)))
    dx, dk, db = layer.np_backward(x, k, delta)

    def e(x_: np.ndarray, k_: np.ndarray, b_: float) -> float:
        return float((delta * layer.forward(x_, k_, b_)).sum())

    h = 1e-6
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        assert dx[idx] == pytest.approx((e(up, k, b) - e(down, k, b)) / (2 * h), abs=1e-6)
    assert dk[0, 0] == pytest.approx(
        (e(x, k + h * np.eye(3)[0:1].T @ np.eye(3)[0:1], b) - e(x, k, b)) / h, abs=1e-4
    )
    assert db == pytest.approx(delta.sum())


def test_the_backward_rules_are_proved_entry_by_entry() -> None:
    kernel, bias, inp = conv.fragments()
    assert "rot180" in str(inp.derivation.steps[-1].reason.items)
    for f in (kernel, bias, inp):
        kinds = {r.detail.split(" (")[0] for r in f.verify()}
        assert any("central differences" in k for k in kinds)


def _wrong_input_gradient(flip: bool) -> Fragment:
    """The input gradient with the kernel rotated (right) or not (the typical mistake)."""
    layer = conv.Conv2d(2)
    x, k, b = sp.MatrixSymbol("X", 3, 4), sp.MatrixSymbol("K", 2, 2), sp.Symbol("b")
    delta = sp.MatrixSymbol("delta", 2, 3)
    padded = sp.MatrixSymbol("P", 4, 5)
    flipped = sp.MatrixSymbol("Kf", 2, 2)
    inst = conv.local(layer, x, k, b, delta, padded, flipped if flip else None)
    rule = layer.input_gradient(padded, flipped if flip else k, (3, 4))
    d = Derivation(D(sp.Symbol("E"), x), (Step(rule, text("full convolution")),), (inst,))
    return Fragment("input gradient", d, {})


def test_the_input_gradient_with_the_kernel_not_flipped_is_refused() -> None:
    assert _wrong_input_gradient(flip=True).verify()
    with pytest.raises(VerificationError, match="input gradient"):
        _wrong_input_gradient(flip=False).verify()


def test_max_pooling_routes_the_gradient_to_the_argmax_and_refuses_a_tie() -> None:
    a = np.array([[0.1, 0.7], [0.3, 0.2]])
    assert conv.np_pool_backward(a, np.array([[2.0]]), 2).tolist() == [[0, 2.0], [0, 0]]
    assert conv.np_pool_backward(a, np.array([[2.0]]), 2, "avg").tolist() == [[0.5] * 2] * 2
    tie = np.array([[0.7, 0.7], [0.3, 0.2]])
    assert conv.ties(tie, 2) == ["the window at (1, 1) has a tie for its maximum"]
    assert conv.ties(a, 2) == []
    with pytest.raises(ValueError, match="tie"):
        conv.np_pool_backward(tie, np.array([[1.0]]), 2)


def test_pooling_definitions_are_max_and_mean_of_each_window() -> None:
    a = sp.MatrixSymbol("A", 4, 4)
    pooled = conv.max_pool(a, 2)
    assert pooled.shape == (2, 2) and pooled[1, 0] == sp.Max(a[2, 0], a[2, 1], a[3, 0], a[3, 1])
    assert conv.avg_pool(sp.MatrixSymbol("B", 2, 2), 2).has(sp.Rational(1, 4))
    assert conv.np_max_pool(np.arange(16.0).reshape(4, 4), 2).tolist() == [[5, 7], [13, 15]]


def test_layer_facts_are_worked_numbers_checked_by_counting() -> None:
    ex = conv.layer_facts("layer", N=32, F=5, S=1, P=2, C_in=3, C_out=16)
    assert (float(ex[conv.SIZE].value), float(ex[conv.COUNT].value)) == (32.0, 1216.0)
    assert ex()[0].kind == "recomputation"
    assert float(conv.field_facts("two", F_1=3, F_2=3, S_1=1)[conv.FIELD].value) == 5.0


@pytest.mark.parametrize(
    ("kernel", "padded"), [(2, "padded by 1 zero on"), (3, "padded by 2 zeros")]
)
def test_the_backward_text_counts_the_padding_zeros_in_words(kernel: int, padded: str) -> None:
    from answerkey import printing

    x, k = sp.MatrixSymbol("X", 4, 4), sp.MatrixSymbol("K", kernel, kernel)
    z = sp.MatrixSymbol("Z", 5 - kernel, 5 - kernel)
    _, fact, _ = conv.backward_text(z, x, k, sp.Symbol("b"), sp.Symbol("E"))
    assert padded.replace(" 1 ", " $1$ ").replace(" 2 ", " $2$ ") in printing.prose(fact, "md")


def test_the_padding_prints_as_p_pad_leaving_p_to_the_exercise() -> None:
    from answerkey import printing

    ex = conv.layer_facts("layer", N=5, F=2, S=1, P=1, C_in=1, C_out=1)
    assert dict(ex.givens())["P_{pad}"] is not None
    assert (
        printing.latex(conv.OUTPUT_SIZE)
        == r"\left\lfloor{\frac{N + 2 P_{pad} - F}{S}}\right\rfloor + 1"
    )
    assert float(ex[conv.SIZE].value) == 6.0
