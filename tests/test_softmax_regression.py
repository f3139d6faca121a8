"""softmax-regression: it builds and verifies in the course's names (W, b, s, p, L), a wrong
step is refused with a message in those names, and each way a hurried author could print a
number that is not what it names is refused (issue 20's trial, now part of this exercise)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from answerkey import numbers, worked
from answerkey.errors import VerificationError
from answerkey.mathfns import D
from answerkey.model import Assignment, Part, Step, text
from answerkey.verify import verify_assignment, verify_part
from solutions import softmax_regression as exercise
from solutions.softmax_regression import NET, SIZES, L, W, b, t, x


def test_it_builds_and_verifies_with_the_loss_after_the_step() -> None:
    assignment = exercise.build(exercise.PARAMETERS)
    assert verify_assignment(assignment) > 0
    example, step = assignment.parts()[1].numeric_checks[:2]
    assert float(step.steps[0][sp.Symbol("L'")]) < float(example[L])


def test_a_wrong_step_is_refused_in_the_courses_names() -> None:
    assignment = exercise.build(exercise.PARAMETERS)
    part = assignment.parts()[0]
    d = part.derivations[1]  # dL/db
    wrong = Step(2 * d.steps[-1].expr, d.steps[-1].reason)
    part.derivations = [part.derivations[0], dataclasses.replace(d, steps=(*d.steps[:-1], wrong))]
    with pytest.raises(VerificationError, match=r"∂L/∂b|s_1=|p_1=") as failure:
        verify_assignment(assignment)
    assert not any(k in str(failure.value) for k in ("b1", "z1", "y1", "E"))


def _planted(fault: str) -> tuple[Assignment, Part]:
    assignment = exercise.build(exercise.PARAMETERS)
    part = assignment.parts()[1]
    example, step = part.numeric_checks[:2]
    params = {W: example.inputs[W], b: example.inputs[b]}
    sample = [{x: example.inputs[x], t: example.inputs[t]}]
    if fault == "given gradient":
        grad_b = 2 * np.asarray(example[D(L, b)].value)
        part.remarks = [text("So", (D(L, b), worked.given(grad_b, "dL/db")), ".")]
    if fault == "given new value":
        w = np.asarray(example.inputs[W].value) - 0.05 * np.asarray(example[D(L, W)].value)
        part.remarks = [text("So", (sp.MatrixSymbol("W'", 3, 2), worked.given(w, "W'")), ".")]
    if fault == "free label":
        bad = NET.example("worked example", SIZES, example.inputs, [(sp.Symbol("p_2"), L)])
        part.numeric_checks = [bad, step]
    if fault == "swapped labels":
        swapped = [(sp.MatrixSymbol("b'", 3, 2), worked.NewValueOf(W))]
        bad_step = NET.trace("SGD step", SIZES, params, sample, step.optimizer, 1, swapped)
        part.numeric_checks = [example, bad_step]
    if fault == "rate in a remark":
        rate = worked.given(0.05, "learning rate")
        slow = NET.trace("SGD step", SIZES, params, sample, worked.SGD(rate), 1, [])
        part.numeric_checks = worked.attach(example, slow)
        part.blocks = part.blocks[:1]
        part.remarks = [text("The step's rate is", rate, ".")]
    if fault in ("0,1010", "two SGD steps", "true class 3"):
        part.remarks = [text(f"Note: {fault}.")]
    return assignment, part


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("given gradient", r"part 2, remark 1: prints D\(L, b\) = .* is a derivative"),
        ("given new value", r"part 2, remark 1: prints W' = .* W' is computed in SGD step"),
        ("free label", r"part 2: worked example: the label p_2 is not a quantity of the model"),
        ("swapped labels", r"part 2: SGD step: the label b' is printed over the new value of W"),
        ("rate in a remark", r"part 2, question 2: prints learning rate = 0.5, but SGD step"),
        ("0,1010", r"part 2, remark 1: shows the number '0,1010' written into its text"),
        ("two SGD steps", r"part 2, remark 1: shows 'two SGD steps' but .* updates 1"),
        ("true class 3", r"part 2, remark 1: shows 'true class 3' but the target's class is 2"),
    ],
)
def test_each_planted_fault_is_refused(fault: str, says: str) -> None:
    assignment, part = _planted(fault)
    with pytest.raises(VerificationError, match=says):
        verify_part(assignment.id, part)
        numbers.audit(assignment)
