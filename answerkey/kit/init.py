"""Initialisation: the variance of a layer's output under Xavier (Glorot) and He, as checked
derivations.

A unit sums n inputs, ``z = sum_j w_j x_j``, the weights and inputs independent, the
weights of mean 0. Then ``Var(z) = n Var(w) E[x^2]``: with inputs of mean 0 that is
``V_z = n V_w V_x`` (Xavier: ``V_w = 1/n`` keeps the variance), and with inputs
``x = relu(p)`` of a symmetric p, ``E[x^2] = V_p / 2`` (He: ``V_w = 2/n`` keeps it).

The verifier cannot take expectations, so the quantity derived is computed exactly by
enumeration: every weight ``+-sqrt(V_w)`` and every input ``+-sqrt(V_x)`` (or
``+-sqrt(V_p)`` before the ReLU) with equal chances, the ``2^(2n)`` equally likely cases averaged in
SymPy at n = 3 and 4. Those two-point laws have the stated means and variances, so the
identities the key prints are proved for them symbolically; the key's banner says the
expectation was taken this way (`how`).

The module gives the symbols (``V_z``, ``V_w``, ``V_x``, ``V_p``, ``n``),
`instance(size, relu, scheme)` and each scheme's weight variance (`XAVIER`, `HE`).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import sympy as sp

from ..model import Instance
from .fragments import Fragment
from .writing import derive

n = sp.Symbol("n", integer=True, positive=True)
n_out = sp.Symbol("n_out", integer=True, positive=True)
#: the variances of the sum, a weight, an input, and an input before the ReLU
V_z, V_w, V_x, V_p = sp.symbols("V_z V_w V_x V_p", positive=True)
#: each scheme's weight variance
XAVIER = 1 / n
XAVIER_MEAN = 2 / (n + n_out)
HE = 2 / n
#: what the banner and the key say of how the expectation was taken
how = (
    "the expectation is taken exactly over every sign of weights and inputs drawn as "
    "plus or minus their standard deviation, at n = 3 and 4"
)


def second_moment(size: int, relu: bool) -> Any:
    """E[z^2] over the 2^(2 size) equally likely sign patterns, exactly."""
    total = sp.Integer(0)
    for signs in itertools.product((-1, 1), repeat=2 * size):
        w, x = signs[:size], signs[size:]
        if relu:  # p = +-sqrt(V_p), x = relu(p)
            inputs = [sp.sqrt(V_p) if s > 0 else sp.Integer(0) for s in x]
        else:
            inputs = [sp.sqrt(V_x) * s for s in x]
        z = sp.Add(*[sp.sqrt(V_w) * wi * xi for wi, xi in zip(w, inputs, strict=True)])
        total += sp.expand(z**2)
    return sp.expand(total / 2 ** (2 * size))


def instance(size: int, relu: bool = False, scheme: Any = None) -> Instance:
    """V_z defined as the exact mean of z^2 at `size` inputs (z has mean 0: its variance);
    `scheme` (a weight variance in n) fixes V_w."""
    defs: dict[Any, Any] = {V_z: second_moment(size, relu)}
    if scheme is not None:
        defs = {V_w: scheme.subs(n, size), **defs}
    label = f"n = {size}" + (", ReLU inputs" if relu else "")
    return Instance(
        sizes={n: size},
        defs=defs,
        label=label,
        domain={s.name: (0.2, 2.0) for s in (V_w, V_x, V_p)},
    )


@functools.cache
def fragments() -> tuple[Fragment, Fragment]:
    """The variance of a sum of n products (V_z = n V_w V_x, inputs of mean 0) and with
    ReLU inputs (V_z = n V_w V_p / 2), each proved at n = 3 and 4 by exact enumeration
    (`how`); roles V_z, V_w, V_x, V_p, n."""
    roles = {"V_z": V_z, "V_w": V_w, "V_x": V_x, "V_p": V_p, "n": n}
    plain = derive(
        V_z, [(n * V_w * V_x, "independent terms of mean 0")], [instance(3), instance(4)]
    )
    half = (n * V_w * V_p / 2, "a ReLU of a symmetric input keeps half its second moment")
    relu = derive(V_z, [half], [instance(3, relu=True), instance(4, relu=True)])
    return (
        Fragment("the variance of a sum of products", plain, roles),
        Fragment("the variance of a sum of products of ReLU inputs", relu, roles),
    )


__all__ = [
    "HE",
    "XAVIER",
    "XAVIER_MEAN",
    "V_p",
    "V_w",
    "V_x",
    "V_z",
    "fragments",
    "how",
    "instance",
    "n",
    "n_out",
    "second_moment",
]
