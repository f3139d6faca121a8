"""Every exercise in solutions/, whichever they are: built, verified and rendered.

The modules are found the way `answerkey build` finds them (`registry.discover`),
so a new exercise is tested the moment its file exists, and no test names the
set of assignments. Each one is built through the real pipeline at its default
numbers (every format but HTML; the PDF where pdflatex is installed) and, when
it has `draw`, at a few variants drawn from a seeded term.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SharedProofs

import answerkey.build as pipeline
from answerkey import registry

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

MODULES = registry.discover()
DRAWN = sorted(k for k, m in MODULES.items() if m.draw is not None)
VARIANTS = 3
FORMATS = ("json", "tex", "md", *(("pdf",) if shutil.which("pdflatex") else ()))


def _build(
    assignment_id: str,
    tmp_path: Path,
    term: str,
    formats: tuple[str, ...],
    shared_proofs: SharedProofs,
    variants: int = 0,
) -> Path:
    """A cold build (it proves everything itself); what it proved goes to later tests."""
    terms = tmp_path / "terms"
    terms.mkdir(exist_ok=True)
    (terms / "drawn.toml").write_text('course = "Tests"\nlabel = "Drawn"\nseed = 12\n')
    with shared_proofs(tmp_path / "out", cold=True):
        pipeline.build(
            [assignment_id],
            formats,
            term,
            tmp_path / "out",
            report=lambda _m: None,
            terms_dir=terms,
            variants=variants,
            workers=1,
        )
    return tmp_path / "out" / term / assignment_id


def test_the_solutions_package_holds_exercises() -> None:
    assert MODULES, "registry.discover() found no exercise in solutions/"


@pytest.mark.parametrize("assignment_id", sorted(MODULES))
def test_it_builds_and_verifies_at_its_default_numbers(
    assignment_id: str, tmp_path: Path, shared_proofs: SharedProofs
) -> None:
    directory = _build(assignment_id, tmp_path, "default", FORMATS, shared_proofs)
    answers = json.loads((directory / "answers.json").read_text())
    assert answers["assignment"] == assignment_id
    assert answers["checks_passed"] > 0
    for kind in ("key", "handout"):
        assert (directory / f"{kind}.tex").read_text().strip()
        if "pdf" in FORMATS:
            assert (directory / f"{kind}.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("assignment_id", DRAWN)
def test_it_builds_and_verifies_at_seeded_draws(
    assignment_id: str, tmp_path: Path, shared_proofs: SharedProofs
) -> None:
    directory = _build(assignment_id, tmp_path, "drawn", ("json",), shared_proofs, VARIANTS)
    index = json.loads((directory / "variants.json").read_text())["variants"]
    assert len(index) == VARIANTS
    assert len({v["parameter_hash"] for v in index}) == VARIANTS, "the draws repeat"
    for v in index:
        answers = json.loads((directory / v["directory"] / "answers.json").read_text())
        assert answers["checks_passed"] > 0
