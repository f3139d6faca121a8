"""softmax-regression: it builds and verifies in the course's names (W, b, s, p, L), and a
wrong step is refused with a message in those names."""

from __future__ import annotations

import dataclasses

import pytest

from answerkey.errors import VerificationError
from answerkey.model import Step
from answerkey.verify import verify_assignment
from solutions import softmax_regression as exercise


def test_it_builds_and_verifies() -> None:
    assert verify_assignment(exercise.build(exercise.PARAMETERS)) > 0


def test_a_wrong_step_is_refused_in_the_courses_names() -> None:
    assignment = exercise.build(exercise.PARAMETERS)
    part = assignment.parts()[0]
    d = part.derivations[1]  # dL/db
    wrong = Step(2 * d.steps[-1].expr, d.steps[-1].reason)
    part.derivations = [part.derivations[0], dataclasses.replace(d, steps=(*d.steps[:-1], wrong))]
    with pytest.raises(VerificationError, match=r"∂L/∂b|s_1=|p_1=") as failure:
        verify_assignment(assignment)
    assert not any(k in str(failure.value) for k in ("b1", "z1", "y1", "E"))
