"""optimizer-comparison: it builds and verifies; a wrong update, a wrong printed rule or a
hyperparameter the key does not print is refused."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from answerkey import numbers
from answerkey.errors import VerificationError
from answerkey.kit import optim
from answerkey.verify import verify_assignment
from solutions import optimizer_comparison as exercise


def test_it_builds_and_verifies() -> None:
    assert verify_assignment(exercise.build(exercise.PARAMETERS)) > 0


def test_every_printed_number_is_bound_to_what_it_names() -> None:
    """The whole key's audit (as the build runs it): labels name their quantities, inputs
    are printed, no typed number."""
    for p in (exercise.PARAMETERS, exercise.draw(np.random.default_rng(5))):
        numbers.audit(exercise.build(p))


def test_a_drawn_variant_verifies() -> None:
    params = exercise.draw(np.random.default_rng(5))
    assert verify_assignment(exercise.build(params)) > 0


def test_a_wrong_rmsprop_step_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    right = optim.RMSProp.update

    def wrong(self: Any, g: Any, state: Any, count: int) -> Any:
        step, lines = right(self, g, state, count)
        return (1.01 * step if count == 3 else step), lines

    monkeypatch.setattr(optim.RMSProp, "update", wrong)
    with pytest.raises(VerificationError, match=r"part b.*RMSProp, update 3"):
        verify_assignment(exercise.build(exercise.PARAMETERS))


def test_a_rule_printed_without_bias_correction_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    right = optim.Adam.lines

    def wrong(self: Any) -> Any:
        out = right(self)
        return [*out[:2], (out[2][0], out[0][0]), *out[3:]]

    monkeypatch.setattr(optim.Adam, "lines", wrong)
    with pytest.raises(VerificationError, match="Adam, update 1"):
        verify_assignment(exercise.build(exercise.PARAMETERS))


def test_a_hyperparameter_the_key_does_not_print_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(optim.Adam, "statement", lambda self, besides=(): "Adam")
    with pytest.raises(VerificationError, match=r"beta 2 = 0\.999"):
        numbers.audit(exercise.build(exercise.PARAMETERS))
