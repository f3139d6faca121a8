"""LMS export: a built term's numeric answers as Moodle XML and as a QTI 2.1 package.

What is checked, and how:

- Both files are well-formed XML (xml.etree parses every file written).
- Moodle's constraints (its XML import format, qtype_numerical, qtype_multianswer):
  every question follows a category; categories are ``$course$/top/...``, one per
  exercise part and one per answer in it; questions are ``numerical`` (one answer,
  fraction 100, a positive tolerance, a number without exponent) or ``cloze`` (every
  blank ``{w:NUMERICAL:=v:tol}`` with an integer weight); every fraction is one of
  Moodle's allowed grades; names are at most 255 characters; question text is HTML.
- QTI 2.1: no package on PyPI or Debian ships the IMS XSD (pypi.tsv has converters
  to QTI 3, no schema), so the structural rules are checked here: the manifest lists
  every item once and the zip holds nothing else; each item is an ``assessmentItem``
  in the QTI 2.1 namespace whose identifier is an xs:NCName, unique, equal to its
  resource's; every ``textEntryInteraction`` names a declared single float response
  with a correct response; every response is scored by an ``equal`` in absolute
  tolerance mode; MAXSCORE is the number of entries.
- The acceptance test: the tolerance written is evaluated as each platform does
  (Moodle: answer +- (tolerance + 1e-14), PHP's precision; QTI: correct - t0 <=
  response <= correct + t1): the key, the key +- 0.99 x tolerance are accepted, the
  key +- 1.01 x tolerance refused, for every question of every assignment.
- Reproducible: exporting twice writes the same bytes; nothing recomputed (the
  numbers are the ledger's, rounded to 12 significant digits).
"""

from __future__ import annotations

import importlib
import io
import itertools
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from conftest import ROOT, SharedProofs

from answerkey import cli, lms, printing, registry

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ALLOWED_FRACTIONS = {
    100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20,
    16.66667, 14.28571, 12.5, 11.11111, 10, 5, 0,
}  # fmt: skip
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
NUMBER = r"-?\d+(?:\.\d+)?"
BLANK = re.compile(r"\{(\d*):NUMERICAL:((?:[^}\\]|\\.)*)\}")
OPTION = re.compile(rf"^(=|%(\d+(?:\.\d+)?)%)({NUMBER}):(\d+(?:\.\d+)?)(?:#(.*))?$", re.S)
ASKED = re.compile(r"to (\d+) decimals")
Q = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
#: (fraction, answer, tolerance, feedback) of one Moodle answer, as written
Option = tuple[float, str, str, str]


# --------------------------------------------------------------------------- fixtures


def _answers_json(variant: str | None, shift: float) -> dict:
    """An answers.json: "s" as written before the ledger said where and to how many
    decimals (read as 4, in a block); "one" printed to 2 decimals; "earlier" only in a
    remark (an erratum's wrong value: not asked)."""
    where = {"where": "block 1, line z", "decimals": 4}
    return {
        "assignment": "toy",
        "title": "Toy <sheet> & co",
        "variant": variant,
        "parts": {"1": {"title": "Forward"}, "2": {"title": "Symbolic only"}},
        "numbers": [
            {"part": "1", "label": "x", "value": [0.5, -1.0], "source": "given"},
            {"part": "1", "label": "s", "value": 0.3 + shift, "source": "computed", "check": "c"},
            {"part": "1", "label": "z", "value": [0.1, -0.0], "source": "computed", **where},
            {
                "part": "1",
                "label": "W/next",
                "value": [[1.0, 2.5], [-3.25, 1e-7]],
                "source": "computed",
                "check": "c",
                "where": "table 1, row 2, column 2",
                "decimals": 4,
            },
            {
                "part": "1",
                "label": "earlier",
                "value": 7.5,
                "source": "computed",
                "where": "remark 1",
            },
            {
                "part": "1",
                "label": "one",
                "value": [2.0],
                "source": "computed",
                "where": "stated answer",
                "decimals": 2,
            },
            {"part": None, "label": "eta", "value": 0.5, "source": "given"},
        ],
    }


def write_term(root: Path) -> Path:
    """build/<term>/toy: the key and two variants, as `answerkey build --variants 2` lays out."""
    asg = root / "2099-test" / "toy"
    asg.mkdir(parents=True)
    (asg / "answers.json").write_text(json.dumps(_answers_json(None, 0.0)))
    listed = []
    for k in (1, 2):
        (asg / f"variant-0{k}").mkdir()
        (asg / f"variant-0{k}" / "answers.json").write_text(json.dumps(_answers_json(f"0{k}", k)))
        listed.append({"variant": f"0{k}", "directory": f"variant-0{k}", "parameter_hash": "h"})
    (asg / "variants.json").write_text(json.dumps({"variants": listed}))
    return root / "2099-test"


@pytest.fixture(scope="module")
def term_built(tmp_path_factory: pytest.TempPathFactory, shared_proofs: SharedProofs) -> Path:
    """Every assignment of the term 2026-winter, built as JSON with 2 variants."""
    out = tmp_path_factory.mktemp("lms-build")
    argv = ["build", "--term", "2026-winter", "--format", "json", "--variants", "2"]
    with shared_proofs(out):
        code = cli.main([*argv, "--out", str(out), "-q"])
    assert code == 0
    return out / "2026-winter"


# --------------------------------------------------------------------------- evaluating


def cloze_options(blank: str) -> list[Option]:
    """The answers of one cloze blank's body (`=v:t~%0%w:t#feedback`), checked."""
    out = []
    for option in re.split(r"(?<!\\)~", blank):
        m = OPTION.match(option)
        assert m is not None, f"not a NUMERICAL answer: {option!r}"
        fraction = 100.0 if m.group(1) == "=" else float(m.group(2))
        out.append((fraction, m.group(3), m.group(4), re.sub(r"\\(.)", r"\1", m.group(5) or "")))
    return out


def moodle_questions(xml: bytes) -> list[tuple[ET.Element, int, list[list[Option]]]]:
    """(question, decimals asked, the answers of each blank) of every question written."""
    out = []
    for q in ET.fromstring(xml).iter("question"):
        text = q.findtext("questiontext/text", "")
        if q.get("type") == "numerical":
            blanks = [
                [
                    (
                        float(a.get("fraction", "")),
                        a.findtext("text", ""),
                        a.findtext("tolerance", ""),
                        a.findtext("feedback/text", ""),
                    )
                    for a in q.findall("answer")
                ]
            ]
        elif q.get("type") == "cloze":
            blanks = [cloze_options(body) for _, body in BLANK.findall(text)]
        else:
            continue
        asked = ASKED.search(text)
        assert asked, "the question says to how many decimals"
        out.append((q, int(asked.group(1)), blanks))
    return out


def moodle_grade(options: list[Option], x: float) -> Option | None:
    """The answer Moodle matches `x` with: the first whose tolerance holds it (nominal:
    |x - answer| <= tolerance, plus 10^-14 for PHP's precision), else none (0 marks)."""
    for option in options:
        if abs(x - float(option[1])) <= float(option[2]) + 1e-14:
            return option
    return None


def qti_items(package: bytes) -> dict[str, ET.Element]:
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        return {n: ET.fromstring(z.read(n)) for n in z.namelist()}


def qti_equal(equal: ET.Element, correct: float, x: float) -> bool:
    """QTI 2.1 `equal` in absolute mode: correct - t0 <= x <= correct + t1."""
    assert equal.get("toleranceMode") == "absolute"
    t = [float(v) for v in equal.get("tolerance", "").split()]
    t0, t1 = t[0], t[-1]
    low = (
        x >= correct - t0 if equal.get("includeLowerBound", "true") == "true" else x > correct - t0
    )
    high = (
        x <= correct + t1 if equal.get("includeUpperBound", "true") == "true" else x < correct + t1
    )
    return low and high


def qti_correct(item: ET.Element) -> dict[str, float]:
    return {
        d.get("identifier", ""): float(d.findtext(f"{Q}correctResponse/{Q}value", ""))
        for d in item.iter(f"{Q}responseDeclaration")
    }


def qti_run(item: ET.Element, responses: dict[str, float]) -> tuple[float, set[str]]:
    """The item's responseProcessing run on `responses` (the subset of QTI 2.1 written:
    responseIf/ElseIf on `equal` to a correct or base value, SCORE summed, FEEDBACK
    collected): (SCORE, the feedback identifiers shown)."""
    correct = qti_correct(item)
    score, feedback = 0.0, set()
    for cond in item.iter(f"{Q}responseCondition"):
        for branch in cond:
            assert branch.tag in (f"{Q}responseIf", f"{Q}responseElseIf"), branch.tag
            eq = branch.find(f"{Q}equal")
            rid = eq.find(f"{Q}variable").get("identifier", "")  # type: ignore[union-attr]
            base = eq.find(f"{Q}baseValue")  # type: ignore[union-attr]
            value = correct[rid] if base is None else float(base.text or "")
            if not qti_equal(eq, value, responses[rid]):  # type: ignore[arg-type]
                continue
            setter = branch.find(f"{Q}setOutcomeValue")
            if setter.get("identifier") == "SCORE":  # type: ignore[union-attr]
                score += float(setter.findtext(f"{Q}sum/{Q}baseValue", ""))  # type: ignore[union-attr]
            else:
                feedback.add(setter.findtext(f"{Q}multiple/{Q}baseValue", ""))  # type: ignore[union-attr]
            break
    return score, feedback


def qti_asked(item: ET.Element) -> int:
    asked = ASKED.search("".join(item.find(f"{Q}itemBody").itertext()))  # type: ignore[union-attr]
    assert asked, "the item says to how many decimals"
    return int(asked.group(1))


def printed_half_unit(x: float, decimals: int) -> float:
    """Half a unit in the last place of the key's printed number (read off the print)."""
    printed = printing.number(x, decimals)
    sci = re.fullmatch(r"-?\d+\.(\d+) \\times 10\^\{(-?\d+)\}", printed)
    if sci:
        return 0.5 * 10.0 ** (int(sci.group(2)) - len(sci.group(1)))
    return 0.5 * 10.0 ** -len(printed.partition(".")[2])


def assert_tolerance_acceptance(moodle: bytes, qti: bytes) -> int:
    """At the key and at +-0.99 x the tolerance of the printed precision (the decimals
    the question asks for) accepted, at +-1.01 x refused, evaluating what is written as
    the platform does. Returns the entries checked."""
    checked = 0
    for _, decimals, blanks in moodle_questions(moodle):
        for options in blanks:
            right = next(o for o in options if o[0] == 100)
            key = float(right[1])
            tol = printed_half_unit(key, decimals)
            assert moodle_grade(options, key) == right
            for sign in (1, -1):
                assert moodle_grade(options, key + sign * 0.99 * tol) == right
                graded = moodle_grade(options, key + sign * 1.01 * tol)
                assert graded is None or graded[0] == 0
            checked += 1
    for name, item in qti_items(qti).items():
        if name == "imsmanifest.xml":
            continue
        correct, decimals = qti_correct(item), qti_asked(item)
        for rid, key in correct.items():
            tol = printed_half_unit(key, decimals)
            for x, points in [(key, 1)] + [
                (key + sign * f * tol, int(f < 1)) for sign in (1, -1) for f in (0.99, 1.01)
            ]:
                assert qti_run(item, {**correct, rid: x})[0] == len(correct) - 1 + points
            checked += 1
    return checked


def assert_named_mistakes(moodle: bytes, qti: bytes) -> int:
    """Every answer of fraction 0 names a mistake and is disjoint from the right one and
    the others; the key names none; a sign flipped (where distinguishable) earns nothing
    and names a mistake (the sign, or one listed before it that gives the same entry),
    in Moodle and in QTI. Returns the sign mistakes found."""
    found = 0
    for _, decimals, blanks in moodle_questions(moodle):
        for options in blanks:
            assert options[0][0] == 100 and all(o[0] == 0 and o[3] for o in options[1:])
            spans = sorted((float(v) - float(t), float(v) + float(t)) for _, v, t, _ in options)
            assert all(a[1] < b[0] for a, b in itertools.pairwise(spans)), "answers overlap"
            key = float(options[0][1])
            assert moodle_grade(options, key) == options[0]  # the key: no mistake named
            if abs(key) > 2 * printed_half_unit(key, decimals):
                wrong = moodle_grade(options, -key)  # the sign's, or a mistake equal to it here
                assert wrong is not None and wrong[0] == 0 and wrong[3]
                found += 1
    for name, item in qti_items(qti).items():
        if name == "imsmanifest.xml":
            continue
        correct, decimals = qti_correct(item), qti_asked(item)
        shown = {m.get("identifier") for m in item.iter(f"{Q}modalFeedback")}
        assert qti_run(item, correct) == (len(correct), set())  # the key: no mistake named
        for rid, key in correct.items():
            if abs(key) > 2 * printed_half_unit(key, decimals):
                score, feedback = qti_run(item, {**correct, rid: -key})
                assert score == len(correct) - 1 and feedback and feedback <= shown
    return found


# --------------------------------------------------------------------------- independent readers


def reader(module: str) -> Any:
    """An independent reader from PyPI (a pinned dev dependency): CI must have it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"{module} is missing: pip install -c constraints.txt -e '.[dev]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def qti_round_trip(package: bytes) -> bytes:
    """citolab-qti-convert reads the QTI 2.1 package, writes it as QTI 3.0, and that back
    as QTI 2.1 (a reader of each version that is not ours): the package it returns."""
    convert = reader("qti_convert")
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    three = convert.upgrade_package_files(files).files
    items = [v for k, v in three.items() if k.startswith("items/")]
    assert items and all('tolerance-mode="absolute"' in str(v) for v in items)
    back = convert.downgrade_package_files(three, inject_shared_vocabulary_stylesheet=False)
    assert not back.warnings, back.warnings
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in sorted(back.files.items()):
            z.writestr(name, data)
    return out.getvalue()


def assert_moodle_reader_agrees(xml: bytes) -> int:
    """moodle-xml-parser reads every cloze question: each NUMERICAL blank with the
    answers, fractions and feedback we wrote. Returns the blanks read."""
    parsed = reader("moodle_xml_parser.parser").parse_bytes(xml)["cloze"]
    ours = [q for q, _, _ in moodle_questions(xml) if q.get("type") == "cloze"]
    assert [q.name for q in parsed] == [q.findtext("name/text") for q in ours]
    read = 0
    for theirs, q in zip(parsed, ours, strict=True):
        gaps = [g for g in theirs.gaps if g.sub_type == "NUMERICAL"]  # it takes TeX's {...} too
        blanks = BLANK.findall(q.findtext("questiontext/text", ""))
        assert len(gaps) == len(blanks)
        for gap, (weight, body) in zip(gaps, blanks, strict=True):
            assert gap.sub_grade == int(weight)
            assert [(o.score, o.answer, o.feedback or "") for o in gap.options] == [
                (int(f), f"{v}:{t}", fb) for f, v, t, fb in cloze_options(body)
            ]
            read += 1
    return read


# --------------------------------------------------------------------------- Moodle's rules


def assert_moodle_rules(xml: bytes) -> None:
    root = ET.fromstring(xml)
    assert root.tag == "quiz"
    category = None
    for q in root.findall("question"):
        kind = q.get("type")
        if kind == "category":
            category = q.findtext("category/text", "")
            assert category.startswith("$course$/top/")
            continue
        assert category is not None, "a question before any category"
        assert kind in ("numerical", "cloze")
        name = q.findtext("name/text", "")
        assert 0 < len(name) <= 255
        assert q.find("questiontext").get("format") == "html"  # type: ignore[union-attr]
        text = q.findtext("questiontext/text", "")
        assert text.startswith("<p>")
        for a in q.findall("answer"):
            assert float(a.get("fraction", "")) in ALLOWED_FRACTIONS
        if kind == "numerical":
            answers = q.findall("answer")
            assert answers[0].get("fraction") == "100"  # the right answer first: it wins
            for a in answers:
                value = a.findtext("text", "")
                assert re.fullmatch(NUMBER, value) and "." in value, value
                assert float(a.findtext("tolerance", "")) > 0
            assert "NUMERICAL" not in text
        else:
            blanks = BLANK.findall(text)
            assert blanks, "a cloze question without blanks"
            assert len(blanks) == text.count(":NUMERICAL:")  # every blank is well formed
            assert all(int(w) >= 1 for w, _ in blanks)  # per-entry marks
            for _, body in blanks:
                options = cloze_options(body)
                assert options[0][0] == 100
                assert all(f in ALLOWED_FRACTIONS for f, _, _, _ in options)


def assert_qti_rules(package: bytes) -> None:
    files = qti_items(package)
    manifest = files.pop("imsmanifest.xml")
    assert manifest.tag == f"{CP}manifest"
    resources = manifest.findall(f"{CP}resources/{CP}resource")
    hrefs = [r.get("href") for r in resources]
    assert sorted(hrefs) == sorted(files) and len(set(hrefs)) == len(hrefs)
    idents = [r.get("identifier") for r in resources]
    assert len(set(idents)) == len(idents)
    for res in resources:
        assert res.get("type") == "imsqti_item_xmlv2p1"
        assert [f.get("href") for f in res.findall(f"{CP}file")] == [res.get("href")]
        item = files[res.get("href")]  # type: ignore[index]
        assert_qti_item(item)
        assert item.get("identifier") == res.get("identifier")


def assert_qti_item(item: ET.Element) -> None:
    assert item.tag == f"{Q}assessmentItem"
    assert NCNAME.match(item.get("identifier", ""))
    assert item.get("adaptive") == "false" and item.get("timeDependent") == "false"
    declared = {d.get("identifier"): d for d in item.iter(f"{Q}responseDeclaration")}
    for d in declared.values():
        assert d.get("cardinality") == "single" and d.get("baseType") == "float"
        float(d.findtext(f"{Q}correctResponse/{Q}value", ""))
    asked = [i.get("responseIdentifier") for i in item.iter(f"{Q}textEntryInteraction")]
    assert sorted(asked) == sorted(declared)
    scored, named = [], set()
    for eq in item.iter(f"{Q}equal"):
        rid = eq.find(f"{Q}variable").get("identifier")  # type: ignore[union-attr]
        assert rid in declared
        if eq.find(f"{Q}correct") is not None:
            scored.append(rid)
        else:
            float(eq.findtext(f"{Q}baseValue", ""))  # a named mistake's value
    for setter in item.iter(f"{Q}setOutcomeValue"):
        if setter.get("identifier") == "FEEDBACK":
            named.add(setter.findtext(f"{Q}multiple/{Q}baseValue", ""))
    assert sorted(scored) == sorted(declared)  # every response scored once
    outcomes = {
        d.get("identifier"): (d.get("cardinality"), d.findtext(f"{Q}defaultValue/{Q}value"))
        for d in item.iter(f"{Q}outcomeDeclaration")
    }
    expected = {"SCORE": ("single", "0"), "MAXSCORE": ("single", str(len(declared)))}
    if named:
        expected["FEEDBACK"] = ("multiple", None)
    assert outcomes == expected
    shown = [m.get("identifier") for m in item.findall(f"{Q}modalFeedback")]
    assert sorted(shown) == sorted(named) and all(
        (m.text or "").strip() for m in item.findall(f"{Q}modalFeedback")
    )  # every named mistake's feedback is there, with text
    order = [c.tag.removeprefix(Q) for c in item]
    assert order == sorted(order, key=QTI_ORDER.index)  # the schema's sequence


#: assessmentItem's children in the order the QTI 2.1 schema's sequence has them
QTI_ORDER = [
    "responseDeclaration",
    "outcomeDeclaration",
    "itemBody",
    "responseProcessing",
    "modalFeedback",
]


# --------------------------------------------------------------------------- tests


def test_the_printed_precision_is_the_keys() -> None:
    assert lms.DECIMALS == printing.DECIMALS


def test_tolerance_is_half_a_unit_in_the_last_printed_place() -> None:
    assert lms.tolerance(0.28176) == lms.tolerance(-12.5) == lms.tolerance(0.0)
    assert str(lms.tolerance(0.28176)) == "0.00005"
    # below 0.00005 the key prints 1.234 x 10^-7: half a unit of the mantissa's last digit
    assert lms.tolerance(1.2344e-7) == lms.Decimal("5E-11")
    assert printing.number(1.2344e-7) == r"1.234 \times 10^{-7}"
    assert lms.plain(-0.14999999999999997) == "-0.15"
    assert lms.plain(-0.0) == "0.0" and lms.plain(1e-7) == "0.0000001"


def test_every_printed_rounding_of_a_key_is_accepted() -> None:
    for x in (0.28176, -0.919432, 0.42267760131200005, 1.3894194855158146, 3e-9, -2.5e-6):
        printed = printing.number(x)
        if "times" in printed:
            mantissa, exponent = re.match(r"(-?[\d.]+) \\times 10\^\{(-?\d+)\}", printed).groups()  # type: ignore[union-attr]
            printed = f"{mantissa}e{exponent}"
        assert abs(float(printed) - float(lms.plain(x))) <= float(lms.tolerance(x))


def test_the_toy_term_exports_categories_and_questions(tmp_path: Path) -> None:
    term = write_term(tmp_path)
    answers = lms.collect(term)
    assert [(a.part, a.index, a.label) for a in answers] == [
        ("1", 1, "s"), ("1", 2, "z"), ("1", 3, "W/next"), ("1", 4, "one"),
    ]  # fmt: skip
    assert [q.variant for q in answers[0].questions] == ["key", "01", "02"]
    assert [q.value for q in answers[0].questions] == [0.3, 1.3, 2.3]
    xml = lms.moodle_xml(answers)
    assert_moodle_rules(xml)
    root = ET.fromstring(xml)
    cats = [
        q.findtext("category/text") for q in root.iter("question") if q.get("type") == "category"
    ]
    assert cats == [
        "$course$/top/toy/part 1",
        "$course$/top/toy/part 1/01 s",
        "$course$/top/toy/part 1/02 z",
        "$course$/top/toy/part 1/03 W//next",  # Moodle's escaped "/"
        "$course$/top/toy/part 1/04 one",
    ]
    kinds = [q.get("type") for q in root.iter("question") if q.get("type") != "category"]
    assert kinds == ["numerical"] * 3 + ["cloze"] * 6 + ["numerical"] * 3
    text = root.findall("question")[2].findtext("questiontext/text", "")
    assert "Toy &lt;sheet&gt; &amp; co" in text  # titles are escaped HTML
    assert r"\(\begin{bmatrix}0.5 &amp; -1.0\end{bmatrix}\)" in text  # TeX for MathJax
    assert "eta: \\(0.5\\)" in text  # the exercise's given numbers too
    matrix = [q for q in root.iter("question") if q.get("type") == "cloze"][-1]
    blanks = BLANK.findall(matrix.findtext("questiontext/text", ""))
    assert [cloze_options(body)[0][1:3] for _, body in blanks] == [
        ("1.0", "0.00005"), ("2.5", "0.00005"), ("-3.25", "0.00005"),
        ("0.0000001", "0.00000000005"),
    ]  # fmt: skip
    package = lms.qti_package(answers)
    assert_qti_rules(package)
    assert assert_tolerance_acceptance(xml, package) == 2 * (3 + 3 * 2 + 3 * 4 + 3)
    # "one" is printed to 2 decimals: asked so, and +-0.005 accepted
    one = root.findall("question")[-1]
    assert "to 2 decimals" in one.findtext("questiontext/text", "")
    assert one.findtext("answer/tolerance") == "0.005"


def test_named_mistakes_earn_nothing_and_say_so(tmp_path: Path) -> None:
    """A sign flipped, and in a square matrix an entry from the transposed place, are
    answers of fraction 0 with feedback (Moodle) and FEEDBACK outcomes shown by a
    modalFeedback (QTI); a number within its tolerance of 0 has no sign to get wrong."""
    answers = lms.collect(write_term(tmp_path))
    xml, package = lms.moodle_xml(answers), lms.qti_package(answers)
    # per variant: s, z's 0.1 (not its 0.0), W's 4 entries (1e-7 too: 2e-7 > 2 x 5e-11), one
    assert assert_named_mistakes(xml, package) == 3 * (1 + 1 + 4 + 1)
    root = ET.fromstring(xml)
    s = root.findall("question")[2]
    written = [(a.get("fraction"), a.findtext("text"), a.findtext("feedback/text")) for a in s]
    assert [w for w in written if w[0]] == [
        ("100", "0.3", ""), ("0", "-0.3", "<p>The sign is wrong.</p>"),
    ]  # fmt: skip
    matrix = [q for q in root.iter("question") if q.get("type") == "cloze"][-1]
    text = matrix.findtext("questiontext/text", "")
    assert (
        "{1:NUMERICAL:=2.5:0.00005~%0%-2.5:0.00005#An entry has the wrong sign."
        "~%0%-3.25:0.00005#An entry is from the transposed place: rows and columns swapped.}"
    ) in text
    item = qti_items(package)["items/Q_toy_1_03_key.xml"]
    correct = qti_correct(item)
    assert qti_run(item, correct) == (4.0, set())
    swapped = {**correct, "RESPONSE_1_2": -3.25, "RESPONSE_2_1": 2.5}
    assert qti_run(item, swapped) == (2.0, {"TRANSPOSED"})
    # 0.00005 prints 0.0001, -0.00005 prints -0.0001 (or -0.0000): their answers overlap
    assert lms.mistakes(0.0) == lms.mistakes(0.00005) == [[[]]]
    assert lms.mistakes(0.00004)[0][0][0].value == -0.00004  # printed 4.000 x 10^-5
    assert lms.cloze_escape('a}b#c~d/e"f\\g') == 'a\\}b\\#c\\~d\\/e\\"f\\\\g'


LAST = "the last time step only: the sum over time reduced to its term at step 3"
MEAN = "BN's mean term dropped: the gradient through the batch mean left out"
FLIP = "kernel not flipped: the input gradient correlates with K, not rot180(K)"


def write_named_term(root: Path) -> Path:
    """The toy term, its answers.json listing the grader's named mistakes (as a build
    writes them): for "s" the sign, the last step only (0.1), one within the key's
    tolerance, one within another's, BN's mean term (0.7); for "W/next" the kernel not
    flipped, differing from the key in entry (1, 2) only, and the sign."""
    term = write_term(root)
    for path in sorted(term.rglob("answers.json")):
        doc = json.loads(path.read_text())
        for n in doc["numbers"]:
            if n["label"] == "s":
                x = n["value"]
                n["mistakes"] = [
                    {"name": "sign flipped", "value": -x},
                    {"name": LAST, "value": 0.1},
                    {"name": "near the key", "value": x + 0.00004},
                    {"name": "near the last step", "value": 0.1 + 0.00003},
                    {"name": MEAN, "value": 0.7},
                ]
            elif n["label"] == "W/next":
                n["mistakes"] = [
                    {"name": FLIP, "value": [[1.0, 9.0], [-3.25, 1e-7]]},
                    {"name": "sign flipped", "value": [[-1.0, -2.5], [3.25, -1e-7]]},
                ]
        path.write_text(json.dumps(doc))
    return term


def test_the_graders_named_mistakes_are_asked_and_none_equal_to_the_key(tmp_path: Path) -> None:
    """Every mistake answers.json lists for a number is a fraction-0 answer with the
    grader's name as feedback (Moodle) and a FEEDBACK outcome shown by modalFeedback
    (QTI), except one within the tolerance of the key or of a mistake before it; in a
    matrix, only in the entries where it differs from the key."""
    answers = lms.collect(write_named_term(tmp_path))
    xml, package = lms.moodle_xml(answers), lms.qti_package(answers)
    assert_moodle_rules(xml)
    assert_qti_rules(package)
    assert_tolerance_acceptance(xml, package)
    assert assert_named_mistakes(xml, package) == 3 * (1 + 1 + 4 + 1)
    s = ET.fromstring(xml).findall("question")[2]
    written = [(a.get("fraction"), a.findtext("text"), a.findtext("feedback/text")) for a in s]
    assert [w for w in written if w[0]] == [
        ("100", "0.3", ""),
        ("0", "-0.3", "<p>The sign is wrong.</p>"),
        ("0", "0.1", f"<p>A typical mistake gives this answer: {LAST}.</p>"),
        ("0", "0.7", "<p>A typical mistake gives this answer: BN&#x27;s mean term dropped: "
         "the gradient through the batch mean left out.</p>"),
    ]  # fmt: skip
    matrix = [q for q in ET.fromstring(xml).iter("question") if q.get("type") == "cloze"][-1]
    blanks = [cloze_options(b) for _, b in BLANK.findall(matrix.findtext("questiontext/text", ""))]
    flips = [[o[1] for o in options if "kernel not flipped" in o[3]] for options in blanks]
    assert flips == [[], ["9.0"], [], []]
    items = qti_items(package)
    s_item = items["items/Q_toy_1_01_key.xml"]
    assert qti_run(s_item, {"RESPONSE_1_1": 0.1}) == (0.0, {"M_THE_LAST_TIME_STEP_ONLY"})
    assert qti_run(s_item, {"RESPONSE_1_1": 0.70004}) == (0.0, {"M_BN_S_MEAN_TERM_DROPPED"})
    assert qti_run(s_item, {"RESPONSE_1_1": 0.30004}) == (1.0, set())  # the key, no mistake
    feedback = {m.get("identifier"): m.text for m in s_item.iter(f"{Q}modalFeedback")}
    assert feedback == {
        "SIGN": "The sign is wrong.",
        "M_THE_LAST_TIME_STEP_ONLY": f"A typical mistake gives this answer: {LAST}.",
        "M_BN_S_MEAN_TERM_DROPPED": f"A typical mistake gives this answer: {MEAN}.",
    }
    w_item = items["items/Q_toy_1_03_02.xml"]
    correct = qti_correct(w_item)
    assert qti_run(w_item, {**correct, "RESPONSE_1_2": 9.0}) == (3.0, {"M_KERNEL_NOT_FLIPPED"})
    # both independent readers read it all
    again = qti_round_trip(package)
    assert_qti_rules(again)
    assert_named_mistakes(xml, again)
    assert qti_run(qti_items(again)["items/Q_toy_1_01_key.xml"], {"RESPONSE_1_1": 0.1})[1] == {
        "M_THE_LAST_TIME_STEP_ONLY"
    }
    assert assert_moodle_reader_agrees(xml) == 3 * (2 + 4)


def test_the_mistake_the_quiz_names_for_a_sign_is_the_graders() -> None:
    from answerkey.claims import mistakes as named

    assert lms.SIGN_FLIPPED == named.SIGN_FLIPPED
    assert lms.identifiers([named.SIGN_FLIPPED, LAST, MEAN, FLIP, "kernel not flipped: J"]) == {
        named.SIGN_FLIPPED: "SIGN",
        LAST: "M_THE_LAST_TIME_STEP_ONLY",
        MEAN: "M_BN_S_MEAN_TERM_DROPPED",
        FLIP: "M_KERNEL_NOT_FLIPPED",
        "kernel not flipped: J": "M_KERNEL_NOT_FLIPPED_2",
    }


@pytest.mark.parametrize(
    ("mistakes", "expected"),
    [
        ("nope", "must be a list of {name, value}"),
        ([{"value": 1.0}], "each needs a 'name' (text)"),
        ([{"name": "x", "value": [1.0, 2.0]}], "'x' must have a finite value shaped as"),
        ([{"name": "x", "value": float("nan")}], "'x' must have a finite value shaped as"),
    ],
)
def test_a_malformed_mistake_is_one_line_naming_file_and_number(
    tmp_path: Path, mistakes: Any, expected: str
) -> None:
    term = write_term(tmp_path)
    path = term / "toy" / "answers.json"
    doc = json.loads(path.read_text())
    doc["numbers"][1]["mistakes"] = mistakes
    path.write_text(json.dumps(doc))
    with pytest.raises(lms.UsageError) as err:
        lms.collect(term)
    message = str(err.value)
    assert message.startswith(f"{path}: numbers[1] (s): 'mistakes'") and expected in message
    assert "\n" not in message


def test_independent_readers_read_what_we_wrote(tmp_path: Path) -> None:
    """The QTI package through QTI 3.0 and back (citolab-qti-convert) still passes the
    rules, scores the same and names the same mistakes; moodle-xml-parser reads every
    cloze blank as we wrote it."""
    answers = lms.collect(write_term(tmp_path))
    xml, package = lms.moodle_xml(answers), lms.qti_package(answers)
    again = qti_round_trip(package)
    assert_qti_rules(again)
    assert assert_tolerance_acceptance(xml, again) == assert_tolerance_acceptance(xml, package)
    assert_named_mistakes(xml, again)
    ours, theirs = qti_items(package), qti_items(again)
    assert sorted(ours) == sorted(theirs)
    for name in ours:
        if name != "imsmanifest.xml":
            assert qti_correct(theirs[name]) == qti_correct(ours[name])
    assert assert_moodle_reader_agrees(xml) == 3 * (2 + 4)


def test_the_mistake_checks_can_fail(tmp_path: Path) -> None:
    answers = lms.collect(write_term(tmp_path))
    xml, package = lms.moodle_xml(answers), lms.qti_package(answers)
    assert_named_mistakes(xml, package)
    for old, new in (
        (b"<text>-0.3</text>", b"<text>0.30006</text>"),  # overlaps the right answer
        (b"%0%-2.5", b"%50%-2.5"),  # a mistake earning marks
        (b"#An entry has the wrong sign.", b""),  # no feedback
        (b"<text>-0.3</text>", b"<text>-0.6</text>"),  # the sign's mistake is not there
    ):
        assert old in xml
        with pytest.raises(AssertionError):
            assert_named_mistakes(xml.replace(old, new), package)
    for old, new in (
        (b">SIGN</baseValue>", b">OTHER</baseValue>"),  # the feedback shown is another's
        (b'identifier="SIGN">', b'identifier="SIGN2">'),  # no feedback for SIGN
    ):
        wrong = _rezip(package, old, new)
        assert wrong != _rezip(package, b"", b"")
        with pytest.raises(AssertionError):
            assert_named_mistakes(xml, wrong)
        with pytest.raises(AssertionError):
            assert_qti_rules(wrong)


def _rezip(package: bytes, old: bytes, new: bytes) -> bytes:
    src, out = zipfile.ZipFile(io.BytesIO(package)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            z.writestr(name, src.read(name).replace(old, new))
    return out.getvalue()


def test_a_wrong_tolerance_or_fraction_is_refused_by_the_checks(tmp_path: Path) -> None:
    answers = lms.collect(write_term(tmp_path))
    xml, package = lms.moodle_xml(answers), lms.qti_package(answers)
    assert_tolerance_acceptance(xml, package)
    for looser, tighter in ((b">0.0001<", b">0.00004<"), (b":0.0001}", b":0.00004}")):
        tol = looser[:1] + b"0.00005" + looser[-1:]
        for wrong in (looser, tighter):
            with pytest.raises(AssertionError):
                assert_tolerance_acceptance(xml.replace(tol, wrong), package)
    for wrong in (b'"0.0001 0.0001"', b'"0.00004 0.00004"'):
        with pytest.raises(AssertionError):
            assert_tolerance_acceptance(xml, _rezip(package, b'"0.00005 0.00005"', wrong))
    with pytest.raises(AssertionError):
        assert_moodle_rules(xml.replace(b'fraction="100"', b'fraction="35"'))
    with pytest.raises(AssertionError):
        assert_qti_rules(_rezip(package, b'identifier="SCORE"', b'identifier="POINTS"'))


def test_every_assignment_exports_valid_files_that_accept_within_tolerance(
    term_built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = {}
    for fmt, name in (("moodle", "quiz.xml"), ("qti", "quiz.zip")):
        out = tmp_path / name
        assert (
            cli.main(
                [
                    "export",
                    "2026-winter",
                    "--root",
                    str(term_built.parent),
                    "--format",
                    fmt,
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        outputs[fmt] = out.read_bytes()
    assert "questions" in capsys.readouterr().out
    assert_moodle_rules(outputs["moodle"])
    assert_qti_rules(outputs["qti"])
    checked = assert_tolerance_acceptance(outputs["moodle"], outputs["qti"])
    assert checked > 100
    assert assert_named_mistakes(outputs["moodle"], outputs["qti"]) > 50
    again = qti_round_trip(outputs["qti"])
    assert_qti_rules(again)
    assert assert_tolerance_acceptance(outputs["moodle"], again) == checked
    assert_named_mistakes(outputs["moodle"], again)
    assert assert_moodle_reader_agrees(outputs["moodle"]) > 0
    exported = {a.assignment for a in lms.collect(term_built)}
    with_numbers = {
        d.parent.parent.name
        for d in term_built.glob("*/variant-01/answers.json")
        if any(
            n["source"] == "computed" and n["part"] and lms.ANSWER_PLACES.match(n["where"])
            for n in json.loads(d.read_text())["numbers"]
        )
    }
    assert exported == with_numbers and exported <= set(registry.discover())
    # --variants builds the term's own key too: each answer is asked as "key" as well
    assert all(a.questions[0].variant == "key" for a in lms.collect(term_built))
    # byte-reproducible
    again = tmp_path / "again.zip"
    cli.main(
        [
            "export",
            "2026-winter",
            "--root",
            str(term_built.parent),
            "--format",
            "qti",
            "--out",
            str(again),
        ]
    )
    assert again.read_bytes() == outputs["qti"]


def test_every_mistake_the_grader_names_is_in_the_quizzes(term_built: Path) -> None:
    """answers.json lists the grader's named mistakes of each number (the topics' from
    the key's definitions, the sign); in the quiz a student who gives one is told a
    mistake (its own, or one before it equal in the entries it changes) and loses the
    entries it changes; the key is never told one."""
    answers = lms.collect(term_built)
    items = qti_items(lms.qti_package(answers))
    told: set[str] = set()
    asked = 0
    for answer in answers:
        for q in answer.questions:
            item = items[f"items/{lms.item_identifier(answer, q)}.xml"]
            correct = qti_correct(item)
            assert q.named is not None, "a build lists every computed number's mistakes"
            assert qti_run(item, correct) == (len(correct), set())
            rows = np.atleast_2d(np.asarray(q.value, dtype=float))
            for name, value in q.named:
                wrong = np.asarray(value, dtype=float).reshape(rows.shape)
                responses = {
                    f"RESPONSE_{i + 1}_{j + 1}": float(wrong[i, j])
                    for i in range(rows.shape[0])
                    for j in range(rows.shape[1])
                }
                score, feedback = qti_run(item, responses)
                assert score < len(correct) and feedback, (answer.label, q.variant, name)
                told |= feedback
                asked += 1
    families = {re.sub(r"_\d+$", "", t) for t in told}
    assert families >= {
        "SIGN",
        "M_THE_LAST_TIME_STEP_ONLY",
        "M_BN_S_MEAN_TERM_DROPPED",
        "M_BN_S_VARIANCE_TERM_DROPPED",
        "M_BN_S_MEAN_AND_VARIANCE_TERMS_DROPPED",
        "M_GRADIENT_SENT_TO_EVERY_POOLED_INPUT_MAX",
        "M_A_MISSING_BIAS_CORRECTION",
    }, told
    assert asked > 100


def test_the_numbers_are_the_ledgers_not_recomputed(term_built: Path) -> None:
    answers = lms.collect(term_built, ["practical-1"])
    doc = json.loads((term_built / "practical-1" / "variant-02" / "answers.json").read_text())
    ledger = {
        (n["part"], n["label"]): n["value"] for n in doc["numbers"] if n["source"] == "computed"
    }
    for a in answers:
        (q,) = [q for q in a.questions if q.variant == "02"]
        assert q.value == ledger[a.part, a.label]
    assert not any(a.label == "learning rate" for a in answers)  # given numbers are not asked


def test_an_unbuilt_term_or_assignment_is_one_line_naming_the_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "q.xml"
    assert (
        cli.main(
            [
                "export",
                "1999-none",
                "--root",
                str(tmp_path),
                "--format",
                "moodle",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err == (
        f"answerkey: error: term '1999-none' is not built under {tmp_path}: "
        "run `answerkey build --term 1999-none --format json`"
    )
    write_term(tmp_path)
    assert (
        cli.main(
            [
                "export",
                "2099-test",
                "nope",
                "--root",
                str(tmp_path),
                "--format",
                "qti",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "assignment 'nope' has no answers.json" in capsys.readouterr().err
    assert not out.exists()  # nothing half-written
    assert (
        cli.main(
            ["export", "2099-test", "--root", str(tmp_path), "--format", "pdf", "--out", str(out)]
        )
        == 2
    )


def test_the_command_is_documented() -> None:
    page = (ROOT / "docs" / "how-to" / "lms-export.md").read_text(encoding="utf-8")
    assert "answerkey export" in page and "QTI 1.2" in page
