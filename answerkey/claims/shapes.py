"""Meaning: a claim's syntax tree -> the engine's SymPy objects, with shape rules.

Dimensions are checked as the tree is built; a reading whose dimensions do not
fit is not the end: other groupings of the same symbols are tried.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions import MatrixExpr

from ..mathfns import D, diag, elementwise, hadamard_ones_minus, relu, sigmoid, softmax
from . import budget
from .reading import (
    FUNCTIONS,
    Bin,
    Call,
    Cases,
    ClaimError,
    ClaimShapeError,
    Const,
    Der,
    Grad,
    Idx,
    Indicator,
    Kron,
    Mat,
    Name,
    Neg,
    Node,
    Num,
    Ones,
    Parsed,
    Parser,
    Pow,
    Rel,
    SumOver,
    SymbolTable,
    Tr,
    Written,
    canonical_name,
    literal_decimals,
    parse_numbers,
    tokenize,
)

# ---------------------------------------------------------------------------
# Meaning: syntax tree -> the engine's SymPy objects, with shape rules.


def is_mat(x: Any) -> bool:
    return isinstance(x, MatrixExpr | sp.MatrixBase)


def shape_str(x: Any) -> str:
    return "×".join(str(d) for d in x.shape) if is_mat(x) else "scalar"


class _OnesVector:
    """`c·1`, a vector of ones whose length the first matrix it meets decides."""

    def __init__(self, coef: Any = sp.S.One) -> None:
        self.coef = coef

    def like(self, m: Any) -> Any:
        return self.coef * sp.OneMatrix(*m.shape)

    def __neg__(self) -> _OnesVector:
        return _OnesVector(-self.coef)


class Entrywise(MatrixExpr):  # type: ignore[misc]
    """A one-argument function applied to every entry of a matrix, held as a SymPy Lambda:
    relu' (the step), tanh', a part's own function (lrelu) and its derivative, of a vector."""

    def __new__(cls, fn: sp.Lambda, v: Any) -> Entrywise:
        return MatrixExpr.__new__(cls, fn, v)  # type: ignore[no-any-return]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[1].shape  # type: ignore[no-any-return]

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return self.args[0](self.args[1][i, j])

    def doit(self, **hints: Any) -> Any:
        v = self.args[1].doit(**hints) if hints.get("deep", True) else self.args[1]
        if isinstance(v, sp.MatrixBase):
            return v.applyfunc(self.args[0])
        return Entrywise(self.args[0], v)

    def _sympystr(self, printer: Any) -> str:
        u = sp.Symbol("u")
        inner = printer._print(self.args[1])
        return f"({printer._print(self.args[0](u))} of u = each entry of {inner})"


def _int_shape(m: Any, what: str) -> tuple[int, int]:
    rows, cols = (sp.sympify(d) for d in m.shape)
    if not (rows.is_Integer and cols.is_Integer):
        raise ValueError(f"{what} needs matrices of known size")
    return int(rows), int(cols)


def _grids(*ms: Any) -> bool:
    """Matrices of known size with two rows and two columns at least (`*` between two such
    that do not multiply is a convolution)."""
    for m in ms:
        rows, cols = (sp.sympify(d) for d in m.shape)
        if not (rows.is_Integer and cols.is_Integer and rows > 1 and cols > 1):
            return False
    return True


class Rot180(MatrixExpr):  # type: ignore[misc]
    """A matrix rotated by 180 degrees (rows and columns reversed): a flipped kernel."""

    def __new__(cls, m: Any) -> Rot180:
        _int_shape(m, "rot180")
        return MatrixExpr.__new__(cls, m)  # type: ignore[no-any-return]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape  # type: ignore[no-any-return]

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        rows, cols = _int_shape(self.args[0], "rot180")
        return self.args[0][rows - 1 - i, cols - 1 - j]

    def doit(self, **hints: Any) -> Any:
        m = self.args[0].doit(**hints) if hints.get("deep", True) else self.args[0]
        if isinstance(m, sp.MatrixBase):
            return sp.ImmutableMatrix(m.shape[0], m.shape[1], lambda i, j: m[-1 - i, -1 - j])
        return Rot180(m)


class Correlate(MatrixExpr):  # type: ignore[misc]
    """The 2-D cross-correlation of `a` with the kernel `b`, as frameworks compute a
    convolution (the kernel not flipped): valid (`b` slides inside `a`) when `b` fits in
    `a`, else full (`a` padded by the kernel's size less one zeros on every side)."""

    def __new__(cls, a: Any, b: Any) -> Correlate:
        (ra, ca), (rb, cb) = _int_shape(a, "a convolution"), _int_shape(b, "a convolution")
        if not ((rb <= ra and cb <= ca) or (ra <= rb and ca <= cb)):
            raise sp.ShapeError(f"cannot convolve a {ra}×{ca} and a {rb}×{cb} matrix")
        return MatrixExpr.__new__(cls, a, b)  # type: ignore[no-any-return]

    @property
    def full(self) -> bool:
        (ra, ca), (rb, cb) = (_int_shape(m, "a convolution") for m in self.args)
        return not (rb <= ra and cb <= ca)

    @property
    def shape(self) -> tuple[Any, Any]:
        (ra, ca), (rb, cb) = (_int_shape(m, "a convolution") for m in self.args)
        if self.full:
            return (ra + rb - 1, ca + cb - 1)
        return (ra - rb + 1, ca - cb + 1)

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        a, b = self.args
        (ra, ca), (rb, cb) = _int_shape(a, ""), _int_shape(b, "")
        shift = (rb - 1, cb - 1) if self.full else (0, 0)
        terms = []
        for u in range(rb):
            for v in range(cb):
                r, c = i + u - shift[0], j + v - shift[1]
                if 0 <= r < ra and 0 <= c < ca:
                    terms.append(a[r, c] * b[u, v])
        return sp.Add(*terms)

    def doit(self, **hints: Any) -> Any:
        a, b = (m.doit(**hints) if hints.get("deep", True) else m for m in self.args)
        if isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase):
            out = Correlate(a, b)
            return sp.ImmutableMatrix(*out.shape, lambda i, j: out._entry(i, j))
        return Correlate(a, b)


#: the bound variable of the reader's entry-by-entry functions (one, so equal readings
#: are equal expressions)
_ENTRY = sp.Dummy("u")


def entrywise(f: Any, v: Any) -> Any:
    """`f` (a function of one scalar) of every entry of the matrix `v`."""
    return Entrywise(sp.Lambda(_ENTRY, f(_ENTRY)), v)


def _index_symbol(letter: str, names: Mapping[str, Any]) -> Any:
    """An index as the part writes it (its own `j` when it has one), else a positive integer."""
    if letter.isdigit():
        return sp.Integer(letter)
    obj = names.get(letter)
    if isinstance(obj, sp.Symbol) and obj.is_integer:
        return obj
    return sp.Symbol(letter, integer=True, positive=True)


class _Builder:
    def __init__(self, notes: list[str], names: Mapping[str, Any] | None = None) -> None:
        self.notes = notes
        self.names = names or {}

    def _Ones(self, n: Ones) -> Any:
        return _OnesVector()

    def _Indicator(self, n: Indicator) -> Any:
        """1 where the condition holds, else 0; a vector compared with a scalar, entry by entry."""
        c = n.condition
        a, b = self.value(c.a), self.value(c.b)
        relation = {"=": sp.Eq, "≠": sp.Ne, "<": sp.Lt, ">": sp.Gt, "≤": sp.Le, "≥": sp.Ge}[c.op]
        if is_mat(a) and not is_mat(b):
            u = _ENTRY
            return Entrywise(sp.Lambda(u, sp.Piecewise((1, relation(u, b)), (0, True))), a)
        if is_mat(a) or is_mat(b):
            raise self.err(n, "an indicator compares a vector with a scalar, or two scalars")
        return sp.Piecewise((1, relation(a, b)), (0, True))

    def _Idx(self, n: Idx) -> Any:
        obj = n.base.obj
        base = obj if isinstance(obj, sp.IndexedBase) else sp.IndexedBase(str(obj.name))
        return base[_index_symbol(n.index, self.names)]

    def _Kron(self, n: Kron) -> Any:
        return sp.KroneckerDelta(_index_symbol(n.a, self.names), _index_symbol(n.b, self.names))

    def _Rel(self, n: Rel) -> Any:
        a, b = self.value(n.a), self.value(n.b)
        if is_mat(a) or is_mat(b):
            raise self.err(n, "a condition compares scalars")
        relation = {"=": sp.Eq, "≠": sp.Ne, "<": sp.Lt, ">": sp.Gt, "≤": sp.Le, "≥": sp.Ge}
        return relation[n.op](a, b)

    def _Cases(self, n: Cases) -> Any:
        pieces = []
        for value, condition in n.pieces:
            v = self.value(value)
            if is_mat(v):
                raise self.err(n, "the values of cases must be scalars")
            pieces.append((v, True if condition is None else self.build(condition)))
        return sp.Piecewise(*pieces)

    def _SumOver(self, n: SumOver) -> Any:
        var = _index_symbol(n.var, self.names)
        body = self.value(n.body)
        if is_mat(body):  # a sum of matrices over samples: not read (never "incorrect")
            raise ClaimError(f"col {n.pos + 1}: only sums of scalars over an index are read")
        lo = sp.Integer(1) if n.lo is None else self.value(n.lo)
        hi = None if n.hi is None else self.value(n.hi)
        if hi is None:
            sizes = {
                d
                for i in body.atoms(sp.Indexed)
                if var in i.indices
                for d in self._vector_sizes(str(i.base.label))
            }
            if len(sizes) != 1:
                raise self.err(
                    n, f"say where the sum over {n.var} ends (\\sum_{{{n.var}=1}}^{{K}})"
                )
            (hi,) = sizes
        if n.skip is not None:
            body = body * (1 - sp.KroneckerDelta(var, _index_symbol(n.skip, self.names)))
        return sp.Sum(body, (var, lo, hi))

    def _Written(self, n: Written) -> Any:
        """A sum or product written out term by term: the terms added (multiplied) in order."""
        if not n.terms:  # an empty sum is 0, an empty product 1
            return sp.Integer(1 if n.sign == "Π" else 0)
        total = self.build(n.terms[0])
        for term in n.terms[1:]:
            value = self.build(term)
            if n.sign == "Σ":
                total = self.add(n, total, value)
            else:
                total = self.mul(Bin(n.pos, "*", n.terms[0], term), total, value)
        return total

    def _vector_sizes(self, name: str) -> set[Any]:
        obj = self.names.get(name)
        if isinstance(obj, sp.MatrixSymbol):
            return {d for d in obj.shape if d != 1}
        return set()

    def err(self, node: Node, msg: str) -> ClaimShapeError:
        return ClaimShapeError(f"col {node.pos + 1}: {msg}")

    def build(self, n: Node) -> Any:
        method = getattr(self, "_" + type(n).__name__)
        return method(n)

    def _Num(self, n: Num) -> Any:
        return sp.Rational(n.text) if "." in n.text else sp.Integer(n.text)

    def _Name(self, n: Name) -> Any:
        return n.obj

    def _Const(self, n: Const) -> Any:
        return sp.E if n.name == "e" else sp.pi

    def _Neg(self, n: Neg) -> Any:
        a = self.build(n.a)
        return _OnesVector(-a.coef) if isinstance(a, _OnesVector) else -a

    def _Tr(self, n: Tr) -> Any:
        a = self.build(n.a)
        return a.T if is_mat(a) else a

    def _Pow(self, n: Pow) -> Any:
        a, b = self.value(n.a), self.value(n.b)
        if is_mat(b):
            if a == sp.E:
                self.notes.append(f"e^(…) of a matrix at col {n.pos + 1} is read entrywise")
                return elementwise("exp", b)
            raise self.err(n, "an exponent must be a scalar")
        if is_mat(a):
            if isinstance(n.a, Call) and n.a.fn == "norm" and b == 2:
                from ..mathfns import sqnorm

                return sqnorm(self.build(n.a.args[0]))
            if a.shape[0] != a.shape[1]:
                raise self.err(n, f"cannot raise a {shape_str(a)} matrix to a power")
            budget.check_exponent(b, f"col {n.pos + 1}")
            return sp.Inverse(a) if b == -1 else sp.MatPow(a, b)
        if a.is_number and b.is_number:
            size = abs(float(b)) * max(1.0, math.log10(max(abs(complex(a)), 1e-300)))
            if size > 10_000 or abs(float(b)) > 10_000:
                raise ClaimError(f"col {n.pos + 1}: the number is too large to work with")
        elif b.is_number:  # a symbolic base: bounded before SymPy expands or evaluates it
            budget.check_exponent(b, f"col {n.pos + 1}")
        return a**b

    def _Bin(self, n: Bin) -> Any:
        a, b = self.build(n.a), self.build(n.b)
        if isinstance(a, _OnesVector) or isinstance(b, _OnesVector):
            return self.ones(n, a, b)
        if n.op in "+-":
            return self.add(n, a, b if n.op == "+" else -b)
        if n.op == "/":
            if is_mat(b):
                raise self.err(n, f"cannot divide by a {shape_str(b)} matrix")
            return a / b if not is_mat(a) else (1 / b) * a
        return self.mul(n, a, b)

    def ones(self, n: Bin, a: Any, b: Any) -> Any:
        """An operation with a vector of ones: its length is the other side's."""
        if n.op in "+-":
            b = -b if n.op == "-" else b
            if isinstance(a, _OnesVector) and isinstance(b, _OnesVector):
                return _OnesVector(a.coef + b.coef)
            ones, other = (a, b) if isinstance(a, _OnesVector) else (b, a)
            return self.add(n, ones.like(other) if is_mat(other) else ones.coef, other)
        if isinstance(a, _OnesVector) and isinstance(b, _OnesVector):
            return _OnesVector(a.coef * b.coef)
        if n.op == "/":
            if isinstance(b, _OnesVector) or is_mat(b):
                raise self.err(n, "cannot divide by a vector")
            return _OnesVector(a.coef / b)
        if isinstance(b, _OnesVector):
            if not is_mat(a):
                return _OnesVector(a * b.coef)
            if n.op == "∘":
                return b.coef * a
            return b.coef * sp.MatMul(a, sp.OneMatrix(a.shape[1], 1))
        if not is_mat(b):
            return _OnesVector(a.coef * b)
        if n.op == "∘" or b.shape[0] == 1:
            return a.coef * b
        return a.coef * sp.MatMul(sp.OneMatrix(1, b.shape[0]), b)

    def value(self, n: Node) -> Any:
        v = self.build(n)
        return v.coef if isinstance(v, _OnesVector) else v

    def add(self, n: Node, a: Any, b: Any) -> Any:
        ma, mb = is_mat(a), is_mat(b)
        if not ma and not mb:
            return a + b
        if ma and mb:
            if a.shape != b.shape:
                raise self.err(n, f"cannot add a {shape_str(a)} and a {shape_str(b)} matrix")
            return sp.MatAdd(a, b)
        m, s = (a, b) if ma else (b, a)
        if s == 0:
            return m
        if tuple(m.shape) != (1, 1):
            self.notes.append(
                f"the scalar added to a {shape_str(m)} matrix at col {n.pos + 1} is read "
                f"entrywise (1 as a vector of ones)"
            )
        return sp.MatAdd(m, s * sp.OneMatrix(*m.shape))

    def correlate(self, n: Node, a: Any, b: Any) -> Any:
        try:
            return Correlate(a, b)
        except (ValueError, sp.ShapeError) as exc:
            raise self.err(n, str(exc)) from None

    def mul(self, n: Bin, a: Any, b: Any) -> Any:
        ma, mb = is_mat(a), is_mat(b)
        if n.op == "⋆" or (n.op == "∗" and ma and mb and _grids(a, b) and not self._multiply(a, b)):
            if not (ma and mb):
                raise self.err(n, "⋆ (a convolution) needs two matrices")
            self.notes.append(_CORRELATION_NOTE.format(col=n.pos + 1))
            return self.correlate(n, a, b)
        if n.op == "⊗":  # the outer product of two column vectors: a b^T
            if not (ma and mb and a.shape[1] == 1 and b.shape[1] == 1):
                raise self.err(n, "⊗ (an outer product) needs two column vectors")
            return sp.MatMul(a, b.T)
        if n.op == "∘":
            if ma and mb:
                if a.shape != b.shape:
                    raise self.err(
                        n,
                        f"cannot multiply a {shape_str(a)} and a {shape_str(b)} matrix entrywise",
                    )
                return sp.HadamardProduct(a, b)
            return a * b
        if not ma or not mb:
            return a * b
        if a.shape[1] == b.shape[0]:
            return sp.MatMul(a, b)
        if a.shape == b.shape:
            self.notes.append(
                f"the product of two {shape_str(a)} matrices at col {n.pos + 1} is read "
                f"entrywise (∘)"
            )
            return sp.HadamardProduct(a, b)
        raise self.err(
            n, f"cannot multiply a {shape_str(a)} by a {shape_str(b)} matrix (dimensions differ)"
        )

    @staticmethod
    def _multiply(a: Any, b: Any) -> bool:
        """Two matrices `*` joins as a product (or entrywise, equal in shape)."""
        return bool(a.shape[1] == b.shape[0] or a.shape == b.shape)

    def _Mat(self, n: Mat) -> Any:
        cells = [[self.value(c) for c in row] for row in n.rows]
        if any(is_mat(c) for row in cells for c in row):
            raise self.err(n, "matrix entries must be scalars")
        return sp.ImmutableMatrix(cells)

    def _Der(self, n: Der) -> Any:
        f = self.value(n.f)
        x = self.build(n.x)
        if not isinstance(x, sp.Symbol | sp.MatrixSymbol | sp.Indexed):
            raise self.err(n, f"cannot differentiate by {n.x.render()}")
        try:
            d = D(f, x)
            d.shape  # noqa: B018 - raises when there is no layout
        except (ValueError, TypeError) as exc:
            raise self.err(n, str(exc)) from None
        return d

    def _Grad(self, n: Grad) -> Any:
        """∂f/∂x in the shape of x: a column vector's gradient is a column (D is a row)."""
        d = self._Der(Der(n.pos, n.f, n.x))
        x = self.build(n.x)
        if is_mat(x) and tuple(d.shape) != tuple(x.shape) and tuple(d.shape) == x.shape[::-1]:
            return d.T
        return d

    def _Call(self, n: Call) -> Any:
        args = [self.value(a) for a in n.args]
        if n.obj is not None and len(args) == 1 and is_mat(args[0]) and n.prime <= 1:
            # a part's function of a vector (lrelu(z), lrelu'(z)): entry by entry
            d = sp.Dummy("u")
            f = sp.diff(n.obj(d), d) if n.prime else n.obj(d)
            if isinstance(f, sp.Derivative):  # an arbitrary f: no derivative to take entrywise
                raise self.err(n, f"{n.fn}' of a matrix is not supported")
            return entrywise(sp.Lambda(d, f), args[0])
        if n.obj is not None:  # an arbitrary function of the part, like f_3
            if any(is_mat(a) for a in args):
                raise self.err(n, f"{n.fn} takes scalars")
            if n.prime:
                if len(args) != 1:
                    raise self.err(n, f"{n.fn}' needs exactly one argument")
                if n.prime > 1:
                    raise self.err(n, "only first derivatives of named functions are supported")
                d = sp.Dummy("u")
                derivative = sp.diff(n.obj(d), d)
                if isinstance(derivative, sp.Derivative):  # an arbitrary f: keep f' unevaluated
                    return sp.Subs(derivative, d, args[0])
                return derivative.subs(d, args[0])
            return n.obj(*args)
        if n.fn == "corr":
            if len(args) != 2 or not all(is_mat(a) for a in args):
                raise self.err(n, "a convolution takes two matrices: conv(X, K)")
            self.notes.append(_CORRELATION_NOTE.format(col=n.pos + 1))
            return self.correlate(n, *args)
        if len(args) != 1:
            raise self.err(n, f"{n.fn} takes one argument")
        u = args[0]
        fn = n.fn
        if fn in ("rot180", "mean", "var") and not is_mat(u):  # of a scalar: no meaning to read
            shown = {"rot180": "rot180", "mean": "a mean (E)", "var": "a variance (Var)"}[fn]
            raise ClaimError(
                f"col {n.pos + 1}: {shown} of {n.args[0].render()} cannot be read: it is a "
                "scalar, and the part has no symbol for that statistic"
            )
        if fn == "rot180":
            try:
                return Rot180(u)
            except ValueError as exc:
                raise self.err(n, str(exc)) from None
        if fn in ("mean", "var"):
            return batch_statistic(fn, u)
        if fn == "norm":
            from ..mathfns import sqnorm

            if not is_mat(u):
                return sp.Abs(u)
            return sp.sqrt(sqnorm(u))
        if n.prime > 1:
            raise self.err(n, "only first derivatives of named functions are supported")
        if is_mat(u):
            if fn == "diag":
                if u.shape[1] != 1:
                    raise self.err(n, f"diag needs a column vector, not a {shape_str(u)} matrix")
                return diag(u)
            if fn == "softmax":
                if u.shape[1] != 1:
                    raise self.err(n, "softmax needs a column vector")
                return softmax(u)
            if fn in ("sigmoid", "log", "exp", "relu", "tanh") and not n.prime:
                return elementwise(fn, u)
            if fn == "sigmoid" and n.prime:
                s = elementwise("sigmoid", u)
                return sp.HadamardProduct(s, hadamard_ones_minus(s))
            if fn in _SCALAR_FUNCTIONS and n.prime:  # relu'(z), tanh'(z): entry by entry
                d = sp.Dummy("u")
                return entrywise(sp.Lambda(d, sp.diff(_SCALAR_FUNCTIONS[fn](d), d)), u)
            if fn in _SCALAR_FUNCTIONS:
                return entrywise(_SCALAR_FUNCTIONS[fn], u)
            raise self.err(n, f"{fn}{chr(39) * n.prime} of a matrix is not supported")
        if fn in ("diag", "softmax"):
            raise self.err(n, f"{fn} needs a vector")
        f = _SCALAR_FUNCTIONS[fn]
        if n.prime:
            d = sp.Dummy("u")
            return sp.diff(f(d), d).subs(d, u)
        return f(u)


_CORRELATION_NOTE = (
    "the convolution at col {col} is read as frameworks compute it: a cross-correlation, "
    "the kernel not flipped (full where the kernel is the larger)"
)


def batch_statistic(fn: str, v: Any) -> Any:
    """The mean (`mean`) or variance (`var`, over the count, as a batch's) of a vector's
    entries, a scalar."""
    rows, cols = v.shape
    if cols != 1 and rows == 1:
        v = v.T
        rows, cols = cols, rows
    if cols != 1:
        raise ValueError(f"{fn} is read for a vector, not a {shape_str(v)} matrix")
    mean = sp.MatMul(sp.OneMatrix(1, rows), v)[0, 0] / rows
    if fn == "mean":
        return mean
    centred = sp.MatAdd(v, -mean * sp.OneMatrix(rows, 1))
    return sp.MatMul(centred.T, centred)[0, 0] / rows


#: the reader's functions of one scalar, by engine name
_SCALAR_FUNCTIONS: dict[str, Any] = {
    "sigmoid": sigmoid,
    "exp": sp.exp,
    "log": sp.log,
    "relu": relu,
    "sqrt": sp.sqrt,
    "tanh": sp.tanh,
}


# ---------------------------------------------------------------------------
# Public: parsing


def _read(text: str, table: SymbolTable, notes: list[str]) -> tuple[list[Node], tuple[Any, ...]]:
    """The claim's members and their values. When the dimensions do not fit as written
    (left to right, every product alike), the grouping where side-by-side factors bind
    tighter than `·` and `∘` is tried: `y ∘ (1-y) ∘ W^T(y2-t)` means `y ∘ (1-y) ∘ (W^T(y2-t))`."""
    members = Parser(tokenize(text), text, table, notes).claim()
    try:
        return members, tuple(_Builder(notes, table.names).value(m) for m in members)
    except ClaimShapeError as exc:
        exc.reading = " = ".join(m.render() for m in members)
        first = exc
    parser = Parser(tokenize(text), text, table, [])
    parser.tight = True
    tight = parser.claim()
    if [m.render() for m in tight] != [m.render() for m in members]:
        alt_notes: list[str] = []
        try:
            values = tuple(_Builder(alt_notes, table.names).value(m) for m in tight)
        except ClaimShapeError:
            raise first from None
        notes += alt_notes
        notes.append(
            "read with side-by-side factors grouped first (as written, left to right, "
            "the dimensions do not fit)"
        )
        return tight, values
    raise first


def parse_claim(latex: str, symbols: Mapping[str, Any]) -> Parsed:
    """Read a claimed answer written in LaTeX; `symbols` maps LaTeX names to SymPy objects.

    Raises `ClaimError` (one line: where, and what was expected) when it cannot be
    read, `ClaimShapeError` when it reads but its dimensions do not fit together.
    """
    if not isinstance(latex, str):
        raise ClaimError("the claim must be text")
    text = latex.strip().strip("$").strip()
    text = re.sub(r"^\\\[|\\\]$", "", text).strip()
    budget.check_text(text)
    try:
        numbers = parse_numbers(text)
        labelled = re.fullmatch(r"\s*\\?[A-Za-z][\w{}\\^()]*\s*[=:]\s*(.+)", text, re.S)
        if numbers is None and labelled:  # `s = [0.458, 0.869]`: numbers with their name
            numbers = parse_numbers(labelled.group(1))
        if numbers is not None:
            return numbers
        table = SymbolTable.build(symbols)
        notes: list[str] = []
        members, values = _read(text, table, notes)
        for v in values:
            budget.check_terms(v)
    except ClaimError:
        raise
    except (
        RecursionError,
        ValueError,
        TypeError,
        AttributeError,
        KeyError,
        IndexError,
        ArithmeticError,
        sp.SympifyError,
    ) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClaimError(f"cannot read the claim: {first}") from None
    reading = " = ".join(m.render() for m in members)
    decimals = literal_decimals(members[-1])
    return Parsed(latex, values, reading, tuple(dict.fromkeys(notes)), decimals)


def default_symbols(*exprs: Any, notation: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A symbols table for the names in `exprs`, written as the key prints them.

    `notation` is the assignment's name -> LaTeX map (`Assignment.notation`); other
    names are written as `sympy.latex` writes them (`W_out` -> `W_{out}`). Arbitrary
    functions (undefined ones, or classes with a stand-in `_imp_` like `f_3`) are
    included; names that are not a single symbol's LaTeX are left out.
    """
    notation = notation or {}
    table: dict[str, Any] = {}
    for e in exprs:
        if e is None:
            continue
        try:
            e = sp.sympify(e)
        except (sp.SympifyError, TypeError):
            continue
        if not isinstance(e, sp.Basic):
            continue
        objs: set[Any] = _scalar_symbols(e) | set(e.atoms(sp.MatrixSymbol))
        objs |= {e} if isinstance(e, sp.Symbol | sp.MatrixSymbol) else set()
        # a vector's components p_j: the base is the vector p (its label is no scalar)
        objs |= set(e.atoms(sp.IndexedBase))
        objs -= {b.label for b in e.atoms(sp.IndexedBase)}
        for f in e.atoms(sp.Function):
            if isinstance(f, AppliedUndef) or (
                hasattr(type(f), "_imp_") and "prime" not in type(f).__name__
            ):
                objs.add(type(f))
        for node in sp.preorder_traversal(e):  # a function of every entry (lrelu(z) of a layer)
            fn = getattr(node, "function", None) if isinstance(node, MatrixExpr) else None
            if isinstance(fn, sp.FunctionClass) and hasattr(fn, "_imp_"):
                objs.add(fn)
                objs -= {a for a in node.args if isinstance(a, sp.Symbol) and a.name == fn.__name__}
        for obj in sorted(objs, key=str):
            if isinstance(obj, sp.Dummy) or str(obj) in FUNCTIONS:  # elementwise("log", …)
                continue
            name = str(getattr(obj, "name", None) or getattr(obj, "__name__", obj))
            latex = notation.get(name) or sp.latex(sp.Symbol(name))
            try:
                canonical_name(latex)
            except ClaimError:
                continue
            if isinstance(table.get(latex), sp.IndexedBase) or latex not in table:
                table[latex] = obj  # a vector p over the base of its components p_j
    return table


def _scalar_symbols(e: Any) -> set[Any]:
    """The symbols `e` uses as values: a matrix's sizes only when they also appear as
    numbers (`\\frac{1}{m}` over m samples), an Indexed component's index too."""
    out: set[Any] = set()
    todo = [e]
    while todo:
        x = todo.pop()
        if isinstance(x, sp.Symbol):
            out.add(x)
        elif isinstance(x, sp.MatrixSymbol | sp.IndexedBase):
            continue
        elif isinstance(x, sp.OneMatrix | sp.ZeroMatrix | sp.Identity):
            continue
        elif isinstance(x, sp.Basic):
            todo.extend(x.args)
    return out
