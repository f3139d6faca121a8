"""Typical mistakes derived from the right answer, recognised and named."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

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
