"""A ReLU network in row layout, as many exercise sheets write it: ``s = x W``.

The input is a row and products go in the order written: ``s = x W``, ``z = relu(s)``,
..., one output unit ``z_out = relu(s_out)`` and the squared error
``L = (z_out - y)^2 / 2``, no biases. (`kit.network.Network` is the column layout,
``z = W x``, with names of its own; here the author names every quantity.)

``RowNetwork("x", 2, [("W", "s", "z", 3), ("w", "s_out", "z_out", 1)], "y", "L")``
gives the SymPy symbols by name (`get`), `defs` (the forward pass, in order),
`instance` (with the loss), `weights` (a term's numbers as the weight matrices) and
`oracle`, the forward pass in plain NumPy, written apart from the definitions, for
the verifier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..mathfns import elementwise, relu
from ..model import Instance


@dataclass
class RowNetwork:
    """`inputs` inputs named `x`, then `layers` of (weight, pre-activation, activation,
    units), the last one unit; the target and the loss named `target` and `loss`."""

    x: str
    inputs: int
    layers: Sequence[tuple[str, str, str, int]]
    target: str
    loss: str
    symbols: dict[str, Any] = field(init=False)
    #: each layer's pre-activation and activation, in order
    defs: dict[Any, Any] = field(init=False)
    output: Any = field(init=False)

    def __post_init__(self) -> None:
        if not self.layers or self.layers[-1][3] != 1:
            raise ValueError("the last layer of a RowNetwork is one output unit")
        prev: Any = sp.MatrixSymbol(self.x, 1, self.inputs)
        self.symbols, self.defs, size = {self.x: prev}, {}, self.inputs
        for k, (weight, pre, post, units) in enumerate(self.layers):
            W = sp.MatrixSymbol(weight, size, units)
            if k == len(self.layers) - 1:  # the output: scalars
                s, z = sp.Symbol(pre), sp.Symbol(post)
                self.defs |= {s: prev * W, z: relu(s)}
            else:
                s, z = sp.MatrixSymbol(pre, 1, units), sp.MatrixSymbol(post, 1, units)
                self.defs |= {s: prev * W, z: elementwise("relu", s)}
            self.symbols |= {weight: W, pre: s, post: z}
            prev, size = z, units
        self.symbols |= {self.target: sp.Symbol(self.target), self.loss: sp.Symbol(self.loss)}
        self.output = prev

    def get(self, names: str) -> list[Any]:
        """The symbols named in `names` (space-separated), in that order."""
        return [self.symbols[n] for n in names.split()]

    def weights(self, numbers: Mapping[str, Any]) -> dict[Any, np.ndarray]:
        """Each layer's weights from plain numbers by name (a term's), shaped as its matrix
        (a list of 3 numbers for a 3 x 1 ``w``)."""
        out = {}
        for name, *_ in self.layers:
            W = self.symbols[name]
            out[W] = np.asarray(numbers[name], dtype=float).reshape(tuple(map(int, W.shape)))
        return out

    def instance(self, label: str) -> Instance:
        """The verifier's `Instance`: the forward pass and the loss."""
        error = (self.output - self.symbols[self.target]) ** 2 / 2
        return Instance(defs={**self.defs, self.symbols[self.loss]: error}, label=label)

    def oracle(self, v: Mapping[str, Any]) -> dict[str, Any]:
        """Every pre-activation, activation and the loss in NumPy from the named inputs (the
        input, the weights, the target); a given pre-activation overrides the layers below."""
        out: dict[str, Any] = {}
        prev = v.get(self.x)
        for k, (weight, pre, post, _) in enumerate(self.layers):
            last = k == len(self.layers) - 1
            if pre in v:
                s = float(v[pre]) if last else np.asarray(v[pre])
            else:
                s = np.asarray(prev) @ np.asarray(v[weight])
                s = float(s.item()) if last else s
            prev = max(s, 0.0) if last else np.maximum(s, 0.0)
            out |= {pre: s, post: prev}
        return out | {self.loss: 0.5 * (prev - v[self.target]) ** 2}
