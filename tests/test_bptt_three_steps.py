"""bptt-three-steps: it builds and verifies; the last step's term alone as the gradient, or a
wrong gradient value, is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from answerkey import numbers, worked
from answerkey.errors import VerificationError
from answerkey.model import Step
from answerkey.verify import verify_assignment
from solutions import bptt_three_steps as exercise


def test_it_builds_and_verifies_at_its_numbers_and_a_draw() -> None:
    assert verify_assignment(exercise.build(exercise.PARAMETERS)) > 0
    assert verify_assignment(exercise.build(exercise.draw(np.random.default_rng(2)))) > 0


def test_every_printed_number_is_bound_to_what_it_names() -> None:
    """The whole key's audit (as the build runs it): labels name their quantities, inputs
    are printed, no typed number."""
    for p in (exercise.PARAMETERS, exercise.draw(np.random.default_rng(2))):
        numbers.audit(exercise.build(p))


def test_the_last_step_alone_is_refused() -> None:
    a = exercise.build(exercise.PARAMETERS)
    part = a.parts()[1]
    d = part.derivations[0]
    h, y = exercise.h, exercise.y
    wrong = Step((h[3] - y) * (1 - h[3] ** 2) * h[2], d.steps[-1].reason)
    part.derivations = [dataclasses.replace(d, steps=(*d.steps[:-1], wrong)), *part.derivations[1:]]
    with pytest.raises(VerificationError, match="part b"):
        verify_assignment(a)


def test_a_wrong_gradient_value_is_refused() -> None:
    ex = exercise.build(exercise.PARAMETERS).parts()[3].numeric_checks[0]
    key = "D(E, w)"
    ex.point.values[key] = -ex.point.values[key]
    with pytest.raises(worked.WorkedError, match=r"D\(E, w\)"):
        ex()
