"""The verifier: true steps pass, corrupted ones are refused with assignment, part and step.

The mutation tests take cv-assignment9's real parts, corrupt one step the way a
tired author would (a flipped sign, a dropped factor, a transposed matrix, a
product in the wrong order, a wrong final answer) and require `verify_part` to
refuse it with a `VerificationError` that says where.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy as sp

import solutions.cv_assignment9 as cv
from answerkey import numbers
from answerkey.errors import VerificationError
from answerkey.mathfns import D, T, diag, hadamard_ones_minus, mm, sigmoid
from answerkey.model import (
    Assignment,
    CheckRecord,
    Derivation,
    Exercise,
    Instance,
    Part,
    Step,
    text,
)
from answerkey.verify import verify_assignment, verify_derivation, verify_part

x, y, u, a = sp.symbols("x y u a", real=True)
f = sp.Symbol("f")
n = sp.Symbol("n", integer=True, positive=True)
A = sp.MatrixSymbol("A", n, n)
v = sp.MatrixSymbol("v", n, 1)
w = sp.MatrixSymbol("w", n, 1)


def step(expr: Any, reason: str = "because") -> Step:
    return Step(expr, text(reason))


def part_of(*derivations: Derivation, pid: str = "q") -> Part:
    return Part(pid, "a test part", [text("Question.")], list(derivations))


def rng() -> np.random.Generator:
    return np.random.default_rng(1)


# --- true steps pass --------------------------------------------------------------


def test_a_true_scalar_derivation_is_checked_three_ways() -> None:
    d = Derivation(
        D(f, x),
        (step(2 * x * sp.exp(x**2)), step(2 * x * sp.exp(x) ** 0 * sp.exp(x**2))),
        (Instance(defs={f: sp.exp(x**2)}, label="scalar"),),
    )
    records = verify_part("demo", part_of(d))
    kinds = [r.kind for r in records]
    assert kinds.count("numeric") == 2
    assert kinds.count("symbolic") == 2
    assert kinds.count("finite-difference") == 1
    assert records[0].subject == "step 1 (scalar)"
    assert "the quantity derived" in records[0].detail
    assert "step 1" in records[2].detail  # step 2 is compared with step 1


def test_a_true_matrix_gradient_is_checked_at_a_concrete_size() -> None:
    # d(v^T A w)/dv = (A w)^T = w^T A^T, a row vector in the course's layout.
    e = sp.Symbol("e")
    d = Derivation(
        D(e, v),
        (step(T(mm(A, w))), step(mm(T(w), T(A)))),
        (Instance(sizes={n: 3}, defs={e: mm(T(v), A, w)}, label="n = 3"),),
    )
    records = verify_part("demo", part_of(d))
    assert {r.kind for r in records} == {"numeric", "symbolic", "finite-difference"}
    assert all("(n = 3)" in r.subject for r in records if r.kind != "finite-difference")


def test_verify_assignment_fills_every_parts_checks_and_counts_them() -> None:
    d1 = Derivation(D(f, x), (step(3 * x**2),), (Instance(defs={f: x**3}),))
    d2 = Derivation(D(f, y), (step(sp.cos(y)),), (Instance(defs={f: sp.sin(y)}),))
    p1, p2 = part_of(d1, pid="1"), part_of(d2, pid="2")
    assignment = Assignment("demo", "Demo", [Exercise("1", "E", [], [p1, p2])])
    total = verify_assignment(assignment)
    assert p1.checks and p2.checks
    assert total == len(p1.checks) + len(p2.checks) == assignment.check_count()


def test_the_same_seed_gives_the_same_records_and_a_different_seed_other_points() -> None:
    wrong = Derivation(D(f, x), (step(2 * x + 1),), (Instance(defs={f: x**2}),))
    messages = []
    for seed in (0, 0, 1):
        with pytest.raises(VerificationError) as err:
            verify_part("demo", part_of(wrong), seed=seed)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert messages[0] != messages[2]


def test_numeric_checks_contribute_records_and_an_assertion_becomes_a_refusal() -> None:
    from answerkey.model import CheckRecord

    ok = Part("n", "numbers", [], numeric_checks=[lambda: [CheckRecord("numeric", "x", "ok")]])
    assert [r.detail for r in verify_part("demo", ok)] == ["ok"]

    def failing() -> list[CheckRecord]:
        raise AssertionError("w1 after step 3 is 0.25, expected 0.5")

    bad = Part("n2", "numbers", [], numeric_checks=[failing])
    with pytest.raises(VerificationError, match=r"demo, part n2: w1 after step 3 is 0\.25"):
        verify_part("demo", bad)


def test_a_part_whose_checks_record_nothing_is_refused() -> None:
    silent = Part("s", "silent", [], numeric_checks=[lambda: []])
    with pytest.raises(VerificationError, match="part s: no check ran"):
        verify_part("demo", silent)


def test_a_part_with_nothing_to_check_passes_with_no_records() -> None:
    assert verify_part("demo", Part("p", "prose only", [text("Discuss.")])) == []


def test_a_stated_answer_no_check_reads_is_refused() -> None:
    from answerkey.model import CheckRecord

    ignores = Part(
        "a",
        "stated",
        [],
        answer=sp.Rational(1, 2),
        numeric_checks=[lambda: [CheckRecord("n", "x", "ok")]],
    )
    with pytest.raises(VerificationError, match="part a: its stated answer is not checked"):
        verify_part("demo", ignores)
    unchecked = Part("b", "stated, nothing checks it", [], answer=numbers.given(0.5, "b"))
    with pytest.raises(VerificationError, match="part b: its stated answer is not checked"):
        verify_part("demo", unchecked)


def test_a_stated_answer_a_check_reads_passes_and_the_test_is_recorded() -> None:
    from answerkey.model import CheckRecord

    def reads() -> list[CheckRecord]:
        assert reads_it.answer == sp.Rational(1, 2), f"answer is {reads_it.answer}, not 1/2"
        return [CheckRecord("recomputation", "answer", "is 1/2")]

    reads_it = Part("c", "stated", [], answer=sp.Rational(1, 2), numeric_checks=[reads])
    records = verify_part("demo", reads_it)
    assert [r.kind for r in records] == ["recomputation", "mutation"]
    assert reads_it.answer == sp.Rational(1, 2)  # put back after the corrupted run


def test_an_answer_of_no_known_kind_cannot_be_checked() -> None:
    from answerkey.model import CheckRecord

    odd = Part(
        "d", "odd", [], answer="one half", numeric_checks=[lambda: [CheckRecord("n", "x", "y")]]
    )
    with pytest.raises(VerificationError, match="part d: its stated answer cannot be checked"):
        verify_part("demo", odd)


def test_a_matrix_answer_is_proved_equal_to_its_derivations_quantity() -> None:
    d = Derivation(
        D(f, v), (step(2 * T(v)),), (Instance({n: 3}, defs={f: mm(T(v), v)}, label="n = 3"),)
    )
    right = Part("m", "stated", [], [d], answer=2 * T(v), answer_lhs=D(f, v))
    kinds = [r.kind for r in verify_part("demo", right)]
    assert kinds.count("finite-difference") == 2 and kinds[-1] == "mutation"
    wrong = Part("w", "stated", [], [d], answer=3 * T(v), answer_lhs=D(f, v))
    with pytest.raises(
        VerificationError, match=r"part w, stated answer \(n = 3\): differs from the quantity"
    ):
        verify_part("demo", wrong)
    # without answer_lhs nothing reads it: the message says what to do, no SymPy error leaks
    alone = Part("a", "stated", [], [d], answer=2 * T(v))
    with pytest.raises(VerificationError, match=r"part a: its stated answer is not checked: .* "):
        verify_part("demo", alone)


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [(sp.Symbol("x"), 2 * sp.Symbol("x") + 1), (0.5, 2.0), (3, 7)],
)
def test_corrupted_gives_a_different_answer_of_the_same_kind(answer: object, wrong: object) -> None:
    from answerkey.verify import corrupted

    assert corrupted(answer) == wrong
    assert np.array_equal(corrupted(np.array([0.0, 1.0])), [1.0, 3.0])
    assert corrupted(sp.Matrix([[0, 1]])) == sp.Matrix([[1, 3]])
    assert corrupted(T(v)) == 2 * T(v) + sp.OneMatrix(n, 1).T


# --- wrong steps are refused (small examples) -------------------------------------


def test_a_wrong_step_is_refused_with_the_point_and_the_entry() -> None:
    d = Derivation(
        D(f, x),
        (step(2 * x * sp.exp(x**2)), step(x * sp.exp(x**2))),
        (Instance(defs={f: sp.exp(x**2)}, label="scalar"),),
    )
    with pytest.raises(VerificationError) as err:
        verify_part("demo", part_of(d, pid="7b"))
    msg = str(err.value)
    assert msg.startswith("verification failed: demo, part 7b, step 2 (scalar): ")
    assert "differs from step 1 at x=" in msg
    assert "entry (1,1)" in msg
    assert err.value.where == "demo, part 7b, step 2 (scalar)"


def test_a_transposed_square_matrix_is_refused_although_the_shapes_agree() -> None:
    e = sp.Symbol("e")
    d = Derivation(
        D(e, v),
        (step(mm(T(w), A)),),  # should be w^T A^T
        (Instance(sizes={n: 3}, defs={e: mm(T(v), A, w)}, label="n = 3"),),
    )
    with pytest.raises(VerificationError, match=r"demo, part q, step 1 \(n = 3\): differs"):
        verify_part("demo", part_of(d))


def test_a_step_of_the_wrong_shape_is_refused() -> None:
    e = sp.Symbol("e")
    d = Derivation(
        D(e, v),
        (step(mm(A, w)),),  # a column where the gradient is a row
        (Instance(sizes={n: 3}, defs={e: mm(T(v), A, w)}),),
    )
    with pytest.raises(VerificationError, match=r"step 1: shape \(3, 1\) does not match"):
        verify_part("demo", part_of(d))


def test_an_error_too_small_for_the_numeric_check_is_caught_symbolically() -> None:
    tiny = sp.Rational(1, 10**13) * x
    d = Derivation(D(f, x), (step(2 * x + tiny),), (Instance(defs={f: x**2}),))
    with pytest.raises(VerificationError, match="step 1: could not prove it equal"):
        verify_part("demo", part_of(d))
    # Without the symbolic proof only the numeric check (and finite differences) run.
    unproven = dataclasses.replace(d, prove=False)
    records = verify_part("demo", part_of(unproven))
    assert "symbolic" not in {r.kind for r in records}


def test_every_instance_is_checked() -> None:
    # sum(v) = 1^T v: true for every n, but this step hard-codes three entries.
    e = sp.Symbol("e")
    first3 = sp.OneMatrix(1, 3)
    d = Derivation(
        D(e, v),
        (step(first3),),
        (
            Instance(sizes={n: 3}, defs={e: mm(sp.OneMatrix(1, n), v)}, label="n = 3"),
            Instance(sizes={n: 4}, defs={e: mm(sp.OneMatrix(1, n), v)}, label="n = 4"),
        ),
    )
    with pytest.raises(VerificationError, match=r"step 1 \(n = 4\): shape \(1, 3\)"):
        verify_part("demo", part_of(d))


def test_a_wrong_oracle_fails_the_finite_difference_check() -> None:
    d = Derivation(
        D(f, x),
        (step(2 * x),),
        (Instance(defs={f: x**2}, label="scalar"),),
        oracle=lambda vals: vals["x"].item() ** 3,
    )
    with pytest.raises(VerificationError) as err:
        verify_part("demo", part_of(d))
    assert "part q (scalar)" in str(err.value)
    assert "finite differences of an independent NumPy oracle" in str(err.value)


def test_finite_differences_catch_a_definition_the_steps_agree_with_but_the_oracle_does_not() -> (
    None
):
    # The steps follow the (wrong) definition f = x^3, so only the oracle notices.
    d = Derivation(
        D(f, x),
        (step(3 * x**2),),
        (Instance(defs={f: x**3}),),
        oracle=lambda vals: vals["x"].item() ** 2,
    )
    with pytest.raises(VerificationError, match="finite differences"):
        verify_part("demo", part_of(d))
    right = dataclasses.replace(d, oracle=lambda vals: vals["x"].item() ** 3)
    assert verify_part("demo", part_of(right))[-1].kind == "finite-difference"


def test_verify_derivation_names_the_derivation_when_a_part_has_several() -> None:
    good = Derivation(D(f, x), (step(2 * x),), (Instance(defs={f: x**2}),))
    bad = Derivation(D(f, x), (step(-2 * x),), (Instance(defs={f: x**2}),))
    with pytest.raises(VerificationError, match=r"demo, part q, derivation 2 \(of ∂f/∂x\), step 1"):
        verify_part("demo", part_of(good, bad))
    g = sp.Symbol("g")
    other = Derivation(D(g, x), (step(-2 * x),), (Instance(defs={g: x**2}),))
    with pytest.raises(VerificationError, match=r"demo, part q, derivation of ∂g/∂x, step 1"):
        verify_part("demo", part_of(good, other))
    assert verify_derivation("here", good, rng())


# --- the author's code breaks its contract: one line naming the part and the contract ---


def _with_oracle(oracle: Callable[[Any], Any]) -> Part:
    return part_of(Derivation(D(f, x), (step(2 * x),), (Instance(defs={f: x**2}),), oracle))


@pytest.mark.parametrize(
    ("oracle", "says"),
    [
        (lambda v: v["W1"], r"its oracle raised KeyError: 'W1'; a derivation's oracle takes"),
        (lambda v: {"z1": 1.0}, r"its oracle returned a dict of z1; .* returns f as a float"),
        (lambda v: [1.0, 2.0], r"its oracle returned list \[1\.0, 2\.0\]; .* inputs by name \(x"),
        (lambda v: "no", r"its oracle returned str no; "),
    ],
    ids=["raises", "dict without the loss", "a list", "a string"],
)
def test_an_oracle_breaking_its_contract_is_refused_naming_the_part(
    oracle: Callable[[Any], Any], says: str
) -> None:
    with pytest.raises(VerificationError, match=r"^verification failed: demo, part q: " + says):
        verify_part("demo", _with_oracle(oracle))


def test_a_derivation_oracle_may_return_the_worked_examples_dict() -> None:
    records = verify_part("demo", _with_oracle(lambda v: {"f": v["x"] ** 2, "g": 0.0}))
    assert records[-1].kind == "finite-difference"
    with pytest.raises(VerificationError, match="finite differences"):
        verify_part("demo", _with_oracle(lambda v: {"f": v["x"] ** 3}))


def test_a_numeric_check_that_crashes_or_returns_no_list_is_refused_naming_the_part() -> None:
    def broken() -> list[Any]:
        return [1][2]

    with pytest.raises(
        VerificationError,
        match=r"part q: its numeric check .*broken raised IndexError: list index out of range \(a",
    ):
        verify_part("demo", Part("q", "p", [], numeric_checks=[broken]))
    with pytest.raises(VerificationError, match=r"part q: its numeric check .* returned a dict;"):
        verify_part("demo", Part("q", "p", [], numeric_checks=[lambda: {}]))  # type: ignore[list-item]


def test_the_verifier_names_the_place_of_a_check_that_does_not() -> None:
    """A kit check raises with no place (where=""): the verifier supplies the part's, so a
    solution never builds its own locations; a check that names one keeps it."""

    def unplaced() -> list[CheckRecord]:
        raise VerificationError("", "the stated rule is wrong")

    def placed() -> list[CheckRecord]:
        raise VerificationError("demo, part q, update 2", "the stated rule is wrong")

    with pytest.raises(VerificationError, match=r"^verification failed: demo, part q: the st"):
        verify_part("demo", Part("q", "p", [], numeric_checks=[unplaced]))
    with pytest.raises(VerificationError, match=r"demo, part q, update 2: the stated"):
        verify_part("demo", Part("q", "p", [], numeric_checks=[placed]))


# --- mutation tests on cv-assignment9's real parts --------------------------------


def replace_step(part: Part, derivation: int, index: int, new: Step) -> Part:
    """A copy of `part` with one step of one derivation replaced (the original is untouched)."""
    d = part.derivations[derivation]
    steps = list(d.steps)
    steps[index] = new
    derivations = list(part.derivations)
    derivations[derivation] = dataclasses.replace(d, steps=tuple(steps))
    return dataclasses.replace(part, derivations=derivations, checks=[])


def corrupt(part: Part, derivation: int, index: int, change: Callable[[Any], Any]) -> Part:
    old = part.derivations[derivation].steps[index]
    return replace_step(part, derivation, index, dataclasses.replace(old, expr=change(old.expr)))


def cv_part(pid: str) -> Part:
    return {p.id: p for p in cv.build(cv.PARAMETERS).parts()}[pid]


SIGMA_PRIME = diag(sp.HadamardProduct(cv.y1, hadamard_ones_minus(cv.y1)))
SOFTMAX_JACOBIAN = sp.MatAdd(diag(cv.y2), -mm(cv.y2, T(cv.y2)))

# (part, derivation index, step index, what the mistake is, the corrupted expression)
MUTATIONS: list[tuple[str, int, int, str, Callable[[Any], Any]]] = [
    ("1a", 0, 1, "flip a sign", lambda e: -e),
    ("1a", 0, 0, "drop a factor", lambda e: -sp.log(sigmoid(cv.W))),
    ("1b", 0, 0, "drop a factor", lambda e: e / cv.W),
    ("1b", 0, 3, "wrong final answer", lambda e: -cv.ts * cv.W / (1 + sp.exp(-cv.W * cv.xs))),
    ("2", 0, 3, "flip a sign", lambda e: T(cv.t - cv.y2)),
    ("2", 0, 3, "transpose a matrix", lambda e: cv.y2 - cv.t),
    (
        "2",
        0,
        1,
        "swap a product's order",
        lambda e: -mm(T(cv.t), SOFTMAX_JACOBIAN, sp.Inverse(diag(cv.y2))),
    ),
    ("3", 0, 1, "wrong final answer", lambda e: mm(T(cv.y2), cv.W2)),
    ("4", 0, 1, "transpose a matrix", lambda e: mm(cv.y1, T(cv.y2 - cv.t))),
    ("4", 0, 1, "flip a sign", lambda e: mm(cv.t - cv.y2, T(cv.y1))),
    ("5", 0, 2, "drop a factor", lambda e: sigmoid(cv.u)),
    ("5", 1, 0, "drop a factor", lambda e: diag(cv.y1)),
    ("6", 0, 1, "drop a factor", lambda e: mm(T(cv.y2 - cv.t), cv.W2)),
    ("8", 0, 0, "drop a factor", lambda e: mm(cv.Y2 - cv.Tb, T(cv.Y1))),
    ("7", 0, 0, "flip a sign", lambda e: -e),  # the one expensive part (a few seconds)
    # "+ 0" by a derivative whose two sides the part's instance does not link
    ("2", 0, 3, "add an unlinked derivative", lambda e: e + mm(T(cv.t), D(cv.z2, cv.y1), T(cv.W2))),
    ("2", 0, 0, "add an unlinked derivative", lambda e: e + mm(D(cv.E, cv.y1), T(cv.W2))),
    # sizes that coincide at the small instance (n = K = m = 2)
    ("8", 0, 0, "1/K for 1/m", lambda e: (1 / cv.K) * mm(cv.Y2 - cv.Tb, T(cv.Y1))),
    ("8", 0, 0, "1/n for 1/m", lambda e: (1 / cv.n) * mm(cv.Y2 - cv.Tb, T(cv.Y1))),
    ("8", 0, 0, "1/2 for 1/m", lambda e: sp.Rational(1, 2) * mm(cv.Y2 - cv.Tb, T(cv.Y1))),
]


@pytest.mark.parametrize(
    ("pid", "derivation", "index", "mistake", "change"),
    MUTATIONS,
    ids=[f"{m[0]}-{m[3].replace(' ', '-')}-d{m[1] + 1}s{m[2] + 1}" for m in MUTATIONS],
)
def test_a_corrupted_step_of_cv_assignment9_is_refused(
    pid: str, derivation: int, index: int, mistake: str, change: Callable[[Any], Any]
) -> None:
    original = cv_part(pid)
    bad = corrupt(original, derivation, index, change)
    assert bad.derivations[derivation].steps[index] != original.derivations[derivation].steps[index]
    with pytest.raises(VerificationError) as err:
        verify_part(cv.ID, bad)
    msg = str(err.value)
    where = f"{cv.ID}, part {pid}"
    if len(original.derivations) > 1:
        where += f", {numbers.derivation_labels(original)[derivation]}"
    assert f"{where}, step {index + 1}" in msg, msg
    assert err.value.where.startswith(where)


CHEAP_PARTS = ["1a", "1b", "2", "5"]


@pytest.mark.parametrize("pid", CHEAP_PARTS)
def test_the_true_cheap_parts_of_cv_assignment9_pass(pid: str) -> None:
    records = verify_part(cv.ID, cv_part(pid))
    assert records
    assert {"numeric", "symbolic"} <= {r.kind for r in records}


def test_the_mutated_part_leaves_the_original_intact() -> None:
    original = cv_part("1a")
    corrupt(original, 0, 1, lambda e: -e)
    assert verify_part(cv.ID, original)


@pytest.mark.parametrize("pid", ["2", "3"])
def test_a_wrong_oracle_for_a_cv_assignment9_gradient_is_refused(pid: str) -> None:
    part = cv_part(pid)
    d = part.derivations[0]
    assert d.oracle is not None

    def doubled(vals: Any) -> float:
        return 2.0 * cv.NET.oracle(vals)

    bad = dataclasses.replace(part, derivations=[dataclasses.replace(d, oracle=doubled)])
    with pytest.raises(VerificationError) as err:
        verify_part(cv.ID, bad)
    assert f"{cv.ID}, part {pid}" in str(err.value)
    assert "finite differences of an independent NumPy oracle" in str(err.value)


def test_an_inserted_wrong_intermediate_step_is_refused_even_if_the_result_is_right() -> None:
    part = cv_part("3")
    d = part.derivations[0]
    wrong_middle = step(mm(T(cv.y2 + cv.t), cv.W2), "a plausible slip")
    bad = dataclasses.replace(
        part, derivations=[dataclasses.replace(d, steps=(d.steps[0], wrong_middle, d.steps[1]))]
    )
    with pytest.raises(VerificationError, match=r"part 3, step 2 .*differs from step 1"):
        verify_part(cv.ID, bad)


def test_a_step_undefined_where_the_quantity_is_defined_is_refused() -> None:
    """log(x) - log|x| is 0 for x > 0 and undefined for x < 0: it cannot pass by being skipped."""
    x = sp.Symbol("x", real=True)
    f = sp.Symbol("f")
    inst = Instance(defs={f: x**2})
    step = 2 * x + sp.log(x) - sp.log(sp.Abs(x))
    bad = Derivation(D(f, x), (Step(step, text("oops")),), (inst,))
    with pytest.raises(VerificationError, match="is undefined at x="):
        verify_derivation("t, part z", bad, np.random.default_rng(0))


def test_a_check_that_could_compare_nothing_fails() -> None:
    """If the quantity itself is undefined at every point, the step was never compared."""
    x = sp.Symbol("x", real=True)
    f = sp.Symbol("f")
    inst = Instance(defs={f: sp.sqrt(-(x**2) - 1)}, label="nowhere real")
    d = Derivation(D(f, x), (Step(-x / sp.sqrt(-(x**2) - 1), text("chain rule")),), (inst,))
    with pytest.raises(VerificationError, match="could be evaluated"):
        verify_derivation("t, part z", d, np.random.default_rng(0))


def test_a_derivation_checked_only_where_sizes_coincide_is_refused() -> None:
    inst = Instance(sizes={cv.n: 2, cv.h: 3, cv.K: 2}, defs={cv.z1: mm(cv.W1, cv.x)})
    d = Derivation(D(cv.z1, cv.x), (Step(cv.W1, text("linear")),), (inst,))
    with pytest.raises(VerificationError, match="no instance has all its sizes different"):
        verify_derivation("demo", d, np.random.default_rng(0))
    distinct = dataclasses.replace(inst, sizes={cv.n: 2, cv.h: 3, cv.K: 4})
    assert verify_derivation(
        "demo", dataclasses.replace(d, instances=(inst, distinct)), np.random.default_rng(0)
    )


# --- the checks' own thresholds (each would let a wrong step through if loosened) ----


def test_the_numeric_comparison_refuses_a_relative_error_of_one_in_a_million() -> None:
    """Without the symbolic proof, a step 1e-6 off (relative) is refused at the random points,
    and so is an absolute error of 1e-9 on a quantity near zero (the tolerances are 1e-8
    relative and 1e-10 absolute)."""
    e = sp.Symbol("e")
    for wrong, exact in [
        (sp.Rational(1000001, 1000000) * sp.exp(x), sp.exp(x)),
        (x / 1000 + sp.Rational(1, 10**9), x / 1000),
    ]:
        d = Derivation(e, (step(wrong),), (Instance(defs={e: exact}),), prove=False)
        with pytest.raises(VerificationError, match=r"step 1: differs from the quantity derived"):
            verify_part("demo", part_of(d))


def test_an_oracle_a_hundredth_of_a_percent_off_is_refused_by_finite_differences() -> None:
    d = Derivation(
        D(f, x),
        (step(2 * x),),
        (Instance(defs={f: x**2}),),
        oracle=lambda vals: 1.0001 * vals["x"].item() ** 2,
    )
    with pytest.raises(VerificationError, match=r"differences .* relative error \S+e-05"):
        verify_part("demo", part_of(d))


def test_finite_differences_are_accurate_enough_for_a_steep_function() -> None:
    """The central differences' step (1e-6) keeps a true derivative of exp(6x) within the
    tolerance at every point of the domain (a larger step would refuse it)."""
    d = Derivation(D(f, x), (step(6 * sp.exp(6 * x)),), (Instance(defs={f: sp.exp(6 * x)}),))
    assert verify_part("demo", part_of(d))[-1].kind == "finite-difference"


def test_reuse_verifies_a_part_it_has_not_seen_and_a_part_edited_since() -> None:
    """verify_assignment(reuse=True) skips only the same part object, unchanged since it
    passed: a new part is verified, and so is a verified part whose derivation was edited."""
    wrong = Derivation(D(f, x), (step(2 * x + 1),), (Instance(defs={f: x**2}),))
    new = Assignment("demo", "Demo", [Exercise("1", "E", [], [part_of(wrong, pid="new")])])
    with pytest.raises(VerificationError, match="part new, step 1"):
        verify_assignment(new, reuse=True)
    right = Derivation(D(f, x), (step(2 * x),), (Instance(defs={f: x**2}),))
    part = part_of(right, pid="edited")
    edited = Assignment("demo", "Demo", [Exercise("1", "E", [], [part])])
    assert verify_assignment(edited, reuse=True) > 0
    part.derivations = [wrong]
    with pytest.raises(VerificationError, match="part edited, step 1"):
        verify_assignment(edited, reuse=True)


def test_a_part_with_a_derivation_has_the_relations_of_its_prose_checked() -> None:
    """A part whose derivations passed still has the equations of its text checked (and
    the numbers it prints audited), though it has no numeric check of its own."""
    d = Derivation(D(f, x), (step(2 * x),), (Instance(defs={f: x**2}),))
    part = Part("p", "t", [text("Show that", (D(f, x), 3 * x), ".")], [d])
    with pytest.raises(VerificationError, match=r"demo, part p, question: .* does not hold"):
        verify_part("demo", part)


def test_a_truth_value_is_no_answer_to_corrupt() -> None:
    from answerkey.verify import corrupted

    with pytest.raises(TypeError, match="no way to corrupt an answer of type bool"):
        corrupted(True)


def test_an_answer_lhs_without_an_answer_adds_no_stated_answer_to_check() -> None:
    d = Derivation(D(f, x), (step(2 * x),), (Instance(defs={f: x**2}),))
    ran = [lambda: [CheckRecord("numeric", "a check", "ran")]]  # so the part's checks run
    part = Part("l", "t", [], [d], answer_lhs=D(f, x), numeric_checks=ran)
    assert "mutation" not in {r.kind for r in verify_part("demo", part)}


def test_a_derivation_oracle_gets_every_scalar_input_by_name() -> None:
    """The oracle of f = a x^2 is given a as well as x (and differentiates by x only)."""
    d = Derivation(
        D(f, x),
        (step(2 * a * x),),
        (Instance(defs={f: a * x**2}),),
        oracle=lambda vals: float(vals["a"]) * vals["x"].item() ** 2,
    )
    assert verify_part("demo", part_of(d))[-1].kind == "finite-difference"


def test_a_counterexample_names_eight_inputs_and_counts_the_others() -> None:
    xs = sp.symbols("x1:11", real=True)
    d = Derivation(f, (step(sum(xs) + 1),), (Instance(defs={f: sum(xs)}),), prove=False)
    with pytest.raises(VerificationError, match=r"x7=[-0-9.]+, … \(2 more\): entry"):
        verify_part("demo", part_of(d))
    eight = Derivation(f, (step(sum(xs[:8]) + 1),), (Instance(defs={f: sum(xs[:8])}),), prove=False)
    with pytest.raises(VerificationError, match=r"x8=[-0-9.]+: entry"):
        verify_part("demo", part_of(eight))


def test_an_instance_with_two_sizes_alike_is_not_enough() -> None:
    """With n = K = 2, a step that writes n where K belongs is right: two sizes must differ
    at some instance too."""
    inst = Instance(sizes={cv.n: 2, cv.h: 2}, defs={cv.z1: mm(cv.W1, cv.x)})
    d = Derivation(D(cv.z1, cv.x), (Step(cv.W1, text("linear")),), (inst,))
    with pytest.raises(VerificationError, match="no instance has all its sizes different"):
        verify_derivation("demo", d, np.random.default_rng(0))
