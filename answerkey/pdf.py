"""PDFs: pandoc turns the Markdown into LaTeX with our lean template; pdflatex runs once.

We run pdflatex ourselves (rather than pandoc's --pdf-engine) to own its flags:
no shell escape, a fixed date and PDF ID for byte-identical output, one pass,
and a readable error with the generated source lines and the kept log.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pypandoc

from .errors import RenderError
from .render import TEMPLATES

MARKDOWN = "markdown-auto_identifiers-raw_tex-raw_html-raw_attribute-citations-implicit_figures"
# The Markdown made for the PDF carries our figures as ```{=latex} blocks; every
# string from outside is escaped (backticks included), so only we can write one.
MARKDOWN_FOR_PDF = "markdown-auto_identifiers-raw_tex-raw_html-citations-implicit_figures"
SOURCE_DATE_EPOCH = "1700000000"
PDFLATEX_FLAGS = [
    "-no-shell-escape",
    "-interaction=nonstopmode",
    "-halt-on-error",
    "-file-line-error",
]


def reproducible_env() -> dict[str, str]:
    """Environment for TeX: a fixed date so two builds give the same bytes."""
    env = dict(os.environ)
    env.update(SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, FORCE_SOURCE_DATE="1", TZ="UTC", LC_ALL="C")
    env.pop("TEXINPUTS", None)
    # No shell escape, and \openin / \openout only in the working directory
    # (kpathsea's "paranoid"): a stray \input{/etc/...} cannot read a file.
    env.update(shell_escape="f", openin_any="p", openout_any="p")
    return env


def markdown_to_latex(markdown: str, header: str = "") -> str:
    """pandoc's standalone LaTeX for our Markdown, through the lean template."""
    args = ["--standalone", f"--template={TEMPLATES / 'pandoc.latex'}"]
    if header:
        args.append(f"--variable=header-includes:{header}")
    try:
        latex = str(
            pypandoc.convert_text(markdown, "latex", format=MARKDOWN_FOR_PDF, extra_args=args)
        )
    except (RuntimeError, OSError) as exc:
        raise RenderError(f"pandoc failed: {str(exc).strip().splitlines()[-1]}") from None
    # pandoc writes a literal ^ as the accent \^{} (a modifier letter in the PDF's
    # text); \textasciicircum is the ASCII caret, so the text reads as it was given.
    return latex.replace("\\^{}", "\\textasciicircum{}")


def markdown_to_html(markdown: str, title: str, resources: Mapping[str, str]) -> str:
    """A self-contained HTML page: maths as MathML, figures embedded, no network needed."""
    with tempfile.TemporaryDirectory(prefix="answerkey-html-") as tmp:
        for name, data in resources.items():
            (Path(tmp) / name).write_text(data, encoding="utf-8")
        args = [
            "--standalone",
            "--embed-resources",
            "--mathml",
            f"--resource-path={tmp}",
            f"--metadata=pagetitle:{title}",
            f"--include-in-header={TEMPLATES / 'html-head.html'}",
        ]
        try:
            return str(pypandoc.convert_text(markdown, "html", format=MARKDOWN, extra_args=args))
        except (RuntimeError, OSError) as exc:
            raise RenderError(f"pandoc failed: {str(exc).strip().splitlines()[-1]}") from None


def compile_latex(source: str, out_pdf: Path, log_dir: Path, name: str) -> None:
    """Run pdflatex once on `source`, writing `out_pdf`; on error keep the log in `log_dir`."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise RenderError(
            "pdflatex not found: run `make pdf` (it installs TeX Live) or install TeX Live"
        )
    with tempfile.TemporaryDirectory(prefix="answerkey-tex-") as tmp:
        tex = Path(tmp) / "doc.tex"
        tex.write_text(source, encoding="utf-8")
        proc = subprocess.run(
            [pdflatex, *PDFLATEX_FLAGS, "doc.tex"],
            cwd=tmp,
            env=reproducible_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        log = Path(tmp) / "doc.log"
        if proc.returncode != 0 or not (Path(tmp) / "doc.pdf").exists():
            log_dir.mkdir(parents=True, exist_ok=True)
            kept = log_dir / f"{name}.log"
            kept_tex = log_dir / f"{name}.tex"
            shutil.copyfile(log, kept) if log.exists() else kept.write_text(proc.stdout.decode())
            kept_tex.write_text(source, encoding="utf-8")
            raise RenderError(
                latex_error(
                    source, log.read_text(errors="replace") if log.exists() else "", kept, name
                )
            )
        shutil.move(str(Path(tmp) / "doc.pdf"), out_pdf)


def latex_error(source: str, log: str, log_path: Path, name: str) -> str:
    """The first LaTeX error, the generated source lines around it, and where the full log is."""
    match = re.search(r"^(?:\./)?doc\.tex:(\d+): (.*)$", log, re.M) or re.search(
        r"^! (.*)$", log, re.M
    )
    if match is None:
        return f"LaTeX failed on {name}; full log: {log_path}"
    if match.lastindex == 2:
        line, message = int(match.group(1)), match.group(2)
    else:
        message = match.group(1)
        found = re.search(r"^l\.(\d+)", log[match.end() :], re.M)
        line = int(found.group(1)) if found else 0
    lines = source.splitlines()
    context = "\n".join(
        f"{'>' if i + 1 == line else ' '} {i + 1:4d} | {lines[i]}"
        for i in range(max(0, line - 3), min(len(lines), line + 2))
    )
    return f"LaTeX error in {name}, line {line}: {message}\n{context}\nfull log: {log_path}"
