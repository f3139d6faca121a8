"""`answerkey grade`: a class graded against one key, each verdict as `check` gives it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from answerkey import check, gradebook
from answerkey.claims import Claim, Verdict
from answerkey.model import Grading
from answerkey.submissions import Submission

CLASS = [
    Submission(
        "ada",
        (
            Claim("1a", r"\log(1+e^{-Wx})"),
            Claim("1b", r"-tW\sigma(Wx)"),
            Claim("2", r"(y^{(2)} - t)^T"),
            Claim("9", r"(y^{(2)} - t) y^{(1)T} + \lambda W^{(2)}"),
            Claim("9", r"\lambda W^{(1)}"),
        ),
    ),
    Submission(
        "bob",
        (
            Claim("1a", r"\log(1 + e^{-Wx})"),  # the same answer but for spacing
            Claim("1b", r"tW(1-\sigma(Wx))"),  # a sign: a named mistake
            Claim("2", r"y^{(2)} - t"),  # the column: cv-assignment9 refuses that layout
            Claim("12", "x"),  # no such part
        ),
    ),
    Submission("cyd", (Claim("1a", r"\frac{-tW"),)),  # unreadable
]


@pytest.fixture(scope="module")
def book() -> gradebook.Gradebook:
    return gradebook.grade_class("cv-assignment9", CLASS, workers=2)


def test_each_verdict_is_what_check_says_one_by_one(book: gradebook.Gradebook) -> None:
    """Graded in worker processes, deduplicated, and still answer for answer what
    `answerkey check ASSIGNMENT PART --answer ...` prints."""
    for student in book.students:
        for part in student.parts:
            for g in part.graded:
                try:
                    alone = check.grade_one("cv-assignment9", g.claim.part, g.claim.answer)
                except Exception as exc:  # a part that does not exist: a usage error
                    assert g.verdict.status == "unreadable" and g.claim.part in str(exc)
                    continue
                assert g.verdict.lines() == alone.lines(), (student.student, g.claim)


def test_the_workers_get_each_claim_once_and_a_keys_claims_together() -> None:
    """The keys dealt into one stream per worker (1a and 9 to one, 1b and 2 to the
    other: 13 and 12 claims), whose chunks alternate, each key's claims in order."""
    parts = ["1a"] * 10 + ["1b"] * 7 + ["2"] * 5 + ["9"] * 3
    claims = [Claim(p, f"x_{i}") for i, p in enumerate(parts)]
    chunks = gradebook.chunks_for(claims, 2)
    assert sorted(i for c in chunks for i in c) == list(range(len(claims)))
    keys = [{claims[i].part for i in c} for c in chunks]
    assert set().union(*keys[0:12:2]) == {"1a", "9"} and set().union(*keys[1:12:2]) == {"1b", "2"}
    assert max(len(c) for c in chunks) == 2  # about 1/6 of a worker's share
    assert [i for c in gradebook.chunks_for(claims, 1) for i in c] == sorted(
        range(len(claims)), key=lambda i: (parts.count(parts[i]) * -1, i)
    )  # one worker: the longest key first


def test_the_parts_are_verified_on_every_core_with_the_records_of_one() -> None:
    parallel, serial = (check.key_assignment("cv-assignment9") for _ in range(2))
    ids = [p.id for p in parallel.parts()][:4]
    gradebook.verify_parts(parallel, ids, 2)
    for pid in ids:
        ours = next(p for p in parallel.parts() if p.id == pid).checks
        assert ours and ours == check.verified_part(serial, pid).checks


def test_a_part_failing_in_a_worker_fails_as_check_says(monkeypatch: pytest.MonkeyPatch) -> None:
    from answerkey.errors import UsageError, VerificationError

    honest = check.verify_part

    def broken(assignment_id: str, part: object) -> object:
        if getattr(part, "id", None) == "2":
            raise VerificationError(f"{assignment_id}, part 2", "a planted fault")
        return honest(assignment_id, part)  # type: ignore[arg-type]

    monkeypatch.setattr(check, "verify_part", broken)
    a = check.key_assignment("cv-assignment9")
    with pytest.raises(VerificationError, match="cv-assignment9, part 2: a planted fault"):
        gradebook.verify_parts(a, ["1a", "2", "3"], 2)
    with pytest.raises(UsageError, match="has no part 'nope'"):
        gradebook.verify_parts(a, ["1a", "nope"], 2)


def test_identical_answers_are_graded_once(book: gradebook.Gradebook) -> None:
    assert book.answers == 10 and book.distinct == 9


def test_points_follow_the_verdicts_and_every_part_is_listed(book: gradebook.Gradebook) -> None:
    ada, bob, cyd = book.students
    by = {p.part: p for p in ada.parts}
    assert by["1a"].points == 1 and by["1b"].points == 0 and by["2"].points == 1
    assert by["9"].points == 0.5  # two answers to part 9, one right
    assert by["3"].points == 0 and not by["3"].answered
    assert [p.part for p in cyd.parts] == list(book.parts)
    assert ada.out_of == len(book.parts) == 10
    assert {p.part for p in bob.parts} >= {"12"}


@pytest.mark.parametrize(
    ("verdict", "grading", "share"),
    [
        (Verdict("correct", ""), Grading(), 1.0),
        (Verdict("transposed", "", layout="accept"), Grading(), 1.0),
        (Verdict("transposed", "", layout="refuse"), Grading(), 0.0),
        (Verdict("incorrect", "", mistake="sign flipped"), Grading(), 0.0),
        (Verdict("incorrect", "", mistake="sign flipped"), Grading(mistake_credit=0.5), 0.5),
        (Verdict("incorrect", "", entries=(4, 6)), Grading(entry_credit=True), 4 / 6),
        (Verdict("incorrect", "", entries=(4, 6)), Grading(), 0.0),
        (Verdict("unreadable", "", mistake="x"), Grading(mistake_credit=1), 0.0),
    ],
)
def test_partial_credit_is_the_courses_choice(
    verdict: Verdict, grading: Grading, share: float
) -> None:
    assert gradebook.credit(verdict, grading) == pytest.approx(share)


def test_a_grading_policy_out_of_range_is_one_line() -> None:
    from answerkey.errors import AuthoringError

    for bad in ({"mistake_credit": 2}, {"marks": {"1a": -1}}, {"layout": "maybe"}):
        with pytest.raises(AuthoringError, match="Grading"):
            Grading(**bad)  # type: ignore[arg-type]


def test_the_command_writes_grades_verdicts_and_feedback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from answerkey import cli

    answers = tmp_path / "answers.csv"
    answers.write_text(
        "Student,Part,Answer,Other\n"
        's1,1a,"\\log(1+e^{-Wx})",x\n'
        "s1,1b,-tW,\n"
        's2,1a,"\\log(1+e^{Wx})",\n'
        's/../3,1b,"<script>-tW(1-\\sigma(Wx))",\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code = cli.main(["grade", "cv-assignment9", str(answers), "--out", str(out), "-j", "1"])
    assert code == 0
    said = capsys.readouterr().out
    assert "graded 4 answers (4 distinct) of 3 students" in said
    grades = (out / "grades.csv").read_text().splitlines()
    assert grades[0].startswith("student,1a,1b,2,") and grades[0].endswith(",total")
    assert grades[1].startswith("s/../3,0,0,") and grades[2].startswith("s1,1,0,")
    verdicts = (out / "verdicts.csv").read_text()
    assert "counterexample" in verdicts.splitlines()[0] and "incorrect" in verdicts
    files = sorted(p.name for p in (out / "feedback").iterdir())
    assert files == ["s1.html", "s1.md", "s2.html", "s2.md", "s_.._3.html", "s_.._3.md"]
    md = (out / "feedback" / "s2.md").read_text()
    assert "## Part 1a: 0 of 1 points" in md and "counterexample" in md
    page = (out / "feedback" / "s_.._3.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_check_claims_runs_on_every_core_with_the_same_verdicts(tmp_path: Path) -> None:
    """`answerkey check --claims` grades through the class machinery (distinct claims
    once, worker processes): claim for claim what `check.grade_file` says."""
    body = ['assignment = "practical-1"']
    answers = [
        ("1a", r"(y_{out} - y_{gt}) f_3'(s_{out}) z_2"),
        ("1a", r"(y_{out}-y_{gt}) f_3'(s_{out}) z_2"),  # the same but for spacing
        ("1b", r"\delta_{out} z_1"),
        ("1c", r"-\theta \delta_i z_j"),
        ("3b", r"(a - ne)^T(\operatorname{diag}(p) - pp^T)"),
    ] * 2
    for part, answer in answers:
        body.append(f"[[claim]]\npart = {part!r}\nanswer = '''{answer}'''")
    body.append(
        '[[claim]]\npart = "2"\nkind = "numeric"\nquantity = "L"\nupdate = 7\nanswer = "0.1362"'
    )
    path = tmp_path / "claims.toml"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    fast = gradebook.grade_claims_file(path, workers=2)
    slow = check.grade_file(path)
    assert [c for c, _ in fast] == [c for c, _ in slow]
    assert [v.lines() for _, v in fast] == [v.lines() for _, v in slow]


def _square(x: int) -> int:
    return x * x


def _stuck(x: int) -> int:
    if x == 2:
        time.sleep(3600)  # a worker that never answers (a lock it will never get)
    return x


def test_forked_map_gives_the_results_in_order() -> None:
    assert gradebook.forked_map(_square, list(range(10)), 2) == [x * x for x in range(10)]


def test_forked_map_does_not_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert gradebook.forked_map(_square, [1, 2, 3], 2) is None  # the caller does it
    finally:
        stop.set()
        other.join()


def test_a_stuck_worker_is_given_up_and_the_caller_does_the_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gradebook, "STALL_SECONDS", 2.0)
    start = time.monotonic()
    assert gradebook.forked_map(_stuck, [1, 2, 3], 2) is None
    assert time.monotonic() - start < 30
