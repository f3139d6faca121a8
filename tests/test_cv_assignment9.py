"""cv-assignment9 end to end: the published key holds every part's verified result, the
handout holds none, and answers.json gives results SymPy reads back."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import sympy as sp
from conftest import CV, PART_IDS, Built, pdf_text

import solutions.cv_assignment9 as cv
from answerkey import printing
from answerkey.instantiate import Concrete
from answerkey.mathfns import to_plain_sympy
from answerkey.verify import lambdify

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

W, x, t = sp.symbols("W x t")
EXPECTED_1 = {
    "1a": sp.log(1 + sp.exp(-W * x)),
    "1b": -W * t / (1 + sp.exp(W * x)),
}
GRADIENT_PARTS = ["2", "3", "4", "6", "7", "8", "9"]


def model() -> Any:
    return cv.build(cv.PARAMETERS)


def by_name(expr: Any) -> Any:
    """`expr` with every symbol replaced by a plain one of the same name."""
    return expr.xreplace({s: sp.Symbol(s.name) for s in expr.free_symbols if s.is_Symbol})


# --- the model --------------------------------------------------------------------


def test_the_parts_are_the_exercises_in_order() -> None:
    a = model()
    assert a.id == CV
    assert [p.id for p in a.parts()] == PART_IDS
    for p in a.parts():
        assert p.title and p.question, p.id
        assert p.derivations, p.id
        assert all(step.reason.items for d in p.derivations for step in d.steps), p.id


def test_every_gradient_has_an_independent_oracle() -> None:
    parts = {p.id: p for p in model().parts()}
    for pid in GRADIENT_PARTS:
        assert all(d.oracle is not None for d in parts[pid].derivations), pid


def test_the_oracle_computes_the_same_error_as_the_sympy_definitions() -> None:
    inst = cv._network("x")
    c = Concrete(inst)
    e = c.value(cv.E)
    syms = sorted(e.free_symbols, key=lambda s: s.name)
    rng = np.random.default_rng(7)
    vals = {
        s: float(rng.uniform(0.05, 0.45) if s.name.startswith("t") else rng.normal()) for s in syms
    }
    sym_value = float(np.asarray(lambdify(syms, e)(*vals.values()), dtype=float).reshape(-1)[0])
    named = {
        name: np.array(
            [vals.get(s, 0.0) for s in c.entries(getattr(cv, name))], dtype=float
        ).reshape(c.entries(getattr(cv, name)).shape)
        for name in ("x", "W1", "W2", "t")
    }
    assert cv.NET.oracle(named) == pytest.approx(sym_value, rel=1e-12)


def test_the_batch_and_l2_oracles_reduce_to_the_single_sample_one() -> None:
    rng = np.random.default_rng(3)
    v = {
        "x": rng.normal(size=(3, 1)),
        "W1": rng.normal(size=(4, 3)),
        "W2": rng.normal(size=(3, 4)),
        "t": np.array([[0.2], [0.3], [0.5]]),
    }
    single = cv.NET.oracle(v)
    assert cv.BATCH.oracle({**v, "Xb": v["x"], "Tb": v["t"]}) == pytest.approx(single)
    assert cv.L2.oracle({**v, "lambda": np.array(0.0)}) == pytest.approx(single)
    lam = 0.3
    penalty = lam / 2 * ((v["W1"] ** 2).sum() + (v["W2"] ** 2).sum())
    assert cv.L2.oracle({**v, "lambda": np.array(lam)}) == pytest.approx(single + penalty)


# --- answers.json -----------------------------------------------------------------


def test_answers_json_has_every_part_with_latex_sympy_and_checks(answers: dict) -> None:
    assert answers["assignment"] == CV
    assert list(answers["parts"]) == PART_IDS
    total = 0
    for pid, entry in answers["parts"].items():
        assert entry["latex"], pid
        assert entry["sympy"], pid
        assert entry["checks"], pid
        kinds = {c["kind"] for c in entry["checks"]}
        assert {"numeric", "symbolic"} <= kinds, pid
        if pid in GRADIENT_PARTS:
            assert "finite-difference" in kinds, pid
        total += len(entry["checks"])
    assert answers["checks_passed"] == total


@pytest.mark.parametrize("pid", PART_IDS)
def test_every_sympy_string_reads_back_to_the_final_answer(answers: dict, pid: str) -> None:
    back = sp.sympify(answers["parts"][pid]["sympy"])
    final = {p.id: p for p in model().parts()}[pid].final

    # The same tree (symbols by name: sympify makes them without assumptions);
    # SymPy's own == also compares the (unsorted) order of MatAdd's terms.
    def by_names(e: sp.Basic) -> sp.Basic:
        return e.xreplace({s: sp.Symbol(s.name) for s in e.atoms(sp.Symbol)})

    assert sp.srepr(by_names(back)) == sp.srepr(by_names(to_plain_sympy(final)))


@pytest.mark.parametrize("pid", ["1a", "1b"])
def test_the_scalar_answers_are_in_W_x_t_and_equal_the_expected_ones(
    answers: dict, pid: str
) -> None:
    back = by_name(sp.sympify(answers["parts"][pid]["sympy"]))
    assert {s.name for s in back.free_symbols} <= {"W", "x", "t"}
    expected = EXPECTED_1[pid]
    rng = np.random.default_rng(11)
    for _ in range(5):
        point = {W: rng.uniform(-2, 2), x: rng.uniform(-2, 2), t: rng.uniform(0, 1)}
        assert float(back.subs(point)) == pytest.approx(float(expected.subs(point)), rel=1e-12)


def test_the_scalar_answers_latex(answers: dict) -> None:
    assert answers["parts"]["1a"]["latex"] == r"\log{\left(1 + e^{- W x} \right)}"
    assert answers["parts"]["1b"]["latex"] == r"- \frac{W t}{e^{W x} + 1}"


def test_answers_json_has_every_boxed_result(answers: dict) -> None:
    for p in model().parts():
        entry = answers["parts"][p.id]
        written = {entry["latex"]} | {r["latex"] for r in entry.get("results", [])}
        for _lhs, result in p.results:
            latex = printing.latex(result, cv.NOTATION)
            assert latex in written, (p.id, latex)


# --- key and handout --------------------------------------------------------------


def test_the_key_states_how_many_checks_ran(built: Built, answers: dict) -> None:
    n = answers["checks_passed"]
    assert n > 50
    for name in ("key.md", "key.tex"):
        assert f"{n} checks passed" in built.text(name)


@pytest.mark.parametrize("name", ["key.md", "key.tex"])
def test_the_key_boxes_every_final_answer(built: Built, answers: dict, name: str) -> None:
    text = built.text(name)
    for pid, entry in answers["parts"].items():
        assert entry["latex"] in text, pid
    assert text.count(r"\boxed") == sum(len(p.results) for p in model().parts())


def stated_in_question(pid: str, latex: str) -> bool:
    """ "Show that ..." parts give the result in the question itself."""
    part = {p.id: p for p in model().parts()}[pid]
    return any(latex in printing.prose(q, "md", cv.NOTATION) for q in part.question)


@pytest.mark.parametrize("name", ["handout.md", "handout.tex"])
def test_the_handout_has_every_question_and_no_solution(
    built: Built, answers: dict, name: str
) -> None:
    text = built.text(name)
    assert r"\boxed" not in text
    assert "checks passed" not in text
    checked = []
    for pid, entry in answers["parts"].items():
        assert f"Part {pid}" in text
        assert entry["title"] in text
        if not stated_in_question(pid, entry["latex"]):
            assert entry["latex"] not in text, pid
            checked.append(pid)
    assert {"1a", "1b", "7", "8", "9"} <= set(checked)


def test_the_key_pdf_holds_the_results(built: Built, answers: dict) -> None:
    got = pdf_text(built.directory / "key.pdf").replace("\u2019", "'")
    for entry in answers["parts"].values():
        assert entry["title"] in got
    assert "log ( 1 + e−Wx )" in got  # 1a
    assert "Wt eWx + 1" in got  # 1b, as a fraction
    assert f"{answers['checks_passed']} checks passed" in got


def test_the_handout_pdf_holds_the_questions_only(built: Built, answers: dict) -> None:
    got = pdf_text(built.directory / "handout.pdf").replace("\u2019", "'")
    for entry in answers["parts"].values():
        assert entry["title"] in got
    assert "Exercise sheet" in got
    assert "1 + e−Wx" not in got
    assert "checks passed" not in got


def test_the_numbers_in_the_oracle_checks_are_finite(answers: dict) -> None:
    for entry in answers["parts"].values():
        for c in entry["checks"]:
            if c["kind"] == "finite-difference":
                err = float(c["detail"].rsplit("error ", 1)[1].rstrip(")"))
                assert math.isfinite(err) and err < 1e-6
