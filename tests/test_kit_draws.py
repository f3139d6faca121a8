"""kit.draws: seeded hand-workable numbers, and each criterion of a poor exercise fires
exactly when its condition holds (and says which unit, iteration or value)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from answerkey.kit import draws


def test_uniform_is_seeded_rounded_and_has_no_negative_zero() -> None:
    a = draws.uniform(np.random.default_rng(3), -0.01, 0.01, (40, 3), decimals=1)
    b = draws.uniform(np.random.default_rng(3), -0.01, 0.01, (40, 3), decimals=1)
    assert a == b and np.shape(a) == (40, 3)
    flat = [v for row in a for v in row]
    assert all(v == 0.0 and math.copysign(1.0, v) == 1.0 for v in flat)
    c = draws.uniform(np.random.default_rng(4), -1.0, 1.0, 50)
    assert all(-1.0 <= v <= 1.0 and round(v, 2) == v for v in c)
    assert all(isinstance(v, float) for v in c)


def test_pick_draws_every_option_from_the_generator() -> None:
    rng = np.random.default_rng(0)
    assert {draws.pick(rng, (0.1, 0.2, 0.5)) for _ in range(60)} == {0.1, 0.2, 0.5}
    assert draws.pick(np.random.default_rng(9), "abc") == draws.pick(
        np.random.default_rng(9), "abc"
    )


def test_inactive_units_names_each_unit_never_positive() -> None:
    pre = [[0.5, 0.0, -1.0], [-0.2, -0.1, -2.0]]
    assert draws.inactive_units(pre) == [
        "hidden unit 2 is inactive for every sample",
        "hidden unit 3 is inactive for every sample",
    ]
    assert draws.inactive_units([[0.1, -1.0], [-1.0, 1e-9]], "unit") == []


def test_not_falling_compares_each_iterations_sum_with_the_last() -> None:
    # iterations of two samples: sums 3, 2 (falls), 2 (does not), 2.5 (rises)
    losses = [1.0, 2.0, 1.5, 0.5, 1.0, 1.0, 2.0, 0.5]
    assert draws.not_falling(losses, 2) == [
        "the loss does not fall in iteration 3",
        "the loss does not fall in iteration 4",
    ]
    assert draws.not_falling([3.0, 2.0, 1.0], 1) == []
    assert draws.not_falling([1.0], 1) == []


def test_too_large_fires_at_the_limit_and_on_non_finite_values() -> None:
    rows = [{"a": [1.0, -9.99], "b": 0.0}]
    assert draws.too_large(rows, ["a", "b"], 10.0) == []
    assert draws.too_large([{"a": [1.0, -10.0]}], ["a"], 10.0) == [
        "a value explodes (|value| up to 10)"
    ]
    assert draws.too_large([{"a": math.nan}], ["a"], 10.0) != []
    assert draws.too_large([{"a": 1e9, "b": 0.0}], ["b"], 10.0) == []  # only `keys`


def test_on_kink_fires_only_closer_than_within() -> None:
    assert draws.on_kink([[0.3, -0.006], 0.5], 0.005, 4) == []
    assert draws.on_kink([[0.3, 0.2], -0.004], 0.005, 4) == [
        "a pre-activation sits on the ReLU kink (s = 0 to 4 decimals)"
    ]
    assert draws.on_kink([], 0.005, 4) == []


@pytest.mark.parametrize(("value", "bad"), [(0, True), (1, False), (4, False), (5, True)])
def test_index_problem_accepts_exactly_1_to_count(value: int, bad: bool) -> None:
    problems = draws.index_problem("h.k", value, 4, "class", "the number of scores")
    expected = f"h.k: expected a class between 1 and 4 (the number of scores), got {value}"
    assert problems == ([expected] if bad else [])


def test_bound_problem_computes_under_errstate_and_names_the_key() -> None:
    def exploding() -> list[dict[str, float]]:
        return [{"v": float(np.float64(1e300) * np.float64(1e300))}]  # overflow, no warning

    with np.errstate(all="raise"):
        (msg,) = draws.bound_problem("trace", exploding, ["v"], 1e6, "smaller numbers")
    assert msg == (
        "trace: these numbers make the trace's values grow to inf; keep every value "
        "below 1e+06 (smaller numbers)"
    )
    assert draws.bound_problem("t", lambda: [{"v": 1e6}], ["v"], 1e6, "x") == []
    assert draws.bound_problem("t", lambda: [{"v": -1.1e6}], ["v"], 1e6, "x") != []


def test_trace_constraints_refuse_what_a_student_cannot_work() -> None:
    from answerkey.terms import _apply_constraints

    rules = draws.trace_constraints("t", 3, 2)
    ok = {"t": {"learning_rate": 0.1, "iterations": 3, "samples": [1, 2]}}
    problems: list[str] = []
    _apply_constraints(ok, rules, "a", problems)
    assert problems == []
    for bad in ({"learning_rate": 0.0}, {"iterations": 4}, {"iterations": 0}, {"samples": []}):
        problems = []
        _apply_constraints({"t": ok["t"] | bad}, rules, "a", problems)
        assert len(problems) == 1 and f"t.{next(iter(bad))}" in problems[0], (bad, problems)
    problems = []
    _apply_constraints({"t": ok["t"] | {"samples": [1, 2, 3]}}, rules, "a", problems)
    assert len(problems) == 1


def test_shared_builds_once_per_distinct_numbers() -> None:
    calls: list[dict[str, Any]] = []

    @draws.shared
    def build(numbers: Mapping[str, Any]) -> list[float]:
        """A docstring kept."""
        calls.append(dict(numbers))
        return [numbers["a"]]

    first = build({"a": 1.0, "b": [2]})
    assert build({"b": [2], "a": 1.0}) is first  # the same numbers in another order
    assert build({"a": 1.5, "b": [2]}) == [1.5]
    assert len(calls) == 2 and build.__doc__ == "A docstring kept."


def test_same_numbers_takes_an_integer_for_its_float() -> None:
    assert draws.same_numbers({"y": 1, "x": [0.5]}, {"x": [0.5], "y": 1.0})
    assert not draws.same_numbers({"y": 1, "x": [0.5]}, {"x": [0.5], "y": -1.0})
    assert not draws.same_numbers({"x": [0.5, 0.5]}, {"x": [0.5]})


def test_the_learning_rates_are_few_positive_and_hand_friendly() -> None:
    assert all(0 < r <= 0.5 and round(r * 100) == r * 100 for r in draws.LEARNING_RATES)
    assert len(set(draws.LEARNING_RATES)) == len(draws.LEARNING_RATES) >= 3
