"""Layers and losses as objects: one class per layer, each declaring everything about itself.

The contract (`base`)
---------------------
A **layer** (`base.Layer`) is one stage of a chain network `kit.Network(inputs, layers,
loss)`. It declares:

* ``kind`` (its registry key, e.g. ``"tanh"``), ``opens`` (True: it starts layer k,
  its output named ``z{k}`` and its parameters ``{role}{k}``, e.g. a linear layer's
  ``W1``, ``b1``; False: an activation of layer k's output, named ``y{k}``) and
  ``glyph`` (how the figure draws it: LaTeX, plain text, short form);
* the description: ``output_size(size)``, ``parameters(size)`` (role -> shape) and
  ``definition(inp, params)``, its SymPy matrix form (what the verifier instantiates);
* the oracle, plain NumPy written apart from the definition: ``forward(inp, params)``
  and ``backward(inp, out, params, g)`` (g = dE/d(output) as a column -> dE/d(input)
  and each parameter's gradient);
* its backward rules in SymPy, each a `base.Rule` (expression, cited `Fragment`, reason):
  ``jacobian(inp, out, params)`` (d out/d inp), ``parameter_rule(role, inp, params, up)``
  (dE/dP from the row up = dE/d out), and their simplified column forms ``vjp`` and
  ``parameter_column``, which the generated derivations end with;
* ``fragments()``: every fragment its rules cite. A fragment is a small derivation in
  the generic symbols of `base` (``fragment(name, lhs, steps, instance, roles)``) that
  the engine verifies like any derivation (step by step, symbolically, numerically and
  against finite differences); a wrong rule is refused there and again wherever a
  generated derivation uses it.

An activation applied entry by entry subclasses `base.Elementwise` and only declares the
function (``function``: an `answerkey.mathfns.elementwise` name; or its own
``definition`` with `base.Entrywise` and a SymPy function registered by
`base.entrywise`), ``np_function``, ``np_derivative``, ``derivative(z, y)`` (the column
of f'(z) in SymPy) and ``reason``: the Jacobian diag(f'), its fragment and the rules
follow. See ``leaky_relu.py``: a new activation is that one file and its test.

A **loss** (`base.Loss`) declares ``definition(y, t)``, ``batch_definition(Y, T, m)``,
``target(columns, name)`` (its assumptions on t), the oracle (``np_loss``,
``np_gradient``, ``np_target``, ``np_from_logits``), ``gradient(y, t)`` (dE/dy as a
row `Rule`), ``column`` and optionally ``fused``/``fused_column`` (dE/dz through the
output activation, e.g. softmax with cross-entropy) and ``check_output``.

Every concrete class registers itself in `base.REGISTRY` by ``kind``; `load_all()`
imports every module of this package (the tests verify every registered fragment).
An optimizer follows the same idea in `answerkey.kit.optim` (its rule as SymPy, its
step in NumPy).
"""

from __future__ import annotations

import importlib
import pkgutil

from .activations import ReLU, Sigmoid, Softmax, Tanh, relu, sigmoid, softmax, tanh
from .base import REGISTRY, Elementwise, Layer, Loss, Rule, fragment
from .linear import Linear, linear
from .losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    Hinge,
    SquaredError,
    binary_cross_entropy,
    cross_entropy,
    hinge,
    squared_error,
)


def load_all() -> dict[str, type[Layer] | type[Loss]]:
    """Import every module of this package; the registry of every layer and loss by kind."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return dict(REGISTRY)


__all__ = [
    "REGISTRY",
    "BinaryCrossEntropy",
    "CrossEntropy",
    "Elementwise",
    "Hinge",
    "Layer",
    "Linear",
    "Loss",
    "ReLU",
    "Rule",
    "Sigmoid",
    "Softmax",
    "SquaredError",
    "Tanh",
    "binary_cross_entropy",
    "cross_entropy",
    "fragment",
    "hinge",
    "linear",
    "load_all",
    "relu",
    "sigmoid",
    "softmax",
    "squared_error",
    "tanh",
]
