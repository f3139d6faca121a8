"""kit.optim: each optimizer's NumPy update agrees with the rule the key prints, and a trace
refuses an update or a printed rule that is wrong, at the update where they part."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
import sympy as sp

from answerkey import printing, worked
from answerkey.errors import AuthoringError
from answerkey.kit import optim
from answerkey.model import Instance

x, y, a, b, E = sp.symbols("x y a b E")
BOWL = Instance(defs={E: (a * x**2 + b * y**2) / 2})
STATEFUL = [
    optim.Momentum(0.1, 0.9),
    optim.Nesterov(0.1, 0.9),
    optim.AdaGrad(0.1),
    optim.RMSProp(0.1, 0.9),
    optim.Adam(0.1, 0.9, 0.999),
]


def oracle(v: Mapping[str, Any]) -> dict[str, float]:
    return {"E": 0.5 * (v["a"] * v["x"] ** 2 + v["b"] * v["y"] ** 2)}


def trace(opt: Any, show: list[Any] | None = None, steps: int = 3) -> worked.Trace:
    new = [(sp.Symbol("x'"), worked.NewValueOf(x)), (sp.Symbol("y'"), worked.NewValueOf(y))]
    start, bowl = {x: 1.0, y: -0.5}, [{a: 1.0, b: 10.0}]
    return worked.trace("t", BOWL, start, bowl, E, opt, steps, show or [E, *new], oracle)


@pytest.mark.parametrize("opt", STATEFUL, ids=lambda o: o.NAME)
def test_the_numpy_update_and_the_printed_rule_agree_over_several_updates(opt: Any) -> None:
    rule = opt.entrywise()
    rng = np.random.default_rng(3)
    state = {s.name: np.zeros(4) for s in rule.state}
    w = rng.normal(size=4)
    for count in range(1, 6):
        g = rng.normal(size=4)
        step, lines = opt.update(g, state, count)
        by_rule = rule.evaluate(w, g, state, count)
        assert by_rule[rule.updated(rule.parameter).name] == pytest.approx(w + step)
        for name, value in lines.items():
            assert by_rule[name] == pytest.approx(value)
        state = {s.name: by_rule[rule.updated(s).name] for s in rule.state}
        w = w + step


@pytest.mark.parametrize("opt", [optim.SGD(0.1), *STATEFUL], ids=lambda o: o.NAME)
def test_a_trace_checks_every_update_against_the_rule(opt: Any) -> None:
    records = trace(opt)()
    assert records[-1].kind == "update"
    assert "3 updates" in records[-1].detail


def test_adams_first_step_has_the_learning_rate_as_its_length_in_every_coordinate() -> None:
    t = trace(optim.Adam(0.1), steps=1)
    assert t.steps[0].values["x'"].ravel() == pytest.approx([0.9])
    assert t.steps[0].values["y'"].ravel() == pytest.approx([-0.4])


def test_the_rules_print_in_the_courses_notation() -> None:
    lines = [printing.latex(line) for line in optim.Adam(0.1).entrywise_lines()]
    assert lines[0] == r"m_{t} = \beta_{1} m_{t-1} + g_{t} \left(1 - \beta_{1}\right)"
    assert lines[2] == r"\hat{m}_t = \frac{m_{t}}{1 - \beta_{1}^{t}}"


class NoBiasCorrection(optim.Adam):
    """A planted wrong step: the NumPy update forgets the bias correction after update 1."""

    def update(self, g: Any, state: Any, count: int) -> Any:
        return super().update(g, state, 1)


class PrintsNoBiasCorrection(optim.Adam):
    """A planted wrong rule: the key would print m-hat_t = m_t."""

    def lines(self) -> list[tuple[sp.Symbol, Any]]:
        out = super().lines()
        out[2] = (out[2][0], out[0][0])
        return out


class ForgetsVelocity(optim.Momentum):
    """A planted wrong state: the velocity is not carried to the next update."""

    def update(self, g: Any, state: Any, count: int) -> Any:
        return super().update(g, {k: 0 * v for k, v in state.items()}, count)


def test_a_numpy_step_without_bias_correction_is_refused_at_update_2() -> None:
    with pytest.raises(worked.WorkedError, match=r"update 2 .*x'.*the optimizer's rule"):
        trace(NoBiasCorrection(0.1))()


def test_a_printed_rule_without_bias_correction_is_refused() -> None:
    with pytest.raises(worked.WorkedError, match="update 1"):
        trace(PrintsNoBiasCorrection(0.1))()


def test_a_velocity_that_is_not_carried_is_refused() -> None:
    with pytest.raises(worked.WorkedError, match="update 2"):
        trace(ForgetsVelocity(0.1, 0.9))()


def test_a_shown_rule_line_is_checked_too() -> None:
    m_hat = sp.Symbol(r"\hat{m}_t")
    t = trace(optim.Adam(0.1), [worked.LineOf(x, m_hat)])
    assert t()[-1].kind == "update"
    t.steps[1].values[r"\hat{m}_t"] = t.steps[1].values[r"\hat{m}_t"] + 0.01
    with pytest.raises(worked.WorkedError, match=r"update 2.*hat\{m\}_t"):
        t()


def test_a_rule_line_is_labelled_by_its_own_symbol_or_with_the_update_for_t() -> None:
    m_hat = sp.Symbol(r"\hat{m}_t")
    with pytest.raises(worked.WorkedError, match=r"label mhat is printed over the line"):
        trace(optim.Adam(0.1), [(sp.Symbol("mhat"), worked.LineOf(x, m_hat))])()
    t = trace(optim.Adam(0.1), [(sp.Symbol(r"\hat{m}_1"), worked.LineOf(x, m_hat))])
    assert t()[-1].kind == "update"
    first, second = t.steps[0], t.steps[1]
    shown = first.values[r"\hat{m}_1"]
    assert first.states(r"\hat{m}_1", sp.Symbol(r"\hat{m}_1"), shown) is None
    assert "at update 2, not at update 1" in str(
        second.states(r"\hat{m}_1", sp.Symbol(r"\hat{m}_1"), second.values[r"\hat{m}_1"])
    )
    assert "not m_1" in str(first.states(r"\hat{m}_1", sp.Symbol("m_1"), shown))


def test_two_parameters_printing_the_same_line_in_one_trace_are_refused() -> None:
    m = sp.Symbol("m_t")
    with pytest.raises(AuthoringError, match="m_t is shown twice"):
        trace(optim.Adam(0.1), [worked.LineOf(x, m), worked.LineOf(y, m)])


def test_a_later_update_prints_a_parameter_labelled_by_its_update() -> None:
    t = trace(optim.Momentum(0.1, 0.9), [x, E])
    n = t.steps[1][x]
    assert n.label == "t, update 2: x" and n.key == "update 2: x"
    assert t.value_of(n.key) == pytest.approx(float(np.asarray(n.value)))
    assert t.states(n.key, x, n.value) is None
    assert "new value of x at update 1" in t.check_of(n.key)


def test_hyperparameters_are_listed_for_the_ledger() -> None:
    assert [n for n, _ in optim.Adam(0.1, 0.8, 0.99).hyperparameters()] == [
        "beta 1",
        "beta 2",
        "epsilon",
    ]
    text = printing.latex(optim.Momentum(0.1, 0.9).entrywise_lines()[1])
    assert text == r"w_{t} = w_{t-1} + v_{t}"


def test_every_registered_optimizer_is_tested_here() -> None:
    """Adding an optimizer is one class with a `kind` (it registers itself) and its test:
    a registered class missing from this module's list fails here."""
    assert set(optim.OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}
    assert {type(o) for o in STATEFUL} | {optim.SGD} == set(optim.OPTIMIZERS.values())
    for kind, cls in optim.OPTIMIZERS.items():
        assert issubclass(cls, optim.Optimizer) and cls.kind == kind and cls.NAME


def test_a_new_optimizer_registers_itself_by_its_kind() -> None:
    class Halving(optim.Stateful):
        kind = "halving-test"
        NAME = "Halving"

    try:
        assert optim.OPTIMIZERS["halving-test"] is Halving
    finally:
        del optim.OPTIMIZERS["halving-test"]


def test_a_parameter_shown_beside_its_new_value_prints_at_a_later_update_as_itself() -> None:
    """x at update 2 is the new value x' of update 1, printed as x at update 2 (the binding
    reads it there); it was x' of update 1, which the binding refused as x."""
    x_new = sp.Symbol("x'")
    t = trace(optim.Momentum(0.1, 0.9), [x, E, (x_new, worked.NewValueOf(x))])
    assert t()[-1].kind == "update"
    n = t.steps[1][x]
    assert n.label == "t, update 2: x" and n.value == t.steps[0][x_new].value
    assert t.states(n.key, x, n.value) is None
    assert t.states(t.steps[0][x_new].key, x, n.value) is not None  # x' of update 1 is not x


def test_a_hyperparameter_typed_into_the_code_is_not_printed() -> None:
    """The trial's hole: RMSProp(rate, 0.8) printed rho = 0.8, a value no term could change."""
    rate = worked.given(0.1, "learning rate")
    with pytest.raises(AuthoringError, match=r"RMSProp: rho is the plain number 0.8 typed"):
        optim.RMSProp(rate, 0.8).statement()
    with pytest.raises(AuthoringError, match=r"Adam: beta2 is the plain number 0.99 typed"):
        optim.Adam(rate, worked.given(0.9, "beta1"), 0.99).statement()
    with pytest.raises(AuthoringError, match=r"SGD: learning_rate is the plain number 0.5"):
        optim.SGD(0.5).statement()
    # given numbers, and the optimizer's own defaults, are printed
    rho = worked.given(0.8, "decay rho")
    assert "0.8" in printing.latex(optim.RMSProp(rate, rho).statement())
    assert "0.999" in printing.latex(optim.Adam(rate).statement())
