"""Turn a general formula into explicit matrices at a concrete size.

The shown steps of a derivation use MatrixSymbols of symbolic size and
unevaluated derivatives `D(f, x)`. To check them we fix the sizes, give every
matrix symbol one scalar symbol per entry, evaluate the matrix operations and
compute each `D` from the instance's definitions. Every value comes out as an
explicit `ImmutableMatrix` of scalar expressions in the free inputs.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import ImmutableMatrix as Matrix
from sympy.matrices.expressions import MatrixExpr

from .mathfns import D, diag, elementwise, hadamard_ones_minus, softmax, sqnorm
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

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
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


def _as_matrix(value: Any) -> Matrix:
    if isinstance(value, sp.MatrixBase):
        return Matrix(value)
    if isinstance(value, MatrixExpr):
        return Matrix(value.as_explicit())
    return Matrix([[value]])


def _explicit(expr: Any, c: Concrete) -> Any:
    """Evaluate `expr` bottom-up; matrix-valued nodes become explicit matrices."""
    if isinstance(expr, D):
        return c.expand(c.derivative(expr.f, expr.x))
    if isinstance(expr, sp.MatrixSymbol):
        return c.entries(expr)
    if isinstance(expr, sp.Symbol):
        return c.sizes[expr] if expr in c.sizes else sp.Symbol(expr.name, real=True)
    if isinstance(expr, sp.MatrixBase):
        return Matrix(expr.applyfunc(lambda e: _explicit(e, c)))
    if not expr.args:
        return expr.xreplace(c.sizes)
    args = [_explicit(a, c) for a in expr.args]
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
