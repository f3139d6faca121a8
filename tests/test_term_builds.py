"""Terms and variants through the whole pipeline: draws that are kept build and verify."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from answerkey import build as pipeline
from answerkey.printing import number
from answerkey.registry import discover
from answerkey.terms import load_term, new_term
from answerkey.verify import verify_assignment

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("variants")
    pipeline.build(
        ["practical-1"],
        ("tex", "md", "json"),
        "2026-winter",
        out,
        report=lambda _m: None,
        variants=3,
        terms_dir=ROOT / "terms",
    )
    return out / "2026-winter" / "practical-1"


def test_three_variants_have_three_different_traces(variants: Path) -> None:
    traces = [
        json.loads((variants / f"variant-0{k}" / "answers.json").read_text())["parts"]["2"]["trace"]
        for k in (1, 2, 3)
    ]
    assert traces[0] != traces[1] != traces[2] != traces[0]
    index = json.loads((variants / "variants.json").read_text())
    assert [v["variant"] for v in index["variants"]] == ["01", "02", "03"]
    assert len({v["parameter_hash"] for v in index["variants"]}) == 3


def test_each_variant_is_labelled_and_its_handout_holds_none_of_its_answers(
    variants: Path,
) -> None:
    for k in (1, 2, 3):
        d = variants / f"variant-0{k}"
        answers = json.loads((d / "answers.json").read_text())
        trace = answers["parts"]["2"]["trace"]
        for kind in ("key", "handout"):
            for ext in ("md", "tex"):
                assert f"variant: 0{k}" in (d / f"{kind}.{ext}").read_text()
        handout = (d / "handout.md").read_text() + (d / "handout.tex").read_text()
        key = (d / "key.md").read_text()
        assert "boxed" not in handout
        for row in trace:
            for value in (row["loss"], row["delta_out"], row["z_out"]):
                if abs(value) < 0.01:
                    continue  # 0.0000-like values also appear among the question's data
                printed = number(value)
                assert printed in key
                assert printed not in handout, f"variant {k} handout shows {printed}"


def test_the_same_seed_gives_the_same_term_file(tmp_path: Path) -> None:
    a = new_term("t1", 99, discover(), directory=tmp_path / "a")
    b = new_term("t1", 99, discover(), directory=tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()


def test_a_bad_term_file_is_refused_before_any_output(tmp_path: Path) -> None:
    term = tmp_path / "bad.toml"
    term.write_text('[practical-1.trace]\nlearning_rate = "fast"\n')
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "answerkey.cli", "build", "--term", str(term), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "practical-1.trace.learning_rate" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not any(out.rglob("*.pdf"))


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_every_kept_draw_builds_and_verifies(seed: int, tmp_path: Path) -> None:
    modules = discover()
    name = f"s{seed}"
    path = new_term(name, seed, modules, directory=tmp_path, overwrite=True)
    term = load_term(path, modules)
    module = modules["practical-1"]
    assignment = module.build(term.params["practical-1"])
    assert verify_assignment(assignment) > 0
    rows = assignment.parts()[3].data["trace"]
    assert len(rows) == 3 * len(term.params["practical-1"]["trace"]["samples"])
    assert re.fullmatch(r"s\d+", term.name)
