"""Symbolic proofs that two matrices are equal entry by entry: `prove_equal`, `prove_lazy`.

The primitives the verifier (`answerkey.verify`), the prose relations
(`answerkey.relations`) and the claims judge (`answerkey.claims.judging`) share.
They need only the instantiated values (`answerkey.instantiate`) and the maths
functions, so each of those modules can import them without importing another.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from .instantiate import Concrete, Matrix, free_symbols
from .mathfns import sigmoid

SIMPLIFY_MAX_OPS = 400


def _canonical(e: Any, atoms: dict[Any, sp.Symbol], memo: dict[Any, Any] | None = None) -> Any:
    """Read transcendental applications as atoms; exp of a sum as a product of atoms."""
    memo = {} if memo is None else memo
    if e in memo:
        return memo[e]
    if isinstance(e, sigmoid):
        out: Any = _canonical(1 / (1 + sp.exp(-e.args[0])), atoms, memo)
    elif isinstance(e, sp.exp):
        arg = sp.expand(_canonical(e.args[0], atoms, memo))
        out = sp.Integer(1)
        for term in sp.Add.make_args(arg):
            coeff, mono = term.as_coeff_Mul()
            if mono not in atoms:
                atoms[mono] = sp.Dummy(positive=True)
            out *= atoms[mono] ** coeff
    elif isinstance(e, sp.log):
        # log of a product or quotient of positive factors splits (SymPy checks the
        # signs; nothing is forced), so log(σ(u)) and -log(1 + exp(-u)) meet.
        split = sp.expand_log(sp.log(_canonical(e.args[0], atoms, memo)))
        for term in sorted(split.atoms(sp.log), key=sp.default_sort_key):
            if term not in atoms:
                atoms[term] = sp.Dummy()
        out = split.xreplace({t: atoms[t] for t in split.atoms(sp.log)})
    elif isinstance(e, sp.Function | sp.Derivative | sp.Subs | sp.Piecewise):
        key = e.func(*[_canonical(a, atoms, memo) for a in e.args]) if e.args else e
        if key not in atoms:
            atoms[key] = sp.Dummy()
        out = atoms[key]
    elif not e.args or isinstance(e, sp.Symbol):
        out = e
    else:
        out = e.func(*[_canonical(a, atoms, memo) for a in e.args])
    memo[e] = out
    return out


def _rational_identity(
    x: Any, y: Any, atoms: dict[Any, sp.Symbol], memo: dict[Any, Any] | None = None
) -> bool:
    memo = {} if memo is None else memo
    diff = _canonical(x, atoms, memo) - _canonical(y, atoms, memo)
    zero = rational_zero(diff)
    if zero is None:  # not a rational function of the atoms (a root, a float, ...)
        zero = bool(sp.cancel(sp.together(diff)) == 0)
    return zero


class _NotRational(Exception):
    pass


def rational_zero(expr: Any) -> bool | None:
    """Is `expr`, a rational function of its symbols, identically zero? None when it
    is not one (a fractional power, a float, a function left over).

    Arithmetic in a polynomial ring: each subexpression becomes a numerator and a
    denominator kept as powers of the bases met (a common denominator takes the
    highest power of each). Bases are not made coprime: a common multiple is as
    good as the least one, since N/D vanishes exactly when N does (D is a product
    of nonzero polynomials). No gcd is ever computed, which is what makes it fast.
    """
    gens = sorted(expr.free_symbols, key=sp.default_sort_key)
    if not gens:
        return bool(expr == 0) if expr.is_Rational else None
    ring, *generators = sp.polys.rings.ring(gens, sp.QQ)
    gen = dict(zip(gens, generators, strict=True))
    bases: dict[Any, Any] = {}
    memo: dict[Any, tuple[Any, dict[Any, int]]] = {}

    def convert(e: Any) -> tuple[Any, dict[Any, int]]:
        if e in memo:
            return memo[e]
        out: tuple[Any, dict[Any, int]]
        if e.is_Symbol:
            out = (gen[e], {})
        elif e.is_Rational:
            out = (ring(e), {})
        elif e.is_Add:
            terms = [convert(a) for a in e.args]
            den: dict[Any, int] = {}
            for _, d in terms:
                for k, v in d.items():
                    den[k] = max(den.get(k, 0), v)
            num = ring.zero
            for n, d in terms:
                for k, v in den.items():
                    if v > d.get(k, 0):
                        n = n * bases[k] ** (v - d.get(k, 0))
                num += n
            out = (num, den)
        elif e.is_Mul:
            num, den = ring.one, {}
            for a in e.args:
                n, d = convert(a)
                num = num * n
                for k, v in d.items():
                    den[k] = den.get(k, 0) + v
            out = (num, den)
        elif e.is_Pow and e.exp.is_Integer:
            n, d = convert(e.base)
            k = int(e.exp)
            if k >= 0:
                out = (n**k, {b: v * k for b, v in d.items()})
            else:
                if not n:
                    raise _NotRational  # division by zero
                num = ring.one
                for b, v in d.items():
                    num = num * bases[b] ** (v * -k)
                key = frozenset(n.items())
                bases.setdefault(key, n)
                out = (num, {key: -k})
        else:
            raise _NotRational
        memo[e] = out
        return out

    try:
        numerator, _ = convert(expr)
    except _NotRational:
        return None
    return not numerator


def _simplifies_to_zero(x: Any, y: Any) -> bool:
    plain = x - y
    return bool(sp.count_ops(plain) <= SIMPLIFY_MAX_OPS and sp.simplify(plain.rewrite(sp.exp)) == 0)


def prove_equal(a: Matrix, b: Matrix) -> str | None:
    """How `a == b` was proven entrywise, or None when SymPy cannot show it."""
    atoms: dict[Any, sp.Symbol] = {}
    memo: dict[Any, Any] = {}
    how = "rational identity"
    for x, y in zip(a, b, strict=True):
        if x == y or _rational_identity(x, y, atoms, memo):
            continue
        if _simplifies_to_zero(x, y):
            how = "simplify"
            continue
        return None
    return how


def prove_lazy(c: Concrete, a: Matrix, b: Matrix) -> str | None:
    """`prove_equal` for lazy values (`Concrete.lazy`), entry by entry, expanding
    the definitions only as far as needed.

    An identity in the defined variables' symbols stays one when their definitions
    are substituted, so a proof at any cut is a proof. Cuts are tried from the
    output down (a layer's definitions substituted at a time, then those of the
    variables only one side is written in), and only where both sides are
    written in the same variables, until the full expansion.
    """
    atoms: dict[Any, sp.Symbol] = {}
    memo: dict[Any, Any] = {}
    how = "rational identity"
    hint: list[int] = []  # where the entry before was proven: its neighbours usually are too
    for x, y in zip(a, b, strict=True):
        tried: set[tuple[Any, Any]] = set()
        for rank in dict.fromkeys(hint + c.ranks()):
            ex, ey = c.align(c.expand_from(x, rank), c.expand_from(y, rank))
            if ex == ey:
                break
            if (ex, ey) in tried or (rank and free_symbols(ex) != free_symbols(ey)):
                continue
            tried.add((ex, ey))
            if _rational_identity(ex, ey, atoms, memo):
                hint = [rank]
                break
        else:
            if not _simplifies_to_zero(c.expand_from(x, 0), c.expand_from(y, 0)):
                return None
            how = "simplify"
    return how
