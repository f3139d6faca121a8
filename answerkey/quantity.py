"""A printed number with where it comes from: `Number`, made by `given` or `computed`.

The lowest layer of the numbers a key prints (it needs only NumPy), so the maths
helpers (`answerkey.mathfns.eq`) and the printer can tell a printed number from
an expression without importing the audit (`answerkey.numbers`), which walks
keys and sits above them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

import numpy as np

GIVEN, COMPUTED = "given", "computed"
#: decimals a key prints a float with unless its part or the number says otherwise
#: (`answerkey.printing` prints with it; the ledger records it per number)
DECIMALS = 4


def fixed(x: float, decimals: int = DECIMALS) -> str:
    """`x` with `decimals` decimals as a student rounds it by hand, the one rounding rule
    of everything a key prints (text, tables, figures): a tie away from zero (4.53125 ->
    4.5313; Python's format rounds to even, 4.5312), taken at 12 significant digits so
    that float noise does not hide one (0.1 * 1.5625 is 0.15624999999999997 in floats,
    0.15625 here); never -0.0000."""
    exact = Decimal(format(x, ".12g"))
    s = format(exact.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP), "f")
    return s[1:] if s.startswith("-") and float(s) == 0 else s


#: significant digits a number is written with in an export (answers.json's readers,
#: quizzes): far below any printed precision, above a float's binary noise
SIGNIFICANT = 12


def positional(x: float) -> str:
    """`x` to `SIGNIFICANT` digits in positional notation (no exponent: Moodle's cloze
    syntax reads none); -0.0 as 0.0. Rounding to 12 digits drops the binary noise
    (-0.15, not -0.14999999999999997), far below any tolerance written."""
    x = float(f"{float(x):.{SIGNIFICANT}g}") + 0.0
    text = format(Decimal(repr(x)), "f")
    return text if "." in text else text + ".0"


def half_unit(x: float, decimals: int = DECIMALS) -> Decimal:
    """Half a unit in the last place the key prints `x` in with `decimals` decimals:
    every number within it rounds to the printed one. A non-zero number below 0.5 x
    10^-decimals prints in scientific notation with decimals - 1 decimals in the
    mantissa (`answerkey.printing.number`): half a unit in the mantissa's last place."""
    x = float(positional(x))
    if x != 0 and abs(x) < 0.5 * 10**-decimals:
        exponent = int(f"{x:.{decimals - 1}e}".split("e")[1])
        return Decimal(5).scaleb(exponent - decimals)
    return Decimal(5).scaleb(-(decimals + 1))


def apart(x: float, y: float, decimals: int = DECIMALS) -> bool:
    """Can a reader of the printed precision tell `x` from `y`: are the intervals of
    the numbers that round to each (`half_unit` either side) disjoint? (0.00005 and
    -0.00005 are not: -0.00004 rounds to either's print.)"""
    a, b = float(positional(x)), float(positional(y))
    return abs(a - b) > float(half_unit(a, decimals)) + float(half_unit(b, decimals))


class Origin(Protocol):
    """What the engine object behind a computed number offers (see `answerkey.worked`)."""

    name: str

    def value_of(self, key: str) -> Any: ...

    def check_of(self, key: str) -> str: ...


@dataclass(frozen=True, eq=False)
class Number:
    """A printed number or array with where it comes from.

    `value` is a float or a read-only NumPy array; `label` names it in the ledger
    and in messages; `source` is "given" or "computed"; a computed number has its
    engine `origin` and the `key` it has there (and `index` for one entry of an
    array). `decimals` overrides the printer's default (given numbers written as
    the statement writes them)."""

    value: Any
    label: str
    source: str
    origin: Any = None
    key: str = ""
    index: tuple[int, ...] = ()
    decimals: int | None = None
    stated_as: str = ""
    quoted: str = ""

    def __getitem__(self, i: int | tuple[int, ...]) -> Number:
        """One entry (a vector's entry i, or a matrix's (i, j)) as a number of the same origin."""
        idx = i if isinstance(i, tuple) else (i,)
        arr = np.asarray(self.value)
        if arr.ndim == 2 and len(idx) == 1 and 1 in arr.shape:
            arr = arr.reshape(-1)
        entry = float(arr[idx])
        where = ",".join(str(k + 1) for k in idx)
        return dataclasses.replace(
            self, value=entry, label=f"{self.label}[{where}]", index=self.index + idx
        )

    def written(self, decimals: int | None) -> Number:
        """The same number printed with `decimals` decimals (None: the printer's default)."""
        return dataclasses.replace(self, decimals=decimals)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.array(self.value, dtype=dtype)

    def __float__(self) -> float:
        return float(np.asarray(self.value).reshape(-1)[0]) if self.size == 1 else float("nan")

    @property
    def size(self) -> int:
        return int(np.asarray(self.value).size)

    @property
    def check(self) -> str:
        """What verified it (empty for a given number)."""
        if self.source == GIVEN or self.origin is None:
            return ""
        return str(self.origin.check_of(self.key))

    def plain(self) -> Any:
        """The value as JSON writes it: a float or (nested) lists, vectors flat; never -0.0
        (the key prints 0.0000, and a reader of the JSON should not see a sign)."""
        arr = np.asarray(self.value, dtype=float) + 0.0  # -0.0 + 0.0 is 0.0
        if arr.ndim == 2 and 1 in arr.shape and arr.size > 1:
            arr = arr.reshape(-1)
        return arr.tolist() if arr.ndim else float(arr)


def _frozen(value: Any) -> Any:
    if isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool):
        return float(value)
    arr = np.array(value, dtype=float)
    arr.setflags(write=False)
    return arr


def given(
    value: Any,
    label: str,
    decimals: int | None = None,
    exact: bool = False,
    stated_as: str = "",
    quoted: str = "",
) -> Number:
    """A number of the statement (a term parameter or a constant of the exercise).

    `value` is a number or an array (nested lists); `label` names it in answers.json and
    in messages. A value given as an integer (``2``, ``[0, 1, 0]``) prints as one;
    `decimals` fixes the decimals printed; `exact` writes it with as few decimals as it
    has (0.2, not 0.2000), else the part's (4 by default). A worked example or trace
    computed from a given number must print it; `stated_as` says how the key states it
    otherwise (a one-hot target as "the true class y"). A given number never stands
    beside a quantity the engine computes, unless it is `quoted` from another source
    (``quoted="the earlier published solution"``: an erratum's wrong value)."""
    if isinstance(value, Number):
        return dataclasses.replace(value, stated_as=stated_as) if stated_as else value
    frozen = _frozen(value)
    if not np.all(np.isfinite(frozen)):
        raise ValueError(f"given number {label} is not finite")
    if decimals is None and _is_integer(value):
        decimals = 0  # given as an integer (a class, a count, a one-hot target): printed as one
    elif exact:
        decimals = _decimals_needed(frozen)
    return Number(frozen, label, GIVEN, decimals=decimals, stated_as=stated_as, quoted=quoted)


def _is_integer(value: Any) -> bool:
    """Was `value` given as an integer (a Python or NumPy int, or an array of them)?"""
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | np.integer):
        return True
    try:
        return np.asarray(value).dtype.kind in "iu"
    except (TypeError, ValueError):
        return False


def computed(origin: Origin, key: str, value: Any, label: str) -> Number:
    """A number the engine computed (only `answerkey.worked` makes these)."""
    return Number(_frozen(value), label, COMPUTED, origin=origin, key=key)


def _decimals_needed(value: Any) -> int:
    for d in range(1, 10):
        if np.all(np.round(np.asarray(value, dtype=float), d) == value):
            return d
    return 10


def corrupted(n: Number) -> Number:
    """A wrong number of the same kind (2·value + 1), for the stated-answer mutation."""
    return dataclasses.replace(n, value=_frozen(2 * np.asarray(n.value) + 1))
