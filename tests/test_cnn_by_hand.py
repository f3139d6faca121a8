"""cnn-by-hand: it builds and verifies; wrong routing, a wrong sign, a typed number and a
tie for the maximum are refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from answerkey import numbers, worked
from answerkey.errors import VerificationError
from answerkey.mathfns import D
from answerkey.model import Block
from answerkey.verify import verify_assignment
from solutions import cnn_by_hand as exercise


def _part(assignment, part_id):  # type: ignore[no-untyped-def]
    return next(p for p in assignment.parts() if p.id == part_id)


def test_it_builds_and_verifies_at_its_numbers_and_a_draw() -> None:
    assert verify_assignment(exercise.build(exercise.PARAMETERS)) > 0
    numbers.audit(exercise.build(exercise.PARAMETERS))
    params = exercise.draw(np.random.default_rng(4))
    while exercise.instructive(params):
        params = exercise.draw(np.random.default_rng(len(str(params))))
    assert verify_assignment(exercise.build(params)) > 0
    numbers.audit(exercise.build(params))


def test_the_gradient_sent_to_every_pooled_input_is_refused() -> None:
    ex = _part(exercise.build(exercise.PARAMETERS), "e").numeric_checks[0]
    key = "D(E, A)"
    ex.point.values[key] = np.full((2, 2), float(ex.point.values[key].max()))
    with pytest.raises(worked.WorkedError, match="D\\(E, A\\)"):
        ex()


def test_an_sgd_step_with_its_sign_flipped_is_refused() -> None:
    step = _part(exercise.build(exercise.PARAMETERS), "e").numeric_checks[1]
    point = step.steps[0]
    point.values["K'"] = 2 * np.asarray(exercise.PARAMETERS["K"], dtype=float) - point.values["K'"]
    with pytest.raises(worked.WorkedError, match="K'"):
        step()


def test_a_number_typed_into_the_key_is_refused() -> None:
    a = exercise.build(exercise.PARAMETERS)
    part = _part(a, "c")
    typed = Block(part.blocks[0].title, ((sp.Symbol("p"), 3.5),))
    a.exercises[0].parts[2] = dataclasses.replace(part, blocks=[typed])
    with pytest.raises(VerificationError):
        numbers.audit(a)


def test_a_tie_for_the_maximum_is_a_poor_draw_and_refused_in_a_term() -> None:
    tie = {**exercise.PARAMETERS, "X": [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]]}
    tie["K"] = [[1, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert any("tie" in r for r in exercise.validate(tie))
    assert any("tie" in r for r in exercise.instructive(tie))
    assert exercise.validate(exercise.PARAMETERS) == []


def test_the_key_says_the_convolution_is_a_cross_correlation() -> None:
    part = _part(exercise.build(exercise.PARAMETERS), "d")
    words = " ".join(i for i in part.remarks[0].items if isinstance(i, str))
    assert "cross-correlation, as frameworks compute it" in words
    assert D(exercise.E, exercise.X) in part.question[0].items
