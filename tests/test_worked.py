"""The worked-example and trace feature: an author's exercise with no checks of its own is
computed and checked by the engine; each kind of mistake is refused, naming where."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp

from answerkey import numbers, worked
from answerkey.errors import VerificationError
from answerkey.mathfns import D
from answerkey.model import Instance, Part, text
from answerkey.verify import verify_part
from tests.exercises import softmax_ce as ce


def test_the_authors_exercise_verifies_with_no_check_of_its_own() -> None:
    a = ce.build()
    part = a.parts()[0]
    records = verify_part(a.id, part)
    kinds = {r.kind for r in records}
    assert {"recomputation", "finite-difference", "update", "numbers", "mutation"} <= kinds
    ledger = numbers.ledger(a)
    assert {e["source"] for e in ledger} == {"given", "computed"}
    assert all(e["check"] for e in ledger if e["source"] == "computed")


def test_the_engine_computes_what_numpy_gives() -> None:
    a = ce.build()
    ex = a.parts()[0].numeric_checks[0]
    v = ce.oracle(
        {
            "W": np.array(ce.PARAMETERS["W"]),
            "b": np.array(ce.PARAMETERS["b"]).reshape(-1, 1),
            "x": np.array(ce.PARAMETERS["x"]).reshape(-1, 1),
            "t": np.array(ce.PARAMETERS["t"]).reshape(-1, 1),
        }
    )
    assert float(ex[ce.L]) == pytest.approx(v["L"], rel=1e-12)
    np.testing.assert_allclose(
        np.asarray(ex[D(ce.L, ce.W)].value),
        (v["p"] - np.array(ce.PARAMETERS["t"]).reshape(-1, 1)) @ np.array([[1.0, 2.0]]),
    )


MISTAKES = {
    "gradient": r"softmax-ce, part 2: worked example, D\(L, W\): the engine gives .* central "
    "finite differences",
    "block": r"softmax-ce, part 2, block 1, line L: shows the bare number",
    "block-value": r"softmax-ce, part 2, block 1, line L: shows worked example: L = .* but the "
    "engine computed",
    "cell": r"softmax-ce, part 2, table 1, row 2, column 2: shows the bare number 0.35",
    "question": r"softmax-ce, part 2, question: shows the bare number 0.5",
    "remark-number": r"softmax-ce, part 2, remark 1: shows the number '0.\d+' written into",
    "answer": r"softmax-ce, part 2, stated answer: shows the bare number",
    "fact": r"softmax-ce, part 2, fact 1: D\(L, p\) = .* does not hold: at .* the left side is",
    "remark-equation": r"softmax-ce, part 2, remark 2: D\(L, W\) = \(p \+ t\)\*x.T does not hold",
    "mislabelled": r"softmax-ce, part 2, remark 1: prints z\[0, 0\] = .* \(worked example: L\), "
    r"but it is the value of L; z\[0, 0\] is .* there",
    "block-label": r"softmax-ce, part 2, block 1, line z: prints z = .*, but it is the value of L",
    "answer-lhs": r"softmax-ce, part 2, stated answer: prints z\[0, 0\] = .*, but it is the value "
    "of L",
    "given-for-computed": r"softmax-ce, part 2, remark 1: prints L = 0.3 \(loss\), but L is "
    r"computed in worked example",
    "given-other-value": r"softmax-ce, part 2, remark 1: prints x = .*, but worked example takes "
    r"x = \[1\. 2\.\]",
    # issue 20: every printed number bound to what it names
    "given-gradient": r"softmax-ce, part 2, remark 1: prints D\(L, b\) = .* \(dL/db\), but "
    r"∂L/∂b is a derivative: only the engine's value",
    "given-new-value": r"softmax-ce, part 2, remark 1: prints W' = .*, but W' is computed in one "
    r"SGD step",
    "free-label": r"softmax-ce, part 2: worked example: the label p_2 is not a quantity of the "
    r"model: it would print p_2 = the value of L",
    "text-label": r"softmax-ce, part 2: worked example: the label 'p_2' is text",
    "text-label-line": r"softmax-ce, part 2, block 1, line p_2: prints worked example: L under the "
    r"text label 'p_2'",
    "swapped-labels": r"softmax-ce, part 2: one SGD step: the label b' is printed over the new "
    r"value of W: label it W' or W_next",
    "step-label": r"softmax-ce, part 2: one SGD step: the label Delta_W is printed over the new "
    r"value of W",
    "cell-label": r"softmax-ce, part 2, table 1, row 2, column 2 \(p\): prints p = .* "
    r"\(worked example: z\[2\]\)",
    "cell-quantity": r"softmax-ce, part 2, table 2?1, row 1, column 3 \(D\(L, b\)\): prints "
    r"D\(L, b\) = .* \(worked example: L\)",
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_mistake_is_refused_naming_where(mistake: str) -> None:
    a = ce.build(mistake=mistake)
    with pytest.raises(VerificationError, match=MISTAKES[mistake]):
        verify_part(a.id, a.parts()[0])


def test_a_wrong_update_is_refused() -> None:
    a = ce.build()
    step = a.parts()[0].numeric_checks[1]
    point = step.steps[0]
    key = next(k for k in point.values if k.startswith("W"))
    point.values[key] = point.values[key] + 1e-4
    with pytest.raises(
        VerificationError, match=r"update 1 .*W'.*-learning rate × finite differences"
    ):
        verify_part(a.id, a.parts()[0])


def test_a_number_from_an_unverified_object_is_refused() -> None:
    a = ce.build()
    part = a.parts()[0]
    part.numeric_checks = [part.numeric_checks[1]]
    for o in ("worked example",):
        with pytest.raises(VerificationError, match=f"comes from '{o}', which no part"):
            numbers.audit(a)


def test_value_of_an_expression_checks_against_exact_substitution() -> None:
    y = sp.Symbol("y")
    v = worked.value("bound", y**2 / 2, y**2 / 2, {y: -1.0})
    assert float(v[y**2 / 2]) == 0.5
    assert v()[0].kind == "recomputation"
    v.point.values[sp.sstr(y**2 / 2)] = np.array([[0.5 + 1e-6]])
    with pytest.raises(AssertionError, match="exact substitution"):
        v()


def test_a_kink_within_the_step_takes_the_side_the_engine_takes() -> None:
    u, f = sp.Symbol("u"), sp.Symbol("f")
    from answerkey.mathfns import relu

    inst = Instance(defs={f: relu(u)})
    ex = worked.example(
        "kink", inst, {u: 0.0}, [D(f, u)], oracle=lambda v: {"f": max(float(v["u"]), 0.0)}
    )
    records = ex()
    assert "one-sided" in records[-1].detail
    assert float(ex[D(f, u)]) == 0.0


def test_the_kits_network_and_optimizer_drive_a_worked_example_and_a_trace() -> None:
    """The authoring kit's description gives the definitions and the oracle; its SGD the rule."""
    from answerkey.kit import network as kit
    from answerkey.kit import optim

    net = kit.Network(
        2, [kit.linear(3), kit.sigmoid(), kit.linear(2), kit.softmax()], kit.cross_entropy()
    )
    inst = net.instance({})
    at = {
        net["x"]: [[0.5], [-1.0]],
        net["W1"]: [[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]],
        net["b1"]: [[0.0], [0.1], [0.2]],
        net["W2"]: [[0.3, -0.2, 0.1], [0.0, 0.4, -0.5]],
        net["b2"]: [[0.1], [-0.1]],
        net["t"]: [[0.0], [1.0]],
    }
    ex = worked.example(
        "kit example", inst, at, [net["y2"], net["E"], D(net["E"], net["W1"])], oracle=net.forward
    )
    assert {r.kind for r in ex()} == {"recomputation", "finite-difference"}
    params = {net["W2"]: at[net["W2"]]}
    sample = {k: v for k, v in at.items() if k != net["W2"]}
    t = worked.trace(
        "kit trace",
        inst,
        params,
        [sample],
        net["E"],
        optim.SGD(0.5),
        2,
        [(sp.Symbol("W2'"), worked.NewValueOf(net["W2"]))],
        oracle=net.forward,
    )
    assert t()[-1].kind == "update"


def test_a_number_stated_beside_another_quantity_equal_to_it_is_accepted() -> None:
    a = ce.build()
    part = a.parts()[0]
    ex = part.numeric_checks[0]
    # the loss's value, beside an expression that evaluates to it at the example
    assert ex.states("L", ce.L, ex[ce.L].value) is None
    assert ex.states("L", 2 * ce.L / 2, ex[ce.L].value) is None
    assert "not of" in (ex.states("L", sp.Symbol("q"), ex[ce.L].value) or "")
    assert "one entry of" in (ex.states("p", ce.p, ex[ce.p][0].value, (0,)) or "")


def test_a_trace_run_with_a_learning_rate_the_key_does_not_print_is_refused() -> None:
    a = ce.build(mistake="hidden-rate")
    with pytest.raises(
        VerificationError,
        match=r"softmax-ce, part 2, question: prints learning rate = 0.5, but one SGD step is "
        "computed with the learning rate = 0.05",
    ):
        numbers.audit(a)
    numbers.audit(ce.build())


def test_a_trace_rate_printed_only_in_a_remark_is_not_its_input() -> None:
    # 0.05 in a remark, 0.5 in the question: the trace's rate is not printed as its input
    a = ce.build(mistake="rate-in-remark")
    with pytest.raises(VerificationError, match=r"prints learning rate = 0.5, but one SGD step"):
        numbers.audit(a)
    part = a.parts()[0]
    (question,) = part.question  # without its contradicting rate: still refused
    part.question = [text(*question.items[:-3], ".")]
    with pytest.raises(
        VerificationError,
        match=r"softmax-ce, part 2: one SGD step is computed from the learning rate = 0.05, "
        r"which the key does not print as its input \(it is printed only in a remark",
    ):
        numbers.audit(a)


def test_an_input_stated_in_another_form_is_declared_so() -> None:
    a = ce.build()
    ex = a.parts()[0].numeric_checks[0]
    ex.inputs = {**ex.inputs, ce.t: worked.given([[7.0], [7.0], [7.0]], "target")}
    with pytest.raises(VerificationError, match=r"computed from t = .*which the key does not"):
        numbers.audit(a)
    ex.inputs[ce.t] = worked.given(ex.inputs[ce.t], "target", stated_as="the class, in words")
    numbers.audit(a)


def _kit_example(oracle: Any) -> Part:
    from answerkey.kit import network as kit

    net = kit.Network(2, [kit.linear(3, bias=False), kit.tanh()], kit.squared_error())
    at = {net["x"]: [[0.5], [-1.0]], net["W1"]: [[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]]}
    at[net["t"]] = [[0.0], [1.0], [0.5]]
    ex = worked.example("ex", net.instance({}), at, [net["z1"], net["E"]], oracle=oracle)
    return Part("c", "numbers", [], blocks=[ex.block(text("b"))], numeric_checks=[ex])


@pytest.mark.parametrize(
    ("oracle", "says"),
    [
        (lambda v: 0.25, r"ex, z1: the oracle gives no value for 'z1' \(it returned a single "),
        (lambda v: {"z1": [1.0, 2.0], "E": 1.0}, r"ex, z1: the oracle's 'z1' has shape \(2,\), "),
        (
            lambda v: v["z2"],
            r"ex: the oracle raised KeyError: 'z2'; a worked example's or trace's oracle takes "
            r"the given values by name \(W1, t, x\)",
        ),
        (lambda v: "E", r"ex: the oracle returned a str; a worked example's or trace's oracle"),
    ],
    ids=["the loss alone", "a stage of the wrong shape", "raises", "a string"],
)
def test_an_oracle_breaking_its_contract_is_refused_naming_the_part(oracle: Any, says: str) -> None:
    with pytest.raises(VerificationError, match=r"^verification failed: demo, part c: " + says):
        verify_part("demo", _kit_example(oracle))


def test_an_oracle_returning_the_loss_alone_serves_its_gradients() -> None:
    from answerkey.kit import network as kit

    net = kit.Network(2, [kit.linear(3, bias=False), kit.tanh()], kit.squared_error())
    at = {net["x"]: [[0.5], [-1.0]], net["W1"]: [[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]]}
    at[net["t"]] = [[0.0], [1.0], [0.5]]
    ex = worked.example("ex", net.instance({}), at, [net["E"], D(net["E"], net["W1"])], net.oracle)
    assert {r.kind for r in ex()} == {"recomputation", "finite-difference"}


def _kit_step(show: list[Any]) -> tuple[Any, Any]:
    from answerkey.kit import network as kit

    net = kit.Network(2, [kit.linear(3), kit.softmax()], kit.cross_entropy())
    at = net.given({"x": [1.0, -2.0], "W1": [[0.2, -0.1], [0.4, 0.3], [-0.5, 0.1]]}, {})
    at |= net.given({"b1": [0.1, 0.0, -0.2], "t": [0, 1, 0]}, {})
    params = {net["W1"]: at[net["W1"]], net["b1"]: at[net["b1"]]}
    sample = [{net["x"]: at[net["x"]], net["t"]: at[net["t"]]}]
    rate = worked.SGD(worked.given(0.5, "learning rate"))
    return net, net.trace("step", {}, params, sample, rate, 1, show)


def test_the_loss_after_an_update_is_a_quantity_of_the_trace() -> None:
    net, step = _kit_step([sp.Symbol("E"), worked.LossAfter()])
    point = step.steps[0]
    assert list(point.numbers) == ["E", "E'"]  # labelled by the engine, after the loss before
    w, b = (np.asarray(step.steps[0].new[net[k]]) for k in ("W1", "b1"))
    after = net.forward({"x": np.array([[1.0], [-2.0]]), "W1": w, "b1": b, "t": np.eye(3)[:, [1]]})
    assert float(step.steps[0][sp.Symbol("E'")]) == pytest.approx(after["E"], rel=1e-12)
    assert float(point[sp.Symbol("E'")]) < float(point[sp.Symbol("E")])
    assert any(r.kind == "update" for r in step())
    point.values["E'"] = point.values["E'"] + 1e-3  # a wrong loss after the step is refused
    with pytest.raises(worked.WorkedError, match=r"update 1 .*E': the engine gives"):
        step()


def test_the_loss_after_an_update_is_checked_whatever_the_optimizer() -> None:
    """The oracle is the second path of the loss after each update under an optimizer with
    state too. Here the definitions say E = (a x^2 + b y^2)/2 and the oracle twice that:
    Adam's steps do not see a gradient's scale, so only the loss after the update can
    refuse it (it was not compared for an optimizer with state: a wrong E_t printed)."""
    from answerkey.kit import optim

    x, y, a, b, E, E_t = sp.symbols("x y a b E E_t")
    bowl = Instance(defs={E: (a * x**2 + b * y**2) / 2})

    def twice(v: Any) -> dict[str, float]:
        return {"E": v["a"] * v["x"] ** 2 + v["b"] * v["y"] ** 2}

    def g(value: float, label: str) -> numbers.Number:
        return worked.given(value, label, exact=True)

    adam = optim.Adam(g(0.05, "eta"), g(0.9, "beta1"), g(0.999, "beta2"), g(1e-8, "epsilon"))
    start = {x: g(1.0, "x"), y: g(1.0, "y")}
    sample = [{a: g(1.0, "a"), b: g(10.0, "b")}]
    show = [(E_t, worked.LossAfter())]
    trace = worked.trace("Adam", bowl, start, sample, E, adam, 2, show, twice)
    with pytest.raises(worked.WorkedError, match=r"Adam, update 1 .*E_t: the engine gives"):
        trace()
    honest = worked.trace(
        "Adam", bowl, start, sample, E, adam, 2, show, lambda v: {"E": twice(v)["E"] / 2}
    )
    assert any(r.kind == "update" for r in honest())


def test_an_update_shown_alone_labels_itself() -> None:
    _, step = _kit_step([worked.NewValueOf(sp.MatrixSymbol("W1", 3, 2))])
    assert list(step.steps[0].numbers) == ["W1'"]
    assert step.steps[0].labels["W1'"] == sp.MatrixSymbol("W1'", 3, 2)


def test_an_entry_is_shown_and_indexed_1_based() -> None:
    a = ce.build()
    ex = a.parts()[0].numeric_checks[0]
    entry = ex[ce.p[1, 0]]  # p_2: the second entry of p
    assert float(entry) == float(np.asarray(ex[ce.p].value).reshape(-1)[1])
    assert entry.label == "worked example: p[2,1]"
    assert ex.states("p", ce.p[1, 0], entry.value, entry.index) is None
    assert "entry 2 of p, not p_3" in (ex.states("p", ce.p[2, 0], entry.value, entry.index) or "")
    shown = worked.example("entries", ce.MODEL, ex.inputs, [ce.p[1, 0]], oracle=ce.oracle)
    assert float(shown[ce.p[1, 0]]) == float(entry)
    assert shown() and shown.block(text("p_2")).lines[0][0] == ce.p[1, 0]


def test_asking_for_a_value_not_shown_says_what_to_do() -> None:
    from answerkey.errors import AuthoringError

    ex = ce.build().parts()[0].numeric_checks[0]
    with pytest.raises(AuthoringError, match=r"worked example: y is not among the values it shows"):
        ex[sp.Symbol("y")]
    with pytest.raises(AuthoringError, match=r"p_5 is outside p, which has shape \(3, 1\)"):
        ex[ce.p[4, 0]]
    with pytest.raises(AuthoringError, match=r"step: NewValueOf\(x\) but the trace updates only"):
        _kit_step([worked.NewValueOf(sp.MatrixSymbol("x", 2, 1))])
    _, step = _kit_step([sp.Symbol("E")])
    with pytest.raises(AuthoringError, match=r"block\(1, \.\.\.\) asks for update 2, but the"):
        step.block(1, text("no such update"))
    with pytest.raises(AuthoringError, match=r"totals\(y1\) needs y1 among the values"):
        step.totals(sp.MatrixSymbol("y1", 3, 1))


def test_a_declared_label_names_its_quantity() -> None:
    ex = ce.build().parts()[0].numeric_checks[0]
    named = worked.example(
        "named", ce.MODEL, ex.inputs, [worked.named("delta", D(ce.L, ce.b))], oracle=ce.oracle
    )
    assert named() and float(named[sp.Symbol("delta")][0]) == float(ex[D(ce.L, ce.b)][0])
