"""Every decimal a key prints before its errata is a given or engine-computed number of the
ledger (answers.json `numbers`), at the printed precision; bare numbers are refused."""

from __future__ import annotations

import re

import numpy as np
import pytest

from answerkey import numbers, render
from answerkey.errors import VerificationError
from answerkey.model import Assignment, Exercise, Part, text
from answerkey.verify import verify_assignment

DECIMAL = re.compile(r"(?<![\w.])(-?\d+\.(\d+))(?: \\times 10\^\{(-?\d+)\})?")


def printed_decimals(md: str) -> list[tuple[float, int]]:
    """Each decimal of the Markdown before the errata: its value and how many decimals
    it is written with (scientific notation: its exponent counts)."""
    body = md.split("## Errata to the earlier published solution")[0]
    out = []
    for m in DECIMAL.finditer(body):
        value, decimals, exponent = float(m.group(1)), len(m.group(2)), m.group(3)
        if exponent is not None:
            value *= 10 ** int(exponent)
            decimals -= int(exponent)
        out.append((value, decimals))
    return out


def ledger_values(ledger: list[dict]) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(e["value"], dtype=float)) for e in ledger])


def assert_ledger_covers(a: Assignment) -> int:
    verify_assignment(a, reuse=True)
    md = render.render(a, "md", "key", render.Meta())
    ledger = numbers.ledger(a)
    values = ledger_values(ledger) if ledger else np.zeros(0)
    found = printed_decimals(md)
    for value, decimals in found:
        close = np.abs(values - value) <= 0.5 * 10.0**-decimals * (1 + 1e-9)
        assert close.any(), f"{a.id}: {value} (to {decimals} decimals) is not in the ledger"
    return len(found)


@pytest.mark.parametrize("module", ["practical_1", "cv_assignment9"])
def test_every_printed_decimal_is_in_the_ledger(module: str) -> None:
    import importlib

    m = importlib.import_module(f"solutions.{module}")
    n = assert_ledger_covers(m.build(m.PARAMETERS))
    if module == "practical_1":
        assert n > 300


def assert_ledger_says_how_printed(a: Assignment) -> int:
    """Each scalar of the ledger is printed in the key with the `decimals` its entry
    says, and its `where` names a place of the key (what a quiz's tolerance and its
    choice of answers rely on). Returns the scalars checked."""
    from answerkey import printing

    verify_assignment(a, reuse=True)
    md = render.render(a, "md", "key", render.Meta())
    places = {pl.where for pl, _ in numbers.printed(a)}
    checked = 0
    for e in numbers.ledger(a):
        assert e["where"] in places, e
        if isinstance(e["value"], float):
            shown = printing.number(e["value"], e["decimals"])
            assert shown in md, f"{a.id}: {e['label']} is not printed as {shown}"
            checked += 1
    return checked


def test_the_ledger_says_where_and_to_how_many_decimals_each_number_is_printed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from solutions import practical_1 as p1

    a = p1.build(p1.PARAMETERS)
    assert assert_ledger_says_how_printed(a) > 50
    honest = numbers.ledger
    for wrong in ({"decimals": 3}, {"where": "block 99, line x"}):
        monkeypatch.setattr(numbers, "ledger", lambda a, w=wrong: [{**e, **w} for e in honest(a)])
        with pytest.raises(AssertionError):
            assert_ledger_says_how_printed(a)


def test_the_parser_reads_what_the_printer_writes() -> None:
    assert printed_decimals(r"$0.4063$ and $-1.2340 \times 10^{-5}$ 2-3-1 x_1") == [
        (0.4063, 4),
        (-1.234e-5, 9),
    ]


def test_the_ledger_test_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop the ledger's entries of one label and the printed decimals are no longer covered."""
    from solutions import practical_1 as p1

    honest = numbers.ledger

    def short(a: Assignment) -> list[dict]:
        return [e for e in honest(a) if not e["label"].endswith(": L")]

    monkeypatch.setattr(numbers, "ledger", short)
    with pytest.raises(AssertionError, match="is not in the ledger"):
        assert_ledger_covers(p1.build(p1.PARAMETERS))


def test_a_bare_number_in_an_introduction_is_refused_at_render() -> None:
    part = Part("1", "p", [text("Nothing here.")])
    a = Assignment("a", "t", [Exercise("1", "", [text("x =", 0.5)], [part])])
    with pytest.raises(VerificationError, match="a, exercise 1, introduction 1: shows the bare"):
        render.render(a, "md", "key", render.Meta())


def test_given_numbers_print_as_the_statement_writes_them() -> None:
    from answerkey.printing import latex

    assert latex(numbers.given(0.2, "m", exact=True)) == "0.2"
    assert latex(numbers.given(0.2, "m")) == "0.2000"
    assert (
        latex(numbers.given([[1.0], [2.5]], "v", exact=True))
        == r"\begin{bmatrix}1.0 & 2.5\end{bmatrix}^{T}"  # a column, as a transposed row
    )
    with pytest.raises(ValueError, match="not finite"):
        numbers.given(float("nan"), "x")


#: numbers typed into a string, in the forms people type them, and integers the model
#: contradicts: each is refused wherever the key prints it (issue 20.2)
TYPED = {
    "0,1010": "the number '0,1010' written into its text",
    ".10": "the number '.10' written into its text",
    "84 %": "the number '84 %' written into its text",
    "1/6": "the number '1/6' written into its text",
    "the true class 3": "'true class 3' but the target's class is 2",
    "two SGD steps": "'two SGD steps' but the part's worked objects have updates 1",
    "update 4": "'update 4' but the part's trace has 1 updates",
    "7 hidden units": "'7 hidden units' but the part's worked objects have sizes 1 or 2 or 3",
    "with 42 of them": "the integer '42' typed into its text",
}


@pytest.mark.parametrize("typed", list(TYPED))
def test_a_number_typed_in_any_form_is_refused(typed: str) -> None:
    from tests.exercises import softmax_ce as ce

    a = ce.build()
    part = a.parts()[0]
    part.remarks = [*part.remarks, text(f"Note {typed}.")]
    with pytest.raises(VerificationError, match=re.escape(TYPED[typed])):
        numbers.audit(a)


@pytest.mark.parametrize(
    "words",
    [("the true class", numbers.given(3, "y")), ("class", numbers.given(3, "true class"))],
)
def test_a_given_true_class_the_one_hot_target_contradicts_is_refused(words: tuple) -> None:
    """A true class printed as a given number (after the words "true class", or labelled
    so) is read as the text it prints and checked against the one-hot targets like a typed
    one: the key must not say "true class 3" beside t = (0, 1, 0) (it did)."""
    from tests.exercises import softmax_ce as ce

    a = ce.build()
    part = a.parts()[0]
    part.remarks = [*part.remarks, text(*words, ".")]
    with pytest.raises(
        VerificationError, match=r"shows 'true class 3' but the target's class is 2"
    ):
        numbers.audit(a)
    part.remarks = [*part.remarks[:-1], text(words[0], numbers.given(2, words[1].label), ".")]
    numbers.audit(a)


def test_a_number_in_a_title_is_seen() -> None:
    from tests.exercises import softmax_ce as ce

    a = ce.build()
    a.parts()[0].title = "a step at rate 0.05"
    with pytest.raises(VerificationError, match=r"part 2, title: shows the number '0.05'"):
        numbers.audit(a)
    a = ce.build()
    a.exercises[0].title = "two SGD steps"
    with pytest.raises(VerificationError, match=r"exercise 1 title: shows 'two SGD steps'"):
        numbers.audit(a)


def test_integers_the_model_confirms_or_that_index_the_key_are_allowed() -> None:
    from tests.exercises import softmax_ce as ce

    a = ce.build()
    part = a.parts()[0]
    fine = "one SGD step for the true class 2 with 3 classes and 2 inputs, as in part 2 on a "
    part.remarks = [*part.remarks, text(fine + "2-3-2-1 network, sample 1, class 3; 0 or 1.")]
    numbers.audit(a)


def test_typed_integers_in_the_exercises_are_the_allowed_kinds() -> None:
    """Every module in solutions/ passes the rule at its numbers (measured: see README)."""
    import importlib
    import pkgutil

    import solutions

    for info in pkgutil.iter_modules(solutions.__path__):
        if not info.name.startswith("_"):
            m = importlib.import_module(f"solutions.{info.name}")
            if hasattr(m, "ID"):
                numbers.check_typed_integers(m.build(m.PARAMETERS))


def test_a_bare_number_in_a_table_cells_text_is_refused() -> None:
    from answerkey.model import Table

    table = Table(("quantity", "value"), (("the rate", text("about", 0.5)),))
    part = Part("t", "p", [text("Q.")], tables=[table])
    a = Assignment("a", "t", [Exercise("1", "", [], [part])])
    with pytest.raises(VerificationError, match=r"part t, table 1, row 1, column 2: .* 0\.5"):
        numbers.audit(a)


def test_derivations_of_the_same_quantity_are_named_by_their_number() -> None:
    import sympy as sp

    from answerkey.mathfns import D
    from answerkey.model import Derivation

    f, x, y = sp.symbols("f x y")
    by_x, by_y = (Derivation(D(f, v), (), ()) for v in (x, y))
    assert numbers.derivation_labels(Part("p", "t", [], [by_x])) == [""]
    labels = numbers.derivation_labels(Part("p", "t", [], [by_x, by_y, by_x]))
    assert labels[0].startswith("derivation 1 (of ") and labels[2].startswith("derivation 3 (of ")
    assert labels[1].startswith("derivation of ")


def test_a_column_headed_by_an_entry_holds_entries_of_that_quantity() -> None:
    """A column headed p_j holds entries of p: p's entries pass, z's are refused."""
    import sympy as sp

    from answerkey.model import Table
    from tests.exercises import softmax_ce as ce

    a = ce.build()
    part = a.parts()[0]
    ex = part.numeric_checks[0]
    p_j = sp.Indexed(sp.IndexedBase("p"), sp.Symbol("j"))
    for q, ok in ((ce.p, True), (ce.z, False)):
        rows = tuple((k + 1, ex[q][k]) for k in range(3))
        part.tables = [Table(("class", p_j), rows)]
        if ok:
            numbers.check_statements(a.id, part)
        else:
            with pytest.raises(VerificationError, match=r"the column p\[j\] holds entries of p"):
                numbers.check_statements(a.id, part)


def _intro(*items: object) -> Assignment:
    return Assignment(
        "a", "t", [Exercise("1", "", [text("Here", *items, ".")], [Part("p", "t", [])])]
    )


def test_integers_of_notation_stand_in_maths_and_a_typed_value_is_refused() -> None:
    import sympy as sp

    from answerkey import relations
    from answerkey.mathfns import eq

    i, y, eta, E = sp.symbols("i y eta E")
    x = sp.IndexedBase("x")
    notation = [
        relations.definition(E, sp.Sum(x[i] ** 2, (i, 1, 4)) / 2),  # limits, a square, a half
        relations.definition(E, 2 * x[3] + y**3),  # a coefficient, an index, an exponent
        eq(eta, 0),
    ]
    for item in notation:
        numbers.check_typed_integers(_intro(item))
    for typed, shown in [
        (eq(eta, 3), "eta = 3"),
        (relations.definition(sp.Symbol("N"), 5), "N = 5"),
        (relations.assumption(eta, sp.Rational(1, 2)), "eta = 1/2"),
        ((eta, sp.Integer(7)), "eta = 7"),
    ]:
        with pytest.raises(VerificationError) as err:
            numbers.check_typed_integers(_intro(typed))
        assert f"the value {shown} typed into its maths (write worked.given(" in err.value.message


def test_a_typed_size_the_models_have_is_allowed_in_maths() -> None:
    import sympy as sp

    from answerkey.mathfns import eq
    from answerkey.model import Derivation, Instance, Step

    n, w = sp.symbols("n w")
    inst = Instance(sizes={n: 3}, defs={w: n})
    d = Derivation(w, (Step(n, text("")),), (inst,))
    a = Assignment(
        "a", "t", [Exercise("1", "", [text("At", eq(n, 3), ".")], [Part("p", "t", [], [d])])]
    )
    numbers.check_typed_integers(a)
    a.exercises[0].intro = [text("At", eq(n, 4), ".")]
    with pytest.raises(VerificationError, match="the value n = 4 typed into its maths"):
        numbers.check_typed_integers(a)
