"""The layer protocol: what a layer or a loss declares (see the package docstring).

`Layer` is one stage of a chain network, `Elementwise` an activation applied entry by
entry (it needs only the function and its derivative), `Loss` the last stage. Every
concrete class registers itself by its `kind` (`registry`); `Rule` is a backward
fact in the network's symbols with the verified `Fragment` that justifies it.

The generic symbols (`z`, `y`, `x`, `W`, `b`, `t`, `E`, sizes `n_f`, `K_f`) are what
a layer writes its own fragments in; `fragment(...)` makes one (verified by the engine
when cited, like every fragment of `answerkey.kit.fragments`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
import sympy as sp

from ...mathfns import D, T, diag, elementwise
from ...model import Derivation, Instance, Step, text
from ..fragments import Fragment

#: every concrete layer and loss class, by its `kind` (filled as their modules are imported)
REGISTRY: dict[str, type[Layer] | type[Loss]] = {}

# The fragments' own symbols: sizes that all differ, so a confused index cannot pass.
n, K = sp.symbols("n_f K_f", integer=True, positive=True)
SIZES = {n: 3, K: 4}
x = sp.MatrixSymbol("x", n, 1)
W = sp.MatrixSymbol("W", K, n)
b = sp.MatrixSymbol("b", K, 1)
z = sp.MatrixSymbol("z", K, 1)
y = sp.MatrixSymbol("y", K, 1)
t = sp.MatrixSymbol("t", K, 1)
E = sp.Symbol("E")


def transpose(e: Any) -> Any:
    """e^T as written, and (a^T)^T as a."""
    return e.arg if isinstance(e, sp.Transpose) else T(e)


def fragment(
    name: str,
    lhs: Any,
    steps: Sequence[tuple[Any, str]],
    instance: Instance,
    roles: Mapping[str, Any],
    oracle: Callable[[Mapping[str, Any]], float] | None = None,
) -> Fragment:
    """A verified general step: ``lhs = steps[0] = ... = steps[-1]`` at `instance`, each
    step with the words of its reason; `roles` name its symbols for citing (``{"z": z}``)."""
    d = Derivation(lhs, tuple(Step(e, text(r)) for e, r in steps), (instance,), oracle=oracle)
    return Fragment(name, d, dict(roles))


@dataclass(frozen=True)
class Rule:
    """A backward fact in the citing network's symbols: `expr`, justified by `fragment`
    (None: the chain rule itself); `reason` the words printed beside it."""

    expr: Any
    fragment: Fragment | None
    reason: str


class Entrywise(sp.MatrixExpr):  # type: ignore[misc]
    """`function` (a one-argument SymPy `Function` class) applied to every entry of a
    matrix, for an activation the engine's `answerkey.mathfns.elementwise` does not
    name. The function prints itself (its ``_latex``), evaluates numerically through its
    ``_imp_`` (NumPy) and differentiates through its ``fdiff``; register it with
    `entrywise` so the verifier can rebuild the expression from its parts."""

    def __new__(cls, function: Any, v: Any) -> Entrywise:
        name = function if isinstance(function, sp.Symbol) else sp.Symbol(function.__name__)
        if str(name) not in FUNCTIONS:
            raise ValueError(f"{name} is not registered: decorate its class with @entrywise")
        return sp.MatrixExpr.__new__(cls, name, v)  # type: ignore[no-any-return]

    @property
    def function(self) -> Any:
        return FUNCTIONS[str(self.args[0])]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[1].shape  # type: ignore[no-any-return]

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return self.function(self.args[1][i, j])

    def doit(self, **hints: Any) -> Any:
        v = self.args[1].doit(**hints) if hints.get("deep", True) else self.args[1]
        if isinstance(v, sp.MatrixBase):
            return v.applyfunc(self.function)
        return Entrywise(self.args[0], v)

    def _latex(self, printer: Any, exp: Any = None) -> str:
        marker = sp.Symbol("ENTRYWISEARGUMENT")
        head = printer._print(self.function(marker))
        return str(head).replace(str(printer._print(marker)), str(printer._print(self.args[1])))


#: the SymPy functions `Entrywise` may apply, by name
FUNCTIONS: dict[str, Any] = {}


def entrywise(function: Any) -> Any:
    """Class decorator: register a SymPy function for `Entrywise`."""
    FUNCTIONS[function.__name__] = function
    return function


class Registered:
    """What layers and losses share: a subclass that sets `kind` registers itself under
    it (`REGISTRY`), and an instance is named by it."""

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            REGISTRY[cls.kind] = cast("type[Layer] | type[Loss]", cls)  # only these two subclass it

    @property
    def name(self) -> str:
        return self.kind


class Layer(Registered):
    """One stage of a chain network: it maps its input (a column) to its output.

    A layer that `opens` a stage starts layer k of the network: its output is named
    ``z{k}`` and its parameters ``{role}{k}`` (``W1``, ``b1``); one that does not is an
    activation of layer k's output, named ``y{k}``. Subclasses set `kind` (registry
    key), `glyph` (for the figure: LaTeX, plain text, short form inside a unit; None
    for a layer drawn as a connection) and implement the methods below.
    """

    kind: ClassVar[str] = ""
    opens: ClassVar[bool] = False
    glyph: ClassVar[tuple[str, str, str] | None] = None

    # ----------------------------------------------------------- the description
    def output_size(self, size: Any) -> Any:
        """The number of outputs, given the number of inputs."""
        return size

    def parameters(self, size: Any) -> dict[str, tuple[Any, Any]]:
        """Role -> shape of each parameter (``{"W": (h, n), "b": (h, 1)}``), from the
        input size; none for an activation."""
        return {}

    def definition(self, inp: Any, params: Mapping[str, Any]) -> Any:
        """The output as a SymPy matrix expression of the input and the parameters."""
        raise NotImplementedError

    # ----------------------------------------------------------- the oracle
    def forward(self, inp: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """The output in NumPy (written apart from `definition`)."""
        raise NotImplementedError

    def backward(
        self, inp: np.ndarray, out: np.ndarray, params: Mapping[str, np.ndarray], g: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """From dE/d(output) as a column: dE/d(input) as a column and dE/d(each parameter)
        (a weight's shape; a bias a column)."""
        raise NotImplementedError

    # ----------------------------------------------------------- backward rules
    def jacobian(self, inp: Any, out: Any, params: Mapping[str, Any]) -> Rule:
        """d(output)/d(input) as a matrix, with the fragment that proves it."""
        raise NotImplementedError

    def vjp(self, inp: Any, out: Any, params: Mapping[str, Any], delta: Any) -> Any:
        """(d(output)/d(input))^T delta in its simplest column form (delta a column)."""
        raise NotImplementedError

    def parameter_rule(self, role: str, inp: Any, params: Mapping[str, Any], up: Any) -> Rule:
        """dE/d(parameter) from `up` = dE/d(output) (a row), with its fragment."""
        raise NotImplementedError

    def parameter_column(self, role: str, inp: Any, params: Mapping[str, Any], delta: Any) -> Any:
        """dE/d(parameter) from delta = (dE/d(output))^T, in its simplest form."""
        raise NotImplementedError

    def fragments(self) -> list[Fragment]:
        """Every fragment the rules above cite (the engine verifies each)."""
        return []


class Elementwise(Layer):
    """An activation f applied entry by entry: declares `function` (an
    `answerkey.mathfns.elementwise` name), its NumPy `np_function` and `np_derivative`,
    and `derivative(z, y)`, the column of f'(z) entries in SymPy (in y where it can);
    the Jacobian diag(f'(z)), its fragment and the backward rules follow."""

    function: ClassVar[str] = ""

    def definition(self, inp: Any, params: Mapping[str, Any]) -> Any:
        return elementwise(self.function, inp)

    def np_function(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def np_derivative(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, z: Any, y: Any) -> Any:
        raise NotImplementedError

    #: the words of the Jacobian's reason ("tanh' = 1 - tanh^2")
    reason: ClassVar[str] = ""

    def forward(self, inp: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.np_function(inp)

    def backward(
        self, inp: np.ndarray, out: np.ndarray, params: Mapping[str, np.ndarray], g: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return g * self.np_derivative(inp, out), {}

    def jacobian_fragment(self) -> Fragment:
        """``dy/dz = diag(f'(z))`` in the generic symbols, verified at 4 units."""
        cache = type(self).__dict__.get("_fragment")
        if cache is None:
            inst = Instance(sizes={K: 4}, defs={y: self.definition(z, {})}, label="4 units")
            cache = fragment(
                f"the {self.name} Jacobian",
                D(y, z),
                [(diag(self.derivative(z, y)), self.reason)],
                inst,
                {"y": y, "z": z},
            )
            type(self)._fragment = cache  # type: ignore[attr-defined]
        return cache  # type: ignore[no-any-return]

    def jacobian(self, inp: Any, out: Any, params: Mapping[str, Any]) -> Rule:
        f = self.jacobian_fragment()  # the same rule, proved in the generic symbols
        return Rule(diag(self.derivative(inp, out)), f, f.name)

    def vjp(self, inp: Any, out: Any, params: Mapping[str, Any], delta: Any) -> Any:
        return sp.HadamardProduct(delta, self.derivative(inp, out))

    def fragments(self) -> list[Fragment]:
        return [self.jacobian_fragment()]


class Loss(Registered):
    """The last stage: a scalar E of the output y and the target t.

    Declares `definition(y, t)` (SymPy), `batch_definition(Y, T, m)` (the mean over m
    columns), `target(columns, name)` (its assumptions on t: given values and random
    ranges), the oracle (`np_loss`, `np_gradient`, `np_target`, optionally
    `np_from_logits` for a stable value from the last activation's input), `gradient`
    (dE/dy as a row, with its fragment), `column` (its transpose, simplified) and, when
    it has one, `fused` (dE/dz through the output activation, e.g. softmax with
    cross-entropy: (y - t)^T) and `fused_column`; `check_output` refuses an output layer
    it does not fit.
    """

    kind: ClassVar[str] = ""

    def check_output(self, last: Layer) -> None:
        """Raise ValueError when the network's last layer does not fit this loss."""

    def definition(self, out: Any, target: Any) -> Any:
        raise NotImplementedError

    def batch_definition(self, out: Any, target: Any, samples: Any) -> Any:
        raise NotImplementedError

    def target(self, columns: Sequence[Sequence[str]], name: str) -> tuple[dict, dict]:
        """(given, domain): the assumptions on the target's entries, named by column."""
        return {}, {}

    def np_target(self, target: np.ndarray) -> np.ndarray:
        return np.array(target, dtype=float).reshape(-1, 1)

    def np_loss(self, out: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def np_gradient(self, out: np.ndarray, target: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def np_from_logits(self, last: Layer, z: np.ndarray, target: np.ndarray) -> float | None:
        """The loss from the last activation's input, where that is more stable; None: no."""
        return None

    def gradient(self, out: Any, target: Any) -> Rule | None:
        """dE/dy as a row, with its fragment; None if the loss has no matrix form for it."""
        return None

    def column(self, out: Any, target: Any) -> Any:
        raise NotImplementedError

    def fused(self, last: Layer, z: Any, out: Any, target: Any) -> Rule | None:
        """dE/dz through the output activation `last` when a fragment states it."""
        return None

    def fused_column(self, last: Layer, z: Any, out: Any, target: Any) -> Any:
        raise NotImplementedError

    def fragments(self) -> list[Fragment]:
        return []
