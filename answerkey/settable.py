"""Which characters the PDFs can set, so text no engine can set is refused up front.

A term's `course` and `label` are printed on every title page. pdflatex (with
the T1 encoding and Latin Modern fonts of `templates/preamble.latex`) sets
ASCII, the Latin letters with accents of Western, Central and Northern
European languages and the usual typographic punctuation. Any other character
(Cyrillic, Greek, CJK, emoji, a right-to-left mark) used to pass validation,
be verified for half a minute, then stop pdflatex; now it is refused before any
computation with the character and its code point named (exit 2).

The set is the T1 encoding's own declarations (LaTeX's ``t1enc.dfu``) plus a
few text symbols Latin Modern has; tests/test_settable.py compiles every one
of them.
"""

from __future__ import annotations

import unicodedata

__all__ = ["PDFLATEX_RANGES", "settable", "unsettable"]

#: code point ranges (inclusive) pdflatex sets with T1 + Latin Modern
PDFLATEX_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # printable ASCII
    (0x00A0, 0x00A1),
    (0x00A3, 0x00A3),
    (0x00A7, 0x00A7),  # §
    (0x00A9, 0x00A9),  # ©
    (0x00AB, 0x00AB),
    (0x00B0, 0x00B1),  # ° ±
    (0x00B5, 0x00B5),  # µ
    (0x00B7, 0x00B7),  # ·
    (0x00BB, 0x00BB),
    (0x00BF, 0x00D6),
    (0x00D7, 0x00D7),  # ×
    (0x00D8, 0x00F6),
    (0x00F7, 0x00F7),  # ÷
    (0x00F8, 0x0125),
    (0x0128, 0x0137),
    (0x0139, 0x013E),
    (0x0141, 0x0148),
    (0x014A, 0x0165),
    (0x0168, 0x017E),
    (0x0218, 0x021B),
    (0x2013, 0x2014),  # – —
    (0x2018, 0x201A),
    (0x201C, 0x201E),
    (0x2020, 0x2022),  # † ‡ •
    (0x2026, 0x2026),  # …
    (0x2030, 0x2030),
    (0x2039, 0x203A),
    (0x20AC, 0x20AC),  # €
)


def settable(ch: str) -> bool:
    """Whether pdflatex sets `ch` in the PDFs' text."""
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in PDFLATEX_RANGES)


def unsettable(text: str) -> list[str]:
    """The distinct characters of `text` the PDFs cannot set, described for a message:
    ``'Г' (U+0413 CYRILLIC CAPITAL LETTER GHE)``; control characters by code only."""
    out: list[str] = []
    for ch in dict.fromkeys(text):
        if settable(ch):
            continue
        name = unicodedata.name(ch, "")
        shown = "" if unicodedata.category(ch)[0] in "CZ" else f"{ch!r} "
        out.append(f"{shown}(U+{ord(ch):04X}{' ' + name if name else ''})")
    return out
