"""Fresh numbers for per-student variants, and what makes them a poor exercise.

An assignment that varies has ``draw(rng)``, ``instructive(params)`` and, for a term's
own numbers, ``validate(params)`` (see `answerkey.terms`). These helpers are the
pieces most such functions need:

* `uniform` and `pick`: seeded numbers a student can work by hand (few decimals,
  no negative zero), and one of a few friendly values (`LEARNING_RATES`, say);
* the criteria `inactive_units`, `not_falling`, `too_large` and `on_kink`: each a
  list of reasons (empty when the numbers are fine), so ``instructive`` is their sum;
* `index_problem` and `bound_problem`: a `validate` message for a 1-based index out
  of range, and for a computation whose values grow past a bound;
* `trace_constraints`: the term constraints of an optimizer trace worked by hand;
* `shared`: an exercise built once for all variants that share its numbers, and
  `same_numbers`, whether a term's numbers are some given ones (an earlier solution's).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from ..model import counted
from ..terms import Rule, at_least, at_most, at_most_items, integer, non_empty, positive, rounded
from .traces import largest

R = TypeVar("R")
#: learning rates a student can multiply by in their head
LEARNING_RATES = (0.1, 0.2, 0.25, 0.3, 0.4, 0.5)


def uniform(
    rng: np.random.Generator,
    low: float,
    high: float,
    size: int | tuple[int, ...],
    decimals: int = 2,
) -> Any:
    """Numbers drawn uniformly from [low, high), rounded to `decimals`, as plain lists."""
    return rounded(rng.uniform(low, high, size=size), decimals)


def pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    """One of `options`, each equally likely."""
    return options[int(rng.integers(len(options)))]


def inactive_units(pre_activations: Any, unit: str = "hidden unit") -> list[str]:
    """Units (columns of `pre_activations`, one row per sample) that are never positive:
    "hidden unit 2 is inactive for every sample" (a dead ReLU teaches nothing)."""
    values = np.asarray(pre_activations, dtype=float)
    return [
        f"{unit} {j + 1} is inactive for every sample"
        for j in range(values.shape[1])
        if not (values[:, j] > 0).any()
    ]


def not_falling(losses: Sequence[float], per: int) -> list[str]:
    """The iterations (groups of `per` consecutive losses) whose summed loss does not fall
    below the previous iteration's: "the loss does not fall in iteration 3"."""
    totals = [sum(losses[i : i + per]) for i in range(0, len(losses), per)]
    return [
        f"the loss does not fall in iteration {i + 1}"
        for i in range(1, len(totals))
        if not totals[i] < totals[i - 1]
    ]


def too_large(rows: Iterable[Mapping[str, Any]], keys: Sequence[str], limit: float) -> list[str]:
    """A reason when a value under `keys` in `rows` reaches `limit` in size or is not finite."""
    biggest = largest(rows, keys)
    if not np.isfinite(biggest) or biggest >= limit:
        return [f"a value explodes (|value| up to {biggest:.3g})"]
    return []


def on_kink(values: Iterable[Any], within: float, decimals: int) -> list[str]:
    """A reason when a pre-activation among `values` is closer than `within` to a ReLU's
    kink at 0, where a printed number (to `decimals`) hides which side it is on."""
    smallest = min((float(np.min(np.abs(np.asarray(v, dtype=float)))) for v in values), default=1)
    if smallest < within:
        return [f"a pre-activation sits on the ReLU kink (s = 0 to {counted(decimals, 'decimal')})"]
    return []


def index_problem(key: str, value: int, count: int, noun: str, of: str) -> list[str]:
    """A `validate` message when the 1-based `value` at `key` is not one of `count` things:
    "hinge.true_class: expected a class between 1 and 4 (the number of scores), got 5"."""
    if 1 <= value <= count:
        return []
    return [f"{key}: expected a {noun} between 1 and {count} ({of}), got {value}"]


def bound_problem(
    key: str,
    compute: Callable[[], Iterable[Mapping[str, Any]]],
    keys: Sequence[str],
    bound: float,
    advice: str,
) -> list[str]:
    """A `validate` message when a value under `keys` in the rows `compute()` gives (from
    the term's numbers at `key`, overflow allowed) is not finite or exceeds `bound`, so
    verification never meets an overflow; `advice` says what to make smaller."""
    with np.errstate(all="ignore"):
        biggest = largest(compute(), keys)
    if np.isfinite(biggest) and biggest <= bound:
        return []
    return [
        f"{key}: these numbers make the {key}'s values grow to {biggest:.3g}; keep every "
        f"value below {bound:g} ({advice})"
    ]


def trace_constraints(
    key: str, max_iterations: int, max_samples: int
) -> dict[str, Rule | list[Rule]]:
    """Constraints for a trace's numbers at `key` (``learning_rate``, ``iterations``,
    ``samples``): a positive rate, 1 to `max_iterations` passes over 1 to `max_samples`
    samples (what a student works by hand)."""
    return {
        f"{key}.learning_rate": positive(),
        f"{key}.iterations": [integer(), at_least(1), at_most(max_iterations)],
        f"{key}.samples": [non_empty(), at_most_items(max_samples)],
    }


def _json(numbers: Any) -> str:
    return json.dumps(numbers, sort_keys=True)


def shared(build: Callable[[Mapping[str, Any]], R]) -> Callable[[Mapping[str, Any]], R]:
    """`build` (an exercise from part of the numbers, which variants do not redraw)
    computed once per distinct numbers in a process, every variant sharing the result."""
    once = functools.cache(lambda numbers: build(json.loads(numbers)))

    @functools.wraps(build)
    def built(numbers: Mapping[str, Any]) -> R:
        return once(_json(numbers))

    return built


def same_numbers(a: Any, b: Any) -> bool:
    """Whether two sets of term numbers are equal, an integer equal to its float (1, 1.0)."""
    return bool(json.loads(_json(a), parse_int=float) == json.loads(_json(b), parse_int=float))
