"""The `answerkey` command: bad input is one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import CV, ROOT

from answerkey import cli, registry
from answerkey.build import FORMATS

ANSWERKEY = ROOT / ".venv" / "bin" / "answerkey"


def run(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    exe = str(ANSWERKEY) if ANSWERKEY.exists() else "answerkey"
    return subprocess.run(
        [exe, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**(os.environ if env is None else env), "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("answerkey: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


# --- as a process -----------------------------------------------------------------


def test_an_unknown_format_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run("build", CV, "--format", "docx", "--out", str(tmp_path))
    assert proc.returncode == 2
    line = one_line_error(proc.stderr)
    assert "unknown format 'docx'" in line
    assert ", ".join(FORMATS) in line
    assert proc.stdout == ""
    assert not any(tmp_path.iterdir())


def test_a_missing_command_is_one_line_and_exit_2() -> None:
    proc = run()
    assert proc.returncode == 2
    one_line_error(proc.stderr)


def test_an_unknown_option_is_one_line_and_exit_2() -> None:
    proc = run("build", "--bogus")
    assert proc.returncode == 2
    assert "--bogus" in one_line_error(proc.stderr)


def test_a_bad_variants_count_is_one_line_and_exit_2() -> None:
    proc = run("build", CV, "--variants", "many")
    assert proc.returncode == 2
    assert "--variants" in one_line_error(proc.stderr)


def test_help_lists_the_commands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("build", "list", "new-term"):
        assert command in proc.stdout


# --- in process (the registry holds only cv-assignment9) --------------------------


@pytest.mark.usefixtures("cv_only_registry")
def test_an_unknown_assignment_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code = cli.main(["build", "cv-assignment99", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    line = one_line_error(err)
    assert "unknown assignment 'cv-assignment99'" in line
    assert f"known: {CV}" in line
    assert out == ""
    assert not any(tmp_path.iterdir())


@pytest.mark.usefixtures("cv_only_registry")
def test_a_bad_term_name_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code = cli.main(["build", CV, "--term", "no-such-term", "--out", str(tmp_path)])
    assert code == 2
    assert "no-such-term" in one_line_error(capsys.readouterr().err)
    assert not any(tmp_path.iterdir())


@pytest.mark.usefixtures("cv_only_registry")
def test_list_names_each_assignment_and_its_parts(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert out == f"{CV}: CV Assignment 9 — parts 1a 1b 2 3 4 5 6 7 8 9\n"


def test_the_command_exits_at_once_yet_everything_it_printed_arrives() -> None:
    # run() ends with os._exit, which skips the interpreter's own flush of a piped stdout
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = run("list", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    ids = list(registry.discover())
    assert [line.split(":", 1)[0] for line in lines] == ids, done.stdout
