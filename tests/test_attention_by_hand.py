"""attention-by-hand: it builds and verifies; a wrong query gradient or a typed Jacobian is
refused, and a draw whose values give the scores no gradient is a poor one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from answerkey import numbers, worked
from answerkey.errors import VerificationError
from answerkey.model import Step
from answerkey.verify import verify_assignment
from solutions import attention_by_hand as exercise


def test_it_builds_and_verifies_at_its_numbers_and_a_draw() -> None:
    assert verify_assignment(exercise.build(exercise.PARAMETERS)) > 0
    rng = np.random.default_rng(7)
    params = exercise.draw(rng)
    while exercise.instructive(params):
        params = exercise.draw(rng)
    assert verify_assignment(exercise.build(params)) > 0


def test_every_printed_number_is_bound_to_what_it_names() -> None:
    """The whole key's audit (as the build runs it): labels name their quantities, inputs
    are printed, no typed number."""
    rng = np.random.default_rng(7)
    params = exercise.draw(rng)
    while exercise.instructive(params):
        params = exercise.draw(rng)
    for p in (exercise.PARAMETERS, params):
        numbers.audit(exercise.build(p))


def test_a_query_gradient_with_its_sign_flipped_is_refused() -> None:
    a = exercise.build(exercise.PARAMETERS)
    part = a.parts()[2]
    d = part.derivations[0]
    wrong = Step(-d.steps[-1].expr, d.steps[-1].reason)
    part.derivations = [dataclasses.replace(d, steps=(*d.steps[:-1], wrong))]
    with pytest.raises(VerificationError, match="part c"):
        verify_assignment(a)


def test_a_wrong_jacobian_value_is_refused() -> None:
    ex = exercise.build(exercise.PARAMETERS).parts()[3].numeric_checks[0]
    ex.point.values["J"] = np.diag(np.diag(ex.point.values["J"]))  # the diagonal only
    with pytest.raises(worked.WorkedError, match="J"):
        ex()


def test_values_that_score_alike_are_a_poor_draw() -> None:
    same = {**exercise.PARAMETERS, "V": [[1.0, 0.0]] * 3}
    assert exercise.instructive(same)
    assert exercise.instructive(exercise.PARAMETERS) == []
