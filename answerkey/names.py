"""One validation for every name the tool accepts and turns into a path: a term's
name (``terms/NAME.toml``, ``build/NAME/``), an exercise's (``solutions/NAME.py``,
``tests/test_NAME.py``) and an assignment's id (``build/<term>/ID/``).

A name is a whole match of its pattern (a trailing newline is no name: ``$``
would let one through), has no control character, and is at most `MAX_NAME`
characters: with the hidden staged names publishing adds beside it
(``.NAME.new-<pid>``, ``.NAME.partial-<pid>``) and the ``variant-NN``
directories below it, every path component stays far below the 255 bytes a
file system allows, so a name accepted once never makes a later build fail
with "File name too long".
"""

from __future__ import annotations

import re

__all__ = ["EXERCISE", "MAX_NAME", "TERM", "is_name"]

#: the longest name, in characters (ASCII only, so in bytes too)
MAX_NAME = 64
#: a term name or an assignment id: letters, digits, '.', '_', '-', from a letter or digit
TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: an exercise's name: lower-case words of letters and digits joined by single hyphens
EXERCISE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def is_name(name: object, pattern: re.Pattern[str] = TERM) -> bool:
    """Whether `name` is a string the whole of which matches `pattern`, within
    `MAX_NAME` characters (the patterns admit no control or non-ASCII character)."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_NAME
        and name.isascii()
        and pattern.fullmatch(name) is not None
    )
