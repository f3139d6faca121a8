"""`answerkey check`: a claimed answer is graded against the verified key."""

from __future__ import annotations

from pathlib import Path

import pytest

from answerkey import check, cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_equal_answer_in_another_form_is_correct(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "cv-assignment9", "1b", "--answer", r"-tW(1-\sigma(Wx))")
    assert code == 0
    assert out.startswith("correct")
    assert "read as:" in out


def test_a_wrong_answer_gets_a_counterexample(capsys: pytest.CaptureFixture[str]) -> None:
    seed_1b = r"\frac{-t * W * e^{e^{-Wx}}}{1 + e^{-Wx}}"
    code, out, _ = run(capsys, "check", "cv-assignment9", "1b", "--answer", seed_1b)
    assert code == 1
    assert out.startswith("incorrect")
    assert "counterexample: at W=" in out and "claim = " in out and "key = " in out


def test_a_typical_mistake_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "cv-assignment9", "1b", "--answer", r"tW(1-\sigma(Wx))")
    assert code == 1
    assert "typical mistake: sign flipped" in out


def test_the_other_layout_is_its_own_verdict_and_the_course_decides(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A column where the key writes a row is "transposed" (equal up to layout): accepted
    with a note by default (bce-tanh-sigmoid), refused where the assignment asks for its
    layout (cv-assignment9 states its rows: `Grading(layout="refuse")`)."""
    column = r"y^{(2)} - t"
    code, out, _ = run(capsys, "check", "bce-tanh-sigmoid", "a", "--answer", column)
    assert code == 0
    assert out.startswith("transposed: equal up to layout (transposed)")
    assert "a column where the key writes a row" in out and "note: accepted" in out
    code, out, _ = run(capsys, "check", "cv-assignment9", "2", "--answer", column)
    assert code == 1
    assert out.startswith("transposed:") and "note: not accepted" in out
    code, out, _ = run(capsys, "check", "cv-assignment9", "3", "--answer", r"W^{(2)T}(y^{(2)} - t)")
    assert code == 1 and out.startswith("transposed:")
    # a wrong column is no layout question
    code, out, _ = run(capsys, "check", "bce-tanh-sigmoid", "a", "--answer", r"t - y^{(2)}")
    assert code == 1 and out.startswith("incorrect")


def test_unreadable_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "cv-assignment9", "1a", "--answer", r"\frac{-tW")
    assert code == 2
    assert out.strip().count("\n") == 0 and out.startswith("unreadable")
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "cv-assignment9", "12", "--answer", "x"],
        ["check", "no-such-assignment", "1a", "--answer", "x"],
        ["check", "cv-assignment9", "1a"],
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("answerkey: error:") and err.count("\n") == 1


def test_a_claims_file_gives_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claims = tmp_path / "claims.toml"
    claims.write_text(
        'assignment = "cv-assignment9"\n'
        "[[claim]]\npart = \"1a\"\nanswer = '\\log(1 + e^{-Wx})'\n"
        "[[claim]]\npart = \"1b\"\nanswer = '-tW'\n"
    )
    code, out, _ = run(capsys, "check", "--claims", str(claims))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split() == ["part", "verdict", "counterexample", "/", "reason"]
    assert lines[1].split()[:2] == ["1a", "correct"]
    assert lines[2].split()[:2] == ["1b", "incorrect"]


def test_the_key_is_verified_before_it_grades() -> None:
    assignment = check.key_assignment("cv-assignment9")
    part = check.verified_part(assignment, "1a")
    assert part.checks and all(c.kind for c in part.checks)


def test_quantity_picks_one_of_a_parts_answers(capsys: pytest.CaptureFixture[str]) -> None:
    answer = r"\lambda W^{(1)} + \frac{\partial E}{\partial W^{(1)}}"
    q1 = r"\frac{\partial E_{\lambda}}{\partial W^{(1)}}"
    code, out, _ = run(capsys, "check", "cv-assignment9", "9", "--answer", answer)
    assert code == 0 and "for ∂E_λ/∂W^(1)" in out
    code, out, _ = run(capsys, "check", "cv-assignment9", "9", "--answer", answer, "--quantity", q1)
    assert code == 0
    q2 = r"\frac{\partial E_{\lambda}}{\partial W^{(2)}}"
    code, out, _ = run(capsys, "check", "cv-assignment9", "9", "--answer", answer, "--quantity", q2)
    assert code == 1 and out.startswith("incorrect")


def test_a_claims_file_exits_as_the_readme_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0 when every claim is correct, 1 when one is incorrect, 2 when one is unreadable
    (whatever else the file holds)."""
    right = "[[claim]]\npart = \"1a\"\nanswer = '\\log(1 + e^{-Wx})'\n"
    wrong = "[[claim]]\npart = \"1b\"\nanswer = '-tW'\n"
    unread = "[[claim]]\npart = \"1b\"\nanswer = '\\frac{-tW'\n"
    for body, want in ((right, 0), (right + wrong, 1), (right + unread, 2), (wrong + unread, 2)):
        claims = tmp_path / "claims.toml"
        claims.write_text('assignment = "cv-assignment9"\n' + body)
        code, _, _ = run(capsys, "check", "--claims", str(claims))
        assert code == want, body


def test_the_readmes_claims_file_grades_as_documented(tmp_path: Path) -> None:
    """The documented example (docs/examples/answers.toml): formulas and a trace's number
    by its label are graded; the prose answer without a formula is unreadable (so the file
    exits 2)."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    page = (docs / "how-to" / "claims-file.md").read_text(encoding="utf-8")
    assert '--8<-- "docs/examples/answers.toml"' in page  # the page shows this very file
    path = tmp_path / "answers.toml"
    path.write_text((docs / "examples" / "answers.toml").read_text(encoding="utf-8"))
    statuses = [(c.part, c.kind, v.status) for c, v in check.grade_file(path)]
    assert statuses == [
        ("1c", "formula", "correct"),
        ("1c", "formula", "correct"),
        ("2", "numeric", "correct"),
        ("3a", "text", "unreadable"),
    ]


def test_every_printed_number_is_gradable_by_its_label(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A worked example's and a trace's numbers, by the ledger's label (no author code):
    the label's last part, with --update for a trace; a label that names nothing, or
    several numbers without the update, is one line (exit 2)."""
    code, out, _ = run(
        capsys, "check", "bce-tanh-sigmoid", "c", "--quantity", "W1'", "--answer",
        "[[0.5998, -0.3499], [0.1186, 0.8407], [-0.5572, 0.0786]]",
    )  # fmt: skip
    assert code == 0 and out.startswith("correct")
    code, out, _ = run(capsys, "check", "bce-tanh-sigmoid", "c", "--quantity", "E", "--answer", "1")
    assert code == 1 and out.startswith("incorrect")
    code, out, _ = run(
        capsys,
        "check",
        "practical-1",
        "2",
        "--quantity",
        "L",
        "--update",
        "7",
        "--answer",
        "0.1362",
    )
    assert code == 0
    code, _, err = run(capsys, "check", "practical-1", "2", "--quantity", "L", "--answer", "0.1")
    assert code == 2 and "say which update" in err and err.count("\n") == 1
    code, _, err = run(capsys, "check", "bce-tanh-sigmoid", "c", "--quantity", "Q", "--answer", "1")
    assert code == 2 and "prints no number labelled 'Q'" in err


def test_check_claims_takes_its_worker_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = tmp_path / "claims.toml"
    claims.write_text('assignment = "cv-assignment9"\n[[claim]]\npart = "1b"\nanswer = \'-tW\'\n')
    code, out, _ = run(capsys, "check", "--claims", str(claims), "-j", "1")
    assert code == 1 and out.splitlines()[1].split()[:2] == ["1b", "incorrect"]
    code, _, err = run(capsys, "check", "--claims", str(claims), "-j", "0")
    assert code == 2 and "--jobs must be >= 1" in err
