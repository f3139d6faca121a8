"""init-variance: it builds and verifies; a variance without its factor n is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from answerkey import numbers
from answerkey.errors import VerificationError
from answerkey.model import Step
from answerkey.verify import verify_assignment
from solutions import init_variance as exercise


def test_it_builds_and_verifies_at_its_numbers_and_a_draw() -> None:
    assert verify_assignment(exercise.build(exercise.PARAMETERS)) > 0
    assert verify_assignment(exercise.build(exercise.draw(np.random.default_rng(1)))) > 0


def test_every_printed_number_is_bound_to_what_it_names() -> None:
    """The whole key's audit (as the build runs it): labels name their quantities, inputs
    are printed, no typed number."""
    for p in (exercise.PARAMETERS, exercise.draw(np.random.default_rng(1))):
        numbers.audit(exercise.build(p))


def test_a_variance_without_the_factor_n_is_refused() -> None:
    a = exercise.build(exercise.PARAMETERS)
    part = a.parts()[0]
    d = part.derivations[0]
    wrong = Step(exercise.Vw * exercise.Vx, d.steps[-1].reason)
    part.derivations = [dataclasses.replace(d, steps=(wrong,))]
    with pytest.raises(VerificationError, match="part a"):
        verify_assignment(a)
