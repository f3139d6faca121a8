"""kit.instances: a network and its mini-batch make the verifier's Instance the same way, from
their own definitions and their loss's assumptions on the targets."""

from __future__ import annotations

import pytest
import sympy as sp

from answerkey import kit
from answerkey.kit.instances import Instantiable

n, k, m = sp.symbols("n k m", integer=True, positive=True)
NET = kit.Network(n, [kit.linear(k), kit.softmax()], kit.cross_entropy())


def test_a_network_instance_holds_its_definitions_and_a_one_hot_target() -> None:
    inst = NET.instance({n: 2, k: 3})
    assert set(inst.defs) == set(NET.definitions())
    assert inst.label == "n = 2, k = 3"
    assert set(inst.given) == {"t_3"}  # cross-entropy's target sums to 1: t_3 = 1 - t_1 - t_2


def test_leaf_extra_and_domain_reach_the_instance() -> None:
    extra = {sp.Symbol("c"): sp.Integer(2)}
    inst = NET.instance({n: 2, k: 3}, leaf="z1", extra=extra, domain={"x": (0.0, 1.0)}, label="L")
    assert NET["z1"] not in inst.defs and sp.Symbol("c") in inst.defs
    assert inst.domain["x"] == (0.0, 1.0) and inst.label == "L"


def test_a_batch_instance_states_the_target_of_every_column() -> None:
    batch = NET.batch(m)
    inst = batch.instance({n: 2, k: 3, m: 2})
    assert set(inst.defs) == set(batch.definitions())
    assert set(inst.given) == {"Tb_31", "Tb_32"}  # each column's target sums to 1


def test_a_model_without_target_assumptions_says_so() -> None:
    with pytest.raises(NotImplementedError):
        Instantiable().instance({n: 2})
