"""A roster: the students of a term, each with a stable variant.

A roster is a CSV file with a header row; one column holds the student's id
(required), others the name and e-mail (optional) and an override of the
variant (optional). Column names are configurable (`Columns`, `parse_columns`).

A student's variant is derived from the term's seed and the student's id alone
(`variant_of`: a SHA-256 of both, modulo the pool size), never from the row
order, so adding or removing a student changes no one else's variant, and the
same roster, seed and pool give everyone the same variant on any machine. A
number in the override column gives that one student that variant instead
(any variant from 1 to `terms.MAX_VARIANTS`, inside the pool or not: a fresh
one for a student whose sheet must be replaced).

Student ids name files and directories in the students' tree, so they are
letters, digits, '.', '_' and '-', starting with a letter or digit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .terms import MAX_VARIANTS

__all__ = [
    "DEFAULT_POOL",
    "Columns",
    "Student",
    "index_csv",
    "parse_columns",
    "read_index",
    "read_roster",
    "students_from_text",
    "variant_name",
    "variant_of",
]

#: the number of variants students are spread over when no pool size is given
DEFAULT_POOL = 40
#: a student id: it names the student's directory and files, and is printed in the
#: footer of their handouts, where "--" would print as a dash and "..." as an ellipsis
ID_PATTERN = re.compile(r"^(?!.*--)(?!.*\.\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ROLES = ("id", "name", "email", "variant")


@dataclass(frozen=True)
class Columns:
    """The roster's column names for each role."""

    id: str = "id"
    name: str = "name"
    email: str = "email"
    variant: str = "variant"


@dataclass(frozen=True)
class Student:
    """One roster row: who, and which variant (`overridden` when the roster chose it)."""

    id: str
    name: str
    email: str
    variant: int
    overridden: bool
    line: int


def parse_columns(spec: str | None) -> Columns:
    """`id=Matrikel,email=Mail` -> Columns(id="Matrikel", email="Mail", ...)."""
    if not spec:
        return Columns()
    chosen: dict[str, str] = {}
    for item in spec.split(","):
        role, sep, name = item.partition("=")
        role, name = role.strip(), name.strip()
        if not sep or role not in _ROLES or not name:
            raise UsageError(
                f"--columns: expected ROLE=COLUMN[,ROLE=COLUMN...] with ROLE one of "
                f"{', '.join(_ROLES)}, got {item.strip()!r}"
            )
        chosen[role] = name
    return Columns(**chosen)


def variant_of(seed: int, student_id: str, pool: int) -> int:
    """The student's variant (1..pool), from the term's seed and the id alone."""
    if pool < 1:
        raise UsageError(f"the pool of variants must hold at least 1, got {pool}")
    digest = hashlib.sha256(f"answerkey roster\0{seed}\0{student_id}".encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % pool


def read_roster(
    path: Path, seed: int | None, pool: int = DEFAULT_POOL, columns: Columns | None = None
) -> list[Student]:
    """Every student of the roster at `path`, in the file's order. A bad file or row is
    one UsageError naming the file, the line and what was expected."""
    if seed is None:
        raise UsageError(
            f"{path}: a roster needs a term with a seed (add `seed = <integer>` to the term)"
        )
    if not 1 <= pool <= MAX_VARIANTS:
        raise UsageError(f"--variants must be between 1 and {MAX_VARIANTS}, got {pool}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV"
        ) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the roster: {exc.strerror or exc}") from None
    return students_from_text(text, str(path), seed, pool, columns)


def students_from_text(
    text: str, where: str, seed: int, pool: int, columns: Columns | None = None
) -> list[Student]:
    """`read_roster` on the CSV text itself (`where` names it in messages)."""
    columns = columns or Columns()
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise UsageError(f"{where}: not a readable CSV file: {exc}") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise UsageError(
            f"{where}: empty roster; expected a header row naming a {columns.id!r} column"
        )
    header = [cell.strip() for cell in rows[0]]
    if columns.id not in header:
        raise UsageError(
            f"{where}:1: no column {columns.id!r} for the student id (the header has "
            f"{', '.join(map(repr, header))}); name it with --columns id=COLUMN"
        )
    position = {name: header.index(name) for name in header}

    def cell(row: list[str], name: str) -> str:
        i = position.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    students: list[Student] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        sid = cell(row, columns.id)
        if not ID_PATTERN.match(sid):
            raise UsageError(
                f"{where}:{line}: student id {sid!r}: expected letters, digits, '.', '_' or "
                "'-', starting with a letter or digit, at most 64 characters, without '--' or "
                "'...' (the handouts would print a dash or an ellipsis)"
            )
        if sid in seen:
            raise UsageError(f"{where}:{line}: student id {sid!r} is already on line {seen[sid]}")
        seen[sid] = line
        override = cell(row, columns.variant)
        if override:
            if not override.isdigit() or not 1 <= int(override) <= MAX_VARIANTS:
                raise UsageError(
                    f"{where}:{line}: column {columns.variant!r}: expected a variant from 1 to "
                    f"{MAX_VARIANTS} (or nothing), got {override!r}"
                )
            variant, overridden = int(override), True
        else:
            variant, overridden = variant_of(seed, sid, pool), False
        students.append(
            Student(
                sid, cell(row, columns.name), cell(row, columns.email), variant, overridden, line
            )
        )
    if not students:
        raise UsageError(f"{where}: the roster lists no student")
    return students


def index_csv(
    students: Iterable[Student], files: Mapping[tuple[str, str], Mapping[str, str]]
) -> bytes:
    """The staff's index: one row per student and assignment, sorted, with the variant,
    the files handed out (paths in the students' tree, space-separated) and their
    SHA-256 digests in the same order (`show-variant` compares against them).

    `files` maps (student id, assignment) to {path: sha256}."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["student", "name", "email", "assignment", "variant", "overridden", "files", "sha256"]
    )
    by_id = {s.id: s for s in students}
    for (sid, assignment), handed in sorted(files.items()):
        s = by_id[sid]
        paths = sorted(handed)
        writer.writerow(
            [
                s.id,
                s.name,
                s.email,
                assignment,
                variant_name(s.variant),
                "yes" if s.overridden else "",
                " ".join(paths),
                " ".join(handed[p] for p in paths),
            ]
        )
    return out.getvalue().encode()


def variant_name(k: int) -> str:
    """Variant k as the build names it (07, 123)."""
    return f"{k:02d}"


def read_index(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """An index written by `index_csv`: (student, assignment) -> {path: sha256}."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            paths, digests = row["files"].split(), row["sha256"].split()
            out[(row["student"], row["assignment"])] = dict(zip(paths, digests, strict=True))
    return out
