"""practical-1: the key verifies, the trace matches an independent implementation, and
every single corruption (a trace value, a dropped factor) makes verification refuse."""

from __future__ import annotations

import copy
import dataclasses
import re
import time
from typing import Any

import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp
from autograd import grad

from answerkey.errors import VerificationError
from answerkey.kit.softmax_hinge import gradient_np, loss_np
from answerkey.model import Assignment, Part, Step, Text
from answerkey.verify import verify_assignment, verify_part
from solutions import practical_1 as p1

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`


@pytest.fixture(scope="module")
def key() -> Assignment:
    return p1.build(p1.PARAMETERS)


def parts(a: Assignment) -> dict[str, Part]:
    return {p.id: p for p in a.parts()}


def test_parts_and_verification_fast(key: Assignment) -> None:
    assert [p.id for p in key.parts()] == ["1a", "1b", "1c", "2", "3a", "3b"]
    start = time.perf_counter()
    n = verify_assignment(p1.build(p1.PARAMETERS))
    assert n > 50
    assert time.perf_counter() - start < 10


# --------------------------------------------------------------------------- the trace


def autograd_trace(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """A second implementation: gradients by automatic differentiation, not by hand."""

    def loss(params: tuple[Any, Any], x: Any, y: float) -> Any:
        W, w = params
        z_out = anp.maximum(anp.dot(anp.maximum(anp.dot(x, W), 0.0), w), 0.0)
        return 0.5 * (z_out - y) ** 2

    g = grad(loss)
    W = np.array(trace["W"], dtype=float)
    w = np.array(trace["w"], dtype=float)
    lr = trace["learning_rate"]
    out = []
    for _ in range(trace["iterations"]):
        for sample in trace["samples"]:
            x, y = np.array(sample["x"], dtype=float), float(sample["y"])
            gW, gw = g((W, w), x, y)
            s = x @ W
            out.append(
                {
                    "s_hidden": s,
                    "z_out": max(float(w @ np.maximum(s, 0)), 0.0),
                    "loss": float(loss((W, w), x, y)),
                    "dw": -lr * gw,
                    "dW": -lr * gW,
                }
            )
            W, w = W - lr * gW, w - lr * gw
            out[-1] |= {"W": W, "w": w}
    return out


def test_trace_matches_autograd(key: Assignment) -> None:
    rows = parts(key)["2"].data["trace"]
    other = autograd_trace(p1.PARAMETERS["trace"])
    assert len(rows) == len(other) == 9
    for row, ref in zip(rows, other, strict=True):
        for k, v in ref.items():
            np.testing.assert_allclose(row[k], v, rtol=1e-12, atol=1e-15, err_msg=k)


def test_trace_rows_shape_and_first_update(key: Assignment) -> None:
    rows = parts(key)["2"].data["trace"]
    for n, row in enumerate(rows):
        assert list(row) == list(p1.TRACE_KEYS)
        assert (row["iteration"], row["sample"]) == (n // 3 + 1, n % 3 + 1)
        assert np.shape(row["W"]) == (2, 3) and np.shape(row["dW"]) == (2, 3)
        assert all(isinstance(v, float) for v in np.ravel(row["W"]))
    first = rows[0]
    np.testing.assert_allclose(first["s_hidden"], [0.458, 0.869, 0.704])
    assert first["s_out"] == pytest.approx(0.09859)
    assert first["loss"] == pytest.approx(0.5 * 0.90141**2)
    # the hidden error signal carries the output weight (the seed's does not)
    np.testing.assert_allclose(
        first["delta_hidden"], [-0.90141 * 0.02, -0.90141 * 0.03, -0.90141 * 0.09]
    )


def test_every_single_engine_value_corrupted_is_refused() -> None:
    """A bug in the engine's own computation of any trace value (each value of each update,
    corrupted in turn) is caught by its second path."""
    a = p1.build(p1.PARAMETERS)
    t = parts(a)["2"].numeric_checks[0]
    count = 0
    for k, point in enumerate(t.steps, start=1):
        for key in list(point.values):
            clean = point.values[key]
            point.values[key] = clean + 1e-5 * (1 + np.abs(clean))
            with pytest.raises(AssertionError, match=rf"trace, update {k} .*{re.escape(key)}"):
                t()
            point.values[key] = clean
            count += 1
    assert count == 9 * 11
    t()


def test_a_wrong_optimizer_step_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from answerkey import worked

    monkeypatch.setattr(worked.SGD, "step", lambda self, g: +self.rate * np.asarray(g))
    part = parts(p1.build(p1.PARAMETERS))["2"]
    with pytest.raises(VerificationError, match=r"part 2: trace, update 1 .*finite differences"):
        verify_part(p1.ID, part)


def test_corrupted_block_or_table_is_refused() -> None:
    a = p1.build(p1.PARAMETERS)
    part = parts(a)["2"]
    block = part.blocks[4]
    lines = list(block.lines)
    label, number = lines[6]
    for wrong in (float(number) + 1e-6, dataclasses.replace(number, value=float(number) + 1e-6)):
        lines[6] = (label, wrong)
        part.blocks = [
            *part.blocks[:4],
            dataclasses.replace(block, lines=tuple(lines)),
            *part.blocks[5:],
        ]
        with pytest.raises(VerificationError, match="part 2, block 5, line L: shows"):
            verify_part(a.id, part)
    a = p1.build(p1.PARAMETERS)
    part = parts(a)["2"]
    table = part.tables[0]
    rows = list(table.rows)
    rows[2] = (*rows[2][:-1], float(rows[2][-1]) + 1e-3)
    part.tables = [dataclasses.replace(table, rows=tuple(rows))]
    with pytest.raises(VerificationError, match="part 2, table 1, row 3, column 6: shows the bare"):
        verify_part(a.id, part)


def test_kink_uses_one_sided_difference() -> None:
    params = copy.deepcopy(p1.PARAMETERS)
    # hidden unit 1 sits exactly on its kink for the first sample: s_1 = 1*0 + 0*0.4 = 0
    params["trace"]["samples"] = [{"x": [1.0, 0.0], "y": 1.0}]
    params["trace"]["W"] = [[0.0, 0.5, 0.3], [0.4, 0.2, 0.1]]
    params["trace"]["iterations"] = 1
    a = p1.build(params)
    part = parts(a)["2"]
    assert part.data["trace"][0]["s_hidden"][0] == 0.0
    records = verify_part(a.id, part)
    fd = next(r for r in records if r.kind == "finite-difference")
    assert "one-sided" in fd.detail and "s_1" in fd.detail
    # the unit on its kink does not fire: its weights do not move
    assert part.data["trace"][0]["dW"][0][0] == 0.0


def test_trace_remarks_come_from_the_numbers(key: Assignment) -> None:
    words = " ".join(str(i) for t in parts(key)["2"].remarks for i in t.items)
    assert "For sample 3 (in every iteration) hidden units 1 and 2 are inactive" in words
    assert "Sample 3 has target" in words
    assert "Erratum" in words
    errata = parts(key)["2"].data["seed_errata"]
    wrong = {e["quantity"] for e in errata if not e["agrees"]}
    assert {"delta_hidden", "W"} <= wrong and "s_out" not in wrong
    # other numbers: remarks follow them, and there is nothing to compare with the seed
    params = copy.deepcopy(p1.PARAMETERS)
    params["trace"]["samples"] = [{"x": [0.75, 0.8], "y": 1.0}]
    other = parts(p1.build(params))["2"]
    text_other = " ".join(str(i) for t in other.remarks for i in t.items)
    assert "Erratum" not in text_other and "never reach" not in text_other
    assert other.data["seed_errata"] == []


# --------------------------------------------------------------------------- dropped factors


def _drop_factor_variants(expr: Any) -> list[Any]:
    if not isinstance(expr, sp.Mul | sp.MatMul) or len(expr.args) < 2:
        return []
    out = []
    for i in range(len(expr.args)):
        rest = expr.args[:i] + expr.args[i + 1 :]
        if rest == (sp.Integer(-1),):
            continue
        out.append(expr.func(*rest) if len(rest) > 1 else rest[0])
    return out


@pytest.mark.parametrize("pid", ["1a", "1b", "1c", "3b"])
def test_dropping_any_factor_in_any_step_is_refused(key: Assignment, pid: str) -> None:
    part = parts(key)[pid]
    tried = 0
    for d in part.derivations:
        for i, step in enumerate(d.steps):
            for variant in _drop_factor_variants(step.expr):
                steps = list(d.steps)
                steps[i] = Step(variant, step.reason)
                mutated = Part(
                    pid,
                    part.title,
                    part.question,
                    derivations=[dataclasses.replace(d, steps=tuple(steps))],
                )
                with pytest.raises(VerificationError, match=rf"practical-1, part {pid}"):
                    verify_part("practical-1", mutated)
                tried += 1
    assert tried >= 3


@pytest.mark.parametrize("pid", ["1a", "1b", "1c"])
def test_dropped_factor_in_a_result_fails_the_activation_checks(key: Assignment, pid: str) -> None:
    part = parts(key)[pid]
    result = part.derivations[0].steps[-1].expr
    for variant in _drop_factor_variants(result):
        with pytest.raises(VerificationError, match=rf"part {pid}"):
            p1.CHAIN.check(f"practical-1, part {pid}", variant, part.derivations[0].lhs.x)


def hinge_answer_check(where: str, answer: Any) -> Any:
    """3b's stated answer against central differences of the loss (the part's last check)."""
    hinge = p1.HINGE
    checks = hinge.answer_checks(
        lambda: answer, None, p1.a_vec, p1.n_active, (p1.P, p1.A), (p1.y_idx, p1.k_idx), where=where
    )
    return checks[1]()


def test_hinge_answer_mutations_are_refused(key: Assignment) -> None:
    part = parts(key)["3b"]
    summand, limits = part.answer.args
    for variant in _drop_factor_variants(summand):
        mutated = sp.Sum(variant, limits)
        with pytest.raises(VerificationError, match="part 3b"):
            hinge_answer_check("practical-1, part 3b", mutated)
    inner = summand.args[1] if isinstance(summand.args[1], sp.Add) else summand.args[0]
    for term in inner.args:  # dropping the p_y term (or the p_j one) is wrong too
        with pytest.raises(VerificationError, match="part 3b"):
            hinge_answer_check(
                "practical-1, part 3b", sp.Sum(summand.subs(inner, inner - term), limits)
            )


K, k, j = p1.K, p1.k_idx, p1.j_idx
WRONG_STATED_ANSWERS = {
    # gradient ascent, and a rule in the wrong indices
    "1c": [p1.theta * p1.delta_j * p1.z_i, -p1.theta * p1.delta_k * p1.z_j * p1.w_jk],
    "3a": ["twice"],
    # off by 1e-7 (below the finite differences' tolerance), and wrong only for K >= 5
    "3b": [
        p1.HINGE_GRADIENT + sp.Rational(1, 10**7) * p1.P[k],
        p1.HINGE_GRADIENT + (K - 3) * (K - 4) * p1.P[k],
    ],
}


@pytest.mark.parametrize(
    ("pid", "n"),
    [(pid, n) for pid, wrong in WRONG_STATED_ANSWERS.items() for n in range(len(wrong))],
)
def test_a_wrong_stated_answer_is_refused(pid: str, n: int) -> None:
    part = parts(p1.build(p1.PARAMETERS))[pid]  # exercise 1 is shared: restore it after
    stated, wrong = part.answer, WRONG_STATED_ANSWERS[pid][n]
    part.answer = dataclasses.replace(stated, value=2 * stated.value) if wrong == "twice" else wrong
    try:
        with pytest.raises(VerificationError, match=f"part {pid}"):
            verify_part(p1.ID, part)
    finally:
        part.answer = stated


def test_each_stated_answer_is_shown_to_be_checked(key: Assignment) -> None:
    for pid in ("1c", "3a", "3b"):
        records = verify_part(p1.ID, parts(key)[pid])
        assert any(r.kind == "mutation" and r.subject == "stated answer" for r in records)


# --------------------------------------------------------------------------- exercise 3


def test_hinge_example(key: Assignment) -> None:
    ex = parts(key)["3a"].data["example"]
    o = np.array(p1.PARAMETERS["hinge"]["scores"])
    p = np.exp(o) / np.exp(o).sum()
    assert ex["active"] == [False, True, False, True]
    assert ex["loss"] == pytest.approx((p[1] - p[0] + 0.2) + (p[3] - p[0] + 0.2))
    assert float(parts(key)["3a"].final) == ex["loss"]
    np.testing.assert_allclose(ex["gradient"], gradient_np(o, 0, 0.2), atol=1e-12)
    example = parts(key)["3a"].numeric_checks[0]
    clean = dict(example.point.values)
    try:  # exercise 3 is shared by every build in this process: restore it
        for k in clean:
            example.point.values[k] = clean[k] + 1e-5 * (1 + np.abs(clean[k]))
            with pytest.raises(AssertionError, match=f"hinge example, {re.escape(k)}"):
                example()
            example.point.values[k] = clean[k]
    finally:
        example.point.values.update(clean)


def test_hinge_gradient_numpy_matches_sum_formula() -> None:
    rng = np.random.default_rng(5)
    for size in (3, 4, 5):
        o = rng.normal(size=size)
        y, m = int(rng.integers(size)), 0.3
        g = gradient_np(o, y, m)
        h = 1e-6
        fd = [
            (loss_np(o + h * np.eye(size)[i], y, m) - loss_np(o - h * np.eye(size)[i], y, m))
            / (2 * h)
            for i in range(size)
        ]
        np.testing.assert_allclose(g, fd, atol=1e-7)


# --------------------------------------------------------------------------- presentation


def _texts(a: Assignment) -> list[Text]:
    out: list[Text] = []
    for ex in a.exercises:
        out += list(ex.intro)
        for p in ex.parts:
            out += list(p.question) + list(p.remarks)
            out += [b.title for b in p.blocks]
            out += [t.caption for t in p.tables if t.caption is not None]
            for d in p.derivations:
                out += [s.reason for s in d.steps]
    return out


def test_prose_is_ascii_and_maths_is_not_a_truth_value(key: Assignment) -> None:
    for t in _texts(key):
        for item in t.items:
            if isinstance(item, str):
                assert item.isascii(), item
            assert not isinstance(item, sp.logic.boolalg.BooleanAtom), t
            if isinstance(item, tuple):
                assert not any(isinstance(i, sp.logic.boolalg.BooleanAtom) for i in item), t


def test_printer_handles_every_text(key: Assignment) -> None:
    from answerkey.printing import latex, prose

    for t in _texts(key):
        prose(t, "tex", key.notation)
        prose(t, "md", key.notation)
    for p in key.parts():
        if p.final is not None:
            latex(p.final, key.notation)
        for d in p.derivations:
            for s in d.steps:
                latex(s.expr, key.notation)


def test_the_network_figure_shows_the_terms_initial_weights() -> None:
    """Change a weight in the term and the exercise-2 diagram (key and handout) follows."""
    from answerkey import render

    params = copy.deepcopy(p1.PARAMETERS)
    params["trace"]["W"] = [[0.37, 0.7, 0.0], [0.01, 0.43, 0.88]]
    assignment = p1.build(params)
    for kind in ("key", "handout"):
        svg = render.figure_files(assignment, kind)["network.svg"]
        assert "0.37" in svg and "0.60" not in svg
        tex = render.render(assignment, "tex", kind, render.Meta())
        assert "0.37" in tex
    assert "loss-curve.svg" not in render.figure_files(assignment, "handout")
    assert "loss-curve.svg" in render.figure_files(assignment, "key")
