"""A class's answers, as `answerkey grade` reads them.

Either a directory of claims files, one per student (`<student>.toml`, the format
of `answerkey check --claims`; the student is the file's name), or one CSV as
learning platforms export it: a header row, then one answer per row. Its columns
are found by name (case and spaces ignored): the student (`student`, `id`,
`student_id`, `username`, `user`, `email`), the part (`part`, `question`), the
answer (`answer`, `response`), and optionally `quantity`, `update` and `kind` as
in a claims file; other columns are ignored. A bad file is one line naming the
file, the row or claim and what was expected (exit 2).
"""

from __future__ import annotations

import csv
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .claims import Claim, ClaimError, load_claims

#: the largest CSV read (bytes): 2,000 students x 10 parts of long answers fit
MAX_CSV_BYTES = 32 * 1024 * 1024

_COLUMNS = {
    "student": ("student", "id", "studentid", "username", "user", "email", "name"),
    "part": ("part", "question", "partid"),
    "answer": ("answer", "response", "claim"),
    "quantity": ("quantity",),
    "update": ("update",),
    "kind": ("kind",),
}


@dataclass(frozen=True)
class Submission:
    """One student's answers, in the order given."""

    student: str
    claims: tuple[Claim, ...]


def load_submissions(path: str | Path) -> list[Submission]:
    """The students' answers in `path` (a directory of claims files or a CSV), in a
    stable order (by student)."""
    p = Path(path)
    if p.is_dir():
        return _from_directory(p)
    return _from_csv(p)


def _from_directory(d: Path) -> list[Submission]:
    files = sorted(f for f in d.iterdir() if f.suffix == ".toml" and not f.name.startswith("."))
    if not files:
        raise ClaimError(f"{d}: no claims files (<student>.toml) in the directory")
    return [Submission(f.stem, load_claims(f).claims) for f in files]


def _from_csv(p: Path) -> list[Submission]:
    raw = _read_regular(p)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ClaimError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ClaimError(f"{p}: empty (expected a header row: student, part, answer)")
    header = ["".join(c.lower().split()).replace("_", "") for c in rows[0]]
    where: dict[str, int] = {}
    for field, names in _COLUMNS.items():
        found = [k for k, h in enumerate(header) if h in names]
        if found:
            where[field] = found[0]
    missing = [f for f in ("student", "part", "answer") if f not in where]
    if missing:
        raise ClaimError(
            f"{p}: row 1: no column for {', '.join(missing)} "
            f"(the header is {', '.join(rows[0]) or 'empty'})"
        )
    by_student: dict[str, list[Claim]] = {}
    for k, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(field: str, row: list[str] = row) -> str:
            i = where.get(field)
            return row[i].strip() if i is not None and i < len(row) else ""

        student, part = cell("student"), cell("part")
        if not student or not part:
            raise ClaimError(f"{p}: row {k}: a student and a part are needed")
        kind = cell("kind") or "formula"
        if kind not in ("formula", "numeric", "text"):
            raise ClaimError(f"{p}: row {k}: kind must be formula, numeric or text, not {kind!r}")
        update_text = cell("update")
        update = None
        if update_text:
            if not update_text.isdigit() or int(update_text) < 1:
                raise ClaimError(f"{p}: row {k}: update must be a whole number >= 1")
            update = int(update_text)
        quantity = cell("quantity") or None
        if not cell("kind") and (update is not None or (quantity and _numeric(cell("answer")))):
            kind = "numeric"  # a number the key prints, by its label
        claim = Claim(part, cell("answer"), kind, None, quantity, update)  # type: ignore[arg-type]
        by_student.setdefault(student, []).append(claim)
    return [Submission(s, tuple(c)) for s, c in sorted(by_student.items())]


def _read_regular(p: Path) -> bytes:
    """The bytes of `p` if it is a regular file within `MAX_CSV_BYTES` (never a FIFO
    or device: opened without blocking, checked before reading)."""
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ClaimError(f"{p}: no such file or directory of answers") from None
    except OSError as exc:
        raise ClaimError(f"{p}: cannot read the answers: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ClaimError(f"{p}: not a regular file, so not read as answers")
        raw = f.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise ClaimError(f"{p}: larger than {MAX_CSV_BYTES // 2**20} MB, the limit for answers")
    return raw


def _numeric(text: str) -> bool:
    return bool(text) and all(ch in "0123456789.-+eE[](),; " for ch in text)
