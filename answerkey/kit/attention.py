"""Scaled dot-product attention for one query, in matrix form at concrete sizes.

One query q (a column of d entries) attends to m keys and values, the rows of K
(m x d) and V (m x d_v): the scores ``s = K q / sqrt(d)``, the weights
``a = softmax(s)``, the output ``o = V^T a`` (the weighted mean of the values' rows).
Every query of a matrix Q is this computation on its own row, so the gradient by the
queries is this one row by row. With ``E = g^T o`` (g any upstream gradient dE/do):

* `jacobian`: the softmax Jacobian ``da/ds = diag(a) - a a^T``, derived by the
  quotient rule entry by entry and proved at m = 3 and 4 (`jacobian_derivation`);
* `query_gradient`: ``dE/dq = g^T V^T (diag(a) - a a^T) K / sqrt(d)`` from the chain
  rule ``dE/do do/da da/ds ds/dq`` (`query_derivation`), proved at sizes that all
  differ and against finite differences of the NumPy `oracle`;
* `key_gradient` and `value_gradient` for completeness (``dE/dV = a g^T``).

Sizes stay small (d = 2, m = 3, d_v = 4 for proofs) so every proof is symbolic.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from ..mathfns import D, T, diag, mm, softmax
from ..model import Instance
from .fragments import Fragment
from .writing import derive

d, m, dv = sp.symbols("d m d_v", integer=True, positive=True)
q = sp.MatrixSymbol("q", d, 1)
K = sp.MatrixSymbol("K", m, d)
V = sp.MatrixSymbol("V", m, dv)
g = sp.MatrixSymbol("g", dv, 1)
s = sp.MatrixSymbol("s", m, 1)
a = sp.MatrixSymbol("a", m, 1)
o = sp.MatrixSymbol("o", dv, 1)
E = sp.Symbol("E")
#: proof sizes: all different, so a confused index cannot pass
PROOF = {d: 2, m: 3, dv: 4}


def definitions(sizes: Mapping[Any, int]) -> dict[Any, Any]:
    """s = K q / sqrt(d), a = softmax(s), o = V^T a, E = g^T o."""
    root = sp.sqrt(sizes[d])
    return {s: mm(K, q) / root, a: softmax(s), o: mm(T(V), a), E: mm(T(g), o)}


def instance(sizes: Mapping[Any, int] = PROOF) -> Instance:
    label = ", ".join(f"{k} = {v}" for k, v in sizes.items())
    return Instance(sizes=dict(sizes), defs=definitions(sizes), label=label)


def oracle(v: Mapping[str, Any]) -> dict[str, Any]:
    """NumPy, apart from the definitions (a stage given by name overrides its computation)."""
    qv, kv = np.asarray(v["q"], dtype=float).reshape(-1, 1), np.asarray(v["K"], dtype=float)
    sv = np.asarray(v["s"], dtype=float).reshape(-1, 1) if "s" in v else kv @ qv / np.sqrt(qv.size)
    if "a" in v:
        av = np.asarray(v["a"], dtype=float).reshape(-1, 1)
    else:
        e = np.exp(sv - sv.max())
        av = e / e.sum()
    vv = np.asarray(v["V"], dtype=float)
    ov = np.asarray(v["o"], dtype=float).reshape(-1, 1) if "o" in v else vv.T @ av
    gv = np.asarray(v["g"], dtype=float).reshape(-1, 1)
    return {"s": sv, "a": av, "o": ov, "E": float((gv * ov).sum())}


def jacobian() -> Any:
    return sp.MatAdd(diag(a), -mm(a, T(a)))


def query_gradient() -> Any:
    return mm(T(g), T(V), jacobian(), K) / sp.sqrt(d)


def jacobian_derivation(sizes: Any = ({m: 3}, {m: 4})) -> Any:
    """da/ds = diag(a) - a a^T, proved at each number of keys."""
    insts = [Instance(sizes=dict(z), defs={a: softmax(s)}, label=f"m = {z[m]}") for z in sizes]
    return derive(D(a, s), [(jacobian(), "the quotient rule, entry by entry")], insts)


def query_derivation(instances: Any = None) -> Any:
    """dE/dq by the chain rule, then each factor written out."""
    instances = instances or [instance()]
    steps = [
        (mm(D(E, o), D(o, a), D(a, s), D(s, q)), "chain rule"),
        (query_gradient(), "each factor written out"),
    ]
    return derive(D(E, q), steps, instances, oracle)


@functools.cache
def fragments() -> tuple[Fragment, Fragment]:
    """The softmax Jacobian (proved at m = 3 and 4) and the gradient by the query (at
    `PROOF`, against finite differences of `oracle`) as citable fragments; roles q, K, V,
    g, s, a, o, E."""
    roles = {"q": q, "K": K, "V": V, "g": g, "s": s, "a": a, "o": o, "E": E}
    return (
        Fragment("the softmax Jacobian", jacobian_derivation(), roles),
        Fragment("attention's gradient by the query", query_derivation(), roles),
    )


__all__ = [
    "PROOF",
    "E",
    "K",
    "V",
    "a",
    "d",
    "definitions",
    "dv",
    "fragments",
    "g",
    "instance",
    "jacobian",
    "jacobian_derivation",
    "m",
    "o",
    "oracle",
    "q",
    "query_derivation",
    "query_gradient",
    "s",
]
