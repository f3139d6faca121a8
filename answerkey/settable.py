"""Which characters the PDFs can set, so text no engine can set is refused up front.

A term's `course` and `label` are printed on every title page. Two engines set
the PDFs' text:

* pdflatex (the T1 encoding and Latin Modern fonts of `templates/preamble.latex`,
  with the preamble dumped once as a format) sets ASCII, the Latin letters with
  accents of Western, Central and Northern European languages and the usual
  typographic punctuation (`PDFLATEX_RANGES`: the T1 encoding's own
  declarations, LaTeX's ``t1enc.dfu``, plus a few text symbols Latin Modern has).
  Every document whose text stays in that set, the usual one, is made this way.
* LuaLaTeX (`templates/unicode.tex`), for a document with any other character:
  Latin Modern, then CMU Serif for Greek and Cyrillic, then WenQuanYi Micro Hei
  for Chinese, Japanese kana and Korean Hangul (`UNICODE_RANGES`: the
  characters those fonts have in each of the four shapes the documents use,
  letters, numbers, punctuation and symbols only).

Anything else (emoji, right-to-left scripts and marks, combining marks,
control and format characters, private-use code points) is refused before any
computation with the character and its code point named (exit 2).
tests/test_settable.py compiles every one of these characters (CJK: a sample).
"""

from __future__ import annotations

import bisect
import unicodedata

__all__ = [
    "PDFLATEX_RANGES",
    "UNICODE_RANGES",
    "pdflatex_sets",
    "settable",
    "unsettable",
]

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


#: code point ranges (inclusive) LuaLaTeX sets with Latin Modern, CMU Serif and
#: WenQuanYi Micro Hei (in regular, bold, italic and bold italic; CJK in regular)
UNICODE_RANGES: tuple[tuple[int, int], ...] = (
    # Latin: ASCII, Latin-1, Extended-A and -B (Latin Modern, CMU Serif)
    (0x0020, 0x007E),
    (0x00A0, 0x00AC),
    (0x00AE, 0x0137),
    (0x0139, 0x0148),
    (0x014A, 0x0165),
    (0x0168, 0x017F),
    (0x0186, 0x0186),
    (0x018E, 0x0190),
    (0x0192, 0x0192),
    (0x01A0, 0x01A1),
    (0x01AF, 0x01B0),
    (0x01B7, 0x01B7),
    (0x01C4, 0x01D4),
    (0x01D7, 0x01DD),
    (0x01E2, 0x01E3),
    (0x01E6, 0x01EB),
    (0x01EE, 0x01F5),
    (0x01F8, 0x021B),
    (0x021E, 0x021F),
    (0x0226, 0x0227),
    (0x022E, 0x022F),
    (0x0232, 0x0233),
    (0x0237, 0x0237),
    (0x0245, 0x0245),
    # Greek (CMU Serif)
    (0x0374, 0x0375),
    (0x037A, 0x037A),
    (0x037E, 0x037E),
    (0x0384, 0x038A),
    (0x038C, 0x038C),
    (0x038E, 0x03A1),
    (0x03A3, 0x03CE),
    (0x03D1, 0x03D1),
    (0x03D8, 0x03DD),
    (0x03DF, 0x03E1),
    (0x03F5, 0x03F5),
    # Cyrillic (CMU Serif)
    (0x0400, 0x0477),
    (0x047A, 0x0482),
    (0x048A, 0x04C9),
    (0x04CB, 0x04CE),
    (0x04D0, 0x04F9),
    (0x04FC, 0x04FF),
    (0x0512, 0x0513),
    (0x051A, 0x051D),
    # Latin Extended Additional (Vietnamese, Welsh, ...)
    (0x1E00, 0x1E13),
    (0x1E18, 0x1E1B),
    (0x1E1E, 0x1E27),
    (0x1E2A, 0x1E4B),
    (0x1E54, 0x1E63),
    (0x1E68, 0x1E77),
    (0x1E7C, 0x1E99),
    (0x1E9B, 0x1E9B),
    (0x1EA0, 0x1EF9),
    # Greek Extended (polytonic)
    (0x1F00, 0x1F15),
    (0x1F18, 0x1F1D),
    (0x1F20, 0x1F45),
    (0x1F48, 0x1F4D),
    (0x1F50, 0x1F57),
    (0x1F59, 0x1F59),
    (0x1F5B, 0x1F5B),
    (0x1F5D, 0x1F5D),
    (0x1F5F, 0x1F7D),
    (0x1F80, 0x1FB4),
    (0x1FB6, 0x1FC4),
    (0x1FC6, 0x1FD3),
    (0x1FD6, 0x1FDB),
    (0x1FDD, 0x1FEF),
    (0x1FF2, 0x1FF4),
    (0x1FF6, 0x1FFE),
    # punctuation, currency and letterlike symbols
    (0x2010, 0x2014),
    (0x2016, 0x2016),
    (0x2018, 0x2022),
    (0x2026, 0x2026),
    (0x2030, 0x2031),
    (0x2039, 0x203B),
    (0x203D, 0x203D),
    (0x203F, 0x2040),
    (0x2044, 0x2046),
    (0x2052, 0x2052),
    (0x2054, 0x2054),
    (0x20A1, 0x20A1),
    (0x20A4, 0x20A4),
    (0x20A6, 0x20A6),
    (0x20A9, 0x20A9),
    (0x20AB, 0x20AC),
    (0x20B1, 0x20B2),
    (0x2103, 0x2103),
    (0x2116, 0x2117),
    (0x211E, 0x211E),
    (0x2120, 0x2120),
    (0x2122, 0x2122),
    (0x2126, 0x2127),
    (0x212E, 0x212E),
    # CJK symbols, kana, Hangul, ideographs, full-width forms (WenQuanYi Micro Hei)
    (0x3000, 0x3003),
    (0x3005, 0x3017),
    (0x301D, 0x301F),
    (0x3021, 0x3029),
    (0x3041, 0x3094),
    (0x309B, 0x309E),
    (0x30A1, 0x30F6),
    (0x30FB, 0x30FE),
    (0x3131, 0x318E),
    (0x4E00, 0x9FC3),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFA2D),
    (0xFF01, 0xFF5E),
    (0xFF61, 0xFF9F),
    (0xFFE0, 0xFFE6),
)


def _lookup(ranges: tuple[tuple[int, int], ...]) -> tuple[list[int], list[int]]:
    return [lo for lo, _ in ranges], [hi for _, hi in ranges]


_PDFLATEX = _lookup(PDFLATEX_RANGES)
_UNICODE = _lookup(UNICODE_RANGES)


def _within(code: int, table: tuple[list[int], list[int]]) -> bool:
    los, his = table
    at = bisect.bisect_right(los, code) - 1
    return at >= 0 and code <= his[at]


def settable(ch: str) -> bool:
    """Whether the PDFs can set `ch` in their text (with one engine or the other)."""
    return _within(ord(ch), _UNICODE)


def pdflatex_sets(text: str) -> bool:
    """Whether pdflatex sets all of `text` (line breaks and tabs aside): then the
    document is typeset by pdflatex on the dumped format, else by LuaLaTeX."""
    return all(ch in "\n\t" or _within(ord(ch), _PDFLATEX) for ch in set(text))


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
