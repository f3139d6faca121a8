"""Running an exercise's own code (its import, its ``build()``, its ``draw()``) so that
whatever it does ends as one line naming the module, never as the tool's own outcome.

Code in `solutions/` is the author's: it may call ``sys.exit(0)`` (which would make
``answerkey check ... --answer x`` exit 0, "correct"), raise anything, recurse without
end, loop forever at import, or return something that is not an `Assignment`.
`guarded` turns each of these into a `ModuleError` (exit 1) that names the module and
what it was doing, and stops code that runs past the time limit
(``$ANSWERKEY_MODULE_SECONDS``, default `DEFAULT_SECONDS`; main thread only, where
the limit is a SIGALRM timer that nests with any other).

An `AnswerkeyError` the code raises (an `AuthoringError` from the kit, say) is
already one clear line and passes through, with the author's line that led to it added
(`author_line`); so does Ctrl-C.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import AnswerkeyError, AuthoringError, ModuleError, UsageError

__all__ = [
    "DEFAULT_SECONDS",
    "TIME_VARIABLE",
    "author_line",
    "caller_line",
    "deadline",
    "guarded",
    "time_limit",
]

_ENGINE = Path(__file__).resolve().parent
_INSTALLED = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}

#: seconds a module's import, or one call of its build(), may take by default
DEFAULT_SECONDS = 120.0
#: the environment variable that sets another limit (seconds; 0 for none)
TIME_VARIABLE = "ANSWERKEY_MODULE_SECONDS"


class TimeUp(BaseException):
    """Raised by `deadline` when its time is up (a BaseException, so that a module's
    own ``except Exception`` does not swallow it)."""


def time_limit() -> float:
    """The limit on a module's import and build(), in seconds (0: none)."""
    text = os.environ.get(TIME_VARIABLE, "").strip()
    if not text:
        return DEFAULT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"${TIME_VARIABLE} must be a number of seconds >= 0, got {text!r}")
    return seconds


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise `TimeUp` in the enclosed code once `seconds` have passed (0: no limit).

    A SIGALRM timer, so only in the main thread (elsewhere: no limit). An enclosing
    timer (another `deadline`, or any other user of SIGALRM) is restored on the way
    out, with the time it has left; if it ran out meanwhile it fires at once."""
    if (
        seconds <= 0
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    start = time.monotonic()

    def stop(signum: int, frame: Any) -> None:
        raise TimeUp

    previous = signal.signal(signal.SIGALRM, stop)
    limit = min(seconds, outer_left) if outer_left > 0 else seconds
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left > 0:
            left = outer_left - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6))


def author_line(exc: BaseException) -> str | None:
    """Where in the author's code `exc` arose: the innermost frame of its traceback that is
    neither the engine's nor an installed library's, as ``path:line``, e.g.
    ``solutions/m.py:57`` (relative to the working directory when below it, else from
    the ``solutions`` folder the module lives in); None if there is none."""
    return _authors(reversed(traceback.extract_tb(exc.__traceback__)))


def caller_line() -> str | None:
    """The author's line that is running now (as `author_line` names it): where the kit or
    the engine was called from, e.g. the line that wrote a definition."""
    frames = traceback.StackSummary.extract(traceback.walk_stack(None), lookup_lines=False)
    return _authors(iter(frames))


def _authors(frames: Iterator[traceback.FrameSummary]) -> str | None:
    """The first of `frames` (innermost first) in the author's code, as ``path:line``."""
    here = Path.cwd().resolve()
    for frame in frames:
        if frame.filename.startswith("<"):
            continue
        path = Path(frame.filename).resolve()
        if path.is_relative_to(_ENGINE) or any(path.is_relative_to(p) for p in _INSTALLED):
            continue
        if path.is_relative_to(here):
            path = path.relative_to(here)
        elif "solutions" in path.parts[:-1]:
            last = len(path.parts) - 1 - path.parts[::-1].index("solutions")
            path = Path(*path.parts[last:])
        return f"{path.as_posix()}:{frame.lineno}"
    return None


@contextlib.contextmanager
def guarded(where: str, doing: str, seconds: float | None = None) -> Iterator[None]:
    """Run a module's code: anything but a clean return or an `AnswerkeyError` becomes
    one `ModuleError` "<where>: <doing> ...", e.g. "solutions/m.py: import called
    sys.exit(0)". `seconds`: the time limit (default: `time_limit()`)."""
    limit = time_limit() if seconds is None else seconds
    try:
        with deadline(limit):
            yield
    except KeyboardInterrupt:
        raise
    except AuthoringError as exc:
        at = author_line(exc)
        if at is None or at in str(exc):
            raise
        raise AuthoringError(f"{exc} (at {at})") from exc
    except AnswerkeyError:
        raise
    except TimeUp:
        raise ModuleError(
            f"{where}: {doing} did not finish within {limit:g} s "
            f"(a loop without end? ${TIME_VARIABLE} sets the limit)"
        ) from None
    except SystemExit as exc:
        raise ModuleError(
            f"{where}: {doing} called sys.exit({exc.code!r}); a solution module must not exit"
        ) from None
    except RecursionError:
        raise ModuleError(f"{where}: {doing} recursed too deeply (RecursionError)") from None
    except MemoryError:
        raise ModuleError(f"{where}: {doing} ran out of memory") from None
    except BaseException as exc:
        at = author_line(exc)
        message = f"{where}: {doing} failed: {type(exc).__name__}: {exc}"
        raise ModuleError(f"{message} (at {at})" if at else message) from exc
