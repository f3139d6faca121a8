"""A printed number carries where it comes from: `given` by the statement or `computed` by
the engine, read-only, with its label; an entry keeps its origin."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from answerkey import mathfns, quantity
from answerkey.quantity import COMPUTED, GIVEN, Number, computed, corrupted, given


class Origin:
    name = "example"

    def value_of(self, key: str) -> float:
        return 1.5

    def check_of(self, key: str) -> str:
        return f"recomputed {key}"


def test_a_given_number_is_frozen_and_finite() -> None:
    n = given([[1.0, 2.0]], "W")
    assert n.source == GIVEN and n.label == "W" and n.check == ""
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(n.value)[0, 0] = 3.0
    with pytest.raises(ValueError, match="given number x is not finite"):
        given(float("inf"), "x")


def test_exact_writes_as_few_decimals_as_the_number_has() -> None:
    assert given(0.25, "m", exact=True).decimals == 2
    assert given(0.2, "m").decimals is None


def test_an_entry_keeps_the_origin_and_names_its_place() -> None:
    n = computed(Origin(), "o", [[0.5], [0.25]], "o")
    entry = n[1]
    assert (entry.value, entry.label, entry.index) == (0.25, "o[2]", (1,))
    assert entry.source == COMPUTED and entry.check == "recomputed o"


def test_corrupted_is_a_different_number_of_the_same_kind() -> None:
    n = given(0.5, "b")
    wrong = corrupted(n)
    assert wrong.value == 2.0 and wrong.label == "b" and wrong.source == GIVEN


def test_an_equation_with_a_number_on_a_side_is_a_pair() -> None:
    """`mathfns.eq` tells a printed number from an expression (the reason Number is below it)."""
    n = given(0.5, "b")
    assert mathfns.eq("b", n) == ("b", n)
    assert isinstance(n, Number) and quantity.Number is Number


@pytest.mark.parametrize(
    ("x", "decimals", "text"),
    [
        (4.53125, 4, "4.5313"),  # a tie: away from zero (Python's format: 4.5312)
        (-1.35625, 4, "-1.3563"),
        (0.1 * 1.5625, 4, "0.1563"),  # 0.15624999999999997: the tie it stands for
        (0.12344999, 4, "0.1234"),
        (0.125, 2, "0.13"),
        (-0.001, 2, "0.00"),  # never -0.00
        (2.5, 0, "3"),
    ],
)
def test_fixed_rounds_as_a_student_does_by_hand(x: float, decimals: int, text: str) -> None:
    assert quantity.fixed(x, decimals) == text


def test_half_a_unit_in_the_last_printed_place_is_what_rounds_to_the_print() -> None:
    assert str(quantity.half_unit(0.28176)) == "0.00005" == str(quantity.half_unit(0.0))
    assert str(quantity.half_unit(-12.5, 2)) == "0.005"
    # below 0.00005 the key prints 1.234 x 10^-7: half a unit of the mantissa's last digit
    assert quantity.half_unit(1.2344e-7) == Decimal("5E-11")
    assert quantity.positional(-0.14999999999999997) == "-0.15"
    assert quantity.positional(-0.0) == "0.0" and quantity.positional(1e-7) == "0.0000001"


def test_two_numbers_are_apart_when_no_number_rounds_to_the_print_of_both() -> None:
    assert quantity.apart(0.3, -0.3) and quantity.apart(0.3, 0.30011)
    assert not quantity.apart(0.3, 0.30004) and not quantity.apart(0.3, 0.3001)  # 0.30005
    assert not quantity.apart(0.00005, -0.00005)  # 0.0000 and -0.0000 share 0.0
    assert quantity.apart(0.00004, -0.00004)  # printed 4.000 x 10^-5 and -4.000 x 10^-5
    assert quantity.apart(1.0, 1.02, 1) is False and quantity.apart(1.0, 1.11, 1)


def test_plain_writes_a_vector_flat_and_a_matrix_nested_never_minus_zero() -> None:
    """answers.json's value: a column or a row as a flat list, a matrix (a 1 x 1 one too)
    as rows, a scalar as a float."""
    assert given([[1.0], [2.0]], "v").plain() == [1.0, 2.0]
    assert given([[1.0, 2.0]], "r").plain() == [1.0, 2.0]
    assert given([[1.0, 2.0], [3.0, 4.0]], "M").plain() == [[1.0, 2.0], [3.0, 4.0]]
    assert given([[5.0]], "m").plain() == [[5.0]]
    assert given(-0.0, "z").plain() == 0.0 and str(given([-0.0], "z").plain()) == "[0.0]"
