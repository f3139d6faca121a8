"""A class's answers: a directory of claims files, or one CSV as platforms export it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from answerkey.claims import ClaimError
from answerkey.submissions import load_submissions


def test_a_directory_holds_one_claims_file_per_student(tmp_path: Path) -> None:
    for name in ("bob", "ada"):
        (tmp_path / f"{name}.toml").write_text(
            "[[claim]]\npart = \"1a\"\nanswer = 'x'\n[[claim]]\npart = \"2\"\nanswer = 'y'\n"
        )
    subs = load_submissions(tmp_path)
    assert [s.student for s in subs] == ["ada", "bob"]
    assert [c.part for c in subs[0].claims] == ["1a", "2"]


def test_a_csv_finds_its_columns_by_name(tmp_path: Path) -> None:
    f = tmp_path / "export.csv"
    f.write_text(
        "\ufeffUser Name,Question,Response,Quantity,Update\n"
        "s1,2,0.1362,L,7\n"
        "s1,1a,x,,\n"
        "s2,c,0.55,E,\n",
        encoding="utf-8",
    )
    subs = load_submissions(f)
    assert [s.student for s in subs] == ["s1", "s2"]
    first = subs[0].claims[0]
    assert (first.kind, first.quantity, first.update) == ("numeric", "L", 7)
    assert subs[0].claims[1].kind == "formula"
    assert subs[1].claims[0].kind == "numeric"  # a number with its label


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("who,what\nx,y\n", "no column for student, part, answer"),
        ("student,part,answer,update\ns,1a,x,0\n", "row 2: update"),
        ("student,part,answer,kind\ns,1a,x,essay\n", "row 2: kind"),
        ("student,part,answer\n,1a,x\n", "row 2: a student and a part"),
    ],
)
def test_a_bad_csv_is_one_line_naming_the_row(tmp_path: Path, text: str, fragment: str) -> None:
    f = tmp_path / "a.csv"
    f.write_text(text)
    with pytest.raises(ClaimError) as info:
        load_submissions(f)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "answers.csv"
    os.mkfifo(fifo)
    with pytest.raises(ClaimError, match="not a regular file"):
        load_submissions(fifo)
