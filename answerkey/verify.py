"""Check every derivation step, final answer and numeric claim before anything is written.

Each step is compared with the one before it (the first with the quantity being
derived, computed directly by SymPy) at every concrete instance:

* numerically, at random points (fast, and gives a counterexample when false);
* symbolically: the difference must vanish as a rational function once exp, σ,
  log and unknown functions are read as opaque atoms (exp turned into products
  of atoms first, so exp(-u) = 1/exp(u)); where that does not settle it,
  `sympy.simplify` gets the last word.

Derivatives of a scalar are also compared with central finite differences of an
independent NumPy oracle. A failure raises `VerificationError` naming the
assignment, part, step and point; success leaves `CheckRecord`s on the part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from .errors import VerificationError
from .instantiate import Concrete, Matrix
from .mathfns import D, sigmoid
from .model import Assignment, CheckRecord, Derivation, Instance, Part

RANDOM_POINTS = 12
RTOL = 1e-8
ATOL = 1e-10
FD_STEP = 1e-6
FD_TOL = 1e-6
DEFAULT_DOMAIN = (-1.5, 1.5)
SIMPLIFY_MAX_OPS = 400


def _heaviside(u: Any, h0: float = 0.0) -> Any:
    return np.where(u > 0, 1.0, np.where(u < 0, 0.0, h0))


_NUMPY_FUNCS: dict[str, Callable[..., Any]] = {
    "sigmoid": lambda u: 1.0 / (1.0 + np.exp(-u)),
    "relu": lambda u: np.maximum(u, 0.0),
    "Heaviside": _heaviside,
}


def verify_assignment(assignment: Assignment, seed: int = 0, reuse: bool = False) -> int:
    """Verify every part of `assignment`; return the number of checks passed.

    With `reuse`, a part object already verified in this process (the same
    object, unchanged: see `_fingerprint`) keeps its checks. Solution modules
    share the parts that do not depend on a variant's numbers, so 100 variants
    verify those parts once.
    """
    for part in assignment.parts():
        key = id(part)
        seen = _VERIFIED.get(key) if reuse else None
        if seen is not None and seen[0] is part and seen[1] == _fingerprint(part):
            continue
        part.checks = verify_part(assignment.id, part, seed=seed)
        if reuse:
            _VERIFIED[key] = (part, _fingerprint(part))
    return assignment.check_count()


# id(part) -> (part, fingerprint); holding the part keeps its id from being reused.
_VERIFIED: dict[int, tuple[Part, str]] = {}


def _fingerprint(part: Part) -> str:
    """What a part's verification depends on, so an edited part is verified again."""
    return repr(
        (
            part.id,
            part.derivations,
            part.answer,
            part.answer_lhs,
            [id(c) for c in part.numeric_checks],
            sorted(part.data),
        )
    )


def verify_part(assignment_id: str, part: Part, seed: int = 0) -> list[CheckRecord]:
    records: list[CheckRecord] = []
    where = f"{assignment_id}, part {part.id}"
    rng = np.random.default_rng([seed, *part.id.encode()])
    for k, derivation in enumerate(part.derivations, start=1):
        label = where if len(part.derivations) == 1 else f"{where}, derivation {k}"
        records += verify_derivation(label, derivation, rng)
    for check in part.numeric_checks:
        try:
            records += check()
        except VerificationError:
            raise
        except AssertionError as exc:
            raise VerificationError(where, str(exc)) from None
    if not records and (part.derivations or part.numeric_checks):
        raise VerificationError(where, "no check ran")
    return records


def verify_derivation(where: str, d: Derivation, rng: np.random.Generator) -> list[CheckRecord]:
    records: list[CheckRecord] = []
    for inst in d.instances:
        c = Concrete(inst)
        at = f" ({inst.label})" if inst.label else ""
        prev = c.value(d.lhs)
        prev_name = "the quantity derived"
        for i, step in enumerate(d.steps, start=1):
            name = f"step {i}"
            cur = c.value(step.expr)
            if cur.shape != prev.shape:
                raise VerificationError(
                    f"{where}, {name}{at}",
                    f"shape {cur.shape} does not match {prev_name}'s shape {prev.shape}",
                )
            n = _numeric_equal(f"{where}, {name}{at}", prev_name, prev, cur, inst, rng)
            records.append(
                CheckRecord("numeric", f"{name}{at}", f"equals {prev_name} at {n} random points")
            )
            if d.prove and inst.prove:
                how = prove_equal(prev, cur)
                if how is None:
                    raise VerificationError(
                        f"{where}, {name}{at}",
                        f"could not prove it equal to {prev_name} symbolically",
                    )
                records.append(
                    CheckRecord("symbolic", f"{name}{at}", f"equals {prev_name} ({how})")
                )
            prev, prev_name = cur, name
        if isinstance(d.lhs, D) and _is_scalar(c, d.lhs.f):
            records.append(_finite_differences(where + at, d, c, prev, rng))
    return records


def _is_scalar(c: Concrete, f: Any) -> bool:
    return bool(c.local(f).shape == (1, 1))


def _symbols(*ms: Matrix) -> list[sp.Symbol]:
    free: set[sp.Symbol] = set()
    for m in ms:
        free |= m.free_symbols
    return sorted(free, key=lambda s: s.name)


def _sample(
    symbols: Iterable[sp.Symbol], inst: Instance, rng: np.random.Generator
) -> dict[sp.Symbol, float]:
    point = {}
    for s in symbols:
        base = s.name.rsplit("_", 1)[0] if "_" in s.name else s.name
        lo, hi = inst.domain.get(s.name, inst.domain.get(base, DEFAULT_DOMAIN))
        point[s] = float(rng.uniform(lo, hi))
    return point


def lambdify(symbols: list[sp.Symbol], m: Matrix) -> Callable[..., Any]:
    # cse: printing a large expression is the slow part of lambdify; shared
    # subexpressions shrink it several times. No docstring: it prints it again.
    return sp.lambdify(symbols, m, modules=[_NUMPY_FUNCS, "numpy"], cse=True, docstring_limit=0)


def _fmt_point(point: Mapping[sp.Symbol, float], limit: int = 8) -> str:
    items = [f"{s.name}={v:.4g}" for s, v in list(point.items())[:limit]]
    more = len(point) - limit
    return ", ".join(items) + (f", … ({more} more)" if more > 0 else "")


def _numeric_equal(
    where: str, prev_name: str, a: Matrix, b: Matrix, inst: Instance, rng: np.random.Generator
) -> int:
    """Compare at random points; return how many points were compared.

    Points where `a` (the line before) is undefined are skipped; a step undefined
    where the line before is defined is wrong. Too few comparable points is a
    failure too: a check that compared nothing must not pass.
    """
    syms = _symbols(a, b)
    fa, fb = lambdify(syms, a), lambdify(syms, b)
    compared = 0
    for _ in range(RANDOM_POINTS):
        point = _sample(syms, inst, rng)
        with np.errstate(all="ignore"):
            va = np.asarray(fa(*point.values()), dtype=float)
            vb = np.asarray(fb(*point.values()), dtype=float)
        if not np.all(np.isfinite(va)):
            continue
        if not np.all(np.isfinite(vb)):
            raise VerificationError(
                where, f"is undefined at {_fmt_point(point)}, where {prev_name} is defined"
            )
        compared += 1
        bad = ~np.isclose(va, vb, rtol=RTOL, atol=ATOL)
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            raise VerificationError(
                where,
                f"differs from {prev_name} at {_fmt_point(point)}: entry ({i + 1},{j + 1}) is "
                f"{vb[i, j]:.6g}, expected {va[i, j]:.6g}",
            )
    if compared < RANDOM_POINTS // 2:
        raise VerificationError(
            where,
            f"only {compared} of {RANDOM_POINTS} random points could be evaluated; "
            "narrow the instance's domain",
        )
    return compared


def _canonical(e: Any, atoms: dict[Any, sp.Symbol]) -> Any:
    """Read transcendental applications as atoms; exp of a sum as a product of atoms."""
    if isinstance(e, sigmoid):
        return _canonical(1 / (1 + sp.exp(-e.args[0])), atoms)
    if isinstance(e, sp.exp):
        arg = sp.expand(_canonical(e.args[0], atoms))
        out: Any = sp.Integer(1)
        for term in sp.Add.make_args(arg):
            coeff, mono = term.as_coeff_Mul()
            if mono not in atoms:
                atoms[mono] = sp.Dummy(positive=True)
            out *= atoms[mono] ** coeff
        return out
    if isinstance(e, sp.Function | sp.Derivative | sp.Subs | sp.Piecewise):
        key = e.func(*[_canonical(a, atoms) for a in e.args]) if e.args else e
        if key not in atoms:
            atoms[key] = sp.Dummy()
        return atoms[key]
    if not e.args or isinstance(e, sp.Symbol):
        return e
    return e.func(*[_canonical(a, atoms) for a in e.args])


def prove_equal(a: Matrix, b: Matrix) -> str | None:
    """How `a == b` was proven entrywise, or None when SymPy cannot show it."""
    atoms: dict[Any, sp.Symbol] = {}
    how = "rational identity"
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        diff = _canonical(x, atoms) - _canonical(y, atoms)
        if sp.cancel(sp.together(diff)) == 0:
            continue
        plain = x - y
        if sp.count_ops(plain) <= SIMPLIFY_MAX_OPS and sp.simplify(plain.rewrite(sp.exp)) == 0:
            how = "simplify"
            continue
        return None
    return how


def _finite_differences(
    where: str, d: Derivation, c: Concrete, claimed: Matrix, rng: np.random.Generator
) -> CheckRecord:
    """Central differences of f (oracle or SymPy definition) by each entry of x vs the result."""
    f, x = d.lhs.f, d.lhs.x
    xe = c.entries(x)
    x_symbols = list(xe)
    fx = c.expand(c.local(f), stop=x)
    upstream = Matrix(c.expand(xe))
    inputs = _symbols(fx, claimed, upstream)
    point = _sample(inputs, c.instance, rng)
    x_value = np.array(lambdify(inputs, upstream)(*point.values()), dtype=float).reshape(xe.shape)
    g = np.asarray(lambdify(inputs, claimed)(*point.values()), dtype=float)
    others = [s for s in inputs if s not in x_symbols]
    if d.oracle is not None:
        source = "an independent NumPy oracle"
        named: dict[str, Any] = {}
        in_matrices: set[sp.Symbol] = set()
        for name in c.names():
            entries = c.entries_by_name(name)
            in_matrices |= set(entries)
            values = [_value_at(s, point, c) for s in entries]
            if name != c.name(x) and all(v is not None for v in values):
                named[name] = np.array(values, dtype=float).reshape(entries.shape)
        for s, v in point.items():
            if s not in in_matrices:
                named.setdefault(s.name, np.array(v))
        oracle = d.oracle

        def fn(xv: np.ndarray) -> float:
            return float(oracle({**named, c.name(x): xv}))
    else:
        source = "the SymPy definition"
        fnum = lambdify(others + x_symbols, fx)
        fixed = [point[s] for s in others]

        def fn(xv: np.ndarray) -> float:
            return float(np.asarray(fnum(*fixed, *xv.flatten()), dtype=float).reshape(-1)[0])

    numeric = np.zeros(xe.shape)
    for idx in np.ndindex(*xe.shape):
        up, down = x_value.copy(), x_value.copy()
        up[idx] += FD_STEP
        down[idx] -= FD_STEP
        numeric[idx] = (fn(up) - fn(down)) / (2 * FD_STEP)
    numeric = numeric.reshape(g.shape)
    err = float(np.max(np.abs(numeric - g) / np.maximum(1.0, np.abs(g))))
    if not err <= FD_TOL:
        raise VerificationError(
            where,
            f"result disagrees with central finite differences of {source} at "
            f"{_fmt_point(point)}: max relative error {err:.3g}",
        )
    return CheckRecord(
        "finite-difference", "result", f"matches central differences of {source} (error {err:.1e})"
    )


def _value_at(s: sp.Symbol, point: Mapping[sp.Symbol, float], c: Concrete) -> float | None:
    """An input's value at `point`, including inputs fixed by an assumption (`given`)."""
    if s in point:
        return point[s]
    if s in c.given:
        rest = c.given[s]
        if rest.free_symbols <= set(point):
            return float(rest.xreplace(point))
    return None
