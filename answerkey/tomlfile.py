"""Reading a TOML file someone else wrote (a term file, a claims file), with limits.

`tomllib` alone reads whatever it is given: a device such as /dev/zero without
end, a 50 MB file into memory, and 5,000 nested lists into a RecursionError.
Here the file must be a regular file of at most `MAX_BYTES`, UTF-8, and its
values nested at most `MAX_DEPTH` deep (tables and lists counted alike), so
every later step (validation, hashing, JSON) can walk the data safely. Every
problem is one line naming the file (a `TomlFileError`, exit 2).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from .errors import UsageError
from .regular import read_regular

__all__ = ["MAX_BYTES", "MAX_DEPTH", "TomlFileError", "check_depth", "parse_toml", "read_toml"]

#: the largest TOML file read (term files are a few hundred bytes, claims files a few kB)
MAX_BYTES = 256 * 1024
#: the deepest nesting of tables and lists accepted (a matrix inside a table is 4)
MAX_DEPTH = 16


class TomlFileError(UsageError):
    """A TOML file that cannot be read within the limits: one line, exit 2."""


def read_toml(path: Path, what: str = "file", max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The parsed contents of `path`, a regular UTF-8 TOML file within the limits (a
    FIFO or a device is refused without waiting on it: `regular.read_regular`). A
    UTF-8 byte order mark, which some editors write, is skipped."""
    raw = read_regular(Path(path), what, max_bytes, error=TomlFileError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TomlFileError(f"{path}: not UTF-8 text (byte {e.start})") from None
    return parse_toml(text.removeprefix("\ufeff"), str(path))


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """`tomllib.loads` with a one-line error at file:line:column and the depth limit."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", msg)
        if m:
            line, col = m.group(1), m.group(2)
            reason = msg[: m.start()]
        else:  # "(at end of document)": point just past the last character
            lines = text.split("\n")
            line, col = str(len(lines)), str(len(lines[-1]) + 1)
            reason = re.sub(r"\s*\(at end of document\)\s*$", " at end of file", msg)
        raise TomlFileError(f"{where}:{line}:{col}: TOML syntax error: {reason}") from None
    except RecursionError:
        raise TomlFileError(f"{where}: values nested deeper than {MAX_DEPTH} levels") from None
    check_depth(data, where)
    return data


def check_depth(data: Any, where: str, limit: int = MAX_DEPTH) -> None:
    """Refuse values nested deeper than `limit` (walked without recursion)."""
    todo: list[tuple[Any, int]] = [(data, 0)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= limit:
            raise TomlFileError(f"{where}: values nested deeper than {limit} levels")
        todo.extend((c, depth + 1) for c in children)
