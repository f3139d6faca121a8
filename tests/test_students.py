"""The students' tree holds the handouts and their figures and nothing of the keys;
a roster hands each student a stable variant; shards merge into the same bytes.

The scan builds every assignment the registry discovers (no list here), once with
the term's own numbers in every format and once as variants, and looks in the
students' tree for anything of the keys: their files (by name and by bytes), the
computed numbers of the ledger (answers.json "numbers") that the handout does not
print, and the lines of a key that its handout does not have.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SharedProofs

from answerkey import cli, students
from answerkey.errors import UsageError
from answerkey.registry import discover

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent
TERMS = ROOT / "terms"
TERM = "2026-winter"
QUIET = {"report": lambda _m: None, "terms_dir": TERMS}
NUMBER = re.compile(r"(?<![\d.])-?\d+\.\d+(?![\d])")


# --- the scanner -----------------------------------------------------------------------


def text_of(path: Path) -> str:
    if path.suffix == ".pdf":
        if shutil.which("pdftotext") is None:
            pytest.skip("pdftotext (poppler-utils) is missing: cannot read the PDFs")
        out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
        return out.stdout.decode("utf-8", errors="replace")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":  # the head's numbers (0.2em, scale=1.0) are no one's answers
        text = re.sub(r"^.*?<body[^>]*>", "", text, flags=re.S)
    return text


def units(text: str) -> set[str]:
    """What a document says, line by line (and each TeX annotation of its MathML)."""
    lines = {line.strip() for line in text.splitlines()}
    lines |= set(re.findall(r'<annotation encoding="application/x-tex">(.*?)</annotation>', text))
    return {u for u in lines if len(u) >= 25}


def key_only_numbers(directory: Path) -> set[str]:
    """The ledger's computed numbers, at 1 to 4 decimals, that the handout does not print."""
    answers = json.loads((directory / "answers.json").read_text())
    handout = set(NUMBER.findall((directory / "handout.md").read_text()))
    key = set(NUMBER.findall((directory / "key.md").read_text()))
    printed: set[str] = set()
    for entry in answers["numbers"]:
        if entry["source"] == "given":
            continue
        for value in _flat(entry["value"]):
            for d in range(1, 5):
                printed.add(f"{value:.{d}f}")
    return (printed & key) - handout


def _flat(value: object) -> Iterator[float]:
    if isinstance(value, list):
        for v in value:
            yield from _flat(v)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield float(value)


def leaks(tree: Path, term_root: Path, source_of: dict[str, Path]) -> list[str]:
    """Everything of the keys found in the students' tree at `tree`. `source_of` maps a
    tree directory (relative) to the output directory it was taken from."""
    found = []
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        rel = path.relative_to(tree).as_posix()
        source = source_of[path.parent.relative_to(tree).as_posix()]
        own = {f.name for f in source.iterdir() if f.is_file()}
        key_files = {n for n in own if not n.startswith("handout.")}
        linked = set(re.findall(r"\]\(([^)]+\.svg)\)", (source / "handout.md").read_text()))
        key_files -= linked
        if path.name.startswith(("key.", ".")) or path.name in key_files:
            found.append(f"{rel}: a key's file")
        data = path.read_bytes()
        for name in sorted(key_files):
            if (source / name).read_bytes() == data:
                found.append(f"{rel}: the bytes of the key's {name}")
        if path.suffix == ".svg":
            continue
        text = text_of(path)
        numbers = set(NUMBER.findall(text))
        for n in sorted(key_only_numbers(source) & numbers):
            found.append(f"{rel}: the key's computed number {n}")
        handout = source / path.name
        key = source / path.name.replace("handout.", "key.")
        if handout.name.startswith("handout.") and key.is_file():
            secret = units(text_of(key)) - units(text_of(handout))
            for line in sorted(secret & units(text)):
                found.append(f"{rel}: the key's line {line[:60]!r}")
    return found


def sources(tree: Path, term_root: Path) -> dict[str, Path]:
    """Tree directory -> output directory, for a tree without a roster."""
    out = {}
    for d in sorted(p for p in tree.rglob("*") if p.is_dir()):
        rel = d.relative_to(tree).as_posix()
        if any(f.is_file() for f in d.iterdir()):
            out[rel] = term_root / rel
    return out


# --- the scan, over every assignment and variant ------------------------------------------


@pytest.fixture(scope="module")
def published(
    tmp_path_factory: pytest.TempPathFactory, shared_proofs: SharedProofs
) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("published")
    with shared_proofs(out):
        students.publish_term("default", None, ("tex", "md", "html", "pdf", "json"), out, **QUIET)
        students.publish_term(TERM, None, ("tex", "md", "html", "json"), out, variants=2, **QUIET)
    return {"out": out}


def test_the_students_tree_holds_every_assignments_handouts_and_nothing_of_the_keys(
    published: dict[str, Path],
) -> None:
    out = published["out"]
    ids = sorted(discover())
    for term, variants in (("default", [""]), (TERM, ["variant-01", "variant-02"])):
        tree = out / "students" / term
        for aid in ids:
            for v in variants:
                d = tree / aid / v
                assert {"handout.md", "handout.tex", "handout.html"} <= {
                    f.name for f in d.iterdir()
                }, f"{d} misses a handout"
                assert not list(d.glob("key.*")) and not (d / "answers.json").exists()
        assert leaks(tree, out / term, sources(tree, out / term)) == []
    assert (out / "students" / "default" / ids[0] / "handout.pdf").is_file()


def test_the_scanner_finds_a_key_put_in_the_tree(
    published: dict[str, Path], tmp_path: Path
) -> None:
    """A scan that could not fail would prove nothing: each kind of leak is found."""
    out = published["out"]
    term_root = out / TERM
    source = term_root / "practical-1" / "variant-01"
    for leak, expected in [
        (("key.md", "key.md"), "a key's file"),
        (("key.md", "handout.md"), "the bytes of the key's key.md"),
        (("loss-curve.svg", "loss-curve.svg"), "a key's file"),
    ]:
        tree = tmp_path / leak[1]
        shutil.copytree(out / "students" / TERM, tree)
        shutil.copy(source / leak[0], tree / "practical-1" / "variant-01" / leak[1])
        assert any(expected in f for f in leaks(tree, term_root, sources(tree, term_root)))
    # one computed number, or one derivation line, of the key inside the handout
    tree = tmp_path / "edited"
    shutil.copytree(out / "students" / TERM, tree)
    handout = tree / "practical-1" / "variant-01" / "handout.tex"
    secret = sorted(units(text_of(source / "key.tex")) - units(text_of(source / "handout.tex")))
    number = sorted(key_only_numbers(source))[0]
    handout.write_text(handout.read_text() + f"\n{secret[0]}\n{number}\n")
    found = leaks(tree, term_root, sources(tree, term_root))
    assert any("the key's line" in f for f in found)
    assert any(f"computed number {number}" in f for f in found)


def test_the_zip_holds_the_tree_byte_for_byte_and_is_reproducible(
    published: dict[str, Path],
) -> None:
    out = published["out"]
    tree = out / "students" / TERM
    data = (out / "students" / f"{TERM}.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert names == sorted(names)
        assert {n: z.read(n) for n in names} == {
            p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*") if p.is_file()
        }
        assert {i.date_time for i in z.infolist()} == {students.ZIP_TIME}
    files = {p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    assert students.zip_bytes(dict(reversed(files.items()))) == data


def test_a_variants_handout_names_the_variant_in_its_footer(published: dict[str, Path]) -> None:
    d = published["out"] / "students" / TERM / "practical-1" / "variant-02"
    for name in ("handout.md", "handout.tex"):
        tail = d.joinpath(name).read_text().strip().splitlines()[-3:]
        assert any("Variant 02 of practical-1" in line for line in tail), tail
    base = published["out"] / "students" / "default" / "practical-1" / "handout.md"
    assert "quote this line" not in base.read_text()


# --- a roster -------------------------------------------------------------------------------


ODD_ID = "a_b-c.d-e..9"  # every character an id may have that a format escapes


def test_each_students_handout_names_them_in_its_footer_in_every_format(tmp_path: Path) -> None:
    """The text formats, made by putting the id into a handout rendered once per variant,
    are byte for byte a render for that student; the HTML and PDF name them too."""
    from dataclasses import replace

    from answerkey import build as pipeline
    from answerkey.roster import Student
    from answerkey.terms import load_term

    found = discover()
    module = found[sorted(found)[0]]
    term = load_term(TERM, found, TERMS)
    own, job = pipeline.plan([module], term, tmp_path, 1)  # the term's own, variant 01
    assert (own.meta.variant, job.meta.variant) == ("", "01")
    pupil = Student(ODD_ID, "", "", 1, False, 2)
    formats = ("tex", "md", "html", "pdf")
    mine = students.personal_handouts({(module.id, 1): job}, [pupil], formats, tmp_path, 1)
    files = mine[(ODD_ID, module.id)]
    assert sorted(files) == ["handout.html", "handout.md", "handout.pdf", "handout.tex"]
    direct = pipeline.outputs(
        pipeline.built(module, job.params),
        ("tex", "md"),
        replace(job.meta, student=ODD_ID),
        tmp_path / "logs",
        ("handout",),
    )
    assert files["handout.tex"] == direct["handout.tex"]
    assert files["handout.md"] == direct["handout.md"]
    for name in ("handout.tex", "handout.md", "handout.html"):
        assert students.STUDENT_MARK.encode() not in files[name]
    assert f"Variant 01 of {module.id}".encode() in files["handout.html"]
    assert f"for student {ODD_ID}:".encode() in files["handout.html"]
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(files["handout.pdf"])).pages)
    assert "for student" in text and "e..9" in text
    assert students.STUDENT_MARK not in text


def test_the_pool_is_the_term_files(tmp_path: Path) -> None:
    """A term file's `pool` fixes the variants a roster spreads students over;
    --variants may repeat it, and anything else is refused, naming the file."""
    from answerkey.terms import load_term

    (tmp_path / "t.toml").write_text("seed = 7\npool = 3\n")
    term = load_term("t", discover(), tmp_path)
    assert students.roster_pool(term, 0) == students.roster_pool(term, 3) == 3
    with pytest.raises(UsageError) as e:
        students.roster_pool(term, 4)
    assert str(e.value).startswith(f"{tmp_path / 't.toml'}: pool = 3, but --variants 4 was given")
    assert "\n" not in str(e.value)
    (tmp_path / "u.toml").write_text("seed = 7\n")
    loose = load_term("u", discover(), tmp_path)
    assert students.roster_pool(loose, 0) == students.DEFAULT_POOL
    assert students.roster_pool(loose, 5) == 5


def write_roster(path: Path, ids: list[str], overrides: dict[str, int] | None = None) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Matrikel", "Name", "Mail", "Neu"])
        for i in ids:
            w.writerow([i, f"Student {i}", f"{i}@uni.example", (overrides or {}).get(i, "")])
    return path


COLUMNS = students.Columns("Matrikel", "Name", "Mail", "Neu")
IDS = [f"s{i:04d}" for i in range(1, 301)]
POOL = 3  # few variants, so that 300 students build in seconds


def index_rows(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (out / TERM / students.INDEX_NAME).open(newline="") as f:
        return {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def class_of_300(
    tmp_path_factory: pytest.TempPathFactory, shared_proofs: SharedProofs
) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("roster")
    roster = write_roster(base / "roster.csv", IDS, {"s0007": 5})
    out = base / "out"
    kwargs = {"roster": roster, "columns": COLUMNS, "variants": POOL, **QUIET}
    with shared_proofs(out):
        students.publish_term(TERM, None, ("md", "json"), out, **kwargs)
    return {"base": base, "roster": roster, "out": out}


def test_a_roster_of_300_gives_each_student_their_variants_handouts(
    class_of_300: dict[str, Path],
) -> None:
    out = class_of_300["out"]
    rows = index_rows(out)
    ids = sorted(discover())
    assert set(rows) == {(s, a) for s in IDS for a in ids}
    assert {r["variant"] for r in rows.values()} == {"01", "02", "03", "05"}
    assert rows[("s0007", ids[0])]["variant"] == "05" and rows[("s0007", ids[0])]["overridden"]
    for (sid, aid), row in rows.items():
        for path, digest in zip(row["files"].split(), row["sha256"].split(), strict=True):
            assert path.startswith(f"{sid}/{aid}/")
            data = (out / "students" / TERM / path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest
        # the variant's handout, with the student named in its footer
        source = out / TERM / aid / f"variant-{row['variant']}" / "handout.md"
        assert (out / "students" / TERM / sid / aid / "handout.md").read_bytes() == (
            source.read_bytes().replace(
                b": quote this line", f" for student {sid}: quote this line".encode()
            )
        )
    tree = out / "students" / TERM
    source_of = {
        f"{s}/{a}": out / TERM / a / f"variant-{r['variant']}" for (s, a), r in rows.items()
    }
    assert leaks(tree, out / TERM, source_of) == []
    manifest = json.loads((out / TERM / "MANIFEST.json").read_text())
    assert students.INDEX_NAME in manifest["files"]


def test_adding_a_student_leaves_the_other_300_unchanged(class_of_300: dict[str, Path]) -> None:
    base, out = class_of_300["base"], class_of_300["out"]
    before = index_rows(out)
    roster = write_roster(base / "plus-one.csv", [*IDS[:100], "s9999", *IDS[100:]], {"s0007": 5})
    kwargs = {"roster": roster, "columns": COLUMNS, "variants": POOL, **QUIET}
    students.publish_term(TERM, None, ("md", "json"), out, **kwargs)
    after = index_rows(out)
    assert {k: v for k, v in after.items() if k[0] != "s9999"} == before
    assert len(after) == len(before) + len(discover())
    students.publish_term(
        TERM, None, ("md", "json"), out, **{**kwargs, "roster": class_of_300["roster"]}
    )
    assert index_rows(out) == before
    assert not (out / "students" / TERM / "s9999").exists()


def test_show_variant_rebuilds_exactly_what_one_student_was_handed(
    class_of_300: dict[str, Path], tmp_path: Path
) -> None:
    out, roster = class_of_300["out"], class_of_300["roster"]
    target, differ = students.show_variant(
        TERM,
        "s0007",
        roster,
        columns=COLUMNS,
        variants=POOL,
        formats=("md", "json"),
        out_root=out,
        to=tmp_path / "s0007",
        **QUIET,
    )
    assert differ == []
    handed = out / "students" / TERM / "s0007"
    assert {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()} == {
        p.relative_to(handed): p.read_bytes() for p in handed.rglob("*") if p.is_file()
    }
    with pytest.raises(UsageError, match="no student with id 'nobody'"):
        students.show_variant(TERM, "nobody", roster, columns=COLUMNS, variants=POOL, **QUIET)


def test_shards_built_apart_merge_into_the_bytes_of_one_build(
    class_of_300: dict[str, Path], shared_proofs: SharedProofs
) -> None:
    base, single = class_of_300["base"], class_of_300["out"]
    roster = class_of_300["roster"]
    kwargs = {"roster": roster, "columns": COLUMNS, "variants": POOL, **QUIET}
    merged = base / "merged"
    n = 2
    for k in range(1, n + 1):
        shard = base / f"shard-{k}"
        with shared_proofs(shard):  # what the single build proved: shards test the slicing
            students.publish_term(TERM, None, ("md", "json"), shard, shard=(k, n), **kwargs)
        assert not (shard / "students").exists() and not (shard / TERM / "MANIFEST.json").exists()
        shutil.copytree(shard / TERM, merged / TERM, dirs_exist_ok=True)
    # the merge job gathers the slices (as artefacts, without the proof cache) and builds nothing
    students.publish_term(TERM, None, ("md", "json"), merged, merge=True, **kwargs)

    def everything(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and not any(s.startswith(".") for s in p.relative_to(root).parts)
        }

    for rel in (f"students/{TERM}", TERM):
        assert everything(merged / rel) == everything(single / rel), rel
    assert (merged / "students" / f"{TERM}.zip").read_bytes() == (
        single / "students" / f"{TERM}.zip"
    ).read_bytes()


def test_a_merge_with_a_shard_missing_is_refused_naming_it(
    class_of_300: dict[str, Path],
) -> None:
    base = class_of_300["base"]
    lone = base / "lone"
    shutil.copytree(base / "shard-1" / TERM, lone / TERM)
    kwargs = {"roster": class_of_300["roster"], "columns": COLUMNS, "variants": POOL, **QUIET}
    with pytest.raises(UsageError, match=r"missing or stale, the first .*: build every shard"):
        students.publish_term(TERM, None, ("md", "json"), lone, merge=True, **kwargs)
    assert not (lone / "students").exists()


def test_the_shard_option_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert students.parse_shard("2/8") == (2, 8)
    for bad in ("0/3", "4/3", "a/b", "3"):
        with pytest.raises(UsageError, match="--shard: expected K/N"):
            students.parse_shard(bad)
    assert cli.main(["publish", TERM, "--shard", "2/1"]) == 2
    assert "--shard: expected K/N" in capsys.readouterr().err
    assert cli.main(["publish", TERM, "--format", "json"]) == 2
    assert "needs one of tex, md, html, pdf" in capsys.readouterr().err


def _everything(root: Path) -> dict[str, bytes]:
    """Every visible file under `root` with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(s.startswith(".") for s in p.relative_to(root).parts)
    }


def test_shards_typeset_their_students_html_and_pdf_and_the_merge_only_gathers(
    tmp_path: Path, shared_proofs: SharedProofs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each shard typesets the HTML and PDF handouts of the students whose variants it
    built; the merge typesets nothing (pandoc and TeX refuse to run) and writes the
    bytes one build writes; a typeset handout missing from the gathered slices is
    refused, naming the student, and nothing is written. A publish drops the stored
    handouts of its assignments that its tree does not use."""
    from answerkey import build as pipeline
    from answerkey import pdf

    aid = sorted(discover())[0]
    roster = write_roster(tmp_path / "r.csv", [f"s{i:04d}" for i in range(1, 7)])
    kwargs = {"roster": roster, "columns": COLUMNS, "variants": POOL, **QUIET}
    formats = ("md", "html", "pdf")
    single = tmp_path / "single"
    with shared_proofs(single):
        students.publish_term(TERM, [aid], formats, single, **kwargs)
    merged = tmp_path / "merged"
    stores = []
    for k in (1, 2):
        shard = tmp_path / f"shard-{k}"
        with shared_proofs(shard):
            students.publish_term(TERM, [aid], formats, shard, shard=(k, 2), **kwargs)
        assert not (shard / "students").exists()
        stores.append({p.name for p in (shard / TERM / students.HANDOUT_STORE / aid).glob("*")})
        shutil.copytree(shard / TERM, merged / TERM, dirs_exist_ok=True)
    assert not stores[0] & stores[1] and len(stores[0] | stores[1]) == 6 * 2
    lone = tmp_path / "lone"
    shutil.copytree(merged / TERM, lone / TERM)

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the merge typeset a handout")

    for module, name in ((students, "_typeset_all"), (pipeline, "_typeset"), (pdf, "pandoc")):
        monkeypatch.setattr(module, name, refuse)
    # what an earlier roster left in the store: dropped, another assignment's kept
    stale, other = (merged / TERM / students.HANDOUT_STORE / a / "0.pdf" for a in (aid, "x"))
    for path in (stale, other):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%PDF")
    students.publish_term(TERM, [aid], formats, merged, merge=True, **kwargs)
    assert not stale.exists() and other.exists()
    other.unlink()
    for rel in (f"students/{TERM}", TERM):
        assert _everything(merged / rel) == _everything(single / rel), rel
    handed = _everything(merged / "students" / TERM)
    assert sum(p.endswith(("handout.html", "handout.pdf")) for p in handed) == 6 * 2
    # one student's typeset handout missing from the slices: refused, nothing written
    store = lone / TERM / students.HANDOUT_STORE / aid
    sorted(store.glob("*.pdf"))[0].unlink()
    with pytest.raises(UsageError, match=rf"no typeset handout\.pdf of {aid} variant \d+ for "):
        students.publish_term(TERM, [aid], formats, lone, merge=True, **kwargs)
    assert not (lone / "students").exists() and not (lone / TERM / students.INDEX_NAME).exists()
