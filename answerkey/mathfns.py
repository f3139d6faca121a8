"""SymPy objects the exercises are written in.

`D(f, x)` is a derivative that keeps its place in a matrix product (SymPy's own
`Derivative` is a commutative scalar, so `D(E, z) * D(z, y)` would be reordered).
Its shape follows the layout the course uses: numerator layout for vectors
(dE/dz is a row), the shape of the matrix for a scalar over a matrix.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .quantity import Number


class sigmoid(sp.Function):
    """The logistic function 1 / (1 + exp(-u))."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, u: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-u))

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)


class relu(sp.Function):
    """max(0, u) with relu'(0) = 0, the course's convention."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Piecewise(self, u: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.Piecewise((u, u > 0), (0, True))


_v = sp.Dummy("u")
#: relu' as a function of its own, for prose that names it (prints as relu'); numerically
#: the step with relu'(0) = 0, like `relu`'s derivative
reluprime = type(
    "reluprime", (sp.Function,), {"nargs": 1, "_imp_": sp.Lambda(_v, sp.Heaviside(_v, 0))}
)


def _shape(x: Any) -> tuple[int, int] | None:
    return tuple(x.shape) if getattr(x, "is_Matrix", False) else None  # type: ignore[return-value]


def derivative_shape(f: Any, x: Any) -> tuple[Any, Any]:
    """Shape of df/dx in the course's layout."""
    fs, xs = _shape(f), _shape(x)
    if fs == (1, 1):
        fs = None
    if fs is None and xs is None:
        return (1, 1)
    if fs is None:
        assert xs is not None
        rows, cols = xs
        return (1, rows) if cols == 1 else (rows, cols)
    if xs is None:
        return fs
    if fs[1] == 1 and xs[1] == 1:
        return (fs[0], xs[0])
    raise ValueError(f"no layout for the derivative of a {fs} matrix by a {xs} matrix")


class D(MatrixExpr):  # type: ignore[misc]
    """The derivative of f by x, kept unevaluated for display and instantiated for checks."""

    def __new__(cls, f: Any, x: Any) -> D:
        return MatrixExpr.__new__(cls, sp.sympify(f), sp.sympify(x))

    @property
    def f(self) -> Any:
        return self.args[0]

    @property
    def x(self) -> Any:
        return self.args[1]

    @property
    def shape(self) -> tuple[Any, Any]:
        return derivative_shape(self.f, self.x)

    def doit(self, **hints: Any) -> Any:
        return self

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        raise TypeError("instantiate a D with answerkey.verify.instantiate before taking entries")


class diag(MatrixExpr):  # type: ignore[misc]
    """diag(v): the square matrix with the column vector v on its diagonal."""

    def __new__(cls, v: Any) -> diag:
        return MatrixExpr.__new__(cls, v)

    @property
    def shape(self) -> tuple[Any, Any]:
        return (self.args[0].shape[0], self.args[0].shape[0])

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return sp.KroneckerDelta(i, j) * self.args[0][i, 0]


class hadamard_ones_minus(MatrixExpr):  # type: ignore[misc]
    """1 - v for a column vector v, written as such (SymPy has no ones-vector literal)."""

    def __new__(cls, v: Any) -> hadamard_ones_minus:
        return MatrixExpr.__new__(cls, v)

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return 1 - self.args[0][i, j]


ELEMENTWISE = {"sigmoid": sigmoid, "relu": relu, "tanh": sp.tanh, "log": sp.log, "exp": sp.exp}


class elementwise(MatrixExpr):  # type: ignore[misc]
    """f applied to every entry of a matrix: sigmoid(z), log(y), ..."""

    def __new__(cls, name: Any, v: Any) -> elementwise:
        name = str(name)
        if name not in ELEMENTWISE:
            raise ValueError(f"unknown elementwise function {name!r}")
        return MatrixExpr.__new__(cls, sp.Symbol(name), v)

    @property
    def name(self) -> str:
        return str(self.args[0])

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[1].shape

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return ELEMENTWISE[self.name](self.args[1][i, j])


class softmax(MatrixExpr):  # type: ignore[misc]
    """softmax(z)_k = exp(z_k) / sum_j exp(z_j), column by column (one column per sample)."""

    def __new__(cls, v: Any) -> softmax:
        return MatrixExpr.__new__(cls, v)

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        v = self.args[0]
        n = v.shape[0]
        return sp.exp(v[i, j]) / sum(sp.exp(v[k, j]) for k in range(n))


class sqnorm(MatrixExpr):  # type: ignore[misc]
    """||M||^2, the sum of the squared entries (Frobenius norm), as a 1x1 matrix."""

    def __new__(cls, m: Any) -> sqnorm:
        return MatrixExpr.__new__(cls, m)

    @property
    def shape(self) -> tuple[Any, Any]:
        return (1, 1)

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        m = self.args[0]
        return sum(m[r, c] ** 2 for r in range(m.shape[0]) for c in range(m.shape[1]))


def ones_like(v: Any) -> Any:
    """The all-ones matrix of v's shape, for writing 1 - v."""
    return sp.OneMatrix(*v.shape)


class T(sp.Transpose):  # type: ignore[misc]
    """A transpose that stays as written: (y - t)^T, not y^T - t^T."""

    def doit(self, **hints: Any) -> Any:
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        return T(arg)


def mm(*factors: Any) -> Any:
    """A matrix product kept in the order and grouping written (no `doit`)."""
    return sp.MatMul(*factors)


def to_plain_sympy(expr: Any) -> Any:
    """The same expression in SymPy's own classes only, so `sympify(str(...))` can read it."""
    from sympy.matrices.expressions.diagonal import DiagMatrix

    def plain(e: Any) -> Any:
        if not getattr(e, "args", ()):
            return e
        args = [plain(a) for a in e.args]
        if isinstance(e, sigmoid):
            return 1 / (1 + sp.exp(-args[0]))
        if isinstance(e, relu):
            return sp.Max(0, args[0])
        if isinstance(e, T):
            return sp.Transpose(args[0])
        if isinstance(e, diag):
            return DiagMatrix(args[0])
        if isinstance(e, hadamard_ones_minus):
            return sp.MatAdd(sp.OneMatrix(*args[0].shape), -args[0])
        if isinstance(e, elementwise | softmax | sqnorm | D):
            raise ValueError(f"{type(e).__name__} has no plain SymPy form")
        return e.func(*args)

    return plain(expr)


def named(expr: Any) -> str:
    """A quantity as a message names it: ``∂E/∂W1`` for ``D(E, W1)``, else SymPy's text."""
    if isinstance(expr, D):
        return f"∂{named(expr.f)}/∂{named(expr.x)}"
    return sp.sstr(expr)


def eq(lhs: Any, rhs: Any) -> Any:
    """An equation for display, never evaluated to True/False. With a printed number on a
    side (a given one or one the engine computed) it is the pair ``(lhs, rhs)``, which
    keeps the number's origin for the audit (SymPy would turn it into a bare Float)."""
    if isinstance(lhs, Number) or isinstance(rhs, Number):
        return (lhs, rhs)
    return sp.Eq(lhs, rhs, evaluate=False)
