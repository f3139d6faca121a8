"""What `answerkey grade` writes: a grades CSV, every verdict, feedback per student.

Under the output directory:

* `grades.csv`: one row per student, the raw points of each part and the total
  (`student,1a,1b,...,total`), as a learning platform imports a grade column;
* `verdicts.csv`: one row per answer (student, part, answer, verdict, points, how
  it was read, the mistake named, the counterexample), for appeals;
* `feedback/<student>.md` and `.html`: per part the points, each answer as the
  student wrote it and as it was read, the verdict with its reason, the
  counterexample and the typical mistake it is, and notes (HTML self-contained,
  everything escaped).

A student id becomes a file name with characters other than letters, digits, `.`,
`_`, `-` and `@` replaced by `_` (and a suffix when two ids meet). Every file is
written to a temporary name and renamed into place: nothing is left half-written.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
from pathlib import Path

from .gradebook import Gradebook, PartResult, StudentResult


def points(x: float) -> str:
    """Raw points as a platform reads them: `2`, `1.5`, `0.33`."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def grades_csv(book: Gradebook) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["student", *book.parts, "total"])
    for s in book.students:
        by = {p.part: p for p in s.parts}
        w.writerow([s.student, *(points(by[p].points) for p in book.parts), points(s.total)])
    return out.getvalue()


_VERDICT_COLUMNS = (
    "student part quantity update answer verdict accepted credit "
    "reason reading mistake counterexample"
).split()


def verdicts_csv(book: Gradebook) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(_VERDICT_COLUMNS)
    for s in book.students:
        for p in s.parts:
            for g in p.graded:
                v, c = g.verdict, g.claim
                row = [s.student, p.part, c.quantity or "", c.update or "", c.answer]
                row += [v.status, "yes" if v.accepted else "no", points(g.credit), v.reason]
                row += [v.reading or "", v.mistake or "", str(v.counterexample or "")]
                w.writerow(row)
    return out.getvalue()


def _answer_lines(p: PartResult) -> list[tuple[str, str]]:
    """(label, text) lines describing each answer of a part, in order."""
    out: list[tuple[str, str]] = []
    for g in p.graded:
        v, c = g.verdict, g.claim
        which = (
            f" ({c.quantity}" + (f", update {c.update})" if c.update else ")") if c.quantity else ""
        )
        out.append(("answer" + which, c.answer))
        out.append(("verdict", f"{v.status}: {v.reason}"))
        if v.reading:
            out.append(("read as", v.reading))
        if v.mistake:
            out.append(("typical mistake", v.mistake))
        if v.counterexample is not None:
            out.append(("counterexample", str(v.counterexample)))
        for note in v.notes:
            out.append(("note", note))
        if v.status == "transposed":
            out.append(("note", v.policy()))
    if not p.graded:
        out.append(("answer", "none given"))
    return out


def markdown(book: Gradebook, s: StudentResult) -> str:
    lines = [
        f"# {book.title}: feedback for {s.student}",
        "",
        f"Total: {points(s.total)} of {points(s.out_of)} points.",
    ]
    for p in s.parts:
        lines += ["", f"## Part {p.part}: {points(p.points)} of {points(p.marks)} points", ""]
        for label, text in _answer_lines(p):
            shown = (
                f"`{text}`" if label.startswith(("answer", "read as")) and "`" not in text else text
            )
            lines.append(f"- {label}: {shown}")
    return "\n".join(lines) + "\n"


def page(book: Gradebook, s: StudentResult) -> str:
    e = html.escape
    body = [
        f"<h1>{e(book.title)}: feedback for {e(s.student)}</h1>",
        f"<p>Total: {points(s.total)} of {points(s.out_of)} points.</p>",
    ]
    for p in s.parts:
        body.append(f"<h2>Part {e(p.part)}: {points(p.points)} of {points(p.marks)} points</h2>")
        body.append("<dl>")
        for label, text in _answer_lines(p):
            inner = (
                f"<code>{e(text)}</code>" if label.startswith(("answer", "read as")) else e(text)
            )
            body.append(f"<dt>{e(label)}</dt><dd>{inner}</dd>")
        body.append("</dl>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(book.title)}: {e(s.student)}</title>\n"
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em}"
        "dt{font-weight:bold;margin-top:.4em}code{white-space:pre-wrap;word-break:break-word}"
        "</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def file_names(students: list[str]) -> dict[str, str]:
    """Each student id as a safe, distinct file name (without extension)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for sid in students:
        base = re.sub(r"[^A-Za-z0-9._@-]", "_", sid).lstrip(".")[:100] or "student"
        name, k = base, 2
        while name.lower() in used:
            name, k = f"{base}-{k}", k + 1
        used.add(name.lower())
        out[sid] = name
    return out


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write(book: Gradebook, out: Path) -> list[Path]:
    """Write the grades, the verdicts and every student's feedback under `out`."""
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("grades.csv", grades_csv(book)), ("verdicts.csv", verdicts_csv(book))):
        _write(out / name, text)
        written.append(out / name)
    names = file_names([s.student for s in book.students])
    for s in book.students:
        for ext, text in ((".md", markdown(book, s)), (".html", page(book, s))):
            path = out / "feedback" / (names[s.student] + ext)
            _write(path, text)
            written.append(path)
    return written
