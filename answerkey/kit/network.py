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

Each layer and the loss is an object of `answerkey.kit.layers` (its definition, oracle
and verified backward rules live there; nothing here switches on a name). Stages are
numbered by the layers that open one (linear): layer k maps the stage before to
``z{k} = W{k} y{k-1} (+ b{k})``; an activation after it gives ``y{k}``. The input is
``x``, the target ``t``, the loss ``E``; `names` renames any of them to the course's
names. Their LaTeX names (W^{(1)}, ...) are in `notation`. `steps`/`derivation` write
a gradient's chain-rule derivation from the graph (`answerkey.kit.derivation`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .. import figures
from ..errors import AuthoringError
from ..model import Figure, text
from .batch import Batch, Penalised
from .derivation import generated_steps
from .instances import Instantiable
from .layers import Layer, Loss, load_all
from .layers import Linear as Linear
from .layers import binary_cross_entropy as binary_cross_entropy
from .layers import cross_entropy as cross_entropy
from .layers import hinge as hinge
from .layers import linear as linear
from .layers import relu as relu
from .layers import sigmoid as sigmoid
from .layers import softmax as softmax
from .layers import squared_error as squared_error
from .layers import tanh as tanh


def Activation(name: str) -> Layer:  # the name it had as a class
    """The registered activation called `name` (``"tanh"``), e.g. from a string setting."""
    registry = load_all()
    cls = registry.get(name)
    if cls is None or not issubclass(cls, Layer) or cls.opens:
        known = sorted(k for k, c in registry.items() if issubclass(c, Layer) and not c.opens)
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(known)}")
    return cls()


@dataclass(frozen=True)
class Stage:
    """One value of the forward pass: its kit name (``z1``), SymPy matrix and definition,
    the layer that computes it, its input's kit name and parameters (role -> symbol)."""

    name: str
    symbol: Any
    definition: Any
    layer: Layer | Loss | None = None
    input: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Network(Instantiable):
    """Input size, layers and loss; see the module docstring for what it provides.

    `names` gives the course's names for the kit's quantities (``{"W1": "W", "z1": "s",
    "y1": "p", "E": "L"}``): the symbols carry them, so the key and every message use
    them; ``NET["W1"]`` and ``NET["W"]`` are the same matrix."""

    inputs: Any
    layers: Sequence[Layer]
    loss: Loss
    names: Mapping[str, str] = field(default_factory=dict)
    stages: list[Stage] = field(init=False)
    symbols: dict[str, Any] = field(init=False)
    notation: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.names = dict(self.names)
        self.symbols, self.notation, self.stages = {}, {}, []
        x = self._matrix("x", self.inputs, 1, "x")
        prev, size, k = "x", self.inputs, 0
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise ValueError(f"{layer!r} is not a layer (kit.linear(h), kit.tanh(), ...)")
            params: dict[str, Any] = {}
            if layer.opens:
                k += 1
                out = f"z{k}"
                for role, shape in layer.parameters(size).items():
                    sym = self._matrix(f"{role}{k}", *shape, f"{role}^{{({k})}}")
                    if not self._renamed(f"{role}{k}"):  # after an update
                        self.notation[f"{role}{k}'"] = f"{role}^{{({k})\\prime}}"
                    params[role] = sym
            else:
                if k == 0 or self.stages[-1].name != f"z{k}":
                    raise ValueError("an activation must follow a linear layer")
                out = f"y{k}"
            size = layer.output_size(size)
            symbol = self._matrix(out, size, 1, f"{out[0]}^{{({k})}}")
            definition = layer.definition(self.symbols[prev], params)
            self.stages.append(Stage(out, symbol, definition, layer, prev, params))
            prev = out
        if k == 0:
            raise ValueError("a network needs a linear layer")
        self.loss.check_output(self.layers[-1])
        t = self._matrix("t", size, 1, "t")
        E = sp.Symbol(self.names.get("E", "E"))
        self.symbols["E"] = E
        loss = self.loss.definition(self.symbols[prev], t)
        self.stages.append(Stage("E", E, loss, self.loss, prev))
        self.output, self.outputs = self.symbols[prev], size
        taken = [getattr(v, "name", str(v)) for v in self.symbols.values()]
        twice = sorted({q for q in taken if taken.count(q) > 1})
        if twice:
            raise AuthoringError(f"names= gives two quantities the name {', '.join(twice)}")
        unknown = set(self.names) - set(self.symbols)
        if unknown:
            raise AuthoringError(
                f"names= renames {', '.join(sorted(unknown))}, which this network does not "
                f"have; its quantities: {', '.join(self.symbols)}"
            )
        del x

    def _renamed(self, name: str) -> bool:
        return name in self.names and self.names[name] != name

    def _matrix(self, name: str, rows: Any, cols: Any, latex: str) -> Any:
        """The matrix the kit calls `name`, named as the course names it."""
        symbol = sp.MatrixSymbol(self.names.get(name, name), rows, cols)
        self.symbols[name] = symbol
        if name not in ("x", "t") and not self._renamed(name):
            self.notation[name] = latex
        return symbol

    # --------------------------------------------------------------- SymPy side

    def __getitem__(self, name: str) -> Any:
        """The SymPy matrix (or symbol) of a stage or parameter, by the kit's name or the
        course's: ``net["W1"]``."""
        if name in self.symbols:
            return self.symbols[name]
        try:
            return self.symbols[self.kit_name(name)]
        except KeyError as exc:  # an author's typo: one line naming what there is
            raise AuthoringError(str(exc.args[0])) from None

    def kit_name(self, name: str) -> str:
        """The kit's name (``W1``) of a quantity, from either name."""
        if name in self.symbols:
            return name
        for kit_name, sym in self.symbols.items():
            if getattr(sym, "name", str(sym)) == name:
                return kit_name
        raise AuthoringError(
            f"the network has no quantity {name!r}; its quantities: {self.quantities()}"
        )

    def quantities(self) -> str:
        """The network's quantities as the course names them, for messages."""
        return ", ".join(getattr(s, "name", str(s)) for s in self.symbols.values())

    def definitions(self, leaf: str | None = None) -> dict[Any, Any]:
        """Every stage's definition; with `leaf`, only those after it (it stays a free input)."""
        names = [s.name for s in self.stages]
        start = names.index(self.kit_name(leaf)) + 1 if leaf is not None else 0
        return {s.symbol: s.definition for s in self.stages[start:]}

    def target_assumptions(self, sizes: Mapping[Any, int]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The loss's assumptions on t at these sizes: (given, domain)."""
        k = int(sp.sympify(self.outputs).xreplace(dict(sizes)))
        name = self["t"].name
        return self.loss.target([[f"{name}_{i}" for i in range(1, k + 1)]], name)

    @property
    def weights(self) -> list[Any]:
        """The weight matrices W1, W2, ... in order."""
        return [s.params["W"] for s in self.stages if "W" in s.params]

    @property
    def biases(self) -> list[Any]:
        """The bias columns b1, b2, ... in order."""
        return [s.params["b"] for s in self.stages if "b" in s.params]

    def batch(self, samples: Any) -> Batch:
        """The network on a mini-batch of `samples` columns, the loss their mean
        (`answerkey.kit.batch`)."""
        return Batch(self, samples)

    def l2(self, rate: Any, name: str = "E_reg") -> Penalised:
        """The loss plus ``rate/2`` times the weights' squared norms (`answerkey.kit.batch`)."""
        return Penalised(self, rate, name)

    # --------------------------------------------------------------- generated derivations

    def steps(self, lhs: Any) -> list[Any]:
        """The chain-rule derivation of `lhs` (``D(E, W1)``, ``D(E, z2)``) from the graph,
        as `derive` steps: the chain rule, then one line per stage back from the loss
        citing the layer's fragment, then the simplified form. Edit any of them (reword a
        reason, replace a step) and pass them to `derive`."""
        return generated_steps(self, lhs)

    def derivation(
        self, lhs: Any, sizes: Sequence[Mapping[Any, int]], label: Sequence[str] = ()
    ) -> Any:
        """`derive(lhs, self.steps(lhs), instances at each of `sizes`, self.oracle)`: the
        generated derivation, verified like a hand-written one; the instances start at
        the stage the gradient needs (see `leaf`)."""
        from .writing import derive

        leaf = self.leaf(lhs)
        labels = list(label) + [""] * len(sizes)
        insts = [self.instance(s, leaf, labels[i]) for i, s in enumerate(sizes)]
        return derive(lhs, self.steps(lhs), insts, self.oracle)

    def leaf(self, lhs: Any) -> str | None:
        """The last stage `lhs`'s derivation does not differentiate through (None: x)."""
        from .derivation import target_stage

        j, role = target_stage(self, lhs)
        if role is None:
            return self.stages[j].name
        return None if j == 0 else self.stages[j - 1].name

    def cited(self, *lhs: Any) -> list[Any]:
        """The checks of every fragment the generated derivations of `lhs` cite, for the
        part's `numeric_checks`."""
        from .derivation import cited_fragments

        out: list[Any] = []
        for q in lhs:
            out += [f.check for f in cited_fragments(self, q) if f.check not in out]
        return out

    # --------------------------------------------------------------- NumPy side

    def _kit_values(self, v: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The given values by the kit's names (a name the network lacks is kept), vectors
        as columns."""
        vals: dict[str, np.ndarray] = {}
        for key, a in v.items():
            name = self.kit_name(key) if self._has(key) else key
            arr = np.asarray(a, dtype=float)
            vals[name] = arr.reshape(-1, 1) if arr.ndim == 1 and not name.startswith("W") else arr
        return vals

    def _has(self, name: str) -> bool:
        try:
            self.kit_name(name)
        except AuthoringError:
            return False
        return True

    def _given(self, v: Mapping[str, Any]) -> set[str]:
        """The kit's names of the values given in `v`."""
        return {self.kit_name(k) if self._has(k) else k for k in v}

    def _named(self, vals: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Values by the course's names."""
        return {(self.symbols[k].name if k in self.symbols else k): a for k, a in vals.items()}

    def _params(self, stage: Stage, vals: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {role: vals[self.kit_name(p.name)] for role, p in stage.params.items()}

    def _forward(self, v: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every value by the kit's names."""
        vals = self._kit_values(v)
        names = ["x"] + [s.name for s in self.stages[:-1]]
        start = max(i for i, n in enumerate(names) if n in vals)
        for stage in self.stages[start:-1]:
            assert isinstance(stage.layer, Layer)
            vals[stage.name] = stage.layer.forward(vals[stage.input], self._params(stage, vals))
        t = self.loss.np_target(vals["t"])
        last = self.stages[-2]
        loss = None
        if isinstance(last.layer, Layer) and not last.layer.opens:
            if last.name not in self._given(v):  # from the activation's input, if stabler
                loss = self.loss.np_from_logits(last.layer, vals[last.input], t)
        vals["E"] = np.asarray(loss if loss is not None else self.loss.np_loss(vals[last.name], t))
        return vals

    def forward(self, v: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every stage's value from the named inputs (x, W1, b1, ..., t), in NumPy.

        A stage given in `v` (``z2``, say) is taken as given and the pass starts there.
        """
        return self._named(self._forward(v))

    def oracle(self, v: Mapping[str, Any]) -> float:
        """The loss in NumPy from the named inputs: the verifier's independent oracle."""
        return float(self._forward(v)["E"])

    def gradients(self, v: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """dE/d(every parameter and stage), by backpropagation in NumPy: columns for
        stages, the parameter's shape for W and b."""
        vals = self._forward(v)
        t = self.loss.np_target(vals["t"])
        last = self.stages[-2].name
        g = self.loss.np_gradient(vals[last], t)
        grads: dict[str, np.ndarray] = {last: g}
        for stage in reversed(self.stages[:-1]):
            assert isinstance(stage.layer, Layer)
            params = self._params(stage, vals)
            g, pgrads = stage.layer.backward(vals[stage.input], vals[stage.name], params, g)
            for role, value in pgrads.items():
                grads[self.kit_name(stage.params[role].name)] = value
            grads[stage.input] = g
        return self._named(grads)

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
            symbol = self[name]
            shape = tuple(int(sp.sympify(d).xreplace(dict(sizes))) for d in symbol.shape)
            try:
                raw = np.asarray(value)  # integers stay integers (printed so)
                array = (raw if raw.dtype.kind in "iu" else raw.astype(float)).reshape(shape)
            except (TypeError, ValueError):
                raise AuthoringError(
                    f"given {symbol.name}: {np.size(value)} numbers do not fill its "
                    f"{' x '.join(map(str, shape))} shape at these sizes"
                ) from None
            out[symbol] = worked.given(array, symbol.name, exact=exact)
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

        def label(kit: str, k: int) -> tuple[str, str]:
            if self._renamed(kit):
                return self.names[kit], self.names[kit]
            return f"{kit[0]}^{{({k})}}", f"{kit[0]}({k})"

        x = self.names.get("x", "x")
        layers = [figures.Layer(x, x, size(self.inputs), unit_name="inputs")]
        connections = []
        opened = [s for s in self.stages[:-1] if isinstance(s.layer, Layer) and s.layer.opens]
        for k, stage in enumerate(opened, 1):
            after = [s for s in self.stages[:-1] if s.input == stage.name]
            units = size(stage.symbol.shape[0])
            kind = "output" if k == len(opened) else "hidden unit"
            unit_name = kind if units == 1 else kind + "s"
            z = label(stage.name, k)
            if not after:
                layers.append(figures.Layer(*z, units, unit_name=unit_name))
            else:
                act = after[0]
                assert isinstance(act.layer, Layer)
                y = label(act.name, k)
                glyph = act.layer.glyph
                layers.append(
                    figures.Layer(*y, units, act.layer.kind, *z, unit_name=unit_name, glyph=glyph)
                )
            connections.append(figures.Connection(*label(f"W{k}", k)))
        drawing = figures.Network(name, tuple(layers), tuple(connections))
        return diagram(name, caption, drawing, handout)


def diagram(name: str, caption: str, drawing: figures.Network, handout: bool = True) -> Figure:
    """A network drawing (an `answerkey.figures.Network`, from a description or drawn by
    hand) as the key's figure `name`, rendered in both formats only when it is written."""
    return Figure(name, text(caption), lambda: figures.network_figure(name, drawing), handout)
