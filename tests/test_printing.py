"""How maths, numbers and prose are written: notation, 4 decimals, and escaping that holds.

The escaping tests do not stop at comparing strings: they typeset the escaped
text (LaTeX directly; Markdown through pandoc) and read the PDF back, so a string
that tries to `\\input` a file shows up literally and the file's content does not.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pypandoc
import pytest
import sympy as sp
from conftest import ROOT, compile_tex, needs_pdflatex, pdf_text

import solutions.cv_assignment9 as cv
from answerkey import pdf, printing
from answerkey.mathfns import (
    D,
    T,
    diag,
    elementwise,
    eq,
    hadamard_ones_minus,
    mm,
    relu,
    sigmoid,
    softmax,
    sqnorm,
)
from answerkey.model import text

N = cv.NOTATION
NASTY = r"\input{/etc/hostname} 50% & $x$ #1 ~ ^ _ {}"


def latex(obj: object) -> str:
    return printing.latex(obj, N)


# --- numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (0.5, "0.5000"),
        (1 / 3, "0.3333"),
        (-2.71828, "-2.7183"),
        (12.0, "12.0000"),
        (0.0, "0.0000"),
        (-0.0, "0.0000"),
        (0.00005, "0.0001"),
        (1e-7, r"1.000 \times 10^{-7}"),
        (-3e-5, r"-3.000 \times 10^{-5}"),
    ],
)
def test_numbers_have_four_decimals_and_tiny_ones_scientific_notation(
    value: float, written: str
) -> None:
    assert printing.number(value) == written


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_number_that_is_not_finite_cannot_reach_a_key(bad: float) -> None:
    with pytest.raises(ValueError, match="cannot print"):
        printing.number(bad)


def test_numbers_of_every_kind_use_the_same_rule() -> None:
    assert printing.latex(np.float64(2 / 3)) == "0.6667"
    assert printing.latex(sp.Float(0.123456)) == "0.1235"
    assert printing.latex(7) == "7"
    assert printing.latex(np.int64(7)) == "7"
    assert printing.latex(np.array([1, 2.5])) == r"\begin{bmatrix}1.0000 & 2.5000\end{bmatrix}"
    assert printing.latex([[1, 0], [0, 1]]) == (
        r"\begin{bmatrix}1.0000 & 0.0000 \\ 0.0000 & 1.0000\end{bmatrix}"
    )
    assert printing.latex((sp.Symbol("E"), 0.25)) == "E = 0.2500"


def test_a_printed_column_is_a_transposed_row_a_row_a_row_and_one_entry_a_number() -> None:
    from answerkey.numbers import given

    column, row = given([[1.0], [-0.5]], "x", exact=True), given([[1.0, -0.5]], "r", exact=True)
    assert printing.latex(column) == r"\begin{bmatrix}1.0 & -0.5\end{bmatrix}^{T}"
    assert printing.latex(row) == r"\begin{bmatrix}1.0 & -0.5\end{bmatrix}"
    assert printing.latex(given([[0.6]], "t", exact=True)) == "0.6"


def test_one_minus_a_vector_gets_one_pair_of_brackets_inside_a_function_or_transpose() -> None:
    t = sp.MatrixSymbol("t", 3, 1)
    assert printing.latex(T(hadamard_ones_minus(t))) == r"\left(\mathbf{1} - t\right)^{T}"
    assert printing.latex(elementwise("log", hadamard_ones_minus(t))) == (
        r"\log\left(\mathbf{1} - t\right)"
    )
    assert printing.latex(diag(hadamard_ones_minus(t))) == (
        r"\operatorname{diag}\left(\mathbf{1} - t\right)"
    )
    assert printing.latex(hadamard_ones_minus(t)) == r"\left(\mathbf{1} - t\right)"


def test_prose_and_bools_are_not_maths() -> None:
    with pytest.raises(TypeError):
        printing.latex("x + 1")
    with pytest.raises(TypeError):
        printing.latex(True)


# --- notation ---------------------------------------------------------------------


def test_transpose_stays_on_the_written_expression() -> None:
    assert latex(T(cv.y2 - cv.t)) == r"\left(y^{(2)} - t\right)^{T}"
    assert latex(mm(T(cv.W2), cv.y2)) == r"W^{(2)T} y^{(2)}"
    assert latex(mm(cv.y2 - cv.t, T(cv.y1))) == r"\left(y^{(2)} - t\right) y^{(1)T}"


def test_differences_put_the_positive_term_first() -> None:
    assert latex(cv.y2 - cv.t) == r"y^{(2)} - t"
    assert latex(-cv.t + cv.y2) == r"y^{(2)} - t"


def test_a_difference_with_a_symbolic_coefficient_puts_the_positive_term_first() -> None:
    eta = sp.Symbol("eta")
    W, M = sp.MatrixSymbol("W", 2, 3), sp.MatrixSymbol("M", 2, 3)
    assert latex(W - eta * M) == r"W - \eta M"
    assert latex(-eta * M + W) == r"W - \eta M"
    a, e = (sp.MatrixSymbol(s, 3, 1) for s in "ae")
    assert latex(a - sp.Symbol("n") * e) == "a - n e"


def test_a_sum_written_unevaluated_keeps_the_authors_order() -> None:
    eta, x, y = sp.symbols("eta x y")
    W, M = sp.MatrixSymbol("W", 2, 3), sp.MatrixSymbol("M", 2, 3)
    a, b = sp.MatrixSymbol("a", 2, 3), sp.MatrixSymbol("b", 2, 3)
    assert latex(sp.MatAdd(b, a)) == "b + a"
    assert latex(sp.MatAdd(a, b)) == latex(b + a) == "a + b"
    assert latex(sp.MatAdd(W, -eta * M, -a)) == r"W - \eta M - a"
    assert latex(sp.MatAdd(W, -a, -eta * M)) == r"W - a - \eta M"
    assert latex(sp.Add(-x, y, evaluate=False)) == "- x + y"
    assert latex(sp.Add(y**2, y, x, evaluate=False)) == "y^{2} + y + x"
    # SymPy's own order: positive first, whatever the order typed
    assert latex(-x + y) == latex(y - x) == "y - x"


def test_a_rational_coefficient_of_a_matrix_product_needs_no_parentheses() -> None:
    t, y = sp.MatrixSymbol("t", 3, 1), sp.MatrixSymbol("y", 3, 1)
    half = sp.Rational(1, 2)
    assert (
        latex(half * mm(T(y - t), y - t))
        == r"\frac{1}{2} \left(y - t\right)^{T} \left(y - t\right)"
    )
    assert latex(-half * y) == r"-\frac{1}{2} y"
    assert latex(half * (y + t)) == r"\frac{1}{2} t + \frac{1}{2} y"


def test_a_part_or_a_call_chooses_its_decimals() -> None:
    assert printing.latex(0.5, decimals=1) == "0.5"
    assert printing.latex(0.5) == "0.5000"
    assert printing.latex(np.array([1.0, 2.0]), decimals=0) == r"\begin{bmatrix}1 & 2\end{bmatrix}"
    assert printing.latex(sp.Float(0.125) * sp.Symbol("x"), decimals=2) == "0.13 x"  # a tie: up
    assert printing.prose(text("rate", 0.25), "tex", decimals=2) == "rate $0.25$"
    assert printing.math_text(text("by", 0.25), decimals=3) == r"\text{by}\ 0.250"


def test_derivatives_are_written_as_partial_fractions() -> None:
    assert latex(D(cv.E, cv.z2)) == r"\frac{\partial E}{\partial z^{(2)}}"
    assert latex(D(cv.E, cv.W1)) == r"\frac{\partial E}{\partial W^{(1)}}"
    assert latex(D(cv.y1, cv.z1)) == r"\frac{\partial y^{(1)}}{\partial z^{(1)}}"
    assert latex(D(2 * cv.E, cv.x)) == r"\frac{\partial}{\partial x}\left(2 E\right)"


def test_the_engines_functions_have_their_textbook_names() -> None:
    u = sp.Symbol("u")
    assert latex(sigmoid(u)) == r"\sigma\left(u\right)"
    assert latex(relu(u)) == r"\operatorname{relu}\left(u\right)"
    assert latex(diag(cv.y1)) == r"\operatorname{diag}\left(y^{(1)}\right)"
    assert latex(hadamard_ones_minus(cv.y1)) == r"\left(\mathbf{1} - y^{(1)}\right)"
    assert latex(elementwise("log", cv.y2)) == r"\log\left(y^{(2)}\right)"
    assert latex(softmax(cv.z2)) == r"\operatorname{softmax}\left(z^{(2)}\right)"
    assert latex(sqnorm(cv.W1)) == r"\left\lVert W^{(1)} \right\rVert^{2}"
    assert latex(sp.HadamardProduct(cv.y1, hadamard_ones_minus(cv.y1))) == (
        r"y^{(1)} \odot \left(\mathbf{1} - y^{(1)}\right)"
    )
    assert latex(eq(cv.z1, mm(cv.W1, cv.x))) == r"z^{(1)} = W^{(1)} x"


def test_notation_maps_symbol_names_and_leaves_the_rest_to_sympy() -> None:
    assert printing.latex(cv.W1) == "W_{1}"
    assert latex(cv.W1) == "W^{(1)}"
    assert latex(sp.Symbol("lambda")) == r"\lambda"


# --- prose ------------------------------------------------------------------------


def test_prose_puts_maths_inline_and_no_space_before_punctuation() -> None:
    t = text("Give", D(cv.E, cv.t), ", then", cv.x, ".")
    assert printing.prose(t, "tex", N) == r"Give $\frac{\partial E}{\partial t}$, then $x$."
    assert printing.prose(t, "md", N) == r"Give $\frac{\partial E}{\partial t}$, then $x$."


def test_prose_escapes_its_strings_but_not_its_maths() -> None:
    t = text("50% of", sp.Symbol("x") ** 2, "& more_")
    assert printing.prose(t, "tex") == r"50\% of $x^{2}$ \& more\_"
    assert printing.prose(t, "md") == r"50% of $x^{2}$ \& more\_"


def test_reasons_inside_maths_are_escaped_text() -> None:
    t = text("since", eq(cv.z1, mm(cv.W1, cv.x)), "(50% & $)")
    assert printing.math_text(t, N) == (r"\text{since}\ z^{(1)} = W^{(1)} x\ \text{(50\% \& \$)}")


# --- escaping ---------------------------------------------------------------------


def test_every_latex_special_is_neutralised() -> None:
    assert printing.escape_latex(NASTY) == (
        r"\textbackslash{}input\{/etc/hostname\} 50\% \& \$x\$ \#1 "
        r"\textasciitilde{} \textasciicircum{} \_ \{\}"
    )


def test_every_markdown_special_is_backslash_escaped() -> None:
    assert printing.escape_markdown(NASTY) == (
        r"\\input\{/etc/hostname\} 50% \& \$x\$ \#1 \~ \^ \_ \{\}"
    )


def plain(markdown: str) -> str:
    """What pandoc reads from our Markdown, as plain text."""
    return str(pypandoc.convert_text(markdown, "plain", format=pdf.MARKDOWN)).strip()


@pytest.mark.parametrize(
    "s",
    [
        NASTY,
        "*not emphasis* and **not strong**",
        "[a link](http://example.com) <b>html</b> `code`",
        "- not a bullet",
        "+ not a bullet",
        "| not | a table |",
        "# not a heading",
        "a^b^ and H~2~O",
        "@citation",
    ],
)
def test_escaped_markdown_reads_back_as_the_same_text_in_pandoc(s: str) -> None:
    assert plain(printing.escape_markdown(s)) == s


@pytest.mark.parametrize("s", ["1. not an ordered list", "2) neither"])
def test_escaped_markdown_keeps_a_leading_number_literal(s: str) -> None:
    assert plain(printing.escape_markdown(s)) == s


def secret_file(tmp_path: Path) -> tuple[Path, str]:
    marker = "SECRETMARKERQZX"
    path = tmp_path / "secret.tex"
    path.write_text(marker + "\n")
    return path, marker


def hostname() -> str:
    try:
        return Path("/etc/hostname").read_text().strip()
    except OSError:
        return ""


def mentions_hostname(got: str) -> bool:
    """Whether this machine's name (the content of /etc/hostname) appears as a word."""
    name = hostname()
    return bool(name) and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", got) is not None


def preamble() -> str:
    return (ROOT / "templates" / "preamble.latex").read_text()


@needs_pdflatex
def test_escaped_latex_is_typeset_literally_and_reads_no_file(tmp_path: Path) -> None:
    secret, marker = secret_file(tmp_path)
    attack = rf"\input{{{secret}}}"
    body = printing.escape_latex(NASTY) + "\n\n" + printing.escape_latex(attack)
    doc = preamble() + "\\begin{document}\n" + body + "\n\\end{document}\n"
    proc = compile_tex(doc, tmp_path / "tex")
    assert proc.returncode == 0, proc.stdout[-2000:]
    got = pdf_text(tmp_path / "tex" / "doc.pdf")
    assert NASTY in got
    assert attack in got
    assert marker not in got
    assert not mentions_hostname(got)


@needs_pdflatex
def test_unescaped_input_would_read_the_file(tmp_path: Path) -> None:
    """The control for the test above: the attack string really is one."""
    secret, marker = secret_file(tmp_path)
    doc = preamble() + "\\begin{document}\n" + rf"\input{{{secret}}}" + "\n\\end{document}\n"
    proc = compile_tex(doc, tmp_path / "tex")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert marker in pdf_text(tmp_path / "tex" / "doc.pdf")


@needs_pdflatex
def test_escaped_markdown_is_typeset_literally_and_reads_no_file(tmp_path: Path) -> None:
    secret, marker = secret_file(tmp_path)
    attack = rf"\input{{{secret}}}"
    md = printing.escape_markdown(NASTY) + "\n\n" + printing.escape_markdown(attack) + "\n"
    out = tmp_path / "md.pdf"
    pdf.compile_latex(pdf.markdown_to_latex(md), out, tmp_path / "logs", "md")
    # pandoc writes ^ as \^{}, which LaTeX sets as the modifier letter ˆ (U+02C6).
    got = pdf_text(out).replace("\u02c6", "^")
    assert NASTY in got
    assert attack in got
    assert marker not in got
    assert not mentions_hostname(got)


def test_reciprocals_and_written_products_print_as_maths() -> None:
    """1/(1+e^{-u}) stays a fraction; a product built unevaluated keeps its order."""
    u, t, w = sp.symbols("u t W")
    assert printing.latex(1 / (1 + sp.exp(-u))) == r"\frac{1}{1 + e^{- u}}"
    written = sp.Mul(-t, 1 / u, w, evaluate=False)
    assert printing.latex(written) == r"-t \cdot \frac{1}{u} \cdot W"


def test_a_title_in_greek_stays_text_while_prose_greek_is_maths() -> None:
    assert printing.escape_markdown("δ_1 of Ω") == "$\\delta$\\_1 of Ω"
    assert (
        printing.escape_markdown("Νευρωνικά δίκτυα", letters_as_maths=False) == "Νευρωνικά δίκτυα"
    )
    assert printing.escape_latex("δ & ε", letters_as_maths=False) == "δ \\& ε"
    assert printing.escape_latex("× ε", letters_as_maths=False) == "\\ensuremath{\\times} ε"
    assert printing.escape_latex("ε") == "\\ensuremath{\\epsilon}"


def test_an_entry_prints_1_based_as_the_course_writes_it() -> None:
    p, W, k = sp.MatrixSymbol("y1", 3, 1), sp.MatrixSymbol("W", 3, 2), sp.Symbol("k")
    assert printing.latex(p[1, 0], {"y1": "p"}) == "{p}_{2}"
    assert printing.latex(W[0, 1]) == "{W}_{1,2}"
    assert printing.latex(sp.MatrixSymbol("r", 1, 3)[0, 2]) == "{r}_{3}"
    assert "k" in printing.latex(p[k, 0])  # a symbolic index as written


def test_a_number_given_as_an_integer_prints_as_one() -> None:
    from answerkey.numbers import given

    assert printing.latex(given(2, "class")) == "2"
    assert (
        printing.latex(given([[0], [1], [0]], "t")) == r"\begin{bmatrix}0 & 1 & 0\end{bmatrix}^{T}"
    )
    assert printing.latex(given(2.0, "two")) == "2.0000"  # a float stays a float
    assert printing.latex(given(2.0, "two", exact=True)) == "2.0"


@pytest.mark.parametrize(
    ("x", "printed"),
    [
        (4.53125, "4.5313"),  # Python's format rounds a tie to even: 4.5312
        (-1.35625, "-1.3563"),  # away from zero, as by hand
        (0.1 * 1.5625, "0.1563"),  # 0.15624999999999997 in floats: the tie it stands for
        ((1 - 0.9) * 1.5625, "0.1563"),
        (0.12344999, "0.1234"),  # not a tie: rounds down
        (-0.0, "0.0000"),
    ],
)
def test_a_tie_rounds_away_from_zero_as_a_student_rounds_by_hand(x: float, printed: str) -> None:
    assert printing.number(x) == printed


def test_a_plain_sympy_matrix_prints_one_pair_of_parentheses() -> None:
    m = sp.ImmutableMatrix([[1, 0], [1, 0]])
    assert printing.latex(m) == r"\begin{pmatrix}1 & 0\\1 & 0\end{pmatrix}"
    assert r"\left(" not in printing.latex(sp.Eq(sp.MatrixSymbol("U", 2, 2), 2 * m, evaluate=False))


@pytest.mark.parametrize("fmt", ["md", "tex"])
def test_prose_puts_no_space_inside_brackets(fmt: str) -> None:
    p = sp.Symbol("P")
    shown = printing.prose(text("a layer (", sp.Eq(p, 0, evaluate=False), ", and", p, ")."), fmt)
    assert shown == "a layer ($P = 0$, and $P$)."
    assert printing.prose(text("the rate (", p, "is", p, ")"), fmt) == "the rate ($P$ is $P$)"


def test_two_quantities_of_an_exercise_that_print_one_name_are_refused() -> None:
    from answerkey.errors import AuthoringError
    from answerkey.kit import conv
    from answerkey.model import Assignment, Derivation, Exercise, Instance, Part, Step

    sizes = conv.layer_facts("a layer", N=5, F=2, S=1, P=0, C_in=1, C_out=1)
    mine = sp.MatrixSymbol("N", 2, 2)  # the author's N, a pooled map, beside the kit's size N
    pooled = Instance(defs={sp.Symbol("E"): mine[0, 0] + mine[1, 1]}, label="pooling")
    d = Derivation(sp.Symbol("E"), (Step(mine[0, 0] + mine[1, 1], text("as defined")),), (pooled,))
    parts = [
        Part("a", "t", [text("Q.")], numeric_checks=[sizes]),
        Part("b", "t", [text("Q.")], [d]),
    ]
    a = Assignment("x", "t", [Exercise("1", "", [], parts)])
    with pytest.raises(AuthoringError) as err:
        printing.audit_names(a)
    assert str(err.value) == (
        "x, exercise 1: two quantities print as N: an integer positive scalar (part a, a "
        "layer's sizes) and a 2x2 matrix (part b, pooling); give one of them another name"
    )
    # a scalar and a vector of one name in parts that never meet: the scalar case, allowed
    x, v = sp.Symbol("x"), sp.MatrixSymbol("x", 2, 1)
    q = sp.Symbol("q")
    scalar = Derivation(q, (Step(x * x, text("")),), (Instance(defs={q: x**2}),))
    one = Instance(defs={sp.Symbol("L"): v[0, 0] + v[1, 0]})
    vector = Derivation(sp.Symbol("L"), (Step(v[0, 0] + v[1, 0], text("")),), (one,))
    ok = [Part("a", "t", [text("Q.")], [scalar]), Part("b", "t", [text("Q.")], [vector])]
    printing.audit_names(Assignment("y", "t", [Exercise("1", "", [], ok)]))
