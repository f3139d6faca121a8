"""Turn a general formula into explicit matrices at a concrete size.

The shown steps of a derivation use MatrixSymbols of symbolic size and
unevaluated derivatives `D(f, x)`. To check them we fix the sizes, give every
matrix symbol one scalar symbol per entry, evaluate the matrix operations and
compute each `D` from the instance's definitions. Every value comes out as an
explicit `ImmutableMatrix` of scalar expressions.

Two forms: `value` substitutes every definition, down to the free inputs (the
claims judge reads these). `lazy` keeps each defined variable's entries as
symbols and computes each `D` by the chain rule over the definitions, one small
local derivative at a time; the verifier evaluates these numerically through the
definitions (`sample`, `evaluate`) and expands them only as far as a proof
needs (`expand_from`). Expanding a network's every layer makes expressions (and
proofs) grow fast with its depth; most steps are equal long before that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import sympy as sp
from sympy import ImmutableMatrix as Matrix
from sympy.matrices.expressions import MatrixExpr

from .mathfns import D, diag, elementwise, hadamard_ones_minus, relu, sigmoid, softmax, sqnorm
from .model import Instance


def entry_symbol(name: str, i: int, j: int, cols: int) -> sp.Symbol:
    """The scalar symbol standing for entry (i, j) of matrix `name` (1-based in the name)."""
    if cols == 1:
        return sp.Symbol(f"{name}_{i + 1}", real=True)
    return sp.Symbol(
        f"{name}_{i + 1}{j + 1}" if cols < 10 else f"{name}_{i + 1}_{j + 1}", real=True
    )


class Concrete:
    """One `Instance` made explicit: entries, definitions, and evaluation of expressions."""

    def __init__(self, instance: Instance, unlinked_zero: bool = False) -> None:
        """`unlinked_zero`: take D(f, x) as zero when f varies but not with x. Off by
        default: an instance may leave a layer free, and then such a D is zero only
        for want of a definition (`chain_derivative` refuses it)."""
        self.instance = instance
        self.unlinked_zero = unlinked_zero
        self.sizes = {sp.sympify(k): sp.Integer(v) for k, v in instance.sizes.items()}
        self._entries: dict[str, Matrix] = {}
        self.defined: list[str] = []
        self._def_entries: dict[sp.Symbol, Any] = {}
        for var, definition in instance.defs.items():
            value = self.local(definition)
            target = self.entries(var)
            if value.shape != target.shape:
                raise ValueError(
                    f"definition of {var} has shape {value.shape}, expected {target.shape}"
                )
            self.defined.append(self.name(var))
            for e, v in zip(target, value, strict=True):
                self._def_entries[e] = v
        self.given = {
            sp.Symbol(str(k), real=True): self.realify(sp.sympify(v))
            for k, v in instance.given.items()
        }
        # The lazy form's graph: each defined entry (and each input an assumption
        # fixes) with its local definition, in dependency order, and its rank:
        # the definition's position in `defs` (assumptions -1, always expanded).
        self.nodes: dict[sp.Symbol, Any] = {**self.given}
        self.rank: dict[sp.Symbol, int] = {s: -1 for s in self.given}
        for k, var in enumerate(instance.defs):
            for e in self.entries(var):
                self.nodes[e] = self._def_entries[e]
                self.rank[e] = k
        self._cuts: dict[int, dict[sp.Symbol, Any]] = {}
        self._node_fns: dict[tuple[sp.Symbol, ...], tuple[list[sp.Symbol], Callable[..., Any]]] = {}
        self._value_fns: dict[Any, Callable[..., Any]] = {}
        # nodes never change after this point, so what depends on them is memoised
        self._inputs: dict[tuple[Any, ...], tuple[list[sp.Symbol], frozenset[sp.Symbol]]] = {}
        self._free: dict[Any, list[sp.Symbol]] = {}
        self._group_list: list[tuple[sp.Symbol, ...]] | None = None

    @staticmethod
    def realify(expr: Any) -> Any:
        """Entry symbols are real; make symbols written by hand match them."""
        return expr.xreplace(
            {s: sp.Symbol(s.name, real=True) for s in expr.free_symbols if not s.is_real}
        )

    @staticmethod
    def name(var: Any) -> str:
        return str(var.name) if hasattr(var, "name") else str(var)

    def entries(self, var: Any) -> Matrix:
        """The matrix of scalar symbols standing for `var` (1x1 for a scalar symbol)."""
        key = self.name(var)
        if key not in self._entries:
            if isinstance(var, sp.MatrixSymbol):
                rows, cols = (int(d) for d in var.xreplace(self.sizes).shape)
                self._entries[key] = Matrix(rows, cols, lambda i, j: entry_symbol(key, i, j, cols))
            elif isinstance(var, sp.Symbol):
                self._entries[key] = Matrix([[sp.Symbol(key, real=True)]])
            else:
                raise TypeError(f"can only differentiate by a symbol, not {var}")
        return self._entries[key]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries_by_name(self, name: str) -> Matrix:
        return self._entries[name]

    def local(self, expr: Any) -> Matrix:
        """`expr` with every symbol replaced by its entries, definitions not yet substituted."""
        return _as_matrix(_explicit(sp.sympify(expr), self))

    def expand(self, value: Any, stop: Any = None) -> Any:
        """Substitute definitions (in order) until only free inputs remain, keeping `stop`."""
        stop_entries = set(self.entries(stop)) if stop is not None else set()
        full: dict[sp.Symbol, Any] = {}
        for e, v in self._def_entries.items():
            if e in stop_entries:
                continue
            full[e] = v.xreplace(full)
        out = value.xreplace(full)
        return out.xreplace(self.given) if self.given else out

    def value(self, expr: Any) -> Matrix:
        """`expr` as an explicit matrix of expressions in the free inputs."""
        return Matrix(self.expand(self.local(expr)))

    def derivative(self, f: Any, x: Any) -> Matrix:
        """D(f, x) computed from the definitions, in the course's layout."""
        xe = self.entries(x)
        fe = self.expand(self.local(f), stop=x)
        if fe.shape == (1, 1):
            g = fe[0, 0]
            if xe.shape == (1, 1):
                out = Matrix([[sp.diff(g, xe[0, 0])]])
            elif xe.shape[1] == 1:
                out = Matrix(1, xe.shape[0], lambda i, j: sp.diff(g, xe[j, 0]))
            else:
                out = Matrix(*xe.shape, lambda i, j: sp.diff(g, xe[i, j]))
        elif fe.shape[1] == 1 and xe.shape[1] == 1:
            out = Matrix(fe.shape[0], xe.shape[0], lambda i, j: sp.diff(fe[i, 0], xe[j, 0]))
        else:
            raise ValueError(f"no layout for D({f}, {x})")
        return Matrix(self.expand(out))

    def is_free(self, var: Any) -> bool:
        return self.name(var) not in self.defined

    # --- the lazy form -------------------------------------------------------

    def lazy(self, expr: Any) -> Matrix:
        """`expr` as an explicit matrix whose defined variables stay symbols; each `D`
        by the chain rule over the definitions."""
        return _as_matrix(_explicit(sp.sympify(expr), self, lazy=True))

    def chain_derivative(self, f: Any, x: Any) -> Matrix:
        """D(f, x) in the course's layout, by forward-mode chain rule over `nodes`.

        Each node's tangent is the sum over its definition's arguments of the local
        partial derivative times the argument's tangent; `x`'s entries are the
        seeds (a defined `x` is cut off from its own definition)."""
        xe = self.entries(x)
        seeds = {e: k for k, e in enumerate(xe)}
        tangents: dict[sp.Symbol, dict[int, Any]] = {}
        reached = varies = False
        memo: dict[tuple[Any, Any], Any] = {}

        def tangent(expr: Any) -> dict[int, Any]:
            nonlocal reached, varies
            out: dict[int, Any] = {}
            for p in sorted(expr.free_symbols, key=sp.default_sort_key):
                if p in seeds:
                    reached = True
                    tp = {seeds[p]: sp.Integer(1)}
                elif p in self.nodes:
                    if p not in tangents:
                        tangents[p] = tangent(self.nodes[p])
                    tp = tangents[p]
                else:
                    varies = True
                    continue
                if not tp:
                    continue
                local = partial_derivative(expr, p, memo)
                if local == 0:
                    continue
                for k, v in tp.items():
                    out[k] = out.get(k, sp.Integer(0)) + local * v
            return out

        fe = self.lazy(f)
        n = len(xe)
        if fe.shape == (1, 1):
            # a scalar's gradient: reverse mode, one adjoint per node instead of one
            # tangent entry per node and seed (the same sums over paths, grouped)
            grad, reached, varies = self._adjoints(fe[0, 0], seeds)
            grads = [grad]
        else:
            grads = [tangent(g) for g in fe]
        if varies and not reached and not self.unlinked_zero:
            # f varies, but not with x: a derivative that is zero only because the
            # instance leaves out the definition linking f to x would let a wrong
            # step pass as "+ 0". (A constant f, e.g. a loss with no active term, is fine.)
            raise ValueError(
                f"D({f}, {x}): {f} does not depend on {x} through this instance's "
                "definitions (is a definition missing?)"
            )
        rows = [[g.get(k, sp.Integer(0)) for k in range(n)] for g in grads]
        if fe.shape == (1, 1):
            if xe.shape[1] == 1:
                return Matrix([rows[0]])
            return Matrix(*xe.shape, lambda i, j: rows[0][i * xe.shape[1] + j])
        if fe.shape[1] == 1 and xe.shape[1] == 1:
            return Matrix(rows)
        raise ValueError(f"no layout for D({f}, {x})")

    def _adjoints(self, g: Any, seeds: Mapping[Any, int]) -> tuple[dict[int, Any], bool, bool]:
        """Reverse-mode chain rule for the scalar `g`: {seed index: dg/dseed}, whether a
        seed was reached, and whether `g` depends on a free input (as in `tangent`).

        The nodes `g` reaches (seeds are leaves: a defined `x` is cut off from its
        definition) are ordered inputs first; each node's adjoint is complete once
        every node defined from it has passed its share down."""
        order: list[Any] = []
        leads: dict[Any, bool] = {}  # node -> does it depend on a seed
        reached = varies = False

        def visit(expr: Any) -> bool:
            nonlocal reached, varies
            found = False
            for p in sorted(expr.free_symbols, key=sp.default_sort_key):
                if p in seeds:
                    reached = found = True
                elif p in self.nodes:
                    if p not in leads:
                        leads[p] = False
                        leads[p] = visit(self.nodes[p])
                        order.append(p)
                    found = found or leads[p]
                else:
                    varies = True
            return found

        visit(g)
        adjoint: dict[Any, Any] = {}

        memo: dict[tuple[Any, Any], Any] = {}

        def push(expr: Any, weight: Any) -> None:
            for p in sorted(expr.free_symbols, key=sp.default_sort_key):
                if p in seeds or leads.get(p, False):
                    local = partial_derivative(expr, p, memo)
                    if local != 0:
                        adjoint[p] = adjoint.get(p, sp.Integer(0)) + weight * local

        push(g, sp.Integer(1))
        for node in reversed(order):
            if node in adjoint and node not in seeds:
                push(self.nodes[node], adjoint[node])
        grad = {k: adjoint[e] for e, k in seeds.items() if e in adjoint}
        return grad, reached, varies

    def expand_from(self, value: Any, rank: int) -> Any:
        """Substitute the definitions of rank >= `rank` (and every assumption)."""
        if rank not in self._cuts:
            sub: dict[sp.Symbol, Any] = {}
            for e, v in self.nodes.items():
                if self.rank[e] >= rank or self.rank[e] < 0:
                    sub[e] = v.xreplace(sub)
            self._cuts[rank] = sub
        return value.xreplace(self._cuts[rank])

    def align(self, a: Any, b: Any) -> tuple[Any, Any]:
        """Substitute the definitions of the variables only one side is written in
        (the latest first) until both are written in the same variables, or no
        defined variable is left to tell them apart."""
        for _ in range(len(self.nodes)):
            odd = [s for s in free_symbols(a) ^ free_symbols(b) if s in self.nodes]
            if not odd:
                break
            top = max(self.rank[s] for s in odd)
            sub = {s: self.nodes[s] for s in odd if self.rank[s] == top}
            a, b = self._with_given(a.xreplace(sub)), self._with_given(b.xreplace(sub))
        return a, b

    def _with_given(self, value: Any) -> Any:
        return value.xreplace(self.given) if self.given else value

    def ranks(self) -> list[int]:
        """The ranks a proof can cut at, from expanding nothing to expanding everything."""
        return list(range(len(self.instance.defs), -1, -1))

    def inputs(self, *values: Any) -> list[sp.Symbol]:
        """The free inputs `values` depend on, through the definitions too, by name."""
        return list(self._closure(values)[0])

    def _closure(self, values: tuple[Any, ...]) -> tuple[list[sp.Symbol], frozenset[sp.Symbol]]:
        """(the inputs `values` depend on, by name; the nodes they reach)."""
        try:
            return self._inputs[values]
        except KeyError:
            out = self._inputs[values] = self._find_closure(values)
            return out
        except TypeError:  # a mutable matrix: not remembered
            return self._find_closure(values)

    def _find_closure(
        self, values: tuple[Any, ...]
    ) -> tuple[list[sp.Symbol], frozenset[sp.Symbol]]:
        found: set[sp.Symbol] = set()
        todo = [s for v in values for s in v.free_symbols]
        seen: set[sp.Symbol] = set()
        while todo:
            s = todo.pop()
            if s in seen:
                continue
            seen.add(s)
            if s in self.nodes:
                todo.extend(self.nodes[s].free_symbols)
            else:
                found.add(s)
        return sorted(found, key=lambda s: s.name), frozenset(seen - found)

    def domain(self, s: sp.Symbol, default: tuple[float, float]) -> tuple[float, float]:
        base = s.name.rsplit("_", 1)[0] if "_" in s.name else s.name
        return tuple(self.instance.domain.get(s.name, self.instance.domain.get(base, default)))  # type: ignore[return-value]

    def sample(
        self,
        values: Iterable[Any],
        n: int,
        rng: np.random.Generator,
        default: tuple[float, float],
        fixed: Mapping[sp.Symbol, np.ndarray] | None = None,
        reached_only: bool = False,
    ) -> dict[sp.Symbol, np.ndarray]:
        """`n` random points for the inputs of `values`, with every node evaluated
        (`reached_only`: only the nodes `values` depend on).

        `fixed` overrides inputs or nodes (a node keeps the value given, not its
        definition's: how finite differences perturb a defined `x`)."""
        fixed = dict(fixed or {})
        env: dict[sp.Symbol, np.ndarray] = {}
        inputs, reached = self._closure(tuple(values))
        for s in inputs:
            lo, hi = self.domain(s, default)
            env[s] = fixed[s] if s in fixed else rng.uniform(lo, hi, size=n)
        for s in fixed:
            env[s] = fixed[s]
        self._evaluate_nodes(env, n, reached if reached_only else None)
        return env

    def _evaluate_nodes(
        self, env: dict[sp.Symbol, np.ndarray], n: int, only: frozenset[sp.Symbol] | None = None
    ) -> None:
        with np.errstate(all="ignore"):
            for group in self._groups():
                if all(e in env for e in group):
                    continue
                if only is not None and only.isdisjoint(group):
                    continue
                syms, fn = self._group_fn(group)
                if any(s not in env for s in syms):
                    continue  # not needed: depends on an input nobody sampled
                out = fn(*(env[s] for s in syms))
                for e, v in zip(group, out, strict=True):
                    if e not in env:
                        env[e] = np.broadcast_to(_real(v), (n,))

    def _groups(self) -> list[tuple[sp.Symbol, ...]]:
        if self._group_list is None:
            groups: dict[int, list[sp.Symbol]] = {}
            for e in self.nodes:
                groups.setdefault(self.rank[e], []).append(e)
            self._group_list = [tuple(g) for _, g in sorted(groups.items())]
        return self._group_list

    def _group_fn(self, group: tuple[sp.Symbol, ...]) -> tuple[list[sp.Symbol], Callable[..., Any]]:
        if group not in self._node_fns:
            exprs = [self.nodes[e] for e in group]
            syms = sorted(set().union(*(e.free_symbols for e in exprs)), key=lambda s: s.name)
            self._node_fns[group] = (syms, tree_function(syms, exprs))
        return self._node_fns[group]

    def _free_symbols(self, value: Any) -> list[sp.Symbol]:
        """`value`'s free symbols by name (remembered for an immutable `value`)."""
        try:
            return self._free[value]
        except KeyError:
            out = self._free[value] = sorted(value.free_symbols, key=lambda s: s.name)
            return out
        except TypeError:
            return sorted(value.free_symbols, key=lambda s: s.name)

    def evaluate(self, value: Matrix, env: Mapping[sp.Symbol, np.ndarray], n: int) -> np.ndarray:
        """`value` at the points of `env`: an array of shape (n, rows, cols)."""
        syms = self._free_symbols(value)
        missing = [s.name for s in syms if s not in env]
        if missing:
            raise KeyError(f"no values for {', '.join(missing)}")
        key = (value, tuple(syms))
        if key not in self._value_fns:
            self._value_fns[key] = tree_function(syms, list(value))
        with np.errstate(all="ignore"):
            out = self._value_fns[key](*(env[s] for s in syms))
            flat = [np.broadcast_to(_real(v), (n,)) for v in out]
        return np.stack(flat, axis=-1).reshape(n, *value.shape)


def concrete(instance: Instance, unlinked_zero: bool = False) -> Concrete:
    """`Concrete(instance, unlinked_zero)`, made once per process for the same content.

    A derivation's steps, the lines of its key read back and the claims judged
    against it all use its instances; `Concrete` is a pure function of the
    instance's sizes, definitions, assumptions and domain, and what it caches is
    too. "The same" is by identity of every key and value (SymPy objects are
    immutable), so an instance rebuilt from the same objects shares it, and one
    with anything replaced does not; an instance holding something mutable is
    never shared."""
    fields = (instance.sizes, instance.defs, instance.given, instance.domain)
    items = tuple(tuple(f.items()) for f in fields)
    if not all(_immutable(x) for field in items for pair in field for x in pair):
        return Concrete(instance, unlinked_zero)
    key = (unlinked_zero, tuple(tuple((id(k), id(v)) for k, v in f) for f in items))
    seen = _CONCRETE.get(key)
    if seen is None:
        if len(_CONCRETE) >= 256:
            _CONCRETE.clear()
        seen = _CONCRETE[key] = (items, Concrete(instance, unlinked_zero))  # items keep the ids
    return seen[1]


_CONCRETE: dict[tuple[Any, ...], tuple[Any, Concrete]] = {}


def _immutable(x: Any) -> bool:
    if isinstance(x, tuple):
        return all(map(_immutable, x))
    return isinstance(x, sp.Basic | str | int | float)  # a mutable Matrix is no Basic


def _real(v: Any) -> np.ndarray:
    """Real values as floats; where a value is not real, NaN (undefined there)."""
    arr = np.asarray(v)
    if np.iscomplexobj(arr):
        return np.where(np.abs(arr.imag) > 1e-12, np.nan, arr.real).astype(float)
    return arr.astype(float)


# One-argument functions whose derivative is f'(u) times the argument's (`fdiff`).
_CHAIN_RULE = (sp.exp, sp.log, sp.tanh, sigmoid, relu)


def partial_derivative(e: Any, p: Any, memo: dict[tuple[Any, Any], Any] | None = None) -> Any:
    """`sp.diff(e, p)` for a scalar built from sums, products, powers with an exponent
    free of `p` and the usual one-argument functions, by the sum, product, power and
    chain rules directly: SymPy's `diff` builds a `Derivative` for every
    subexpression, which costs more than the rules. Anything else goes to `sp.diff`."""
    memo = {} if memo is None else memo
    key = (e, p)
    if key in memo:
        return memo[key]
    out: Any
    if p not in free_symbols(e):
        out = sp.Integer(0)
    elif e == p:
        out = sp.Integer(1)
    elif not e.is_commutative:
        out = sp.diff(e, p)
    elif e.is_Add:
        out = sp.Add(*[partial_derivative(a, p, memo) for a in e.args])
    elif e.is_Mul:
        terms = []
        for i, a in enumerate(e.args):
            da = partial_derivative(a, p, memo)
            if da != 0:
                terms.append(sp.Mul(*e.args[:i], da, *e.args[i + 1 :]))
        out = sp.Add(*terms)
    elif e.is_Pow and p not in free_symbols(e.exp):
        out = e.exp * e.base ** (e.exp - 1) * partial_derivative(e.base, p, memo)
    elif isinstance(e, _CHAIN_RULE) and len(e.args) == 1:
        inner = partial_derivative(e.args[0], p, memo)
        out = sp.Integer(0) if inner == 0 else e.fdiff(1) * inner
    else:
        out = sp.diff(e, p)
    memo[key] = out
    return out


def free_symbols(e: Any) -> set[sp.Symbol]:
    """`e.free_symbols`, remembered: SymPy walks the whole tree on every call, and
    a proof asks again and again about the same large expressions."""
    try:
        return _FREE[e]
    except KeyError:
        pass
    if len(_FREE) >= 20_000:
        _FREE.clear()
    out = _FREE[e] = e.free_symbols
    return out  # type: ignore[no-any-return]


_FREE: dict[Any, set[sp.Symbol]] = {}


def _heaviside(u: Any, h0: float = 0.0) -> Any:
    return np.where(u > 0, 1.0, np.where(u < 0, 0.0, h0))


#: NumPy has no erf (the exact GELU's); SymPy's printer would call math.erf on an array
_erf = np.vectorize(math.erf, otypes=[float])

NUMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sigmoid": lambda u: 1.0 / (1.0 + np.exp(-u)),
    "relu": lambda u: np.maximum(u, 0.0),
    "Heaviside": _heaviside,
    "erf": _erf,
}


_UNARY: dict[Any, Callable[[Any], Any]] = {
    sp.exp: np.exp,
    sp.log: np.log,
    sp.sin: np.sin,
    sp.cos: np.cos,
    sp.tan: np.tan,
    sp.tanh: np.tanh,
    sp.sinh: np.sinh,
    sp.cosh: np.cosh,
    sp.atan: np.arctan,
    sp.Abs: np.abs,
    sp.erf: _erf,
    sigmoid: NUMPY_FUNCTIONS["sigmoid"],
    relu: NUMPY_FUNCTIONS["relu"],
}


def tree_function(symbols: list[sp.Symbol], exprs: list[Any]) -> Callable[..., list[Any]]:
    """A NumPy function of `symbols` computing each of `exprs`, by walking the trees.

    For the many small expressions the verifier evaluates, this is several times
    faster than `lambdify`, which prints and compiles each one. Shared
    subexpressions are computed once; what it does not know goes to `lambdify`."""
    exprs = list(_inline_implementations(exprs))

    def fn(*values: Any) -> list[Any]:
        env = dict(zip(symbols, values, strict=True))
        memo: dict[Any, Any] = {}

        def ev(e: Any) -> Any:
            if e in memo:
                return memo[e]
            if e in env:  # a symbol, or an indexed name such as P[1]
                out = env[e]
            elif e.is_Rational or e.is_Float:
                out = float(e)
            elif e.is_Add:
                out = ev(e.args[0])
                for a in e.args[1:]:
                    out = out + ev(a)
            elif e.is_Mul:
                out = ev(e.args[0])
                for a in e.args[1:]:
                    out = out * ev(a)
            elif e.is_Pow:
                out = np.power(ev(e.base), ev(e.exp))
            elif e.func in _UNARY and len(e.args) == 1:
                out = _UNARY[e.func](ev(e.args[0]))
            else:
                free = sorted(e.free_symbols, key=lambda s: s.name)
                out = numeric_function(free, [e])(*(env[s] for s in free))[0]
            memo[e] = out
            return out

        try:
            return [ev(e) for e in exprs]
        except RecursionError:
            return list(numeric_function(list(symbols), exprs)(*values))

    return fn


def numeric_function(symbols: list[sp.Symbol], exprs: Any) -> Callable[..., Any]:
    """A NumPy function of `symbols` computing `exprs` (a list or a matrix)."""
    exprs = _inline_implementations(exprs)
    # cse: printing a large expression is the slow part of lambdify; shared
    # subexpressions shrink it several times. No docstring: it prints it again.
    return sp.lambdify(
        symbols, exprs, modules=[NUMPY_FUNCTIONS, "numpy"], cse=True, docstring_limit=0
    )


def _inline_implementations(exprs: Any) -> Any:
    """A function implemented by a SymPy `Lambda` (`_imp_`) becomes its body, so it
    takes NumPy arrays (SymPy would call the Lambda on them one by one, and fail)."""
    items = list(exprs)
    funcs = {
        type(a)
        for e in items
        for a in sp.sympify(e).atoms(sp.Function)
        if isinstance(getattr(type(a), "_imp_", None), sp.Lambda)
    }
    if not funcs:
        return exprs
    for f in sorted(funcs, key=str):
        items = [sp.sympify(e).replace(f, f._imp_) for e in items]
    return Matrix(exprs.shape[0], exprs.shape[1], items) if hasattr(exprs, "shape") else items


def _as_matrix(value: Any) -> Matrix:
    if isinstance(value, sp.MatrixBase):
        return Matrix(value)
    if isinstance(value, MatrixExpr):
        return Matrix(value.as_explicit())
    return Matrix([[value]])


def _explicit(expr: Any, c: Concrete, lazy: bool = False) -> Any:
    """Evaluate `expr` bottom-up; matrix-valued nodes become explicit matrices."""
    if isinstance(expr, D):
        if lazy:
            return c.chain_derivative(expr.f, expr.x)
        return c.expand(c.derivative(expr.f, expr.x))
    if isinstance(expr, sp.MatrixSymbol):
        return c.entries(expr)
    if isinstance(expr, sp.Symbol):
        return c.sizes[expr] if expr in c.sizes else sp.Symbol(expr.name, real=True)
    if isinstance(expr, sp.MatrixBase):
        return Matrix(expr.applyfunc(lambda e: _explicit(e, c, lazy)))
    if not expr.args:
        return expr.xreplace(c.sizes)
    args = [_explicit(a, c, lazy) for a in expr.args]
    if isinstance(expr, MatrixExpr):
        return _as_matrix(_matrix_node(expr, args, c))
    # A scalar node (log, Mul, ...) whose arguments may be 1x1 matrices.
    args = [a[0, 0] if isinstance(a, sp.MatrixBase) and a.shape == (1, 1) else a for a in args]
    return expr.func(*args)


def _matrix_node(expr: Any, args: list[Any], c: Concrete) -> Any:
    if isinstance(expr, sp.MatMul):
        out: Any = sp.Integer(1)
        for a in args:
            if (
                isinstance(a, sp.MatrixBase)
                and a.shape == (1, 1)
                and out != 1
                and (not isinstance(out, sp.MatrixBase) or out.shape[1] != 1)
            ):
                a = a[0, 0]
            out = out * a
        return out
    if isinstance(expr, sp.MatAdd):
        total = args[0]
        for a in args[1:]:
            total = total + a
        return total
    if isinstance(expr, sp.Transpose):
        return args[0].T
    if isinstance(expr, sp.HadamardProduct):
        out = args[0]
        for a in args[1:]:
            out = out.multiply_elementwise(a)
        return out
    if isinstance(expr, sp.OneMatrix | sp.ZeroMatrix | sp.Identity):
        return expr.xreplace(c.sizes).as_explicit()
    if isinstance(expr, diag):
        return sp.diag(*args[0])
    if isinstance(expr, hadamard_ones_minus):
        return args[0].applyfunc(lambda e: 1 - e)
    if isinstance(expr, elementwise | softmax | sqnorm):
        return expr.func(*expr.args[:-1], args[-1]).as_explicit()
    return expr.func(*args).doit()
