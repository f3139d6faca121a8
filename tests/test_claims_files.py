"""Claims files: the format, and one clear line for a bad field."""

from __future__ import annotations

from pathlib import Path

import pytest
from claims_common import CLAIMS

from answerkey.claims import (
    ClaimError,
    load_claims,
)
from answerkey.errors import UsageError

# --------------------------------------------------------------------------- claims files


def test_claims_files_load() -> None:
    cv = load_claims(CLAIMS / "cv-assignment9.toml")
    assert cv.assignment == "cv-assignment9"
    assert [c.part for c in cv.claims] == ["1a", "1b", "2", "3", "4", "5", "6", "7", "8", "9"]
    assert r"e^{e^{-Wx}}" in cv.claims[1].answer
    p1 = load_claims(CLAIMS / "practical-1.toml")
    assert {c.part for c in p1.claims} == {"1a", "1b", "1c", "2", "3a", "3b"}
    assert all(c.kind in ("formula", "text", "numeric") for c in p1.claims)


def test_bad_claims_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[claim]]\npart = "1"\n', encoding="utf-8")
    with pytest.raises(ClaimError, match="needs 'part' and 'answer'"):
        load_claims(bad)
    bad.write_text("not toml [", encoding="utf-8")
    with pytest.raises(UsageError, match="TOML syntax error"):
        load_claims(bad)


@pytest.mark.parametrize(
    ("field", "fragment"),
    [
        ('update = "one"', "update must be a whole number >= 1, not str 'one'"),
        ("update = 1.5", "update must be a whole number >= 1, not float 1.5"),
        ("update = 0", "update must be a whole number >= 1"),
        ("update = true", "update must be a whole number >= 1, not bool"),
        ('quantity = ["L"]', "quantity must be text"),
        ('kind = "number"', "kind must be formula, text or numeric"),
        ("note = 3", "note must be text"),
        ("answer2 = 1", "unknown field(s) answer2"),
    ],
)
def test_a_bad_field_is_one_line_naming_file_claim_and_field(
    tmp_path: Path, field: str, fragment: str
) -> None:
    bad = tmp_path / "claims.toml"
    bad.write_text(f'[[claim]]\npart = "2"\nanswer = "0.4"\n{field}\n', encoding="utf-8")
    with pytest.raises(ClaimError) as info:
        load_claims(bad)
    message = str(info.value)
    assert message.startswith(f"{bad}: claim 1") and fragment in message
    assert "\n" not in message and info.value.exit_code == 2


def test_the_documented_format_loads(tmp_path: Path) -> None:
    """The documented claims-file example (docs/examples/answers.toml)."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    page = (docs / "how-to" / "claims-file.md").read_text(encoding="utf-8")
    assert '--8<-- "docs/examples/answers.toml"' in page  # the page shows this very file
    path = tmp_path / "answers.toml"
    path.write_text((docs / "examples" / "answers.toml").read_text(encoding="utf-8"))
    loaded = load_claims(path)
    assert loaded.assignment and len(loaded.claims) >= 3
    assert {c.kind for c in loaded.claims} == {"formula", "numeric", "text"}
