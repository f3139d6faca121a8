"""Giving a reading its meaning: shapes, and the readings tried when they do not fit."""

from __future__ import annotations

import pytest
import sympy as sp
from claims_common import NET, SIG_PRIME, VECTORS, W2, E, tv, y1, y2, z1

from answerkey.claims import (
    ClaimShapeError,
    KeyAnswer,
    check,
    parse_claim,
)
from answerkey.mathfns import D


def test_shape_errors_are_claim_errors_with_a_reading() -> None:
    with pytest.raises(ClaimShapeError) as info:
        parse_claim(r"\frac{\partial E}{\partial z^{(1)}} * x", VECTORS)
    assert "cannot multiply" in str(info.value)
    assert info.value.reading == "∂E/∂z^(1)·x"


def test_when_the_dimensions_do_not_fit_side_by_side_factors_group_first() -> None:
    """`y ∘ (1-y) ∘ W^T(y2 - t)` left to right is (h×1 ∘ h×K)·K×1: no fit. Read with the
    side-by-side product first it is the key's vector: a reading that does not fit is
    never the verdict."""
    latex = r"\left(y^{(1)} \odot (1-y^{(1)}) \odot W^{(2)T}(y^{(2)}-t)\right)^T"
    parsed = parse_claim(latex, VECTORS)
    assert parsed.expr.shape == (1, y1.shape[0])
    assert any("grouped first" in n for n in parsed.notes)
    key = sp.MatMul(sp.Transpose(y2 - tv), W2, SIG_PRIME)
    v = check(latex, KeyAnswer(key, VECTORS, (NET,), D(E, z1)))
    assert v.correct, v.lines()


def test_no_reading_fits_is_still_a_shape_error() -> None:
    with pytest.raises(ClaimShapeError):
        parse_claim(r"x^T W^{(1)} x", VECTORS)
