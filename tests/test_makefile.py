"""The Makefile passes what the user typed to `answerkey` as arguments, never as code,
and installs the pinned versions of constraints.txt."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="no make")

HOSTILE = [
    "x'; touch PWNED; '",
    "$(shell touch PWNED)",
    "`touch PWNED`",
    '"; touch PWNED; "',
    "$$(touch PWNED)",
]


def make_argv(tmp_path: Path, *assignments: str) -> list[str]:
    """The arguments `make pdf` gives answerkey (a stand-in that records them)."""
    fake = tmp_path / "answerkey"
    record = tmp_path / "argv.json"
    fake.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    fake.chmod(0o755)
    proc = subprocess.run(
        ["make", "--no-print-directory", "-o", "setup", "pdf", f"ANSWERKEY={fake}", *assignments],
        cwd=tmp_path / "tree",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    argv: list[str] = json.loads(record.read_text())
    return argv


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "tree").mkdir()
    shutil.copy(ROOT / "Makefile", tmp_path / "tree" / "Makefile")
    return tmp_path


@needs_make
@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_term_name_reaches_answerkey_as_one_argument(tree: Path, value: str) -> None:
    argv = make_argv(tree, f"KEYTERM={value}")
    assert argv == ["build", "--term", value]
    assert not (tree / "tree" / "PWNED").exists()


@needs_make
def test_every_variable_is_quoted_word_by_word(tree: Path) -> None:
    argv = make_argv(
        tree, "ASSIGNMENTS=practical-1 x';touch PWNED;'", "VARIANTS=3", "ARGS=--verbose --jobs 1"
    )
    assert argv == [
        "build",
        "practical-1",
        "x';touch",
        "PWNED;'",
        "--term",
        "default",
        "--variants",
        "3",
        "--verbose",
        "--jobs",
        "1",
    ]
    assert not (tree / "tree" / "PWNED").exists()


def test_the_install_uses_the_constraints_file() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install[^\n]*\\\n\s*-c constraints\.txt", makefile)
    assert "constraints.txt" in makefile.split("$(INSTALL_STAMP):")[1].splitlines()[0]


def test_the_constraints_pin_every_package_to_what_is_installed() -> None:
    """Each line pins one exact version; the packages installed here are those versions."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned with ==: {line}"
            pins[name.lower().replace("_", "-")] = version
    for dist in ("sympy", "numpy", "jinja2", "pypandoc-binary", "pytest", "hypothesis", "ruff"):
        assert dist in pins, f"{dist} is not pinned"
        assert metadata.version(dist) == pins[dist], f"{dist} differs from constraints.txt"


REAL_ANSWERKEY = ROOT / ".venv" / "bin" / "answerkey"


@needs_make
def test_make_clean_refuses_while_a_build_runs_and_cleans_after(tree: Path) -> None:
    """`make clean` during a build would leave it reporting directories that are gone
    (and a manifest and variants.json that disagree): it takes the build lock, so it
    refuses while a build runs, and cleans once none does."""
    work = tree / "tree"
    env = {**os.environ, "ANSWERKEY_PAUSE": "building"}
    build = subprocess.Popen(
        [str(REAL_ANSWERKEY), "build", "cv-assignment9", "--format", "md"],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    clean = ["make", "--no-print-directory", "clean", f"ANSWERKEY={REAL_ANSWERKEY}"]
    try:
        assert build.stderr is not None
        line = build.stderr.readline()
        assert "paused at building" in line, line
        refused = subprocess.run(clean, cwd=work, capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0
        assert "a build is running there" in refused.stderr
        assert (work / "build").is_dir()
    finally:
        build.kill()
        build.wait()
    done = subprocess.run(clean, cwd=work, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not (work / "build").exists()
