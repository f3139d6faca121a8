"""kit.norm: batch (and layer) normalisation's forward pass, its backward pass in compact form
proved at two batch sizes, the NumPy backward through the graph, and running statistics; a
compact form with a term dropped is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from answerkey.errors import VerificationError
from answerkey.kit import norm
from answerkey.kit.fragments import Fragment
from answerkey.mathfns import D, T
from answerkey.model import Derivation, Step, text
from answerkey.verify import verify_derivation

BN = norm.Normalisation()
INSTANCES = (BN.instance(3), BN.instance(4))


def test_the_oracle_normalises_to_mean_0_and_variance_about_1() -> None:
    out = BN.oracle(
        {"x": [1.0, 2.0, 4.0, 5.0], "g": [0.0] * 4, "gamma": 1.0, "beta": 0.0, "epsilon": 0.0}
    )
    assert out["mu"] == 3.0 and out["sigma2"] == 2.5
    assert float(np.mean(out["z"])) == pytest.approx(0.0) and float(
        np.var(out["z"])
    ) == pytest.approx(1.0)


def test_the_numpy_backward_through_the_graph_is_the_compact_form() -> None:
    rng = np.random.default_rng(2)
    x, g, gamma, eps = rng.normal(size=5), rng.normal(size=5), 1.7, 0.1
    s = np.sqrt(x.var() + eps)
    z = (x - x.mean()) / s
    compact = gamma / s * (g - g.mean() - z * (g * z).mean())
    assert BN.np_backward(x, g, gamma, eps) == pytest.approx(compact)


def test_every_derivation_is_proved_at_two_batch_sizes() -> None:
    for d in BN.derivations(list(INSTANCES)):
        records = verify_derivation(str(d.lhs), d, np.random.default_rng(0))
        assert any(r.kind == "finite-difference" for r in records)


@pytest.mark.parametrize("dropped", ["mean", "variance"])
def test_a_compact_form_with_a_term_dropped_is_refused(dropped: str) -> None:
    kept = -BN.mu_gz * BN.z if dropped == "mean" else -BN.mu_g * BN.ones
    wrong = T((BN.gamma / BN.s) * sp.MatAdd(BN.g, kept))
    d = Derivation(D(BN.E, BN.x), (Step(wrong, text("compact")),), INSTANCES, BN.oracle)
    with pytest.raises(VerificationError):
        verify_derivation("bn", d, np.random.default_rng(0))


def test_running_statistics_and_the_test_time_output() -> None:
    v = {"x": [1.0, 2.0, 4.0, 5.0], "rho": 0.9, "mu_run": 0.0, "sigma2_run": 1.0}
    v |= {"gamma": 2.0, "beta": 0.5, "epsilon": 0.01, "x_test": 2.0}
    out = norm.running_oracle(v)
    assert (out["mu_new"], out["sigma2_new"]) == pytest.approx((0.3, 1.15))
    assert out["y_test"] == pytest.approx(2.0 * 1.7 / np.sqrt(1.16) + 0.5)
    inst = norm.running(BN, 4)
    assert set(inst.defs) >= {norm.MU_NEW, norm.VAR_NEW, norm.Y_TEST}


def test_its_fragments_are_verified_and_a_wrong_result_is_refused() -> None:
    """`norm.fragments()`: each backward rule, citable, verified by the engine; the same
    derivation ending in a wrong result is refused."""
    for fragment in norm.fragments():
        assert {"symbolic"} <= {r.kind for r in fragment.verify()}, fragment.name
    d = norm.fragments()[0].derivation
    wrong = Step(2 * d.steps[-1].expr, d.steps[-1].reason)
    bad = Fragment("wrong", dataclasses.replace(d, steps=(wrong,)), {})
    with pytest.raises(VerificationError):
        bad.verify()
