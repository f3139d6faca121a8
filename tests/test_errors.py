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


def test_printable_escapes_what_a_terminal_would_obey() -> None:
    from answerkey.errors import printable

    assert printable("a\x1b[2J\x07b\u202ec\u200fd\x9b") == "a\\x1b[2J\\x07b\\u202ec\\u200fd\\x9b"
    assert printable("two\nlines, Ünïcode, 深度") == "two\nlines, Ünïcode, 深度"
    assert printable("a\nb", keep_newlines=False) == "a\\x0ab"


def test_environment_problems_have_their_own_exit_code() -> None:
    import errno
    import os

    from answerkey.errors import EnvironmentProblem, environment_problem

    problem = environment_problem(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "build/x"))
    assert isinstance(problem, EnvironmentProblem) and problem.exit_code == 3
    assert str(problem).startswith("build/x: No space left on device")
