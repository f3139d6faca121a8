"""Kill -9 while publishing, and builds running at once into the same --out.

The first test kills a build (a forked copy of this process, verification stubbed,
json and md only, so each run takes a fraction of a second) before every single
operation on the file system that publishing does, and checks what it left: each
output directory entirely its old or entirely its new generation, its stamp true
to its files, MANIFEST.json absent or true to every file; then the next build's
start-up finishes the job. The end-to-end tests run the real `answerkey build`:
killed while paused at a moment of publishing (`publish.checkpoint`), and two of
them at once.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import answerkey.build as pipeline
from answerkey import cache, publish, scratch

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent
TERM = "2026-winter"
P1 = "practical-1"
FORMATS = ("json", "md")
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


# --- what a directory may look like ------------------------------------------------


def files_under(root: Path) -> dict[str, bytes]:
    """Every visible file under `root`, by path relative to it."""
    out = {}
    for p in sorted(root.rglob("*")):
        parts = p.relative_to(root).parts
        if p.is_file() and not any(x.startswith(".") for x in parts):
            out["/".join(parts)] = p.read_bytes()
    return out


def own_files(d: Path) -> dict[str, bytes]:
    """A directory's own output: its plain files (not the variants beside a key)."""
    return {
        p.name: p.read_bytes()
        for p in d.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name != "variants.json"
    }


def stamp_of(d: Path) -> dict[str, Any] | None:
    return cache.read_stamp(cache.stamp_path(d))


def assert_stamp_true(d: Path) -> None:
    """The stamp lists exactly the directory's own files, with their bytes."""
    st = stamp_of(d)
    assert st is not None, f"{d}: no stamp"
    own = own_files(d)
    assert st["files"] == {name: cache.sha256(data) for name, data in own.items()}, d


def assert_manifest_true(term_root: Path) -> None:
    """MANIFEST.json, when there is one, lists every file with its bytes, and no other."""
    path = term_root / "MANIFEST.json"
    if not path.exists():
        return
    manifest = json.loads(path.read_text())
    have = {k: cache.sha256(v) for k, v in files_under(term_root).items() if k != "MANIFEST.json"}
    assert manifest["files"] == have


def assert_nothing_staged(root: Path) -> None:
    for p in root.rglob("*"):
        assert scratch.generation(p.name) is None and ".partial-" not in p.name, p


def output_dirs(term_root: Path) -> list[Path]:
    return sorted(
        p
        for p in term_root.rglob("*")
        if p.is_dir() and not any(x.startswith(".") for x in p.relative_to(term_root).parts)
    )


# --- kill -9 before each operation of publishing -------------------------------------


class _Kept(dict):  # type: ignore[type-arg]
    def clear(self) -> None:
        pass


def _remembered(fn: Callable[..., Any]) -> Callable[..., Any]:
    seen: dict[str, Any] = {}

    def call(*args: Any) -> Any:
        key = repr([a for a in args if not isinstance(a, Path)])  # log and cache paths
        if key not in seen:
            seen[key] = fn(*args)
        return seen[key]

    return call


@pytest.fixture
def tree(stubbed_tree: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The 2026-winter term in tmp_path, verification stubbed (conftest), and more."""
    # The document model built once (a course is not in it), and each rendering and
    # digest computed once: every killed copy of the build starts from them, so that
    # the test spends its time killing, not computing. What is tested is publishing.
    monkeypatch.setattr(pipeline, "_BUILT", _Kept())
    for module, name in ((pipeline, "_render"), (pipeline, "_errata"), (cache, "module_digest")):
        monkeypatch.setattr(module, name, _remembered(getattr(module, name)))
    monkeypatch.setenv("ANSWERKEY_REVISION", "pinned-for-test")
    cache.git_revision.cache_clear()
    yield stubbed_tree
    cache.git_revision.cache_clear()


def build(tree: Path, out: Path, variants: int = 0) -> None:
    pipeline.build([P1], FORMATS, TERM, out, lambda _m: None, variants, tree / "terms", workers=1)


def set_course(tree: Path, course: str) -> None:
    term = tree / "terms" / f"{TERM}.toml"
    term.write_text(re.sub(r"(?m)^course = .*$", f'course = "{course}"', term.read_text()))


#: the operations that change what a directory holds
OPERATIONS = ("rename", "replace", "unlink", "rmdir", "link", "mkdir")


def in_child(run: Callable[[], None], kill_before: int | None, count: Path, under: Path) -> int:
    """Run `run` in a forked child, SIGKILLed just before its `kill_before`-th file
    system operation in `under` (never, when None); returns how many it did there."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            done = 0

            def counted(fn: Callable[..., Any]) -> Callable[..., Any]:
                def op(*args: Any, **kwargs: Any) -> Any:
                    nonlocal done
                    paths = [str(a) for a in args if isinstance(a, str | os.PathLike)]
                    # shutil.rmtree names what it removes relative to a directory's fd
                    if "dir_fd" in kwargs or any(p.startswith(inside) for p in paths):
                        done += 1
                        if done == kill_before:
                            os.kill(os.getpid(), signal.SIGKILL)
                    return fn(*args, **kwargs)

                return op

            inside = str(under)
            for name in OPERATIONS:
                setattr(os, name, counted(getattr(os, name)))
            if hasattr(publish, "exchange"):
                publish.exchange = counted(publish.exchange)
            run()
            count.write_text(str(done))
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if kill_before is None:
        assert os.waitstatus_to_exitcode(status) == 0, "the uninterrupted build failed"
        return int(count.read_text())
    return os.waitstatus_to_exitcode(status)


@needs_fork
@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_a_build_killed_at_any_moment_of_publishing_leaves_each_directory_old_or_new(
    tree: Path, exchange: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """practical-1's key, rebuilt beside a variant (which it carries along), killed
    before each operation in turn."""
    if not exchange:

        def unsupported(a: Path, b: Path) -> None:
            raise OSError(errno.EINVAL, "Invalid argument")

        monkeypatch.setattr(publish, "exchange", unsupported)
    old_out = tree / "old"
    build(tree, old_out, variants=1)
    build(tree, old_out)
    set_course(tree, "Changed")
    term_root = lambda out: out / TERM  # noqa: E731
    old = files_under(term_root(old_out))
    old.pop("MANIFEST.json")
    variant_files = {k: v for k, v in old.items() if "/variant" in k}
    assert f"{P1}/variants.json" in variant_files and f"{P1}/variant-01/key.md" in variant_files
    old_key = own_files(term_root(old_out) / P1)

    new_out = tree / "new"
    shutil.copytree(old_out, new_out)
    build(tree, new_out)
    counted = tree / "counted"
    shutil.copytree(old_out, counted)
    count = tree / "count"
    total = in_child(lambda: build(tree, counted), None, count, counted / TERM)
    assert files_under(counted / TERM) == files_under(new_out / TERM)
    new_key = own_files(term_root(new_out) / P1)
    assert new_key != old_key and json.loads(new_key["answers.json"])["course"] == "Changed"
    assert total >= 5

    out = tree / "out"
    seen = set()
    for kill_before in range(1, total + 1):
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(old_out, out)
        code = in_child(lambda: build(tree, out), kill_before, count, out / TERM)
        assert code == -signal.SIGKILL, kill_before
        d = term_root(out) / P1
        if exchange:  # true at every moment, before any recovery
            assert own_files(d) in (old_key, new_key), kill_before
            assert_stamp_true(d)
            assert_manifest_true(term_root(out))
        with publish.publishing(out):  # the next build's start-up
            publish.sweep(term_root(out))
        assert_nothing_staged(out)
        key = own_files(d)
        assert key in (old_key, new_key), kill_before
        seen.add("new" if key == new_key else "old")
        for directory in output_dirs(term_root(out)):
            assert_stamp_true(directory)
        assert {k: v for k, v in files_under(term_root(out)).items() if k in variant_files} == (
            variant_files
        ), kill_before
        assert_manifest_true(term_root(out))
    assert seen == {"old", "new"}  # killed both before and after the swap
    # the next build, from the last state (killed after the swap, before the manifest)
    build(tree, out)
    assert own_files(term_root(out) / P1) == new_key
    assert files_under(term_root(out)) == files_under(term_root(new_out))
    assert (term_root(out) / "MANIFEST.json").exists()
    assert_manifest_true(term_root(out))
    assert_nothing_staged(out)


# --- the real build, end to end ----------------------------------------------------


def cli(out: Path, term: Path, *extra: str, **env: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "answerkey.cli",
        "build",
        P1,
        "--format",
        ",".join(FORMATS),
        "--term",
        str(term),
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture
def e2e(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    term = tmp_path / "e2e.toml"
    term.write_text('course = "Before"\nlabel = "e2e"\nseed = 7\n')
    env = {**os.environ, "ANSWERKEY_REVISION": "pinned-for-test"}
    env.pop(publish.PAUSE_VARIABLE, None)
    yield term, env


def run_build(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def waiting_for_the_lock(pid: int) -> bool:
    """Whether process `pid` waits for a POSIX lock (Linux: /proc/locks shows the
    request after "->"); polled for up to a minute."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if "->" in fields and str(pid) in fields:
                return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("moment", ["staged", "swapped"])
def test_the_real_build_killed_while_swapping_leaves_one_generation_and_recovers(
    e2e: tuple[Path, dict[str, str]], tmp_path: Path, moment: str
) -> None:
    """Killed with its new generation staged (the directory still the old one), or just
    after the swap (the new one, the old generation not yet removed): the next build
    finishes the job. When killed at "staged", the next build was started before the
    kill: it waits for the lock, leaves the live build's staged generation alone, and
    goes on when the kill releases the lock."""
    term, env = e2e
    out = tmp_path / "out"
    d = out / "e2e" / P1
    first = run_build(cli(out, term), env)
    assert first.returncode == 0, first.stderr
    before = own_files(d)
    term.write_text('course = "After"\nlabel = "e2e"\nseed = 7\n')
    procs = []
    try:
        proc = subprocess.Popen(
            cli(out, term, "--quiet"),
            cwd=ROOT,
            env={**env, publish.PAUSE_VARIABLE: moment},
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line == f"answerkey: paused at {moment}\n", line + proc.stderr.read()
        # what the killed build leaves is on disk now (it is stopped), checked before a
        # next build may change it
        staged = [p.name for p in (out / "e2e").iterdir() if scratch.generation(p.name)]
        assert staged == [f".{P1}.new-{proc.pid}"]  # the new generation, or the old after the swap
        paused = own_files(d)
        assert paused == before if moment == "staged" else answers_course(paused) == "After"
        assert_stamp_true(d)
        assert not (out / "e2e" / "MANIFEST.json").exists()  # never a stale one
        if moment == "staged":
            beside = subprocess.Popen(
                cli(out, term), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            procs.append(beside)
            if Path("/proc/locks").exists():
                assert waiting_for_the_lock(beside.pid)
            else:  # not Linux: give it the time to get there
                time.sleep(5)
            assert (out / "e2e" / staged[0] / publish.STAMP).exists()  # left alone
        proc.kill()
        proc.wait(timeout=30)
        if moment == "staged":
            _, err = beside.communicate(timeout=600)
            assert beside.returncode == 0, err.decode()
        else:
            assert own_files(d) == paused
            again = run_build(cli(out, term), env)
            assert again.returncode == 0, again.stderr
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert_nothing_staged(out)
    assert answers_course(own_files(d)) == "After"
    assert_stamp_true(d)
    assert_manifest_true(out / "e2e")


def answers_course(files: dict[str, bytes]) -> str:
    return str(json.loads(files["answers.json"])["course"])


def test_two_builds_at_once_into_the_same_out_both_succeed_and_agree(
    e2e: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """One builds four variants while the other rebuilds the key beside them: both swap
    directories of the same assignment (the key's carries the variants along)."""
    term, env = e2e
    out = tmp_path / "out"
    runs = [cli(out, term, "--variants", "4", "--jobs", "1"), cli(out, term, "--jobs", "1")]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for cmd in runs
    ]
    start = time.perf_counter()
    results = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err.decode()
    assert time.perf_counter() - start < 600
    term_root = out / "e2e"
    assert_nothing_staged(out)
    dirs = output_dirs(term_root)
    assert [p.relative_to(term_root).as_posix() for p in dirs] == [P1] + [
        f"{P1}/variant-0{k}" for k in range(1, 5)
    ]
    for directory in dirs:
        assert_stamp_true(directory)
    assert_manifest_true(term_root)
    manifest = json.loads((term_root / "MANIFEST.json").read_text())
    assert set(manifest["directories"]) == {p.relative_to(term_root).as_posix() for p in dirs}
    # each build's request again: everything is fresh, nothing is rebuilt
    for cmd in runs:
        again = run_build(cmd, env)
        assert again.returncode == 0 and "built" not in again.stdout, again.stdout + again.stderr


def test_a_directory_replaced_by_a_build_beside_this_one_is_not_recorded_as_up_to_date(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A json-only build swaps its generation of practical-1 in while a json,md build is
    finishing: the latter must not record its request as answered by what is there."""
    from answerkey import cli, fastpath

    out = tree / "out"
    term = tree / "race.toml"
    term.write_text('course = "Race 101"\nlabel = "race"\n')
    argv = ["build", P1, "--format", "json,md", "--term", str(term), "--out", str(out)]
    real_manifest = pipeline.write_manifest

    def beside(out_root: Path, the_term: Any) -> Any:
        d = out_root / "race" / P1
        mine = stamp_of(d)
        assert mine is not None and "key.md" in mine["files"]
        theirs = {"answers.json": (d / "answers.json").read_bytes()}
        inputs = {**mine["inputs"], "formats": "json"}
        publish.swap_in(d, theirs, cache.stamp_bytes(inputs, theirs, {"checks": 1}))
        return real_manifest(out_root, the_term)

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(pipeline, "write_manifest", beside)
    assert cli.main([*argv, "--jobs", "1"]) == 0
    monkeypatch.setattr(pipeline, "write_manifest", real_manifest)
    assert not (out / "race" / P1 / "key.md").exists()
    request = {
        "assignments": [P1],
        "formats": "json,md",
        "term": str(term),
        "variants": 0,
        "out": str(out.resolve()),
    }
    assert not fastpath.up_to_date(request, out, ROOT / "terms", lambda _m: None)
    capsys.readouterr()
    assert cli.main([*argv, "--jobs", "1"]) == 0
    assert "built" in capsys.readouterr().out
    assert (out / "race" / P1 / "key.md").exists()
    # and now that the outputs are this request's, the next one is answered at once
    assert fastpath.up_to_date(request, out, ROOT / "terms", lambda _m: None)
