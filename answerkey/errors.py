"""Errors the CLI reports as one clear line (and an exit code) instead of a traceback."""

from __future__ import annotations

import errno
import unicodedata


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


class AuthoringError(AnswerkeyError):
    """An exercise uses the kit or the engine against its contract (a derivation step of
    the wrong form, say): one line naming the place and what was expected. Exit 1."""

    exit_code = 1


class ModuleError(AnswerkeyError):
    """A solution module misbehaved: it cannot be imported, its build() raised, exited,
    ran past the time limit or returned something else than an Assignment. One line
    naming the module. Exit 1."""

    exit_code = 1


class RenderError(AnswerkeyError):
    """A template or the LaTeX/pandoc step failed."""

    exit_code = 1


class EnvironmentProblem(AnswerkeyError):
    """The machine, not the input: a read-only or full disk, a missing tool, a path the
    system refuses. Exit 3, so scripts can tell it from bad input (2)."""

    exit_code = 3


def printable(text: str, keep_newlines: bool = True) -> str:
    """`text` safe to write to a terminal: control, format (bidi) and unassigned
    characters shown as escapes (\\x1b, \\u200f), never written raw."""
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch)[0] == "C":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def environment_problem(exc: OSError) -> EnvironmentProblem:
    """An OSError as the one line the user reads: what failed, on which path, and why
    (read-only file system, no space left, name too long, not a directory, ...)."""
    reason = exc.strerror or type(exc).__name__
    path = exc.filename if exc.filename is not None else None
    where = f"{path}: " if path is not None else ""
    hint = {
        errno.ENOSPC: " (free some space, or build elsewhere with --out)",
        errno.EROFS: " (build elsewhere with --out)",
        errno.EACCES: " (build elsewhere with --out)",
        errno.ENAMETOOLONG: " (use a shorter term name or --out path)",
    }.get(exc.errno or 0, "")
    return EnvironmentProblem(f"{where}{reason}{hint}")
