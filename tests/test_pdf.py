"""The PDF step: pandoc reads our Markdown with raw TeX off, pdflatex runs without shell
escape, errors come back readable with the log kept, and the bytes are reproducible."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import needs_pdflatex, pdf_text

from answerkey import pdf, printing
from answerkey.errors import EnvironmentProblem, RenderError

pytestmark = needs_pdflatex


def secret(tmp_path: Path) -> tuple[Path, str]:
    marker = "SECRETMARKERQZX"
    path = tmp_path / "secret.tex"
    path.write_text(marker + "\n")
    return path, marker


def to_pdf(markdown: str, tmp_path: Path, name: str = "doc") -> str:
    out = tmp_path / f"{name}.pdf"
    pdf.compile_latex(pdf.markdown_to_latex(markdown), out, tmp_path / "logs", name)
    return pdf_text(out)


def test_markdown_becomes_a_standalone_latex_document() -> None:
    tex = pdf.markdown_to_latex("# Title\n\nSome *text* and $x^2$.\n")
    assert tex.lstrip().startswith(r"\documentclass")
    assert r"\begin{document}" in tex and r"\end{document}" in tex
    assert r"\(x^2\)" in tex


def test_raw_tex_in_markdown_is_not_executed(tmp_path: Path) -> None:
    path, marker = secret(tmp_path)
    got = to_pdf(f"before \\input{{{path}}} after\n", tmp_path)
    assert marker not in got
    assert got.startswith("before \\input{")  # typeset as text


def test_an_escaped_raw_latex_block_is_not_executed(tmp_path: Path) -> None:
    path, marker = secret(tmp_path)
    attack = f"```{{=latex}}\n\\input{{{path}}}\n```"
    got = to_pdf(printing.escape_markdown(attack) + "\n", tmp_path)
    assert marker not in got


def test_an_unescaped_raw_latex_block_would_be_executed(tmp_path: Path) -> None:
    """The control for the test above: the PDF Markdown does accept raw blocks."""
    got = to_pdf("```{=latex}\n\\def\\q{QZX}\\q\\q\n```\n", tmp_path)
    assert "QZXQZX" in got


def test_tex_may_not_read_files_outside_its_directory(tmp_path: Path) -> None:
    path, _marker = secret(tmp_path)
    source = f"\\documentclass{{article}}\\begin{{document}}\\input{{{path}}}\\end{{document}}\n"
    with pytest.raises(RenderError, match="LaTeX error in paranoid"):
        pdf.compile_latex(source, tmp_path / "out.pdf", tmp_path / "logs", "paranoid")
    assert pdf.reproducible_env()["openin_any"] == "p"


def test_shell_escape_is_off(tmp_path: Path) -> None:
    assert "-no-shell-escape" in pdf.PDFLATEX_FLAGS
    assert pdf.reproducible_env()["shell_escape"] == "f"
    source = (
        r"\documentclass{article}\begin{document}"
        r"\immediate\write18{touch " + str(tmp_path / "pwned") + r"}ok\end{document}"
    )
    pdf.compile_latex(source, tmp_path / "out.pdf", tmp_path / "logs", "w18")
    assert not (tmp_path / "pwned").exists()


def test_the_same_source_gives_the_same_bytes(tmp_path: Path) -> None:
    source = pdf.markdown_to_latex("# Same\n\nEvery time, $a + b$.\n")
    pdf.compile_latex(source, tmp_path / "a.pdf", tmp_path / "logs", "a")
    pdf.compile_latex(source, tmp_path / "b.pdf", tmp_path / "logs", "b")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_a_latex_error_names_the_line_shows_the_source_and_keeps_the_log(tmp_path: Path) -> None:
    source = "\\documentclass{article}\n\\begin{document}\nfine\n\\nosuchmacro\n\\end{document}\n"
    logs = tmp_path / "logs"
    with pytest.raises(RenderError) as err:
        pdf.compile_latex(source, tmp_path / "out.pdf", logs, "broken")
    msg = str(err.value)
    assert msg.startswith("LaTeX error in broken, line 4: Undefined control sequence")
    assert ">    4 | \\nosuchmacro" in msg
    assert f"full log: {logs / 'broken.log'}" in msg
    assert (logs / "broken.log").exists()
    assert (logs / "broken.tex").read_text() == source
    assert not (tmp_path / "out.pdf").exists()


def test_a_missing_pdflatex_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(EnvironmentProblem, match="pdflatex not found") as err:
        pdf.compile_latex("x", tmp_path / "out.pdf", tmp_path, "x")
    assert err.value.exit_code == 3


def test_latex_error_reads_a_classic_bang_error_too(tmp_path: Path) -> None:
    log = "This is pdfTeX\n! Missing $ inserted.\n<inserted text>\nl.3 a_b\n"
    msg = pdf.latex_error("one\ntwo\na_b\nfour\n", log, tmp_path / "x.log", "doc")
    assert msg.startswith("LaTeX error in doc, line 3: Missing $ inserted.")
    assert ">    3 | a_b" in msg


def test_an_unreadable_log_still_points_at_it(tmp_path: Path) -> None:
    msg = pdf.latex_error("src", "no error lines here", tmp_path / "x.log", "doc")
    assert msg == f"LaTeX failed on doc; full log: {tmp_path / 'x.log'}"


# --- the dumped preamble (a pdflatex format) -------------------------------------


def test_pdfs_compiled_on_the_dumped_preamble_read_the_same_and_reuse_one_format(
    tmp_path: Path,
) -> None:
    source = pdf.markdown_to_latex("# Fast\n\nOnce dumped, $a^2 + b^2$.\n")
    formats = tmp_path / "fmt"
    pdf.compile_latex(source, tmp_path / "full.pdf", tmp_path / "logs", "full")
    pdf.compile_latex(source, tmp_path / "a.pdf", tmp_path / "logs", "a", formats)
    (made,) = formats.glob("answerkey-*.fmt")
    stamp = made.stat().st_mtime_ns
    pdf.compile_latex(source, tmp_path / "b.pdf", tmp_path / "logs", "b", formats)
    assert made.stat().st_mtime_ns == stamp  # not dumped again
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    assert pdf_text(tmp_path / "a.pdf") == pdf_text(tmp_path / "full.pdf")
    assert not list(formats.glob(".*"))  # nothing half-written, no lock file


def test_a_changed_preamble_gets_its_own_format() -> None:
    pre = pdf.split_preamble(pdf.markdown_to_latex("x"))[0]
    assert pre.lstrip().startswith(r"\documentclass") and r"\begin{document}" not in pre
    assert pdf.split_preamble("no document here") == ("", "")
    assert pdf._format_path(pre, Path("c")) != pdf._format_path(pre + "%\n", Path("c"))


def test_the_body_on_a_format_is_as_safe_as_a_whole_document(tmp_path: Path) -> None:
    path, _marker = secret(tmp_path)
    formats = tmp_path / "fmt"
    ok = "\\documentclass{article}\n\\begin{document}\nok\n\\end{document}\n"
    pdf.compile_latex(ok, tmp_path / "ok.pdf", tmp_path / "logs", "ok", formats)
    attack = (
        f"\\documentclass{{article}}\n\\begin{{document}}\n\\input{{{path}}}"
        f"\\immediate\\write18{{touch {tmp_path / 'pwned'}}}\n\\end{{document}}\n"
    )
    with pytest.raises(RenderError, match="LaTeX error in attack, line 3"):
        pdf.compile_latex(attack, tmp_path / "a.pdf", tmp_path / "logs", "attack", formats)
    assert not (tmp_path / "pwned").exists()


def test_an_error_in_the_body_is_reported_at_its_line_in_the_whole_source(tmp_path: Path) -> None:
    source = "\\documentclass{article}\n\\begin{document}\nfine\n\\nosuchmacro\n\\end{document}\n"
    with pytest.raises(RenderError) as err:
        pdf.compile_latex(source, tmp_path / "out.pdf", tmp_path / "logs", "b", tmp_path / "f")
    assert str(err.value).startswith("LaTeX error in b, line 4: Undefined control sequence")


def test_a_preamble_tex_cannot_dump_falls_back_to_the_whole_document(tmp_path: Path) -> None:
    source = "\\documentclass{article}\n\\nosuchmacro\n\\begin{document}\nx\n\\end{document}\n"
    assert pdf.tex_format(pdf.split_preamble(source)[0], tmp_path / "f") is None
    with pytest.raises(RenderError, match="line 2: Undefined control sequence"):
        pdf.compile_latex(source, tmp_path / "out.pdf", tmp_path / "logs", "pre", tmp_path / "f")


def test_one_process_dumps_at_a_time(tmp_path: Path) -> None:
    pre = pdf.split_preamble(pdf.markdown_to_latex("x"))[0]
    with pdf._format_lock(tmp_path, wait=True):
        # another process holds the lock: do not wait, do not dump
        assert pdf.tex_format(pre, tmp_path, wait=False) is None
    assert pdf.tex_format(pre, tmp_path, wait=False) is not None
    assert pdf.start_tex_format(tmp_path) is None  # there already: nothing started


@pytest.mark.parametrize("damage", ["truncated", "garbage", "no digest"])
def test_a_damaged_format_is_dumped_again_and_the_pdf_is_as_from_a_clean_cache(
    tmp_path: Path, damage: str
) -> None:
    source = pdf.markdown_to_latex("# Format\n\nDamaged, then mended: $x^2$.\n")
    clean = tmp_path / "clean"
    pdf.compile_latex(source, tmp_path / "clean.pdf", tmp_path / "logs", "c", clean)
    formats = tmp_path / "fmt"
    pdf.compile_latex(source, tmp_path / "first.pdf", tmp_path / "logs", "f", formats)
    (made,) = formats.glob("answerkey-*.fmt")
    data = made.read_bytes()
    if damage == "truncated":
        made.write_bytes(data[: len(data) // 3])
    elif damage == "garbage":
        made.write_bytes(b"\x00garbage" * 100)
    else:
        pdf._digest_path(made).unlink()
    assert not pdf.format_ok(made)
    pdf.compile_latex(source, tmp_path / "again.pdf", tmp_path / "logs", "a", formats)
    assert pdf.format_ok(made)
    assert made.read_bytes() == data
    clean_pdf = (tmp_path / "clean.pdf").read_bytes()
    assert (tmp_path / "again.pdf").read_bytes() == clean_pdf
    assert (tmp_path / "first.pdf").read_bytes() == clean_pdf


def test_pandoc_runs_as_pypandoc_would(tmp_path: Path) -> None:
    import pypandoc

    markdown = "# Title\n\nText with $x^2$, *emphasis*, `code`, a table:\n\n| a | b |\n|---|---|\n"
    args = ["--standalone", f"--template={pdf.TEMPLATES / 'pandoc.latex'}"]
    ours = pdf.pandoc(markdown, pdf.MARKDOWN_FOR_PDF, "latex", args)
    theirs = pypandoc.convert_text(markdown, "latex", format=pdf.MARKDOWN_FOR_PDF, extra_args=args)
    assert ours == theirs


def test_pdflatex_and_pandoc_run_with_a_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looping = "\\documentclass{article}\n\\begin{document}\n\\def\\x{\\x}\\x\n\\end{document}\n"
    monkeypatch.setattr(pdf, "TEX_TIMEOUT", 2.0)
    with pytest.raises(RenderError, match="pdflatex did not finish within 2 s"):
        pdf.compile_latex(looping, tmp_path / "out.pdf", tmp_path / "logs", "loop")
    monkeypatch.setattr(pdf, "PANDOC_TIMEOUT", 0.001)
    with pytest.raises(RenderError, match="pandoc did not finish"):
        pdf.markdown_to_latex("x " * 100_000)


def test_a_failing_pandoc_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RenderError, match=r"^pandoc failed: "):
        pdf.pandoc("x", "no-such-format", "latex", [])


# --- text pdflatex cannot set: LuaLaTeX ---------------------------------------------

needs_lualatex = pytest.mark.skipif(shutil.which("lualatex") is None, reason="no lualatex")

WORLD = "Глубокое обучение — Νευρωνικά δίκτυα — 深度学习 — 日本語 — 한국어 — Tiếng Việt"


@needs_lualatex
def test_text_pdflatex_cannot_set_is_typeset_by_lualatex_byte_for_byte_the_same(
    tmp_path: Path,
) -> None:
    from answerkey.figures import TIKZ_PREAMBLE

    markdown = f"# {WORLD}\n\n**{WORLD}** *{WORLD}* $\\sigma'(z) x_1$\n"
    source = pdf.markdown_to_latex(markdown, TIKZ_PREAMBLE)
    # in two directories, each with its own cache: same bytes (fixed date and PDF ID)
    for name in ("a", "b"):
        pdf.compile_latex(
            source, tmp_path / f"{name}.pdf", tmp_path / "logs", name, tmp_path / name
        )
    data = (tmp_path / "a.pdf").read_bytes()
    assert data == (tmp_path / "b.pdf").read_bytes()
    assert b"LuaHBTeX" in data and b"/ID [<616E737765726B6579>" in data
    text = pdf_text(tmp_path / "a.pdf")
    for word in ("Глубокое", "Νευρωνικά", "深度学习", "日本語", "한국어", "Tiếng"):
        assert word in text
    # text pdflatex sets is still typeset by pdflatex (on the dumped format)
    pdf.compile_latex(pdf.markdown_to_latex("# Plain\n"), tmp_path / "p.pdf", tmp_path, "p")
    assert b"pdfTeX" in (tmp_path / "p.pdf").read_bytes()


@needs_lualatex
def test_lualatex_reads_no_raw_tex_and_no_file_outside_its_directory(tmp_path: Path) -> None:
    path, marker = secret(tmp_path)
    got = to_pdf(f"Ж before \\input{{{path}}} after\n", tmp_path)
    assert marker not in got and "\\input{" in got
    source = (
        f"\\documentclass{{article}}\n{pdf.PDFLATEX_FONTS}\\begin{{document}}Ж\n"
        f"\\input{{{path}}}\n\\end{{document}}\n"
    )
    with pytest.raises(RenderError, match="LaTeX error in paranoid"):
        pdf.compile_latex(source, tmp_path / "out.pdf", tmp_path / "logs", "paranoid")


def test_a_tex_output_beyond_pdflatex_says_lualatex_and_has_its_fonts() -> None:
    plain = pdf.markdown_to_latex("# Plain\n")
    assert pdf.standalone_tex(plain) == plain
    world = pdf.standalone_tex(pdf.markdown_to_latex(f"# {WORLD}\n"))
    assert world.startswith("% !TEX program = lualatex\n\\documentclass")
    assert pdf.PDFLATEX_FONTS not in world and "\\usepackage{fontspec}" in world
    with pytest.raises(RenderError, match="no pdflatex font lines"):
        pdf.unicode_source("\\documentclass{article}\n")


def test_a_missing_lualatex_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(EnvironmentProblem, match="lualatex not found") as err:
        pdf.compile_latex("Ж", tmp_path / "out.pdf", tmp_path, "x")
    assert err.value.exit_code == 3


def test_a_format_in_the_cache_is_read_only_from_a_regular_file(tmp_path: Path) -> None:
    """A FIFO would hang the build, a link to /dev/zero fill the memory: neither is a
    format (the cache's promise, issue 21)."""
    import hashlib
    import os
    import time

    fmt = tmp_path / "answerkey-0123456789abcdef.fmt"
    digest = tmp_path / (fmt.name + ".sha256")
    fmt.write_bytes(b"a format")
    digest.write_text(hashlib.sha256(b"a format").hexdigest())
    assert pdf.format_ok(fmt)
    for swap in (lambda p: os.mkfifo(p), lambda p: p.symlink_to("/dev/zero")):
        for path in (fmt, digest):
            keep = path.read_bytes()
            path.unlink()
            swap(path)
            start = time.monotonic()
            assert not pdf.format_ok(fmt)
            assert time.monotonic() - start < 5
            path.unlink()
            path.write_bytes(keep)
    assert pdf.format_ok(fmt)
