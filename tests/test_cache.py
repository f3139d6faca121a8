"""cache.py: the digests and stamps that decide what a build may skip."""

from __future__ import annotations

import json
import os
from pathlib import Path

import solutions.practical_1 as practical_1
from answerkey import cache


def test_module_files_follow_the_solutions_a_module_imports() -> None:
    names = [p.name for p in cache.module_files(practical_1)]
    assert names[0] == "practical_1.py"
    assert "_practical_1_draw.py" in names


def test_files_digest_sees_names_and_contents(tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    a.write_text("one")
    first = cache.files_digest([a])
    a.write_text("two")
    assert cache.files_digest([a]) != first
    second = cache.files_digest([a])
    b = tmp_path / "b.txt"
    a.rename(b)
    assert cache.files_digest([b]) != second  # same bytes, another name


def test_a_stamp_is_fresh_only_with_the_same_inputs_and_the_same_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    directory = out / "term" / "assignment"
    directory.mkdir(parents=True)
    (directory / "key.md").write_bytes(b"key")
    inputs = {"solution": "s1", "engine": "e1"}
    path = cache.stamp_path(directory)
    assert path.parent == directory and path.name.startswith(".")  # swapped with the files
    assert cache.read_stamp(path) is None
    cache.write_stamp(path, inputs, {"key.md": b"key"}, {"checks": 3})
    stamp = cache.read_stamp(path)
    assert stamp is not None and stamp["checks"] == 3
    assert cache.is_fresh(stamp, inputs, directory)
    assert cache.is_current(stamp, inputs) and not cache.is_current(stamp, {**inputs, "x": "y"})
    assert not cache.is_fresh(stamp, {**inputs, "engine": "e2"}, directory)
    assert cache.changed(stamp, {**inputs, "engine": "e2"}) == ["engine"]
    (directory / "key.md").write_bytes(b"edited by hand")
    assert not cache.is_fresh(stamp, inputs, directory)
    (directory / "key.md").unlink()
    assert not cache.is_fresh(stamp, inputs, directory)
    assert not list(path.parent.glob(".*partial*"))


def test_a_corrupt_stamp_means_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "stamp.json"
    path.write_text("{ not json")
    assert cache.read_stamp(path) is None
    assert not cache.is_fresh(None, {"a": "b"}, tmp_path)


def test_tool_versions_and_revision() -> None:
    versions = cache.tool_versions()
    assert set(versions) == {"sympy", "numpy", "pandoc", "tex"}
    assert all(isinstance(v, str) and v for v in versions.values())
    rev = cache.git_revision()
    assert rev == "unknown" or all(c in "0123456789abcdef" for c in rev)


def test_the_tex_version_is_known_without_sympy() -> None:
    """The PDFs' format is named by the TeX version while the build still imports SymPy."""
    import subprocess
    import sys

    assert cache.tool_versions()["tex"] == cache.tex_version()
    code = (
        "import sys; from pathlib import Path; from answerkey import pdf; "
        "pdf._format_path('preamble', Path('.')); "
        "print(sorted({'sympy', 'numpy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_fifo_in_an_output_directory_is_stale_never_waited_on(tmp_path: Path) -> None:
    """A FIFO planted as a stamp or an output file would hang the build that reads it."""
    from test_regular import at_once

    stamp_path = tmp_path / cache.STAMP_NAME
    os.mkfifo(stamp_path)
    read: list[object] = []
    assert at_once(lambda: read.append(cache.read_stamp(stamp_path)), stamp_path) is None
    assert read == [None]
    inputs = {"solution": "s", "formats": "md"}
    stamp = json.loads(cache.stamp_bytes(inputs, {"key.md": b"x"}, {}))
    os.mkfifo(tmp_path / "key.md")
    fresh: list[bool] = []
    assert (
        at_once(lambda: fresh.append(cache.is_fresh(stamp, inputs, tmp_path)), tmp_path / "key.md")
        is None
    )
    assert fresh == [False]
