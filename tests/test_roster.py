"""A roster gives each student a stable variant: from the term's seed and the id alone,
overridable for one student, and bad rows are refused naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from answerkey import roster
from answerkey.errors import UsageError
from answerkey.roster import Columns, Student

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

SEED = 2026


def csv_of(ids: list[str], header: str = "id,name,email,variant") -> str:
    rows = [header] + [f"{i},Name {i},{i}@uni.example," for i in ids]
    return "\n".join(rows) + "\n"


def assigned(text: str, pool: int = 40, seed: int = SEED) -> dict[str, int]:
    return {s.id: s.variant for s in roster.students_from_text(text, "r.csv", seed, pool)}


def test_a_variant_depends_on_the_seed_and_the_id_not_on_the_row_order() -> None:
    ids = [f"s{i:04d}" for i in range(300)]
    forward = assigned(csv_of(ids))
    backward = assigned(csv_of(list(reversed(ids))))
    assert forward == backward
    assert all(1 <= k <= 40 for k in forward.values())
    assert len(set(forward.values())) == 40  # 300 students use the whole pool
    assert assigned(csv_of(ids), seed=SEED + 1) != forward


def test_adding_or_removing_a_student_changes_no_one_elses_variant() -> None:
    ids = [f"s{i:04d}" for i in range(300)]
    before = assigned(csv_of(ids))
    after = assigned(csv_of([*ids[:150], "late-enrolment", *ids[150:]]))
    assert {k: v for k, v in after.items() if k != "late-enrolment"} == before
    fewer = assigned(csv_of(ids[1:]))
    assert fewer == {k: v for k, v in before.items() if k != ids[0]}


def test_one_student_can_be_given_another_variant_in_the_override_column() -> None:
    text = "id,name,email,variant\na1,A,a@x,\nb2,B,b@x,123\n"
    a, b = roster.students_from_text(text, "r.csv", SEED, 40)
    assert (a.variant, a.overridden) == (roster.variant_of(SEED, "a1", 40), False)
    assert (b.variant, b.overridden) == (123, True)


def test_the_column_names_are_configurable() -> None:
    columns = roster.parse_columns("id=Matrikel, name=Name, email=Mail, variant=Neu")
    assert columns == Columns("Matrikel", "Name", "Mail", "Neu")
    text = "Mail,Matrikel,Name\nx@y,4711,Ada\n"
    (s,) = roster.students_from_text(text, "r.csv", SEED, 40, columns)
    assert (s.id, s.name, s.email) == ("4711", "Ada", "x@y")
    with pytest.raises(UsageError, match="ROLE=COLUMN"):
        roster.parse_columns("student=Matrikel")


def test_a_roster_saved_by_a_spreadsheet_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("\ufeffid;x\n".replace(";", ",").encode("utf-8") + b"s1,\n")
    assert [s.id for s in roster.read_roster(path, SEED)] == ["s1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name\nAda\n", r"r.csv:1: no column 'id'"),
        ("id\n../etc\n", r"r.csv:2: student id '../etc'"),
        ("id\ns--1\n", r"r.csv:2: student id 's--1': .* without '--' or '...'"),
        ("id\ns...1\n", r"r.csv:2: student id 's...1': .* without '--' or '...'"),
        ("id\ns1\ns1\n", r"r.csv:3: student id 's1' is already on line 2"),
        ("id,variant\ns1,0\n", r"r.csv:2: column 'variant': expected a variant from 1"),
        ("id,variant\ns1,x\n", r"r.csv:2: column 'variant'"),
        ("id\n\n", r"r.csv: the roster lists no student"),
        ("", r"r.csv: empty roster"),
    ],
)
def test_a_bad_roster_is_one_line_naming_the_file_and_row(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        roster.students_from_text(text, "r.csv", SEED, 40)


def test_a_roster_needs_a_seeded_term_and_readable_utf8(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"id\ns\xe9\n")
    with pytest.raises(UsageError, match="needs a term with a seed"):
        roster.read_roster(path, None)
    with pytest.raises(UsageError, match="not UTF-8"):
        roster.read_roster(path, SEED)
    with pytest.raises(UsageError, match="cannot read"):
        roster.read_roster(tmp_path / "missing.csv", SEED)
    with pytest.raises(UsageError, match="--variants must be between 1"):
        roster.read_roster(path, SEED, pool=0)


def test_the_index_lists_each_students_variant_and_files_and_reads_back(tmp_path: Path) -> None:
    students = [Student("b", "B", "b@x", 7, False, 3), Student("a", "A", "a@x", 12, True, 2)]
    files = {
        ("b", "hw"): {"b/hw/handout.md": "11", "b/hw/fig.svg": "22"},
        ("a", "hw"): {"a/hw/handout.md": "33"},
    }
    data = roster.index_csv(students, files)
    lines = data.decode().splitlines()
    assert lines[0] == "student,name,email,assignment,variant,overridden,files,sha256"
    assert lines[1] == "a,A,a@x,hw,12,yes,a/hw/handout.md,33"
    assert lines[2] == "b,B,b@x,hw,07,,b/hw/fig.svg b/hw/handout.md,22 11"
    (tmp_path / "i.csv").write_bytes(data)
    assert roster.read_index(tmp_path / "i.csv") == files
