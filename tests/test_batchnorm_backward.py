"""batchnorm-backward: it builds and verifies; a backward pass with BN's mean or variance term
dropped, or a wrong running mean, is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from answerkey import numbers, worked
from answerkey.errors import VerificationError
from answerkey.model import Step
from answerkey.verify import verify_assignment
from solutions import batchnorm_backward as exercise


def test_it_builds_and_verifies_at_its_numbers_and_a_draw() -> None:
    assert verify_assignment(exercise.build(exercise.PARAMETERS)) > 0
    params = exercise.draw(np.random.default_rng(3))
    assert verify_assignment(exercise.build(params)) > 0


def test_every_printed_number_is_bound_to_what_it_names() -> None:
    """The whole key's audit (as the build runs it): labels name their quantities, inputs
    are printed, no typed number."""
    for p in (exercise.PARAMETERS, exercise.draw(np.random.default_rng(3))):
        numbers.audit(exercise.build(p))


def test_the_compact_form_without_the_variance_term_is_refused() -> None:
    a = exercise.build(exercise.PARAMETERS)
    part = a.parts()[1]
    d = part.derivations[0]
    bn = exercise.BN
    wrong = Step(d.steps[-1].expr.subs(bn.mu_gz, 0), d.steps[-1].reason)
    part.derivations = [dataclasses.replace(d, steps=(*d.steps[:-1], wrong)), *part.derivations[1:]]
    with pytest.raises(VerificationError, match="part b"):
        verify_assignment(a)


def test_a_wrong_running_mean_is_refused() -> None:
    ex = exercise.build(exercise.PARAMETERS).parts()[3].numeric_checks[0]
    key = next(k for k in ex.point.values if k == "mu_new")
    ex.point.values[key] = ex.point.values[key] + 0.1
    with pytest.raises(worked.WorkedError, match="mu_new"):
        ex()
