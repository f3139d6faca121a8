"""One validation for every name the tool turns into a path."""

from __future__ import annotations

import pytest

from answerkey import names


@pytest.mark.parametrize("name", ["default", "2026-winter", "cv-assignment9", "a.b_c", "x" * 64])
def test_names_that_make_good_paths(name: str) -> None:
    assert names.is_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * 65,
        "winter\n",
        "\nwinter",
        "win\x00ter",
        "win\x1bter",
        "wïnter",
        ".hidden",
        "-x",
        "a/b",
        "a b",
        7,
        None,
    ],
)
def test_names_that_do_not(name: object) -> None:
    assert not names.is_name(name)


def test_an_exercise_name_is_lower_case_words_joined_by_single_hyphens() -> None:
    assert names.is_name("tanh-step", names.EXERCISE)
    for bad in ("Tanh", "tanh--step", "tanh-", "9lives", "tanh_step", "tanh-step\n"):
        assert not names.is_name(bad, names.EXERCISE)


def test_a_name_leaves_room_for_the_staged_and_partial_names_beside_it() -> None:
    longest = "x" * names.MAX_NAME
    for beside in (
        f".{longest}.new-4194304",
        f".{longest}.old-4194304",
        f".{longest}.toml.partial-4194304",
        f"test_{longest}.py",
    ):
        assert len(beside.encode()) < 255
