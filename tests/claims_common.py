"""Shared by the claims tests: a small cv-assignment9-like network and scalar keys,
independent of the solution modules (not a test module itself)."""

from __future__ import annotations

from pathlib import Path

import sympy as sp

from answerkey.claims import (
    parse_claim,
)
from answerkey.mathfns import diag, elementwise, hadamard_ones_minus, sigmoid, softmax
from answerkey.model import Instance

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "solutions" / "claims"

t, W, x = sp.symbols("t W x", real=True)
SCALARS = {"t": t, "W": W, "x": x}

# A small cv-assignment9-like network, independent of the solution modules.
n, h, K = sp.symbols("n h K", integer=True, positive=True)
xv = sp.MatrixSymbol("x", n, 1)
W1, W2 = sp.MatrixSymbol("W1", h, n), sp.MatrixSymbol("W2", K, h)
z1, y1 = sp.MatrixSymbol("z1", h, 1), sp.MatrixSymbol("y1", h, 1)
z2, y2 = sp.MatrixSymbol("z2", K, 1), sp.MatrixSymbol("y2", K, 1)
tv = sp.MatrixSymbol("t", K, 1)
E = sp.Symbol("E")
NET = Instance(
    sizes={n: 2, h: 3, K: 3},
    defs={
        z1: W1 * xv,
        y1: elementwise("sigmoid", z1),
        z2: W2 * y1,
        y2: softmax(z2),
        E: -(tv.T * elementwise("log", y2)),
    },
    given={"t_3": 1 - sp.Symbol("t_1") - sp.Symbol("t_2")},
)
VECTORS = {
    "x": xv,
    "W^{(1)}": W1,
    "W^{(2)}": W2,
    "z^{(1)}": z1,
    "y^{(1)}": y1,
    "z^{(2)}": z2,
    "y^{(2)}": y2,
    "t": tv,
    "E": E,
}
SIG_PRIME = diag(sp.HadamardProduct(y1, hadamard_ones_minus(y1)))


def read(latex: str, symbols: dict | None = None) -> str:
    return parse_claim(latex, SCALARS if symbols is None else symbols).reading


KEYS = [
    sp.log(1 + sp.exp(-W * x)),
    -t * W * (1 - sigmoid(W * x)),
    -t * sp.log(sigmoid(W * x)),
    W * x**2 - 3 * t,
    (t - W) ** 2 / 2,
    sigmoid(W * x) * (1 - sigmoid(W * x)) * W,
]
