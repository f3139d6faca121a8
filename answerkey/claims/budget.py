"""The time and size budget of one answer: what is too large to check.

A claim is text from anyone: `(x+1)^{100000}` or `x^{10^9}` would keep SymPy busy
for minutes or forever. So sizes are bounded before SymPy sees them (the length
of the text, every exponent, the number of terms an expansion could have) and the
whole check of one claim runs under a time limit; past any of these the claim is
"unreadable: too large to check" (exit 2), never a hang.

Time limits use SIGALRM (the main thread of a process: `answerkey check`, and each
worker of `answerkey grade`); they nest, an inner limit never outliving an outer,
and a timer someone else set before is restored on the way out with the time it
has left (it fires then if it ran out meanwhile).
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sympy as sp

from .reading import ClaimError

#: the longest claim read (characters)
MAX_CHARACTERS = 10_000
#: the largest exponent of a symbolic base (`(x+1)^{100}` is fine, `^{1000}` is not)
MAX_EXPONENT = 100
#: the most terms a claim's polynomial expansion may have (products of sums, powers)
MAX_TERMS = 100_000
#: seconds one claim may take, reading and judging together
CLAIM_SECONDS = 20.0


class TooLarge(ClaimError):
    """A claim past the budget: unreadable, "too large to check"."""


class OutOfTime(BaseException):
    """A time limit ran out (a BaseException: no `except Exception` on the way swallows it)."""


def too_large(what: str) -> TooLarge:
    return TooLarge(f"too large to check: {what}")


def check_text(text: str) -> None:
    if len(text) > MAX_CHARACTERS:
        raise too_large(f"{len(text)} characters (at most {MAX_CHARACTERS})")


def check_exponent(exponent: Any, where: str) -> None:
    """Refuse an exponent past `MAX_EXPONENT` (of a base that is not a plain number)."""
    try:
        value = abs(complex(exponent))
    except (TypeError, ValueError):
        return  # a symbolic exponent: sized by the judge's numbers, not expanded
    if not math.isfinite(value) or value > MAX_EXPONENT:
        raise too_large(f"{where}: an exponent of {exponent} (at most {MAX_EXPONENT})")


def terms(e: Any) -> int:
    """How many terms `e` could have multiplied out (an over-estimate, capped)."""
    if not isinstance(e, sp.Basic) or not e.args:
        return 1
    if isinstance(e, sp.Add | sp.MatAdd):
        return min(sum(terms(a) for a in e.args), MAX_TERMS + 1)
    if isinstance(e, sp.Mul | sp.MatMul | sp.HadamardProduct):
        out = 1
        for a in e.args:
            out = min(out * terms(a), MAX_TERMS + 1)
        return out
    if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp > 0:
        k, n = terms(e.base), int(e.exp)
        if k == 1:
            return 1
        return min(math.comb(n + k - 1, k - 1), MAX_TERMS + 1)
    # a function, a root, a transpose: its arguments are sized on their own
    return max((terms(a) for a in e.args), default=1)


def check_terms(e: Any) -> None:
    n = terms(e)
    if n > MAX_TERMS:
        raise too_large(f"multiplied out it has more than {MAX_TERMS} terms")


_DEADLINES: list[tuple[float, type[BaseException]]] = []
_PREVIOUS: list[Any] = []


def _usable() -> bool:
    return threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")


def remaining() -> float:
    """Seconds left before the nearest time limit (infinity without one)."""
    if not _DEADLINES:
        return math.inf
    return min(d for d, _ in _DEADLINES) - time.monotonic()


@contextmanager
def time_limit(seconds: float, error: type[BaseException] = OutOfTime) -> Iterator[None]:
    """Raise `error` in the block when it runs past `seconds` (or past an enclosing
    limit's end, with that limit's error). Main thread only; elsewhere no limit."""
    if not _usable():
        yield
        return
    if not _DEADLINES:  # the outermost: keep whatever timer was set before (and its time)
        outer_left = signal.getitimer(signal.ITIMER_REAL)[0]
        _PREVIOUS.append((signal.signal(signal.SIGALRM, _alarm), outer_left, time.monotonic()))
    _DEADLINES.append((time.monotonic() + seconds, error))
    _arm()
    try:
        yield
    finally:
        _DEADLINES.pop()
        if _DEADLINES:
            _arm()
        else:
            signal.setitimer(signal.ITIMER_REAL, 0)
            handler, outer_left, since = _PREVIOUS.pop()
            signal.signal(signal.SIGALRM, handler)
            if outer_left > 0:  # another user's timer: restored with the time it has left
                left = outer_left - (time.monotonic() - since)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6))


def _arm() -> None:
    signal.setitimer(signal.ITIMER_REAL, max(remaining(), 1e-4))


def _alarm(signum: int, frame: Any) -> None:
    now = time.monotonic()
    for deadline, error in _DEADLINES:  # the outermost limit that ran out
        if deadline <= now + 1e-3:
            raise error
    _arm()
