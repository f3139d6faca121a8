"""The characters the PDFs can set: every one of them really compiles (with pdflatex, or
LuaLaTeX beyond it, in every shape the documents use), others are named."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import compile_tex, needs_pdflatex

from answerkey import pdf
from answerkey.settable import (
    PDFLATEX_RANGES,
    UNICODE_RANGES,
    pdflatex_sets,
    settable,
    unsettable,
)


def every_settable(ranges: tuple[tuple[int, int], ...] = PDFLATEX_RANGES) -> str:
    return "".join(chr(c) for lo, hi in ranges for c in range(lo, hi + 1))


@needs_pdflatex
def test_every_character_pdflatex_sets_compiles(tmp_path: Path) -> None:
    from answerkey.printing import escape_markdown  # what every title-page string gets

    text = escape_markdown(every_settable())
    source = pdf.markdown_to_latex(f"# Course\n\n{text}\n")
    proc = compile_tex(source, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:]
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert "Missing character" not in log


@pytest.mark.skipif(shutil.which("lualatex") is None, reason="no lualatex")
def test_every_character_lualatex_sets_compiles_in_every_shape(tmp_path: Path) -> None:
    from answerkey.printing import escape_markdown

    beyond = [c for c in every_settable(UNICODE_RANGES) if ord(c) < 0x3000]
    cjk = [c for c in every_settable(UNICODE_RANGES) if ord(c) >= 0x3000]
    text = escape_markdown("".join(beyond))
    body = "\n\n".join(f"{m}{text}{m}" for m in ("", "*", "**", "***"))
    sample = escape_markdown("".join(cjk[:: len(cjk) // 400] + cjk[-50:]))
    source = pdf.unicode_source(pdf.markdown_to_latex(f"# Course\n\n{body}\n\n{sample}\n"))
    (tmp_path / "doc.tex").write_text(source, encoding="utf-8")
    proc = subprocess.run(
        ["lualatex", *pdf.PDFLATEX_FLAGS, "doc.tex"],
        cwd=tmp_path,
        env=pdf.reproducible_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert "Missing character" not in log


def test_what_cannot_be_set_is_named_with_its_code_point() -> None:
    assert unsettable("café — naïve, Łódź, ß, «ok»") == []
    assert unsettable("Глубокое обучение, Ελληνικά, 深度学习, ひらがな, 한국어, Tiếng Việt") == []
    assert unsettable("עברית 🙂") == [
        "'ע' (U+05E2 HEBREW LETTER AYIN)",
        "'ב' (U+05D1 HEBREW LETTER BET)",
        "'ר' (U+05E8 HEBREW LETTER RESH)",
        "'י' (U+05D9 HEBREW LETTER YOD)",
        "'ת' (U+05EA HEBREW LETTER TAV)",
        "'🙂' (U+1F642 SLIGHTLY SMILING FACE)",
    ]
    assert unsettable("a\x1bb") == ["(U+001B)"]
    assert unsettable("\u200f") == ["(U+200F RIGHT-TO-LEFT MARK)"]
    assert unsettable("e\u0301") == ["'\u0301' (U+0301 COMBINING ACUTE ACCENT)"]
    assert not settable("\n") and not settable("\t")


def test_pdflatex_sets_latin_text_and_lualatex_the_rest() -> None:
    assert pdflatex_sets("café — naïve, Łódź, «ok»\n\tß €")
    assert not pdflatex_sets("Глубокое") and not pdflatex_sets("深度") and not pdflatex_sets("α")
    # every character pdflatex sets LuaLaTeX sets too (a document may mix them)
    assert all(settable(c) for c in every_settable())
