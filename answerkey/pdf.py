"""PDFs: pandoc turns the Markdown into LaTeX with our lean template; pdflatex runs once.

We run pdflatex ourselves (rather than pandoc's --pdf-engine) to own its flags:
no shell escape, a fixed date and PDF ID for byte-identical output, one pass,
and a readable error with the generated source lines and the kept log.

A document with text pdflatex cannot set (a course title in Cyrillic, Greek or
Chinese: `settable.pdflatex_sets`) is typeset by LuaLaTeX instead, with the
preamble's font lines replaced by `templates/unicode.tex` (fonts with those
scripts), the same flags, date and PDF ID, and no dumped format.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pypandoc

from . import procs, scratch, store

# TEMPLATES from .cache, not .render: this module stays light (no SymPy), so a build
# can start dumping the PDFs' preamble while it is still importing the rest.
from .cache import TEMPLATES
from .errors import EnvironmentProblem, RenderError
from .settable import pdflatex_sets

MARKDOWN = "markdown-auto_identifiers-raw_tex-raw_html-raw_attribute-citations-implicit_figures"
# The Markdown made for the PDF carries our figures as ```{=latex} blocks; every
# string from outside is escaped (backticks included), so only we can write one.
MARKDOWN_FOR_PDF = "markdown-auto_identifiers-raw_tex-raw_html-citations-implicit_figures"
SOURCE_DATE_EPOCH = "1700000000"
#: seconds one pandoc conversion or one pdflatex pass may take (a key takes about one)
PANDOC_TIMEOUT = 60.0
TEX_TIMEOUT = 120.0
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


def _run_tex(args: list[str], cwd: str | Path) -> subprocess.CompletedProcess[bytes]:
    """Run a TeX binary the one safe way: reproducible environment, no input, time limit
    (`subprocess.TimeoutExpired` past `TEX_TIMEOUT`, for the caller to report), in a
    process group killed whole on every way out (`procs.run`)."""
    return procs.run(args, cwd=cwd, env=reproducible_env(), timeout=TEX_TIMEOUT)


def markdown_to_latex(markdown: str, header: str = "") -> str:
    """pandoc's standalone LaTeX for our Markdown, through the lean template."""
    args = ["--standalone", f"--template={TEMPLATES / 'pandoc.latex'}"]
    if header:
        args.append(f"--variable=header-includes:{header}")
    latex = pandoc(markdown, MARKDOWN_FOR_PDF, "latex", args)
    # pandoc writes a literal ^ as the accent \^{} (a modifier letter in the PDF's
    # text); \textasciicircum is the ASCII caret, so the text reads as it was given.
    return latex.replace("\\^{}", "\\textasciicircum{}")


def markdown_to_html(markdown: str, title: str, resources: Mapping[str, str]) -> str:
    """A self-contained HTML page: maths as MathML, figures embedded, no network needed.

    Figures go in as data: URIs (pandoc's --embed-resources does the same, but
    costs more than the rest of the conversion)."""
    for name, svg in resources.items():
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        markdown = markdown.replace(f"]({name})", f"]({uri})")
    args = [
        "--standalone",
        "--mathml",
        f"--metadata=pagetitle:{title}",
        f"--include-in-header={TEMPLATES / 'html-head.html'}",
    ]
    return pandoc(markdown, MARKDOWN, "html", args)


def pandoc(text: str, source_format: str, to: str, args: list[str]) -> str:
    """pandoc's conversion of `text` (what pypandoc.convert_text runs), with a time limit."""
    try:
        exe = pypandoc.get_pandoc_path()
    except OSError:
        raise EnvironmentProblem("pandoc not found: reinstall with `make setup`") from None
    try:
        proc = procs.run(
            [exe, f"--from={source_format}", f"--to={to}", *args],
            input=text.encode("utf-8"),
            timeout=PANDOC_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"pandoc did not finish within {PANDOC_TIMEOUT:g} s") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise RenderError(f"pandoc failed: {lines[-1] if lines else f'exit {proc.returncode}'}")
    return proc.stdout.decode("utf-8", errors="replace")


def compile_latex(
    source: str, out_pdf: Path, log_dir: Path, name: str, formats: Path | None = None
) -> None:
    """Run pdflatex once on `source`, writing `out_pdf`; on error keep the log in `log_dir`.

    With `formats` (a cache directory), the preamble is loaded from a format
    dumped once (`tex_format`) and pdflatex reads only the body: the preamble
    (TikZ above all) is most of a short document's TeX time. Should that fail,
    the whole source is compiled as it is, and its errors are reported."""
    if not pdflatex_sets(source):
        _compile_unicode(source, out_pdf, log_dir, name, formats)
        return
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise EnvironmentProblem(
            "pdflatex not found: run `make pdf` (it installs TeX Live) or install TeX Live"
        )
    if formats is not None:
        preamble, body = split_preamble(source)
        try:
            fmt = tex_format(preamble, formats) if body else None
            if fmt is not None and _pdflatex(pdflatex, body, out_pdf, fmt) is None:
                return
        except OSError:  # a format replaced under our feet: compile in full
            pass
    _report(_pdflatex(pdflatex, source, out_pdf), source, log_dir, name)


def _report(failed: tuple[str, str] | None, source: str, log_dir: Path, name: str) -> None:
    """A failed pass's error, with its log and source kept in `log_dir`."""
    if failed is not None:
        proc_out, log = failed
        log_dir.mkdir(parents=True, exist_ok=True)
        kept = log_dir / f"{name}.log"
        kept.write_text(log or proc_out, encoding="utf-8")
        (log_dir / f"{name}.tex").write_text(source, encoding="utf-8")
        raise RenderError(latex_error(source, log, kept, name))


#: the preamble's font lines (templates/preamble.latex) LuaLaTeX's replace
PDFLATEX_FONTS = "\\usepackage[T1]{fontenc}\n\\usepackage{lmodern}\n\\usepackage[utf8]{inputenc}\n"


def unicode_source(source: str) -> str:
    """`source` with LuaLaTeX's fonts (templates/unicode.tex) for pdflatex's."""
    if PDFLATEX_FONTS not in source:
        raise RenderError("the PDF preamble has no pdflatex font lines to replace for LuaLaTeX")
    fonts = (TEMPLATES / "unicode.tex").read_text(encoding="utf-8")
    return source.replace(PDFLATEX_FONTS, fonts, 1)


def standalone_tex(source: str) -> str:
    """A .tex output as given to people: as it is when pdflatex sets its text, else
    with LuaLaTeX's fonts and the magic comment editors read to pick the engine."""
    if pdflatex_sets(source):
        return source
    return "% !TEX program = lualatex\n" + unicode_source(source)


def _compile_unicode(
    source: str, out_pdf: Path, log_dir: Path, name: str, cache_dir: Path | None
) -> None:
    lualatex = shutil.which("lualatex")
    if lualatex is None:
        raise EnvironmentProblem(
            "lualatex not found (the PDFs need it for text beyond Latin): "
            "run `make pdf` (scripts/ensure-tex installs it) or install TeX Live's LuaTeX"
        )
    if cache_dir is not None:
        _warm_lualatex(lualatex, cache_dir)
    source = unicode_source(source)
    _report(_pdflatex(lualatex, source, out_pdf), source, log_dir, name)


WARM_MARK = "lualatex-fonts.ready"


def _warm_lualatex(lualatex: str, cache_dir: Path) -> None:
    """The first LuaLaTeX run writes luaotfload's font caches; two at once could read
    each other's half-written files. So one process, holding the lock, typesets every
    font's shapes once (a few seconds, once per cache) before any document."""
    mark, home = cache_dir / WARM_MARK, str(Path.home())  # the caches are in $HOME
    if _read(mark) == home:
        return
    sample = "A Ж Ω 中 か 한"
    body = f"{sample} \\textbf{{{sample}}} \\textit{{{sample} \\textbf{{{sample}}}}}"
    warm = f"{PDFLATEX_FONTS}\\begin{{document}}\n{body}\n\\end{{document}}\n"
    with _format_lock(cache_dir, True):
        if _read(mark) == home:
            return
        source = "\\documentclass{article}\n" + unicode_source(warm)
        with tempfile.TemporaryDirectory(prefix=scratch.tmp_prefix("tex")) as tmp:
            if _pdflatex(lualatex, source, Path(tmp) / "warm.pdf") is None:
                _atomic_write(mark, home.encode())


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _pdflatex(
    pdflatex: str, source: str, out_pdf: Path, fmt: Path | None = None
) -> tuple[str, str] | None:
    """One pass in a scratch directory: None when it made out_pdf, else (stdout, log).
    `pdflatex` is the engine's path (pdflatex's or LuaLaTeX's)."""
    with tempfile.TemporaryDirectory(prefix=scratch.tmp_prefix("tex")) as tmp:
        (Path(tmp) / "doc.tex").write_text(source, encoding="utf-8")
        fmt_args = []
        if fmt is not None:
            shutil.copyfile(fmt, Path(tmp) / FORMAT_FILE)
            fmt_args = [f"-fmt={Path(FORMAT_FILE).stem}"]
        engine = Path(pdflatex).name
        try:
            proc = _run_tex([pdflatex, *PDFLATEX_FLAGS, *fmt_args, "doc.tex"], tmp)
        except subprocess.TimeoutExpired:
            raise RenderError(f"{engine} did not finish within {TEX_TIMEOUT:g} s") from None
        log = Path(tmp) / "doc.log"
        if proc.returncode != 0 or not (Path(tmp) / "doc.pdf").exists():
            text = log.read_text(errors="replace") if log.exists() else ""
            return proc.stdout.decode(errors="replace"), text
        shutil.move(str(Path(tmp) / "doc.pdf"), out_pdf)
        return None


FORMAT_FILE = "answerkey.fmt"
DUMP_FLAGS = ["-jobname=answerkey", "&pdflatex", "preamble.tex"]
BEGIN_DOCUMENT = "\\begin{document}"


def split_preamble(source: str) -> tuple[str, str]:
    """(preamble, the rest from \\begin{document}); ("", "") when there is none."""
    at = source.find(BEGIN_DOCUMENT)
    return (source[:at], source[at:]) if at >= 0 else ("", "")


def pdf_preamble() -> str:
    """The preamble every PDF's LaTeX starts with (our figures' TikZ included)."""
    from .figures import TIKZ_PREAMBLE

    return split_preamble(markdown_to_latex("", TIKZ_PREAMBLE))[0]


def tex_format(preamble: str, cache_dir: Path, wait: bool = True) -> Path | None:
    """A pdflatex format with `preamble` loaded (made once, kept in `cache_dir`),
    or None when TeX cannot dump it (the caller then compiles in full).

    One process dumps at a time (a lock file); the others wait and use its
    format, or with `wait=False` return None at once."""
    path = _format_path(preamble, cache_dir)
    if format_ok(path):
        return path
    if shutil.which("pdftex") is None:
        return None
    with _format_lock(cache_dir, wait) as locked:
        if not locked:
            return None
        return path if format_ok(path) else _dump(preamble, path)


def dump_pdf_format(cache_dir: Path) -> Path | None:
    """`tex_format` for the PDFs' preamble, holding the lock from the start (so the
    build's own processes, starting meanwhile, wait for this one)."""
    if shutil.which("pdftex") is None:
        return None
    with _format_lock(cache_dir, True):
        preamble = pdf_preamble()
        path = _format_path(preamble, cache_dir)
        return path if format_ok(path) else _dump(preamble, path)


def _format_path(preamble: str, cache_dir: Path) -> Path:
    from . import cache

    key = cache.value_digest([preamble, cache.tex_version()])[:16]
    return cache_dir / f"answerkey-{key}.fmt"


@contextlib.contextmanager
def _format_lock(cache_dir: Path, wait: bool) -> Iterator[bool]:
    import fcntl

    cache_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(cache_dir, os.O_RDONLY)  # the directory itself: no lock file left behind
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _dump(preamble: str, path: Path) -> Path | None:
    with tempfile.TemporaryDirectory(prefix=scratch.tmp_prefix("fmt")) as tmp:
        (Path(tmp) / "preamble.tex").write_text(preamble + "\\dump\n", encoding="utf-8")
        try:
            proc = _run_tex(["pdftex", "-ini", *PDFLATEX_FLAGS, *DUMP_FLAGS], tmp)
        except subprocess.TimeoutExpired:
            return None
        made = Path(tmp) / FORMAT_FILE
        if proc.returncode != 0 or not made.exists():
            return None
        for old in path.parent.glob("answerkey-*.fmt*"):
            old.unlink(missing_ok=True)
        data = made.read_bytes()
        # the digest first: a format without its digest, or not matching it, is made again
        _atomic_write(_digest_path(path), hashlib.sha256(data).hexdigest().encode())
        _atomic_write(path, data)
    return path


#: a dumped format is a few MB
MAX_FORMAT = 256 * 1024 * 1024


def _digest_path(fmt: Path) -> Path:
    return fmt.with_name(fmt.name + ".sha256")


def _atomic_write(path: Path, data: bytes) -> None:
    partial = path.parent / f".{path.name}.partial-{os.getpid()}"
    partial.write_bytes(data)
    os.replace(partial, path)


def format_ok(fmt: Path) -> bool:
    """Whether a dumped format is whole: its bytes match the digest recorded when it
    was dumped (a truncated or overwritten .fmt would make pdflatex fall back to a
    full compile, whose PDF differs in bytes from one made on the format)."""
    try:  # regular files only: a FIFO, a device or a link in the cache is no format
        want = store.read_regular(_digest_path(fmt), 1024).decode("ascii").strip()
        return hashlib.sha256(store.read_regular(fmt, MAX_FORMAT)).hexdigest() == want
    except (OSError, ValueError):
        return False


def start_tex_format(cache_dir: Path) -> subprocess.Popen[bytes] | None:
    """Dump the PDFs' preamble in a process of its own, unless it is there already.

    Started before the build imports SymPy, it runs on the core that would
    otherwise wait; the build's PDFs then find it (or wait on its lock)."""
    if shutil.which("pdftex") is None or any(map(format_ok, cache_dir.glob("answerkey-*.fmt"))):
        return None
    code = "import sys; from answerkey import pdf; pdf.dump_pdf_format(pdf.Path(sys.argv[1]))"
    try:
        return subprocess.Popen(
            [sys.executable, "-c", code, str(cache_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


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
