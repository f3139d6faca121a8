"""Judging a claim against the key: numerically at random points, then symbolically."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions import MatrixExpr

from ..instantiate import Matrix as ConcreteMatrix
from ..instantiate import concrete, entry_symbol
from ..model import Instance
from ..proofs import prove_lazy
from . import budget
from .reading import Parsed, display_name
from .shapes import is_mat, shape_str

RANDOM_POINTS = 40
PROOF_SECONDS = 10.0
#: seconds of a claim's budget (`budget.CLAIM_SECONDS`) a proof leaves for the rest
PROOF_RESERVE = 2.0
RTOL = 1e-7
ATOL = 1e-9
DEFAULT_DOMAIN = (-1.5, 1.5)
AUTO_SIZES = (2, 3, 4, 5)

#: "transposed": equal to the key up to layout (the key transposed); whether that earns
#: the mark is the course's policy (`Verdict.layout`)
Status = Literal["correct", "transposed", "incorrect", "unreadable"]

# ---------------------------------------------------------------------------
# Judging


@dataclass(frozen=True)
class Counterexample:
    """Where claim and key differ: the inputs, and both values there."""

    point: Mapping[str, float]
    claim: Any  # float, or nested lists for a matrix; None when not finite
    key: Any
    entry: tuple[int, int] | None = None
    functions: Mapping[str, str] = field(default_factory=dict)
    remark: str = ""
    digits: int = 6  # significant digits shown
    #: the inputs the difference depends on (the others can take any value); () unknown
    relevant: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.describe()

    def describe(self, limit: int = 8) -> str:
        """One line; at most `limit` inputs, and only the differing entry of a matrix."""
        parts = []
        if self.point:
            shown = [k for k in self.relevant if k in self.point] or list(self.point)
            items = [f"{k}={_fmt(self.point[k])}" for k in shown[:limit]]
            more = len(shown) - limit
            text = "at " + ", ".join(items) + (f", … ({more} more)" if more > 0 else "")
            others = [k for k in self.point if k not in shown]
            if others:
                text += f" (any values of the other {len(others)} inputs)"
            parts.append(text)
        if self.functions:
            parts.append("with " + ", ".join(f"{k}(u)={v}" for k, v in self.functions.items()))
        claim, key = self.claim, self.key
        where = ""
        if self.entry is not None and isinstance(claim, list) and isinstance(key, list):
            i, j = self.entry
            claim, key = claim[i][j], key[i][j]
            where = f" entry ({i + 1},{j + 1})"
        d = self.digits
        vals = f"claim{where} = {_fmt(claim, d)}, key{where} = {_fmt(key, d)}"
        text = "; ".join([*parts, vals])
        return f"{text} ({self.remark})" if self.remark else text

    def to_json(self) -> dict[str, Any]:
        return {
            "point": dict(self.point),
            "claim": self.claim,
            "key": self.key,
            "entry": list(self.entry) if self.entry else None,
            "functions": dict(self.functions),
            "remark": self.remark,
            "text": str(self),
        }


def _fmt(v: Any, digits: int = 6) -> str:
    if v is None:
        return "undefined"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x, digits) for x in v) + "]"
    if isinstance(v, float):
        return "undefined" if not math.isfinite(v) else f"{v + 0.0:.{digits}g}"  # no -0
    return str(v)


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a claim; `reason` is the one line to print."""

    status: Status
    reason: str
    counterexample: Counterexample | None = None
    mistake: str | None = None
    reading: str | None = None
    notes: tuple[str, ...] = ()
    how: str = ""
    #: the course's policy for an answer equal up to layout: "accept" or "refuse"
    layout: str = "accept"
    #: for numbers: (entries equal to the key's, entries), for partial credit
    entries: tuple[int, int] | None = None

    @property
    def correct(self) -> bool:
        """Equal to the key as written (layout included)."""
        return self.status == "correct"

    @property
    def accepted(self) -> bool:
        """Earns the mark: correct, or equal up to layout where the course accepts that."""
        return self.correct or (self.status == "transposed" and self.layout == "accept")

    @property
    def exit_code(self) -> int:
        if self.status == "transposed":
            return 0 if self.accepted else 1
        return {"correct": 0, "incorrect": 1, "unreadable": 2}[self.status]

    def lines(self) -> list[str]:
        """What `answerkey check` prints: the verdict, the reading, and why."""
        how = f" ({self.how})" if self.status in ("correct", "transposed") and self.how else ""
        out = [f"{self.status}: {self.reason}{how}"]
        if self.reading:
            out.append(f"read as: {self.reading}")
        out += [f"note: {n}" for n in self.notes]
        if self.status == "transposed":
            out.append(f"note: {self.policy()}")
        if self.mistake:
            out.append(f"this is a typical mistake: {self.mistake}")
        if self.counterexample is not None:
            out.append(f"counterexample: {self.counterexample}")
        return out

    def policy(self) -> str:
        """What the course's layout policy makes of an answer equal up to layout."""
        if self.accepted:
            return "accepted: this course takes either layout (rows and columns transposed)"
        return "not accepted: this part asks for the key's layout (transpose the answer)"

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.status,
            "accepted": self.accepted,
            "reason": self.reason,
            "reading": self.reading,
            "mistake": self.mistake,
            "counterexample": str(self.counterexample) if self.counterexample else None,
            "how": self.how,
        }


Domain = Instance | Sequence[Instance] | Mapping[str, tuple[float, float]] | None


def sample_instances(domain: Domain, *exprs: Any) -> list[Instance]:
    if isinstance(domain, Instance):
        insts = [domain]
    elif domain is None:
        insts = [Instance()]
    elif isinstance(domain, Mapping):
        insts = [Instance(domain=dict(domain))]
    else:
        insts = list(domain) or [Instance()]
    return [_with_sizes(i, *exprs) for i in insts]


def _with_sizes(inst: Instance, *exprs: Any) -> Instance:
    """Give every dimension symbol a small distinct size when the instance leaves it open."""
    dims: set[sp.Symbol] = set()
    for e in [*exprs, *inst.defs.keys(), *inst.defs.values()]:
        if e is None:
            continue
        e = sp.sympify(e)
        for m in e.atoms(sp.MatrixSymbol) | ({e} if isinstance(e, sp.MatrixSymbol) else set()):
            for d in m.shape:
                dims |= {s for s in sp.sympify(d).free_symbols if isinstance(s, sp.Symbol)}
    known = {str(k) for k in inst.sizes}
    missing = sorted((d for d in dims if d.name not in known), key=lambda s: s.name)
    if not missing:
        return inst
    sizes = dict(inst.sizes)
    for k, d in enumerate(missing):
        sizes[d] = AUTO_SIZES[k % len(AUTO_SIZES)]
    return Instance(sizes, inst.defs, inst.given, inst.domain, inst.label)


def _normalize(expr: Any) -> Any:
    """Derivative(f(x), x) of an arbitrary f -> Subs form, so definitions can be substituted."""
    if not isinstance(expr, sp.Basic):
        return expr

    def fix(d: Any) -> Any:
        if (
            isinstance(d.expr, AppliedUndef)
            and len(d.variables) == 1
            and d.expr.args == d.variables
        ):
            u = sp.Dummy("u")
            return sp.Subs(sp.Derivative(d.expr.func(u), u), u, d.variables[0])
        return d

    expr = expr.replace(lambda e: isinstance(e, sp.Derivative), fix)

    def bound(sub: Any) -> Any:
        # One name per position: equal Subs compare equal, and no clash with real symbols.
        names = {v: sp.Symbol(f"_s{k}") for k, v in enumerate(sub.variables)}
        return sp.Subs(sub.expr.xreplace(names), tuple(names.values()), sub.point)

    return expr.replace(lambda e: isinstance(e, sp.Subs), bound)


def _index_symbols(expr: Any) -> set[sp.Symbol]:
    """The indices `expr` is written with: those of its components, Kronecker deltas and sums."""
    found: set[sp.Symbol] = set()
    for i in expr.atoms(sp.Indexed):
        found |= {s for s in i.indices if isinstance(s, sp.Symbol)}
    for k in expr.atoms(sp.KroneckerDelta):
        found |= {s for s in k.args if isinstance(s, sp.Symbol)}
    for sm in expr.atoms(sp.Sum):
        found |= {lim[0] for lim in sm.limits}
    return found


def expand_indices(expr: Any, inst: Instance) -> Any:
    """Index notation made explicit at the instance's sizes: sums written out, a component
    `p_j` as the entry symbol of p, and an expression with one free index `k` (the
    component asked for, `dL/do_k`) as the row of its values at k = 1..K. Indices the
    instance fixes (`given`, like the true class y) take their value."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Indexed, sp.Sum, sp.KroneckerDelta):
        return expr
    sizes = {str(k): int(v) for k, v in inst.sizes.items()}
    fixed = {str(k): v for k, v in inst.given.items() if isinstance(v, int)}
    subs: dict[Any, Any] = {
        s: sizes[s.name] for s in expr.free_symbols if isinstance(s, sp.Symbol) and s.name in sizes
    }
    free = []
    for s in sorted(_index_symbols(expr) & expr.free_symbols, key=str):
        if s.name in fixed:
            subs[s] = fixed[s.name]
        elif s.name not in sizes:
            free.append(s)
    e = expr.xreplace(subs)
    if len(free) > 1:
        raise ValueError(f"more than one free index ({', '.join(map(str, free))})")

    def entries(x: Any) -> Any:
        x = x.doit(deep=True) if x.has(sp.Sum) else x
        return x.replace(
            lambda a: isinstance(a, sp.Indexed) and all(i.is_Integer for i in a.indices),
            lambda a: entry_symbol(str(a.base.label), int(a.indices[0]) - 1, 0, 1),
        )

    if not free:
        return entries(e)
    if len(sizes) == 1:
        (n,) = sizes.values()
    else:
        bases = {str(i.base.label) for i in expr.atoms(sp.Indexed) if free[0] in i.indices}
        lengths = {
            int(sp.sympify(d).xreplace({x: sizes[x.name] for x in sp.sympify(d).free_symbols}))
            for m in [*inst.defs.keys(), *inst.defs.values()]
            for ms in sp.sympify(m).atoms(sp.MatrixSymbol)
            if ms.name in bases
            for d in ms.shape
            if d != 1
        }
        if len(lengths) != 1:
            raise ValueError(f"cannot tell how far the index {free[0]} runs")
        (n,) = lengths
    return sp.ImmutableMatrix([[entries(e.xreplace({free[0]: i})) for i in range(1, n + 1)]])


def to_numbers(v: Any) -> np.ndarray | None:
    """A numeric key (float, list, array, constant SymPy matrix) as a 2-D array, else None."""
    if isinstance(v, sp.Basic):
        if isinstance(v, MatrixExpr) and not isinstance(v, sp.MatrixBase):
            return None
        if v.free_symbols or v.atoms(sp.MatrixSymbol, AppliedUndef):
            return None
        try:
            arr = np.array(sp.Matrix(v) if is_mat(v) else [[v]], dtype=float)
        except (TypeError, ValueError):
            return None
    else:
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            return None
    return arr.reshape(1, -1) if arr.ndim <= 1 else arr


#: values by (the instance's Concrete, expression): see `_Judge.value`
_VALUES: dict[tuple[int, Any], tuple[Any, ConcreteMatrix]] = {}


@dataclass
class _Values:
    syms: list[sp.Symbol]
    fn: Callable[..., Any]
    shape: tuple[int, int]


class Judge:
    """Claim and key (and mistakes) instantiated at one instance, compared at the same points."""

    def __init__(
        self,
        inst: Instance,
        rng: np.random.Generator,
        points: int,
        names: Mapping[str, str] | None = None,
    ) -> None:
        self.inst = inst
        self.names = dict(names or {})  # a variable's name -> as the course writes it
        # a claim is read as written: a derivative of a quantity by something it
        # does not depend on is zero (the seed's 1a writes one), not a missing definition
        self.c = concrete(inst, unlinked_zero=True)
        self.rng = rng
        self.n = points
        self.fcoef: dict[Any, tuple[sp.Symbol, ...]] = {}
        self.cache: dict[Any, ConcreteMatrix] = {}
        self.stand_ins: dict[str, str] = {}

    def names_of(self, s: sp.Symbol) -> str:
        """An input as the course writes it: `W1_12` -> `W^(1)_12`, `delta_j` -> `δ_j`."""
        if s.name in self.names:
            return self.names[s.name]
        base, _, entry = s.name.rpartition("_")
        if base in self.names and entry.isdigit():
            return f"{self.names[base]}_{entry}"
        head, sep, rest = s.name.partition("_")
        if head in _GREEK_WORDS:
            return display_name("\\" + head) + sep + rest
        return str(s.name)

    def value(self, expr: Any) -> ConcreteMatrix:
        key = sp.sympify(expr)
        if key not in self.cache:
            # by the instance's Concrete (one per content): a class's answers to a part
            # share the key's and the mistakes' values
            memo = (id(self.c), key)
            seen = _VALUES.get(memo)
            if seen is None or seen[0] is not self.c:
                if len(_VALUES) >= 4096:
                    _VALUES.clear()
                seen = _VALUES[memo] = (self.c, self._value(key))
            self.cache[key] = seen[1]
        return self.cache[key]

    def _value(self, key: Any) -> ConcreteMatrix:
        explicit = expand_indices(key, self.inst)
        if isinstance(explicit, sp.MatrixBase) and explicit.has(MatrixExpr):
            # components that are derivatives (dL/do_1, ...): each on its own
            explicit = ConcreteMatrix(
                *explicit.shape,
                [self.c.lazy(_normalize(x))[0, 0] for x in explicit],
            )
        return self.c.lazy(_normalize(explicit))

    def _concrete_functions(self, m: ConcreteMatrix) -> ConcreteMatrix:
        """Arbitrary functions (f_1 …) become random smooth ones: a·sin(b·u + c) + d·u."""
        funcs = {a.func for a in m.atoms(AppliedUndef)}
        if not funcs:
            return m
        u = sp.Dummy("u")
        for f in sorted(funcs, key=str):
            if f not in self.fcoef:
                self.fcoef[f] = tuple(sp.Symbol(f"{f}:{c}", real=True) for c in "abcd")
            a, b, c, d = self.fcoef[f]
            m = m.replace(f, sp.Lambda(u, a * sp.sin(b * u + c) + d * u))
        return ConcreteMatrix(m.doit())

    def compare(
        self, a: ConcreteMatrix, b: ConcreteMatrix, *, careful: bool = False
    ) -> tuple[int, Counterexample | None, Counterexample | None]:
        """(points compared, first difference, a point where only `a` is not finite).

        `careful`: a difference the floats show is confirmed in 50-digit arithmetic
        first (cancellation must not make equal answers unequal), and the point is
        made as simple as it can be while the difference stays (small integers,
        the inputs it depends on named first)."""
        a, b = self._concrete_functions(a), self._concrete_functions(b)
        self.stand_ins = {
            type(f).__name__: _stand_in(type(f))
            for f in (a.atoms(sp.Function) | b.atoms(sp.Function))
            if hasattr(type(f), "_imp_") and callable(type(f)._imp_)
        }
        # Values are lazy (`Concrete.lazy`): the inputs are drawn here, the defined
        # variables computed from them through the instance's definitions.
        syms = [s for s in self.c.inputs(a, b) if s not in self.c.nodes]
        points = self._samples(syms, self.n)
        values = self._values(a, b, syms, points)
        if values is None:
            return 0, None, None
        all_a, all_b = values
        compared = 0
        undefined: Counterexample | None = None
        confirmed = 0
        for k, point in enumerate(points):
            va, vb = all_a[k], all_b[k]
            fin_a, fin_b = np.all(np.isfinite(va)), np.all(np.isfinite(vb))
            if not (fin_a and fin_b):
                if fin_b and not fin_a and undefined is None:
                    undefined = self._cex(point, va, vb, None, "the claim is undefined there")
                continue
            compared += 1
            if va.shape != vb.shape:
                return compared, self._cex(point, va, vb, None, ""), undefined
            if not _differ(va, vb).any():
                continue
            if careful:
                if confirmed >= EXACT_TRIES:
                    continue  # float noise at every try: taken as equal here
                confirmed += 1
                exact = self._exact(a, b, point)
                if exact is not None and not _differ(*exact).any():
                    continue
                point, va, vb = self._simplest(a, b, syms, point, va, vb)
            bad = _differ(va, vb)
            i, j = (int(k) for k in np.argwhere(bad)[0])
            entry = (i, j) if va.shape != (1, 1) else None
            cex = self._cex(point, va, vb, entry, "")
            if careful:
                relevant = self._relevant(a, b, syms, point, (i, j), va[i, j] - vb[i, j])
                cex = replace(cex, relevant=relevant)
            return compared, cex, undefined
        return compared, None, undefined

    def equal_to(self, target: ConcreteMatrix, candidates: Sequence[ConcreteMatrix]) -> list[bool]:
        """Which `candidates` equal `target`, as `compare` without `careful` finds: equal at
        every point where both are finite, and finite at one at least."""
        arrays = self.arrays([target, *candidates])
        if arrays is None:  # one candidate spoils the batch: each on its own
            return [self.equal(target, m) for m in candidates]
        return [equal_arrays(arrays[0], v) for v in arrays[1:]]

    def arrays(self, values: Sequence[ConcreteMatrix]) -> list[np.ndarray] | None:
        """Each of `values` at the same `n` random points (one sampling and one evaluation
        of each, however many pairs are compared); None when one cannot be evaluated."""
        values = [self._concrete_functions(m) for m in values]
        syms = [s for s in self.c.inputs(*values) if s not in self.c.nodes]
        points = self._samples(syms, self.n)
        fixed = {s: np.array([p[s] for p in points], dtype=float) for s in syms}
        try:
            env = self.c.sample(
                values, self.n, self.rng, DEFAULT_DOMAIN, fixed=fixed, reached_only=True
            )
            return [self.c.evaluate(m, env, self.n) for m in values]
        except (ZeroDivisionError, OverflowError, ValueError, TypeError, KeyError):
            return None

    def equal(self, a: ConcreteMatrix, b: ConcreteMatrix) -> bool:
        """`a` equals `b` at this judge's random points (`compare` without `careful`)."""
        n, cex, _ = self.compare(a, b)
        return n > 0 and cex is None

    def _values(
        self, a: ConcreteMatrix, b: ConcreteMatrix, syms: list[sp.Symbol], points: list[Any]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """`a` and `b` at `points` (one array per side, shape (points, rows, cols))."""
        n = len(points)
        fixed = {s: np.array([p[s] for p in points], dtype=float) for s in syms}
        try:
            env = self.c.sample([a, b], n, self.rng, DEFAULT_DOMAIN, fixed=fixed, reached_only=True)
            return self.c.evaluate(a, env, n), self.c.evaluate(b, env, n)
        except (ZeroDivisionError, OverflowError, ValueError, TypeError, KeyError):
            return None

    def _exact(
        self, a: ConcreteMatrix, b: ConcreteMatrix, point: Mapping[sp.Symbol, float]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """`a` and `b` at `point` in 50-digit arithmetic (None: cannot be computed so)."""
        env: dict[Any, Any] = {s: sp.Rational(v) for s, v in point.items()}
        reached = self._reached(a, b)
        try:
            for e, expr in self.c.nodes.items():  # in order: each after what it uses
                if e not in env and e in reached:
                    env[e] = _precise(expr.xreplace(env))
            out = []
            for m in (a, b):
                vals = [complex(_precise(x.xreplace(env))) for x in m]
                if any(abs(v.imag) > 1e-30 * max(1.0, abs(v.real)) for v in vals):
                    return None
                out.append(np.array([v.real for v in vals]).reshape(m.shape))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
            return None
        return out[0], out[1]

    def _reached(self, *values: ConcreteMatrix) -> set[sp.Symbol]:
        """The defined variables `values` depend on (only these are worth 50 digits)."""
        seen: set[sp.Symbol] = set()
        todo = [x for v in values for x in v.free_symbols]
        while todo:
            x = todo.pop()
            if x in seen:
                continue
            seen.add(x)
            if x in self.c.nodes:
                todo.extend(self.c.nodes[x].free_symbols)
        return seen

    def _simplest(
        self,
        a: ConcreteMatrix,
        b: ConcreteMatrix,
        syms: list[sp.Symbol],
        point: dict[sp.Symbol, float],
        va: np.ndarray,
        vb: np.ndarray,
    ) -> tuple[dict[sp.Symbol, float], np.ndarray, np.ndarray]:
        """The point with each input, one at a time, set to the simplest value (0, 1, -1,
        2, ...) that keeps claim and key apart; confirmed exactly, else the point given."""
        best, va0, vb0 = dict(point), va, vb
        for s in syms:
            if ":" in s.name:  # a stand-in function's coefficient stays as drawn
                continue
            lo, hi = self.c.domain(s, DEFAULT_DOMAIN)
            tries = [v for v in SIMPLE_VALUES if lo <= v <= hi and v != best[s]]
            if not tries:
                continue
            trial = [{**best, s: float(v)} for v in tries]
            values = self._values(a, b, syms, trial)
            if values is None:
                continue
            for k, t in enumerate(trial):
                ta, tb = values[0][k], values[1][k]
                if np.all(np.isfinite(ta)) and np.all(np.isfinite(tb)) and _differ(ta, tb).any():
                    best, va, vb = t, ta, tb
                    break
        if best != point:
            exact = self._exact(a, b, best)
            if exact is None or not _differ(*exact).any():
                return point, va0, vb0
        return best, va, vb

    def _relevant(
        self,
        a: ConcreteMatrix,
        b: ConcreteMatrix,
        syms: list[sp.Symbol],
        point: dict[sp.Symbol, float],
        entry: tuple[int, int],
        gap: float,
    ) -> tuple[str, ...]:
        """The inputs the difference (at `entry`) depends on: moving one changes claim
        minus key there."""
        movable = [s for s in syms if ":" not in s.name]
        trial = []
        for s in movable:
            hi = self.c.domain(s, DEFAULT_DOMAIN)[1]
            step = 0.5 if point[s] + 0.5 <= hi else -0.5
            trial.append({**point, s: point[s] + step})
        values = self._values(a, b, syms, trial) if trial else None
        if values is None:
            return tuple(self.names_of(s) for s in movable)
        out = []
        i, j = entry
        for k, s in enumerate(movable):
            moved = values[0][k][i, j] - values[1][k][i, j]
            if not np.isfinite(moved) or not np.isclose(moved, gap, rtol=RTOL, atol=ATOL):
                out.append(self.names_of(s))
        return tuple(out)

    def _sample(self, syms: Iterable[sp.Symbol]) -> dict[sp.Symbol, float]:
        return self._samples(list(syms), 1)[0]

    def _samples(self, syms: list[sp.Symbol], n: int) -> list[dict[sp.Symbol, float]]:
        """`n` random points, drawn in one call: the same numbers, in the same order, as
        `n` points of one draw per input (NumPy draws an array in C order)."""
        if not syms:
            return [{} for _ in range(n)]
        bounds = []
        for s in syms:
            if ":" in s.name:  # a coefficient of a stand-in function
                lo, hi = (0.5, 1.5) if s.name.endswith((":a", ":b")) else (-1.0, 1.0)
            else:
                base = s.name.rsplit("_", 1)[0] if "_" in s.name else s.name
                lo, hi = self.inst.domain.get(s.name, self.inst.domain.get(base, DEFAULT_DOMAIN))
            bounds.append((lo, hi))
        lows, highs = (np.array(b, dtype=float) for b in zip(*bounds, strict=True))
        drawn = self.rng.uniform(lows, highs, size=(n, len(syms))).tolist()
        return [dict(zip(syms, row, strict=True)) for row in drawn]

    def _cex(
        self,
        point: Mapping[sp.Symbol, float],
        va: np.ndarray,
        vb: np.ndarray,
        entry: tuple[int, int] | None,
        remark: str,
    ) -> Counterexample:
        plain = {self.names_of(s): round(v, 6) for s, v in point.items() if ":" not in s.name}
        funcs = {_function_name(k): v.replace("**", "^") for k, v in sorted(self.stand_ins.items())}
        for f, (a, b, c, d) in self.fcoef.items():
            if a in point:
                funcs[_function_name(str(f))] = (
                    f"{point[a]:.3g}·sin({point[b]:.3g}u{point[c]:+.3g}){point[d]:+.3g}u"
                )
        if va.shape != vb.shape:
            remark = (
                f"the claim is a {va.shape[0]}×{va.shape[1]} matrix, "
                f"the key a {vb.shape[0]}×{vb.shape[1]} one"
            )
        return Counterexample(plain, _plain(va), _plain(vb), entry, funcs, remark)


#: how many float differences are checked in 50-digit arithmetic before the floats are
#: taken to be noise; the simple values an input of a counterexample is tried at
EXACT_TRIES = 3
SIMPLE_VALUES = (0, 1, -1, 2, -2, 3, 0.5)
_GREEK_WORDS = {"alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu"}
_GREEK_WORDS |= {"sigma", "tau", "phi", "omega", "rho", "Delta"}


def equal_arrays(va: np.ndarray, vb: np.ndarray) -> bool:
    """Equal at every point (axis 0) where both are finite, with one such point at least."""
    if va.shape != vb.shape:
        return False
    both = np.isfinite(va).all(axis=(1, 2)) & np.isfinite(vb).all(axis=(1, 2))
    return bool(both.any()) and not _differ(va[both], vb[both]).any()


def _differ(va: np.ndarray, vb: np.ndarray) -> np.ndarray:
    return ~np.isclose(va, vb, rtol=RTOL, atol=ATOL)


def _precise(x: Any) -> Any:
    """A value in 50-digit arithmetic, stand-in functions (`f_3` as sin(u) + 2u) put in."""
    x = x.replace(
        lambda e: isinstance(e, sp.Function) and callable(getattr(type(e), "_imp_", None)),
        lambda e: type(e)._imp_(*e.args),
    )
    return sp.N(x, 50)


def _function_name(name: str) -> str:
    """A stand-in function as the course writes it: `fprime_3` -> `f_3'`."""
    m = re.fullmatch(r"([A-Za-z]+?)prime(?:_(\w+))?", name)
    if m:
        return f"{m.group(1)}_{m.group(2)}'" if m.group(2) else f"{m.group(1)}'"
    return name


def _plain(v: np.ndarray) -> Any:
    if v.shape == (1, 1):
        x = float(v[0, 0])
        return x if math.isfinite(x) else None
    return [[float(x) if math.isfinite(x) else None for x in row] for row in v]


#: a number must match the key to at least this many significant figures (besides the
#: precision it is written to); an exercise may set its own per part
SIGNIFICANT_FIGURES = 3


def _floor_tolerance(key: np.ndarray, figures: int) -> np.ndarray:
    """Half a unit in the last of `figures` significant figures of each entry; a zero
    entry takes its scale from the largest entry (or 1)."""
    scale = np.abs(key)
    top = float(scale.max()) if scale.size else 0.0
    scale = np.where(scale > 0, scale, top if top > 0 else 1.0)
    return 0.5 * 10.0 ** (np.floor(np.log10(scale)) - (figures - 1))


def _numeric_verdict(
    claim: Parsed | Any,
    key: np.ndarray,
    decimals: Any,
    figures: int = SIGNIFICANT_FIGURES,
    printed: int | None = None,
) -> Verdict:
    """The claim's numbers against the key's, entry by entry.

    The floor (`figures` significant figures) is never finer than the key's own
    printed precision (`printed` decimals): a student who copies the key's 0.0041
    for 0.004056 has written what the key shows."""
    c = to_numbers(claim)
    assert c is not None
    if c.shape != key.shape and c.shape == key.shape[::-1] and min(c.shape) > 1:
        flipped = None if decimals is None else np.asarray(decimals).T
        v = _numeric_verdict(sp.ImmutableMatrix(c.T), key, flipped, figures, printed)
        if v.correct:
            return replace(
                v, status="transposed", reason=_layout_reason(c.shape, key.shape, v.reason)
            )
    if c.size != key.size or (c.shape != key.shape and min(c.shape) > 1 and min(key.shape) > 1):
        return Verdict(
            "incorrect",
            f"the claim has {c.shape[0]}×{c.shape[1]} numbers, "
            f"the key {key.shape[0]}×{key.shape[1]}",
            Counterexample({}, _plain(c), _plain(key)),
        )
    if c.shape != key.shape:
        c = c.reshape(key.shape)
        decimals = None if decimals is None else np.asarray(decimals).reshape(key.shape)
    if decimals is None:
        tol = np.maximum(ATOL, RTOL * np.abs(key))
        prec = "exactly"
    else:
        written = 0.5 * 10.0 ** (-np.asarray(decimals, dtype=float))
        floor = _floor_tolerance(key, figures)
        if printed is not None:
            floor = np.maximum(floor, 0.5 * 10.0 ** (-printed))
        tol = np.minimum(written, floor)
        tol = tol * (1 + 1e-9) + 1e-12 * np.abs(key)
        prec = f"at the precision written (and to {figures} significant figures)"
    bad = np.abs(c - key) > tol
    entries = (int(bad.size - bad.sum()), int(bad.size))
    if not bad.any():
        return Verdict("correct", f"equals the key's value {prec}", entries=entries)
    i, j = (int(k) for k in np.argwhere(bad)[0])
    entry = (i, j) if key.shape != (1, 1) else None
    d = ""
    if decimals is not None:
        d = f"written to {int(np.asarray(decimals)[i, j])} decimals"
        if abs(c[i, j] - key[i, j]) <= written[i, j] * (1 + 1e-9):
            d += f"; the key asks for {figures} significant figures"
    return Verdict(
        "incorrect",
        "differs from the key's value" + (f" (entry {i + 1},{j + 1})" if entry else ""),
        Counterexample({}, _plain(c), _plain(key), entry, {}, d, digits=12),
        entries=entries,
    )


class _ProofTimeout(Exception):
    """A symbolic proof that took too long (the numbers decide without it)."""


def _stand_in(fn: type) -> str:
    """A function's stand-in (its `_imp_`) as printed, once per function class."""
    seen = _STAND_INS.get(id(fn))
    if seen is None or seen[0] is not fn:  # by identity: SymPy's function classes
        seen = (fn, str(fn._imp_(sp.Symbol("u"))))  # type: ignore[attr-defined]
        _STAND_INS[id(fn)] = seen  # compare equal by name; holding fn keeps its id
    return seen[1]


_STAND_INS: dict[int, tuple[type, str]] = {}


def judge(
    claim_expr: Any,
    key_expr: Any,
    domain: Domain = None,
    *,
    mistakes: Mistakes = None,
    decimals: Any = None,
    points: int = RANDOM_POINTS,
    seed: int = 0,
    prove: bool = True,
    figures: int = SIGNIFICANT_FIGURES,
    printed: int | None = None,
    names: Mapping[str, str] | None = None,
) -> Verdict:
    """Is `claim_expr` equal to `key_expr`?

    `domain` is an `Instance` (or several) giving sizes, definitions, assumptions
    and the input ranges, or just a mapping of input ranges; open dimensions get
    small distinct sizes. The two sides are compared numerically at `points`
    random inputs (skipping points where either is not finite) and, when those
    agree, symbolically with `prove_equal`. Numeric keys (numbers, arrays) are
    compared at the precision the claim was written with (`decimals`, per entry).
    When the claim is wrong and matches one of `mistakes`, the verdict names it.
    """
    if isinstance(claim_expr, Parsed):
        decimals = claim_expr.decimals if decimals is None else decimals
        claim_expr = claim_expr.expr
    key_numbers = to_numbers(key_expr)
    if key_numbers is not None and to_numbers(claim_expr) is not None:
        verdict = _numeric_verdict(claim_expr, key_numbers, decimals, figures, printed)
        if verdict.correct or mistakes is None:
            return verdict
        for name, wrong in mistakes() if callable(mistakes) else mistakes:
            wrong_numbers = to_numbers(wrong)
            if wrong_numbers is not None and wrong_numbers.shape == key_numbers.shape:
                if _numeric_verdict(claim_expr, wrong_numbers, decimals, figures, printed).correct:
                    return replace(verdict, mistake=name)
        return verdict
    if key_numbers is not None and not isinstance(key_expr, sp.Basic):
        key_expr = (
            sp.ImmutableMatrix(key_numbers) if key_numbers.size > 1 else sp.Float(key_numbers[0, 0])
        )
    claim_expr, key_expr = sp.sympify(claim_expr), sp.sympify(key_expr)
    rng = np.random.default_rng(seed)
    hows: list[str] = []
    total = 0
    transposed: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    for inst in sample_instances(domain, claim_expr, key_expr):
        at = f" ({inst.label})" if inst.label else ""
        jd = Judge(inst, rng, points, names)
        try:
            cv, kv = jd.value(claim_expr), jd.value(key_expr)
        except (ValueError, TypeError, AttributeError, KeyError, sp.ShapeError) as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            return Verdict("unreadable", f"cannot evaluate the claim{at}: {first}")
        if cv.shape != kv.shape and cv.shape != kv.shape[::-1]:
            n, cex, _ = jd.compare(cv, kv)
            reason = f"it is a {shape_str(cv)} matrix, the answer is {shape_str(kv)}{at}"
            return Verdict("incorrect", reason, cex, _match_mistake(jd, cv, mistakes, claim_expr))
        if cv.shape != kv.shape:  # the other layout: equal to the key transposed?
            n, cex, undefined = jd.compare(cv, kv.T, careful=True)
            if cex is not None or n == 0:
                n, cex, _ = jd.compare(cv, kv)
                reason = f"it is a {shape_str(cv)} matrix, the answer is {shape_str(kv)}{at}"
                return Verdict(
                    "incorrect", reason, cex, _match_mistake(jd, cv, mistakes, claim_expr)
                )
            transposed, kv = (tuple(cv.shape), tuple(kv.shape)), kv.T
        else:
            n, cex, undefined = jd.compare(cv, kv, careful=True)
            if cex is not None and cv.shape[0] == cv.shape[1] > 1:
                # a square answer: the key transposed is the other layout too
                m, other, _ = jd.compare(cv, kv.T, careful=True)
                if other is None and m > 0:
                    n, cex, kv = m, None, kv.T
                    transposed = (tuple(cv.shape), tuple(cv.shape))
        total += n
        if cex is not None:
            return Verdict(
                "incorrect",
                f"differs from the answer{at}",
                cex,
                _match_mistake(jd, cv, mistakes, claim_expr),
            )
        if n == 0:
            if undefined is not None:
                return Verdict("incorrect", f"undefined where the answer is defined{at}", undefined)
            return Verdict("unreadable", f"could not evaluate claim and answer at any point{at}")
        if not inst.prove or not prove:  # a large instance whose proof a smaller one carries
            continue
        # SymPy may fail or take too long; the numbers have decided already, and the
        # proof never takes the time the claim's budget needs to finish
        seconds = min(PROOF_SECONDS, budget.remaining() - PROOF_RESERVE)
        proof = None
        if seconds > 0:
            try:
                with budget.time_limit(seconds, _ProofTimeout):
                    proof = prove_lazy(jd.c, kv, cv)
            except Exception:
                proof = None
        hows.append(f"proved symbolically ({proof})" if proof else "not proved symbolically")
    how = "; ".join(dict.fromkeys(hows)) + f"; equal at {total} random points"
    if transposed is not None:
        reason = _layout_reason(*transposed, "equals the answer transposed")
        return Verdict("transposed", reason, how=how)
    return Verdict("correct", "equals the answer", how=how)


def _layout_reason(claim: tuple[int, ...], key: tuple[int, ...], how: str) -> str:
    """The reason of an answer equal to the key up to layout: which layout each has."""

    def kind(s: tuple[int, ...]) -> str:
        return "column" if s[1] == 1 else "row" if s[0] == 1 else "matrix"

    if kind(claim) == kind(key) == "matrix":
        shown = "the key's matrix transposed"
    else:
        shown = f"a {kind(claim)} where the key writes a {kind(key)}"
    return f"equal up to layout (transposed): {how}, {shown}"


Mistakes = Sequence[tuple[str, Any]] | Callable[[], Sequence[tuple[str, Any]]] | None


def _match_mistake(jd: Judge, cv: ConcreteMatrix, mistakes: Mistakes, claim: Any) -> str | None:
    if callable(mistakes):  # made only now: most claims are right and never need them
        try:
            mistakes = mistakes()
        except Exception:
            mistakes = []
    named: list[tuple[str, ConcreteMatrix]] = []
    for name, wrong in mistakes or ():
        try:
            wv = jd.value(wrong)
        except Exception:
            continue
        if wv.shape == cv.shape:
            named.append((name, wv))
        elif wv.shape == cv.shape[::-1]:  # the mistake, written in the other layout
            named.append((name, wv.T))
    if not named:
        return None
    same = jd.equal_to(cv, [wv for _, wv in named])
    return next((name for (name, _), eq in zip(named, same, strict=True) if eq), None)
