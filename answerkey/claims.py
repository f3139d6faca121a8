"""Read answers people write in LaTeX and judge them against the computed key.

Graders, students and the earlier published solutions write answers in loose
LaTeX (`tW`, `\\sigma(Wx)`, `y^{(1)T}`, `e^{-Wx}`); a hand-written tokenizer and
recursive-descent parser reads that notation into the engine's SymPy objects
and shows its reading back, so a surprising reading is visible rather than
silently judged. Judging instantiates both sides at concrete sizes
(`answerkey.instantiate.Concrete`), compares them at many random points (which
also yields a counterexample) and tries `answerkey.verify.prove_equal`. Wrong
answers are matched against typical mistakes derived from the key so feedback
can name the mistake.
"""

from __future__ import annotations

import functools
import math
import re
import signal
import threading
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions import MatrixExpr
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from .errors import AnswerkeyError
from .instantiate import Concrete
from .instantiate import Matrix as ConcreteMatrix
from .mathfns import D, diag, elementwise, hadamard_ones_minus, relu, sigmoid, softmax
from .model import Assignment, Instance, Part
from .verify import prove_lazy

RANDOM_POINTS = 40
PROOF_SECONDS = 10.0
RTOL = 1e-7
ATOL = 1e-9
DEFAULT_DOMAIN = (-1.5, 1.5)
AUTO_SIZES = (2, 3, 4, 5)

Status = Literal["correct", "incorrect", "unreadable"]


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
_MUL_COMMANDS = {"cdot": "*", "times": "*", "ast": "*", "odot": "∘", "circ": "∘"}
_TRANSPOSE_MARKS = {"T", r"\top", r"\intercal", r"\mathsf{T}", r"\mathrm{T}"}
_MATRIX_ENVS = {"bmatrix", "pmatrix", "matrix", "Bmatrix", "smallmatrix", "array"}

# Known functions: name as written (after \, \text{} etc.) -> engine name.
FUNCTIONS = {
    **{w: w for w in ("sigmoid", "exp", "log", "diag", "softmax", "relu", "sqrt", "tanh")},
    **{"\\" + w: w for w in ("exp", "log", "sqrt", "tanh")},
    r"\sigma": "sigmoid", "sigma": "sigmoid", "ln": "log", r"\ln": "log",
    "ReLU": "relu", "ReLu": "relu",
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


def _tokenize(src: str, offset: int = 0) -> list[Token]:
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
                    if name in _FONT_WRAPPERS:
                        out += _tokenize(inner, offset + j + 1)
                    elif name in _NAME_WRAPPERS:
                        text = f"\\{name}{{{inner.strip()}}}"
                        out.append(Token("name", text, pos, span=offset + close + 1 - pos))
                    else:
                        word = inner.replace("\\_", "_").strip()
                        if word:
                            span = offset + close + 1 - pos
                            out.append(Token("word", word, pos, literal=True, span=span))
                    i = close + 1
                    continue
                if name in _FONT_WRAPPERS or name in _WORD_WRAPPERS:
                    continue  # \bf x, \rm x: a font switch, ignore it
            if name in _MUL_COMMANDS:
                out.append(Token("op", _MUL_COMMANDS[name], pos))
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
        elif c in "+-*/^_',=":
            out.append(Token("op", c, pos))
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
        return self.name.replace("\\", "")


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
        head = self.fn.replace("\\", "") + "'" * self.prime
        return f"{head}({', '.join(a.render() for a in self.args)})"


_BIN_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "∘": 2}
_BIN_SHOW = {"+": " + ", "-": " - ", "*": "·", "/": "/", "∘": " ∘ "}


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
        if isinstance(child, Bin) and child.op != self.op and "∘" in (child.op, self.op):
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
    x: Name

    def render(self) -> str:
        f = self.f.render() if isinstance(self.f, Name) else f"({self.f.render()})"
        return f"∂{f}/∂{self.x.render()}"


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
class _Table:
    """The part's symbols by canonical name, plus the multi-letter words to split on."""

    names: dict[str, Any]
    words: list[str]  # multi-letter bases and function words, longest first

    @classmethod
    def build(cls, symbols: Mapping[str, Any]) -> _Table:
        names: dict[str, Any] = {}
        for latex, obj in symbols.items():
            names[canonical_name(latex)] = obj
        words = {w for w in FUNCTIONS if not w.startswith("\\")}
        for key in names:
            base = re.split(r"[_^]", key, maxsplit=1)[0]
            if len(base) > 1 and base.isalpha():
                words.add(base)
        return cls(names, sorted(words, key=len, reverse=True))

    def known(self) -> str:
        return ", ".join(sorted(k for k in self.names)) or "none"


def canonical_name(latex: str) -> str:
    """A symbol's LaTeX name as names are matched: `W^{(1)}` -> `W^(1)`, `W_{out}` -> `W_out`."""
    toks = _tokenize(latex)
    if not toks:
        raise ClaimError(f"empty symbol name {latex!r}")
    p = _Parser(toks, latex, _Table({}, []), [])
    base = p._base_text(toks[0])
    p.i = 1
    sub, sup = p._scripts()
    if p.i != len(toks):
        raise ClaimError(f"cannot read symbol name {latex!r}")
    return base + (f"_{sub}" if sub is not None else "") + (f"^{sup}" if sup is not None else "")


_STARTS_PRIMARY = {"num", "word", "cmd", "name", "open", "begin", "partial"}


class _Parser:
    def __init__(self, toks: list[Token], src: str, table: _Table, notes: list[str]) -> None:
        self.toks = toks
        self.src = src
        self.table = table
        self.notes = notes
        self.i = 0
        self._sup_tokens = (0, 0)
        self._sub_end = -1

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
        p = _Parser(list(toks), self.src, self.table, self.notes)
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
        node = self.unary()
        while True:
            t = self.peek()
            if t.kind == "op" and t.text in ("*", "/", "∘"):
                self.i += 1
                node = Bin(t.pos, t.text, node, self.unary())
            elif self._starts_primary(t):
                node = Bin(t.pos, "*", node, self.postfix(), implicit=True)
            else:
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
            elif t.kind == "op" and t.text == "_":
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
        if t.kind in ("word", "cmd", "name"):
            return self.named()
        if t.kind == "partial":
            raise self.fail(r"a derivative written as \frac{\partial f}{\partial x}")
        raise self.fail("a number, a symbol, a function or '('")

    def list_tail(self, opener: Token, first: Node) -> Node:
        items = [first]
        while self.is_op(","):
            self.i += 1
            items.append(self.expr())
        self.expect_close(opener)
        if all(isinstance(x, Mat) and len(x.rows) == 1 for x in items):
            return Mat(opener.pos, tuple(x.rows[0] for x in items))  # type: ignore[attr-defined]
        return Mat(opener.pos, (tuple(items),))

    def matrix(self) -> Node:
        begin = self.take()
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
        if not isinstance(xnode, Name):
            raise ClaimError(f"col {t.pos + 1}: can only differentiate by a symbol of the part")
        fnode = self.sub(n, "the function") if n else self.implicit_chain()
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
                sub = _canon_script(self.raw(g))
                self._sub_end = g[-1].end if g else -1
            elif self.is_op("^") and sup is None:
                save = self.i
                self.i += 1
                g = self.group()
                sup = _canon_script(self.raw(g))
                self._sup_tokens = (save, self.i)
            else:
                return sub, sup

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
        # Function words are only functions when the part has no symbol of that name.
        if base in FUNCTIONS and base not in self.table.names:
            return self.call(t, FUNCTIONS[base])
        if base == r"\partial":
            raise self.fail("a derivative written as \\frac{\\partial f}{\\partial x}", t)
        self._sup_tokens = (0, 0)
        start = self.i
        sub, sup = self._scripts()
        name = base + (f"_{sub}" if sub is not None else "")
        table = self.table.names
        obj: Any = None
        transpose = False
        if sup is not None and f"{name}^{sup}" in table:
            name = f"{name}^{sup}"
            obj = table[name]
        elif name in table:
            obj = table[name]
            if sup is not None:  # not part of the name: an exponent or a transpose
                self.i = self._sup_tokens[0]
        elif sup is not None:
            for mark in sorted(_TRANSPOSE_MARKS, key=len, reverse=True):
                if sup.endswith(mark) and f"{name}^{sup[: -len(mark)]}" in table:
                    name = f"{name}^{sup[: -len(mark)]}"
                    obj, transpose = table[name], True
                    break
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
            return self.call(t, name, obj)
        node: Node = Name(t.pos, name, obj)
        if transpose:
            node = Tr(t.pos, node)
        nxt = self.peek()
        if nxt.kind == "open" and nxt.text == "(" and nxt.pos == self._end(t):
            self.notes.append(
                f"{node.render()}(…) at col {t.pos + 1} is read as a product: "
                f"{node.render()} is not a function"
            )
        return node

    def _end(self, t: Token) -> int:
        return self.toks[self.i - 1].end

    def call(self, t: Token, fn: str, obj: Any = None) -> Node:
        prime = 0
        while self.is_op("'"):
            self.i += 1
            prime += 1
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
        if self.is_op("^") and fn in ("exp", "log", "sigmoid", "tanh"):
            raise self.fail(
                f"'(' after {t.text} (powers of functions are ambiguous; use parentheses)"
            )
        if not self._starts_primary(nxt):
            raise self.fail(f"an argument after {t.text}")
        arg = self.implicit_chain()
        self.notes.append(f"{t.text} at col {t.pos + 1} is applied to {arg.render()}")
        return Call(t.pos, fn, (arg,), prime, obj)


# ---------------------------------------------------------------------------
# Meaning: syntax tree -> the engine's SymPy objects, with shape rules.


def _is_mat(x: Any) -> bool:
    return isinstance(x, MatrixExpr | sp.MatrixBase)


def _shape_str(x: Any) -> str:
    return "×".join(str(d) for d in x.shape) if _is_mat(x) else "scalar"


class _Builder:
    def __init__(self, notes: list[str]) -> None:
        self.notes = notes

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
        return -self.build(n.a)

    def _Tr(self, n: Tr) -> Any:
        a = self.build(n.a)
        return a.T if _is_mat(a) else a

    def _Pow(self, n: Pow) -> Any:
        a, b = self.build(n.a), self.build(n.b)
        if _is_mat(b):
            if a == sp.E:
                self.notes.append(f"e^(…) of a matrix at col {n.pos + 1} is read entrywise")
                return elementwise("exp", b)
            raise self.err(n, "an exponent must be a scalar")
        if _is_mat(a):
            if isinstance(n.a, Call) and n.a.fn == "norm" and b == 2:
                from .mathfns import sqnorm

                return sqnorm(self.build(n.a.args[0]))
            if a.shape[0] != a.shape[1]:
                raise self.err(n, f"cannot raise a {_shape_str(a)} matrix to a power")
            return sp.Inverse(a) if b == -1 else sp.MatPow(a, b)
        if a.is_number and b.is_number:
            size = abs(float(b)) * max(1.0, math.log10(max(abs(complex(a)), 1e-300)))
            if size > 10_000 or abs(float(b)) > 10_000:
                raise ClaimError(f"col {n.pos + 1}: the number is too large to work with")
        return a**b

    def _Bin(self, n: Bin) -> Any:
        a, b = self.build(n.a), self.build(n.b)
        if n.op in "+-":
            return self.add(n, a, b if n.op == "+" else -b)
        if n.op == "/":
            if _is_mat(b):
                raise self.err(n, f"cannot divide by a {_shape_str(b)} matrix")
            return a / b if not _is_mat(a) else (1 / b) * a
        return self.mul(n, a, b)

    def add(self, n: Node, a: Any, b: Any) -> Any:
        ma, mb = _is_mat(a), _is_mat(b)
        if not ma and not mb:
            return a + b
        if ma and mb:
            if a.shape != b.shape:
                raise self.err(n, f"cannot add a {_shape_str(a)} and a {_shape_str(b)} matrix")
            return sp.MatAdd(a, b)
        m, s = (a, b) if ma else (b, a)
        if s == 0:
            return m
        if tuple(m.shape) != (1, 1):
            self.notes.append(
                f"the scalar added to a {_shape_str(m)} matrix at col {n.pos + 1} is read "
                f"entrywise (1 as a vector of ones)"
            )
        return sp.MatAdd(m, s * sp.OneMatrix(*m.shape))

    def mul(self, n: Bin, a: Any, b: Any) -> Any:
        ma, mb = _is_mat(a), _is_mat(b)
        if n.op == "∘":
            if ma and mb:
                if a.shape != b.shape:
                    raise self.err(
                        n,
                        f"cannot multiply a {_shape_str(a)} and a {_shape_str(b)} matrix entrywise",
                    )
                return sp.HadamardProduct(a, b)
            return a * b
        if not ma or not mb:
            return a * b
        if a.shape[1] == b.shape[0]:
            return sp.MatMul(a, b)
        if a.shape == b.shape:
            self.notes.append(
                f"the product of two {_shape_str(a)} matrices at col {n.pos + 1} is read "
                f"entrywise (∘)"
            )
            return sp.HadamardProduct(a, b)
        raise self.err(
            n, f"cannot multiply a {_shape_str(a)} by a {_shape_str(b)} matrix (dimensions differ)"
        )

    def _Mat(self, n: Mat) -> Any:
        cells = [[self.build(c) for c in row] for row in n.rows]
        if any(_is_mat(c) for row in cells for c in row):
            raise self.err(n, "matrix entries must be scalars")
        return sp.ImmutableMatrix(cells)

    def _Der(self, n: Der) -> Any:
        f = self.build(n.f)
        x = n.x.obj
        if not isinstance(x, sp.Symbol | sp.MatrixSymbol):
            raise self.err(n, f"cannot differentiate by {n.x.render()}")
        try:
            d = D(f, x)
            d.shape  # noqa: B018 - raises when there is no layout
        except (ValueError, TypeError) as exc:
            raise self.err(n, str(exc)) from None
        return d

    def _Call(self, n: Call) -> Any:
        args = [self.build(a) for a in n.args]
        if n.obj is not None:  # an arbitrary function of the part, like f_3
            if any(_is_mat(a) for a in args):
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
        if len(args) != 1:
            raise self.err(n, f"{n.fn} takes one argument")
        u = args[0]
        fn = n.fn
        if fn == "norm":
            from .mathfns import sqnorm

            if not _is_mat(u):
                return sp.Abs(u)
            return sp.sqrt(sqnorm(u))
        if n.prime > 1:
            raise self.err(n, "only first derivatives of named functions are supported")
        if _is_mat(u):
            if fn == "diag":
                if u.shape[1] != 1:
                    raise self.err(n, f"diag needs a column vector, not a {_shape_str(u)} matrix")
                return diag(u)
            if fn == "softmax":
                if u.shape[1] != 1:
                    raise self.err(n, "softmax needs a column vector")
                return softmax(u)
            if fn in ("sigmoid", "log", "exp", "relu") and not n.prime:
                return elementwise(fn, u)
            if fn == "sigmoid" and n.prime:
                s = elementwise("sigmoid", u)
                return sp.HadamardProduct(s, hadamard_ones_minus(s))
            raise self.err(n, f"{fn}{chr(39) * n.prime} of a matrix is not supported")
        if fn in ("diag", "softmax"):
            raise self.err(n, f"{fn} needs a vector")
        f = {
            "sigmoid": sigmoid,
            "exp": sp.exp,
            "log": sp.log,
            "relu": relu,
            "sqrt": sp.sqrt,
            "tanh": sp.tanh,
        }[fn]
        if n.prime:
            d = sp.Dummy("u")
            return sp.diff(f(d), d).subs(d, u)
        return f(u)


# ---------------------------------------------------------------------------
# Public: parsing


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


def _decimals(text: str) -> int:
    m = re.fullmatch(r"[-+−]?(\d*)\.?(\d*)(?:[eE]([-+]?\d+))?", text)
    assert m is not None
    return len(m.group(2)) - (int(m.group(3)) if m.group(3) else 0)


def _parse_numbers(latex: str) -> Parsed | None:
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


def _literal_decimals(n: Node) -> Any:
    if isinstance(n, Num):
        return np.array([[_decimals(n.text)]])
    if isinstance(n, Neg):
        return _literal_decimals(n.a)
    if isinstance(n, Mat):
        out = [[_literal_decimals(c) for c in r] for r in n.rows]
        if any(x is None for r in out for x in r):
            return None
        return np.array([[x[0, 0] for x in r] for r in out])
    return None


def parse_claim(latex: str, symbols: Mapping[str, Any]) -> Parsed:
    """Read a claimed answer written in LaTeX; `symbols` maps LaTeX names to SymPy objects.

    Raises `ClaimError` (one line: where, and what was expected) when it cannot be
    read, `ClaimShapeError` when it reads but its dimensions do not fit together.
    """
    if not isinstance(latex, str):
        raise ClaimError("the claim must be text")
    text = latex.strip().strip("$").strip()
    text = re.sub(r"^\\\[|\\\]$", "", text).strip()
    try:
        numbers = _parse_numbers(text)
        if numbers is not None:
            return numbers
        table = _Table.build(symbols)
        notes: list[str] = []
        members = _Parser(_tokenize(text), text, table, notes).claim()
        try:
            values = tuple(_Builder(notes).build(m) for m in members)
        except ClaimShapeError as exc:
            exc.reading = " = ".join(m.render() for m in members)
            raise
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
    decimals = _literal_decimals(members[-1]) if len(members) == 1 else None
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
        objs: set[Any] = set(e.atoms(sp.Symbol, sp.MatrixSymbol))
        objs |= {e} if isinstance(e, sp.Symbol | sp.MatrixSymbol) else set()
        for m in [o for o in objs if isinstance(o, sp.MatrixSymbol)]:  # sizes are not inputs
            objs -= set().union(*(sp.sympify(d).free_symbols for d in m.shape))
        for f in e.atoms(sp.Function):
            if isinstance(f, AppliedUndef) or (
                hasattr(type(f), "_imp_") and "prime" not in type(f).__name__
            ):
                objs.add(type(f))
        for obj in sorted(objs, key=str):
            if isinstance(obj, sp.Dummy) or str(obj) in FUNCTIONS:  # elementwise("log", …)
                continue
            name = str(getattr(obj, "name", None) or getattr(obj, "__name__", obj))
            latex = notation.get(name) or sp.latex(sp.Symbol(name))
            try:
                canonical_name(latex)
            except ClaimError:
                continue
            table.setdefault(latex, obj)
    return table


# ---------------------------------------------------------------------------
# Judging


@dataclass(frozen=True)
class Counterexample:
    """Where claim and key differ: the inputs, and both values there."""

    point: Mapping[str, float]
    claim: Any  # float, or nested lists for a matrix; None when not finite
    key: Any
    entry: tuple[int, int] | None = None
    functions: Mapping[str, str] = field(default_factory=dict)
    remark: str = ""
    digits: int = 6  # significant digits shown

    def __str__(self) -> str:
        return self.describe()

    def describe(self, limit: int = 8) -> str:
        """One line; at most `limit` inputs, and only the differing entry of a matrix."""
        parts = []
        if self.point:
            items = [f"{k}={_fmt(v)}" for k, v in list(self.point.items())[:limit]]
            more = len(self.point) - limit
            parts.append("at " + ", ".join(items) + (f", … ({more} more)" if more > 0 else ""))
        if self.functions:
            parts.append("with " + ", ".join(f"{k}(u)={v}" for k, v in self.functions.items()))
        claim, key = self.claim, self.key
        where = ""
        if self.entry is not None and isinstance(claim, list) and isinstance(key, list):
            i, j = self.entry
            claim, key = claim[i][j], key[i][j]
            where = f" entry ({i + 1},{j + 1})"
        d = self.digits
        vals = f"claim{where} = {_fmt(claim, d)}, key{where} = {_fmt(key, d)}"
        text = "; ".join([*parts, vals])
        return f"{text} ({self.remark})" if self.remark else text

    def to_json(self) -> dict[str, Any]:
        return {
            "point": dict(self.point),
            "claim": self.claim,
            "key": self.key,
            "entry": list(self.entry) if self.entry else None,
            "functions": dict(self.functions),
            "remark": self.remark,
            "text": str(self),
        }


def _fmt(v: Any, digits: int = 6) -> str:
    if v is None:
        return "undefined"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x, digits) for x in v) + "]"
    if isinstance(v, float):
        return "undefined" if not math.isfinite(v) else f"{v:.{digits}g}"
    return str(v)


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a claim; `reason` is the one line to print."""

    status: Status
    reason: str
    counterexample: Counterexample | None = None
    mistake: str | None = None
    reading: str | None = None
    notes: tuple[str, ...] = ()
    how: str = ""

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    @property
    def exit_code(self) -> int:
        return {"correct": 0, "incorrect": 1, "unreadable": 2}[self.status]

    def lines(self) -> list[str]:
        """What `answerkey check` prints: the verdict, the reading, and why."""
        how = f" ({self.how})" if self.correct and self.how else ""
        out = [f"{self.status}: {self.reason}{how}"]
        if self.reading:
            out.append(f"read as: {self.reading}")
        out += [f"note: {n}" for n in self.notes]
        if self.mistake:
            out.append(f"this is a typical mistake: {self.mistake}")
        if self.counterexample is not None:
            out.append(f"counterexample: {self.counterexample}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.status,
            "reason": self.reason,
            "reading": self.reading,
            "mistake": self.mistake,
            "counterexample": str(self.counterexample) if self.counterexample else None,
            "how": self.how,
        }


Domain = Instance | Sequence[Instance] | Mapping[str, tuple[float, float]] | None


def _instances(domain: Domain, *exprs: Any) -> list[Instance]:
    if isinstance(domain, Instance):
        insts = [domain]
    elif domain is None:
        insts = [Instance()]
    elif isinstance(domain, Mapping):
        insts = [Instance(domain=dict(domain))]
    else:
        insts = list(domain) or [Instance()]
    return [_with_sizes(i, *exprs) for i in insts]


def _with_sizes(inst: Instance, *exprs: Any) -> Instance:
    """Give every dimension symbol a small distinct size when the instance leaves it open."""
    dims: set[sp.Symbol] = set()
    for e in [*exprs, *inst.defs.keys(), *inst.defs.values()]:
        if e is None:
            continue
        e = sp.sympify(e)
        for m in e.atoms(sp.MatrixSymbol) | ({e} if isinstance(e, sp.MatrixSymbol) else set()):
            for d in m.shape:
                dims |= {s for s in sp.sympify(d).free_symbols if isinstance(s, sp.Symbol)}
    known = {str(k) for k in inst.sizes}
    missing = sorted((d for d in dims if d.name not in known), key=lambda s: s.name)
    if not missing:
        return inst
    sizes = dict(inst.sizes)
    for k, d in enumerate(missing):
        sizes[d] = AUTO_SIZES[k % len(AUTO_SIZES)]
    return Instance(sizes, inst.defs, inst.given, inst.domain, inst.label)


def _normalize(expr: Any) -> Any:
    """Derivative(f(x), x) of an arbitrary f -> Subs form, so definitions can be substituted."""
    if not isinstance(expr, sp.Basic):
        return expr

    def fix(d: Any) -> Any:
        if (
            isinstance(d.expr, AppliedUndef)
            and len(d.variables) == 1
            and d.expr.args == d.variables
        ):
            u = sp.Dummy("u")
            return sp.Subs(sp.Derivative(d.expr.func(u), u), u, d.variables[0])
        return d

    expr = expr.replace(lambda e: isinstance(e, sp.Derivative), fix)

    def bound(sub: Any) -> Any:
        # One name per position: equal Subs compare equal, and no clash with real symbols.
        names = {v: sp.Symbol(f"_s{k}") for k, v in enumerate(sub.variables)}
        return sp.Subs(sub.expr.xreplace(names), tuple(names.values()), sub.point)

    return expr.replace(lambda e: isinstance(e, sp.Subs), bound)


def _to_numbers(v: Any) -> np.ndarray | None:
    """A numeric key (float, list, array, constant SymPy matrix) as a 2-D array, else None."""
    if isinstance(v, sp.Basic):
        if isinstance(v, MatrixExpr) and not isinstance(v, sp.MatrixBase):
            return None
        if v.free_symbols or v.atoms(sp.MatrixSymbol, AppliedUndef):
            return None
        try:
            arr = np.array(sp.Matrix(v) if _is_mat(v) else [[v]], dtype=float)
        except (TypeError, ValueError):
            return None
    else:
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            return None
    return arr.reshape(1, -1) if arr.ndim <= 1 else arr


@dataclass
class _Values:
    syms: list[sp.Symbol]
    fn: Callable[..., Any]
    shape: tuple[int, int]


class _Judge:
    """Claim and key (and mistakes) instantiated at one instance, compared at the same points."""

    def __init__(self, inst: Instance, rng: np.random.Generator, points: int) -> None:
        self.inst = inst
        # a claim is read as written: a derivative of a quantity by something it
        # does not depend on is zero (the seed's 1a writes one), not a missing definition
        self.c = Concrete(inst, unlinked_zero=True)
        self.rng = rng
        self.n = points
        self.fcoef: dict[Any, tuple[sp.Symbol, ...]] = {}
        self.cache: dict[Any, ConcreteMatrix] = {}
        self.stand_ins: dict[str, str] = {}

    def value(self, expr: Any) -> ConcreteMatrix:
        key = sp.sympify(expr)
        if key not in self.cache:
            self.cache[key] = self.c.lazy(_normalize(key))
        return self.cache[key]

    def _concrete_functions(self, m: ConcreteMatrix) -> ConcreteMatrix:
        """Arbitrary functions (f_1 …) become random smooth ones: a·sin(b·u + c) + d·u."""
        funcs = {a.func for a in m.atoms(AppliedUndef)}
        if not funcs:
            return m
        u = sp.Dummy("u")
        for f in sorted(funcs, key=str):
            if f not in self.fcoef:
                self.fcoef[f] = tuple(sp.Symbol(f"{f}:{c}", real=True) for c in "abcd")
            a, b, c, d = self.fcoef[f]
            m = m.replace(f, sp.Lambda(u, a * sp.sin(b * u + c) + d * u))
        return ConcreteMatrix(m.doit())

    def compare(
        self, a: ConcreteMatrix, b: ConcreteMatrix
    ) -> tuple[int, Counterexample | None, Counterexample | None]:
        """(points compared, first difference, a point where only `a` is not finite)."""
        a, b = self._concrete_functions(a), self._concrete_functions(b)
        self.stand_ins = {
            type(f).__name__: str(type(f)._imp_(sp.Symbol("u")))
            for f in (a.atoms(sp.Function) | b.atoms(sp.Function))
            if hasattr(type(f), "_imp_") and callable(type(f)._imp_)
        }
        # Values are lazy (`Concrete.lazy`): the inputs are drawn here, the defined
        # variables computed from them through the instance's definitions.
        syms = [s for s in self.c.inputs(a, b) if s not in self.c.nodes]
        points = [self._sample(syms) for _ in range(self.n)]
        fixed = {s: np.array([p[s] for p in points]) for s in syms}
        try:
            env = self.c.sample([a, b], self.n, self.rng, DEFAULT_DOMAIN, fixed=fixed)
            all_a = self.c.evaluate(a, env, self.n)
            all_b = self.c.evaluate(b, env, self.n)
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            return 0, None, None
        compared = 0
        undefined: Counterexample | None = None
        for k, point in enumerate(points):
            va, vb = all_a[k], all_b[k]
            fin_a, fin_b = np.all(np.isfinite(va)), np.all(np.isfinite(vb))
            if not (fin_a and fin_b):
                if fin_b and not fin_a and undefined is None:
                    undefined = self._cex(point, va, vb, None, "the claim is undefined there")
                continue
            compared += 1
            if va.shape != vb.shape:
                return compared, self._cex(point, va, vb, None, ""), undefined
            bad = ~np.isclose(va, vb, rtol=RTOL, atol=ATOL)
            if bad.any():
                i, j = (int(k) for k in np.argwhere(bad)[0])
                entry = (i, j) if va.shape != (1, 1) else None
                return compared, self._cex(point, va, vb, entry, ""), undefined
        return compared, None, undefined

    def _sample(self, syms: Iterable[sp.Symbol]) -> dict[sp.Symbol, float]:
        point = {}
        for s in syms:
            if ":" in s.name:  # a coefficient of a stand-in function
                lo, hi = (0.5, 1.5) if s.name.endswith((":a", ":b")) else (-1.0, 1.0)
            else:
                base = s.name.rsplit("_", 1)[0] if "_" in s.name else s.name
                lo, hi = self.inst.domain.get(s.name, self.inst.domain.get(base, DEFAULT_DOMAIN))
            point[s] = float(self.rng.uniform(lo, hi))
        return point

    def _cex(
        self,
        point: Mapping[sp.Symbol, float],
        va: np.ndarray,
        vb: np.ndarray,
        entry: tuple[int, int] | None,
        remark: str,
    ) -> Counterexample:
        plain = {s.name: round(v, 6) for s, v in point.items() if ":" not in s.name}
        funcs = {k: v.replace("**", "^") for k, v in sorted(self.stand_ins.items())}
        for f, (a, b, c, d) in self.fcoef.items():
            if a in point:
                funcs[str(f)] = (
                    f"{point[a]:.3g}·sin({point[b]:.3g}u{point[c]:+.3g}){point[d]:+.3g}u"
                )
        if va.shape != vb.shape:
            remark = (
                f"the claim is a {va.shape[0]}×{va.shape[1]} matrix, "
                f"the key a {vb.shape[0]}×{vb.shape[1]} one"
            )
        return Counterexample(plain, _plain(va), _plain(vb), entry, funcs, remark)


def _plain(v: np.ndarray) -> Any:
    if v.shape == (1, 1):
        x = float(v[0, 0])
        return x if math.isfinite(x) else None
    return [[float(x) if math.isfinite(x) else None for x in row] for row in v]


class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Give up on a symbolic proof that takes too long (main thread only; else no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise _Timeout

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _numeric_verdict(claim: Parsed | Any, key: np.ndarray, decimals: Any) -> Verdict:
    c = _to_numbers(claim)
    assert c is not None
    if c.size != key.size or (c.shape != key.shape and min(c.shape) > 1 and min(key.shape) > 1):
        return Verdict(
            "incorrect",
            f"the claim has {c.shape[0]}×{c.shape[1]} numbers, "
            f"the key {key.shape[0]}×{key.shape[1]}",
            Counterexample({}, _plain(c), _plain(key)),
        )
    if c.shape != key.shape:
        c = c.reshape(key.shape)
        decimals = None if decimals is None else np.asarray(decimals).reshape(key.shape)
    if decimals is None:
        tol = np.maximum(ATOL, RTOL * np.abs(key))
        prec = "exactly"
    else:
        tol = 0.5 * 10.0 ** (-np.asarray(decimals, dtype=float))
        tol = tol * (1 + 1e-9) + 1e-12 * np.abs(key)
        prec = "at the precision written"
    bad = np.abs(c - key) > tol
    if not bad.any():
        return Verdict("correct", f"equals the key's value {prec}")
    i, j = (int(k) for k in np.argwhere(bad)[0])
    entry = (i, j) if key.shape != (1, 1) else None
    d = "" if decimals is None else f"written to {int(np.asarray(decimals)[i, j])} decimals"
    return Verdict(
        "incorrect",
        "differs from the key's value" + (f" (entry {i + 1},{j + 1})" if entry else ""),
        Counterexample({}, _plain(c), _plain(key), entry, {}, d, digits=12),
    )


def judge(
    claim_expr: Any,
    key_expr: Any,
    domain: Domain = None,
    *,
    mistakes: Mistakes = None,
    decimals: Any = None,
    points: int = RANDOM_POINTS,
    seed: int = 0,
) -> Verdict:
    """Is `claim_expr` equal to `key_expr`?

    `domain` is an `Instance` (or several) giving sizes, definitions, assumptions
    and the input ranges, or just a mapping of input ranges; open dimensions get
    small distinct sizes. The two sides are compared numerically at `points`
    random inputs (skipping points where either is not finite) and, when those
    agree, symbolically with `prove_equal`. Numeric keys (numbers, arrays) are
    compared at the precision the claim was written with (`decimals`, per entry).
    When the claim is wrong and matches one of `mistakes`, the verdict names it.
    """
    if isinstance(claim_expr, Parsed):
        decimals = claim_expr.decimals if decimals is None else decimals
        claim_expr = claim_expr.expr
    key_numbers = _to_numbers(key_expr)
    if key_numbers is not None and _to_numbers(claim_expr) is not None:
        return _numeric_verdict(claim_expr, key_numbers, decimals)
    if key_numbers is not None and not isinstance(key_expr, sp.Basic):
        key_expr = (
            sp.ImmutableMatrix(key_numbers) if key_numbers.size > 1 else sp.Float(key_numbers[0, 0])
        )
    claim_expr, key_expr = sp.sympify(claim_expr), sp.sympify(key_expr)
    rng = np.random.default_rng(seed)
    hows: list[str] = []
    total = 0
    for inst in _instances(domain, claim_expr, key_expr):
        at = f" ({inst.label})" if inst.label else ""
        jd = _Judge(inst, rng, points)
        try:
            cv, kv = jd.value(claim_expr), jd.value(key_expr)
        except (ValueError, TypeError, AttributeError, KeyError, sp.ShapeError) as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            return Verdict("unreadable", f"cannot evaluate the claim{at}: {first}")
        if cv.shape != kv.shape:
            n, cex, _ = jd.compare(cv, kv)
            reason = f"it is a {_shape_str(cv)} matrix, the answer is {_shape_str(kv)}{at}"
            return Verdict("incorrect", reason, cex, _match_mistake(jd, cv, mistakes, claim_expr))
        n, cex, undefined = jd.compare(cv, kv)
        total += n
        if cex is not None:
            return Verdict(
                "incorrect",
                f"differs from the answer{at}",
                cex,
                _match_mistake(jd, cv, mistakes, claim_expr),
            )
        if n == 0:
            if undefined is not None:
                return Verdict("incorrect", f"undefined where the answer is defined{at}", undefined)
            return Verdict("unreadable", f"could not evaluate claim and answer at any point{at}")
        if not inst.prove:  # a large instance whose proof a smaller one carries
            continue
        try:  # SymPy may fail or take too long; the numbers have decided already
            with _time_limit(PROOF_SECONDS):
                proof = prove_lazy(jd.c, kv, cv)
        except Exception:
            proof = None
        hows.append(f"proved symbolically ({proof})" if proof else "not proved symbolically")
    how = "; ".join(dict.fromkeys(hows)) + f"; equal at {total} random points"
    return Verdict("correct", "equals the answer", how=how)


Mistakes = Sequence[tuple[str, Any]] | Callable[[], Sequence[tuple[str, Any]]] | None


def _match_mistake(jd: _Judge, cv: ConcreteMatrix, mistakes: Mistakes, claim: Any) -> str | None:
    if callable(mistakes):  # made only now: most claims are right and never need them
        try:
            mistakes = mistakes()
        except Exception:
            mistakes = []
    for name, wrong in mistakes or ():
        try:
            wv = jd.value(wrong)
        except Exception:
            continue
        if wv.shape != cv.shape:
            continue
        n, cex, _ = jd.compare(cv, wv)
        if n > 0 and cex is None:
            return name
    return None


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


def _show(e: Any, names: Mapping[Any, str] | None = None) -> str:
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
        found.append((f"missing transpose on {_show(t.arg, names)}", key.xreplace({t: t.arg})))
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
                found.append((f"dropped the factor {_show(a, names)}", wrong))
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


# ---------------------------------------------------------------------------
# Checking against a part, and claims files


@dataclass(frozen=True)
class KeyAnswer:
    """Everything needed to check claims for one part (or one value of a trace)."""

    answer: Any
    symbols: Mapping[str, Any] = field(default_factory=dict)
    instances: Sequence[Instance] = ()
    lhs: Any = None
    mistakes: Sequence[tuple[str, Any]] | None = None  # None: typical_mistakes(answer)

    @classmethod
    def from_part(
        cls,
        part: Part,
        symbols: Mapping[str, Any] | None = None,
        notation: Mapping[str, str] | None = None,
        quantity: str | None = None,
    ) -> KeyAnswer | None:
        """The key of a part: its final answer, its last derivation's instances, its symbols.

        Without `symbols`: the part's `data["symbols"]`, or else every name in the
        part's answer, derivations and definitions, written as the key prints them
        (`notation` is `Assignment.notation`). `quantity` (LaTeX, e.g.
        `\\frac{\\partial L}{\\partial w_1}`) picks the derivation of that quantity
        instead of the final answer; None when the part has no such derivation.
        """
        if symbols is None:
            symbols = part.data.get("symbols") if part.data else None
        if symbols is None:
            exprs = [part.final, part.final_lhs]
            for d in part.derivations:
                exprs += [d.lhs, d.steps[-1].expr]
                for i in d.instances:
                    exprs += [*i.defs.keys(), *i.defs.values()]
            symbols = default_symbols(*exprs, notation=notation)
        if quantity is not None:
            try:
                target = parse_claim(quantity, symbols).expr
            except ClaimError:
                return None
            for d in part.derivations:
                if d.lhs == target:
                    return cls(d.steps[-1].expr, dict(symbols), tuple(d.instances), d.lhs)
            return None
        if part.final is None:
            return None
        insts = tuple(part.derivations[-1].instances) if part.derivations else ()
        return cls(part.final, dict(symbols), insts, part.final_lhs)

    def typical_mistakes(self) -> list[tuple[str, Any]]:
        if self.mistakes is not None:
            return list(self.mistakes)
        if _to_numbers(self.answer) is not None:
            return []
        inst = self.instances[0] if self.instances else None
        names = {}
        for latex, obj in self.symbols.items():
            try:
                names[obj] = canonical_name(latex).replace("\\", "")
            except ClaimError:
                continue
        return typical_mistakes(self.answer, lhs=self.lhs, instance=inst, names=names)


def check(latex: str, key: KeyAnswer, *, seed: int = 0) -> Verdict:
    """Parse and judge a claim against a part's key; never raises for a bad claim.

    Every member of an `a = b` chain must equal the answer.
    """
    try:
        parsed = parse_claim(latex, key.symbols)
    except ClaimShapeError as exc:
        return Verdict("incorrect", f"the dimensions do not fit: {exc}", reading=exc.reading)
    except ClaimError as exc:
        return Verdict("unreadable", str(exc))
    mistakes: Mistakes = None
    if _to_numbers(key.answer) is None:
        mistakes = functools.cache(key.typical_mistakes)
    verdict: Verdict | None = None
    for k, member in enumerate(parsed.members):
        decimals = parsed.decimals if k == len(parsed.members) - 1 else None
        v = judge(
            member,
            key.answer,
            list(key.instances) or None,
            mistakes=mistakes,
            decimals=decimals,
            seed=seed,
        )
        if len(parsed.members) > 1 and not v.correct:
            v = Verdict(
                v.status,
                f"member {k + 1} of the chain {v.reason}",
                v.counterexample,
                v.mistake,
                how=v.how,
            )
        verdict = v
        if not v.correct:
            break
    assert verdict is not None
    return Verdict(
        verdict.status,
        verdict.reason,
        verdict.counterexample,
        verdict.mistake,
        parsed.reading,
        parsed.notes,
        verdict.how,
    )


ClaimKind = Literal["formula", "text", "numeric"]


@dataclass(frozen=True)
class Claim:
    """One transcribed claim: `answer` as written; `formula` what a text answer implies."""

    part: str
    answer: str
    kind: ClaimKind = "formula"
    formula: str | None = None
    quantity: str | None = None  # numeric traces: which reported value ("L", "w", ...)
    update: int | None = None  # numeric traces: which update (1-based)
    note: str = ""

    @property
    def checked(self) -> str | None:
        """The LaTeX that is machine-checked, or None for prose."""
        return self.formula if self.kind == "text" else self.answer


@dataclass(frozen=True)
class ClaimsFile:
    assignment: str
    source: str
    claims: tuple[Claim, ...]


def load_claims(path: str | Path) -> ClaimsFile:
    """Read a claims TOML file (top-level `assignment`, `source`, then `[[claim]]` tables)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ClaimError(f"{p}: cannot read the claims file: {exc}") from None
    rows = data.get("claim", [])
    if not isinstance(rows, list):
        raise ClaimError(f"{p}: 'claim' must be a list of [[claim]] tables")
    claims = []
    allowed = {"part", "answer", "kind", "formula", "quantity", "update", "note"}
    for k, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or "part" not in row or "answer" not in row:
            raise ClaimError(f"{p}: claim {k} needs 'part' and 'answer'")
        extra = set(row) - allowed
        if extra:
            raise ClaimError(f"{p}: claim {k} has unknown field(s) {', '.join(sorted(extra))}")
        kind = row.get("kind", "formula")
        if kind not in ("formula", "text", "numeric"):
            raise ClaimError(f"{p}: claim {k}: kind must be formula, text or numeric")
        claims.append(
            Claim(
                str(row["part"]),
                str(row["answer"]),
                kind,
                row.get("formula"),
                row.get("quantity"),
                row.get("update"),
                str(row.get("note", "")),
            )
        )
    return ClaimsFile(str(data.get("assignment", "")), str(data.get("source", "")), tuple(claims))


@dataclass(frozen=True)
class Erratum:
    """A claim with its computed verdict, for the key's errata section and answers.json."""

    claim: Claim
    verdict: Verdict

    def to_json(self) -> dict[str, Any]:
        cex = self.verdict.counterexample
        return {
            "part": self.claim.part,
            "claim": self.claim.answer,
            "verdict": self.verdict.status,
            "counterexample": str(cex) if cex else None,
            "reason": self.verdict.reason,
            "reading": self.verdict.reading,
            "mistake": self.verdict.mistake,
            "quantity": self.claim.quantity,
            "update": self.claim.update,
            "note": self.claim.note,
        }


_VERDICTS: dict[tuple[Any, ...], Verdict] = {}


def check_claim(claim: Claim, key: KeyAnswer | None, *, seed: int = 0) -> Verdict:
    """The verdict on one transcribed claim; prose and claims without a key are unreadable.

    Verdicts are remembered per (claim, key) in this process: the variants of a
    term share their number-free parts, so their errata are judged once.
    """
    if key is None:
        return _check_claim(claim, key, seed=seed)
    memo = (
        claim,
        sp.srepr(key.answer) if isinstance(key.answer, sp.Basic) else repr(key.answer),
        repr(key.instances),
        tuple(sorted(key.symbols)),
        seed,
    )
    if memo not in _VERDICTS:
        _VERDICTS[memo] = _check_claim(claim, key, seed=seed)
    return _VERDICTS[memo]


def _check_claim(claim: Claim, key: KeyAnswer | None, *, seed: int = 0) -> Verdict:
    latex = claim.checked
    if latex is None:
        return Verdict("unreadable", "a prose answer; not machine-checkable")
    if key is None:
        return Verdict("unreadable", f"no computed answer to check part {claim.part} against")
    v = check(latex, key, seed=seed)
    if claim.kind == "text":
        v = Verdict(
            v.status,
            f"{v.reason} (checked as {latex})",
            v.counterexample,
            v.mistake,
            v.reading,
            v.notes,
            v.how,
        )
    return v


def errata(
    claims: Iterable[Claim], resolve: Callable[[Claim], KeyAnswer | None], *, seed: int = 0
) -> list[Erratum]:
    """Check every claim against the key `resolve` finds for it (None: nothing to check)."""
    return [Erratum(c, check_claim(c, resolve(c), seed=seed)) for c in claims]


def key_for(
    claim: Claim, part: Part | None, notation: Mapping[str, str] | None = None
) -> KeyAnswer | None:
    """What `claim` is checked against in `part` (None: nothing computed to check it with).

    A numeric claim with `quantity` and `update` is checked against
    `part.data["trace"][update - 1][quantity]`; a formula against the part's final
    answer, or against the derivation of `quantity` when the claim names one.
    """
    if part is None:
        return None
    if claim.kind == "numeric" or claim.update is not None:
        trace = part.data.get("trace") if part.data else None
        if not trace or claim.update is None or claim.quantity is None:
            return None
        k = claim.update - 1
        if not 0 <= k < len(trace) or claim.quantity not in trace[k]:
            return None
        return KeyAnswer(trace[k][claim.quantity])
    return KeyAnswer.from_part(part, notation=notation, quantity=claim.quantity)


def audit(assignment: Assignment, claims: Iterable[Claim], *, seed: int = 0) -> list[Erratum]:
    """The errata of an earlier published solution: every claim checked against the key."""
    parts = {p.id: p for p in assignment.parts()}
    return errata(claims, lambda c: key_for(c, parts.get(c.part), assignment.notation), seed=seed)


CLAIMS_DIR = Path(__file__).resolve().parent.parent / "solutions" / "claims"


def errata_for(assignment: Assignment, original_numbers: bool) -> list[Erratum]:
    """The computed errata of the earlier published solution of `assignment`.

    Claims come from ``solutions/claims/<id>.toml``. Numeric claims (a trace's
    values) are about the original numbers, so they are checked only when the
    key uses them; formula claims hold for any term.
    """
    path = CLAIMS_DIR / f"{assignment.id}.toml"
    if not path.exists():
        return []
    claims = [c for c in load_claims(path).claims if c.kind != "numeric" or original_numbers]
    return audit(assignment, claims)


def claimed_expression(erratum: Erratum, assignment: Assignment) -> Any | None:
    """The claim as read (SymPy), for printing in the key; None for prose or numbers."""
    claim = erratum.claim
    latex = claim.checked
    if latex is None or claim.kind == "numeric":
        return None
    part = next((p for p in assignment.parts() if p.id == claim.part), None)
    if part is None:
        return None
    key = KeyAnswer.from_part(part, notation=assignment.notation, quantity=claim.quantity)
    if key is None:
        return None
    try:
        parsed = parse_claim(latex, key.symbols)
    except ClaimError:
        return None
    return None if parsed.is_numeric else parsed.expr
