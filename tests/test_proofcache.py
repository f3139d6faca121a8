"""The proof cache: what is proved once is not proved again, and nothing else is served.

Each input a verdict depends on (a step, an instance, the oracle and what it
calls, a numeric check's captured values, the engine) must change the key; a
comment or the git revision must not. A changed step is never served from the
cache, so the mutation tests still bite; a corrupt entry is rebuilt.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy as sp

import answerkey.build as pipeline
import solutions.cv_assignment9 as cv
from answerkey import cache, errata, proofcache
from answerkey.errors import VerificationError
from answerkey.mathfns import D
from answerkey.model import CheckRecord, Derivation, Instance, Part, Step, text
from answerkey.verify import verify_part

ROOT = Path(__file__).resolve().parent.parent
x = sp.Symbol("x", real=True)
f = sp.Symbol("f")


def _cube(value: float) -> float:
    return value**3


def cube_oracle(vals: Any) -> float:
    return _cube(vals["x"].item())


def derivation(*steps: Any, defs: Any = None, oracle: Any = cube_oracle) -> Derivation:
    return Derivation(
        D(f, x),
        tuple(Step(s, text("because")) for s in (steps or (3 * x**2,))),
        (Instance(defs=defs or {f: x**3}, label="scalar"),),
        oracle=oracle,
    )


def part_of(*derivations: Derivation, pid: str = "q", **kw: Any) -> Part:
    return Part(pid, "a test part", [text("Question.")], list(derivations), **kw)


@pytest.fixture
def proofs(tmp_path: Path) -> Iterator[Path]:
    """A fresh cache for this test; its proofs' directory."""
    with proofcache.using(tmp_path / "cache"):
        yield tmp_path / "cache" / "proofs"


def run(part: Part) -> tuple[list[CheckRecord], proofcache.Tally]:
    with proofcache.tally() as counts:
        records = verify_part("demo", part)
    return records, counts


def entries(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("."))


# --- hits ----------------------------------------------------------------------------


def test_a_second_verification_is_served_from_the_cache_with_the_same_records(
    proofs: Path,
) -> None:
    first, counts = run(part_of(derivation()))
    assert (counts.hits, counts.misses) == (0, 1)
    assert len(entries(proofs)) == 1
    again, counts = run(part_of(derivation()))  # equal content, new objects
    assert (counts.hits, counts.misses) == (1, 0)
    assert again == first
    with proofcache.using(None):
        assert verify_part("demo", part_of(derivation())) == first


def test_a_hit_leaves_the_random_points_where_a_proof_would_have(tmp_path: Path) -> None:
    # the second derivation of a part sees the same points whether or not the
    # first came from the cache, so a key is byte-identical either way
    one, two = derivation(), derivation(2 * x, defs={f: x**2}, oracle=None)
    cold = verify_part("demo", part_of(one, two))
    with proofcache.using(tmp_path / "proofs"):
        run(part_of(one))  # only the first one cached
        warm, counts = run(part_of(one, two))
    assert (counts.hits, counts.misses) == (1, 1)
    assert warm == cold


def test_the_git_revision_and_provenance_are_no_part_of_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cv_only_registry: None
) -> None:
    lines: list[str] = []

    def build() -> None:
        cache.git_revision.cache_clear()
        pipeline.build(
            ["cv-assignment9"],
            ("md",),
            out_root=tmp_path / "out",
            report=lambda _m: None,
            verbose=lines.append,
            workers=1,
        )

    monkeypatch.setenv("ANSWERKEY_REVISION", "aaaaaaaaaaaa")
    build()
    monkeypatch.setenv("ANSWERKEY_REVISION", "bbbbbbbbbbbb")
    lines.clear()
    build()
    cache.git_revision.cache_clear()
    assert any("stale default/cv-assignment9: title" in line for line in lines)  # rebuilt ...
    verified = [line for line in lines if line.startswith("verified")]
    assert len(verified) == len(cv.build({}).parts())
    for line in verified:  # ... but nothing proved again
        done, total = line.split("(")[-1].split(" proofs")[0].split(" of ")
        assert done == total, line
    assert "revision bbbbbbbbbbbb" in (tmp_path / "out/default/cv-assignment9/key.md").read_text()


# --- misses: every input of a verdict is in its key -----------------------------------


def key(subject: Any) -> str:
    return proofcache.entry_key(subject, np.random.default_rng(1))


def test_a_changed_step_misses_the_cache() -> None:
    assert key(derivation(3 * x**2)) != key(derivation(3 * x * x * 1.0))
    assert key(derivation(3 * x**2)) != key(derivation(3 * x**2, 3 * x**2))


def test_a_changed_instance_misses_the_cache() -> None:
    base = derivation()
    inst = base.instances[0]
    for changed in (
        dataclasses.replace(inst, label="other"),
        dataclasses.replace(inst, domain={"x": (0.0, 1.0)}),
        dataclasses.replace(inst, prove=False),
        dataclasses.replace(inst, defs={f: x**3 + 1}),
        dataclasses.replace(inst, given={"x": sp.Integer(1)}),
    ):
        assert key(dataclasses.replace(base, instances=(changed,))) != key(base), changed
    assert key(dataclasses.replace(base, instances=(inst, inst))) != key(base)


def test_a_changed_oracle_or_a_function_it_calls_misses_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = key(derivation())
    assert key(derivation(oracle=lambda vals: vals["x"].item() ** 3)) != base
    assert key(derivation(oracle=None)) != base
    monkeypatch.setitem(globals(), "_cube", lambda value: value**3 + 1e-9)
    assert key(derivation()) != base
    monkeypatch.undo()
    assert key(derivation()) == base


def test_a_changed_value_a_numeric_check_captures_misses_the_cache() -> None:
    def check_for(limit: float) -> Any:
        data = np.array([0.25, 0.5])
        return lambda: [CheckRecord("numeric", "x", f"{(data < limit).all()}")]

    one = part_of(numeric_checks=[check_for(1.0)])
    assert key(("part checks", one)) == key(
        ("part checks", part_of(numeric_checks=[check_for(1.0)]))
    )
    assert key(("part checks", one)) != key(
        ("part checks", part_of(numeric_checks=[check_for(0.4)]))
    )
    assert key(("part checks", one)) != key(
        ("part checks", part_of(pid="r", numeric_checks=[check_for(1.0)]))
    )


def test_a_new_engine_misses_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    base = key(derivation())
    monkeypatch.setattr(proofcache, "engine_version", lambda: "another engine")
    assert key(derivation()) != base


def test_the_random_state_is_part_of_the_key() -> None:
    subject = derivation()
    assert proofcache.entry_key(subject, np.random.default_rng(1)) != proofcache.entry_key(
        subject, np.random.default_rng(2)
    )


def test_code_is_read_by_its_bytecode_so_a_comment_does_not_count() -> None:
    def compiled(source: str) -> Any:
        scope: dict[str, Any] = {"__name__": "solutions.scratch"}
        exec(compile(source, "scratch.py", "exec"), scope)
        return scope["g"]

    plain = compiled("def g(v):\n    return v['x'] ** 3\n")
    commented = compiled("\n\n# why\ndef g(v):\n    # cubed\n    return v['x'] ** 3  # here\n")
    other = compiled("def g(v):\n    return v['x'] ** 2\n")
    assert proofcache.content_digest(plain) == proofcache.content_digest(commented)
    assert proofcache.content_digest(plain) != proofcache.content_digest(other)


def test_a_key_is_the_same_in_every_process() -> None:
    program = (
        "import solutions.cv_assignment9 as cv, solutions.practical_1 as p1\n"
        "from answerkey.proofcache import content_digest\n"
        "a, b = cv.build({}), p1.build(p1.PARAMETERS)\n"
        "print(content_digest([(p, p.derivations) for p in a.parts() + b.parts()]))\n"
    )
    digests = set()
    for seed in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-c", program],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(proc.stdout.strip())
    assert len(digests) == 1


def test_what_the_digest_cannot_read_is_checked_every_time(proofs: Path) -> None:
    class Opaque:
        pass

    thing = Opaque()
    part = part_of(numeric_checks=[lambda: [CheckRecord("numeric", repr(thing)[:0], "ok")]])
    for _ in range(2):
        _, counts = run(part)
        assert counts.uncacheable == 1 and counts.hits == 0
    assert entries(proofs) == []


# --- the cache never vouches for what is wrong --------------------------------------


def test_a_corrupted_step_is_refused_although_the_true_one_is_cached(proofs: Path) -> None:
    part = cv.part_4()
    run(part)
    d = part.derivations[0]
    wrong_step = dataclasses.replace(d.steps[-1], expr=2 * d.steps[-1].expr)
    wrong = dataclasses.replace(d, steps=(*d.steps[:-1], wrong_step))
    with pytest.raises(VerificationError, match="part 4"):
        verify_part("cv-assignment9", dataclasses.replace(part, derivations=[wrong]))
    _, counts = run(part)  # the derivation (and the part's checks of its prose) from the cache
    assert counts.hits >= 1 and counts.misses == 0


def test_a_failure_is_not_stored(proofs: Path) -> None:
    wrong = derivation(2 * x)
    for _ in range(2):
        with pytest.raises(VerificationError):
            verify_part("demo", part_of(wrong))
    assert entries(proofs) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_text("{not json"),
        lambda p: p.write_text(json.dumps({"version": 1, "records": [["a", "b"]], "rng": None})),
        lambda p: p.write_text(json.dumps({"version": 1, "records": [], "rng": {"x": 1}})),
        lambda p: p.write_bytes(b"\xff\x00"),
        lambda p: p.write_text(""),
    ],
)
def test_a_corrupt_entry_is_ignored_and_written_again(proofs: Path, damage: Any) -> None:
    first, _ = run(part_of(derivation()))
    (entry,) = entries(proofs)
    damage(entry)
    again, counts = run(part_of(derivation()))
    assert again == first
    assert counts.misses == 1
    _, counts = run(part_of(derivation()))
    assert counts.hits == 1


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with proofcache.using(blocked / "cache"):
        records, counts = run(part_of(derivation()))
    assert records and counts.misses == 1


# --- the errata's verdicts ------------------------------------------------------------


def test_the_errata_are_judged_once_per_content_of_the_key_and_the_claims_file(
    proofs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import answerkey.claims as claims

    judged: list[int] = []
    real = claims.errata_for

    def counting(assignment: Any, original: bool) -> Any:
        judged.append(1)
        return real(assignment, original)

    monkeypatch.setattr(claims, "errata_for", counting)
    claims_dir = tmp_path / "claims"
    shutil.copytree(claims.CLAIMS_DIR, claims_dir)
    monkeypatch.setattr(claims, "CLAIMS_DIR", claims_dir)

    def as_json() -> list[Any]:
        return [e.to_json() for e in errata.judged(cv.build({}), True)]

    first = as_json()
    assert as_json() == first and len(judged) == 1  # from the cache
    toml = claims_dir / "cv-assignment9.toml"
    toml.write_text(toml.read_text() + "\n# a note\n")
    assert as_json() == first and len(judged) == 2  # the claims file changed
    for entry in entries(proofs.parent / "verdicts"):
        entry.write_bytes(b"not an entry")
    assert as_json() == first and len(judged) == 3  # corrupt: judged again
    other = cv.build({})
    part = other.parts()[-1]
    part.derivations = part.derivations[:1]
    errata.judged(other, True)
    assert len(judged) == 4  # the key changed


# --- rendered outputs ---------------------------------------------------------------


def test_a_rendered_output_is_made_once_per_source_and_a_corrupt_one_again(proofs: Path) -> None:
    made: list[str] = []

    def make(source: str) -> bytes:
        made.append(source)
        return f"%PDF of {source}".encode()

    assert proofcache.rendered(("pdf", "a"), lambda: make("a")) == b"%PDF of a"
    assert proofcache.rendered(("pdf", "a"), lambda: make("a")) == b"%PDF of a"
    assert made == ["a"]
    assert proofcache.rendered(("pdf", "b"), lambda: make("b")) == b"%PDF of b"
    assert made == ["a", "b"]
    for entry in (proofs.parent / "outputs").rglob("*"):
        if entry.is_file():
            entry.write_bytes(entry.read_bytes()[:-3])  # cut short
    assert proofcache.rendered(("pdf", "a"), lambda: make("a")) == b"%PDF of a"
    assert made == ["a", "b", "a"]
    with proofcache.using(None):
        proofcache.rendered(("pdf", "a"), lambda: make("a"))
    assert made == ["a", "b", "a", "a"]


def test_an_engine_closure_is_read_by_what_it_captured_and_generated_code_by_its_code() -> None:
    def made_by_the_engine(power: int) -> Any:
        scope: dict[str, Any] = {"__name__": "answerkey.kit.fake"}
        exec("def make(p):\n    return lambda v: v ** p\n", scope)
        return scope["make"](power)

    square, cube = made_by_the_engine(2), made_by_the_engine(3)
    assert square.__module__ == "answerkey.kit.fake"
    assert proofcache.content_digest(square) == proofcache.content_digest(made_by_the_engine(2))
    assert proofcache.content_digest(square) != proofcache.content_digest(cube)
    lam2, lam3 = sp.lambdify(x, x**2, "numpy"), sp.lambdify(x, x**3, "numpy")
    assert proofcache.content_digest(lam2) != proofcache.content_digest(lam3)


def test_an_expressions_text_is_read_once_and_is_the_same_after() -> None:
    u = sp.Dummy("u")
    e = sp.exp(u) + cv.x[0, 0]
    first = proofcache.content_digest(e)
    assert proofcache.content_digest(e) == first  # from the remembered text
    assert proofcache.content_digest(sp.exp(u) + cv.x[1, 0]) != first
    # Dummies are numbered in order of appearance
    assert proofcache.content_digest(sp.exp(sp.Dummy("u")) + cv.x[0, 0]) == first


def test_a_librarys_new_version_misses_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that calls a library (NumPy's norm here) is keyed by the library's version:
    after an upgrade it is checked again, not served the old library's verdict."""

    def check() -> float:
        return float(np.linalg.norm([3.0, 4.0]))

    before = proofcache.content_digest(check)
    monkeypatch.setattr(np, "__version__", "0.0-another")
    assert proofcache.content_digest(check) != before
