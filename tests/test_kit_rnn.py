"""kit.rnn: a tanh RNN's gradient through time proved at T = 3 (as a sum over time and with
its common factors out), the product of Jacobians, and an LSTM step; the last step's term
alone is refused as the gradient."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from answerkey import worked
from answerkey.errors import VerificationError
from answerkey.kit import rnn
from answerkey.kit.fragments import Fragment
from answerkey.kit.writing import derive
from answerkey.mathfns import D
from answerkey.model import Step
from answerkey.verify import verify_derivation

RNN = rnn.TanhRNN(3)


def test_the_oracle_runs_the_cell_forward() -> None:
    out = RNN.oracle(
        {"h_0": 0.0, "x_1": 1.0, "x_2": 0.0, "x_3": 0.0, "w": 1.0, "u": 1.0, "b": 0.0, "y": 0.0}
    )
    assert out["h_1"] == pytest.approx(np.tanh(1.0))
    assert out["h_3"] == pytest.approx(np.tanh(np.tanh(np.tanh(1.0))))


@pytest.mark.parametrize("name", ["w", "u", "b"])
def test_the_gradient_through_time_is_proved(name: str) -> None:
    p = getattr(RNN, name)
    steps = [(RNN.through_time(p), "sum"), (RNN.nested(p), "nested"), (RNN.expanded(p), "out")]
    d = derive(D(RNN.E, p), steps, [RNN.instance()], RNN.oracle)
    assert any(
        r.kind == "finite-difference" for r in verify_derivation(name, d, np.random.default_rng(0))
    )


def test_the_last_step_alone_is_refused() -> None:
    h, w = RNN.h, RNN.w
    last_only = (h[3] - RNN.y) * (1 - h[3] ** 2) * h[2]
    d = derive(D(RNN.E, w), [(last_only, "the last step only")], [RNN.instance()], RNN.oracle)
    with pytest.raises(VerificationError):
        verify_derivation("w", d, np.random.default_rng(0))


def test_the_jacobian_product_and_a_missing_factor() -> None:
    h = RNN.h
    right = derive(D(h[3], h[1]), [(RNN.jacobian_product(1, 3), "chain")], [RNN.instance()])
    assert verify_derivation("J", right, np.random.default_rng(0))
    wrong = derive(D(h[3], h[1]), [(RNN.jacobian_product(2, 3), "one factor")], [RNN.instance()])
    with pytest.raises(VerificationError):
        verify_derivation("J", wrong, np.random.default_rng(0))


def test_an_lstm_step_is_checked_against_its_oracle() -> None:
    cell = rnn.LSTMCell()
    numbers = {"x": 1.0, "h_prev": 0.5, "c_prev": 0.2, "w": [0.5, 0.4, -0.3, 0.2]}
    numbers |= {"u": [0.1, 0.2, 0.3, 0.4], "b": [0.0, 0.1, 0.0, -0.1]}
    at = cell.inputs(numbers)
    ex = worked.example("lstm", cell.instance(), at, cell.shown(), cell.oracle)
    assert ex()[0].kind == "recomputation"
    f, i = (float(ex[cell.gate[k]].value) for k in "fi")
    assert f == pytest.approx(1 / (1 + np.exp(-(0.5 + 0.05))))
    assert float(ex[cell.c].value) == pytest.approx(f * 0.2 + i * float(ex[cell.gate["g"]].value))
    assert isinstance(cell.definitions()[cell.h], sp.Mul)


def test_its_fragments_are_verified_and_a_wrong_result_is_refused() -> None:
    """`rnn.fragments()`: each backward rule, citable, verified by the engine; the same
    derivation ending in a wrong result is refused."""
    for fragment in rnn.fragments():
        assert {"symbolic"} <= {r.kind for r in fragment.verify()}, fragment.name
    d = rnn.fragments()[0].derivation
    wrong = Step(2 * d.steps[-1].expr, d.steps[-1].reason)
    bad = Fragment("wrong", dataclasses.replace(d, steps=(wrong,)), {})
    with pytest.raises(VerificationError):
        bad.verify()
