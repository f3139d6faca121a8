"""The characters the PDFs can set: every one of them really compiles, others are named."""

from __future__ import annotations

from pathlib import Path

from conftest import compile_tex, needs_pdflatex

from answerkey import pdf
from answerkey.settable import PDFLATEX_RANGES, settable, unsettable


def every_settable() -> str:
    return "".join(chr(c) for lo, hi in PDFLATEX_RANGES for c in range(lo, hi + 1))


@needs_pdflatex
def test_every_settable_character_compiles(tmp_path: Path) -> None:
    from answerkey.printing import escape_markdown  # what every title-page string gets

    text = escape_markdown(every_settable())
    source = pdf.markdown_to_latex(f"# Course\n\n{text}\n")
    proc = compile_tex(source, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:]
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert "Missing character" not in log


def test_what_cannot_be_set_is_named_with_its_code_point() -> None:
    assert unsettable("café — naïve, Łódź, ß, «ok»") == []
    assert unsettable("Глубокое") == [
        "'Г' (U+0413 CYRILLIC CAPITAL LETTER GHE)",
        "'л' (U+043B CYRILLIC SMALL LETTER EL)",
        "'у' (U+0443 CYRILLIC SMALL LETTER U)",
        "'б' (U+0431 CYRILLIC SMALL LETTER BE)",
        "'о' (U+043E CYRILLIC SMALL LETTER O)",
        "'к' (U+043A CYRILLIC SMALL LETTER KA)",
        "'е' (U+0435 CYRILLIC SMALL LETTER IE)",
    ]
    assert unsettable("a\x1bb") == ["(U+001B)"]
    assert unsettable("\u200f") == ["(U+200F RIGHT-TO-LEFT MARK)"]
    assert not settable("\n") and not settable("\t")
