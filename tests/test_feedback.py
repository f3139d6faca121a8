"""What `answerkey grade` writes: grades, verdicts, feedback per student."""

from __future__ import annotations

from answerkey.feedback import file_names, points


def test_points_are_written_as_platforms_read_them() -> None:
    assert [points(x) for x in (2, 1.5, 1 / 3, 0, -0.0)] == ["2", "1.5", "0.33", "0", "0"]


def test_student_ids_become_safe_distinct_file_names() -> None:
    names = file_names(["a/b", "a_b", "..", "Ab", "ab", "ü"])
    assert names == {
        "a/b": "a_b",
        "a_b": "a_b-2",
        "..": "student",
        "Ab": "Ab",
        "ab": "ab-2",
        "ü": "_",
    }
