"""kit.init: the exact second moment of a unit's input by enumeration, and the variance
identities under Xavier and He proved at n = 3 and 4; a wrong factor is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from answerkey.errors import VerificationError
from answerkey.kit import init
from answerkey.kit.fragments import Fragment
from answerkey.kit.writing import derive
from answerkey.model import Step
from answerkey.verify import verify_derivation


def test_the_enumeration_gives_n_times_the_product_of_variances() -> None:
    assert init.second_moment(3, relu=False) == 3 * init.V_w * init.V_x
    assert init.second_moment(4, relu=True) == 2 * init.V_w * init.V_p


def test_the_enumeration_agrees_with_sampling() -> None:
    rng = np.random.default_rng(0)
    w = rng.choice([-1.0, 1.0], size=(200_000, 3)) * np.sqrt(0.5)
    x = rng.choice([-1.0, 1.0], size=(200_000, 3)) * np.sqrt(2.0)
    exact = float(init.second_moment(3, relu=False).subs({init.V_w: 0.5, init.V_x: 2.0}))
    assert ((w * x).sum(axis=1) ** 2).mean() == pytest.approx(exact, rel=0.02)


def test_xavier_and_he_keep_the_variance() -> None:
    xavier = [init.instance(k, scheme=init.XAVIER) for k in (3, 4)]
    d = derive(init.V_z, [(init.n * init.V_w * init.V_x, "a"), (init.V_x, "Xavier")], xavier)
    assert verify_derivation("xavier", d, np.random.default_rng(0))
    he = [init.instance(k, relu=True, scheme=init.HE) for k in (3, 4)]
    d = derive(init.V_z, [(init.V_p, "He")], he)
    assert verify_derivation("he", d, np.random.default_rng(0))


def test_xavier_with_relu_inputs_halves_the_variance_so_the_claim_is_refused() -> None:
    relu = [init.instance(k, relu=True, scheme=init.XAVIER) for k in (3, 4)]
    d = derive(init.V_z, [(init.V_p, "keeps it?")], relu)
    with pytest.raises(VerificationError):
        verify_derivation("xavier+relu", d, np.random.default_rng(0))
    assert (
        sp.simplify(init.second_moment(3, True).subs(init.V_w, init.XAVIER.subs(init.n, 3)))
        == init.V_p / 2
    )


def test_its_fragments_are_verified_and_a_wrong_result_is_refused() -> None:
    """`init.fragments()`: each backward rule, citable, verified by the engine; the same
    derivation ending in a wrong result is refused."""
    for fragment in init.fragments():
        assert {"symbolic"} <= {r.kind for r in fragment.verify()}, fragment.name
    d = init.fragments()[0].derivation
    wrong = Step(2 * d.steps[-1].expr, d.steps[-1].reason)
    bad = Fragment("wrong", dataclasses.replace(d, steps=(wrong,)), {})
    with pytest.raises(VerificationError):
        bad.verify()
