"""kit.rows: a row-layout ReLU network's symbols and definitions are as written (s = x W),
and its NumPy oracle agrees with the definitions, by hand and at random points."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp

from answerkey.kit import traces
from answerkey.kit.rows import RowNetwork
from answerkey.mathfns import elementwise, relu
from answerkey.printing import latex

NET = RowNetwork("x", 2, [("W", "s", "z", 3), ("w", "s_out", "z_out", 1)], "y", "L")


def test_symbols_and_definitions_are_as_written() -> None:
    x, W, w, s, z, y, s_out, z_out, L = NET.get("x W w s z y s_out z_out L")
    assert (x.shape, W.shape, w.shape, s.shape) == ((1, 2), (2, 3), (3, 1), (1, 3))
    assert all(isinstance(v, sp.Symbol) for v in (y, s_out, z_out, L))
    assert list(NET.defs.items()) == [
        (s, x * W),
        (z, elementwise("relu", s)),
        (s_out, z * w),
        (z_out, relu(s_out)),
    ]
    assert latex(NET.defs[s]) == "x W"  # the order written, not W^T x^T
    inst = NET.instance("net")
    assert inst.label == "net" and inst.defs[L] == (z_out - y) ** 2 / 2


def test_the_last_layer_must_be_one_output_unit() -> None:
    with pytest.raises(ValueError, match="one output unit"):
        RowNetwork("x", 2, [("W", "s", "z", 3), ("w", "s_out", "z_out", 2)], "y", "L")
    with pytest.raises(ValueError, match="one output unit"):
        RowNetwork("x", 2, [], "y", "L")


def test_the_oracle_by_hand_and_with_a_pre_activation_given() -> None:
    v = {"x": [1.0, -1.0], "W": [[1.0, 0.5, -1.0], [2.0, 0.5, 0.0]], "w": [1.0, 2.0, 3.0], "y": 1}
    out = NET.oracle(v)
    np.testing.assert_allclose(out["s"], [-1.0, 0.0, -1.0])
    np.testing.assert_allclose(out["z"], [0.0, 0.0, 0.0])
    assert (out["s_out"], out["z_out"], out["L"]) == (0.0, 0.0, 0.5)
    given = NET.oracle({**v, "s": np.array([0.5, -1.0, 1.0])})
    assert given["s_out"] == pytest.approx(0.5 + 3.0) and given["L"] == pytest.approx(0.5 * 2.5**2)
    assert NET.oracle({**v, "s_out": -2.0})["z_out"] == 0.0


def test_the_oracle_agrees_with_the_definitions_and_a_wrong_one_is_refused() -> None:
    """The engine's trace on the definitions checks every value against the oracle."""
    x, W, w, y, L = NET.get("x W w y L")
    params = {W: [[0.6, 0.7, -0.2], [0.01, 0.43, 0.88]], w: np.array([[0.2], [0.3], [0.9]])}
    sample = [{x: [0.75, 0.8], y: 1.0}]
    shown = [L, NET.symbols["s"], NET.symbols["z_out"]]

    def run(oracle: Any) -> Any:
        return traces.sgd(NET.instance("net"), L, params, sample, 0.2, 1, shown, oracle)()

    assert any(r.kind == "update" for r in run(NET.oracle))
    for name in ("s", "z_out", "L"):

        def wrong(v: Any, name: str = name) -> dict[str, Any]:
            return {**NET.oracle(v), name: NET.oracle(v)[name] + 1e-3}

        with pytest.raises(AssertionError, match=rf"trace, update 1 .*{name}"):
            run(wrong)


def test_weights_shape_a_terms_numbers_as_the_matrices() -> None:
    W, w = NET.get("W w")
    found = NET.weights({"W": [[1, 2, 3], [4, 5, 6]], "w": [7, 8, 9], "x": [0, 0]})
    assert list(found) == [W, w]
    assert found[W].shape == (2, 3) and found[w].shape == (3, 1)
    assert found[w].dtype == float and found[w][:, 0].tolist() == [7.0, 8.0, 9.0]
    with pytest.raises(ValueError):
        NET.weights({"W": [1, 2], "w": [7, 8, 9]})  # not 2 x 3


def test_the_proof_cache_reads_the_network_and_its_oracle() -> None:
    from answerkey.proofcache import content_digest

    other = RowNetwork("x", 2, [("W", "s", "z", 4), ("w", "s_out", "z_out", 1)], "y", "L")
    digest = content_digest([NET.oracle])
    assert digest == content_digest([NET.oracle])
    assert digest != content_digest([other.oracle])
