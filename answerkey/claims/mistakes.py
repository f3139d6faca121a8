"""Typical mistakes, derived from the right answer, so feedback can name them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..instantiate import Matrix as ConcreteMatrix
from ..instantiate import concrete, entry_symbol
from ..mathfns import D, diag, elementwise, hadamard_ones_minus, sigmoid, softmax
from ..model import Instance
from .judging import Judge, equal_arrays, sample_instances
from .shapes import is_mat

# ---------------------------------------------------------------------------
# Typical mistakes

#: the name of the answer with its sign flipped (a formula's, a number's)
SIGN_FLIPPED = "sign flipped"


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
    forms: Sequence[Any] = (),
) -> list[tuple[str, Any]]:
    """Wrong answers derived from the right one, each checked to differ from it.

    Sign flipped, each factor of each product dropped, each transpose missing, the
    whole answer transposed, and — when `lhs` is a derivative D(f, x) and the
    instance defines some y = softmax(z) between f and x — the softmax Jacobian
    taken as its diagonal y∘(1-y) (off-diagonal terms ignored). `names` (SymPy
    object -> display name) is used to name the dropped factors. First, the newer topics'
    mistakes, named by what they do (`topic_mistakes`), from the key and its other
    printed `forms` (a derivation's earlier lines, equal to it).
    """
    key = sp.sympify(key_expr)
    defs = {**(layers or {}), **(instance.defs if instance else {})}
    found: list[tuple[str, Any]] = []
    try:
        found += topic_mistakes(key, forms, defs, names)
    except (sp.ShapeError, ValueError, TypeError, AttributeError):
        pass
    found.append((SIGN_FLIPPED, -key))
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


# ---------------------------------------------------------------------------
# The course's newer topics: mistakes named by what they do, derived from the key's
# printed forms (symbolic) or from its definitions at the given numbers (numbers)

#: names of the topics' typical mistakes (the grader's feedback says them)
LAST_STEP_ONLY = "the last time step only: the sum over time reduced to its term at step {t}"
MEAN_TERM = "BN's mean term dropped: the gradient through the batch mean left out"
VARIANCE_TERM = "BN's variance term dropped: the gradient through the batch variance left out"
BOTH_TERMS = "BN's mean and variance terms dropped: the batch statistics treated as constants"
NOT_FLIPPED = "kernel not flipped: the input gradient correlates with {k}, not rot180({k})"
EVERY_POOLED = (
    "gradient sent to every pooled input (max pooling sends it to the window's maximum only)"
)
NO_BIAS_CORRECTION = "a missing bias correction: {m} not divided by {d}"

_NUMBERED = re.compile(r"^(.+?)_\{?(\d+)\}?$")


def _step_of(s: Any) -> tuple[str, int] | None:
    """(base, step) of a numbered scalar name: h_3 -> (h, 3)."""
    name = getattr(s, "name", None)
    m = _NUMBERED.match(name) if isinstance(name, str) else None
    return (m.group(1), int(m.group(2))) if m else None


def recurrences(defs: Mapping[Any, Any]) -> set[str]:
    """The bases of numbered names defined from their previous step (h_t from h_{t-1}):
    the states of a recurrent computation."""
    found = set()
    for var, d in defs.items():
        here = _step_of(var)
        if here is None:
            continue
        for s in sp.sympify(d).free_symbols:
            there = _step_of(s)
            if there is not None and there[0] == here[0] and there[1] == here[1] - 1:
                found.add(here[0])
    return found


def _latest_step(term: Any, bases: set[str]) -> int | None:
    steps = [
        st[1]
        for s in sp.sympify(term).free_symbols
        if (st := _step_of(s)) is not None and st[0] in bases
    ]
    for d in sp.preorder_traversal(term):  # dE/dh_3 names step 3 through its variable
        if isinstance(d, D) and (st := _step_of(d.x)) is not None and st[0] in bases:
            steps.append(st[1])
    return max(steps) if steps else None


def time_mistakes(forms: Sequence[Any], defs: Mapping[Any, Any]) -> list[tuple[str, Any]]:
    """A sum over time (an Add whose terms belong to successive steps of a recurrence)
    reduced to its last step's term: BPTT's "last time step only"."""
    bases = recurrences(defs)
    if not bases:
        return []
    found: list[tuple[str, Any]] = []
    for form in forms:
        for node in sp.preorder_traversal(form):
            if not isinstance(node, sp.Add) or len(node.args) < 2:
                continue
            steps = [_latest_step(a, bases) for a in node.args]
            if None in steps or len(set(steps)) != len(steps):
                continue
            last = node.args[steps.index(max(steps))]  # type: ignore[type-var,arg-type]
            found.append((LAST_STEP_ONLY.format(t=max(steps)), form.xreplace({node: last})))  # type: ignore[type-var]
    return found


def _averaged(d: Any) -> frozenset[Any] | None:
    """The matrices whose entries `d` averages over a batch, ((f(v_1, w_1) + … + f(v_m,
    w_m)) / m: each term one sample's, a share 1/m), else None."""
    d = sp.sympify(d) if d is not None else None
    if not isinstance(d, sp.Add) or len(d.args) < 2:
        return None
    share = sp.Rational(1, len(d.args))
    parents: set[Any] = set()
    rows = set()
    for a in d.args:
        coeff, rest = a.as_coeff_Mul()
        entries = rest.atoms(MatrixElement)
        if coeff != share or not entries or len({e.i for e in entries}) != 1:
            return None
        rows.add(next(iter(entries)).i)
        parents |= {e.parent for e in entries}
    return frozenset(parents) if len(rows) == len(d.args) else None


def batch_statistics(defs: Mapping[Any, Any]) -> tuple[Any, Any] | None:
    """(mean, variance) of a normalisation: a variable defined as the batch mean of a
    vector x and one as the batch mean of squared deviations from it; None otherwise."""
    for mu, d in defs.items():
        of = _averaged(d)
        if of is None or len(of) != 1:
            continue
        for var, e in defs.items():
            terms = sp.sympify(e).args
            if var is not mu and _averaged(e) == of and sp.sympify(e).has(mu):
                if all(sp.sympify(a).has(sp.Pow) for a in terms):
                    return mu, var
    return None


def conventional_names(defs: Mapping[Any, Any]) -> dict[str, Any]:
    """The names courses give a normalisation's pieces when the key names them otherwise:
    the batch mean μ_B, the batch variance σ_B^2 (also σ^2_B), and x̂ for the normalised
    values of x (a vector defined entry by entry as (x_i - μ) / something)."""
    stats = batch_statistics(defs)
    if stats is None:
        return {}
    mu, var = stats
    (x,) = _averaged(defs[mu]) or (None,)
    out: dict[str, Any] = {r"\mu_{B}": mu, r"\sigma_{B}^{2}": var}
    count = len(sp.sympify(defs[mu]).args)
    for v, d in defs.items():
        if not isinstance(d, sp.MatrixBase) or x is None or d.shape != (count, 1):
            continue
        if all(
            sp.simplify(d[i, 0] * 1).has(mu) and d[i, 0].has(x[i, 0]) for i in range(d.shape[0])
        ):
            if isinstance(v, sp.MatrixSymbol):
                out[f"\\hat{{{x.name}}}"] = v
    return out


def normalisation_mistakes(
    forms: Sequence[Any], defs: Mapping[Any, Any], names: Mapping[Any, str] | None
) -> list[tuple[str, Any]]:
    """The compact batch-norm backward pass, g - mean(g) 1 - mean(g∘z) z, with its mean's
    term (constant over the batch: a vector of ones) or its variance's term (along the
    normalised values) dropped, or both."""
    if batch_statistics(defs) is None:
        return []
    found: list[tuple[str, Any]] = []
    for form in forms:
        for node in sp.preorder_traversal(form):
            if not isinstance(node, sp.MatAdd) or len(node.args) < 3:
                continue
            flat = [a for a in node.args if a.has(sp.OneMatrix)]
            along = [
                a
                for a in node.args
                if not a.has(sp.OneMatrix)
                and any(_averaged(defs.get(s)) is not None for s in a.free_symbols)
            ]
            if len(flat) != 1 or len(along) != 1:
                continue
            try:
                rest = [a for a in node.args if a not in (*flat, *along)]
                for dropped, how in ((flat, MEAN_TERM), (along, VARIANCE_TERM)):
                    kept = [a for a in node.args if a not in dropped]
                    found.append(
                        (
                            how,
                            form.xreplace({node: sp.MatAdd(*kept)}),
                        )
                    )
                both = rest[0] if len(rest) == 1 else sp.MatAdd(*rest)
                found.append((BOTH_TERMS, form.xreplace({node: both})))
            except (sp.ShapeError, ValueError, TypeError):
                continue
    return found


def _flipped_of(d: Any) -> Any:
    """K when `d` is the square matrix K rotated by 180 degrees, entry by entry."""
    if not isinstance(d, sp.MatrixBase) or d.shape[0] != d.shape[1] or d.shape[0] < 2:
        return None
    parents = {e.parent for e in d.atoms(MatrixElement)}
    if len(parents) != 1:
        return None
    (k,) = parents
    f = d.shape[0]
    if tuple(k.shape) != (f, f):
        return None
    ok = all(d[u, v] == k[f - 1 - u, f - 1 - v] for u in range(f) for v in range(f))
    return k if ok else None


def flip_mistakes(
    key: Any, defs: Mapping[Any, Any], names: Mapping[Any, str] | None
) -> list[tuple[str, Any]]:
    """rot180(K) (written so, or a symbol defined as K rotated) where K belongs."""
    from .shapes import Rot180

    found: list[tuple[str, Any]] = []
    for node in sorted(key.atoms(Rot180), key=sp.default_sort_key):
        k = node.args[0]
        found.append((NOT_FLIPPED.format(k=show(k, names)), key.xreplace({node: k})))
    for var, d in defs.items():
        k = _flipped_of(d)
        if k is not None and key.has(var):
            found.append((NOT_FLIPPED.format(k=show(k, names)), key.xreplace({var: k})))
    return found


def bias_correction_mistakes(key: Any, names: Mapping[Any, str] | None) -> list[tuple[str, Any]]:
    """An estimate divided by 1 - β^t (Adam's bias correction) left undivided."""
    found: list[tuple[str, Any]] = []
    for node in sp.preorder_traversal(key):
        if not (isinstance(node, sp.Pow) and node.exp == -1):
            continue
        base = node.base
        if not isinstance(base, sp.Add) or sp.S.One not in base.args or len(base.args) != 2:
            continue
        (other,) = [a for a in base.args if a != sp.S.One]
        c, power = other.as_coeff_Mul()
        if c == -1 and isinstance(power, sp.Pow) and isinstance(power.base, sp.Symbol):
            divided = [
                m for m in sp.preorder_traversal(key) if isinstance(m, sp.Mul) and node in m.args
            ]
            shown = (
                show(sp.Mul(*[a for a in divided[0].args if a != node]), names) if divided else "it"
            )
            wrong = key.xreplace({node: sp.S.One})
            found.append((NO_BIAS_CORRECTION.format(m=shown, d=show(base, names)), wrong))
    return found


def routing_mistakes(key: Any) -> list[tuple[str, Any]]:
    """The indicators that route a max's gradient to its argmax (a product of steps
    H(a - b) H(a - c) … sharing a) taken as 1: every pooled input gets the gradient."""
    routes: set[Any] = set()
    for node in sp.preorder_traversal(key):
        if not isinstance(node, sp.Mul):
            continue
        steps = [
            a for a in node.args if isinstance(a, sp.Heaviside) and isinstance(a.args[0], sp.Add)
        ]
        if len(steps) < 2:
            continue
        shared = set.intersection(*(set(h.args[0].args) for h in steps))
        if any(not t.could_extract_minus_sign() for t in shared):
            routes |= set(steps)
    if not routes:
        return []
    return [(EVERY_POOLED, key.xreplace({h: sp.S.One for h in routes}))]


def _shape_of(m: Any, sizes: Mapping[Any, Any]) -> tuple[int, int] | None:
    try:
        rows, cols = (int(sp.sympify(d).xreplace(dict(sizes))) for d in m.shape)
    except (TypeError, ValueError):
        return None
    return rows, cols


def _fixed(instance: Instance, inputs: Mapping[Any, Any]) -> dict[sp.Symbol, float] | None:
    """The entry symbols of the given inputs with their values."""
    out: dict[sp.Symbol, float] = {}
    for var, value in inputs.items():
        arr = np.asarray(value, dtype=float)
        if isinstance(var, sp.MatrixSymbol):
            shape = _shape_of(var, instance.sizes)
            if shape is None or arr.size != shape[0] * shape[1]:
                return None
            arr = arr.reshape(shape)
            for i in range(shape[0]):
                for j in range(shape[1]):
                    out[entry_symbol(var.name, i, j, shape[1])] = float(arr[i, j])
        elif isinstance(var, sp.Symbol):
            out[var] = float(arr.reshape(-1)[0])
        else:
            return None
    return out


def _at_point(instance: Instance, expr: Any, point: Mapping[sp.Symbol, float]) -> np.ndarray:
    """`expr` (through the instance's definitions) at the given values."""
    c = concrete(instance, unlinked_zero=True)
    m = c.lazy(expr)
    by_name = {s.name: v for s, v in point.items()}  # the instance's own symbols, by name
    fixed = {s: np.array([by_name[s.name]]) for s in c.inputs(m) if s.name in by_name}
    if len(fixed) != len(c.inputs(m)):
        raise ValueError("an input without a given value")
    env = c.sample([m], 1, np.random.default_rng(0), (-1.0, 1.0), fixed=fixed, reached_only=True)
    return np.asarray(c.evaluate(m, env, 1)[0], dtype=float)


def _frozen(instance: Instance, expr: Any, point: Mapping[sp.Symbol, float]) -> Any:
    """The value of a scalar `expr` at the point, as a number (a constant in a definition)."""
    v = _at_point(instance, expr, point)
    if v.size != 1:
        raise ValueError("only scalars are frozen")
    return sp.Float(float(v.reshape(-1)[0]), 30)


def _given_entries(m: Any, inputs: Mapping[Any, Any]) -> dict[Any, Any] | None:
    """{m[i, j]: its given value} for a given matrix input m."""
    if m not in inputs:
        return None
    arr = np.asarray(inputs[m], dtype=float).reshape(int(m.shape[0]), int(m.shape[1]))
    return {
        m[i, j]: sp.Float(float(arr[i, j]), 30)
        for i in range(arr.shape[0])
        for j in range(arr.shape[1])
    }


def _correlation_of(d: Any) -> tuple[Any, Any] | None:
    """(X, K) when the explicit matrix `d` correlates X with the square kernel K (stride 1,
    no padding: entry (1, 1) holds K_uv X_uv, each once)."""
    if not isinstance(d, sp.MatrixBase):
        return None
    parents = {e.parent for e in d.atoms(MatrixElement)}
    kernels = [
        k
        for k in parents
        if k.shape[0] == k.shape[1] and sp.sympify(k.shape[0]).is_Integer and k.shape[0] > 1
    ]
    first = sp.expand(d[0, 0])
    for k in sorted(kernels, key=str):
        f = int(k.shape[0])
        for x in sorted(parents - {k}, key=str):
            if not all(sp.sympify(n).is_Integer and int(n) >= f for n in x.shape):
                continue
            if all(first.coeff(k[u, v]) == x[u, v] for u in range(f) for v in range(f)):
                return x, k
    return None


def numeric_mistakes(
    quantity: Any, instance: Instance, inputs: Mapping[Any, Any]
) -> list[tuple[str, Any]]:
    """The topics' typical mistakes for a number computed from `instance`'s definitions
    at the given `inputs` (a worked example's): a definition changed so that the forward
    values stay the key's at these numbers but the gradient goes where the mistake sends
    it, and `quantity` evaluated again:

    * max pooling's max(a_1, …) as a_1 + … (less its value here): every pooled input gets
      the gradient;
    * a convolution's kernel flipped for its input (its value here kept): the input
      gradient correlates with K, not rot180(K);
    * a normalisation's batch mean, variance, or both, held at their values: BN's mean or
      variance terms dropped;
    * a recurrence's state before the last step held at its value: the last time step only.
    """
    point = _fixed(instance, inputs)
    if point is None:
        return []
    defs = dict(instance.defs)
    changed: list[tuple[str, dict[Any, Any]]] = []
    for var, d in defs.items():
        d = sp.sympify(d)
        maxima = sorted(d.atoms(sp.Max), key=sp.default_sort_key)
        if maxima:
            subs = {
                m: sp.Add(*m.args) - _frozen(instance, sp.Add(*m.args) - m, point) for m in maxima
            }
            changed.append((EVERY_POOLED, {var: d.xreplace(subs)}))
        pair = _correlation_of(d)
        if pair is not None and isinstance(quantity, D) and quantity.x == pair[0]:
            x, k = pair
            f = int(k.shape[0])
            rot = {k[u, v]: k[f - 1 - u, f - 1 - v] for u in range(f) for v in range(f)}
            xs, ks = _given_entries(x, inputs), _given_entries(k, inputs)
            if xs is not None and ks is not None:
                flipped = d.xreplace(rot)
                frozen = d.xreplace(xs) + flipped.xreplace(ks) - flipped.xreplace({**xs, **ks})
                changed.append((NOT_FLIPPED.format(k=k.name), {var: frozen}))
    stats = batch_statistics(defs)
    if stats is not None:
        mu, var = stats
        held = {v: _frozen(instance, v, point) for v in (mu, var)}
        changed.append((MEAN_TERM, {mu: held[mu]}))
        changed.append((VARIANCE_TERM, {var: held[var]}))
        changed.append((BOTH_TERMS, held))
    states = recurrences(defs)
    by_state = isinstance(quantity, D) and (st := _step_of(quantity.x)) is not None
    skip = by_state and st is not None and st[0] in states
    for base in sorted(states) if not skip else ():
        steps = sorted(
            (st[1], v) for v in defs if (st := _step_of(v)) is not None and st[0] == base
        )
        last, state = steps[-1]
        before = [
            v for v in sp.sympify(defs[state]).free_symbols if _step_of(v) == (base, last - 1)
        ]
        if before:
            held = {before[0]: _frozen(instance, before[0], point)}
            changed.append(
                (LAST_STEP_ONLY.format(t=last), {state: sp.sympify(defs[state]).xreplace(held)})
            )
    out: list[tuple[str, Any]] = []
    for name, new in changed:
        try:
            wrong = replace(instance, defs={**defs, **new})
            out.append((name, _at_point(wrong, quantity, point)))
        except Exception:  # a mistake that cannot be computed here is not offered
            continue
    return out


def topic_mistakes(
    key: Any, forms: Sequence[Any], defs: Mapping[Any, Any], names: Mapping[Any, str] | None
) -> list[tuple[str, Any]]:
    """The newer topics' mistakes of a formula key (see each function): the last time step
    only, BN's mean/variance terms dropped, the kernel not flipped, a missing bias
    correction, the gradient sent to every pooled input."""
    every = [key, *(sp.sympify(f) for f in forms)]
    found = time_mistakes(every, defs) + normalisation_mistakes(every, defs, names)
    found += flip_mistakes(key, defs, names) + bias_correction_mistakes(key, names)
    return found + routing_mistakes(key)
