"""softmax-regression-trial (issue 20's acceptance trial): it builds and verifies, and each way a
hurried author could print a number that is not what it names is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from answerkey import numbers, worked
from answerkey.errors import VerificationError
from answerkey.mathfns import D
from answerkey.model import Step, text
from answerkey.verify import verify_assignment, verify_part
from solutions import softmax_regression_trial as sr


def built() -> tuple[object, object, worked.Example, worked.Trace]:
    a = sr.build(sr.PARAMETERS)
    part = a.parts()[1]
    example, step = part.numeric_checks
    return a, part, example, step


def test_it_builds_and_verifies_with_the_loss_after_the_step() -> None:
    a, _, example, step = built()
    assert verify_assignment(a) > 0
    after, before = float(step.steps[0][sp.Symbol("L'")]), float(example[sr.L])
    assert after < before


def test_a_wrong_step_is_refused() -> None:
    a = sr.build(sr.PARAMETERS)
    part = a.parts()[0]
    d = part.derivations[2]
    part.derivations = [
        *part.derivations[:2],
        dataclasses.replace(d, steps=(Step(2 * d.steps[-1].expr, text("x")),)),
    ]
    with pytest.raises(VerificationError):
        verify_assignment(a)


def _planted(fault: str) -> object:
    a, part, example, step = built()
    grad_b = np.asarray(example[D(sr.L, sr.b)].value)
    if fault == "given gradient":
        part.remarks = [text("So", (D(sr.L, sr.b), worked.given(2 * grad_b, "dL/db")), ".")]
    if fault == "given new value":
        w = np.asarray(example.inputs[sr.W].value) - 0.05 * np.asarray(example[D(sr.L, sr.W)].value)
        part.remarks = [text("So", (sp.MatrixSymbol("W'", 3, 2), worked.given(w, "W'")), ".")]
    if fault == "free label":
        at = example.inputs
        bad = sr.NET.example("worked example", sr.SIZES, at, [sr.s, (sp.Symbol("p_2"), sr.L)])
        part.numeric_checks = [bad, step]
    if fault == "swapped labels":
        swapped = [(sp.MatrixSymbol("b'", 3, 2), worked.NewValueOf(sr.W))]
        params = {sr.W: example.inputs[sr.W], sr.b: example.inputs[sr.b]}
        sample = [{sr.x: example.inputs[sr.x], sr.t: example.inputs[sr.t]}]
        bad_step = sr.NET.trace("SGD step", sr.SIZES, params, sample, step.optimizer, 1, swapped)
        part.numeric_checks = [example, bad_step]
    if fault == "rate in a remark":
        rate = worked.given(0.05, "learning rate")
        params = {sr.W: example.inputs[sr.W], sr.b: example.inputs[sr.b]}
        sample = [{sr.x: example.inputs[sr.x], sr.t: example.inputs[sr.t]}]
        slow = sr.NET.trace("SGD step", sr.SIZES, params, sample, worked.SGD(rate), 1, [])
        part.numeric_checks = worked.attach(example, slow)
        part.blocks = part.blocks[:1]
        part.remarks = [text("The step's rate is", rate, ".")]
    if fault in ("0,1010", "two SGD steps", "true class 3"):
        part.remarks = [text(f"Note: {fault}.")]
    return a


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("given gradient", r"part b, remark 1: prints D\(L, b\) = .* is a derivative"),
        ("given new value", r"part b, remark 1: prints W' = .* W' is computed in SGD step"),
        ("free label", r"part b: worked example: the label p_2 is not a quantity of the model"),
        ("swapped labels", r"part b: SGD step: the label b' is printed over the new value of W"),
        ("rate in a remark", r"part b, question 2: prints learning rate = 0.5, but SGD step"),
        ("0,1010", r"part b, remark 1: shows the number '0,1010' written into its text"),
        ("two SGD steps", r"part b, remark 1: shows 'two SGD steps' but .* updates 1"),
        ("true class 3", r"part b, remark 1: shows 'true class 3' but the target's class is 2"),
    ],
)
def test_each_planted_fault_is_refused(fault: str, says: str) -> None:
    a = _planted(fault)
    with pytest.raises(VerificationError, match=says):
        verify_part(a.id, a.parts()[1])
        numbers.audit(a)
