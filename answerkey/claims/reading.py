"""Reading claims: LaTeX people write -> a syntax tree, and plain lists of numbers.

Graders, students and the earlier published solutions write answers in loose
LaTeX (`tW`, `\\sigma(Wx)`, `y^{(1)T}`, `e^{-Wx}`, `\\sum_{k \\neq j}`); a hand-written
tokenizer and recursive-descent parser reads that notation into a syntax tree that
renders the reading shown back, so a surprising reading is visible rather than
silently judged. `answerkey.claims.shapes` gives the tree its meaning.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..errors import AnswerkeyError
from .indices import Families, split


class ClaimError(AnswerkeyError):
    """A claim that cannot be read: the message is one line (where, and what was expected)."""

    exit_code = 2


class ClaimShapeError(ClaimError):
    """A claim that reads but whose matrix dimensions do not fit together."""

    reading: str | None = None


# ---------------------------------------------------------------------------
# Tokenizer

_SKIP_COMMANDS = set(
    "left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr middle "
    "displaystyle textstyle quad qquad limits nolimits".split()
) | {",", ";", ":", "!", " "}
_FONT_WRAPPERS = {"mathbf", "boldsymbol", "bm", "vec", "mathbfit", "pmb", "bold"}
_WORD_WRAPPERS = {"text", "mathrm", "operatorname", "textrm", "mathit", "textnormal", "mathsf"}
_NAME_WRAPPERS = {"mathcal", "mathscr", "mathbb", "mathfrak"}
#: accents that make a name of their own (`\\hat{x}` is not x): as written -> canonical
_ACCENTS = {"hat": "hat", "widehat": "hat", "bar": "bar", "overline": "bar", "tilde": "tilde"}
_ACCENTS |= {"widetilde": "tilde", "check": "check", "dot": "dot", "ddot": "ddot"}
_ACCENTS |= {"breve": "breve", "acute": "acute", "grave": "grave"}
_MUL_COMMANDS = {"cdot": "*", "times": "*", "ast": "∗", "odot": "∘", "circ": "∘", "otimes": "⊗"}
_MUL_COMMANDS |= {"star": "⋆", "circledast": "⋆"}
_TRANSPOSE_MARKS = {"T", r"\top", r"\intercal", r"\mathsf{T}", r"\mathrm{T}"}
_RELATIONS = {"neq": "≠", "ne": "≠", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥"}
_RELATIONS |= {"lt": "<", "gt": ">"}
_RELATION_OPS = {"=", "≠", "<", ">", "≤", "≥"}
_MATRIX_ENVS = {"bmatrix", "pmatrix", "matrix", "Bmatrix", "smallmatrix", "array"}

# Known functions: name as written (after \, \text{} etc.) -> engine name.
FUNCTIONS = {
    **{w: w for w in ("sigmoid", "exp", "log", "diag", "softmax", "relu", "sqrt", "tanh")},
    **{"\\" + w: w for w in ("exp", "log", "sqrt", "tanh")},
    r"\sigma": "sigmoid", "sigma": "sigmoid", "ln": "log", r"\ln": "log",
    "ReLU": "relu", "ReLu": "relu",
    **{w: "rot180" for w in ("rot180", "rot", "flip", "rot_{180}", "rot_180", "rotate180")},
    **{w: "corr" for w in ("conv", "conv2d", "corr", "xcorr", "correlate", "convolve")},
    **{w: "var" for w in ("Var", "var", "Variance", r"\mathbb{V}", r"\mathrm{Var}")},
    **{w: "mean" for w in (r"\mathbb{E}", "mean", "avg")},
}  # fmt: skip


@dataclass(frozen=True)
class Token:
    kind: str  # num, word, cmd, name, op, open, close, begin, end, amp, rowsep, eof
    text: str
    pos: int  # 0-based offset in the claim
    literal: bool = False  # a \text{...} word: not split into letters
    span: int = -1  # length in the source when it differs from len(text)

    @property
    def end(self) -> int:
        return self.pos + (self.span if self.span >= 0 else len(self.text))


_DIGITS = frozenset("0123456789")


def tokenize(src: str, offset: int = 0) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        pos = offset + i
        if c.isspace() or c == "~":
            i += 1
            continue
        # ASCII digits only: '²'.isdigit() is true but no number pattern matches it.
        if c in _DIGITS or (c == "." and i + 1 < n and src[i + 1] in _DIGITS):
            m = re.match(r"[0-9]*\.?[0-9]*", src[i:])
            assert m is not None
            text = m.group(0)
            if text.endswith(".") and not re.match(r"\.\d", src[i + len(text) - 1 :]):
                text = text[:-1]
            out.append(Token("num", text, pos))
            i += len(text)
            continue
        if c.isalpha() and c.isascii():
            m = re.match(r"[A-Za-z]+", src[i:])
            assert m is not None
            out.append(Token("word", m.group(0), pos))
            i += len(m.group(0))
            continue
        if c == "\\":
            if i + 1 >= n:
                raise ClaimError(f"col {pos + 1}: a lone backslash ends the claim")
            if src[i + 1] == "\\":
                out.append(Token("rowsep", r"\\", pos))
                i += 2
                continue
            m = re.match(r"\\([A-Za-z]+)", src[i:])
            name = m.group(1) if m else src[i + 1]
            i += 1 + len(name)
            if name in _SKIP_COMMANDS:
                if name in ("left", "right") and i < n and src[i] == ".":
                    i += 1
                continue
            if name in ("{", "}"):
                out.append(
                    Token("open" if name == "{" else "close", "(" if name == "{" else ")", pos)
                )
                continue
            if name in ("|",) or name in ("lVert", "rVert", "Vert"):
                out.append(Token("op", "‖", pos))
                continue
            if name == "_":
                out.append(Token("word", "_", pos))
                continue
            if name in ("begin", "end"):
                m2 = re.match(r"\s*\{\s*([A-Za-z*]+)\s*\}", src[i:])
                if not m2:
                    raise ClaimError(f"col {pos + 1}: expected {{environment}} after \\{name}")
                env = m2.group(1)
                i += len(m2.group(0))
                if name == "begin" and env == "array":  # skip the column spec
                    m3 = re.match(r"\s*\{[^}]*\}", src[i:])
                    if m3:
                        i += len(m3.group(0))
                out.append(Token(name, env, pos))
                continue
            if name in _FONT_WRAPPERS or name in _WORD_WRAPPERS or name in _NAME_WRAPPERS:
                j = i
                while j < n and src[j].isspace():
                    j += 1
                if j < n and src[j] == "{":
                    close = _match_brace(src, j, offset)
                    inner = src[j + 1 : close]
                    if inner.strip() == "1" and name in (_FONT_WRAPPERS | {"mathbb"}):
                        out.append(Token("cmd", r"\ones", pos, span=offset + close + 1 - pos))
                    elif name in _FONT_WRAPPERS:
                        out += tokenize(inner, offset + j + 1)
                    elif name in _NAME_WRAPPERS:
                        text = f"\\{name}{{{inner.strip()}}}"
                        out.append(Token("name", text, pos, span=offset + close + 1 - pos))
                    else:
                        word = inner.replace("\\_", "_").strip()
                        primed = re.fullmatch(r"\{?\s*([A-Za-z]+)\s*\}?\s*('+)", word)
                        if primed:  # \operatorname{{f}'}: the printer's f'
                            out.append(Token("word", primed.group(1), pos, literal=True))
                            for k in range(len(primed.group(2))):
                                out.append(Token("op", "'", offset + close - k))
                            i = close + 1
                            continue
                        if word:
                            span = offset + close + 1 - pos
                            out.append(Token("word", word, pos, literal=True, span=span))
                    i = close + 1
                    continue
                if name in _FONT_WRAPPERS or name in _WORD_WRAPPERS:
                    continue  # \bf x, \rm x: a font switch, ignore it
            if name in _ACCENTS:
                accent, i = _accent(src, i, offset, name, pos)
                out += accent
                continue
            if name in _MUL_COMMANDS:
                out.append(Token("op", _MUL_COMMANDS[name], pos))
                continue
            if name in _RELATIONS:
                out.append(Token("op", _RELATIONS[name], pos))
                continue
            if name == "partial":
                out.append(Token("partial", name, pos))
                continue
            out.append(Token("cmd", "\\" + name, pos))
            continue
        if c in "([{":
            out.append(Token("open", c, pos))
        elif c in ")]}":
            out.append(Token("close", c, pos))
        elif c == "&":
            out.append(Token("amp", c, pos))
        elif c == "|":
            out.append(Token("op", "‖" if src[i : i + 2] == "||" else "|", pos))
            if src[i : i + 2] == "||":
                i += 1
        elif c == "*":  # a product, or a convolution where two matrices do not multiply
            out.append(Token("op", "∗", pos))
        elif c in "+-/^_',=<>":
            out.append(Token("op", c, pos))
        elif c in "≠≤≥":
            out.append(Token("op", c, pos))
        elif c == "." and (i + 1 == n or src[i + 1].isspace() or src[i + 1] in "\\&$"):
            out.append(Token("op", c, pos))  # a full stop closing a line
        elif c == "−":
            out.append(Token("op", "-", pos))
        elif c in "·×":
            out.append(Token("op", "*", pos))
        elif c == "σ":
            out.append(Token("cmd", r"\sigma", pos))
        elif c == "λ":
            out.append(Token("cmd", r"\lambda", pos))
        else:
            raise ClaimError(f"col {pos + 1}: unexpected character {c!r}")
        i += 1
    return out


def _accent(src: str, i: int, offset: int, name: str, pos: int) -> tuple[list[Token], int]:
    """`\\hat{x}`, `\\hat x`, `\\bar{\\mu}`, `\\overline{m}`: one name token, written
    `\\hat{x}` (`\\widehat` as `\\hat`, `\\overline` as `\\bar`); and the index after it."""
    j = i
    while j < len(src) and src[j].isspace():
        j += 1
    if j < len(src) and src[j] == "{":
        close = _match_brace(src, j, offset)
        inner, end = src[j + 1 : close], close + 1
    else:
        m = re.match(r"\\[A-Za-z]+|[A-Za-z0-9]", src[j:])
        if not m:
            raise ClaimError(f"col {pos + 1}: expected what \\{name} is put on")
        inner, end = m.group(0), j + len(m.group(0))
    inner = re.sub(r"\\(?:mathrm|mathit|text|mathbf|boldsymbol|bm)\s*\{([^{}]*)\}", r"\1", inner)
    inner = re.sub(r"\s+", "", inner)
    m = re.fullmatch(r"(\\?[A-Za-z]+)([_^].*)?", inner)
    if not m:
        raise ClaimError(f"col {pos + 1}: \\{name} must be put on one name (\\{name}{{x}})")
    text = f"\\{_ACCENTS[name]}{{{m.group(1)}}}"
    if m.group(2):  # `\\hat{x_i}`: the accent on x, then its subscript
        rest = tokenize(m.group(2), offset + end - 1 - len(m.group(2)))
        return [Token("name", text, pos, span=offset + end - pos - len(m.group(2)) - 1), *rest], end
    return [Token("name", text, pos, span=offset + end - pos)], end


def _match_brace(src: str, j: int, offset: int) -> int:
    depth = 0
    for k in range(j, len(src)):
        if src[k] == "\\":
            continue
        if src[k] == "{" and (k == 0 or src[k - 1] != "\\"):
            depth += 1
        elif src[k] == "}" and (k == 0 or src[k - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return k
    raise ClaimError(f"col {offset + j + 1}: '{{' is never closed")


# ---------------------------------------------------------------------------
# Syntax tree: what was read, before meaning is given to it. It renders the
# plain-text reading shown back to the user.


@dataclass(frozen=True)
class Node:
    pos: int

    def prec(self) -> int:
        return 9

    def render(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Num(Node):
    text: str

    def render(self) -> str:
        return self.text


@dataclass(frozen=True)
class Name(Node):
    name: str  # canonical name
    obj: Any

    def render(self) -> str:
        return display_name(self.name)


_GREEK = {
    **{g: chr(0x3B1 + k) for k, g in enumerate(
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron "
        "pi rho varsigma sigma tau upsilon phi chi psi omega".split()
    )},
    "Delta": "Δ", "Sigma": "Σ", "nabla": "∇", "to": "→", "prime": "'",
}  # fmt: skip


#: accents as plain text shows them: a combining mark after the letter (x̂, m̄)
_COMBINING = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "check": "\u030c"}
_COMBINING |= {"dot": "\u0307", "ddot": "\u0308", "breve": "\u0306", "acute": "\u0301"}
_COMBINING |= {"grave": "\u0300"}


def display_name(name: str) -> str:
    """A canonical name as the course writes it in plain text: `\\mathcal{L}` -> L,
    `\\delta_1` -> δ_1, `\\Delta W_i\\toj` -> ΔW_i→j."""
    name = re.sub(r"\\math(?:cal|scr|bb|frak)\{(\w+)\}", r"\1", name)
    name = re.sub(
        r"\\(hat|bar|tilde|check|dot|ddot|breve|acute|grave)\{(\\?\w+)\}",
        lambda m: display_name(m.group(2)) + _COMBINING[m.group(1)],
        name,
    )
    name = re.sub(r"\\to(?=[A-Za-z0-9]|$)", "→", name)
    name = re.sub(r"\\([A-Za-z]+)", lambda m: _GREEK.get(m.group(1), m.group(1)), name)
    return name.replace(" ", "")


@dataclass(frozen=True)
class Const(Node):
    name: str  # "e" or "pi"

    def render(self) -> str:
        return self.name


@dataclass(frozen=True)
class Call(Node):
    fn: str  # engine function name, or the canonical name of an undefined function
    args: tuple[Node, ...]
    prime: int = 0
    obj: Any = None  # the SymPy function for undefined functions

    def render(self) -> str:
        head = ("σ" if self.fn == "sigmoid" else display_name(self.fn)) + "'" * self.prime
        return f"{head}({', '.join(a.render() for a in self.args)})"


_BIN_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "∘": 2, "⊗": 2, "∗": 2, "⋆": 2}
_BIN_SHOW = {"+": " + ", "-": " - ", "*": "·", "/": "/", "∘": " ∘ ", "⊗": " ⊗ ", "∗": "·"}
_BIN_SHOW["⋆"] = " ⋆ "


@dataclass(frozen=True)
class Bin(Node):
    op: str
    a: Node
    b: Node
    implicit: bool = False

    def prec(self) -> int:
        return _BIN_PREC[self.op]

    def render(self) -> str:
        p = self.prec()
        left = _paren(self.a, p + self._mixed(self.a))
        right = _paren(self.b, p + (1 if self.op in "-/" else self._mixed(self.b)))
        return f"{left}{_BIN_SHOW[self.op]}{right}"

    def _mixed(self, child: Node) -> int:
        """1 when `child` mixes ∘ with ·: shown in parentheses so the grouping is visible."""
        if isinstance(child, Bin) and child.op != self.op and {"∘", "⋆"} & {child.op, self.op}:
            return 1
        return 0


@dataclass(frozen=True)
class Neg(Node):
    a: Node

    def prec(self) -> int:
        return 2

    def render(self) -> str:
        return "-" + _paren(self.a, 3)


@dataclass(frozen=True)
class Pow(Node):
    a: Node
    b: Node

    def prec(self) -> int:
        return 4

    def render(self) -> str:
        if isinstance(self.a, Const) and self.a.name == "e":
            return f"exp({self.b.render()})"
        return f"{_paren(self.a, 5)}^{_paren(self.b, 5)}"


@dataclass(frozen=True)
class Tr(Node):
    a: Node

    def prec(self) -> int:
        return 5

    def render(self) -> str:
        inner = self.a.render()
        if self.a.prec() < 9 or "^" in inner:
            inner = f"({inner})"
        return f"{inner}^T"


@dataclass(frozen=True)
class Mat(Node):
    rows: tuple[tuple[Node, ...], ...]

    def render(self) -> str:
        return "[" + "; ".join(", ".join(c.render() for c in r) for r in self.rows) + "]"


@dataclass(frozen=True)
class Der(Node):
    f: Node
    x: Name | Idx

    def render(self) -> str:
        f = self.f.render() if isinstance(self.f, Name) else f"({self.f.render()})"
        return f"∂{f}/∂{self.x.render()}"


@dataclass(frozen=True)
class Grad(Node):
    """`\\nabla_{x} f`: the gradient of f by x, in the shape of x (a column for a column)."""

    f: Node
    x: Name | Idx

    def render(self) -> str:
        f = self.f.render() if isinstance(self.f, Name) else f"({self.f.render()})"
        return f"∇_{self.x.render()} {f}"


@dataclass(frozen=True)
class Ones(Node):
    """`\\mathbf{1}`: a vector of ones, its length taken from what it meets."""

    def render(self) -> str:
        return "ones"


@dataclass(frozen=True)
class Indicator(Node):
    """`\\mathbf{1}[z > 0]`: 1 where the condition holds, else 0 (entry by entry)."""

    condition: Rel

    def render(self) -> str:
        return f"1[{self.condition.render()}]"


@dataclass(frozen=True)
class Idx(Node):
    """A component of a vector: `p_k`, `{o}_{j}`, `a_1`."""

    base: Name
    index: str

    def render(self) -> str:
        return f"{self.base.render()}_{self.index}"


@dataclass(frozen=True)
class Kron(Node):
    """The Kronecker delta `\\delta_{jk}`: 1 when the two indices are equal, else 0."""

    a: str
    b: str

    def render(self) -> str:
        return f"δ_{self.a}{self.b}"


@dataclass(frozen=True)
class SumOver(Node):
    """`\\sum_{j=1}^{K} body`, `\\sum_{k \\neq j} body`: a sum over an index."""

    var: str
    lo: Node | None
    hi: Node | None
    skip: str | None
    body: Node

    def prec(self) -> int:
        return 2

    def render(self) -> str:
        if self.skip is not None:
            rng = f"{self.var}≠{self.skip}"
        elif self.lo is None:
            rng = self.var
        else:
            hi = self.hi.render() if self.hi is not None else ""
            rng = f"{self.var}={self.lo.render()}..{hi}"
        return f"Σ_({rng}) {_paren(self.body, 3)}"


@dataclass(frozen=True)
class Written(Node):
    """A sum (Σ) or product (Π) over an index written out term by term: `terms` is the body
    read at index = first, first + 1, …, last."""

    sign: str
    var: str
    first: int
    last: int
    terms: tuple[Node, ...]

    def render(self) -> str:
        if not self.terms:
            return "1" if self.sign == "Π" else "0"
        op = " + " if self.sign == "Σ" else "·"
        inner = op.join(_paren(x, 2 if self.sign == "Σ" else 3) for x in self.terms)
        return f"{self.sign}_({self.var}={self.first}..{self.last}) [{inner}]"


@dataclass(frozen=True)
class Rel(Node):
    """A condition of `cases`: `j = y`, `x > 0`."""

    op: str
    a: Node
    b: Node

    def render(self) -> str:
        return f"{self.a.render()} {self.op} {self.b.render()}"


@dataclass(frozen=True)
class Cases(Node):
    """`\\begin{cases}`: (value, condition) pairs; a condition None is "otherwise"."""

    pieces: tuple[tuple[Node, Node | None], ...]

    def render(self) -> str:
        shown = [
            f"{v.render()} if {c.render()}" if c is not None else f"{v.render()} otherwise"
            for v, c in self.pieces
        ]
        return "{" + "; ".join(shown) + "}"


_CASE_WORDS = {"if", "for", "when", "where", "if:"}
_ELSE_WORDS = {"otherwise", "else", "sonst"}


def _paren(n: Node, p: int) -> str:
    s = n.render()
    return f"({s})" if n.prec() < p else s


# ---------------------------------------------------------------------------
# Parser


def _canon_script(raw: str) -> str:
    """`{(2)}`, `(2)`, `{\\text{out}}`, `out` -> `(2)`, `out`: the form names are matched in."""
    raw = re.sub(r"\\(?:text|mathrm|mathit|textrm|operatorname|mathsf|textnormal)\s*", "", raw)
    raw = raw.replace("\\_", "_")
    return re.sub(r"[\s{}]", "", raw)


@dataclass
class SymbolTable:
    """The part's symbols by canonical name, plus the multi-letter words to split on."""

    names: dict[str, Any]
    words: list[str]  # multi-letter bases and function words, longest first
    #: names with index letters (`\\delta_j`): another letter reads as another member
    families: Families = field(default_factory=lambda: Families({}))

    @classmethod
    def build(cls, symbols: Mapping[str, Any]) -> SymbolTable:
        names: dict[str, Any] = {}
        for latex, obj in symbols.items():
            names[canonical_name(latex)] = obj
        for key, obj in list(names.items()):  # \mathcal{L} may be written L
            plain = re.sub(r"\\math(?:cal|scr|bb|frak)\{(\w+)\}", r"\1", key)
            names.setdefault(plain, obj)
            stat = re.fullmatch(r"V_(\\?[A-Za-z]+)", key)
            if stat:  # a variance V_w may be written σ_w^2
                names.setdefault(f"\\sigma_{stat.group(1)}^2", obj)
            layer = re.fullmatch(r"([A-Za-z]+)\^\((\d+)\)", key)
            if layer:  # y^{(2)} may be written y_2, y^{[2]}, and y^2 when y is no scalar
                base, k = layer.groups()
                aliases = [f"{base}_{k}", f"{base}^[{k}]"]
                if base not in symbols and base not in names:
                    aliases.append(f"{base}^{k}")
                for alias in aliases:
                    names.setdefault(alias, obj)
        words = {w for w in FUNCTIONS if not w.startswith("\\")}
        for key in names:
            base = re.split(r"[_^]", key, maxsplit=1)[0]
            if len(base) > 1 and base.isalpha():
                words.add(base)
        return cls(names, sorted(words, key=len, reverse=True), Families.of(names))

    def known(self) -> str:
        return ", ".join(sorted({display_name(k) for k in self.names})) or "none"


def canonical_name(latex: str) -> str:
    """A symbol's LaTeX name as names are matched: `W^{(1)}` -> `W^(1)`, `W_{out}` -> `W_out`."""
    toks = tokenize(latex)
    if not toks:
        raise ClaimError(f"empty symbol name {latex!r}")
    p = Parser(toks, latex, SymbolTable({}, []), [])
    base = p._base_text(toks[0])
    p.i = 1
    if base in _COMPOUND_HEADS and len(toks) > 1 and toks[1].kind == "word":
        base, p.i = f"{base} {toks[1].text}", 2
    sub, sup = p._scripts()
    if p.i != len(toks):
        raise ClaimError(f"cannot read symbol name {latex!r}")
    return base + (f"_{sub}" if sub is not None else "") + (f"^{sup}" if sup is not None else "")


#: the most terms a sum or product over an index is written out to
MAX_WRITTEN_OUT = 64


def eval_index(text: str) -> int:
    """`3-1+2` -> 4: the arithmetic of an index once its letters have values."""
    total, sign = 0, 1
    for m in re.finditer(r"([-+]?)([0-9]+)", text):
        sign = -1 if m.group(1) == "-" else 1
        total += sign * int(m.group(2))
    return total


def _known_bound(raw: str | None, table: SymbolTable) -> bool:
    """A bound the ordinary reading takes: a number, or made of the part's names (K, m)."""
    if raw is None:
        return True
    if re.fullmatch(r"[0-9]+", raw):
        return True
    letters = re.findall(r"\\?[A-Za-z]+", raw)
    return all(x in table.names for x in letters)


_STARTS_PRIMARY = {"num", "word", "cmd", "name", "open", "begin", "partial"}
#: commands that start a two-part name: `\\Delta W_{i \\to j}`, `\\nabla L`
_COMPOUND_HEADS = {r"\Delta", r"\nabla"}
#: what a subscript that indexes a vector may be: a letter or a number
_INDEX = re.compile(r"[A-Za-z]|[0-9]+")
_PRIME_MARKS = {r"\prime": 1, r"\prime\prime": 2, "'": 1, "''": 2}


class Parser:
    def __init__(self, toks: list[Token], src: str, table: SymbolTable, notes: list[str]) -> None:
        self.toks = toks
        self.src = src
        self.table = table
        self.notes = notes
        self.i = 0
        self._sup_tokens = (0, 0)
        self._sub_end = -1
        self.bound: list[str] = []  # indices of the sums being read
        #: index letters given a value while a sum over time is written out (`t` -> 2)
        self.values: dict[str, int] = {}
        self.bare_arg: Node | None = None
        self.tight = False  # implicit products bind tighter than explicit ones

    # -- helpers
    def peek(self, k: int = 0) -> Token:
        j = self.i + k
        if j < len(self.toks):
            return self.toks[j]
        end = self.toks[-1].pos + len(self.toks[-1].text) if self.toks else len(self.src)
        return Token("eof", "", end)

    def take(self) -> Token:
        t = self.peek()
        self.i += 1
        return t

    def fail(self, expected: str, t: Token | None = None) -> ClaimError:
        t = t or self.peek()
        got = "the end of the claim" if t.kind == "eof" else repr(t.text)
        return ClaimError(f"col {t.pos + 1}: expected {expected}, found {got}")

    def is_op(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind == "op" and t.text == text

    def expect_close(self, opener: Token) -> None:
        t = self.peek()
        want = {"(": ")", "[": "]", "{": "}"}[opener.text]
        if t.kind == "close" and (t.text == want or (opener.text != "{" and t.text in ")]")):
            self.i += 1
            return
        if t.kind == "close" and opener.text == "{" and t.text == ")":  # \{ ... \}
            self.i += 1
            return
        raise self.fail(f"'{want}' to close '{opener.text}' at col {opener.pos + 1}")

    def group(self) -> list[Token]:
        """The tokens of a LaTeX argument: `{...}` or one token (one digit of a number)."""
        t = self.peek()
        if t.kind == "open" and t.text == "{":
            depth, j = 0, self.i
            while j < len(self.toks):
                tk = self.toks[j]
                if tk.kind == "open":
                    depth += 1
                elif tk.kind == "close":
                    depth -= 1
                    if depth == 0:
                        inner = self.toks[self.i + 1 : j]
                        self.i = j + 1
                        return inner
                j += 1
            raise ClaimError(f"col {t.pos + 1}: '{{' is never closed")
        if t.kind == "op" and t.text == "-":  # e^-x: lenient
            self.i += 1
            return [t, *self.group()]
        if t.kind == "num" and len(t.text) > 1:
            self.toks[self.i] = Token("num", t.text[1:], t.pos + 1)
            return [Token("num", t.text[0], t.pos)]
        if t.kind == "word" and len(t.text) > 1 and not t.literal:
            self.toks[self.i] = Token("word", t.text[1:], t.pos + 1)
            return [Token("word", t.text[0], t.pos)]
        if t.kind in ("num", "word", "cmd", "name", "partial"):
            self.i += 1
            return [t]
        raise self.fail("a superscript, subscript or argument")

    def raw(self, toks: list[Token]) -> str:
        if not toks:
            return ""
        start = toks[0].pos
        text = self.src[start : toks[-1].end]
        if not text.strip():
            return "".join(t.text for t in toks)
        return text

    def sub(self, toks: list[Token], what: str) -> Node:
        if not toks:
            raise self.fail(what)
        p = Parser(list(toks), self.src, self.table, self.notes)
        p.tight, p.values = self.tight, self.values
        node = p.expr()
        if p.peek().kind != "eof":
            raise p.fail("an operator or the end of the " + what.split()[-1])
        return node

    # -- grammar
    def claim(self) -> list[Node]:
        if not self.toks:
            raise ClaimError("col 1: the claim is empty")
        members = [self.expr()]
        while self.is_op("="):
            self.i += 1
            members.append(self.expr())
        while self.peek().kind == "op" and self.peek().text in ".,":  # closing punctuation
            self.i += 1
        if self.peek().kind != "eof":
            raise self.fail("an operator or the end of the claim")
        return members

    def expr(self) -> Node:
        node = self.term()
        while self.peek().kind == "op" and self.peek().text in "+-":
            t = self.take()
            node = Bin(t.pos, t.text, node, self.term())
        return node

    def term(self) -> Node:
        factor = self.implicit_run if self.tight else self.unary
        node = factor()
        while True:
            t = self.peek()
            if t.kind == "op" and t.text in ("*", "/", "∘", "⊗", "∗", "⋆"):
                self.i += 1
                node = Bin(t.pos, t.text, node, factor())
            elif self._starts_primary(t) and not self.tight:
                node = Bin(t.pos, "*", node, self.postfix(), implicit=True)
            else:
                return node

    def implicit_run(self) -> Node:
        """Factors written side by side, `W^T(y - t)`: one factor of an explicit product."""
        node = self.unary()
        while self._starts_primary(self.peek()):
            node = Bin(self.peek().pos, "*", node, self.postfix(), implicit=True)
        return node

    def _starts_primary(self, t: Token) -> bool:
        if t.kind in _STARTS_PRIMARY:
            return not (t.kind == "open" and t.text == "{" and False)
        return t.kind == "op" and t.text == "‖"

    def unary(self) -> Node:
        t = self.peek()
        if t.kind == "op" and t.text in "+-":
            self.i += 1
            inner = self.unary()
            return Neg(t.pos, inner) if t.text == "-" else inner
        return self.postfix()

    def implicit_chain(self) -> Node:
        """The argument of a function written without parentheses: `\\log Wx`."""
        t = self.peek()
        if not self._starts_primary(t):
            raise self.fail("an argument")
        node = self.postfix()
        while self._starts_primary(self.peek()) and self.peek().kind != "open":
            node = Bin(self.peek().pos, "*", node, self.postfix(), implicit=True)
        return node

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            t = self.peek()
            if t.kind == "op" and t.text == "^":
                self.i += 1
                g = self.group()
                if _canon_script(self.raw(g)) in _TRANSPOSE_MARKS or self.raw(g).strip() in (
                    _TRANSPOSE_MARKS
                ):
                    node = Tr(t.pos, node)
                else:
                    node = Pow(t.pos, node, self.sub(g, "an exponent"))
            elif t.kind == "op" and t.text == "'" and not isinstance(node, Call):
                self.i += 1  # `(y - t)'`: a transpose, as MATLAB writes it
                self.notes.append(f"' at col {t.pos + 1} is read as a transpose")
                node = Tr(t.pos, node)
            elif t.kind == "op" and t.text == "_":
                # `{o}_{k}` (how the printer writes a component): a braced name, indexed
                if isinstance(node, Name):
                    self.i += 1
                    index = _canon_script(self.raw(self.group()))
                    component = self.component(node, index)
                    if component is not None:
                        node = component
                        continue
                raise self.fail("an operator (a subscript can only follow a symbol's name)")
            else:
                return node

    def primary(self) -> Node:
        t = self.peek()
        if t.kind == "num":
            self.i += 1
            return Num(t.pos, t.text)
        if t.kind == "open":
            self.i += 1
            inner = self.expr()
            if t.text == "[" and self.is_op(","):
                return self.list_tail(t, inner)
            self.expect_close(t)
            return inner
        if t.kind == "op" and t.text == "‖":
            self.i += 1
            inner = self.expr()
            if not self.is_op("‖"):
                raise self.fail("'‖' to close the norm")
            self.i += 1
            return Call(t.pos, "norm", (inner,))
        if t.kind == "begin":
            return self.matrix()
        if t.kind == "cmd" and t.text in (r"\frac", r"\dfrac", r"\tfrac"):
            return self.frac()
        if t.kind == "cmd" and t.text == r"\ones":
            self.i += 1
            nxt = self.peek()
            if self.is_op("_") or (nxt.kind == "open" and nxt.text in "[("):
                return self.indicator(t)
            return Ones(t.pos)
        if t.kind == "cmd" and t.text in (r"\sum", r"\prod"):
            return self.sum()
        if t.kind in ("word", "cmd", "name"):
            return self.named()
        if t.kind == "partial":
            raise self.fail(r"a derivative written as \frac{\partial f}{\partial x}")
        raise self.fail("a number, a symbol, a function or '('")

    def indicator(self, t: Token) -> Node:
        """`\\mathbf{1}[z > 0]`, `\\mathbb{1}_{z > 0}`: 1 where the condition holds, else 0
        (entry by entry for a vector: relu'(z) written so)."""
        if self.is_op("_"):
            self.i += 1
            p = Parser(self.group(), self.src, self.table, self.notes)
            p.values = self.values
            condition = p.relation()
            if p.peek().kind != "eof":
                raise p.fail("the end of the condition")
        else:
            opener = self.take()
            condition = self.relation()
            self.expect_close(opener)
        assert isinstance(condition, Rel)
        return Indicator(t.pos, condition)

    def list_tail(self, opener: Token, first: Node) -> Node:
        items = [first]
        while self.is_op(","):
            self.i += 1
            items.append(self.expr())
        self.expect_close(opener)
        if all(isinstance(x, Mat) and len(x.rows) == 1 for x in items):
            return Mat(opener.pos, tuple(x.rows[0] for x in items))  # type: ignore[attr-defined]
        return Mat(opener.pos, (tuple(items),))

    def sum(self) -> Node:
        """`\\sum_{j=1}^{K}`, `\\sum_{k \\neq j}`, `\\sum_j`: the body is the product after it.
        A sum (or `\\prod`) over the part's numbered names (`h_{t-1}` for h_0 … h_3) is
        written out term by term: see `written_out`."""
        t = self.take()
        var, lo, hi, skip = None, None, None, None
        lo_raw = hi_raw = None
        while self.is_op("_") or self.is_op("^"):
            op = self.take()
            g = self.group()
            if op.text == "^":
                hi_raw = self.index_value(_canon_script(self.raw(g)))
                if t.text == r"\prod" or not _known_bound(hi_raw, self.table):
                    continue  # read when the terms are written out
                hi = self.sub(g, "an upper bound")
                continue
            raw = self.raw(g)
            m = re.fullmatch(
                r"\s*([A-Za-z])\s*(?:(=)(.+)|(?:\\neq?|\\not=|!=|≠)\s*([A-Za-z0-9]+)\s*)?", raw
            )
            if not m:
                raise ClaimError(
                    f"col {t.pos + 1}: cannot read the sum's range {raw!r} "
                    "(write \\sum_{j=1}^{K} or \\sum_{k \\neq j})"
                )
            var, skip = m.group(1), m.group(4)
            if m.group(2):
                start = next(k for k in g if k.kind == "op" and k.text == "=")
                lo_raw = self.index_value(_canon_script(m.group(3)))
                if t.text != r"\prod" and _known_bound(lo_raw, self.table):
                    lo = self.sub(g[g.index(start) + 1 :], "a lower bound")
        if var is None:
            raise ClaimError(f"col {t.pos + 1}: say what the sum runs over (\\sum_{{j=1}}^{{K}})")
        start_at, saved = self.i, list(self.toks)
        if t.text == r"\prod" or (hi_raw is not None and hi is None) or (lo_raw and lo is None):
            return self.written_out(t, var, lo_raw, hi_raw, skip)
        self.bound.append(var)
        try:
            body = self.term()
        except ClaimError as exc:
            self.i, self.toks = start_at, saved
            try:
                return self.written_out(t, var, lo_raw, hi_raw, skip)
            except ClaimError:
                raise exc from None
        finally:
            self.bound.pop()
        return SumOver(t.pos, var, lo, hi, skip, body)

    def written_out(
        self, t: Token, var: str, lo: str | None, hi: str | None, skip: str | None
    ) -> Node:
        """`\\sum_{t=1}^{3} x_t (1 - h_t^2) h_{t-1}`, `\\prod_{k=2}^{3}`: the body read once per
        value of the index (its letter in subscripts, `h_{t-1}`, and alone), the terms added
        (multiplied). An upper bound the part has no symbol for (`T`) is the last value at
        which every name of the body is the part's (h_3, x_3: T = 3), said in a note."""
        sign = "Π" if t.text == r"\prod" else "Σ"
        first = int(lo) if lo is not None and lo.isdigit() else None
        last = int(hi) if hi is not None and hi.isdigit() else None
        if first is None or skip is not None:
            raise ClaimError(
                f"col {t.pos + 1}: a {'product' if sign == 'Π' else 'sum'} over the part's "
                f"numbered names needs numbers for its range ({sign} from {var}=1)"
            )
        bound: dict[str, int] = {}
        if last is None:
            if hi is None or not re.fullmatch(r"[A-Za-z]", hi):
                raise ClaimError(f"col {t.pos + 1}: cannot read the upper bound {hi!r}")
            last = self.last_step(var, hi)
            if last is None:
                raise ClaimError(
                    f"col {t.pos + 1}: the part has no symbol {hi} and no numbered names "
                    f"indexed by {var} to tell where the {sign} ends"
                )
            bound[hi] = last
            self.notes.append(
                f"{hi} at col {t.pos + 1} is read as {last}, the last step of the part's "
                f"names indexed by {var}"
            )
        if last - first >= MAX_WRITTEN_OUT:
            raise ClaimError(f"col {t.pos + 1}: at most {MAX_WRITTEN_OUT} terms are written out")
        start, saved = self.i, list(self.toks)
        terms: list[Node] = []
        end = None
        before = dict(self.values)
        try:
            for value in range(first, last + 1):
                self.i, self.toks = start, list(saved)
                self.values.update(bound)
                self.values[var] = value
                terms.append(self.term())
                end = self.i
            if end is None:  # no terms: the body skipped (read at the bound before the first)
                self.values.update(bound)
                self.values[var] = last
                self.term()
                end = self.i
        finally:
            self.values.clear()
            self.values.update(before)
        self.i, self.toks = end, saved
        return Written(t.pos, sign, var, first, last, tuple(terms))

    def last_member(self, base: str) -> str | None:
        """The part's numbered name of `base` with the highest number (h_3 of h_0 … h_3)."""
        numbered = [
            (int(k.rsplit("_", 1)[1]), k)
            for k in self.table.names
            if k.startswith(base + "_") and k.rsplit("_", 1)[1].isdigit()
        ]
        return max(numbered)[1] if numbered else None

    def last_step(self, var: str, hi: str) -> int | None:
        """The last step of a sum up to a letter the part has no symbol for (`T`): of the
        names written with `var` or `hi` in their subscript after this point (`h_t`,
        `x_{t}`, `h_T`), the least of their highest numbered members (h_3 and x_3: 3)."""
        highest: list[int] = []
        for k in range(self.i, len(self.toks) - 2):
            head, under, script = self.toks[k : k + 3]
            if not (
                under.kind == "op" and under.text == "_" and head.kind in ("word", "cmd", "name")
            ):
                continue
            j = k + 2
            if script.kind == "open":
                depth, j = 1, k + 3
                while j < len(self.toks) and depth:
                    depth += {"open": 1, "close": -1}.get(self.toks[j].kind, 0)
                    j += 1
                text = self.src[script.pos : self.toks[j - 1].end]
            else:
                text = script.text
            if not re.search(rf"(?<![A-Za-z]){var}|(?<![A-Za-z]){hi}(?![A-Za-z])", text):
                continue
            base = head.text[-1] if head.kind == "word" else head.text
            numbers = [
                int(name.rsplit("_", 1)[1])
                for name in self.table.names
                if name.startswith(base + "_") and name.rsplit("_", 1)[1].isdigit()
            ]
            if numbers:
                highest.append(max(numbers))
        return min(highest) if highest else None

    def component(self, base: Name, index: str) -> Node | None:
        """`p_k` for a vector p of the part: its k-th entry (None when p is no vector)."""
        shape = getattr(base.obj, "shape", None)
        vector = isinstance(base.obj, sp.IndexedBase) or (
            shape is not None and len(shape) == 2 and 1 in (shape[0], shape[1])
        )
        if not vector or not _INDEX.fullmatch(index):
            return None
        return Idx(base.pos, base, index)

    def cases(self, begin: Token) -> Node:
        """`\\begin{cases} a & j = y \\\\ b & \\text{otherwise} \\end{cases}`: value, condition."""
        pieces: list[tuple[Node, Node | None]] = []
        while True:
            value = self.expr()
            if self.peek().kind != "amp":
                raise self.fail("'&' and a condition after a value of the cases")
            self.i += 1
            t = self.peek()
            while t.kind == "word" and t.literal and t.text.strip(" ,").lower() in _CASE_WORDS:
                self.i += 1
                t = self.peek()
            condition: Node | None = None
            if t.kind == "word" and t.literal and t.text.strip(" ,.").lower() in _ELSE_WORDS:
                self.i += 1
            else:
                condition = self.relation()
            pieces.append((value, condition))
            while self.peek().kind == "op" and self.peek().text in ",.":
                self.i += 1
            t = self.take()
            if t.kind == "end":
                break
            if t.kind != "rowsep":
                raise self.fail("'\\\\' or \\end{cases}", t)
            if self.peek().kind == "end":
                self.i += 1
                break
        return Cases(begin.pos, tuple(pieces))

    def relation(self) -> Node:
        left = self.expr()
        t = self.peek()
        if not (t.kind == "op" and t.text in _RELATION_OPS):
            raise self.fail("a condition such as j = y, j \\neq y or x > 0")
        self.i += 1
        return Rel(t.pos, t.text, left, self.expr())

    def matrix(self) -> Node:
        begin = self.take()
        if begin.text == "cases":
            return self.cases(begin)
        if begin.text not in _MATRIX_ENVS:
            raise ClaimError(f"col {begin.pos + 1}: unsupported environment {begin.text!r}")
        rows: list[tuple[Node, ...]] = []
        row: list[Node] = []
        while True:
            t = self.peek()
            if t.kind == "end":
                self.i += 1
                if row:
                    rows.append(tuple(row))
                break
            if t.kind == "eof":
                raise self.fail(f"\\end{{{begin.text}}}")
            row.append(self.expr())
            t = self.peek()
            if t.kind == "amp":
                self.i += 1
            elif t.kind == "rowsep":
                self.i += 1
                rows.append(tuple(row))
                row = []
            elif t.kind != "end":
                raise self.fail("'&', '\\\\' or \\end{" + begin.text + "}")
        if not rows or any(len(r) != len(rows[0]) for r in rows):
            raise ClaimError(f"col {begin.pos + 1}: the matrix's rows have different lengths")
        return Mat(begin.pos, tuple(rows))

    def frac(self) -> Node:
        t = self.take()
        num = self.group()
        den = self.group()
        d = self._derivative(t, num, den)
        if d is not None:
            return d
        return Bin(t.pos, "/", self.sub(num, "a numerator"), self.sub(den, "a denominator"))

    def _derivative(self, t: Token, num: list[Token], den: list[Token]) -> Node | None:
        def strip_d(toks: list[Token]) -> list[Token] | None:
            if toks and toks[0].kind == "partial":
                return toks[1:]
            if toks and toks[0].kind == "word" and toks[0].text.startswith("d"):
                if "d" in self.table.names:
                    return None
                rest = toks[0].text[1:]
                first = [Token("word", rest, toks[0].pos + 1)] if rest else []
                return first + toks[1:]
            return None

        n, d = strip_d(num), strip_d(den)
        if n is None or d is None:
            return None
        if not d:
            raise ClaimError(f"col {t.pos + 1}: expected the variable after ∂ in the denominator")
        xnode = self.sub(d, "a variable to differentiate by")
        if not isinstance(xnode, Name | Idx):
            raise ClaimError(f"col {t.pos + 1}: can only differentiate by a symbol of the part")
        if n:
            p = Parser(list(n), self.src, self.table, self.notes)
            p.values = self.values
            p.tight, p.bare_arg = (
                self.tight,
                xnode,
            )  # `\\frac{d f_3}{d s}`: a function named alone is f_3(s)
            fnode = p.expr()
            if p.peek().kind != "eof":
                raise p.fail("an operator or the end of the function")
        else:
            fnode = self.implicit_chain()
        return Der(t.pos, fnode, xnode)

    # -- names, symbols and function calls
    def _base_text(self, t: Token) -> str:
        if t.kind in ("cmd", "name"):
            return t.text
        if t.kind == "word":
            return t.text
        raise self.fail("a name", t)

    def _scripts(self) -> tuple[str | None, str | None]:
        sub = sup = None
        while True:
            if self.is_op("_") and sub is None:
                self.i += 1
                g = self.group()
                sub = self.index_value(_canon_script(self.raw(g)))
                self._sub_end = g[-1].end if g else -1
            elif self.is_op("^") and sup is None:
                save = self.i
                self.i += 1
                g = self.group()
                sup = _canon_script(self.raw(g))
                self._sup_tokens = (save, self.i)
            else:
                return sub, sup

    def _scripted_name(self, base: str) -> bool:
        """`\\sigma_z`, `\\sigma^2`: a function's word with scripts that make a name of
        the part (a standard deviation, a variance), not the function applied."""
        if not (self.is_op("_") or self.is_op("^")):
            return False
        saved = (self.i, list(self.toks), self._sub_end, self._sup_tokens)
        try:
            sub, sup = self._scripts()
        except ClaimError:
            return False
        finally:
            self.i, self.toks, self._sub_end, self._sup_tokens = saved
        table = self.table.names
        name = base + (f"_{sub}" if sub is not None else "")
        if sup is not None and f"{name}^{sup}" in table:
            return True
        return sub is not None and (name in table or self.table.families.member(name) is not None)

    def index_value(self, script: str) -> str:
        """A subscript with the values of the sums being written out: `t-1` at t = 3 is
        `2`, `t` is `3` (`h_{t-1}` names h_2); others as written."""
        if not self.values or not re.search(r"[A-Za-z]", script):
            return script
        out = re.sub(
            r"(?<![A-Za-z\\])([A-Za-z])(?![A-Za-z])",
            lambda m: str(self.values.get(m.group(1), m.group(1))),
            script,
        )
        if re.fullmatch(r"[0-9]+(?:[-+][0-9]+)*", out):
            return str(eval_index(out))
        return out

    def _split_word(self, t: Token) -> None:
        """Replace a run of letters by its pieces: `tW` -> t, W; `sigmoid` stays whole."""
        text = t.text
        if t.literal or len(text) == 1:
            return
        pieces: list[str] = []
        k = 0
        while k < len(text):
            for w in self.table.words:
                if text.startswith(w, k):
                    pieces.append(w)
                    k += len(w)
                    break
            else:
                pieces.append(text[k])
                k += 1
        if len(pieces) > 1:
            toks, pos = [], t.pos
            for piece in pieces:
                toks.append(Token("word", piece, pos))
                pos += len(piece)
            self.toks[self.i : self.i + 1] = toks

    def named(self) -> Node:
        t = self.peek()
        if t.kind == "word":
            self._split_word(t)
            t = self.peek()
        self.i += 1
        base = self._base_text(t)
        if base in self.values and not (self.is_op("_") or self.is_op("'")):
            return Num(t.pos, str(self.values[base]))  # `t` while the sum over t is written out
        # Function words are only functions when the part has no symbol of that name.
        if base in FUNCTIONS and base not in self.table.names and not self._scripted_name(base):
            return self.call(t, FUNCTIONS[base])
        if base == r"\partial":
            raise self.fail("a derivative written as \\frac{\\partial f}{\\partial x}", t)
        table = self.table.names
        if base == r"\nabla" and self.is_op("_"):
            return self.gradient(t)
        nxt = self.peek()
        if base in _COMPOUND_HEADS and nxt.kind == "word":
            self._split_word(nxt)
            compound = f"{base} {self.peek().text}"
            if any(k == compound or k.startswith((compound + "_", compound + "^")) for k in table):
                base = compound
                self.i += 1
        primes = 0
        while self.is_op("'"):  # f'_3
            self.i += 1
            primes += 1
        self._sup_tokens = (0, 0)
        start = self.i
        sub, sup = self._scripts()
        if sup in _PRIME_MARKS:  # f_3^{\prime}
            primes += _PRIME_MARKS[sup]
            sup = None
        name = base + (f"_{sub}" if sub is not None else "")
        if sub is not None and name not in table and f"{name}^{sup}" not in table:
            special = self.special_subscript(t, base, sub, sup)
            if special is not None:
                return special
        obj: Any = None
        transpose = False
        if sup is not None and f"{name}^{sup}" in table:
            name = f"{name}^{sup}"
            obj = table[name]
        if obj is None and sup is not None:  # `W^{(2)T}`, `W^{(2)^T}`: W^(2), transposed
            for mark in sorted(_TRANSPOSE_MARKS, key=len, reverse=True):
                head = sup[: -len(mark)] if sup.endswith(mark) else ""
                head = head[:-1] if head.endswith("^") else head
                if head and f"{name}^{head}" in table:
                    name = f"{name}^{head}"
                    obj, transpose = table[name], True
                    break
        if obj is None and name in table:
            obj = table[name]
            if sup is not None:  # not part of the name: an exponent or a transpose
                self.i = self._sup_tokens[0]
        if obj is None and name in ("e",) and sup is None:
            return Const(t.pos, "e")
        if obj is None and name == "e" and sup is not None:
            self.i = self._sup_tokens[0]
            return Const(t.pos, "e")
        if obj is None and name == r"\pi":
            return Const(t.pos, "pi")
        if obj is None and base in FUNCTIONS:
            self.i = start
            return self.call(t, FUNCTIONS[base])
        nxt = self.peek()
        if obj is None and sub is not None and sup is None and nxt.kind == "word":
            # `W_out` typed without braces: LaTeX reads W_o ut, people mean W_{out}.
            for k in range(len(nxt.text), 0, -1):
                if nxt.pos == self._sub_end and f"{name}{nxt.text[:k]}" in table:
                    name += nxt.text[:k]
                    obj = table[name]
                    if k == len(nxt.text):
                        self.i += 1
                    else:
                        self.toks[self.i] = Token("word", nxt.text[k:], nxt.pos + k)
                    break
        if obj is None and sub is not None and sup is None:
            obj = self.table.families.member(name)
            family = split(name)
            if obj is not None and family is not None:  # `\\delta_i` beside `\\delta_j`
                known = family[0].name(self.table.families.members[family[0]][0])
                self.notes.append(
                    f"{display_name(name)} at col {t.pos + 1} is read as "
                    f"{display_name(known)} with the index {family[1]}"
                )
        if obj is None and sub == "T" and "T" not in table:
            last = self.last_member(base)
            if last is not None and sup is not None:  # h_T^2: the square of h_T
                self.i = self._sup_tokens[0]
            if last is not None:  # h_T: the last step of the part's numbered h
                self.notes.append(
                    f"{display_name(name)} at col {t.pos + 1} is read as {display_name(last)}, "
                    "the last step the part names"
                )
                name, obj = last, table[last]
        if obj is None and sub is None and sup is None:
            bar = re.fullmatch(r"\\bar\{(\\?[A-Za-z]+)\}", base)
            vector = table.get(bar.group(1)) if bar else None
            shape = getattr(vector, "shape", None)
            if bar and shape is not None and 1 in shape:
                self.notes.append(
                    f"{display_name(base)} at col {t.pos + 1} is read as the mean of "
                    f"{display_name(bar.group(1))}'s entries"
                )
                return Call(t.pos, "mean", (Name(t.pos, bar.group(1), vector),))
        if obj is None:
            alike = [k for k in table if k.lower() == name.lower()]
            if len(alike) == 1:
                self.notes.append(
                    f"{name} at col {t.pos + 1} is read as {alike[0]} (this part has no {name})"
                )
                name, obj = alike[0], table[alike[0]]
        if obj is None:
            shown = name + (f"^{sup}" if sup is not None else "")
            raise ClaimError(
                f"col {t.pos + 1}: unknown symbol {shown.replace(chr(92), '')!r}; "
                f"this part's symbols are: {self.table.known()}"
            )
        if isinstance(obj, sp.FunctionClass):
            return self.call(t, name, obj, primes)
        node: Node = Name(t.pos, name, obj)
        if primes and (getattr(obj, "shape", None) is None or primes > 1):
            raise ClaimError(f"col {t.pos + 1}: {display_name(name)} is not a function")
        if primes:  # y' for a vector y: its transpose
            self.notes.append(f"{display_name(name)}' at col {t.pos + 1} is read as a transpose")
            node = Tr(t.pos, node)
        if transpose:
            node = Tr(t.pos, node)
        nxt = self.peek()
        if nxt.kind == "open" and nxt.text == "(" and nxt.pos == self._end(t):
            self.notes.append(
                f"{node.render()}(…) at col {t.pos + 1} is read as a product: "
                f"{node.render()} is not a function"
            )
        return node

    def gradient(self, t: Token) -> Node:
        """`\\nabla_{W^{(1)}} E`: the gradient of what follows by the subscript's variable."""
        self.i += 1  # the `_`
        x = self.sub(self.group(), "a variable to take the gradient by")
        if not isinstance(x, Name | Idx):
            raise ClaimError(f"col {t.pos + 1}: ∇ takes the gradient by a symbol of the part")
        if not self._starts_primary(self.peek()):
            raise self.fail(f"the function whose gradient ∇_{x.render()} takes")
        return Grad(t.pos, self.postfix(), x)

    def special_subscript(self, t: Token, base: str, sub: str, sup: str | None) -> Node | None:
        """A subscript that names no symbol: a component `p_k` of a vector p (also
        `y^{(2)}_k`), or the Kronecker delta `\\delta_{jk}` when the part has no such symbol."""
        table = self.table.names
        head = base if sup is None else f"{base}^{sup}"
        if head in table:
            component = self.component(Name(t.pos, head, table[head]), sub)
            if component is not None:
                return component
        pair = re.fullmatch(r"([A-Za-z])(?:,)?([A-Za-z0-9])", sub)
        if base == r"\delta" and pair and sup is None:
            return Kron(t.pos, pair.group(1), pair.group(2))
        return None

    def statistic(self, t: Token, fn: str) -> Node | None:
        """`\\operatorname{Var}(w)`, `\\mathbb{E}[x]` of a name: the part's symbol for that
        statistic (V_w, σ_w^2; μ_x, m_x, x̄) when it has one, else None (then a vector's
        entries' mean or variance: batch statistics)."""
        nxt, after = self.peek(), self.peek(1)
        close = self.peek(2)
        if not (
            nxt.kind == "open" and after.kind in ("word", "cmd", "name") and close.kind == "close"
        ):
            return None
        q = after.text
        if fn == "var":
            names = [f"V_{q}", f"\\sigma_{q}^2", f"\\operatorname{{Var}}_{q}", f"s_{q}^2"]
        else:
            names = [f"\\mu_{q}", f"m_{q}", f"\\bar{{{q}}}", f"E_{q}"]
        for name in names:
            if name in self.table.names:
                self.i += 3
                shown = "Var" if fn == "var" else "E"
                self.notes.append(
                    f"{shown}({display_name(q)}) at col {t.pos + 1} is read as {display_name(name)}"
                )
                return Name(t.pos, name, self.table.names[name])
        return None

    def _end(self, t: Token) -> int:
        return self.toks[self.i - 1].end

    def call(self, t: Token, fn: str, obj: Any = None, prime: int = 0) -> Node:
        while self.is_op("'"):
            self.i += 1
            prime += 1
        if fn == "rot180" and self.is_op("_"):  # \operatorname{rot}_{180}
            save = self.i
            self.i += 1
            if not re.fullmatch(r"180(?:\^.*|°)?", _canon_script(self.raw(self.group()))):
                self.i = save  # rot_{180}, rot_{180^\circ}, rot_{180°}
        elif fn == "rot180" and self.peek().kind == "num" and self.peek().text == "180":
            self.i += 1  # rot180(K) typed plainly: the word rot, then 180
        if fn in ("mean", "var") and obj is None:
            named = self.statistic(t, fn)
            if named is not None:
                return named
        if fn == "sqrt" and self.peek().kind == "open" and self.peek().text == "[":
            raise self.fail("\\sqrt{…} (roots other than square roots are not supported)")
        nxt = self.peek()
        if nxt.kind == "open" and nxt.text == "(":
            self.i += 1
            args = [self.expr()]
            while self.is_op(","):
                self.i += 1
                args.append(self.expr())
            self.expect_close(nxt)
            return Call(t.pos, fn, tuple(args), prime, obj)
        if nxt.kind == "open" and nxt.text in "{[":
            self.i += 1
            arg = self.expr()
            self.expect_close(nxt)
            return Call(t.pos, fn, (arg,), prime, obj)
        if (
            self.is_op("^")
            and fn == "tanh"
            and self.peek(1).kind == "num"
            and self.peek(1).text == "2"
        ):
            self.i += 2  # \tanh^2(u): the square of tanh(u), as trigonometry writes it
            inner = self.call(t, fn)
            self.notes.append(f"tanh^2(…) at col {t.pos + 1} is read as (tanh(…))^2")
            return Pow(t.pos, inner, Num(t.pos, "2"))
        if self.is_op("^") and fn in ("exp", "log", "sigmoid", "tanh"):
            raise self.fail(
                f"'(' after {t.text} (powers of functions are ambiguous; use parentheses)"
            )
        if not self._starts_primary(nxt) and self.bare_arg is not None and obj is not None:
            return Call(t.pos, fn, (self.bare_arg,), prime, obj)
        if not self._starts_primary(nxt):
            raise self.fail(f"an argument after {t.text}")
        arg = self.implicit_chain()
        self.notes.append(f"{t.text} at col {t.pos + 1} is applied to {arg.render()}")
        return Call(t.pos, fn, (arg,), prime, obj)


@dataclass(frozen=True)
class Parsed:
    """A claim as read: the SymPy value of each `=`-separated member, and its reading."""

    latex: str
    members: tuple[Any, ...]
    reading: str
    notes: tuple[str, ...] = ()
    decimals: Any = None  # for a claim made only of written numbers: decimals per entry

    @property
    def expr(self) -> Any:
        """The claimed answer: the last member of an `a = b = c` chain."""
        return self.members[-1]

    @property
    def is_numeric(self) -> bool:
        return self.decimals is not None


_NUMBER = r"[-+−]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_NUMERIC_ONLY = re.compile(
    rf"^[\s\[\]\(\),;]*{_NUMBER}(?:[\s\[\]\(\),;]+{_NUMBER})*[\s\[\]\(\),;]*$"
)


#: a written exponent beyond this is no number anyone means (1e309 is not a float)
MAX_EXPONENT = 300


def _decimals(text: str) -> int:
    """The decimals a number is written to: `0.458` 3, `1.5e-3` 4, `2e5` -5.

    Raises ClaimError for numbers that say nothing: not finite (`1e309`), an absurd
    exponent, or a zero with an exponent (`0e5`, written to -5 decimals)."""
    m = re.fullmatch(r"[-+−]?(\d*)\.?(\d*)(?:[eE]([-+]?\d+))?", text)
    assert m is not None
    exponent = int(m.group(3)) if m.group(3) else 0
    if abs(exponent) > MAX_EXPONENT or not math.isfinite(float(text.replace("−", "-"))):
        raise ClaimError(f"{text} is not a finite number anyone can check")
    if m.group(3) and not (m.group(1) + m.group(2)).strip("0"):
        raise ClaimError(f"{text}: a zero with an exponent says nothing (write 0)")
    return len(m.group(2)) - exponent


def parse_numbers(latex: str) -> Parsed | None:
    """Plain numbers and (nested) lists as programs print them: `0.4063`, `[ 0.458 0.869]`."""
    if not _NUMERIC_ONLY.match(latex):
        return None
    stack: list[list[Any]] = [[]]
    for tok in re.findall(rf"{_NUMBER}|[\[\]\(\)]", latex):
        if tok in "[(":
            stack.append([])
        elif tok in "])":
            if len(stack) < 2:
                raise ClaimError(f"unbalanced {tok!r} in the list of numbers")
            inner = stack.pop()
            stack[-1].append(inner)
        else:
            stack[-1].append(tok.replace("−", "-"))
    if len(stack) != 1:
        raise ClaimError("a '[' in the list of numbers is never closed")
    top = stack[0]
    while len(top) == 1 and isinstance(top[0], list):
        top = top[0]
    if any(isinstance(x, list) for x in top):
        if not all(isinstance(x, list) and all(isinstance(y, str) for y in x) for x in top):
            raise ClaimError("only numbers, vectors and matrices of numbers can be compared")
        rows = top
    else:
        rows = [top]
    if any(len(r) != len(rows[0]) for r in rows):
        raise ClaimError("the rows of the matrix of numbers have different lengths")
    value = sp.ImmutableMatrix([[sp.Float(x, 30) for x in r] for r in rows])
    decimals = np.array([[_decimals(x) for x in r] for r in rows])
    if value.shape == (1, 1):
        reading = str(rows[0][0])
        return Parsed(latex, (value[0, 0],), reading, (), decimals)
    reading = "[" + "; ".join(", ".join(r) for r in rows) + "]"
    return Parsed(latex, (value,), reading, (), decimals)


def literal_decimals(n: Node) -> Any:
    if isinstance(n, Num):
        return np.array([[_decimals(n.text)]])
    if isinstance(n, Neg):
        return literal_decimals(n.a)
    if isinstance(n, Mat):
        out = [[literal_decimals(c) for c in r] for r in n.rows]
        if any(x is None for r in out for x in r):
            return None
        return np.array([[x[0, 0] for x in r] for r in out])
    return None
