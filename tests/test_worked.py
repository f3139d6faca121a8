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
        match=r"softmax-ce, part 2: one SGD step is computed from the learning rate = 0.05, "
        "which the key does not print",
    ):
        numbers.audit(a)
    numbers.audit(ce.build())


def test_an_input_stated_in_another_form_is_declared_so() -> None:
    a = ce.build()
    ex = a.parts()[0].numeric_checks[0]
    ex.inputs = {**ex.inputs, ce.t: worked.given([[7.0], [7.0], [7.0]], "t")}
    with pytest.raises(VerificationError, match=r"computed from t = .*which the key does not"):
        numbers.audit(a)
    ex.inputs[ce.t] = worked.given(ex.inputs[ce.t], "t", stated_as="the class, in words")
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
