"""TOML someone else wrote is read within limits: one line for every way it can go wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from answerkey.errors import UsageError
from answerkey.tomlfile import MAX_BYTES, MAX_DEPTH, TomlFileError, check_depth, read_toml


def test_a_plain_file_reads(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("a = 1\n[b]\nc = [[1, 2], [3, 4]]\n")
    assert read_toml(path) == {"a": 1, "b": {"c": [[1, 2], [3, 4]]}}


@pytest.mark.parametrize("opener", ["[", "{a = "])
def test_5000_nested_values_are_one_line_not_a_recursion_error(tmp_path: Path, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    path = tmp_path / "deep.toml"
    path.write_text("x = " + opener * 5000 + "1" + closer * 5000 + "\n")
    with pytest.raises(TomlFileError, match="nested deeper than") as err:
        read_toml(path)
    assert err.value.exit_code == 2
    assert "\n" not in str(err.value)


def test_nesting_just_past_the_limit_is_refused_and_at_it_accepted(tmp_path: Path) -> None:
    ok = tmp_path / "ok.toml"
    ok.write_text("x = " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    read_toml(ok)
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n")
    with pytest.raises(TomlFileError, match="nested deeper"):
        read_toml(deep)


def test_check_depth_walks_without_recursion() -> None:
    value: list = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(TomlFileError):
        check_depth({"x": value}, "data")


def test_a_large_file_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text('x = "' + "a" * (MAX_BYTES + 10) + '"\n')
    with pytest.raises(TomlFileError, match="larger than"):
        read_toml(path)


def test_a_device_or_directory_is_not_read(tmp_path: Path) -> None:
    for path in (Path("/dev/zero"), tmp_path):
        with pytest.raises(TomlFileError):
            read_toml(path)


def test_missing_not_utf8_and_syntax_errors(tmp_path: Path) -> None:
    with pytest.raises(TomlFileError, match="no such"):
        read_toml(tmp_path / "none.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'x = "\xe9"\n')
    with pytest.raises(TomlFileError, match="not UTF-8"):
        read_toml(bad)
    bad.write_text("x = \n")
    with pytest.raises(TomlFileError, match=r"latin1.toml:1:\d+: TOML syntax error"):
        read_toml(bad)


def test_its_errors_are_usage_errors() -> None:
    assert issubclass(TomlFileError, UsageError)
