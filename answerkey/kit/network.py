"""A network described once: its layers, its loss; everything else comes from the description.

``Network(inputs=n, layers=[linear(h), tanh(), linear(K)], loss=squared_error())``
gives

* `symbols`: the SymPy matrices the exercise is written in (x, W1, b1, z1, y1,
  ..., t, E), sized by the dimension symbols the author chose;
* `instance(sizes)`: the `model.Instance` the verifier checks a derivation at
  (definitions from any stage on, the loss's assumptions on the target);
* `oracle`: the loss in plain NumPy, written apart from the SymPy definitions,
  for the verifier's finite differences;
* `forward`/`gradients`: numbers at given values (NumPy forward pass, backward
  pass by the layer rules), and `figure`: the network drawn by `answerkey.figures`;
* `given`, `example`, `trace`: the numbers a key prints, through `answerkey.worked`
  (given numbers from term parameters; verified results at them and optimizer
  steps, each checked against `forward` and its finite differences).

Stages are numbered by linear layer: layer k maps the stage before to
``z{k} = W{k} y{k-1} (+ b{k})``; an activation after it gives ``y{k}``. The input is
``x``, the target ``t``, the loss ``E``. Their LaTeX names (W^{(1)}, ...) are in
`notation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .. import figures
from ..mathfns import T, elementwise, hadamard_ones_minus, mm
from ..mathfns import softmax as softmax_of
from ..model import Figure, Instance, text
from .batch import Batch, Penalised

ACTIVATIONS = ("sigmoid", "tanh", "relu", "softmax")


@dataclass(frozen=True)
class Linear:
    """``z = W y + b`` (without b when `bias` is False); `size` is its number of outputs."""

    size: Any
    bias: bool = True


@dataclass(frozen=True)
class Activation:
    """An activation applied to the linear layer before it: sigmoid, tanh, relu or softmax."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.name!r}; known: {', '.join(ACTIVATIONS)}")


def linear(size: Any, bias: bool = True) -> Linear:
    """A linear layer with `size` outputs (a dimension symbol such as ``h``)."""
    return Linear(size, bias)


def sigmoid() -> Activation:
    return Activation("sigmoid")


def tanh() -> Activation:
    return Activation("tanh")


def relu() -> Activation:
    return Activation("relu")


def softmax() -> Activation:
    return Activation("softmax")


@dataclass(frozen=True)
class Loss:
    """A loss of the output and the target: cross-entropy, binary cross-entropy, squared error
    or multiclass hinge."""

    name: str
    margin: float = 1.0


def cross_entropy() -> Loss:
    """``E = -t^T log y`` with a one-hot target t (after a softmax)."""
    return Loss("cross_entropy")


def squared_error() -> Loss:
    """``E = 1/2 (y - t)^T (y - t)``."""
    return Loss("squared_error")


def binary_cross_entropy() -> Loss:
    """``E = -(t^T log y + (1 - t)^T log(1 - y))`` after a sigmoid output: each output an
    independent probability, each target in [0, 1] (not one-hot)."""
    return Loss("binary_cross_entropy")


def hinge(margin: float = 1.0) -> Loss:
    """Multiclass hinge: ``E = sum over j != class of max(0, y_j - y_class + margin)``,
    the class given by a one-hot t."""
    return Loss("hinge", margin)


def _np_act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    e = np.exp(z - z.max(axis=0))
    return e / e.sum(axis=0)


def _np_act_backward(name: str, z: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """dE/dz (a column) from dE/dy (a column) through the activation."""
    if name == "sigmoid":
        return g * y * (1 - y)
    if name == "tanh":
        return g * (1 - y**2)
    if name == "relu":
        return g * (z > 0)
    return y * (g - float((y * g).sum()))  # softmax: (diag(y) - y y^T) g


@dataclass(frozen=True)
class Stage:
    """One value of the forward pass: its name, SymPy matrix and definition."""

    name: str
    symbol: Any
    definition: Any


@dataclass
class Network:
    """Input size, layers and loss; see the module docstring for what it provides."""

    inputs: Any
    layers: Sequence[Linear | Activation]
    loss: Loss
    stages: list[Stage] = field(init=False)
    symbols: dict[str, Any] = field(init=False)
    notation: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        x = sp.MatrixSymbol("x", self.inputs, 1)
        self.symbols = {"x": x}
        self.notation = {}
        self.stages = []
        prev, size, k = x, self.inputs, 0
        last: Linear | None = None
        for layer in self.layers:
            if isinstance(layer, Linear):
                k += 1
                W = sp.MatrixSymbol(f"W{k}", layer.size, size)
                z = sp.MatrixSymbol(f"z{k}", layer.size, 1)
                self.symbols.update({f"W{k}": W, f"z{k}": z})
                self.notation.update({f"W{k}": f"W^{{({k})}}", f"z{k}": f"z^{{({k})}}"})
                self.notation[f"W{k}'"] = f"W^{{({k})\\prime}}"  # after an update
                definition = mm(W, prev)
                if layer.bias:
                    b = sp.MatrixSymbol(f"b{k}", layer.size, 1)
                    self.symbols[f"b{k}"] = b
                    self.notation[f"b{k}"] = f"b^{{({k})}}"
                    self.notation[f"b{k}'"] = f"b^{{({k})\\prime}}"
                    definition = definition + b
                self.stages.append(Stage(f"z{k}", z, definition))
                prev, size, last = z, layer.size, layer
            else:
                if last is None or self.stages[-1].name != f"z{k}":
                    raise ValueError("an activation must follow a linear layer")
                y = sp.MatrixSymbol(f"y{k}", size, 1)
                self.symbols[f"y{k}"] = y
                self.notation[f"y{k}"] = f"y^{{({k})}}"
                fn = softmax_of(prev) if layer.name == "softmax" else elementwise(layer.name, prev)
                self.stages.append(Stage(f"y{k}", y, fn))
                prev = y
        if k == 0:
            raise ValueError("a network needs a linear layer")
        t = sp.MatrixSymbol("t", size, 1)
        E = sp.Symbol("E")
        self.symbols.update({"t": t, "E": E})
        self.stages.append(Stage("E", E, self._loss(prev, t)))
        self.output, self.outputs = prev, size

    # --------------------------------------------------------------- SymPy side

    def _loss(self, out: Any, t: Any) -> Any:
        ones = sp.OneMatrix(out.shape[0], 1)
        if self.loss.name == "cross_entropy":
            return -mm(T(t), elementwise("log", out))
        if self.loss.name == "squared_error":
            return sp.Rational(1, 2) * mm(T(out - t), out - t)
        if self.loss.name == "binary_cross_entropy":
            last = self.layers[-1]
            if not (isinstance(last, Activation) and last.name == "sigmoid"):
                raise ValueError("binary_cross_entropy() needs a sigmoid output layer")
            log_y, log_1my = elementwise("log", out), elementwise("log", hadamard_ones_minus(out))
            return -(mm(T(t), log_y) + mm(T(hadamard_ones_minus(t)), log_1my))
        if self.loss.name == "hinge":
            margin = sp.nsimplify(self.loss.margin)
            score_gap = out - mm(ones, T(t), out) + margin * ones
            return mm(T(hadamard_ones_minus(t)), elementwise("relu", score_gap))
        raise ValueError(f"unknown loss {self.loss.name!r}")

    def __getitem__(self, name: str) -> Any:
        """The SymPy matrix (or symbol) of a stage or parameter: ``net["W1"]``."""
        return self.symbols[name]

    def definitions(self, leaf: str | None = None) -> dict[Any, Any]:
        """Every stage's definition; with `leaf`, only those after it (it stays a free input)."""
        names = [s.name for s in self.stages]
        start = names.index(leaf) + 1 if leaf is not None else 0
        return {s.symbol: s.definition for s in self.stages[start:]}

    def _target(self, sizes: Mapping[Any, int]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The loss's assumptions on t at these sizes: (given, domain)."""
        if self.loss.name == "squared_error":
            return {}, {}
        if self.loss.name == "binary_cross_entropy":  # any target in [0, 1]
            return {}, {"t": (0.0, 1.0)}
        k = int(sp.sympify(self.outputs).xreplace(dict(sizes)))
        names = [f"t_{i}" for i in range(1, k + 1)]
        if self.loss.name == "hinge":  # exactly one-hot: class 1
            return {n: int(i == 0) for i, n in enumerate(names)}, {}
        # a one-hot target summed to one, the free components small enough to keep it so
        return {names[-1]: 1 - sum(sp.Symbol(n) for n in names[:-1])}, {"t": (0.0, 1.0 / k)}

    def instance(
        self,
        sizes: Mapping[Any, int],
        leaf: str | None = None,
        label: str = "",
        prove: bool = True,
        extra: Mapping[Any, Any] | None = None,
        domain: Mapping[str, tuple[float, float]] | None = None,
    ) -> Instance:
        """The verifier's `Instance` at these sizes (see `definitions` for `leaf`);
        `extra` adds definitions (a penalty, a quantity of the exercise's own), `domain`
        sets inputs' random ranges (``{"t": (0, 0.5)}``) over the loss's defaults."""
        given, default = self._target(sizes)
        return Instance(
            sizes=dict(sizes),
            defs={**self.definitions(leaf), **dict(extra or {})},
            given=given,
            domain={**default, **dict(domain or {})},
            label=label or ", ".join(f"{s} = {v}" for s, v in sizes.items()),
            prove=prove,
        )

    @property
    def weights(self) -> list[Any]:
        """The weight matrices W1, W2, ... in order."""
        return [self.symbols[f"W{k}"] for k, *_ in self._linears()]

    def batch(self, samples: Any) -> Batch:
        """The network on a mini-batch of `samples` columns, the loss their mean
        (`answerkey.kit.batch`)."""
        return Batch(self, samples)

    def l2(self, rate: Any, name: str = "E_reg") -> Penalised:
        """The loss plus ``rate/2`` times the weights' squared norms (`answerkey.kit.batch`)."""
        return Penalised(self, rate, name)

    # --------------------------------------------------------------- NumPy side

    def _linears(self) -> list[tuple[int, Linear, str | None, str]]:
        """(k, linear layer, the activation after it or None, the name of its input)."""
        out: list[tuple[int, Linear, str | None, str]] = []
        for layer in self.layers:
            if isinstance(layer, Linear):
                k = len(out) + 1
                before = "x" if not out else (f"y{k - 1}" if out[-1][2] else f"z{k - 1}")
                out.append((k, layer, None, before))
            else:
                k, lin, _, before = out[-1]
                out[-1] = (k, lin, layer.name, before)
        return out

    def forward(self, v: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every stage's value from the named inputs (x, W1, b1, ..., t), in NumPy.

        A stage given in `v` (``z2``, say) is taken as given and the pass starts there.
        """
        vals = {key: np.asarray(a, dtype=float) for key, a in v.items()}
        for key, a in list(vals.items()):
            if a.ndim == 1 and not key.startswith("W"):
                vals[key] = a.reshape(-1, 1)
        steps: list[tuple[str, Any]] = []
        for k, lin, act, before in self._linears():

            def affine(k: int = k, lin: Linear = lin, before: str = before) -> np.ndarray:
                z = vals[f"W{k}"] @ vals[before]
                return z + vals[f"b{k}"] if lin.bias else z

            steps.append((f"z{k}", affine))
            if act is not None:
                steps.append((f"y{k}", lambda k=k, act=act: _np_act(act, vals[f"z{k}"])))
        names = ["x"] + [n for n, _ in steps]
        start = max(i for i, n in enumerate(names) if n in vals)
        for name, fn in steps[start:]:
            vals[name] = fn()
        t = self._np_target(vals["t"])
        k, _, act, _ = self._linears()[-1]
        if self.loss.name == "cross_entropy" and act == "softmax" and f"y{k}" not in v:
            # from the logits: log-softmax, which never takes the log of an underflowed 0
            z = vals[f"z{k}"]
            log_y = z - z.max(axis=0) - np.log(np.exp(z - z.max(axis=0)).sum(axis=0))
            vals["E"] = np.asarray(float(-(t * log_y).sum()))
        elif self.loss.name == "binary_cross_entropy" and f"y{k}" not in v:
            # from the logits: log y = -log(1 + e^-z), log(1 - y) = -log(1 + e^z)
            z = vals[f"z{k}"]
            log_pq = t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z)
            vals["E"] = np.asarray(float(log_pq.sum()))
        else:
            vals["E"] = np.asarray(self._np_loss(vals[names[-1]], t))
        return vals

    def _np_target(self, t: np.ndarray) -> np.ndarray:
        t = np.array(t, dtype=float).reshape(-1, 1)
        if self.loss.name == "cross_entropy":
            t[-1] = 1.0 - t[:-1].sum()  # the instance's one-hot assumption
        return t

    def _np_loss(self, y: np.ndarray, t: np.ndarray) -> float:
        if self.loss.name == "cross_entropy":
            return float(-(t * np.log(y)).sum())
        if self.loss.name == "squared_error":
            return float(0.5 * ((y - t) ** 2).sum())
        if self.loss.name == "binary_cross_entropy":
            return float(-(t * np.log(y) + (1 - t) * np.log(1 - y)).sum())
        true = float((t * y).sum())
        return float(((1 - t) * np.maximum(y - true + self.loss.margin, 0.0)).sum())

    def _np_loss_grad(self, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        if self.loss.name == "cross_entropy":
            return -t / y
        if self.loss.name == "squared_error":
            return y - t
        if self.loss.name == "binary_cross_entropy":
            return -t / y + (1 - t) / (1 - y)
        true = float((t * y).sum())
        active = (1 - t) * (y - true + self.loss.margin > 0)
        return active - t * active.sum()

    def oracle(self, v: Mapping[str, Any]) -> float:
        """The loss in NumPy from the named inputs: the verifier's independent oracle."""
        return float(self.forward(v)["E"])

    def gradients(self, v: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """dE/d(every parameter and stage), by backpropagation in NumPy: columns for
        stages, the parameter's shape for W and b."""
        vals = self.forward(v)
        t = self._np_target(vals["t"])
        last = self.stages[-2].name
        g = self._np_loss_grad(vals[last], t)
        grads: dict[str, np.ndarray] = {last: g}
        for k, lin, act, before in reversed(self._linears()):
            if act is not None:
                g = _np_act_backward(act, vals[f"z{k}"], vals[f"y{k}"], g)
                grads[f"z{k}"] = g
            grads[f"W{k}"] = g @ vals[before].T
            if lin.bias:
                grads[f"b{k}"] = g.copy()
            g = vals[f"W{k}"].T @ g
            grads[before] = g
        return grads

    # --------------------------------------------------------------- worked numbers

    def given(
        self, params: Mapping[str, Any], sizes: Mapping[Any, int], exact: bool = True
    ) -> dict[Any, Any]:
        """Term parameters, by name (``{"x": [1.0, 2.0], "W1": [[...]]}``), as the engine's
        given numbers, each shaped as its matrix at `sizes`; `exact` writes each with as
        few decimals as it has (1, 0.5), else with the key's default."""
        from .. import worked

        out: dict[Any, Any] = {}
        for name, value in params.items():
            symbol = self.symbols[name]
            shape = tuple(int(sp.sympify(d).xreplace(dict(sizes))) for d in symbol.shape)
            array = np.asarray(value, dtype=float).reshape(shape)
            out[symbol] = worked.given(array, name, exact=exact)
        return out

    def example(
        self, name: str, sizes: Mapping[Any, int], at: Mapping[Any, Any], show: Sequence[Any]
    ) -> Any:
        """`answerkey.worked.example` on this network: the values of `show` (stages, the
        loss, gradients ``D(E, W2)``, verified `Derivation`s) at the given values `at`,
        checked against this network's NumPy forward pass and its finite differences."""
        from .. import worked

        return worked.example(name, self.instance(sizes), at, show, oracle=self.forward)

    def trace(
        self,
        name: str,
        sizes: Mapping[Any, int],
        params: Mapping[Any, Any],
        samples: Sequence[Mapping[Any, Any]],
        optimizer: Any,
        iterations: int,
        show: Sequence[Any],
    ) -> Any:
        """`answerkey.worked.trace` on this network's loss: `iterations` passes of
        `optimizer` (`worked.SGD`, `kit.optim.SGD`) over `samples`, every number checked."""
        from .. import worked

        instance = self.instance(sizes)
        return worked.trace(
            name, instance, params, samples, self["E"], optimizer, iterations, show, self.forward
        )

    # --------------------------------------------------------------- the figure

    def figure(
        self,
        name: str = "network",
        caption: str = "The network.",
        sizes: Mapping[Any, int] | None = None,
        handout: bool = True,
    ) -> Figure:
        """The network drawn from this description (sizes as symbols, or numbers)."""

        def size(s: Any) -> int | str:
            value = sp.sympify(sp.sympify(s).xreplace(dict(sizes or {})))
            return int(value) if value.is_Integer else str(value)

        layers = [figures.Layer("x", "x", size(self.inputs), unit_name="inputs")]
        connections = []
        linears = self._linears()
        for k, lin, act, _ in linears:
            units = size(lin.size)
            kind = "output" if k == len(linears) else "hidden unit"
            unit_name = kind if units == 1 else kind + "s"
            if act is None:
                layers.append(figures.Layer(f"z^{{({k})}}", f"z({k})", units, unit_name=unit_name))
            else:
                y, z = (f"y^{{({k})}}", f"y({k})"), (f"z^{{({k})}}", f"z({k})")
                layers.append(figures.Layer(*y, units, act, *z, unit_name=unit_name))
            connections.append(figures.Connection(f"W^{{({k})}}", f"W({k})"))
        drawing = figures.Network(name, tuple(layers), tuple(connections))
        return diagram(name, caption, drawing, handout)


def diagram(name: str, caption: str, drawing: figures.Network, handout: bool = True) -> Figure:
    """A network drawing (an `answerkey.figures.Network`, from a description or drawn by
    hand) as the key's figure `name`, rendered in both formats only when it is written."""
    return Figure(name, text(caption), lambda: figures.network_figure(name, drawing), handout)
