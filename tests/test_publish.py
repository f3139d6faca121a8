"""publish.py: a directory is swapped in as a whole; what a dead build left is finished or
removed, a live build's is left alone."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from answerkey import cache, publish

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def stamp(files: dict[str, bytes]) -> bytes:
    return cache.stamp_bytes({"solution": "s"}, files, {"checks": 1})


def listing(root: Path) -> dict[str, bytes]:
    """Every file under `root` (hidden ones too) with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def assignment(tmp_path: Path) -> Path:
    """An assignment's directory: its key (owned: listed in its stamp), and beside it
    two variants with their index, which are not its own output."""
    d = tmp_path / "term" / "a"
    d.mkdir(parents=True)
    old = {"key.md": b"old key", "key.tex": b"old tex"}
    for name, data in old.items():
        (d / name).write_bytes(data)
    (d / publish.STAMP).write_bytes(stamp(old))
    for k in ("01", "02"):
        v = d / f"variant-{k}"
        v.mkdir()
        (v / "key.md").write_bytes(f"variant {k}".encode())
        (v / publish.STAMP).write_bytes(stamp({"key.md": f"variant {k}".encode()}))
    (d / "variants.json").write_bytes(b"{}")
    return d


def swapped_result(d: Path) -> None:
    """`d` holds exactly the new generation and what is not its own, and nothing staged."""
    assert (d / "key.md").read_bytes() == b"new key"
    assert not (d / "key.tex").exists()  # the old generation's file the new one lacks
    st = json.loads((d / publish.STAMP).read_text())
    assert st["files"] == {"key.md": cache.sha256(b"new key")}
    assert (d / "variant-01" / "key.md").read_bytes() == b"variant 01"
    assert (d / "variant-02" / publish.STAMP).exists()
    assert (d / "variants.json").read_bytes() == b"{}"
    assert sorted(os.listdir(d.parent)) == ["a"]


def test_a_directory_is_swapped_in_whole_with_what_it_does_not_own(assignment: Path) -> None:
    before = os.stat(assignment).st_ino
    publish.swap_in(assignment, {"key.md": b"new key"}, stamp({"key.md": b"new key"}))
    swapped_result(assignment)
    assert os.stat(assignment).st_ino != before  # another directory, not the old one edited


def test_a_directory_built_before_stamps_moved_in_keeps_its_variants(assignment: Path) -> None:
    (assignment / publish.STAMP).unlink()  # its stamp was under .cache/stamps then
    publish.swap_in(assignment, {"key.md": b"new key"}, stamp({"key.md": b"new key"}))
    swapped_result(assignment)


def test_without_an_atomic_exchange_the_two_renames_give_the_same_result(
    assignment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(a: Path, b: Path) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(publish, "exchange", unsupported)
    publish.swap_in(assignment, {"key.md": b"new key"}, stamp({"key.md": b"new key"}))
    swapped_result(assignment)


def test_an_interrupt_between_the_two_renames_puts_the_old_generation_back(
    assignment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(a: Path, b: Path) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    def interrupted(moment: str) -> None:
        if moment == "aside":
            raise KeyboardInterrupt  # Ctrl-C, or SIGTERM (the CLI turns it into this)

    monkeypatch.setattr(publish, "exchange", unsupported)
    monkeypatch.setattr(publish, "checkpoint", interrupted)
    before = listing(assignment.parent)
    with pytest.raises(KeyboardInterrupt):
        publish.swap_in(assignment, {"key.md": b"new key"}, stamp({"key.md": b"new key"}))
    assert listing(assignment.parent) == before
    assert sorted(os.listdir(assignment.parent)) == ["a"]


def test_a_first_publication_creates_the_directory(tmp_path: Path) -> None:
    d = tmp_path / "term" / "a"
    publish.swap_in(d, {"key.md": b"k"}, stamp({"key.md": b"k"}))
    assert sorted(os.listdir(d)) == [publish.STAMP, "key.md"]
    assert os.listdir(d.parent) == ["a"]


def test_the_exchange_is_real_on_this_filesystem(tmp_path: Path) -> None:
    if publish._RENAMEAT2 is None:
        pytest.skip("no renameat2 in this C library")
    (tmp_path / "x").write_text("x")
    (tmp_path / "y").mkdir()
    publish.exchange(tmp_path / "x", tmp_path / "y")
    assert (tmp_path / "x").is_dir() and (tmp_path / "y").read_text() == "x"
    with pytest.raises(FileNotFoundError):
        publish.exchange(tmp_path / "x", tmp_path / "missing")


def test_a_failure_while_staging_changes_nothing(assignment: Path) -> None:
    before = listing(assignment.parent)
    with pytest.raises(TypeError):
        publish.swap_in(assignment, {"key.md": b"new", "key.tex": "not bytes"}, b"{}")  # type: ignore[dict-item]
    assert listing(assignment.parent) == before
    assert sorted(os.listdir(assignment.parent)) == ["a"]


def test_only_what_dead_builds_left_is_removed(tmp_path: Path, live_pid: int) -> None:
    dead = dead_pid()
    (tmp_path / "a").mkdir()
    for name in (f".a.new-{dead}", f".a.old-{dead}", f".a.new-{live_pid}", f".a.old-{live_pid}"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "key.md").write_text(name)
    for name in (f".key.md.partial-{dead}", f".key.md.partial-{live_pid}"):
        (tmp_path / name).write_text(name)
    publish.recover(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["a", f".a.new-{live_pid}", f".a.old-{live_pid}", f".key.md.partial-{live_pid}"]
    )


@pytest.mark.parametrize(
    ("left", "expect"),
    [
        # killed between the fallback's two renames: the whole staged generation goes in
        (("new", "old"), "new"),
        # only the old generation aside (nothing staged any more): it comes back
        (("old",), "old"),
        # a first publication killed before its rename: there was nothing, there is nothing
        (("new",), None),
    ],
)
def test_a_swap_stopped_between_two_renames_is_finished_by_the_next_build(
    tmp_path: Path, left: tuple[str, ...], expect: str | None
) -> None:
    pid = dead_pid()
    d = tmp_path / "a"
    for kind in left:
        staged = publish.staged_name(d, kind, pid)
        staged.mkdir()
        (staged / "key.md").write_text(kind)
    publish.sweep(tmp_path)
    if expect is None:
        assert os.listdir(tmp_path) == []
    else:
        assert os.listdir(tmp_path) == ["a"]
        assert (d / "key.md").read_text() == expect


def test_the_sweep_reaches_variant_directories(tmp_path: Path) -> None:
    pid = dead_pid()
    inner = tmp_path / "term" / "a"
    (inner / f".variant-01.new-{pid}").mkdir(parents=True)
    (tmp_path / "term" / f".a.new-{pid}").mkdir()
    publish.sweep(tmp_path)
    assert os.listdir(inner) == [] and os.listdir(tmp_path / "term") == ["a"]


def test_the_publishing_lock_excludes_another_process(tmp_path: Path) -> None:
    inside = tmp_path / "inside"
    holder = (
        "import sys, time; from pathlib import Path; from answerkey import publish\n"
        "with publish.publishing(Path(sys.argv[1])):\n"
        "    Path(sys.argv[2]).touch(); print('held', flush=True); time.sleep(0.5)\n"
        "    Path(sys.argv[2]).unlink()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder, str(tmp_path), str(inside)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "held\n"
        with publish.publishing(tmp_path):
            assert not inside.exists()
    finally:
        proc.kill()
        proc.wait()


HOLDER = """
import sys, time
from pathlib import Path
from answerkey import publish
with publish.building(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_clean_removes_the_output_root_unless_a_build_runs_there(tmp_path: Path) -> None:
    out = tmp_path / "build"
    (out / "default" / "cv").mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(publish.BuildRunning, match="a build is running there"):
            publish.clean(out)
        assert (out / "default" / "cv").is_dir()
    finally:
        holder.kill()
        holder.wait()
    assert publish.clean(out) is True
    assert not out.exists()
    assert publish.clean(out) is False
