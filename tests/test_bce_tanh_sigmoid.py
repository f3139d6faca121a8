"""bce-tanh-sigmoid: it builds and verifies, and a wrong step is refused."""

from __future__ import annotations

import dataclasses

import pytest

from answerkey.errors import VerificationError
from answerkey.model import Step
from answerkey.verify import verify_assignment
from solutions import bce_tanh_sigmoid as exercise


def test_it_builds_and_verifies() -> None:
    assert verify_assignment(exercise.build(exercise.PARAMETERS)) > 0


def test_a_wrong_step_is_refused() -> None:
    assignment = exercise.build(exercise.PARAMETERS)
    part = assignment.parts()[0]
    d = part.derivations[0]
    wrong = Step(2 * d.steps[-1].expr, d.steps[-1].reason)
    part.derivations = [dataclasses.replace(d, steps=(*d.steps[:-1], wrong))]
    with pytest.raises(VerificationError):
        verify_assignment(assignment)
