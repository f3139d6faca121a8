"""The documentation site: it builds in strict mode, and its examples are true.

Every command line on the pages parses with the real argument parser, every `make`
target named exists, every Python block runs, every example file is read by the
reader it documents, and the generated pages (CLI reference, the scaffold's module)
come from the code. A broken example fails here: the checkers are shown to refuse
one (the last tests).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from answerkey.claims import load_claims
from answerkey.cli import parser
from answerkey.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.M | re.S)
MAKE_TARGETS = set(
    re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
)


def blocks(language: str, pages: list[Path] = PAGES) -> list[tuple[str, str]]:
    """(page, code) for every fenced block of `language` on the pages."""
    return [
        (str(p.relative_to(ROOT)), code)
        for p in pages
        for lang, code in FENCE.findall(p.read_text(encoding="utf-8"))
        if lang == language
    ]


def command_lines(code: str) -> list[list[str]]:
    """The shell commands of a block, one word list each, comments dropped."""
    joined = code.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


def answerkey_problems(code: str) -> list[str]:
    """Every `answerkey ...` line of a shell block that the real parser refuses."""
    problems = []
    for words in command_lines(code):
        if not words or not words[0].endswith("answerkey"):
            continue
        args = words[1:]
        for i, w in enumerate(args[:-1]):  # as the CLI does: an answer may start with "-"
            if w == "--answer":
                args[i : i + 2] = [f"--answer={args[i + 1]}"]
        try:
            parser().parse_args(args)
        except (SystemExit, UsageError):
            problems.append(shlex.join(words))
    return problems


def make_problems(code: str) -> list[str]:
    """Every `make X` of a shell block whose target the Makefile does not have."""
    problems = []
    for words in command_lines(code):
        if words[:1] == ["make"]:
            targets = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
            problems += [f"make {t}" for t in targets if t not in MAKE_TARGETS]
    return problems


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    cli = (tmp_path / "reference" / "cli.html").read_text(encoding="utf-8")
    for name in ("build", "check", "new-exercise", "new-term"):
        assert f"answerkey {name}" in cli, f"the CLI reference lacks {name}"
    tutorial = (tmp_path / "tutorial" / "first-exercise.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", tutorial)
    assert 'ID = "tanh-step"' in text.replace("&quot;", '"'), "the scaffold's module is missing"


@pytest.mark.parametrize("page, code", blocks("sh"), ids=lambda v: v if "/" in v else "")
def test_every_command_on_the_pages_exists(page: str, code: str) -> None:
    assert not answerkey_problems(code), f"{page}: the parser refuses these"
    assert not make_problems(code), f"{page}: no such make target"


@pytest.mark.parametrize("page, code", blocks("python"), ids=lambda v: v if "/" in v else "")
def test_every_python_example_runs(page: str, code: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{page}:\n{result.stderr[-2000:]}"


@pytest.mark.parametrize("example", sorted((DOCS / "examples").glob("*.toml")), ids=str)
def test_every_claims_example_is_read(example: Path) -> None:
    claims = load_claims(example)
    assert claims.claims


def test_a_broken_command_is_caught() -> None:
    assert answerkey_problems("answerkey build --no-such-option\n")
    assert answerkey_problems(".venv/bin/answerkey check --term\n")
    assert make_problems("make pdf KEYTERM=x\nmake no-such-target\n") == ["make no-such-target"]
    assert not answerkey_problems("answerkey build practical-1 --term 2026-winter  # a comment\n")


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    missing = [str(p.relative_to(DOCS)) for p in PAGES if str(p.relative_to(DOCS)) not in nav]
    assert not missing
