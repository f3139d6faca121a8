"""Errors the CLI reports as one clear line (and an exit code) instead of a traceback."""

from __future__ import annotations


class AnswerkeyError(Exception):
    """Base class: the message is what the user reads."""

    exit_code = 1


class UsageError(AnswerkeyError):
    """Bad command-line input or a bad term file: exit 2."""

    exit_code = 2


class VerificationError(AnswerkeyError):
    """A derivation step, final answer or trace value failed a check: nothing is written."""

    exit_code = 1

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"verification failed: {where}: {message}")
        self.where = where
        self.message = message

    def __reduce__(self) -> tuple[type[VerificationError], tuple[str, str]]:
        # Picklable, so a failure in a build worker process reaches the CLI intact.
        return (type(self), (self.where, self.message))


class RenderError(AnswerkeyError):
    """A template or the LaTeX/pandoc step failed."""

    exit_code = 1
