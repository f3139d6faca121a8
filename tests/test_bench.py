"""The bench machinery on a tiny case: one assignment, one variant."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from answerkey import bench

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex")
def test_bench_measures_and_reports_on_a_tiny_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    # relative, as `make bench` gives it (the edit scenario builds in another directory)
    scratch = os.path.relpath(tmp_path / "scratch")
    args = ["--variants", "1", "--repeat", "1", "--out", scratch, "--json", str(out)]
    code = bench.main([*args, "--students", "2", "--edit", "practical-1", "practical-1"])
    assert code == 0
    text = capsys.readouterr().out
    # one variant and the term's own key beside it: key and handout of each
    names = ("cold build, default term", "1 variants (4 PDFs)", "no-op rebuild")
    for name in (*names, "comment edit, one rebuilt"):
        assert name in text
    body = json.loads(out.read_text())
    rows = {r["name"]: r for r in body["rows"]}
    assert len(rows) == 6
    # a class of two graded, against 40 answers/s and against check --claims
    assert "grade vs check --claims -j 1" in rows
    assert any(name.startswith("grade ") and "distinct answers" in name for name in rows)
    assert len(samples_of(body, "grade")) == 1
    for r in rows.values():
        assert r["ours"] > 0 and r["floor"] > 0
        assert r["ratio"] == pytest.approx(r["ours"] / r["floor"])
        assert r["pass"] == (r["ratio"] <= r["target"])
    # the floor really ran pdflatex over key and handout .tex of the build
    assert len(bench.produced_tex(tmp_path / "scratch" / "cold-1")) == 2
    # every figure is kept as a sample (medians of repeated ones: the next test)
    samples = body["samples"]
    assert [len(samples[k]) for k in ("cold", "no-op", "cold floor")] == [1, 1, 1]
    cold = rows["cold build, default term"]
    assert (cold["ours"], cold["floor"]) == (samples["cold"][0], samples["cold floor"][0])
    # the edit scenario rebuilt a scratch copy after a comment
    assert [len(samples[k]) for k in ("edit", "edit floor")] == [1, 1]
    edited = tmp_path / "scratch" / "edit" / "project" / "solutions" / "practical_1.py"
    assert edited.read_text().count("# an author's note, edit") == 1
    assert "an author's note" not in (ROOT / "solutions" / "practical_1.py").read_text()
    assert body["machine"]["load_average_before"] is not None
    assert body["versions"]["tex"]


def test_each_repeated_figure_is_the_median_of_its_samples_all_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # medians unlike the mean, the first, the last, the least or the most of the samples
    builds = iter([8.0, 1.0, 2.0, 3.0, 0.9, 0.1, 0.2, 0.3])  # four cold builds, four no-ops
    floors = iter([4.0, 0.5, 1.0, 1.5])
    monkeypatch.setattr(bench, "run_build", lambda args, cwd=None: next(builds))
    monkeypatch.setattr(bench, "floor", lambda texs, parallel=2: next(floors))
    samples: dict[str, list[float]] = {}
    quiet = {"say": lambda _m: None, "edit": None, "students": 0, "variants": 0}
    rows = bench.measure(tmp_path / "b", repeat=4, samples=samples, **quiet)
    assert samples["cold"] == [8.0, 1.0, 2.0, 3.0] and samples["no-op"] == [0.9, 0.1, 0.2, 0.3]
    assert samples["cold floor"] == [4.0, 0.5, 1.0, 1.5]
    cold, noop = rows
    assert (cold.ours, cold.floor, cold.ratio) == (2.5, 1.25, 2.0)
    assert (noop.ours, noop.floor) == (0.25, 2.5) and noop.ratio == pytest.approx(0.1)
    assert [r.ok for r in rows] == [True, False]  # 2x against 2.5x; 10% against 5%


def samples_of(body: dict, name: str) -> list[float]:
    return list(body["samples"][name])


def test_a_class_to_grade_repeats_answers_as_a_class_does() -> None:
    assignment, rows = bench.class_answers(200)
    parts = {part for _, part, _ in rows}
    assert len(rows) == 200 * len(parts) and len({r[0] for r in rows}) == 200
    assert 100 < len({(part, answer) for _, part, answer in rows}) < len(rows) / 2
    assert assignment


def test_the_table_says_fail_when_a_target_is_missed() -> None:
    rows = [
        bench.Row("cold", 9.0, 1.0, 9.0, 3.0, "floor"),
        bench.Row("noop", 0.1, 10, 0.01, 0.05, "cold build"),
    ]
    text = bench.table(rows)
    assert "9.00x" in text and "FAIL" in text and "pass" in text and "1.0%" in text


def test_repeat_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.main(["--repeat", "0"])
    assert exc.value.code == 2
    assert "--repeat must be >= 1, got 0" in capsys.readouterr().err
