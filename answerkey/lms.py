"""LMS export: a built term's numeric answers as Moodle XML or a QTI 2.1 package.

Nothing is recomputed: the numbers come from the `numbers` ledger of the
answers.json files a build wrote (`answerkey build --term TERM --format json`,
with `--variants N` for per-student variants), which the build has verified.
Only *computed* numbers are exported (the given ones are the question's data).

Layout (both formats): one question category per exercise part
(``<assignment>/part <id>``), inside it one category per answer (``NN <label>``,
NN its order in the key), and in that one question per variant: the term's key
(``build/<term>/<asg>/answers.json``) and each ``variant-NN/answers.json`` that
``variants.json`` lists. A quiz's "random question from a category" then hands
each student one variant of each answer.

Which numbers: those a part prints as its answers, by the ledger's ``where``
(`ANSWER_PLACES`: a block's line, a table's cell, the stated answer); a number
printed only in a remark, a caption or the question is commentary or data (an
erratum's wrong values, an example's), not something to ask.

A scalar is a Moodle ``numerical`` question; a vector or matrix a ``cloze``
question with one ``{1:NUMERICAL:=v:tol}`` blank per entry (one mark each). In
QTI each entry is a float response with its own ``equal toleranceMode="absolute"``
condition adding one point.

Tolerance: the ledger says how many decimals the key prints each number with
(``decimals``: 4, `DECIMALS`, unless the part or the number asks for others), so
an answer is accepted within half a unit in that last place (0.00005 at 4): every
number that rounds to the printed one. A non-zero number below that prints in
scientific notation with decimals - 1 decimals in the mantissa (1.234 x 10^-6):
half a unit in the mantissa's last place (0.0005 x 10^-6). An answers.json
written before the ledger said (no ``decimals``, no ``where``) reads as 4 decimals,
printed in a block.

Named mistakes (`mistakes`): every mistake the grader names for a number
(answers.json's ``mistakes`` of each ledger entry: the sign flipped, and the
topics' mistakes computed from the definitions that printed it, such as the kernel
not flipped or BN's mean term dropped; an older answers.json without them: the sign
flipped), and for a square matrix an entry taken from the transposed place, earn
nothing and say so (the grader's name of the mistake): in
Moodle as further answers of fraction 0 with feedback (in a cloze blank
``~%0%v:tol#feedback``), in QTI as a FEEDBACK outcome set by its own ``equal``
and shown by ``modalFeedback``. A mistake is written only where its tolerance
interval is disjoint from the right answer's and from the other mistakes' (a
number near 0 has no distinguishable sign), so the right answer is never graded
as a mistake and no answer matches two.

Output is byte-reproducible: files are read in sorted order, XML is written with
fixed attribute order, the QTI zip has fixed timestamps and permissions.
"""

from __future__ import annotations

import html
import json
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from .errors import UsageError
from .quantity import DECIMALS, apart, half_unit, positional

__all__ = [
    "ANSWER_PLACES",
    "DECIMALS",
    "FORMATS",
    "SIGN_FLIPPED",
    "Answer",
    "Mistake",
    "Question",
    "cloze_escape",
    "collect",
    "export",
    "feedback",
    "identifiers",
    "mistakes",
    "moodle_xml",
    "plain",
    "qti_package",
    "tolerance",
]

FORMATS = ("moodle", "qti")
#: the ledger's `where` of a number a part prints as an answer (see the module's docstring)
ANSWER_PLACES = re.compile(r"^(block \d+, line |table \d+, row |stated answer$)")
QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
CP_XSD = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
#: a fixed moment for the zip's entries (the earliest a zip can hold): reproducible bytes
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Question:
    """One answer of one variant: a scalar or an array (nested lists) of floats."""

    variant: str  # "key" or "01", "02", ...
    value: Any
    givens: tuple[tuple[str, Any], ...]
    decimals: int = DECIMALS  # the key prints the value with so many decimals
    #: the grader's named mistakes (name, value shaped as `value`), as answers.json lists
    #: them; None for an answers.json written before it did (the sign flipped only)
    named: tuple[tuple[str, Any], ...] | None = None


@dataclass(frozen=True)
class Mistake:
    """A named wrong answer for one entry: its value, its feedback, its QTI identifier."""

    name: str  # QTI identifier of its feedback: SIGN, TRANSPOSED, M_KERNEL_NOT_FLIPPED, ...
    value: float
    feedback: str


@dataclass
class Answer:
    """One computed number of a part (by its ledger label), with a question per variant."""

    assignment: str
    title: str
    part: str
    part_title: str
    index: int  # 1-based order in the part
    label: str
    questions: list[Question] = field(default_factory=list)


# --------------------------------------------------------------------------- numbers


#: a float to 12 significant digits, positional (see `answerkey.quantity.positional`)
plain = positional
#: half a unit in the last printed place (see `answerkey.quantity.half_unit`)
tolerance = half_unit


#: the grader's name of the sign flipped (`answerkey.claims.mistakes.SIGN_FLIPPED`; not
#: imported from there, which would load SymPy; tests/test_lms.py checks they agree)
SIGN_FLIPPED = "sign flipped"
#: feedback of each mistake with a fixed identifier: (for a number, for an entry of a
#: vector or matrix)
FEEDBACK = {
    "SIGN": ("The sign is wrong.", "An entry has the wrong sign."),
    "TRANSPOSED": ("", "An entry is from the transposed place: rows and columns swapped."),
}


def feedback(name: str, scalar: bool) -> str:
    """What a quiz says to an answer equal to the grader's named mistake `name`."""
    if name == SIGN_FLIPPED:
        return FEEDBACK["SIGN"][0 if scalar else 1]
    if scalar:
        return f"A typical mistake gives this answer: {name}."
    return f"A typical mistake gives this entry: {name}."


def identifiers(names: Sequence[str]) -> dict[str, str]:
    """A QTI identifier (an xs:NCName) per mistake name: SIGN for the sign flipped, else
    the name up to its first ":" in capitals (KERNEL_NOT_FLIPPED), numbered on a clash."""
    out: dict[str, str] = {}
    for name in names:
        if name in out:
            continue
        if name == SIGN_FLIPPED:
            ident = "SIGN"
        else:
            head = re.sub(r"[^A-Za-z0-9]+", "_", name.split(":")[0]).strip("_").upper()
            ident = "M_" + head[:40].rstrip("_") if head else "MISTAKE"
        taken, k = set(out.values()) | (set(FEEDBACK) - {ident}), 2
        unique = ident
        while unique in taken:
            unique, k = f"{ident}_{k}", k + 1
        out[name] = unique
    return out


def mistakes(
    value: Any, decimals: int = DECIMALS, named: Sequence[tuple[str, Any]] | None = None
) -> list[list[list[Mistake]]]:
    """The named mistakes of each entry of `value` (rows of entries, as `_entries`):
    the grader's `named` mistakes (answers.json's, each a name and a value shaped as
    `value`; without them, the sign flipped), then, in a square matrix, the entry of the
    transposed place. Each only where its interval (value +- tolerance) is disjoint from
    the right answer's and the earlier mistakes' (see the module's docstring): a
    student giving the right value is never told of a mistake."""
    rows = _entries(value)
    scalar = _is_scalar(value)
    square = len(rows) > 1 and all(len(r) == len(rows) for r in rows)
    if named is None:
        named = [(SIGN_FLIPPED, [[-v for v in row] for row in rows])]
    given = [(name, _entries(w)) for name, w in named]
    idents = identifiers([name for name, _ in given])
    out: list[list[list[Mistake]]] = []
    for i, row in enumerate(rows):
        out.append([])
        for j, v in enumerate(row):
            taken = [float(plain(v))]
            found: list[Mistake] = []
            wrong = [
                (idents[name], float(plain(w[i][j])), feedback(name, scalar))
                for name, w in given
                if [len(r) for r in w] == [len(r) for r in rows]
            ]
            if square and i != j:
                wrong.append(("TRANSPOSED", float(plain(rows[j][i])), FEEDBACK["TRANSPOSED"][1]))
            for ident, w, text in wrong:
                if all(apart(w, x, decimals) for x in taken):
                    taken.append(w)
                    found.append(Mistake(ident, w, text))
            out[-1].append(found)
    return out


def _entries(value: Any) -> list[list[float]]:
    """A scalar as [[x]], a vector as one row, a matrix as its rows."""
    if isinstance(value, list):
        if value and isinstance(value[0], list):
            return [[float(v) for v in row] for row in value]
        return [[float(v) for v in value]]
    return [[float(value)]]


def _is_scalar(value: Any) -> bool:
    """A number, or an array of one entry (asked as a number)."""
    return sum(len(row) for row in _entries(value)) == 1


def _tex(value: Any) -> str:
    rows = _entries(value)
    if _is_scalar(value):
        return plain(rows[0][0])
    body = r" \\ ".join(" & ".join(plain(v) for v in row) for row in rows)
    return r"\begin{bmatrix}" + body + r"\end{bmatrix}"


# --------------------------------------------------------------------------- reading


def _decimals(path: Path, k: int, entry: dict[str, Any]) -> int:
    """The printed decimals of ledger entry `k` (4 when an older answers.json omits it)."""
    d = entry.get("decimals", DECIMALS)
    if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 15:
        raise UsageError(
            f"{path}: numbers[{k}] ({entry.get('label')}): 'decimals' must be an integer "
            f"from 0 to 15, got {d!r}"
        )
    return d


def _named(path: Path, k: int, entry: dict[str, Any]) -> tuple[tuple[str, Any], ...] | None:
    """Ledger entry `k`'s named mistakes (`mistakes`: name and value, the value shaped as
    the entry's), None when an older answers.json omits them."""
    listed = entry.get("mistakes")
    if listed is None:
        return None
    where = f"{path}: numbers[{k}] ({entry.get('label')}): 'mistakes'"
    if not isinstance(listed, list):
        raise UsageError(f"{where} must be a list of {{name, value}}, got {listed!r}")
    shape = _shape(entry["value"])
    out = []
    for m in listed:
        name = m.get("name") if isinstance(m, dict) else None
        value = m.get("value") if isinstance(m, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f"{where}: each needs a 'name' (text), got {m!r}")
        if shape is None or _shape(value) != shape:
            raise UsageError(
                f"{where}: {name!r} must have a finite value shaped as the number's, got {value!r}"
            )
        out.append((name, value))
    return tuple(out)


def _shape(value: Any) -> tuple[int, ...] | None:
    """The shape of a finite number or (nested) list of them, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return () if math.isfinite(value) else None
    if isinstance(value, list) and value:
        inner = {_shape(v) for v in value}
        if len(inner) == 1 and None not in inner:
            return (len(value), *next(iter(inner)))  # type: ignore[misc]
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable answers.json ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("numbers"), list):
        raise UsageError(f"{path}: no 'numbers' ledger (rebuild with --format json)")
    return doc


def _sources(directory: Path) -> list[tuple[str, Path]]:
    """(variant, answers.json) of one assignment's build: the key, then its variants."""
    found = []
    if (directory / "answers.json").is_file():
        found.append(("key", directory / "answers.json"))
    index = directory / "variants.json"
    if index.is_file():
        try:
            listed = json.loads(index.read_text(encoding="utf-8"))["variants"]
            names = sorted((str(v["variant"]), str(v["directory"])) for v in listed)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{index}: not a readable variants.json ({exc})") from None
        for variant, sub in names:
            path = directory / sub / "answers.json"
            if not path.is_file():
                raise UsageError(f"{index}: lists {sub}, which holds no answers.json")
            found.append((variant, path))
    return found


def collect(term_root: Path, assignments: Sequence[str] = ()) -> list[Answer]:
    """Every computed number of the assignments built under `term_root` (all by default)."""
    term = term_root.name
    build_hint = f"answerkey build --term {term} --format json"
    if not term_root.is_dir():
        raise UsageError(f"term {term!r} is not built under {term_root.parent}: run `{build_hint}`")
    names = sorted(set(assignments)) or sorted(
        d.name for d in term_root.iterdir() if d.is_dir() and _sources(d)
    )
    if not names:
        raise UsageError(f"{term_root}: no answers.json (build it with `{build_hint}`)")
    answers: list[Answer] = []
    for name in names:
        sources = _sources(term_root / name)
        if not sources:
            raise UsageError(
                f"{term_root / name}: assignment {name!r} has no answers.json: run "
                f"`{build_hint} {name}`"
            )
        by_key: dict[tuple[str, str], Answer] = {}
        for variant, path in sources:
            doc = _read(path)
            parts = doc.get("parts", {})
            givens: dict[str, list[tuple[str, Any]]] = {}
            for n in doc["numbers"]:
                if n.get("source") == "given":
                    givens.setdefault(n.get("part") or "", []).append((n["label"], n["value"]))
            for k, n in enumerate(doc["numbers"]):
                if n.get("source") != "computed" or not n.get("part"):
                    continue
                if not ANSWER_PLACES.match(str(n.get("where", "block 1, line "))):
                    continue  # commentary (a remark, a caption) or data, not an answer
                decimals = _decimals(path, k, n)
                part = str(n["part"])
                key = (part, str(n["label"]))
                if key not in by_key:
                    index = 1 + sum(1 for p, _ in by_key if p == part)
                    by_key[key] = Answer(
                        name,
                        str(doc.get("title", name)),
                        part,
                        str(parts.get(part, {}).get("title", "")),
                        index,
                        key[1],
                    )
                shown = tuple(givens.get("", []) + givens.get(part, []))
                by_key[key].questions.append(
                    Question(variant, n["value"], shown, decimals, _named(path, k, n))
                )
        answers += sorted(by_key.values(), key=lambda a: (_part_order(a.part), a.index))
    if not answers:
        raise UsageError(f"{term_root}: the assignments {', '.join(names)} have no numeric answers")
    return answers


def _part_order(part: str) -> tuple[int, str]:
    digits = re.match(r"\d*", part).group()  # type: ignore[union-attr]
    return (int(digits) if digits else 0, part)


# --------------------------------------------------------------------------- text


def _variant_name(variant: str) -> str:
    return "key" if variant == "key" else f"variant {variant}"


def _intro(answer: Answer, q: Question) -> str:
    """The question text's HTML before the blanks: the part, its given numbers, the ask."""
    e = html.escape
    head = f"<p><strong>{e(answer.title)}</strong>, part {e(answer.part)}"
    if answer.part_title:
        head += f": {e(answer.part_title)}"
    head += f" ({e(_variant_name(q.variant))}).</p>"
    given = "".join(f"<li>{e(label)}: \\({e(_tex(v))}\\)</li>" for label, v in q.givens)
    body = f"<p>Given:</p><ul>{given}</ul>" if given else ""
    ask = (
        f"<p>Give <em>{e(answer.label)}</em> to {q.decimals} decimals"
        + ("" if _is_scalar(q.value) else ", entry by entry")
        + ".</p>"
    )
    return head + body + ask


def _category_paths(answer: Answer) -> tuple[str, str]:
    def clean(s: str) -> str:  # Moodle separates categories with "/"; "//" is a literal one
        return s.replace("/", "//")

    part = f"$course$/top/{clean(answer.assignment)}/part {clean(answer.part)}"
    return part, f"{part}/{answer.index:02d} {clean(answer.label)}"


# --------------------------------------------------------------------------- Moodle


def _text(parent: ET.Element, tag: str, text: str, fmt: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(el, "text").text = text
    return el


def cloze_escape(text: str) -> str:
    """Text inside a cloze blank: Moodle's special characters backslashed."""
    return re.sub(r'([\\}#~/"])', r"\\\1", text)


def _cloze_blank(x: float, decimals: int, wrong: Sequence[Mistake]) -> str:
    """`{1:NUMERICAL:=v:tol~%0%w:tol#feedback...}`: the right answer, then the mistakes."""
    options = [f"={plain(x)}:{plain_decimal(tolerance(x, decimals))}"]
    options += [
        f"%0%{plain(m.value)}:{plain_decimal(tolerance(m.value, decimals))}"
        f"#{cloze_escape(html.escape(m.feedback, quote=False))}"
        for m in wrong
    ]
    return "{1:NUMERICAL:" + "~".join(options) + "}"


def plain_decimal(d: Decimal) -> str:
    """A Decimal in positional notation (0.00005, not 5E-5)."""
    return format(d, "f")


def moodle_xml(answers: Sequence[Answer]) -> bytes:
    """Moodle XML (question bank import): categories, numerical and cloze questions."""
    quiz = ET.Element("quiz")
    done: set[str] = set()
    for answer in answers:
        for path in _category_paths(answer):
            if path in done:
                continue
            done.add(path)
            cat = ET.SubElement(quiz, "question", {"type": "category"})
            _text(cat, "category", path)
            _text(cat, "info", "", "html")
        for q in answer.questions:
            scalar = _is_scalar(q.value)
            el = ET.SubElement(quiz, "question", {"type": "numerical" if scalar else "cloze"})
            name = f"{answer.assignment} {answer.part} {answer.label} ({_variant_name(q.variant)})"
            _text(el, "name", name[:255])
            text = _intro(answer, q)
            wrong = mistakes(q.value, q.decimals, q.named)
            if not scalar:
                rows = "".join(
                    "<tr>"
                    + "".join(
                        f"<td>{_cloze_blank(v, q.decimals, wrong[i][j])}</td>"
                        for j, v in enumerate(row)
                    )
                    + "</tr>"
                    for i, row in enumerate(_entries(q.value))
                )
                text += f"<table>{rows}</table>"
            _text(el, "questiontext", text, "html")
            _text(el, "generalfeedback", f"<p>Key: \\({html.escape(_tex(q.value))}\\)</p>", "html")
            if scalar:
                ET.SubElement(el, "defaultgrade").text = "1.0000000"
            ET.SubElement(el, "penalty").text = "0.3333333"
            ET.SubElement(el, "hidden").text = "0"
            if scalar:
                x = _entries(q.value)[0][0]
                for fraction, value, feedback in [
                    ("100", x, ""),
                    *(("0", m.value, html.escape(m.feedback)) for m in wrong[0][0]),
                ]:
                    a = ET.SubElement(
                        el, "answer", {"fraction": fraction, "format": "moodle_auto_format"}
                    )
                    ET.SubElement(a, "text").text = plain(value)
                    _text(a, "feedback", f"<p>{feedback}</p>" if feedback else "", "html")
                    ET.SubElement(a, "tolerance").text = plain_decimal(tolerance(value, q.decimals))
                ET.SubElement(el, "unitgradingtype").text = "0"
                ET.SubElement(el, "unitpenalty").text = "0.1000000"
                ET.SubElement(el, "showunits").text = "3"
                ET.SubElement(el, "unitsleft").text = "0"
    ET.indent(quiz)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, "utf-8") + b"\n"


# --------------------------------------------------------------------------- QTI 2.1


def item_identifier(answer: Answer, q: Question) -> str:
    """An xs:NCName, unique per answer and variant."""
    raw = f"Q_{answer.assignment}_{answer.part}_{answer.index:02d}_{q.variant}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", raw)


def _qti_item(answer: Answer, q: Question) -> bytes:
    ident = item_identifier(answer, q)
    ET.register_namespace("", QTI_NS)
    ET.register_namespace("xsi", XSI_NS)
    n = f"{{{QTI_NS}}}"
    title = f"{answer.assignment} {answer.part} {answer.label} ({_variant_name(q.variant)})"
    item = ET.Element(
        n + "assessmentItem",
        {
            f"{{{XSI_NS}}}schemaLocation": f"{QTI_NS} {QTI_XSD}",
            "identifier": ident,
            "title": title,
            "adaptive": "false",
            "timeDependent": "false",
        },
    )
    rows = _entries(q.value)
    cells = [(i, j, v) for i, row in enumerate(rows) for j, v in enumerate(row)]
    rid = {(i, j): f"RESPONSE_{i + 1}_{j + 1}" for i, j, _ in cells}
    wrong = mistakes(q.value, q.decimals, q.named)
    named = sorted({m.name: m.feedback for row in wrong for ms in row for m in ms}.items())
    for i, j, v in cells:
        decl = ET.SubElement(
            item,
            n + "responseDeclaration",
            {"identifier": rid[i, j], "cardinality": "single", "baseType": "float"},
        )
        ET.SubElement(ET.SubElement(decl, n + "correctResponse"), n + "value").text = plain(v)
    for outcome, default in (("SCORE", "0"), ("MAXSCORE", str(len(cells)))):
        decl = ET.SubElement(
            item,
            n + "outcomeDeclaration",
            {"identifier": outcome, "cardinality": "single", "baseType": "float"},
        )
        ET.SubElement(ET.SubElement(decl, n + "defaultValue"), n + "value").text = default
    if named:
        ET.SubElement(
            item,
            n + "outcomeDeclaration",
            {"identifier": "FEEDBACK", "cardinality": "multiple", "baseType": "identifier"},
        )
    body = ET.SubElement(item, n + "itemBody")
    # the question's HTML is XHTML that QTI's itemBody allows (p, strong, em, ul, li)
    intro = ET.fromstring(f'<div xmlns="{QTI_NS}">{_intro(answer, q)}</div>')
    body.append(intro)
    if _is_scalar(q.value):
        p = ET.SubElement(body, n + "p")
        p.text = f"{answer.label} = "
        ET.SubElement(
            p, n + "textEntryInteraction", {"responseIdentifier": rid[0, 0], "expectedLength": "12"}
        )
    else:
        table = ET.SubElement(ET.SubElement(body, n + "table"), n + "tbody")
        for i, row in enumerate(rows):
            tr = ET.SubElement(table, n + "tr")
            for j in range(len(row)):
                ET.SubElement(
                    ET.SubElement(tr, n + "td"),
                    n + "textEntryInteraction",
                    {"responseIdentifier": rid[i, j], "expectedLength": "12"},
                )
    processing = ET.SubElement(item, n + "responseProcessing")

    def equal(parent: ET.Element, response: str, x: float) -> ET.Element:
        t = plain_decimal(tolerance(x, q.decimals))
        eq = ET.SubElement(
            parent,
            n + "equal",
            {
                "toleranceMode": "absolute",
                "tolerance": f"{t} {t}",
                "includeLowerBound": "true",
                "includeUpperBound": "true",
            },
        )
        ET.SubElement(eq, n + "variable", {"identifier": response})
        return eq

    for i, j, v in cells:
        # the right answer adds a point; else a named mistake adds its feedback
        cond = ET.SubElement(processing, n + "responseCondition")
        right = ET.SubElement(cond, n + "responseIf")
        ET.SubElement(equal(right, rid[i, j], v), n + "correct", {"identifier": rid[i, j]})
        add = ET.SubElement(
            ET.SubElement(right, n + "setOutcomeValue", {"identifier": "SCORE"}), n + "sum"
        )
        ET.SubElement(add, n + "variable", {"identifier": "SCORE"})
        ET.SubElement(add, n + "baseValue", {"baseType": "float"}).text = "1"
        for m in wrong[i][j]:
            other = ET.SubElement(cond, n + "responseElseIf")
            ET.SubElement(
                equal(other, rid[i, j], m.value), n + "baseValue", {"baseType": "float"}
            ).text = plain(m.value)
            seen = ET.SubElement(
                ET.SubElement(other, n + "setOutcomeValue", {"identifier": "FEEDBACK"}),
                n + "multiple",
            )
            ET.SubElement(seen, n + "variable", {"identifier": "FEEDBACK"})
            ET.SubElement(seen, n + "baseValue", {"baseType": "identifier"}).text = m.name
    for name, text in named:
        shown = ET.SubElement(
            item,
            n + "modalFeedback",
            {"outcomeIdentifier": "FEEDBACK", "showHide": "show", "identifier": name},
        )
        shown.text = text
    ET.indent(item)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(item, "utf-8") + b"\n"


def _manifest(items: Sequence[tuple[str, str]]) -> bytes:
    ET.register_namespace("", CP_NS)
    ET.register_namespace("xsi", XSI_NS)
    n = f"{{{CP_NS}}}"
    root = ET.Element(
        n + "manifest",
        {"identifier": "MANIFEST_answerkey", f"{{{XSI_NS}}}schemaLocation": f"{CP_NS} {CP_XSD}"},
    )
    meta = ET.SubElement(root, n + "metadata")
    ET.SubElement(meta, n + "schema").text = "QTIv2.1 Package"
    ET.SubElement(meta, n + "schemaversion").text = "1.0.0"
    ET.SubElement(root, n + "organizations")
    resources = ET.SubElement(root, n + "resources")
    for ident, href in items:
        res = ET.SubElement(
            resources,
            n + "resource",
            {"identifier": ident, "type": "imsqti_item_xmlv2p1", "href": href},
        )
        ET.SubElement(res, n + "file", {"href": href})
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "utf-8") + b"\n"


def qti_package(answers: Sequence[Answer]) -> bytes:
    """A QTI 2.1 content package (zip): imsmanifest.xml and one item per question."""
    files: dict[str, bytes] = {}
    items: list[tuple[str, str]] = []
    for answer in answers:
        for q in answer.questions:
            ident = item_identifier(answer, q)
            href = f"items/{ident}.xml"
            if href in files:
                raise UsageError(f"two questions share the identifier {ident}")
            files[href] = _qti_item(answer, q)
            items.append((ident, href))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("imsmanifest.xml", _manifest(items)), *sorted(files.items())]:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            z.writestr(info, data)
    return out.getvalue()


# --------------------------------------------------------------------------- the command


def export(term_root: Path, assignments: Sequence[str], fmt: str, out: Path) -> tuple[int, int]:
    """Write `out` (atomically); return (answers, questions) exported."""
    from .publish import replace_file

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    answers = collect(term_root, assignments)
    data = moodle_xml(answers) if fmt == "moodle" else qti_package(answers)
    replace_file(out, data)
    return len(answers), sum(len(a.questions) for a in answers)
