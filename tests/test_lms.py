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

import io
import json
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from conftest import ROOT

from answerkey import cli, lms, printing, registry

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ALLOWED_FRACTIONS = {
    100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20,
    16.66667, 14.28571, 12.5, 11.11111, 10, 5, 0,
}  # fmt: skip
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
BLANK = re.compile(r"\{(\d*):NUMERICAL:=(-?\d+(?:\.\d+)?):(\d+(?:\.\d+)?)\}")
Q = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"


# --------------------------------------------------------------------------- fixtures


def _answers_json(variant: str | None, shift: float) -> dict:
    return {
        "assignment": "toy",
        "title": "Toy <sheet> & co",
        "variant": variant,
        "parts": {"1": {"title": "Forward"}, "2": {"title": "Symbolic only"}},
        "numbers": [
            {"part": "1", "label": "x", "value": [0.5, -1.0], "source": "given"},
            {"part": "1", "label": "s", "value": 0.3 + shift, "source": "computed", "check": "c"},
            {"part": "1", "label": "z", "value": [0.1, -0.0], "source": "computed", "check": "c"},
            {
                "part": "1",
                "label": "W/next",
                "value": [[1.0, 2.5], [-3.25, 1e-7]],
                "source": "computed",
                "check": "c",
            },
            {"part": "1", "label": "one", "value": [2.0], "source": "computed", "check": "c"},
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
def term_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every assignment of the term 2026-winter, built as JSON with 2 variants."""
    out = tmp_path_factory.mktemp("lms-build")
    code = cli.main(
        [
            "build",
            "--term",
            "2026-winter",
            "--format",
            "json",
            "--variants",
            "2",
            "--out",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    return out / "2026-winter"


# --------------------------------------------------------------------------- evaluating


def moodle_accepts(answer: str, tol: str, x: float) -> bool:
    """qtype_numerical's nominal tolerance: |x - answer| <= tolerance + 10^-14."""
    return abs(x - float(answer)) <= float(tol) + 1e-14


def qti_accepts(equal: ET.Element, correct: float, x: float) -> bool:
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


def moodle_blanks(xml: bytes) -> list[tuple[str, str, str]]:
    """(question type, answer, tolerance) of every numeric answer written."""
    out = []
    for q in ET.fromstring(xml).iter("question"):
        if q.get("type") == "numerical":
            a = q.find("answer")
            assert a is not None
            out.append(("numerical", a.findtext("text", ""), a.findtext("tolerance", "")))
        elif q.get("type") == "cloze":
            text = q.findtext("questiontext/text", "")
            out += [("cloze", v, t) for _, v, t in BLANK.findall(text)]
    return out


def qti_items(package: bytes) -> dict[str, ET.Element]:
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        return {n: ET.fromstring(z.read(n)) for n in z.namelist()}


def printed_half_unit(x: float) -> float:
    """Half a unit in the last place of the key's printed number (read off the print)."""
    printed = printing.number(x)
    sci = re.fullmatch(r"-?\d+\.(\d+) \\times 10\^\{(-?\d+)\}", printed)
    if sci:
        return 0.5 * 10.0 ** (int(sci.group(2)) - len(sci.group(1)))
    return 0.5 * 10.0 ** -len(printed.partition(".")[2])


def assert_tolerance_acceptance(moodle: bytes, qti: bytes) -> int:
    """At the key and at +-0.99 x the printed precision's tolerance accepted, at +-1.01 x
    refused, evaluating what is written as the platform does."""
    checked = 0
    for _, v, t in moodle_blanks(moodle):
        key, tol = float(v), printed_half_unit(float(v))
        for sign in (1, -1):
            assert moodle_accepts(v, t, key)
            assert moodle_accepts(v, t, key + sign * 0.99 * tol)
            assert not moodle_accepts(v, t, key + sign * 1.01 * tol)
        checked += 1
    for name, item in qti_items(qti).items():
        if name == "imsmanifest.xml":
            continue
        correct = {
            d.get("identifier"): float(d.findtext(f"{Q}correctResponse/{Q}value", ""))
            for d in item.iter(f"{Q}responseDeclaration")
        }
        for eq in item.iter(f"{Q}equal"):
            rid = eq.find(f"{Q}variable").get("identifier")  # type: ignore[union-attr]
            key = correct[rid]
            tol = printed_half_unit(key)
            for sign in (1, -1):
                assert qti_accepts(eq, key, key)
                assert qti_accepts(eq, key, key + sign * 0.99 * tol)
                assert not qti_accepts(eq, key, key + sign * 1.01 * tol)
            checked += 1
    return checked


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
            assert [a.get("fraction") for a in answers] == ["100"]
            value = answers[0].findtext("text", "")
            assert re.fullmatch(r"-?\d+\.\d+", value), value
            assert float(answers[0].findtext("tolerance", "")) > 0
            assert "NUMERICAL" not in text
        else:
            blanks = BLANK.findall(text)
            assert blanks, "a cloze question without blanks"
            assert len(blanks) == text.count(":NUMERICAL:")  # every blank is well formed
            assert all(int(w) >= 1 for w, _, _ in blanks)  # per-entry marks


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
        assert item.tag == f"{Q}assessmentItem"
        assert item.get("identifier") == res.get("identifier")
        assert NCNAME.match(item.get("identifier", ""))
        assert item.get("adaptive") == "false" and item.get("timeDependent") == "false"
        declared = {d.get("identifier"): d for d in item.iter(f"{Q}responseDeclaration")}
        for d in declared.values():
            assert d.get("cardinality") == "single" and d.get("baseType") == "float"
            float(d.findtext(f"{Q}correctResponse/{Q}value", ""))
        asked = [i.get("responseIdentifier") for i in item.iter(f"{Q}textEntryInteraction")]
        assert sorted(asked) == sorted(declared)
        scored = [
            e.find(f"{Q}variable").get("identifier")  # type: ignore[union-attr]
            for e in item.iter(f"{Q}equal")
        ]
        assert sorted(scored) == sorted(declared)
        outcomes = {
            d.get("identifier"): d.findtext(f"{Q}defaultValue/{Q}value")
            for d in item.iter(f"{Q}outcomeDeclaration")
        }
        assert outcomes == {"SCORE": "0", "MAXSCORE": str(len(declared))}


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
    assert BLANK.findall(matrix.findtext("questiontext/text", "")) == [
        ("1", "1.0", "0.00005"), ("1", "2.5", "0.00005"),
        ("1", "-3.25", "0.00005"), ("1", "0.0000001", "0.00000000005"),
    ]  # fmt: skip
    package = lms.qti_package(answers)
    assert_qti_rules(package)
    assert assert_tolerance_acceptance(xml, package) == 2 * (3 + 3 * 2 + 3 * 4 + 3)


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
    assert assert_tolerance_acceptance(outputs["moodle"], outputs["qti"]) > 100
    exported = {a.assignment for a in lms.collect(term_built)}
    with_numbers = {
        d.parent.parent.name
        for d in term_built.glob("*/variant-01/answers.json")
        if any(
            n["source"] == "computed" and n["part"] for n in json.loads(d.read_text())["numbers"]
        )
    }
    assert exported == with_numbers and exported <= set(registry.discover())
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
