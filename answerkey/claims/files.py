"""Claims files: the answers people (or an earlier published solution) wrote, as TOML.

```toml
assignment = "my-assignment"
[[claim]]
part = "1b"
answer = '-tW(1 - \\sigma(Wx))'
```
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..tomlfile import read_toml
from .reading import ClaimError

ClaimKind = Literal["formula", "text", "numeric"]


@dataclass(frozen=True)
class Claim:
    """One transcribed claim: `answer` as written; `formula` what a text answer implies."""

    part: str
    answer: str
    kind: ClaimKind = "formula"
    formula: str | None = None
    quantity: str | None = None  # numeric traces: which reported value ("L", "w", ...)
    update: int | None = None  # numeric traces: which update (1-based)
    note: str = ""

    @property
    def checked(self) -> str | None:
        """The LaTeX that is machine-checked, or None for prose."""
        return self.formula if self.kind == "text" else self.answer


@dataclass(frozen=True)
class ClaimsFile:
    assignment: str
    source: str
    claims: tuple[Claim, ...]


def load_claims(path: str | Path) -> ClaimsFile:
    """Read a claims TOML file (top-level `assignment`, `source`, then `[[claim]]` tables).

    Every field is checked for its type: a bad one is one line naming the file, the
    claim and the field (`ClaimError`, exit 2), never a traceback later on."""
    p = Path(path)
    data = read_toml(p, "claims file")  # a regular UTF-8 file within limits, or one line
    for name in ("assignment", "source"):
        if name in data and not isinstance(data[name], str):
            raise ClaimError(f"{p}: {name} must be text, not {_shown(data[name])}")
    rows = data.get("claim", [])
    if not isinstance(rows, list):
        raise ClaimError(f"{p}: 'claim' must be a list of [[claim]] tables")
    claims = []
    for k, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or "part" not in row or "answer" not in row:
            raise ClaimError(f"{p}: claim {k} needs 'part' and 'answer'")
        extra = set(row) - set(_FIELDS)
        if extra:
            raise ClaimError(f"{p}: claim {k} has unknown field(s) {', '.join(sorted(extra))}")
        for name, value in row.items():
            ok, wanted = _FIELDS[name]
            if not ok(value):
                raise ClaimError(f"{p}: claim {k}: {name} must be {wanted}, not {_shown(value)}")
        claims.append(
            Claim(
                str(row["part"]),
                row["answer"],
                row.get("kind", "formula"),
                row.get("formula"),
                row.get("quantity"),
                row.get("update"),
                row.get("note", ""),
            )
        )
    return ClaimsFile(data.get("assignment", ""), data.get("source", ""), tuple(claims))


def _text(v: Any) -> bool:
    return isinstance(v, str)


#: field -> (check, what it must be)
_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "part": (lambda v: isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)),
             "a part id such as \"1a\""),
    "answer": (_text, "text (the answer as written)"),
    "kind": (lambda v: v in ("formula", "text", "numeric"), "formula, text or numeric"),
    "formula": (_text, "text (LaTeX)"),
    "quantity": (_text, "text (which value or quantity, e.g. \"loss\")"),
    "update": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
               "a whole number >= 1"),
    "note": (_text, "text"),
}  # fmt: skip


def _shown(v: Any) -> str:
    return f"{type(v).__name__} {v!r}"
