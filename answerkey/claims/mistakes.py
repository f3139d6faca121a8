"""Typical mistakes, derived from the right answer, so feedback can name them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..instantiate import Matrix as ConcreteMatrix
from ..mathfns import D, diag, hadamard_ones_minus, softmax
from ..model import Instance
from .judging import _instances, _Judge
from .shapes import _is_mat

# ---------------------------------------------------------------------------
# Typical mistakes


class _PlainPrinter(StrPrinter):
    """Plain text in the part's own names, for naming mistakes."""

    def __init__(self, names: Mapping[Any, str]) -> None:
        super().__init__()
        self.names = names

    def _print_Symbol(self, e: Any) -> str:
        return self.names.get(e, str(e.name))

    def _print_MatrixSymbol(self, e: Any) -> str:
        return self.names.get(e, str(e.name))

    def _print_Transpose(self, e: Any) -> str:
        inner = self._print(e.arg)
        return (
            f"({inner})^T"
            if not isinstance(e.arg, sp.MatrixSymbol) or "^" in inner
            else f"{inner}^T"
        )

    def _print_hadamard_ones_minus(self, e: Any) -> str:
        return f"(1 - {self._print(e.args[0])})"

    def _print_HadamardProduct(self, e: Any) -> str:
        return " ∘ ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in e.args)

    def _print_diag(self, e: Any) -> str:
        return f"diag({self._print(e.args[0])})"

    def _print_softmax(self, e: Any) -> str:
        return f"softmax({self._print(e.args[0])})"

    def _print_elementwise(self, e: Any) -> str:
        return f"{e.name}({self._print(e.args[1])})"

    def _print_D(self, e: Any) -> str:
        return f"∂{self._print(e.f)}/∂{self._print(e.x)}"

    def _print_Pow(self, e: Any, rational: bool = False) -> str:
        return str(super()._print_Pow(e, rational)).replace("**", "^")


def show(e: Any, names: Mapping[Any, str] | None = None) -> str:
    try:
        return str(_PlainPrinter(names or {}).doprint(e))
    except Exception:
        return sp.sstr(e)


def typical_mistakes(
    key_expr: Any,
    *,
    lhs: Any = None,
    instance: Instance | None = None,
    names: Mapping[Any, str] | None = None,
) -> list[tuple[str, Any]]:
    """Wrong answers derived from the right one, each checked to differ from it.

    Sign flipped, each factor of each product dropped, each transpose missing, the
    whole answer transposed, and — when `lhs` is a derivative D(f, x) and the
    instance defines some y = softmax(z) between f and x — the softmax Jacobian
    taken as its diagonal y∘(1-y) (off-diagonal terms ignored). `names` (SymPy
    object -> display name) is used to name the dropped factors.
    """
    key = sp.sympify(key_expr)
    found: list[tuple[str, Any]] = [("sign flipped", -key)]
    for t in sorted(key.atoms(sp.Transpose), key=sp.default_sort_key):
        found.append((f"missing transpose on {show(t.arg, names)}", key.xreplace({t: t.arg})))
    if (_is_mat(key) and key.shape[0] != 1) or (_is_mat(key) and key.shape[1] != 1):
        found.append(("transposed the whole answer", key.T))
    for node in sp.preorder_traversal(key):
        if isinstance(node, sp.Mul | sp.MatMul | sp.HadamardProduct) and len(node.args) > 1:
            for k, a in enumerate(node.args):
                if a in (-1, sp.S.NegativeOne):
                    continue
                rest = node.args[:k] + node.args[k + 1 :]
                try:
                    new = rest[0] if len(rest) == 1 else node.func(*rest).doit(deep=False)
                    wrong = key.xreplace({node: new})
                except (sp.ShapeError, ValueError, TypeError):
                    continue
                found.append((f"dropped the factor {show(a, names)}", wrong))
    if lhs is not None and instance is not None:
        found += _softmax_mistakes(lhs, instance)
    return _distinct(key, found, instance)


def _softmax_mistakes(lhs: Any, inst: Instance) -> list[tuple[str, Any]]:
    if not isinstance(lhs, D):
        return []
    out = []
    for y, definition in inst.defs.items():
        if not isinstance(definition, softmax):
            continue
        z = definition.args[0]
        if not isinstance(z, sp.MatrixSymbol):
            continue
        jac = diag(sp.HadamardProduct(y, hadamard_ones_minus(y)))
        x = lhs.x
        try:
            if x == z:
                wrong = D(lhs.f, y) * jac
            elif getattr(x, "shape", (1, 1))[1] == 1:
                wrong = D(lhs.f, y) * jac * D(z, x)
            else:
                continue
        except (ValueError, TypeError, sp.ShapeError):
            continue
        out.append(("softmax Jacobian's off-diagonal terms ignored", wrong))
    return out


def _distinct(
    key: Any, found: list[tuple[str, Any]], instance: Instance | None
) -> list[tuple[str, Any]]:
    """Drop mistakes equal to the key or to an earlier mistake (checked numerically)."""
    out: list[tuple[str, Any]] = []
    try:
        inst = _instances(instance, key, *(w for _, w in found))[0]
        jd = _Judge(inst, np.random.default_rng(1), 12)
        kv = jd.value(key)
    except Exception:
        seen = {key}
        for name, w in found:
            if w not in seen:
                seen.add(w)
                out.append((name, w))
        return out
    kept: list[ConcreteMatrix] = [kv]
    for name, w in found:
        try:
            wv = jd.value(w)
        except Exception:
            continue
        same = False
        for v in kept:
            if v.shape == wv.shape:
                n, cex, _ = jd.compare(wv, v)
                if n > 0 and cex is None:
                    same = True
                    break
        if not same:
            kept.append(wv)
            out.append((name, w))
    return out
