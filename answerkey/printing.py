"""Every decision about how maths and numbers are written, in one place, by type.

SymPy objects go through `KeyLatexPrinter` (SymPy's LaTeX printer taught the
course's notation); floats and NumPy arrays are written with a fixed number of
decimals (`DECIMALS` unless a part, `model.Part.decimals`, or a value asks for
another); prose (`model.Text`) becomes escaped LaTeX or Markdown with inline maths.
Both output formats write maths as LaTeX, so only the prose escaping differs.

Sums keep the author's term order where the author wrote one: a sum built
unevaluated (``Add(W, -eta*M, evaluate=False)``, ``MatAdd(W, -eta*M)`` without
``doit``) prints in that order; a sum SymPy has put in its own order prints with
its positive terms first (``W - eta M``, ``y - t``), never ``-eta M + W``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from .errors import AuthoringError
from .mathfns import hadamard_ones_minus
from .model import Assignment, Text
from .quantity import DECIMALS, Number, fixed
from .relations import Declared, Identity, models


class KeyLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the course's notation and the engine's math objects."""

    def __init__(self, notation: Mapping[str, str] | None = None, decimals: int = DECIMALS) -> None:
        # pmatrix brings its own parentheses: a delimiter too would print a second pair
        super().__init__({"mat_delim": "", "mat_str": "pmatrix"})
        self.notation = dict(notation or {})
        self.decimals = decimals

    def _print_Symbol(self, expr: Any, style: str = "plain") -> str:
        if expr.name in self.notation:
            return self.notation[expr.name]
        if expr.name.endswith("'") and expr.name[:-1] in self.notation:  # E' as the course's L'
            return "{" + self.notation[expr.name[:-1]] + "}'"
        return super()._print_Symbol(expr, style=style)

    def _print_MatrixSymbol(self, expr: Any) -> str:
        name = str(expr.name)
        if name in self.notation:
            return self.notation[name]
        if name.endswith("'") and name[:-1] in self.notation:
            return "{" + self.notation[name[:-1]] + "}'"
        return super()._print_MatrixSymbol(expr)

    def _print_MatrixElement(self, expr: Any) -> str:
        # An entry 1-based, as the course writes it: p[1, 0] is p_2, W[0, 1] is W_{1,2}.
        if not (expr.i.is_Integer and expr.j.is_Integer):
            return str(super()._print_MatrixElement(expr))  # a symbolic index, as written
        parent = self.parenthesize(expr.parent, PRECEDENCE["Atom"], strict=True)
        rows, cols = expr.parent.shape
        i, j = int(expr.i) + 1, int(expr.j) + 1
        index = str(i) if cols == 1 else str(j) if rows == 1 else f"{i},{j}"
        return f"{{{parent}}}_{{{index}}}"

    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Any]:
        # A sum written unevaluated in an order of the author's: as written.
        if isinstance(expr, sp.Add) and expr.args != sp.Add(*expr.args).args:
            return list(expr.args)
        # SymPy's order: positive terms first, y_out - y_gt, not -y_gt + y_out.
        terms = super()._as_ordered_terms(expr, order)
        return sorted(terms, key=lambda t: bool(t.could_extract_minus_sign()))

    def _print_Mul(self, expr: Any) -> str:
        # A product built with evaluate=False (a chain rule written factor by factor)
        # prints as written, factors separated by a centred dot; an evaluated one
        # in SymPy's canonical order.
        if not isinstance(expr, sp.Mul) or expr.args == sp.Mul(*expr.args).args:
            return str(super()._print_Mul(expr))
        factors = list(expr.args)
        sign = ""
        if factors and factors[0].could_extract_minus_sign():
            sign, factors[0] = "-", -factors[0]
        out = []
        for f in factors:
            if f == 1:
                continue
            if f.is_Pow and f.exp == -1:
                out.append(rf"\frac{{1}}{{{self._print(f.base)}}}")
            else:
                out.append(self.parenthesize(f, PRECEDENCE["Mul"], strict=True))
        return sign + r" \cdot ".join(out)

    def _print_MatMul(self, expr: Any) -> str:
        # A rational coefficient without parentheses: 1/2 (z - t)^T (z - t).
        head, *rest = expr.args
        if isinstance(head, sp.Rational) and head not in (1, -1) and rest:
            sign = "-" if head < 0 else ""
            if len(rest) == 1:
                tail = self.parenthesize(rest[0], PRECEDENCE["Mul"])
            else:
                tail = str(super()._print_MatMul(sp.MatMul(*rest)))
            return f"{sign}{self._print(abs(head))} {tail}"
        return str(super()._print_MatMul(expr))

    def _print_D(self, expr: Any) -> str:
        f, x = expr.f, expr.x
        den = rf"\partial {self._print(x)}"
        if isinstance(f, sp.Symbol | sp.MatrixSymbol):
            return rf"\frac{{\partial {self._print(f)}}}{{{den}}}"
        return rf"\frac{{\partial}}{{{den}}}\left({self._print(f)}\right)"

    def _print_sigmoid(self, expr: Any, exp: Any = None) -> str:
        head = r"\sigma" if exp is None else rf"\sigma^{{{exp}}}"
        return rf"{head}\left({self._print(expr.args[0])}\right)"

    def _print_relu(self, expr: Any, exp: Any = None) -> str:
        head = r"\operatorname{relu}" if exp is None else rf"\operatorname{{relu}}^{{{exp}}}"
        return rf"{head}\left({self._print(expr.args[0])}\right)"

    def _inside(self, arg: Any) -> str:
        """`arg` printed inside brackets of its own (a function's, a transpose's): 1 - y
        without a second pair."""
        if isinstance(arg, hadamard_ones_minus):
            return rf"\mathbf{{1}} - {self._print(arg.args[0])}"
        return str(self._print(arg))

    def _print_diag(self, expr: Any) -> str:
        return rf"\operatorname{{diag}}\left({self._inside(expr.args[0])}\right)"

    def _print_hadamard_ones_minus(self, expr: Any) -> str:
        return rf"\left({self._inside(expr)}\right)"

    def _print_elementwise(self, expr: Any) -> str:
        head = {
            "sigmoid": r"\sigma",
            "relu": r"\operatorname{relu}",
            "tanh": r"\tanh",
            "log": r"\log",
            "exp": r"\exp",
        }
        return rf"{head[expr.name]}\left({self._inside(expr.args[1])}\right)"

    def _print_softmax(self, expr: Any) -> str:
        return rf"\operatorname{{softmax}}\left({self._print(expr.args[0])}\right)"

    def _print_sqnorm(self, expr: Any) -> str:
        return rf"\left\lVert {self._print(expr.args[0])} \right\rVert^{{2}}"

    def _print_Transpose(self, expr: Any) -> str:
        arg = expr.arg
        inner = self._print(arg)
        if isinstance(arg, sp.MatrixSymbol | sp.Symbol):
            # y^{(1)} -> y^{(1)T}, the seeds' notation; t -> t^{T}.
            if inner.endswith("}") and "^{" in inner and inner.count("^{") == 1:
                return inner[:-1] + "T}"
            return inner + "^{T}"
        return rf"\left({self._inside(arg)}\right)^{{T}}"

    def _print_Inverse(self, expr: Any) -> str:
        inner = self._print(expr.arg)
        if isinstance(expr.arg, sp.MatrixSymbol | sp.Symbol):
            return inner + "^{-1}"
        return (
            rf"{inner}^{{-1}}"
            if inner.startswith(r"\operatorname")
            else rf"\left({inner}\right)^{{-1}}"
        )

    def _print_HadamardProduct(self, expr: Any) -> str:
        return r" \odot ".join(self.parenthesize(a, 60) for a in expr.args)

    def _print_OneMatrix(self, expr: Any) -> str:
        return r"\mathbf{1}"

    def _print_MatAdd(self, expr: Any) -> str:
        # In SymPy's own (sorted) order: positive terms first, (y - t), not (-t + y);
        # in any other order the author chose it (MatAdd(...) without doit): as written.
        terms = list(expr.args)
        if terms == sorted(terms, key=sp.default_sort_key):
            terms.sort(key=_is_negative)
        out = ""
        for i, term in enumerate(terms):
            s = self._print(term)
            if s.startswith("-"):
                out += (" - " if i else "-") + s[1:].lstrip()
            else:
                out += (" + " if i else "") + s
        return out

    def _print_Float(self, expr: Any) -> str:
        return number(float(expr), self.decimals)


def _is_negative(term: Any) -> bool:
    """A term of a matrix sum printed with a leading minus: -t, -eta M, (-1/m) Y."""
    coeff = term.args[0] if isinstance(term, sp.MatMul) and term.args else None
    if coeff is None or getattr(coeff, "is_Matrix", False):
        return False
    return bool(sp.sympify(coeff).could_extract_minus_sign())


def number(x: float, decimals: int = DECIMALS) -> str:
    """A float with `decimals` decimals; tiny non-zero values in scientific notation."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"cannot print {x} in a key")
    if x != 0 and abs(x) < 0.5 * 10**-decimals:
        mantissa, exponent = f"{x:.{decimals - 1}e}".split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return fixed(x, decimals)


def array(a: Any, decimals: int = DECIMALS) -> str:
    """A vector as a row (bracketed), a matrix as a bmatrix."""
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 0:
        return number(float(arr), decimals)
    if arr.ndim == 1:
        return r"\begin{bmatrix}" + " & ".join(number(v, decimals) for v in arr) + r"\end{bmatrix}"
    rows = [" & ".join(number(v, decimals) for v in row) for row in arr]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def number_latex(n: Number, decimals: int | None = None) -> str:
    """A given or computed number: one entry as a number, a row as a row, a column
    (n x 1) as a transposed row (compact, and true to z = W x), a matrix as a bmatrix.
    Its own `decimals` (a given number written as the statement writes it) come first."""
    places = n.decimals if n.decimals is not None else DECIMALS if decimals is None else decimals
    arr = np.asarray(n.value, dtype=float)
    if arr.size == 1:
        return number(float(arr.reshape(-1)[0]), places)
    if arr.ndim == 2 and arr.shape[1] == 1:
        return array(arr.reshape(-1), places) + "^{T}"
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr.reshape(-1)
    return array(arr, places)


def latex(obj: Any, notation: Mapping[str, str] | None = None, decimals: int | None = None) -> str:
    """LaTeX maths (no delimiters) for a SymPy object, a number, an array or an equation pair.

    Floats get `decimals` decimals (`DECIMALS` when None): a part chooses its own
    with `model.Part.decimals`."""
    places = DECIMALS if decimals is None else decimals
    if isinstance(obj, bool):
        raise TypeError("a bool is not maths")
    if isinstance(obj, Number):
        return number_latex(obj, decimals)
    if isinstance(obj, Declared | Identity):
        return latex(obj.relation, notation, decimals)
    if isinstance(obj, int | np.integer):
        return str(int(obj))
    if isinstance(obj, float | np.floating):
        return number(float(obj), places)
    if isinstance(obj, np.ndarray | list):
        return array(obj, places)
    if isinstance(obj, tuple) and len(obj) == 2:
        return f"{latex(obj[0], notation, decimals)} = {latex(obj[1], notation, decimals)}"
    if isinstance(obj, str):
        raise TypeError("strings are prose, not maths: wrap maths in SymPy objects")
    # The key's .tex, .md and the PDF's Markdown print the same objects: print
    # each once. By identity, not equality: Mul(2, x, evaluate=False) == 2*x, but
    # they print differently.
    key = (id(obj), id(notation), places)
    seen = _PRINTED.get(key)
    if seen is not None and seen[0] is obj and seen[1] is notation:
        return seen[2]
    out = str(KeyLatexPrinter(notation, places).doprint(obj))
    if len(_PRINTED) >= _PRINTED_MAX:
        _PRINTED.clear()
    _PRINTED[key] = (obj, notation, out)
    return out


_PRINTED: dict[tuple[int, int, int], tuple[Any, Any, str]] = {}
_PRINTED_MAX = 50_000


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "%": r"\%",
}
# Unicode that pdflatex's utf8 input cannot typeset in text: written as maths instead.
_UNICODE_MATH = {
    "σ": r"\sigma",
    "λ": r"\lambda",
    "θ": r"\theta",
    "δ": r"\delta",
    "Δ": r"\Delta",
    "η": r"\eta",
    "α": r"\alpha",
    "β": r"\beta",
    "Σ": r"\Sigma",
    "∂": r"\partial",
    "⊙": r"\odot",
    "·": r"\cdot",
    "×": r"\times",
    "−": "-",
    "≤": r"\le",
    "≥": r"\ge",
    "≠": r"\ne",
    "→": r"\to",
    "∈": r"\in",
    "½": r"\tfrac{1}{2}",
    "²": "^{2}",
    "⋮": r"\vdots",
    "∘": r"\circ",
    "∇": r"\nabla",
    **{chr(0x3B1 + k): "\\" + g for k, g in enumerate(
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron "
        "pi rho varsigma sigma tau upsilon phi chi psi omega".split()
    ) if g not in ("omicron", "varsigma")},
}  # fmt: skip
_LATEX_SPECIALS.update({k: rf"\ensuremath{{{v}}}" for k, v in _UNICODE_MATH.items()})
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIALS))
_MD_UNICODE_RE = re.compile("|".join(re.escape(k) for k in _UNICODE_MATH))
_MD_RE = re.compile(r"([\\`*_{}\[\]#|<>$~^&@])")
#: hyphens and dots that smart typography would join (`--`, `...`; `..` beside a `.`)
_MD_RUNS = re.compile(r"-{2,}|\.{2,}")
_MD_BULLET = re.compile(r"^(\s*)([-+=])")
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])")


def escape_latex(s: str, letters_as_maths: bool = True) -> str:
    """Text that reaches LaTeX literally: every special character neutralised.
    Greek letters become maths (δ as \\delta) unless `letters_as_maths` is False
    (a title in Greek is text: LuaLaTeX typesets it, `settable`)."""
    if letters_as_maths:
        return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group()], s)
    return _LATEX_RE.sub(
        lambda m: m.group() if m.group().isalpha() else _LATEX_SPECIALS[m.group()], s
    )


def escape_markdown(s: str, letters_as_maths: bool = True) -> str:
    """Text that reaches pandoc Markdown literally (backslash-escape ASCII punctuation);
    `letters_as_maths` as for `escape_latex`. Runs of hyphens and of dots are escaped
    too: pandoc's smart typography would print `--` as an en dash, `---` as an em dash
    and `...` as an ellipsis (and pdflatex `--` as a ligature), not as written."""
    out = _MD_RE.sub(r"\\\1", s)
    out = _MD_RUNS.sub(lambda m: "".join("\\" + c for c in m.group()), out)
    # pdflatex cannot typeset δ or ∂ in text: as inline maths they reach every format.
    out = _MD_UNICODE_RE.sub(
        lambda m: (
            m.group(0)
            if not letters_as_maths and m.group(0).isalpha()
            else f"${_UNICODE_MATH[m.group(0)]}$"
        ),
        out,
    )
    # A line must not start a list: escape the bullet, or the dot/paren after a number.
    out = _MD_BULLET.sub(lambda m: m.group(1) + "\\" + m.group(2), out)
    return _MD_ORDERED.sub(lambda m: m.group(1) + "\\" + m.group(2), out)


def prose(
    t: Text | str,
    fmt: str,
    notation: Mapping[str, str] | None = None,
    decimals: int | None = None,
) -> str:
    """A `Text` as a paragraph fragment of the given format ("tex" or "md")."""
    items = (t,) if isinstance(t, str) else t.items
    esc = escape_latex if fmt == "tex" else escape_markdown
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(esc(item))
        else:
            out.append("$" + latex(item, notation, decimals) + "$")
    return _join(out)


def math_text(
    t: Text | str, notation: Mapping[str, str] | None = None, decimals: int | None = None
) -> str:
    """A `Text` placed inside maths (a derivation's reason column)."""
    items = (t,) if isinstance(t, str) else t.items
    out = []
    for item in items:
        if isinstance(item, str):
            if item.strip():
                out.append(r"\text{" + escape_latex(item) + "}")
        else:
            out.append(latex(item, notation, decimals))
    return r"\ ".join(out)


def _join(pieces: list[str]) -> str:
    """Join prose pieces with single spaces, but none before punctuation or a closing
    bracket, nor after an opening one: "($P = 0$)", "(see $x$)", not "( $P = 0$ )"."""
    out = ""
    for p in pieces:
        if not out:
            out = p
        elif re.match(r"^(\\?[.,;:!?)\]])", p) or re.search(r"[(\[]$", out):
            out += p
        else:
            out += " " + p
    return out


def audit_names(assignment: Assignment) -> None:
    """Two different quantities of one exercise never print the same name: the symbols its
    models read (a network's, a kit's worked numbers') are grouped by their LaTeX, and
    a second quantity printed as P (the kit's padding, an integer, and the author's
    pooled matrix P) is refused with one line naming both. A scalar and a matrix of one
    name in parts that never meet (the scalar case of a vector, in a part of its own)
    are allowed."""
    notation = assignment.notation
    for ex in assignment.exercises:
        seen: dict[str, dict[Any, list[tuple[str, str]]]] = {}
        for part in ex.parts:
            for m in models([part]):
                for s in _quantities(m):
                    where = (part.id, m.label)
                    seen.setdefault(latex(s, notation), {}).setdefault(s, []).append(where)
        for name, found in seen.items():
            clash = _clash(list(found.items()))
            if clash is not None:
                (a, at_a), (b, at_b) = clash
                raise AuthoringError(
                    f"{assignment.id}, exercise {ex.number}: two quantities print as {name}: "
                    f"{_what(a)} ({_at(at_a)}) and {_what(b)} ({_at(at_b)}); give one of "
                    "them another name"
                )


def _quantities(m: Any) -> set[Any]:
    out: set[Any] = set()
    for pair in m.defs.items():
        for e in pair:
            if isinstance(e, sp.Basic):
                out |= {s for s in e.free_symbols if isinstance(s, sp.Symbol | sp.MatrixSymbol)}
    return out


def _clash(found: list[tuple[Any, list[tuple[str, str]]]]) -> Any:
    """The first two quantities of `found` that may not share their printed name."""
    for i, (a, at_a) in enumerate(found):
        for b, at_b in found[i + 1 :]:
            scalar_case = {type(a), type(b)} == {sp.Symbol, sp.MatrixSymbol} and not any(
                s.is_integer for s in (a, b) if isinstance(s, sp.Symbol)
            )
            apart = not {p for p, _ in at_a} & {p for p, _ in at_b}
            if not (scalar_case and apart):
                return (a, at_a), (b, at_b)
    return None


def _what(s: Any) -> str:
    if isinstance(s, sp.MatrixSymbol):
        return f"a {s.shape[0]}x{s.shape[1]} matrix"
    kinds = [k for k in ("integer", "positive") if s.assumptions0.get(k)]
    return (
        f"a{'n' if kinds[:1] == ['integer'] else ''} {' '.join(kinds)} scalar"
        if kinds
        else "a scalar"
    )


def _at(places: list[tuple[str, str]]) -> str:
    part, label = places[0]
    return f"part {part}" + (f", {label}" if label else "")
