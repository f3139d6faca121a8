"""Errors carry the one line the user reads and the exit code the CLI returns."""

from __future__ import annotations

import pickle

import pytest

from answerkey.claims import ClaimError
from answerkey.errors import AnswerkeyError, RenderError, UsageError, VerificationError


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("bad term"), 2),
        (ClaimError("col 3: expected ')'"), 2),
        (VerificationError("cv-assignment9, part 2, step 1", "differs"), 1),
        (RenderError("LaTeX error"), 1),
        (AnswerkeyError("anything else"), 1),
    ],
)
def test_exit_codes(error: AnswerkeyError, code: int) -> None:
    assert error.exit_code == code


def test_a_verification_error_names_where_and_survives_a_worker_process() -> None:
    err = VerificationError("practical-1, part 2, update 3", "loss is 0.5, expected 0.4")
    assert (
        str(err) == "verification failed: practical-1, part 2, update 3: loss is 0.5, expected 0.4"
    )
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is VerificationError
    assert (back.where, back.message, str(back)) == (err.where, err.message, str(err))
