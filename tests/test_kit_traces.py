"""answerkey.kit.traces: what a key shows of a trace comes from the trace's own numbers."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from answerkey import worked
from answerkey.kit import traces
from answerkey.mathfns import D
from answerkey.model import Instance, text
from answerkey.printing import prose

w, x, y, t_, E = sp.symbols("w x y t E")
LINE = Instance(defs={y: w * x, E: (y - t_) ** 2 / 2}, label="a line")
STEP = sp.Symbol("Delta_w")


def _trace(rate: float = 0.1, iterations: int = 2) -> worked.Trace:
    samples = [{x: 1.0, t_: 2.0}, {x: -0.5, t_: 0.0}]
    show = [x, y, E, D(E, w), (STEP, worked.StepOf(w))]
    return traces.sgd(LINE, E, {w: 0.5}, samples, rate, iterations, show, name="line")


def test_sgd_labels_the_given_numbers_and_checks_every_update() -> None:
    t = _trace()
    assert [s[x].label for s in t.samples] == ["sample 1: x", "sample 2: x"]
    assert t.optimizer.learning_rate.label == "learning rate"
    assert any(r.kind == "update" for r in t())


def test_rows_blocks_and_table_follow_the_updates() -> None:
    t = _trace()
    rows = traces.rows(t, {"input": x, "loss": E, "step": STEP})
    assert [(r["iteration"], r["sample"]) for r in rows] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert list(rows[0]) == ["iteration", "sample", "input", "loss", "step"]
    assert rows[0]["loss"] == pytest.approx(0.5 * (0.5 - 2.0) ** 2)
    assert rows[0]["step"] == pytest.approx(-0.1 * (0.5 - 2.0) * 1.0)
    assert [prose(b.title, "md") for b in traces.blocks(t)][-1] == "Update 4: iteration 2, sample 2"
    table = traces.table(t, [y, E], text("caption"))
    assert table.header == ("update", "iteration", "sample", y, E)
    assert [r[:3] for r in table.rows] == [(1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 2, 2)]
    assert table.rows[2][4] is t.steps[2][E]
    figure = traces.loss_curve(t, E)
    assert figure.name == "loss-curve" and not figure.handout


def test_samples_and_the_trend_are_written_from_the_numbers() -> None:
    t = _trace()
    words = prose(text(*traces.samples(t, [x, t_])), "md")
    assert "sample 1: $x = 1.0000$, $t = 2.0000$; sample 2: $x = -0.5000$" in words
    assert prose(traces.trend(t, E), "md").endswith("it falls.")
    assert "does not fall" in prose(traces.trend(_trace(rate=7.0), E), "md")


def test_grouped_and_when() -> None:
    t = _trace(iterations=3)
    rows = [
        {"iteration": i, "sample": n, "s": s} for i, n, s in [(1, 1, -1), (1, 2, 1), (2, 1, -2)]
    ]
    assert traces.grouped(rows, lambda r: (1,) if r["s"] < 0 else ()) == {(1, (1,)): [1, 2]}
    assert traces.when(t, [1, 2]) == "iteration 1 and 2"
    assert traces.when(t, [1, 2, 3]) == "every iteration"


def test_compare_and_the_transcribed_numbers_of_an_earlier_solution() -> None:
    claims = traces.transcribed("practical-1", "2")
    assert claims[("s_out", 1)] == pytest.approx(0.09859)
    assert claims[("W", 1)].shape == (2, 3) and ("loss", 7) in claims
    rows = [{"a": [1.0, 2.0], "b": 3.0}, {"a": [0.0, 0.0], "b": 1.0}]
    seed = {("a", 1): np.array([[1.0, 2.1]]), ("b", 2): np.array(1.0 + 1e-7)}
    out = traces.compare(rows, seed, [("a", 1), ("b", 1), ("b", 2)], atol=1e-6)
    assert out == [
        {"update": 1, "quantity": "a", "seed": [1.0, 2.1], "ours": [1.0, 2.0], "agrees": False},
        {"update": 2, "quantity": "b", "seed": 1.0 + 1e-7, "ours": 1.0, "agrees": True},
    ]


def test_disagreements_name_the_iteration_and_give_both_values() -> None:
    t = _trace()
    records = [
        {"update": 3, "quantity": "loss", "seed": 0.5, "ours": 0.4, "agrees": False},
        {"update": 1, "quantity": "loss", "seed": 0.4, "ours": 0.4, "agrees": True},
        {"update": 4, "quantity": "loss", "seed": 0.1, "ours": 0.2, "agrees": False},
    ]
    words = prose(text(*traces.disagreements(t, records, E, "old")), "md")
    assert words.startswith("iteration 2 is $0.5000$ (ours $")
    assert "; iteration 2 is $0.1000$" in words
    out = traces.disagreements(t, records, E, "old")
    assert out[1].label == "old: loss of sample 1, iteration 2"
    assert traces.disagreements(t, records[1:2], E, "old") == []


def test_largest_is_the_biggest_size_in_the_rows() -> None:
    rows = [{"a": [1.0, -3.0], "b": 0.5}, {"a": [[2.0]], "b": -2.5}]
    assert traces.largest(rows, ["a", "b"]) == 3.0
    assert traces.largest(rows, ["b"]) == 2.5
    assert traces.largest([], ["a"]) == 0.0
    assert traces.largest([{"a": [1.0, float("inf")]}], ["a"]) == float("inf")


def test_columns_give_each_key_its_label_and_quantity() -> None:
    shown = traces.columns(("input", "x", x), ("step", "Delta_w", worked.StepOf(w)))
    assert list(shown) == ["input", "step"]
    assert shown["input"] == (x, x) and shown["step"][0] == STEP
    t = traces.sgd(LINE, E, {w: 0.5}, [{x: 1.0, t_: 2.0}], 0.1, 1, list(shown.values()))
    rows = traces.rows(t, {key: label for key, (label, _) in shown.items()})
    assert rows[0]["step"] == pytest.approx(-0.1 * (0.5 - 2.0) * 1.0)


def test_part_works_the_trace_and_checks_it_and_the_extra_values() -> None:
    t = _trace()
    extra = worked.value("a bound", "bound", t_**2 / 2, {t_: worked.given(2.0, "t")})
    part = traces.part(t, E, [y, E], text("caption"), [extra], id="9", title="T", question=[])
    assert (part.id, part.title, len(part.blocks)) == ("9", "T", 4)
    assert part.tables[0].header[3:] == (y, E) and part.tables[0].caption == text("caption")
    assert [f.name for f in part.figures] == ["loss-curve"]
    assert len(part.numeric_checks) == 2
    assert traces.part(t, E, [E], text("c"), id="9", title="T", question=[]).numeric_checks


def test_sgd_of_reads_a_terms_trace_table() -> None:
    trace = {
        "learning_rate": 0.1,
        "iterations": 2,
        "samples": [{"in": 1.0, "target": 2.0}, {"in": -0.5, "target": 0.0}],
    }
    show = [x, y, E, D(E, w), (STEP, worked.StepOf(w))]
    t = traces.sgd_of(LINE, E, {w: 0.5}, trace, {"in": x, "target": t_}, show)
    ref = _trace()
    assert [s[x].label for s in t.samples] == ["sample 1: x", "sample 2: x"]
    assert t.iterations == 2 and float(t.samples[1][t_].value) == 0.0
    assert [p[E].plain() for p in t.steps] == [p[E].plain() for p in ref.steps]


def test_plain_row_puts_arrays_as_lists_in_the_keys_order() -> None:
    row = traces.plain_row(["n", "v", "m"], [1, np.array([0.5, -1.0]), np.eye(2)])
    assert row == {"n": 1, "v": [0.5, -1.0], "m": [[1.0, 0.0], [0.0, 1.0]]}
    assert type(row["v"]) is list and type(row["m"][0][0]) is float
    with pytest.raises(ValueError):
        traces.plain_row(["n"], [1, 2])
