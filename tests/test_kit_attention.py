"""kit.attention: one query's scaled dot-product attention, the softmax Jacobian and the
gradient by the query proved at sizes that all differ; a Jacobian without its outer product
(the diagonal only) or a gradient without the 1/sqrt(d) scale is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from answerkey.errors import VerificationError
from answerkey.kit import attention as att
from answerkey.kit.fragments import Fragment
from answerkey.mathfns import D, T, diag, mm
from answerkey.model import Derivation, Step, text
from answerkey.verify import verify_derivation


def test_the_oracle_weights_sum_to_one_and_mix_the_values() -> None:
    v = {"q": [1.0, 0.0], "K": np.eye(2)[[0, 1, 0]], "V": [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]}
    out = att.oracle({**v, "g": [1.0, 0.0]})
    assert float(out["a"].sum()) == pytest.approx(1.0)
    assert out["o"].ravel() == pytest.approx(np.asarray(v["V"]).T @ out["a"].ravel())


def test_the_jacobian_and_the_query_gradient_are_proved() -> None:
    for d in (att.jacobian_derivation(), att.query_derivation()):
        records = verify_derivation(str(d.lhs), d, np.random.default_rng(0))
        assert any("rational identity" in r.detail for r in records)


def test_the_diagonal_only_jacobian_is_refused() -> None:
    inst = att.jacobian_derivation().instances
    d = Derivation(D(att.a, att.s), (Step(diag(att.a), text("diagonal only")),), inst)
    with pytest.raises(VerificationError):
        verify_derivation("jacobian", d, np.random.default_rng(0))


def test_a_query_gradient_without_the_scale_is_refused() -> None:
    unscaled = mm(T(att.g), T(att.V), att.jacobian(), att.K)
    d = Derivation(
        D(att.E, att.q), (Step(unscaled, text("no scale")),), (att.instance(),), att.oracle
    )
    with pytest.raises(VerificationError):
        verify_derivation("query", d, np.random.default_rng(0))


def test_its_fragments_are_verified_and_a_wrong_result_is_refused() -> None:
    """`att.fragments()`: each backward rule, citable, verified by the engine; the same
    derivation ending in a wrong result is refused."""
    for fragment in att.fragments():
        assert {"symbolic"} <= {r.kind for r in fragment.verify()}, fragment.name
    d = att.fragments()[0].derivation
    wrong = Step(2 * d.steps[-1].expr, d.steps[-1].reason)
    bad = Fragment("wrong", dataclasses.replace(d, steps=(wrong,)), {})
    with pytest.raises(VerificationError):
        bad.verify()
