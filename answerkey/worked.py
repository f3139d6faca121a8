"""Worked examples and optimizer traces: verified results at given values, computed and checked
by the engine.

A part asks for numbers in one of three ways, and gets `Number`s (see
`answerkey.numbers`) whose every value the engine computed and checks:

* `example(name, instance, at, show, oracle)`: the values of `show` at the given
  values `at` ("these verified results at these given values");
* `trace(name, instance, params, samples, loss, optimizer, iterations, show, oracle)`:
  `iterations` passes of `optimizer` over `samples` ("N steps of this optimizer on this
  model and these samples"), each step an example plus the parameters' update, and
  `Trace.totals` (a sum over the trace per iteration);
* `value(name, label, expr, at)`: one expression at given values, no model.

The inputs are what a network description yields: SymPy definitions (an
`Instance`: ``z = W x``, ``L = ...``), an independent NumPy forward `oracle`
(named inputs -> named values; a value given for a defined variable overrides
its definition, which is how finite differences by a hidden layer's input are
taken), the given values and an optimizer's update rule (`SGD`).

What is shown is ``label = value``. `show` lists labels (each evaluated as
itself) or ``(label, expr)`` pairs, or verified `Derivation`s (label: its
quantity; value: its result). At build time the engine evaluates each expression
through the instance's definitions (`Concrete.lazy`: layers stay symbols, every
``D(f, x)`` by the chain rule). Verification, run as the part's numeric check
(the object is callable), checks what the label claims by a second path:

* a gradient ``D(f, x)`` (the label, or else the expression): central finite
  differences of the oracle's f by every entry of x; where the two one-sided
  differences disagree (a kink within the step) the value must equal one of them;
* any other label written in the instance's variables (a layer, the loss, an
  expression of them): the oracle's forward values, the label evaluated on them;
  without an oracle, SymPy's exact substitution at 30 digits;
* an update: step = optimizer step of the finite-difference gradient, new value =
  old value + that step; for an optimizer with state (`StatefulOptimizer`: momentum,
  Adam), the step, new value and each shown line of its rule (`LineOf`) against the
  rule the key prints (`Rule`, evaluated by SymPy's code) on the finite-difference
  gradients, with a state the check carries itself from the first update;
* a sum over the trace: the sum of the oracle's values.

A failure names the object, the update and the label; the verifier adds the
assignment and part.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .errors import AuthoringError
from .instantiate import Concrete, Matrix, tree_function
from .mathfns import D
from .model import Block, CheckRecord, Derivation, Instance, Text, counted
from .quantity import Number, computed, given

FORWARD_RTOL = 1e-9
FORWARD_ATOL = 1e-12
FD_STEP = 1e-6
FD_TOL = 1e-6
ONE_SIDED_TOL = 1e-5

#: an oracle: named inputs (matrices as 2-D arrays, scalars as floats) -> named values
Oracle = Callable[[Mapping[str, Any]], Any]


class WorkedError(AssertionError):
    """A worked value failed its check; the verifier reports it with the assignment and part."""


@dataclass(frozen=True)
class SGD:
    """Plain gradient descent: the step is -learning_rate times the gradient."""

    learning_rate: Any

    @property
    def rate(self) -> float:
        return float(given(self.learning_rate, "learning rate"))

    def step(self, gradient: np.ndarray) -> np.ndarray:
        return -self.rate * np.asarray(gradient, dtype=float)

    def describe(self) -> str:
        return "-learning rate × gradient"


class Optimizer(Protocol):
    """What a trace needs of an optimizer (`SGD` here, `answerkey.kit.optim.SGD` too): the
    engine's step, and the learning rate the check uses. The check is SGD's rule
    (step = -rate × finite-difference gradient). An optimizer with state (momentum,
    Adam) is a `StatefulOptimizer` instead."""

    @property
    def rate(self) -> float: ...

    def step(self, gradient: Any) -> Any: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Rule:
    """An optimizer's update of one entry, as the key prints it: the second path of a trace
    whose optimizer has state.

    `lines` are ``(lhs, expr)`` in order, each expr in the `parameter` before the
    update, its `gradient`, the update's number `count` (1 for the first update of a
    trace), the `state` before the update (every entry 0 at the start), the
    hyperparameters (numbers in `values`) and earlier lines' lhs. `new` pairs the
    parameter and each state symbol with the line that is its value after the update.
    The engine evaluates the lines entry by entry with SymPy's own code (`lambdify`)."""

    lines: tuple[tuple[sp.Symbol, Any], ...]
    parameter: sp.Symbol
    gradient: sp.Symbol
    new: tuple[tuple[sp.Symbol, sp.Symbol], ...]
    count: sp.Symbol | None = None
    values: tuple[tuple[sp.Symbol, float], ...] = ()

    @property
    def state(self) -> list[sp.Symbol]:
        return [s for s, _ in self.new if s != self.parameter]

    def updated(self, symbol: sp.Symbol) -> sp.Symbol:
        """The line holding `symbol`'s value after the update."""
        return dict(self.new)[symbol]

    def evaluate(
        self, old: np.ndarray, gradient: np.ndarray, state: Mapping[str, np.ndarray], count: int
    ) -> dict[str, np.ndarray]:
        """Every line's value (by its lhs's name) at these entries."""
        old = np.asarray(old, dtype=float)
        env: dict[sp.Symbol, Any] = {
            self.parameter: old,
            self.gradient: gradient.reshape(old.shape),
        }
        env |= {s: np.asarray(state[s.name], dtype=float).reshape(old.shape) for s in self.state}
        if self.count is not None:
            env[self.count] = float(count)
        values = {s: float(v) for s, v in self.values}
        out: dict[str, np.ndarray] = {}
        for lhs, expr in self.lines:
            expr = sp.sympify(expr).xreplace(values)
            args = sorted(expr.free_symbols, key=lambda s: s.name)
            unknown = [a.name for a in args if a not in env]
            if unknown:
                raise WorkedError(f"the rule's line {lhs} uses {', '.join(unknown)}, not defined")
            got = _compiled(tuple(args), expr)(*(env[a] for a in args))
            env[lhs] = np.broadcast_to(np.asarray(got, dtype=float), old.shape).copy()
            out[lhs.name] = env[lhs]
        return out


_COMPILED: dict[tuple[Any, ...], Callable[..., Any]] = {}


def _compiled(args: tuple[sp.Symbol, ...], expr: Any) -> Callable[..., Any]:
    """`expr` as a NumPy function of `args` (SymPy's printer writes the code), once."""
    key = (args, expr)
    if key not in _COMPILED:
        _COMPILED[key] = sp.lambdify(args, expr, "numpy")
    return _COMPILED[key]


class StatefulOptimizer(Protocol):
    """An optimizer with state (momentum, Adam...): its NumPy `update` is the engine's path,
    its `entrywise()` rule (what the key prints) the check's, evaluated on finite-difference
    gradients with a state the check carries itself from the first update on."""

    @property
    def rate(self) -> float: ...

    def update(
        self, gradient: np.ndarray, state: Mapping[str, np.ndarray], count: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The step and every line's value by its lhs's name (the new state among them)."""
        ...

    def entrywise(self) -> Rule: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class StepOf:
    """In a trace's `show`: the optimizer's step of a parameter (Δw)."""

    param: Any


@dataclass(frozen=True)
class NewValueOf:
    """In a trace's `show`: a parameter after the update (w + Δw)."""

    param: Any


@dataclass(frozen=True)
class LossAfter:
    """In a trace's `show`: the loss after the update, at the new parameters and the same
    sample (its label: the loss's name with a prime, ``E'``). `loss` may be left out; given,
    it must be the trace's loss."""

    loss: Any = None


class Named(NamedTuple):
    """A label declared for a quantity in a `show` list: ``named("delta_out", D(L, s_out))``
    prints ``delta_out = value``. Without it, a label must be the quantity itself, an
    expression the model can evaluate (checked as written), an entry ``p[1, 0]``, or the
    label of an update (``W1'``, ``Delta_W1``, ``E'``)."""

    label: Any
    quantity: Any


def named(label: Any, quantity: Any) -> Named:
    """`quantity` shown under the label `label` (a name or a SymPy symbol): the author's
    declaration that the label names that quantity (see `Named`)."""
    return Named(sp.Symbol(label) if isinstance(label, str) else label, quantity)


def entry(v: Any, i: int, j: int | None = None) -> Any:
    """Entry `i` of the vector `v` (or (i, j) of a matrix), counted from 1 as the course
    writes it: ``entry(p, 2)`` is p's second entry, printed p_2. Use it in `show`, to
    index a worked object (``example[entry(p, 2)]``) and in prose (``(entry(p, 2), n)``)."""
    rows, cols = v.shape
    if j is None:
        if cols != 1 and rows != 1:  # structurally: K x 1 is a column
            raise AuthoringError(f"entry({v}, {i}): {v} is a matrix; give the row and column")
        j, i = (1, i) if cols == 1 else (i, 1)
    fits = [bool(k <= n) for k, n in ((i, rows), (j, cols)) if sp.sympify(n).is_Integer]
    if i < 1 or j < 1 or not all(fits):
        raise AuthoringError(f"entry({v}, {i}, {j}): {v} is {rows}x{cols}; entries count from 1")
    return v[i - 1, j - 1]


#: the labels an update may be shown under, by kind: the parameter's name `p` filled in
#: (``x_t``: x after update t, as an optimizer's rule writes ``w_t``)
UPDATE_LABELS = {
    "NewValueOf": ("{p}'", "{p}_next", "{p}_new", "{p}_t"),
    "StepOf": ("Delta_{p}", "Delta{p}", "Δ{p}"),
    "LossAfter": ("{p}'", "{p}_after", "{p}_next", "{p}_new", "{p}_t"),
}


def update_label(kind: Any, name: str, shape: tuple[int, int] | None = None) -> Any:
    """The label an update of `name` prints under when `show` gives none: ``W1'``
    (the new value), ``Delta_W1`` (the step), ``E'`` (the loss after)."""
    text = UPDATE_LABELS[type(kind).__name__][0].format(p=name)
    if shape is None or shape == (1, 1):
        return sp.Symbol(text)
    return sp.MatrixSymbol(text, *shape)


@dataclass(frozen=True)
class LineOf:
    """In a trace's `show`: one line of a stateful optimizer's rule (its state m_t, a
    bias-corrected value...) for a parameter at this update; `line` is the lhs."""

    param: Any
    line: Any


def _name(var: Any) -> str:
    return Concrete.name(var)


def _key(label: Any) -> str:
    return label if isinstance(label, str) else sp.sstr(label)


class _Model:
    """One instance, made explicit once; evaluates expressions at given values."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.c = Concrete(instance)
        self._lazy: dict[Any, Matrix] = {}
        self.variables = {_name(v): v for v in instance.defs}

    def lazy(self, expr: Any) -> Matrix:
        if expr not in self._lazy:
            self._lazy[expr] = self.c.lazy(expr)
        return self._lazy[expr]

    def shape(self, var: Any) -> tuple[int, int]:
        return tuple(self.c.entries(var).shape)  # type: ignore[return-value]

    def fixed(self, at: Mapping[Any, Any]) -> dict[sp.Symbol, np.ndarray]:
        out: dict[sp.Symbol, np.ndarray] = {}
        for var, value in at.items():
            entries = self.c.entries(var)
            if isinstance(value, Number):
                value = value.value
            arr = np.asarray(value, dtype=float).reshape(entries.shape)
            for e, v in zip(entries, arr.reshape(-1), strict=True):
                out[e] = np.array([v])
        return out

    def evaluate(self, exprs: Sequence[Any], at: Mapping[Any, Any]) -> list[np.ndarray]:
        values = [self.lazy(e) for e in exprs]
        fixed = self.fixed(at)
        missing = sorted(
            s.name for s in self.c.inputs(*values) if s not in fixed and s not in self.c.nodes
        )
        if missing:
            raise ValueError(f"no given value for {', '.join(missing)}")
        env = self.c.sample(values, 1, np.random.default_rng(0), (0.0, 0.0), fixed=fixed)
        return [self.c.evaluate(v, env, 1)[0] for v in values]


_MODELS: dict[int, tuple[Instance, _Model]] = {}


def _model(instance: Instance) -> _Model:
    """One `_Model` per instance object in this process (built once: variants share it)."""
    seen = _MODELS.get(id(instance))
    if seen is None or seen[0] is not instance:
        seen = (instance, _Model(instance))
        _MODELS[id(instance)] = seen
    return seen[1]


def _as_items(show: Iterable[Any]) -> list[tuple[Any, Any]]:
    out: list[tuple[Any, Any]] = []
    for item in show:
        if isinstance(item, Derivation):
            out.append((item.lhs, item.steps[-1].expr))
        elif isinstance(item, Named):
            out.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            out.append((item[0], item[1]))
        else:
            out.append((item, item))
    return out


def _update_kind(e: Any) -> str:
    return {
        "NewValueOf": "the new value of {p}",
        "StepOf": "the step of {p}",
        "LossAfter": "the loss {p} after the update",
    }[type(e).__name__]


def line_label(line: Any, label: Any) -> tuple[str | None, int | None]:
    """May `label` print a line of an optimizer's rule (``m_t``, ``\\hat{m}_t``)? It may be
    the line's own symbol, or the same with the update's number for t (``m_1``). Returns
    (the line's stem, the number; None when the label is written with t) or (None, None)
    when it may not."""
    name = _name(line)
    if not name.endswith("_t") or not isinstance(label, sp.Symbol):
        return (name, None) if label == line else (None, None)
    stem = name[:-2]
    if label.name == name:
        return stem, None
    m = re.fullmatch(re.escape(stem) + r"_(?:(\d+)|\{(\d+)\})", label.name)
    return (stem, int(m.group(1) or m.group(2))) if m else (None, None)


def unbound(model: Any, label: Any, expr: Any, loss: Any = None) -> str | None:
    """Why `label` does not name the quantity `expr` it would be printed beside (None when
    it does): a label is the quantity itself, an expression the model evaluates (then
    checked as written), a derivative (checked by finite differences), an entry of a shown
    quantity, a label declared with `named`, or an update's own label (``W1'`` for
    ``NewValueOf(W1)``; see `UPDATE_LABELS`). Never free text or an unrelated symbol."""
    if isinstance(expr, LineOf):
        stem, _ = line_label(expr.line, label)
        if stem is not None:
            return None
        return (
            f"the label {_key(label)} is printed over the line {_key(expr.line)} of the "
            f"optimizer's rule for {_name(expr.param)}: label it {_key(expr.line)} or with the "
            f"update's number for t (the line itself when shown alone)"
        )
    if isinstance(expr, StepOf | NewValueOf | LossAfter):
        name = _name(loss if isinstance(expr, LossAfter) else expr.param)
        allowed = [f.format(p=name) for f in UPDATE_LABELS[type(expr).__name__]]
        if isinstance(label, sp.Symbol | sp.MatrixSymbol) and str(label.name) in allowed:
            return None
        return (
            f"the label {_key(label)} is printed over {_update_kind(expr).format(p=name)}: "
            f"label it {allowed[0]} or {allowed[1]} (or show {type(expr).__name__}(...) alone, "
            f"which labels itself {allowed[0]})"
        )
    if isinstance(label, str | Text):
        return (
            f"the label {label!r} is text: show the quantity itself, or declare the label "
            f"with worked.named({label!r}, quantity)"
        )
    if label == expr or isinstance(label, D):
        return None
    if isinstance(label, MatrixElement):
        return None if label == expr else f"the entry {_key(label)} is not {_key(expr)}"
    if isinstance(label, sp.Basic) and _claim(model, label, expr) is label:
        return None  # an expression of the model: the check reads the label as written
    if isinstance(expr, sp.Symbol | sp.MatrixSymbol) and _name(label) == _name(expr):
        return None
    return (
        f"the label {_key(label)} is not a quantity of the model: it would print "
        f"{_key(label)} = the value of {_key(expr)}; show {_key(expr)} itself, one entry of a "
        f"quantity (p[1, 0], printed p_2), or declare the label with worked.named"
    )


def _plain_inputs(model: _Model, at: Mapping[Any, Number]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for var, n in at.items():
        arr = np.asarray(n.value, dtype=float).reshape(model.shape(var))
        out[_name(var)] = float(arr[0, 0]) if isinstance(var, sp.Symbol) else arr.copy()
    return out


def _claim(model: _Model, label: Any, expr: Any) -> Any:
    """What the line ``label = value`` claims, for its second path: the label when the
    engine can read it (a D, or an expression in the instance's variables), else the
    expression."""
    if isinstance(label, D):
        return label
    if isinstance(label, sp.Basic) and not isinstance(label, sp.Symbol | sp.MatrixSymbol):
        names = {_name(s) for s in label.free_symbols}
        known = set(model.variables) | set(_input_names(model))
        if names and names <= known:
            return label
    if isinstance(label, sp.Symbol | sp.MatrixSymbol) and (
        _name(label) in model.variables or _name(label) in _input_names(model)
    ):
        return label
    return expr


def _input_names(model: _Model) -> set[str]:
    return set(model.c.names()) - set(model.variables)


class _Point:
    """One evaluation point of a worked object: given values, shown values, and (trace) update."""

    def __init__(self, owner: Any, prefix: str, model: _Model, at: Mapping[Any, Number]) -> None:
        self.owner, self.prefix, self.model, self.at = owner, prefix, model, dict(at)
        self.labels: dict[str, Any] = {}  # key -> printed label
        self.claims: dict[str, Any] = {}  # key -> what is checked
        self.values: dict[str, np.ndarray] = {}
        self.numbers: dict[str, Number] = {}
        self.grads: dict[str, np.ndarray] = {}  # a trace step's gradients, by parameter name
        self.new: dict[Any, np.ndarray] = {}  # a trace step's parameters after the update
        self.unbound: list[str] = []  # labels that do not name their quantity (`unbound`)

    def key(self, label: Any) -> str:
        return f"{self.prefix}{_key(label)}"

    def show(self, items: Sequence[tuple[Any, Any]]) -> None:
        """Evaluate `items` (label, expr) at this point; inputs shown are the given numbers."""
        by_input = {_name(v): n for v, n in self.at.items()}
        todo = []
        for item in items:
            label, expr = item
            if not isinstance(item, Named):
                why = unbound(self.model, label, expr, getattr(self.owner, "loss", None))
                if why:
                    self.unbound.append(why)
            if isinstance(expr, MatrixElement):
                parent = self.model.evaluate([expr.parent], self.at)[0]
                entry = np.asarray(parent, dtype=float)[int(expr.i), int(expr.j)]
                self.add(label, expr, np.array([[entry]]))
                continue
            if isinstance(expr, sp.Symbol | sp.MatrixSymbol) and _name(expr) in by_input:
                self.numbers[_key(label)] = by_input[_name(expr)]
                self.labels[_key(label)] = label
                continue
            todo.append((label, expr))
        values = self.model.evaluate([e for _, e in todo], self.at) if todo else []
        for (label, expr), v in zip(todo, values, strict=True):
            self.add(label, _claim(self.model, label, expr), v)

    def add(self, label: Any, claim: Any, value: np.ndarray) -> Number:
        k = _key(label)
        self.labels[k] = label
        self.claims[k] = claim
        self.values[k] = value
        n = computed(self.owner, self.key(label), _display(value), self.owner.label_of(self, k))
        self.numbers[k] = n
        return n

    def __getitem__(self, label: Any) -> Number:
        k = _key(label)
        if k in self.numbers:
            return self.numbers[k]
        if isinstance(label, MatrixElement) and _key(label.parent) in self.numbers:
            whole = self.numbers[_key(label.parent)]
            shape = np.asarray(whole.value).shape
            i, j = int(label.i), int(label.j)
            if len(shape) != 2 or i >= shape[0] or j >= shape[1]:
                raise AuthoringError(
                    f"{self.owner.name}: {_entry(label)} is outside {_key(label.parent)}, "
                    f"which has shape {shape}"
                )
            return whole[i, j]
        shown = ", ".join(self.numbers) or "nothing"
        raise AuthoringError(
            f"{self.owner.name}: {_key(label)} is not among the values it shows ({shown}); "
            "add it to `show`, or index an entry of a shown vector as p[1, 0] (printed p_2)"
        )

    def states(self, k: str, lhs: Any, shown: Any, index: tuple[int, ...] = ()) -> str | None:
        """Why ``lhs = shown`` (a number of this point, shown under `k`, entry `index` of
        it) is false; None when `lhs` is the label it was computed for, or equals `shown`
        here."""
        label = self.labels.get(k, k)
        shown = np.asarray(shown, dtype=float)
        claim = self.claims.get(k)
        if isinstance(claim, LineOf) and self.prefix.startswith("update "):
            stem, number = line_label(claim.line, lhs)
            update = int(self.prefix.split()[1].rstrip(":"))
            if stem is None:
                return f"it is {_key(claim.line)} of {_name(claim.param)}, not {_key(lhs)}"
            if number is not None and number != update:
                return f"it is {_key(claim.line)} at update {update}, not at update {number}"
            return f"it is one entry of {_key(label)}" if index else None
        if isinstance(lhs, MatrixElement) and _key(lhs.parent) == _key(label) and index:
            want = (int(lhs.i), int(lhs.j))
            if index == want or (len(index) == 1 and want in ((index[0], 0), (0, index[0]))):
                return None
            return f"it is entry {_entry_of(label, index)} of {_key(label)}, not {_entry(lhs)}"
        if _key(lhs) == _key(label):
            return f"it is one entry of {_key(label)}" if index else None
        try:
            (value,) = self.model.evaluate([lhs], self.at)
        except Exception:
            return f"it is the value of {_key(label)}, not of {_key(lhs)}"
        value = np.asarray(value, dtype=float)
        if value.size == shown.size and np.allclose(
            value.reshape(-1), shown.reshape(-1), rtol=1e-9, atol=1e-12
        ):
            return None
        return (
            f"it is the value of {_key(label)}; {_key(lhs)} is "
            f"{np.array2string(value.reshape(-1), precision=6)} there"
        )

    def block(self, title: Text) -> Block:
        """The shown values as a block, in the order shown."""
        return Block(title, tuple((self.labels[k], n) for k, n in self.numbers.items()))

    # --- verification --------------------------------------------------------

    def verify(self, oracle: Oracle | None, where: str) -> tuple[list[CheckRecord], dict[str, Any]]:
        """Each shown value by its second path; returns records and the oracle's values."""
        inputs = _plain_inputs(self.model, self.at)
        forward: dict[str, Any] = _call(oracle, inputs, where) if oracle is not None else {}
        worst_fd, grads, fwd, one_sided = 0.0, 0, 0, []
        for k, claim in self.claims.items():
            value = self.values[k]
            at = f"{where}, {k}"
            if isinstance(claim, StepOf | NewValueOf | LossAfter | LineOf):
                continue  # the trace checks updates (`Trace._check_update`)
            if isinstance(claim, MatrixElement):  # an entry: its whole quantity, then it
                (whole,) = self.model.evaluate([claim.parent], self.at)
                entry = np.asarray(whole, dtype=float)[int(claim.i), int(claim.j)]
                if not np.allclose(value.reshape(-1), [entry], rtol=0, atol=0):
                    raise WorkedError(f"{at}: the engine's entry is not its {_key(claim.parent)}'s")
                claim, value = claim.parent, np.asarray(whole, dtype=float)
            if isinstance(claim, D):
                err, side = _check_gradient(self.model, claim, value, inputs, oracle, at)
                worst_fd, grads = max(worst_fd, err), grads + 1
                if side:
                    one_sided.append(f"{k} by {side}")
            else:
                _check_forward(self.model, claim, value, inputs, forward, oracle, at)
                fwd += 1
        records = []
        if fwd:
            how = "the NumPy oracle" if oracle is not None else "SymPy's exact substitution"
            records.append(
                CheckRecord(
                    "recomputation",
                    f"{where}: values",
                    f"{counted(fwd, 'value')} recomputed by {how} (a second path)",
                )
            )
        if grads:
            detail = f"{counted(grads, 'gradient')} {'matches' if grads == 1 else 'match'} "
            detail += f"central differences (error {worst_fd:.1e})"
            if one_sided:
                detail += (
                    "; one-sided where a kink lies within the step (" + "; ".join(one_sided) + ")"
                )
            records.append(CheckRecord("finite-difference", f"{where}: gradients", detail))
        return records, forward


def _entry(e: MatrixElement) -> str:
    """An entry as the key prints it, 1-based: p_2 for a vector's, W_1,2 for a matrix's."""
    return f"{_key(e.parent)}_{_entry_of(e.parent, (int(e.i), int(e.j)))}"


def _entry_of(parent: Any, index: tuple[int, ...]) -> str:
    shape = getattr(parent, "shape", None)
    vector = shape is not None and len(index) == 2 and 1 in tuple(shape)
    if len(index) == 1 or vector:
        return str(max(index) + 1)
    return ",".join(str(i + 1) for i in index)


def _display(value: np.ndarray) -> Any:
    arr = np.asarray(value, dtype=float)
    return float(arr.reshape(-1)[0]) if arr.size == 1 else arr


#: what a worked example's or trace's oracle must do, for the messages that refuse one
CONTRACT = (
    "a worked example's or trace's oracle takes the given values by name ({inputs}) and "
    "returns a dict of every stage's value and the loss by name (NET.forward does)"
)


def _call(oracle: Oracle, inputs: Mapping[str, Any], where: str) -> dict[str, Any]:
    contract = CONTRACT.format(inputs=", ".join(sorted(inputs)))
    try:
        out = oracle(dict(inputs))
    except Exception as exc:
        raise WorkedError(
            f"{where}: the oracle raised {type(exc).__name__}: {exc}; {contract}"
        ) from None
    if isinstance(out, Mapping):
        return dict(out)
    try:
        single = np.asarray(out, dtype=float).size == 1
    except (TypeError, ValueError):
        single = False
    if not single:
        raise WorkedError(f"{where}: the oracle returned a {type(out).__name__}; {contract}")
    return {"": out}  # the loss alone: enough for gradients of it, not for other stages


def _oracle_value(
    model: _Model, out: Mapping[str, Any], name: str, where: str, shape: Any = None
) -> np.ndarray:
    """The oracle's value of `name`, in `shape`; a lone number stands only for the loss."""
    if name in out:
        value = np.asarray(out[name], dtype=float)
    elif "" in out and len(out) == 1 and name in _losses(model):
        value = np.asarray(out[""], dtype=float)
    else:
        given = "a single number" if "" in out else "values of " + ", ".join(map(str, out))
        raise WorkedError(
            f"{where}: the oracle gives no value for {name!r} (it returned {given}); "
            + CONTRACT.format(inputs="x, W1, ...")
        )
    if shape is not None:
        if value.size != int(np.prod(shape)):
            raise WorkedError(
                f"{where}: the oracle's {name!r} has shape {value.shape}, the engine's "
                f"{tuple(shape)}; " + CONTRACT.format(inputs="x, W1, ...")
            )
        value = value.reshape(shape)
    return value


def _losses(model: _Model) -> set[str]:
    """The instance's top quantities: defined variables no other definition uses (the
    loss), which an oracle returning one number may stand for."""
    used = {s for d in model.instance.defs.values() for s in sp.sympify(d).free_symbols}
    return {_name(v) for v in model.instance.defs if v not in used}


def _check_forward(
    model: _Model,
    claim: Any,
    value: np.ndarray,
    inputs: Mapping[str, Any],
    forward: Mapping[str, Any],
    oracle: Oracle | None,
    where: str,
) -> None:
    """The claim recomputed from the oracle's values (or exactly by SymPy without one)."""
    if oracle is None:
        other = _exact(model, claim, inputs)
        how = "SymPy's exact substitution"
    elif isinstance(claim, sp.Symbol | sp.MatrixSymbol) and _name(claim) in model.variables:
        other = _oracle_value(model, forward, _name(claim), where, value.shape)
        how = "the oracle"
    else:
        local = model.c.local(claim)
        syms = sorted(local.free_symbols, key=lambda s: s.name)
        env: dict[sp.Symbol, float] = {}
        for name in model.c.names():
            entries = model.c.entries_by_name(name)
            if name in model.variables:
                if name not in forward:
                    continue
                arr = _oracle_value(model, forward, name, where, entries.shape)
            elif name in inputs:
                arr = np.asarray(inputs[name], dtype=float).reshape(entries.shape)
            else:
                continue
            for e, v in zip(entries, arr.reshape(-1), strict=True):
                env[e] = float(v)
        missing = [s.name for s in syms if s not in env]
        if missing:
            raise WorkedError(f"{where}: the oracle gives no value for {', '.join(missing)}")
        out = tree_function(syms, list(local))(*(env[s] for s in syms))
        other = np.array([float(v) for v in out]).reshape(value.shape)
        how = "the oracle's values"
    if not np.allclose(value, other, rtol=FORWARD_RTOL, atol=FORWARD_ATOL):
        raise WorkedError(f"{where}: the engine computes {_fmt(value)}, {how} gives {_fmt(other)}")


def _exact(model: _Model, claim: Any, inputs: Mapping[str, Any]) -> np.ndarray:
    full = model.c.value(claim)
    sub: dict[sp.Symbol, Any] = {}
    for name in model.c.names():
        if name in inputs:
            entries = model.c.entries_by_name(name)
            arr = np.asarray(inputs[name], dtype=float).reshape(entries.shape)
            for e, v in zip(entries, arr.reshape(-1), strict=True):
                sub[e] = sp.Float(float(v), 30)
    vals = [complex(sp.N(e.xreplace(sub), 30)) for e in full]
    return np.array([v.real for v in vals]).reshape(full.shape)


def _fmt(v: Any) -> str:
    text = np.array2string(np.asarray(v, dtype=float), precision=10, max_line_width=10**6)
    return text.replace("\n", "")


def _f_of(
    model: _Model,
    f: Any,
    x: Any,
    inputs: Mapping[str, Any],
    oracle: Oracle | None,
    where: str,
) -> tuple[Callable[[np.ndarray], float], np.ndarray]:
    """f as a function of x's entries (the oracle's f, or the definitions' without one),
    and x's value at this point. x may be an input or a defined variable (its value
    given to the oracle overrides its definition)."""
    f_name, x_name = _name(f), _name(x)
    entries = model.c.entries(x)
    at = {_var(model, n): v for n, v in inputs.items()}
    if x_name in inputs:
        base = np.asarray(inputs[x_name], dtype=float).reshape(entries.shape)
    else:
        base = model.evaluate([x], at)[0]

    def f_at(v: np.ndarray) -> float:
        if oracle is not None:
            moved = dict(inputs)
            moved[x_name] = float(v[0, 0]) if isinstance(x, sp.Symbol) else v
            out = _oracle_value(model, _call(oracle, moved, where), f_name, where, (1,))
            return float(out[0])
        fl = model.lazy(f)
        fixed = {**model.fixed(at), **model.fixed({x: v})}
        env = model.c.sample([fl], 1, np.random.default_rng(0), (0.0, 0.0), fixed=fixed)
        return float(model.c.evaluate(fl, env, 1).reshape(-1)[0])

    return f_at, base


@dataclass
class _Differences:
    """Central and one-sided differences of f by each entry of x."""

    central: np.ndarray
    right: np.ndarray
    left: np.ndarray

    @classmethod
    def of(cls, f_at: Callable[[np.ndarray], float], base: np.ndarray) -> _Differences:
        f0 = f_at(base)
        n = base.size
        central, right, left = np.zeros(n), np.zeros(n), np.zeros(n)
        for i in range(n):
            up, down = base.copy().reshape(-1), base.copy().reshape(-1)
            up[i] += FD_STEP
            down[i] -= FD_STEP
            fu, fd = f_at(up.reshape(base.shape)), f_at(down.reshape(base.shape))
            central[i] = (fu - fd) / (2 * FD_STEP)
            right[i], left[i] = (fu - f0) / FD_STEP, (f0 - fd) / FD_STEP
        return cls(central, right, left)

    def compare(
        self, claimed: Any, how: Callable[[np.ndarray], np.ndarray]
    ) -> tuple[float, list[int]]:
        """The worst error of `claimed` against how(differences), entry by entry, and the
        entries compared one-sided: where the two sides disagree (a kink within the
        step), `claimed` must equal how(one side). Raises ValueError on a mismatch."""
        got = np.asarray(claimed, dtype=float).reshape(-1)
        c = np.asarray(how(self.central), dtype=float).reshape(-1)
        r = np.asarray(how(self.right), dtype=float).reshape(-1)
        lft = np.asarray(how(self.left), dtype=float).reshape(-1)
        worst, sided = 0.0, []
        for i in range(got.size):
            err = abs(c[i] - got[i]) / max(1.0, abs(c[i]))
            if err > FD_TOL:
                kink = abs(r[i] - lft[i]) > ONE_SIDED_TOL * max(1.0, abs(r[i]), abs(lft[i]))
                side = min(abs(r[i] - got[i]), abs(lft[i] - got[i])) / max(1.0, abs(got[i]))
                if not (kink and side <= ONE_SIDED_TOL):
                    raise ValueError(f"entry {i + 1}: {_fmt(got)} against {_fmt(c)}")
                sided.append(i)
                err = side
            worst = max(worst, err)
        return worst, sided


def _check_gradient(
    model: _Model,
    claim: D,
    value: np.ndarray,
    inputs: Mapping[str, Any],
    oracle: Oracle | None,
    where: str,
) -> tuple[float, str]:
    """Central differences of f by each entry of x; one-sided where a kink lies within
    the step. Returns the worst error and the entries done one-sided."""
    f_at, base = _f_of(model, claim.f, claim.x, inputs, oracle, where)
    diff = _Differences.of(f_at, base)
    try:
        worst, sided = diff.compare(value, lambda d: d)
    except ValueError:
        raise WorkedError(
            f"{where}: the engine gives {_fmt(value)}, central finite differences of "
            f"{'the oracle' if oracle else 'the definitions'} give {_fmt(diff.central)}"
        ) from None
    x_name = _name(claim.x)
    return worst, ", ".join(f"{x_name}{_entry_name(i, base.shape)}" for i in sided)


def _entry_name(i: int, shape: tuple[int, ...]) -> str:
    if len(shape) == 2 and 1 in shape:
        return f"_{i + 1}"
    r, c = divmod(i, shape[1])
    return f"_{r + 1}{c + 1}"


def _var(model: _Model, name: str) -> Any:
    """The instance's variable (or input) called `name`, as its entries know it."""
    for var in model.instance.defs:
        if _name(var) == name:
            return var
    return _INPUTS[(id(model), name)]


_INPUTS: dict[tuple[int, str], Any] = {}


def _register_inputs(model: _Model, at: Mapping[Any, Any]) -> None:
    for var in at:
        _INPUTS[(id(model), _name(var))] = var


def _givens(at: Mapping[Any, Any]) -> dict[Any, Number]:
    return {var: given(v, _name(var)) for var, v in at.items()}


def _gives(
    name: str, model: _Model, points: Sequence[_Point], lhs: Any, value: Any
) -> tuple[bool, str] | None:
    """Does ``lhs = value`` (a given number in the prose) agree with the worked object
    `name` whose evaluation `points` are? (True, "") when `lhs` is one of its inputs with
    that value; (False, why) when it takes another value or computes `lhs`; None when
    `lhs` is not one of its quantities."""
    if not isinstance(lhs, sp.Symbol | sp.MatrixSymbol):
        return None
    var = _name(lhs)
    value = np.asarray(value, dtype=float).reshape(-1)
    taken = []
    for point in points:
        for v, n in point.at.items():
            if _name(v) == var:
                at = np.asarray(n.value, dtype=float).reshape(-1)
                if at.size == value.size and np.allclose(at, value, rtol=1e-12, atol=0):
                    return True, ""
                taken.append(at)
    if taken:
        return False, f"{name} takes {var} = {np.array2string(taken[0], precision=6)}"
    if var in model.variables:
        return False, f"{var} is computed in {name}: print the engine's value ({name}[{var}])"
    return None


# --------------------------------------------------------------------------- examples


@dataclass(init=False, eq=False, repr=False)
class Example:
    """Verified results at given values (see the module's docstring).

    Index it by a shown label for its `Number`; `block(title)` shows them all.
    Put the object in the part's `numeric_checks`: calling it verifies it.
    (Its fields are what its verdict depends on, for the proof cache.)"""

    name: str
    instance: Instance
    inputs: dict[Any, Number]
    items: list[tuple[Any, Any]]
    oracle: Oracle | None
    attached = False  # not a field: set by `attach`

    def __init__(
        self,
        name: str,
        instance: Instance,
        at: Mapping[Any, Any],
        show: Iterable[Any],
        oracle: Oracle | None = None,
    ) -> None:
        self.name, self.instance, self.oracle = name, instance, oracle
        model = _model(instance)
        self.inputs = at_n = _givens(at)
        _register_inputs(model, at_n)
        self.items = _as_items(show)
        self.point = _Point(self, "", model, at_n)
        self.point.show(self.items)

    def label_of(self, point: _Point, key: str) -> str:
        return f"{self.name}: {key}"

    def __getitem__(self, label: Any) -> Number:
        return self.point[label]

    def block(self, title: Text) -> Block:
        return self.point.block(title)

    def value_of(self, key: str) -> Any:
        return _display(self.point.values[key])

    def check_of(self, key: str) -> str:
        return _describe(self.point.claims[key], self.oracle)

    def states(self, key: str, lhs: Any, shown: Any, index: tuple[int, ...] = ()) -> str | None:
        """Why the prose's ``lhs = shown`` (a number of this example) is false, or None."""
        return self.point.states(key, lhs, shown, index)

    def gives(self, lhs: Any, value: Any) -> tuple[bool, str] | None:
        """Does the prose's ``lhs = value`` (a given number) agree with this example
        (see `_gives`)?"""
        return _gives(self.name, self.point.model, [self.point], lhs, value)

    def shows(self, key: str) -> bool:
        """Does the example compute a value shown under the label `key` (not a given input)?"""
        return key in self.point.claims

    def givens(self) -> list[tuple[str, Any]]:
        """What the example is computed from: (name, value) of each given input."""
        return [(_name(v), n) for v, n in self.inputs.items()]

    def __call__(self) -> list[CheckRecord]:
        _refuse_unbound(self.name, self.point.unbound)
        records, _ = self.point.verify(self.oracle, self.name)
        return records


def example(
    name: str,
    instance: Instance,
    at: Mapping[Any, Any],
    show: Iterable[Any],
    oracle: Oracle | None = None,
) -> Example:
    """The values of `show` at the given values `at`, computed now and checked when the
    part is verified (add the result to the part's `numeric_checks`)."""
    return Example(name, instance, at, show, oracle)


def value(name: str, label: Any, expr: Any, at: Mapping[Any, Any]) -> Example:
    """One expression at given values, without a model.

    `name` names the object in messages and answers.json; `label` (a SymPy expression or
    a string) is what the number is printed beside, declared here to name `expr` (as
    `named` does); `expr` is a SymPy expression of symbols; `at` maps each of its symbols
    to a given number (`given(...)` or a plain value). Returns an `Example`: `ex[label]` is
    the `Number`; put `ex` in a part's `numeric_checks`, which checks it against SymPy's
    exact substitution at 30 digits."""
    symbols = {s for s in sp.sympify(expr).free_symbols}
    missing = sorted(str(s) for s in symbols if s not in at)
    if missing:
        raise AuthoringError(f"{name}: worked.value needs a given value for {', '.join(missing)}")
    instance = Instance(label=name)
    return Example(name, instance, {s: at[s] for s in symbols}, [Named(label, expr)])


def _refuse_unbound(name: str, why: Sequence[str]) -> None:
    """A label that does not name what it is printed beside stops the part (see `unbound`)."""
    if why:
        raise WorkedError(f"{name}: {why[0]}")


def _describe(claim: Any, oracle: Oracle | None) -> str:
    if isinstance(claim, D):
        of = "the NumPy oracle" if oracle is not None else "the SymPy definitions"
        return f"central finite differences of {of} ({sp.sstr(claim.f)} by {sp.sstr(claim.x)})"
    if oracle is None:
        return "recomputed by SymPy's exact substitution (30 digits)"
    return "recomputed from the NumPy oracle's forward values"


# --------------------------------------------------------------------------- traces


@dataclass(init=False, eq=False, repr=False)
class Trace:
    """`iterations` passes of an optimizer over `samples` (see the module's docstring).

    `steps[k]` is update k+1 (index it by a shown label); `block(k, title)`,
    `totals(label)` (per iteration). Put the object in the part's `numeric_checks`.
    (Its fields are what its verdict depends on, for the proof cache.)"""

    name: str
    instance: Instance
    initial: dict[Any, Number]
    samples: list[dict[Any, Number]]
    loss: Any
    optimizer: Optimizer | StatefulOptimizer
    iterations: int
    items: list[tuple[Any, Any]]
    oracle: Oracle | None
    attached = False  # not a field: set by `attach`

    def __init__(
        self,
        name: str,
        instance: Instance,
        params: Mapping[Any, Any],
        samples: Sequence[Mapping[Any, Any]],
        loss: Any,
        optimizer: Optimizer | StatefulOptimizer,
        iterations: int,
        show: Iterable[Any],
        oracle: Oracle | None = None,
    ) -> None:
        self.name, self.instance, self.oracle = name, instance, oracle
        self.loss = loss
        self.optimizer = optimizer
        self.iterations = int(iterations)
        self.model = model = _model(instance)
        self.params = list(params)
        show = list(show)
        self.items = items = [
            (
                e.line
                if isinstance(e, LineOf)
                else update_label(
                    e,
                    _name(loss if isinstance(e, LossAfter) else e.param),
                    _shape(model, loss if isinstance(e, LossAfter) else e.param),
                ),
                e,
            )
            if label is e and _is_update(e)
            else (label, e)
            for label, e in _as_items(show)
        ]
        keys = [_key(label) for label, _ in items]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise AuthoringError(
                f"{name}: {', '.join(twice)} is shown twice in one update; one trace per "
                "parameter when each prints the optimizer's lines (m_t for x, m_t for y)"
            )
        self.unbound = [
            why for label, e in items if _is_update(e) and (why := unbound(model, label, e, loss))
        ]
        for _, e in items:
            if isinstance(e, StepOf | NewValueOf | LineOf) and e.param not in self.params:
                raise AuthoringError(
                    f"{name}: {type(e).__name__}({e.param}) but the trace updates only "
                    f"{', '.join(_name(p) for p in self.params)} (its params)"
                )
            if isinstance(e, LossAfter) and e.loss is not None and e.loss != loss:
                self.unbound.append(f"LossAfter({e.loss}) in a trace of the loss {loss}")
        self.samples = [_givens(s) for s in samples]
        current = {p: np.asarray(given(v, _name(p)).value, dtype=float) for p, v in params.items()}
        self.initial = _givens(params)
        self.steps: list[_Point] = []
        self.order: list[tuple[int, int]] = []
        grads = [D(loss, p) for p in self.params]
        state = {p: _start(optimizer, current[p]) for p in self.params}
        for it in range(1, self.iterations + 1):
            for n, sample in enumerate(self.samples, start=1):
                k = len(self.steps) + 1
                at: dict[Any, Number] = {
                    **{p: _param_number(self, k, p, current[p]) for p in self.params},
                    **sample,
                }
                _register_inputs(model, at)
                point = _Point(self, f"update {k}: ", model, at)
                point.show([item for item in _as_items(show) if not _is_update(item[1])])
                g = model.evaluate(grads, at)
                point.grads = {  # in the parameter's shape (D by a column is a row)
                    _name(p): gv.reshape(model.shape(p))
                    for p, gv in zip(self.params, g, strict=True)
                }
                steps, lines = {}, {}
                for p in self.params:
                    gp = point.grads[_name(p)]
                    if _stateful(optimizer):
                        steps[p], lines[p] = _update(optimizer, gp, state[p], k)
                        rule: Rule = optimizer.entrywise()  # type: ignore[union-attr]
                        new_line = rule.updated(rule.parameter)
                        lines[p][new_line.name] = current[p] + steps[p]
                        state[p] = _next_state(optimizer, lines[p], where=self.name)
                    else:
                        steps[p] = _step(optimizer, gp)  # type: ignore[arg-type]
                new = {p: current[p] + steps[p] for p in self.params}
                for label, e in items:
                    if isinstance(e, StepOf):
                        point.add(label, e, steps[e.param])
                    elif isinstance(e, NewValueOf):
                        point.add(label, e, new[e.param])
                    elif isinstance(e, LineOf):
                        point.add(label, e, _line(lines, e, self.name))
                after = [label for label, e in items if isinstance(e, LossAfter)]
                if after:
                    (loss_after,) = model.evaluate([loss], {**at, **new})
                    for label in after:
                        point.add(label, LossAfter(loss), loss_after)
                point.new = new
                for p in self.params:  # a later update prints its parameters as these
                    if not any(isinstance(e, NewValueOf) and e.param == p for _, e in items):
                        point.claims[f"new {_name(p)}"] = NewValueOf(p)
                        point.values[f"new {_name(p)}"] = new[p]
                # the numbers follow the order of `show`
                point.numbers = {
                    _key(label): point.numbers[_key(label)]
                    for label, _ in items
                    if _key(label) in point.numbers
                }
                self.steps.append(point)
                self.order.append((it, n))
                current = new
        self._totals: dict[str, dict[int, float]] = {}

    def label_of(self, point: _Point, key: str) -> str:
        return f"{self.name}, {point.prefix}{key}"

    def block(self, k: int, title: Text) -> Block:
        """Update k+1's shown values as a block titled `title` (k from 0: `block(0, ...)` is
        the first update)."""
        if not 0 <= k < len(self.steps):
            raise AuthoringError(
                f"{self.name}: block({k}, ...) asks for update {k + 1}, but the trace has "
                f"{len(self.steps)} (block(0, ...) is the first)"
            )
        return self.steps[k].block(title)

    def totals(self, label: Any) -> list[Number]:
        """The value shown under `label` (a label of `show`: the loss, say) summed over each
        iteration's samples: one computed `Number` per iteration, in order, each checked
        against the sum of the oracle's values when the trace is verified."""
        k = _key(label)
        if self.steps and k not in self.steps[0].values:
            raise AuthoringError(
                f"{self.name}: totals({k}) needs {k} among the values the trace shows "
                f"({', '.join(self.steps[0].values) or 'none'})"
            )
        sums: dict[int, float] = {}
        for point, (it, _) in zip(self.steps, self.order, strict=True):
            sums[it] = sums.get(it, 0.0) + float(point.values[k].reshape(-1)[0])
        self._totals[k] = sums
        return [
            computed(self, f"total {it}: {k}", s, f"{self.name}, iteration {it}: sum of {k}")
            for it, s in sums.items()
        ]

    def value_of(self, key: str) -> Any:
        if key.startswith("total "):
            head, k = key.split(": ", 1)
            return self._totals[k][int(head.split()[1])]
        prefix, k = key.split(": ", 1)
        point = self.steps[int(prefix.split()[1]) - 1]
        if k not in point.values:  # a parameter at this update: the new value of the one before
            return _display(self._parameter_at(point, k))
        return _display(point.values[k])

    def _parameter_at(self, point: _Point, name: str) -> np.ndarray:
        for p in self.params:
            if _name(p) == name:
                return np.asarray(point.at[p].value, dtype=float)
        raise KeyError(name)

    def check_of(self, key: str) -> str:
        if key.startswith("total "):
            return "sum recomputed from the NumPy oracle's values of each sample"
        prefix, k = key.split(": ", 1)
        step = int(prefix.split()[1])
        if k not in self.steps[step - 1].claims:
            return f"the new value of {k} at update {step - 1}, checked there"
        claim = self.steps[step - 1].claims[k]
        if isinstance(claim, StepOf):
            rule = self.optimizer.describe()
            return f"the optimizer's step ({rule}) of the finite-difference gradient"
        if isinstance(claim, NewValueOf):
            return "the value before plus the optimizer's step of the finite-difference gradient"
        if isinstance(claim, LossAfter):
            return "the NumPy oracle's loss at the checked new values (same sample)"
        if isinstance(claim, LineOf):
            return (
                f"the optimizer's rule ({self.optimizer.describe()}) evaluated entry by entry on "
                "the finite-difference gradients of this and every earlier update"
            )
        return _describe(claim, self.oracle)

    def states(self, key: str, lhs: Any, shown: Any, index: tuple[int, ...] = ()) -> str | None:
        """Why the prose's ``lhs = shown`` (a number of this trace) is false, or None. (A
        per-iteration total has no expression to evaluate: it is taken as labelled.)"""
        if key.startswith("total "):
            return None
        prefix, k = key.split(": ", 1)
        return self.steps[int(prefix.split()[1]) - 1].states(k, lhs, shown, index)

    def gives(self, lhs: Any, value: Any) -> tuple[bool, str] | None:
        """Does the prose's ``lhs = value`` (a given number) agree with this trace (see
        `_gives`)?"""
        return _gives(self.name, self.model, self.steps, lhs, value)

    def shows(self, key: str) -> bool:
        """Does the trace compute a value shown under the label `key` (a stage, a gradient,
        a step, a new value, the loss after; not a given input)?"""
        return any(key in point.claims for point in self.steps) or any(
            key == f.format(p=_name(p)) for p in self.params for f in UPDATE_LABELS["NewValueOf"]
        )

    def givens(self) -> list[tuple[str, Any]]:
        """What the trace is computed from: the initial parameters, every sample's inputs
        and the learning rate."""
        out: list[tuple[str, Any]] = [(_name(p), n) for p, n in self.initial.items()]
        for k, sample in enumerate(self.samples, start=1):
            out += [(f"{_name(v)} of sample {k}", n) for v, n in sample.items()]
        rate = getattr(self.optimizer, "learning_rate", None)
        more: list[tuple[str, Any]] = getattr(self.optimizer, "hyperparameters", list)()
        return [
            *out,
            ("the learning rate", rate if isinstance(rate, Number) else self.optimizer.rate),
            *more,
        ]

    def __call__(self) -> list[CheckRecord]:
        _refuse_unbound(self.name, [*self.unbound, *(self.steps[0].unbound if self.steps else [])])
        records: list[CheckRecord] = []
        forward_loss: dict[int, list[float]] = {}
        worst = 0.0
        self._state = {  # the check's own state (a stateful optimizer's), from the start
            _name(p): _start(self.optimizer, np.asarray(self.initial[p].value, dtype=float))
            for p in self.params
        }
        for k, (point, (it, n)) in enumerate(zip(self.steps, self.order, strict=True), start=1):
            where = f"{self.name}, update {k} (iteration {it}, sample {n})"
            recs, forward = point.verify(self.oracle, where)
            records += recs
            inputs = _plain_inputs(self.model, point.at)
            for key in self._totals:
                claim = point.claims.get(key)
                if claim is None or isinstance(claim, D):
                    raise WorkedError(f"{where}: the sum of {key} has no forward value to check")
                name = _name(claim)
                forward_loss.setdefault(it, []).append(
                    float(_oracle_value(self.model, forward, name, where, (1,))[0])
                    if self.oracle is not None
                    else float(_exact(self.model, claim, inputs).reshape(-1)[0])
                )
            if _stateful(self.optimizer):
                worst = max(worst, self._check_stateful(point, k, inputs, where))
            else:
                worst = max(worst, self._check_update(point, inputs, where))
            self._check_losses_after(point, inputs, where)
        updates = counted(len(self.steps), "update")
        records.append(
            CheckRecord(
                "update",
                f"{self.name}: updates",
                (
                    f"every step, new value and rule line of the {updates} "
                    f"equals the printed rule ({self.optimizer.describe()}) evaluated on "
                    f"finite-difference gradients, state carried by the check (error {worst:.1e})"
                )
                if _stateful(self.optimizer)
                else f"every step of the {updates} equals the optimizer's step "
                f"({self.optimizer.describe()}) of the finite-difference gradient and every new "
                f"value the old one plus it (error {worst:.1e})",
            )
        )
        for key, sums in self._totals.items():
            for it, s in sums.items():
                other = sum(forward_loss.get(it, []))
                if not np.isclose(s, other, rtol=FORWARD_RTOL, atol=FORWARD_ATOL):
                    raise WorkedError(
                        f"{self.name}, iteration {it}: the sum of {key} is {s!r}, "
                        f"the oracle's values sum to {other!r}"
                    )
            records.append(
                CheckRecord(
                    "recomputation",
                    f"{self.name}: sums of {key}",
                    f"{counted(len(sums), 'sum')} recomputed from the oracle's values",
                )
            )
        return records

    def _check_update(self, point: _Point, inputs: Mapping[str, Any], where: str) -> float:
        """Each step against -learning rate × finite differences of the loss (one-sided
        where a kink lies within the step), each new value against old + that step."""
        worst = 0.0
        shown = {
            (type(c), _name(c.param)): k
            for k, c in point.claims.items()
            if isinstance(c, StepOf | NewValueOf)
        }
        rate = self.optimizer.rate
        for p in self.params:
            name = _name(p)
            f_at, old = _f_of(self.model, self.loss, p, inputs, self.oracle, where)
            diff = _Differences.of(f_at, old)
            engine_new = np.asarray(point.new[p], dtype=float)

            def step(d: np.ndarray) -> np.ndarray:
                return -rate * d

            def after(d: np.ndarray, o: np.ndarray = old) -> np.ndarray:
                return np.asarray(o.reshape(-1) - rate * d)

            checks = [
                (shown.get((StepOf, name)), step),
                (shown.get((NewValueOf, name)), after),
                (f"new {name}", after),
            ]
            for label, how in checks:
                if label is None:
                    continue
                got = engine_new if label == f"new {name}" else point.values[label]
                try:
                    err, _ = diff.compare(got, how)
                except ValueError:
                    raise WorkedError(
                        f"{where}, {label}: the engine gives {_fmt(got)}, -learning rate × "
                        f"finite differences gives {_fmt(how(diff.central))}"
                    ) from None
                worst = max(worst, err)
        return worst

    def _check_losses_after(self, point: _Point, inputs: Mapping[str, Any], where: str) -> None:
        """Each loss after the update shown against the oracle's loss (or the definitions')
        at the new values the update checks, whatever the optimizer."""
        for k, c in point.claims.items():
            if isinstance(c, LossAfter):
                moved = dict(inputs)
                for p, v in point.new.items():
                    arr = np.asarray(v, dtype=float)
                    moved[_name(p)] = float(arr.reshape(-1)[0]) if isinstance(p, sp.Symbol) else arr
                if self.oracle is not None:
                    out = _call(self.oracle, moved, where)
                    other = _oracle_value(self.model, out, _name(self.loss), where, (1,))
                else:
                    other = _exact(self.model, self.loss, moved)
                got = np.asarray(point.values[k], dtype=float).reshape(-1)
                if not np.allclose(
                    got, np.reshape(other, -1), rtol=FORWARD_RTOL, atol=FORWARD_ATOL
                ):
                    raise WorkedError(
                        f"{where}, {k}: the engine gives {_fmt(got)}, the oracle's loss at the "
                        f"new values {_fmt(other)}"
                    )

    def _check_stateful(
        self, point: _Point, count: int, inputs: Mapping[str, Any], where: str
    ) -> float:
        """Each shown step, new value and rule line against the printed rule evaluated on
        finite differences of the loss, with the state the check carried from the earlier
        updates' differences (never the engine's); then the check's state moves on."""
        optimizer: Any = self.optimizer
        rule: Rule = optimizer.entrywise()
        shown: dict[tuple[Any, ...], str] = {}
        for key, c in point.claims.items():
            if isinstance(c, StepOf | NewValueOf):
                shown[(type(c), _name(c.param))] = key
            elif isinstance(c, LineOf):
                shown[(LineOf, _name(c.param), _name(c.line))] = key
        worst = 0.0
        new_name = rule.updated(rule.parameter).name
        for p in self.params:
            name = _name(p)
            f_at, old = _f_of(self.model, self.loss, p, inputs, self.oracle, where)
            diff = _Differences.of(f_at, old)
            state = self._state[name]

            def line(
                which: str, o: np.ndarray = old, s: Any = state, minus: bool = False
            ) -> Callable[[np.ndarray], Any]:
                base = o.reshape(-1) if minus else 0.0
                return lambda d: rule.evaluate(o, d, s, count)[which].reshape(-1) - base

            checks: list[tuple[str | None, Any, Callable[[np.ndarray], Any]]] = [
                (shown.get((StepOf, name)), None, line(new_name, minus=True)),
                (shown.get((NewValueOf, name)), None, line(new_name)),
                (f"new {name}", point.new[p], line(new_name)),
            ]
            for (kind, *rest), key in shown.items():
                if kind is LineOf and rest[0] == name:
                    checks.append((key, None, line(rest[1])))
            used = diff.central.copy()
            for label, engine, how in checks:
                if label is None:
                    continue
                got = engine if engine is not None else point.values[label]
                try:
                    err, sided = diff.compare(got, how)
                except ValueError:
                    raise WorkedError(
                        f"{where}, {label}: the engine gives {_fmt(got)}, the optimizer's rule "
                        f"on finite differences gives {_fmt(how(diff.central))}"
                    ) from None
                except KeyError as exc:
                    raise WorkedError(
                        f"{where}, {label}: the optimizer's rule has no line {exc}"
                    ) from None
                for i in sided:  # a kink: carry on with the side the engine took
                    right = np.where(np.arange(used.size) == i, diff.right, used)
                    matched = np.allclose(how(right)[i], np.asarray(got).reshape(-1)[i])
                    used[i] = diff.right[i] if matched else diff.left[i]
                worst = max(worst, err)
            lines = rule.evaluate(old, used, state, count)
            self._state[name] = {s.name: lines[rule.updated(s).name] for s in rule.state}
        return worst


def _stateful(optimizer: Any) -> bool:
    return hasattr(optimizer, "entrywise") and hasattr(optimizer, "update")


def _start(optimizer: Any, value: np.ndarray) -> dict[str, np.ndarray]:
    """A stateful optimizer's state before the first update: every entry 0."""
    if not _stateful(optimizer):
        return {}
    return {s.name: np.zeros_like(value, dtype=float) for s in optimizer.entrywise().state}


def _update(
    optimizer: Any, gradient: np.ndarray, state: Mapping[str, np.ndarray], count: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    step, lines = optimizer.update(gradient, state, count)
    step = np.asarray(step, dtype=float)
    if step.shape != gradient.shape:
        raise TypeError(f"{type(optimizer).__name__}: a step of the gradient's shape is needed")
    return step, {k: np.asarray(v, dtype=float) for k, v in lines.items()}


def _next_state(optimizer: Any, lines: Mapping[str, np.ndarray], where: str) -> dict[str, Any]:
    rule: Rule = optimizer.entrywise()
    out = {}
    for s in rule.state:
        line = rule.updated(s).name
        if line not in lines:
            raise WorkedError(f"{where}: the optimizer's update gives no value for {line}")
        out[s.name] = lines[line]
    return out


def _line(lines: Mapping[Any, Mapping[str, np.ndarray]], e: LineOf, where: str) -> np.ndarray:
    got = lines.get(e.param, {})
    if _name(e.line) not in got:
        raise WorkedError(f"{where}: the optimizer's update gives no value for {_name(e.line)}")
    return got[_name(e.line)]


def _step(optimizer: Optimizer, gradient: np.ndarray) -> np.ndarray:
    step = optimizer.step(gradient)
    if not isinstance(step, np.ndarray) or step.shape != gradient.shape:
        raise TypeError(
            f"{type(optimizer).__name__}: a trace needs a step of the gradient's shape "
            "(SGD's rule); optimizers with state are not supported yet"
        )
    return step


def _is_update(e: Any) -> bool:
    return isinstance(e, StepOf | NewValueOf | LossAfter | LineOf)


def _shape(model: _Model, var: Any) -> tuple[int, int] | None:
    return None if isinstance(var, sp.Symbol) else model.shape(var)


def _param_number(trace: Trace, k: int, p: Any, value: np.ndarray) -> Number:
    """The parameter `p` as update k reads it: the given start, then the number the update
    before computed, printed as what it is here, the parameter at update k (``SGD, update
    2: x``), never as the earlier update's new value ``x'`` (the binding would read x at
    that update). Its value was checked at update k - 1 as the new value (shown or not);
    `Trace.value_of` reads it back."""
    if k == 1:
        return trace.initial[p]
    label = f"{trace.name}, update {k}: {_name(p)}"
    return computed(trace, f"update {k}: {_name(p)}", _display(value), label)


def trace(
    name: str,
    instance: Instance,
    params: Mapping[Any, Any],
    samples: Sequence[Mapping[Any, Any]],
    loss: Any,
    optimizer: Optimizer | StatefulOptimizer,
    iterations: int,
    show: Iterable[Any],
    oracle: Oracle | None = None,
) -> Trace:
    """`iterations` passes of `optimizer` over `samples`, one update per sample, each
    showing `show` (labels, (label, expr) pairs, `StepOf(p)`, `NewValueOf(p)`) with the
    parameters before the update. Add the result to the part's `numeric_checks`."""
    return Trace(name, instance, params, samples, loss, optimizer, iterations, show, oracle)


def attach(*objects: Example | Trace) -> list[Example | Trace]:
    """Mark worked objects as verified by a part (returned for its `numeric_checks`), so other
    parts may print their numbers too."""
    for o in objects:
        o.attached = True
    return list(objects)


__all__ = [
    "SGD",
    "Example",
    "LineOf",
    "LossAfter",
    "Named",
    "NewValueOf",
    "Optimizer",
    "Rule",
    "StatefulOptimizer",
    "StepOf",
    "Trace",
    "WorkedError",
    "attach",
    "entry",
    "example",
    "given",
    "named",
    "trace",
    "value",
]
