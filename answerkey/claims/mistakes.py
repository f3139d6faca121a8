"""Typical mistakes, derived from the right answer, so feedback can name them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..instantiate import Matrix as ConcreteMatrix
from ..mathfns import D, diag, elementwise, hadamard_ones_minus, sigmoid, softmax
from ..model import Instance
from .judging import Judge, equal_arrays, sample_instances
from .shapes import is_mat

# ---------------------------------------------------------------------------
# Typical mistakes


class _PlainPrinter(StrPrinter):
    """Plain text in the part's own names, for naming mistakes."""

    printmethod = "_answerkey_plain"  # not `_sympystr`: Indexed would print as o[k]

    def __init__(self, names: Mapping[Any, str]) -> None:
        super().__init__()
        self.names = names

    def _print_Symbol(self, e: Any) -> str:
        return self.names.get(e, str(e.name))

    def _print_MatrixSymbol(self, e: Any) -> str:
        return self.names.get(e, str(e.name))

    def _print_Indexed(self, e: Any) -> str:
        base = self.names.get(e.base, str(e.base.label))
        return base + "_" + ",".join(self._print(i) for i in e.indices)

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
    """`e` in plain text in the course's notation: σ, f_3', ·, the part's own names."""
    try:
        text = str(_PlainPrinter(names or {}).doprint(e))
    except Exception:
        text = sp.sstr(e)
    text = re.sub(r"\b([A-Za-z]+?)prime_(\w+)\(", r"\1_\2'(", text)
    text = re.sub(r"\b([A-Za-z]+?)prime\(", r"\1'(", text)
    return re.sub(r"\bsigmoid\(", "σ(", text).replace("*", "·")


def typical_mistakes(
    key_expr: Any,
    *,
    lhs: Any = None,
    instance: Instance | None = None,
    names: Mapping[Any, str] | None = None,
    layers: Mapping[Any, Any] | None = None,
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
    for more in (
        lambda: _sigmoid_mistakes(key, instance, names),
        lambda: _penalty_mistakes(key, names),
        lambda: _layer_mistakes(key, layers or (instance.defs if instance else {}), names),
    ):
        try:
            found += more()
        except (sp.ShapeError, ValueError, TypeError, AttributeError):  # one kind lost, not all
            continue
    for t in sorted(key.atoms(sp.Transpose), key=sp.default_sort_key):
        found.append((f"missing transpose on {show(t.arg, names)}", key.xreplace({t: t.arg})))
    if (is_mat(key) and key.shape[0] != 1) or (is_mat(key) and key.shape[1] != 1):
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
                except (sp.ShapeError, ValueError, TypeError, AttributeError):
                    continue
                found.append((f"dropped the factor {show(a, names)}", wrong))
    if lhs is not None and instance is not None:
        found += _softmax_mistakes(lhs, instance)
    return _distinct(key, found, instance)


def _ones_minus(a: Any, sigmoid_outputs: set[Any]) -> Any:
    """v when `a` is 1 - v (v a sigmoid or a sigmoid's output), else None."""
    if isinstance(a, hadamard_ones_minus):
        return a.args[0]
    if isinstance(a, sp.Add) and len(a.args) == 2 and sp.S.One in a.args:
        (other,) = [x for x in a.args if x != sp.S.One]
        c, v = other.as_coeff_Mul()
        if c == -1 and (isinstance(v, sigmoid) or v in sigmoid_outputs):
            return v
    return None


def _ones_plus(v: Any) -> Any:
    return sp.MatAdd(sp.OneMatrix(*v.shape), v) if is_mat(v) else 1 + v


def _sigmoid_outputs(instance: Instance | None) -> set[Any]:
    if instance is None:
        return set()
    return {
        y
        for y, d in instance.defs.items()
        if isinstance(d, sigmoid) or (isinstance(d, elementwise) and d.name == "sigmoid")
    }


def _sigmoid_mistakes(
    key: Any, instance: Instance | None, names: Mapping[Any, str] | None
) -> list[tuple[str, Any]]:
    """σ' = σ(1-σ) written σ(1+σ), and the sigmoid's derivative left out altogether
    (the factors v and 1 - v of a product, or diag(v ∘ (1 - v)))."""
    outs = _sigmoid_outputs(instance)
    found: list[tuple[str, Any]] = []
    for node in sp.preorder_traversal(key):
        v = _ones_minus(node, outs)
        if v is not None:
            name = show(v, names)
            try:
                wrong = key.xreplace({node: _ones_plus(v)})
            except (sp.ShapeError, ValueError, TypeError, AttributeError):
                continue
            found.append((f"σ' written as σ(1+σ): 1 + {name} where 1 - {name} belongs", wrong))
        if isinstance(node, sp.Mul | sp.HadamardProduct | sp.MatMul):
            args = list(node.args)
            for a in args:
                inner = a.args[0] if isinstance(a, diag) else None
                pair = [a] if inner is not None else []
                if inner is not None and isinstance(inner, sp.HadamardProduct):
                    vs = [_ones_minus(x, outs) for x in inner.args]
                    if not any(x is not None and x in inner.args for x in vs):
                        continue
                    v = next(x for x in vs if x is not None)
                elif inner is None:
                    v = _ones_minus(a, outs)
                    if v is None or v not in args:
                        continue
                    pair = [a, v]
                else:
                    continue
                rest = [x for x in args if x not in pair]
                try:
                    if not rest:
                        new: Any = sp.S.One
                    else:
                        new = rest[0] if len(rest) == 1 else node.func(*rest).doit(deep=False)
                    wrong = key.xreplace({node: new})
                except (sp.ShapeError, ValueError, TypeError, AttributeError):
                    continue
                name = show(v, names)
                found.append((f"dropped the sigmoid's derivative {name} ∘ (1 - {name})", wrong))
    return found


def _penalty_mistakes(key: Any, names: Mapping[Any, str] | None) -> list[tuple[str, Any]]:
    """The gradient of (λ/2)‖W‖² taken as 2λW or λW/2."""
    lam = {s for s in key.free_symbols if isinstance(s, sp.Symbol) and s.name == "lambda"}
    if not lam:
        return []
    found: list[tuple[str, Any]] = []
    for node in sp.preorder_traversal(key):
        if isinstance(node, sp.Add | sp.MatAdd):
            for term in node.args:
                if term.free_symbols & lam:
                    shown = show(term, names)
                    for factor, how in ((2, "2"), (sp.Rational(1, 2), "1/2")):
                        try:
                            wrong = key.xreplace({term: factor * term})
                        except (sp.ShapeError, ValueError, TypeError, AttributeError):
                            continue
                        found.append((f"factor {how} on the penalty's gradient {shown}", wrong))
    return found


_NOT_LAYERS = ("W", "w", "theta", "lambda", "eta", "delta", "Delta")


def _layer_mistakes(
    key: Any, defs: Mapping[Any, Any], names: Mapping[Any, str] | None
) -> list[tuple[str, Any]]:
    """One layer off: a layer's output where the one before or after belongs (z_2 for
    z_1, z_1 for x_in), or its input before the activation (z for y); `defs` are the
    exercise's definitions."""
    pairs: list[tuple[Any, Any, str]] = []
    for a, d in defs.items():
        if not _is_activation(d):
            continue
        for s in _variables(d):
            if s not in defs:
                continue
            pairs.append((a, s, "before the activation"))
            for b in _variables(defs[s]):
                if (b in defs and b == a) or str(getattr(b, "name", b)).startswith(_NOT_LAYERS):
                    continue
                pairs.append((a, b, "one layer back"))
                pairs.append((b, a, "one layer on"))
    found: list[tuple[str, Any]] = []
    seen: set[tuple[Any, Any]] = set()
    for a, b, how in pairs:
        if (a, b) in seen or not key.has(a) or (getattr(a, "shape", None) is None and is_mat(b)):
            continue
        seen.add((a, b))
        try:
            wrong = key.xreplace({a: b})
            if is_mat(wrong):
                wrong.shape  # noqa: B018 - a substitution whose shapes clash is no mistake
        except (sp.ShapeError, ValueError, TypeError, AttributeError):
            continue
        found.append((f"{show(b, names)} where {show(a, names)} belongs ({how})", wrong))
    return found


def _is_activation(d: Any) -> bool:
    """`d` applies an activation to one variable: f_1(s_1), σ(z), softmax(z)."""
    if isinstance(d, elementwise):
        return isinstance(d.args[1], sp.MatrixSymbol | sp.Symbol)
    if isinstance(d, softmax | sp.Function) and len(d.args) == 1:
        return isinstance(d.args[0], sp.MatrixSymbol | sp.Symbol)
    return False


def _variables(e: Any) -> list[Any]:
    e = sp.sympify(e)
    out = set(e.atoms(sp.MatrixSymbol)) | {
        s for s in e.free_symbols if isinstance(s, sp.Symbol) and not s.is_integer
    }
    return sorted(out, key=str)


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
        inst = sample_instances(instance, key, *(w for _, w in found))[0]
        jd = Judge(inst, np.random.default_rng(1), 12)
        kv = jd.value(key)
    except Exception:
        seen = {key}
        for name, w in found:
            if w not in seen:
                seen.add(w)
                out.append((name, w))
        return out
    candidates: list[tuple[str, Any, ConcreteMatrix]] = []
    for name, w in found:
        try:
            candidates.append((name, w, jd.value(w)))
        except Exception:
            continue
    # every pair at the same points: one evaluation of each, not one per pair
    values = [kv, *(wv for _, _, wv in candidates)]
    arrays = jd.arrays(values)
    kept = [0]
    for k in range(1, len(values)):
        if arrays is None:
            same = any(jd.equal(values[k], values[i]) for i in kept)
        else:
            same = any(equal_arrays(arrays[k], arrays[i]) for i in kept)
        if not same:
            kept.append(k)
            out.append(candidates[k - 1][:2])
    return out
