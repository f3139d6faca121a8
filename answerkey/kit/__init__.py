"""The authoring kit: describe a network once, cite verified steps, trace an optimizer.

`Network` (layers, loss; each an object of `layers`, which says what a layer declares)
gives the verifier's definitions, an independent NumPy
oracle, worked numbers and traces (through `answerkey.worked`) and the figure;
`fragments` are derivation steps the engine has verified once, which a derivation
cites instead of re-deriving; `optim` holds the update rules (SGD, momentum)
symbolically and in NumPy; `scaffold` writes a new exercise (`answerkey new-exercise`).
`Network.batch(m)` and `Network.l2(rate)` (`batch`) give the same network on a
mini-batch (mean loss) and with an L2 weight penalty. `chain.ScalarChain` is a chain
of scalar units with arbitrary activations: its gradients, error signals and checks;
`traces` writes what a key shows of an optimizer trace (samples, blocks, table, loss
curve and trend, comparisons with an earlier solution's numbers); `draws` helps write an
assignment's variant numbers (`draw`, `instructive`, `validate`); `rows.RowNetwork` is a
ReLU network in row layout (``s = x W``) in the author's names.
"""

from .batch import Batch, Penalised
from .layers import Layer, Linear, Loss
from .network import (
    Activation,
    Network,
    binary_cross_entropy,
    cross_entropy,
    hinge,
    linear,
    relu,
    sigmoid,
    softmax,
    squared_error,
    tanh,
)

__all__ = [
    "Activation",
    "Batch",
    "Layer",
    "Linear",
    "Loss",
    "Network",
    "Penalised",
    "binary_cross_entropy",
    "cross_entropy",
    "hinge",
    "linear",
    "relu",
    "sigmoid",
    "softmax",
    "squared_error",
    "tanh",
]
