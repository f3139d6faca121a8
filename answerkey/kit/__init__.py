"""The authoring kit: describe a network once, cite verified steps, trace an optimizer.

`Network` (layers, loss) gives the verifier's definitions, an independent NumPy
oracle, worked numbers and traces (through `answerkey.worked`) and the figure;
`fragments` are derivation steps the engine has verified once, which a derivation
cites instead of re-deriving; `optim` holds the update rules (SGD, momentum)
symbolically and in NumPy; `scaffold` writes a new exercise (`answerkey new-exercise`).
"""

from .network import (
    Activation,
    Linear,
    Loss,
    Network,
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
    "Linear",
    "Loss",
    "Network",
    "cross_entropy",
    "hinge",
    "linear",
    "relu",
    "sigmoid",
    "softmax",
    "squared_error",
    "tanh",
]
