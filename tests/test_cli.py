"""The `answerkey` command: bad input is one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import CV, ROOT, SharedProofs, module_source, pdf_text

from answerkey import cli, registry
from answerkey.build import FORMATS

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

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
def test_run_in_a_program_it_hands_back_the_programs_signal_handlers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: dict[str, object] = {}

    def mine(signum: int, frame: object) -> None:
        pass

    def during(argv: list[str]) -> list[str]:  # what handles the signals while it runs
        seen.update(term=signal.getsignal(signal.SIGTERM), int=signal.getsignal(signal.SIGINT))
        return argv

    before = signal.signal(signal.SIGTERM, mine), signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with pytest.MonkeyPatch.context() as m:
            m.setattr(cli, "_join_answer", during)
            assert cli.main(["list"]) == 0
            assert cli.main(["build", "--jobs", "0"]) == 2  # an error return too
        # while it runs, SIGTERM ends it as Ctrl-C does, and Ctrl-C interrupts
        assert seen["int"] is signal.default_int_handler and callable(seen["term"])
        with pytest.raises(KeyboardInterrupt):
            seen["term"](signal.SIGTERM, None)
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])
    capsys.readouterr()


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


# --- every user and environment error: one line, its exit code, nothing computed --------


def _p1_term(tmp_path: Path, body: str, name: str = "fault.toml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


BAD_TERMS = {
    "runaway iterations": ('["practical-1".trace]\niterations = 1000000\n', "iterations"),
    "huge weight": (
        '["practical-1".trace]\nW = [[1e308, 0.7, 0.0], [0.01, 0.43, 0.88]]\n',
        "trace.W[0][0]",
    ),
    "huge learning rate": ('["practical-1".trace]\nlearning_rate = 1e308\n', "learning_rate"),
    "exploding trace": (
        '["practical-1".trace]\nlearning_rate = 1000.0\niterations = 10\n'
        "W = [[900.0, 900.0, 900.0], [900.0, 900.0, 900.0]]\n",
        "trace",
    ),
    "true class out of range": ('["practical-1".hinge]\ntrue_class = 99\n', "true_class"),
    "5,000 nested lists": ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    "200 kB course": (f'course = "{"a" * 200_000}"\n', "larger than"),
    "long course": (f'course = "{"a" * 1000}"\n', "course: at most"),
    "Hebrew course": ('course = "למידה עמוקה"\n', "U+05DC"),
    "combining accent": ('course = "e\\u0301"\n', "U+0301"),
    "emoji label": ('label = "🙂"\n', "U+1F642"),
}


@pytest.mark.parametrize("case", sorted(BAD_TERMS))
def test_a_bad_term_is_refused_in_one_line_before_computing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    import answerkey.build

    monkeypatch.chdir(ROOT)
    body, needle = BAD_TERMS[case]
    term = _p1_term(tmp_path, body)
    computed: list[str] = []
    monkeypatch.setattr(answerkey.build, "plan", lambda *a: computed.append("plan") or [])
    code = cli.main(["build", "practical-1", "--term", str(term), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert needle in err
    assert len(err.splitlines()) <= 3, err
    assert computed == []
    # nothing written (the PDFs' preamble format may be dumping into o/.cache meanwhile)
    out = tmp_path / "o"
    assert not out.exists() or not any(".cache" not in p.parts for p in out.rglob("*"))


@pytest.mark.skipif(shutil.which("lualatex") is None, reason="no lualatex")
def test_a_course_in_cyrillic_greek_or_cjk_builds_into_every_format(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shared_proofs: SharedProofs,
) -> None:
    monkeypatch.chdir(ROOT)
    course, label = "Глубокое обучение — Νευρωνικά δίκτυα — 深度学习", "Зима 2026 / 冬学期"
    term = _p1_term(tmp_path, f'course = "{course}"\nlabel = "{label}"\n', "world.toml")
    out = tmp_path / "o"
    with shared_proofs(out):  # what this test is about is the text, not the proofs
        code = cli.main(["build", "cv-assignment9", "--term", str(term), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    built = out / "world" / "cv-assignment9"
    for kind in ("key", "handout"):
        text = pdf_text(built / f"{kind}.pdf")
        assert "Глубокое обучение" in text and "Νευρωνικά" in text and "深度学习" in text
        assert "Зима 2026" in text and "冬" in text
        tex = (built / f"{kind}.tex").read_text()
        assert tex.startswith("% !TEX program = lualatex\n")
        for page in (tex, (built / f"{kind}.md").read_text(), (built / f"{kind}.html").read_text()):
            assert "Глубокое обучение" in page and "Νευρωνικά" in page and "深度学习" in page


def test_control_characters_never_reach_the_terminal_raw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    term = _p1_term(tmp_path, 'course = "a\\u001b[2J\\u0007\\u202eb"\n')
    code = cli.main(["build", "practical-1", "--term", str(term), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert "U+001B" in err
    code = cli.main(["build", "practical-1", "--term", "a\x1b[2J\x07", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b[2J\\x07" in one_line_error(err)


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("..toml", "bad term name"),
        ("...toml", "bad term name"),
        ("default.toml", "may not be named 'default'"),
        ("2026-winter.toml", "already"),
        ("a" * 240 + ".toml", "bad term name"),
    ],
)
def test_a_term_file_name_that_is_no_term_name_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    needle: str,
) -> None:
    monkeypatch.chdir(ROOT)
    term = _p1_term(tmp_path, 'course = "x"\n', name)
    out = tmp_path / "o"
    code = cli.main(["build", "practical-1", "--term", str(term), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in one_line_error(err)
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


def test_a_device_as_term_file_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    for term in ("/dev/zero", str(tmp_path / "zero.toml")):
        (tmp_path / "zero.toml").unlink(missing_ok=True)
        (tmp_path / "zero.toml").symlink_to("/dev/zero")
        code = cli.main(["build", "practical-1", "--term", term, "--out", str(tmp_path / "o")])
        assert code == 2
        one_line_error(capsys.readouterr().err)


def test_a_50_mb_term_file_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    term = tmp_path / "big.toml"
    with term.open("w") as f:
        f.write('course = "')
        f.write("a" * 50_000_000)
        f.write('"\n')
    code = cli.main(["build", "practical-1", "--term", str(term), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "larger than" in one_line_error(capsys.readouterr().err)


def test_an_out_that_is_a_file_is_an_environment_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code = cli.main(["build", "practical-1", "--out", "/etc/passwd"])
    assert code == 3
    assert "not a directory" in one_line_error(capsys.readouterr().err)


def test_an_out_path_too_long_is_an_environment_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code = cli.main(["build", "practical-1", "--out", str(tmp_path / ("x" * 300))])
    assert code == 3
    assert "too long" in one_line_error(capsys.readouterr().err)


def test_a_read_only_out_is_an_environment_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    real_access = os.access
    ro = tmp_path / "ro"
    ro.mkdir()
    # root passes permission checks, so the read-only file system is simulated
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == ro else real_access(p, m))
    code = cli.main(["build", "practical-1", "--out", str(ro / "build")])
    assert code == 3
    assert "not writable" in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("err", "needle"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "build/x/key.pdf"), "No space left"),
        (OSError(errno.EROFS, os.strerror(errno.EROFS), "build/x"), "Read-only file system"),
        (OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), "b/x"), "too long"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "pandoc"), "pandoc"),
    ],
)
def test_an_os_error_during_the_build_is_one_line_and_exit_3(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    err: OSError,
    needle: str,
) -> None:
    import answerkey.build

    def fail(*_a: object, **_k: object) -> None:
        raise err

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(answerkey.build, "build", fail)
    code = cli.main(["build", "practical-1", "--format", "json", "--out", str(tmp_path)])
    assert code == 3
    assert needle in one_line_error(capsys.readouterr().err)


def test_a_bug_is_one_line_and_the_traceback_only_with_verbose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import answerkey.build

    def fail(*_a: object, **_k: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(answerkey.build, "build", fail)
    argv = ["build", "practical-1", "--format", "json", "--out", str(tmp_path)]
    assert cli.main(argv) == 2
    one_line_error(capsys.readouterr().err)
    assert cli.main([*argv, "--verbose"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_too_many_variants_are_refused_before_computing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code = cli.main(["build", "practical-1", "--variants", "1000000", "--out", str(tmp_path)])
    assert code == 2
    assert "--variants must be between 0 and 500" in one_line_error(capsys.readouterr().err)


def test_the_short_options_people_expect() -> None:
    args = cli.parser().parse_args(["build", "-q", "-j", "3"])
    assert args.quiet and args.jobs == 3 and not args.verbose
    assert cli.parser().parse_args(["build", "-v", "-j4"]).verbose
    assert cli.parser().parse_args(["build", "-v", "-j4"]).jobs == 4


# --- a solution module that misbehaves ----------------------------------------------


def exiting_in_build(code: int) -> str:
    return module_source("m-one").replace(
        "return Assignment(ID, ','.join(params), [])", f"import sys; sys.exit({code})"
    )


@pytest.mark.parametrize("code", [0, 3])
def test_a_module_exiting_in_build_never_makes_check_say_correct(
    fake_solutions: Path, capsys: pytest.CaptureFixture[str], code: int
) -> None:
    (fake_solutions / "m.py").write_text(exiting_in_build(code))
    assert cli.main(["check", "m-one", "1", "--answer", "x"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert line == (
        f"answerkey: error: m-one (solutions/m.py): build() called sys.exit({code}); "
        "a solution module must not exit"
    )


def test_list_names_a_broken_module_and_still_lists_the_others(
    fake_solutions: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANSWERKEY_MODULE_SECONDS", "0.5")
    (fake_solutions / "a_exits.py").write_text("import sys\nsys.exit(0)\n")
    (fake_solutions / "b_good.py").write_text(module_source("good"))
    (fake_solutions / "c_loops.py").write_text("while True:\n    pass\n")
    (fake_solutions / "d_raises.py").write_text(exiting_in_build(0).replace("sys.exit(0)", "1/0"))
    assert cli.main(["list"]) == 1
    out, err = capsys.readouterr()
    assert out == "good: T — parts \n"
    assert err.splitlines() == [
        "answerkey: error: solutions/a_exits.py: import called sys.exit(0); "
        "a solution module must not exit",
        "answerkey: error: solutions/c_loops.py: import did not finish within 0.5 s "
        "(a loop without end? $ANSWERKEY_MODULE_SECONDS sets the limit)",
        "answerkey: error: m-one (solutions/d_raises.py): build() failed: "
        "ZeroDivisionError: division by zero (at solutions/d_raises.py:6)",
    ]
