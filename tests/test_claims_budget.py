"""The budget of one answer: sizes bounded before SymPy sees them, and a time limit."""

from __future__ import annotations

import time

import pytest
from claims_common import SCALARS

from answerkey.claims import KeyAnswer, budget, check, parse_claim
from answerkey.claims.budget import OutOfTime, time_limit
from answerkey.claims.reading import ClaimError

KEY = KeyAnswer(SCALARS["W"] * SCALARS["x"], SCALARS)


@pytest.mark.parametrize(
    "latex",
    [
        r"(x+1)^{100000}",  # took 90 s
        r"(x+1)^{10^9}",  # ran until killed
        r"x^{1000.5}",
        r"(W x)^{-500}",
        r"(x+W+t+1)^{90}(x-W)^{90}",  # each power small, the product's expansion huge
        "x + " * 4000 + "x",  # the text itself
    ],
)
def test_answers_past_the_budget_are_too_large_to_check_at_once(latex: str) -> None:
    start = time.perf_counter()
    v = check(latex, KEY)
    assert v.status == "unreadable" and v.reason.startswith("too large to check"), v.lines()
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    "latex", [r"(x+W)^{30}(x-W)^{30} - (x^2-W^2)^{30}", r"(x+1)^{100}", r"2^{100} x", r"x^{-2}"]
)
def test_answers_within_the_budget_are_read(latex: str) -> None:
    parse_claim(latex, SCALARS)


def test_too_large_is_a_claim_error_exit_2() -> None:
    with pytest.raises(ClaimError) as info:
        parse_claim(r"(x+1)^{1000}", SCALARS)
    assert info.value.exit_code == 2 and "too large to check" in str(info.value)


def test_a_claim_past_its_time_is_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever is slow (here: everything, the limit being tiny), the check ends with
    "too large to check" instead of running on."""
    monkeypatch.setattr(budget, "CLAIM_SECONDS", 1e-3)
    v = check(r"\log(1 + e^{-Wx}) + (x+W)^{30}(x-W)^{30}", KEY)
    assert v.status == "unreadable" and "no verdict within" in v.reason


def test_time_limits_nest_and_the_outer_one_wins() -> None:
    """An inner limit (a symbolic proof's) neither extends nor cancels the outer one (the
    claim's), and the outer one's error is not swallowed by `except Exception`."""
    with pytest.raises(OutOfTime):
        with time_limit(0.2):
            try:
                with time_limit(10, ValueError):
                    while True:
                        pass
            except Exception:  # what a proof's catch-all does
                pytest.fail("the outer limit's error was caught as an Exception")
    assert budget.remaining() == float("inf")
    with time_limit(5):
        with time_limit(0.05, ValueError), pytest.raises(ValueError):
            while True:
                pass
        assert 4 < budget.remaining() <= 5


def test_another_users_timer_is_restored_with_the_time_it_has_left() -> None:
    import signal

    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 5.0)
        with time_limit(0.5):
            pass
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 4.0 < left <= 5.0 and signal.getsignal(signal.SIGALRM) is not None
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with time_limit(10):
            time.sleep(0.2)  # the other timer ran out meanwhile: it fires on the way out
        time.sleep(0.05)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
