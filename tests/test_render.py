"""Rendering: templates see printed text only, anything else is escaped, the handout has
no solutions, and answers.json gives every final answer as LaTeX and as SymPy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from conftest import small_cv

import solutions.cv_assignment9 as cv
from answerkey import render
from answerkey.errors import RenderError
from answerkey.mathfns import D, T, mm, to_plain_sympy
from answerkey.model import (
    Assignment,
    Block,
    Derivation,
    Exercise,
    Instance,
    Part,
    Step,
    Table,
    text,
)
from answerkey.numbers import given
from answerkey.verify import verify_assignment

NASTY = r"\input{/etc/hostname} a% & $x$ #1 ~ ^ _ {}"
META = render.Meta(course="Deep Learning", label="2026-winter", variant="03")


def reasons(a: Assignment) -> list[str]:
    """The prose of every step's reason (long enough not to occur by chance)."""
    return [
        item
        for p in a.parts()
        for d in p.derivations
        for s in d.steps
        for item in s.reason.items
        if isinstance(item, str) and len(item) > 8
    ]


@pytest.fixture(scope="module")
def small() -> Assignment:
    return small_cv()


def hostile() -> Assignment:
    """An assignment whose every plain string is an injection attempt."""
    x, f = sp.symbols("x f")
    d = Derivation(D(f, x), (Step(2 * x, text(NASTY)),), (Instance(defs={f: x**2}),))
    part = Part(NASTY, NASTY, [text(NASTY, x, NASTY)], [d], remarks=[text(NASTY)])
    a = Assignment("demo", NASTY, [Exercise("1", NASTY, [text(NASTY)], [part])])
    verify_assignment(a)
    return a


@pytest.mark.parametrize("fmt", ["tex", "md"])
def test_the_key_has_every_part_its_steps_and_boxed_results(small: Assignment, fmt: str) -> None:
    out = render.render(small, fmt, "key", META)
    assert "Part 1a" in out and "a single sigmoid unit" in out
    assert "Part 1b" in out and "the same unit, by its input" in out
    assert out.count(r"\boxed") == 2
    assert r"\log{\left(1 + e^{- W x} \right)}" in out
    assert f"{small.check_count()} checks passed" in out
    assert out.count("&=") == sum(len(d.steps) for p in small.parts() for d in p.derivations)
    for reason in reasons(small):
        assert render.printing.escape_latex(reason) in out


@pytest.mark.parametrize("fmt", ["tex", "md"])
def test_the_handout_has_the_questions_and_no_solutions(small: Assignment, fmt: str) -> None:
    key = render.render(small, fmt, "key", META)
    out = render.render(small, fmt, "handout", META)
    assert "Part 1a" in out and "Part 1b" in out
    assert r"\frac{\partial E}{\partial t}" in out  # the question asks for it
    assert r"\boxed" not in out
    assert "checks passed" not in out
    assert "&=" not in out
    for reason in reasons(small):
        assert render.printing.escape_latex(reason) not in out
    for part in small.parts():
        answer = render.printing.latex(part.final, small.notation)
        assert answer in key
        assert answer not in out


def test_the_handouts_view_holds_no_solution_data(small: Assignment) -> None:
    v = render.view(small, "md", "handout", META)
    for ex in v["exercises"]:
        for part in ex["parts"]:
            assert {"id", "title", "question"} <= set(part)
            solution = {"derivations", "facts", "boxed", "remarks", "blocks", "tables", "checks"}
            assert not solution & set(part), part.keys()
    assert v["check_count"] == 0


@pytest.mark.parametrize("fmt", ["tex", "md"])
def test_rendering_is_deterministic(small: Assignment, fmt: str) -> None:
    assert render.render(small, fmt, "key", META) == render.render(small, fmt, "key", META)


def test_the_title_block_shows_course_term_and_variant(small: Assignment) -> None:
    for fmt in ("tex", "md"):
        out = render.render(small, fmt, "key", META)
        assert "Deep Learning" in out and "2026-winter" in out and "03" in out


@pytest.mark.parametrize(
    ("fmt", "escaped"),
    [
        ("tex", r"\textbackslash{}input\{/etc/hostname\} a\% \& \$x\$ \#1"),
        ("md", r"\\input\{/etc/hostname\} a% \& \$x\$ \#1"),
    ],
)
def test_every_plain_string_reaching_a_template_is_escaped(fmt: str, escaped: str) -> None:
    a = hostile()
    meta = render.Meta(course=NASTY, label=NASTY, variant=NASTY)
    for kind in ("key", "handout"):
        out = render.render(a, fmt, kind, meta)
        assert NASTY not in out
        assert escaped in out
        assert r"\input{" not in out.replace(r"\text{", "")


def test_a_broken_template_is_a_render_error_naming_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: Assignment
) -> None:
    (tmp_path / "document.md.j2").write_text("fine\n{% for x in %}\n")
    monkeypatch.setattr(render, "TEMPLATES", tmp_path)
    with pytest.raises(RenderError, match=r"templates/document\.md\.j2:2: "):
        render.render(small, "md", "key", META)


def test_an_undefined_template_variable_is_a_render_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: Assignment
) -> None:
    (tmp_path / "document.md.j2").write_text("{{ doc.no_such_field }}\n")
    monkeypatch.setattr(render, "TEMPLATES", tmp_path)
    with pytest.raises(RenderError, match="no_such_field"):
        render.render(small, "md", "key", META)


# --- answers.json -----------------------------------------------------------------


def test_answers_json_has_latex_sympy_and_checks_per_part(small: Assignment) -> None:
    doc = json.loads(render.answers_json(small, META))
    assert doc["assignment"] == "cv-assignment9"
    assert doc["term"] == "2026-winter"
    assert doc["checks_passed"] == small.check_count()
    assert list(doc["parts"]) == ["1a", "1b"]
    one_a = doc["parts"]["1a"]
    assert one_a["latex"] == r"\log{\left(1 + e^{- W x} \right)}"
    back = sp.sympify(one_a["sympy"])
    assert {str(s) for s in back.free_symbols} == {"W", "x"}
    by_name = back.subs({s: sp.Symbol(str(s)) for s in back.free_symbols})
    assert by_name == sp.log(1 + sp.exp(-sp.Symbol("W") * sp.Symbol("x")))
    assert len(one_a["checks"]) == len(small.parts()[0].checks)
    kinds = {"numeric", "symbolic", "finite-difference", "relation"}
    assert {c["kind"] for c in one_a["checks"]} == kinds


def test_answers_json_is_stable_text(small: Assignment) -> None:
    a, b = render.answers_json(small, META), render.answers_json(small, META)
    assert a == b and a.endswith("}\n")


@pytest.mark.parametrize(
    "expr",
    [
        T(cv.y2 - cv.t),
        mm(cv.y2 - cv.t, T(cv.y1)),
        mm(T(cv.y2 - cv.t), cv.W2),
        mm(cv.y2 - cv.t, T(cv.y1)) + cv.lam * cv.W2,
    ],
    ids=["row", "outer-product", "product", "sum"],
)
def test_sympy_strings_of_matrix_answers_read_back_to_the_same_expression(expr: object) -> None:
    s = render.sympy_string(expr)
    assert sp.sympify(s) == to_plain_sympy(expr)


def test_sympy_strings_of_numbers_are_plain_values() -> None:
    import numpy as np

    assert render.sympy_string(np.array([0.5, 0.25])) == "[0.5, 0.25]"
    assert sp.sympify(render.sympy_string(0.125)) == sp.Float(0.125)


def test_markdown_for_html_has_no_latex_only_alignment_options() -> None:
    """MathML (pandoc's HTML) prints `[t]` literally; only the PDF's Markdown may use it."""
    from solutions import practical_1

    a = practical_1.build(practical_1.PARAMETERS)
    assert "aligned}[t]" not in render.render(a, "md", "key", META)
    assert "aligned}[t]" in render.render(a, "md", "key", META, for_pdf=True)


def test_a_part_chooses_the_decimals_of_its_numbers() -> None:
    x = sp.Symbol("x")

    def part(pid: str, decimals: int | None) -> Part:
        return Part(
            pid,
            "numbers",
            [text("Rate", given(0.5, "rate"), ".")],
            blocks=[
                Block(
                    text("values"),
                    ((x, given(0.125, "x")), ("y", given(np.array([1.0, 2.0]), "y"))),
                )
            ],
            tables=[Table(("a",), ((given(0.25, "a"),),))],
            decimals=decimals,
        )

    a = Assignment("demo", "Demo", [Exercise("1", "E", [], [part("a", 2), part("b", None)])])
    parts = render.view(a, "tex", "key", META)["exercises"][0]["parts"]
    short, default = (str(parts[i]) for i in (0, 1))
    assert "$0.50$" in short and "0.13" in short and "1.00 & 2.00" in short and "$0.25$" in short
    assert "0.5000" not in short and "0.1250" not in short
    assert "$0.5000$" in default and "0.1250" in default and "1.0000 & 2.0000" in default


def test_the_environment_is_made_once_and_still_sees_an_edited_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: Assignment
) -> None:
    import os

    template = tmp_path / "document.md.j2"
    template.write_text("first\n")
    monkeypatch.setattr(render, "TEMPLATES", tmp_path)
    assert render.environment("md") is render.environment("md")
    assert render.environment("tex") is not render.environment("md")
    assert render.render(small, "md", "key", META) == "first\n"
    template.write_text("second\n")
    stat = template.stat()
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert render.render(small, "md", "key", META) == "second\n"


def test_answers_json_lists_the_graders_mistakes_of_each_computed_number() -> None:
    """Each computed number of a part carries the mistakes the grader names for it
    (`claims.keys.number_mistakes`: the topics' from the definitions that printed it, the
    sign), for a quiz's feedback; a given number carries none."""
    from answerkey.claims import keys
    from answerkey.claims import mistakes as named
    from answerkey.registry import discover

    found = discover()
    if "batchnorm-backward" not in found:
        pytest.skip("no batchnorm-backward")
    module = found["batchnorm-backward"]
    a = module.build(module.parameters)
    doc = json.loads(render.answers_json(a, META))
    ledger = [{k: v for k, v in e.items() if k != "mistakes"} for e in doc["numbers"]]
    parts = {p.id: p for p in a.parts()}
    for e, bare in zip(doc["numbers"], ledger, strict=True):
        if e["source"] == "given" or not e["part"]:
            assert "mistakes" not in e
            continue
        listed = [(m["name"], m["value"]) for m in e["mistakes"]]
        assert listed == keys.number_mistakes(parts[e["part"]], bare, ledger)
    (dx,) = [e for e in doc["numbers"] if e["label"].endswith(": D(E, x)")]
    assert [m["name"] for m in dx["mistakes"]] == [
        named.MEAN_TERM,
        named.VARIANCE_TERM,
        named.BOTH_TERMS,
        named.SIGN_FLIPPED,
    ]
    assert all(np.shape(m["value"]) == np.shape(dx["value"]) for m in dx["mistakes"])


#: author text that pandoc's smart typography (and pdflatex's ligatures) would change
SMART = ["a -- b", "c --- d", "wait...", "x--y", "i...j", "--verbose", "g.... h", "m..--..n"]
#: with the characters escaping always handled
HOSTILE = [*SMART, "e .. f", "i - j -- k", "p% of #k", "$a x_i ^b {z}", r"path\to ~home"]


def _hostile_handout() -> Assignment:
    """Every hostile string as a title, an introduction, a question and a remark."""
    paragraphs = [text(s) for s in HOSTILE]
    part = Part("a", HOSTILE[2], paragraphs, remarks=paragraphs)
    return Assignment("demo", HOSTILE[1], [Exercise("1", HOSTILE[3], paragraphs, [part])])


def test_escaped_text_comes_out_as_written_in_markdown_html_and_pdf(tmp_path: Path) -> None:
    """`--` stays two hyphens and `...` three dots (not an en dash, an ellipsis) in the
    Markdown as pandoc reads it, in the HTML page and in the PDF's text."""
    import html
    import re
    import shutil
    import subprocess

    from answerkey import pdf

    a, meta = _hostile_handout(), render.Meta(course=HOSTILE[4], label="t", variant="")
    md = render.render(a, "md", "handout", meta)
    plain = pdf.pandoc(md, pdf.MARKDOWN, "plain", ["--wrap=none"])
    page = pdf.markdown_to_html(render.render(a, "md", "handout", meta, for_html=True), "t", {})
    body = html.unescape(re.sub(r"<[^>]+>", " ", page.split("<body", 1)[1]))
    for s in HOSTILE:
        assert s in plain and s in body, s
    if shutil.which("pdflatex") is None or shutil.which("pdftotext") is None:
        pytest.skip("pdflatex or pdftotext is missing: the PDF's text is not read")
    source = render.render(a, "md", "handout", meta, for_pdf=True)
    out = tmp_path / "handout.pdf"
    pdf.compile_latex(pdf.markdown_to_latex(source, render.TIKZ_PREAMBLE), out, tmp_path, "h")
    read = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True)
    for s in HOSTILE:
        assert s in read.stdout, s


def test_smart_typography_would_change_the_hostile_strings() -> None:
    """The test above can fail: unescaped, pandoc prints them otherwise."""
    from answerkey import pdf

    for s in SMART:
        assert s not in pdf.pandoc(s.replace("\\", "\\\\"), pdf.MARKDOWN, "plain", []), s
