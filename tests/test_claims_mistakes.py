"""Typical mistakes derived from the right answer, recognised and named."""

from __future__ import annotations

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
    v = check(r"y^{(2)} - t", ka)
    assert v.status == "incorrect" and v.mistake is not None and "transpose" in v.mistake
    assert v.counterexample is not None and "1×3" in v.counterexample.remark
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
