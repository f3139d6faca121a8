"""The build's cache cannot lie or run code, never hangs, and stays bounded.

An entry is used only when it is a regular file in the cache whose header names the
kind and the key asked for and whose content has the size and digest it gives; a
swapped, foreign, truncated, pickled, FIFO, device or linked entry is ignored and
computed again (a note under --verbose), never an error, a hang or code run.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from answerkey import store

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent
A = "a" * 64
B = "b" * 64


def entry(root: Path, kind: str, key: str) -> Path:
    return root / kind / key[:2] / key


# --- one entry ---------------------------------------------------------------------------


def test_an_entry_reads_back_as_stored(tmp_path: Path) -> None:
    assert store.get(tmp_path, "outputs", A) is None
    store.put(tmp_path, "outputs", A, b"%PDF of a")
    assert store.get(tmp_path, "outputs", A) == b"%PDF of a"
    store.put_json(tmp_path, "proofs", A, {"records": [["k", "s", "d"]]})
    assert store.get_json(tmp_path, "proofs", A) == {"records": [["k", "s", "d"]]}
    assert store.get(None, "outputs", A) is None  # no cache configured


def test_an_entry_moved_to_another_key_or_kind_is_foreign(tmp_path: Path) -> None:
    store.put(tmp_path, "outputs", A, b"the key")
    store.put(tmp_path, "outputs", B, b"the handout")
    a, b = entry(tmp_path, "outputs", A), entry(tmp_path, "outputs", B)
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    notes: list[str] = []
    assert store.get(tmp_path, "outputs", A, notes.append) is None
    assert store.get(tmp_path, "outputs", B, notes.append) is None
    assert len(notes) == 2 and "not this key" in notes[0]
    entry(tmp_path, "proofs", A).parent.mkdir(parents=True)
    shutil.copy(entry(tmp_path, "outputs", B), entry(tmp_path, "proofs", A))
    assert store.get(tmp_path, "proofs", A) is None


@pytest.mark.parametrize(
    "damage, why",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-2]), "bytes of content"),
        (lambda p: p.write_bytes(p.read_bytes()[:-2] + b"XX"), "digest"),
        (lambda p: p.write_bytes(b""), "no header"),
        (lambda p: p.write_bytes(pickle.dumps(["a", "list"])), "no header"),
        (lambda p: p.write_bytes(b'{"kind": "outputs"}\ncontent'), "header"),
        (lambda p: p.write_bytes(b"[1, 2]\n"), "header"),
        (lambda p: p.write_bytes(b"\xff\xfe\n"), ""),
    ],
)
def test_a_damaged_entry_is_ignored_with_a_note(
    tmp_path: Path, damage: Callable[[Path], None], why: str
) -> None:
    store.put(tmp_path, "outputs", A, b"%PDF of a")
    damage(entry(tmp_path, "outputs", A))
    notes: list[str] = []
    assert store.get(tmp_path, "outputs", A, notes.append) is None
    assert len(notes) == 1 and f"outputs/aa/{A}" in notes[0] and why in notes[0]
    store.put(tmp_path, "outputs", A, b"%PDF of a")  # written again
    assert store.get(tmp_path, "outputs", A) == b"%PDF of a"


def test_a_fifo_a_device_a_link_out_or_a_huge_file_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"x")
    cache = tmp_path / "cache"
    place = entry(cache, "outputs", A)
    place.parent.mkdir(parents=True)
    monkeypatch.setattr(store, "MAX_ENTRY", 1500)
    makers: list[Callable[[], None]] = [
        lambda: os.mkfifo(place),  # would block a plain open() forever
        lambda: place.symlink_to("/dev/zero"),  # would fill the memory
        lambda: place.symlink_to(outside),
        lambda: place.write_bytes(b"\n" * 2000),
        lambda: place.mkdir(),
    ]
    for make in makers:
        make()
        notes: list[str] = []
        start = time.monotonic()
        assert store.get(cache, "outputs", A, notes.append) is None
        assert time.monotonic() - start < 5
        assert len(notes) == 1, notes
        store.put(cache, "outputs", A, b"ok")  # replaces it (a directory: left)
        if not place.is_dir():
            assert store.get(cache, "outputs", A) == b"ok"
            assert outside.read_bytes() == b"x"
        shutil.rmtree(place) if place.is_dir() else place.unlink()


def test_a_linked_directory_inside_the_cache_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    store.put(elsewhere, "outputs", A, b"planted")
    cache = tmp_path / "cache"
    (cache / "outputs").mkdir(parents=True)
    (cache / "outputs" / "aa").symlink_to(elsewhere / "outputs" / "aa")
    assert store.get(cache, "outputs", A) is None
    store.put(cache, "outputs", A, b"new")  # not written through the link
    assert store.get(elsewhere, "outputs", A) == b"planted"


# --- the bound ---------------------------------------------------------------------------


def test_prune_keeps_the_most_recently_used_within_the_bound(tmp_path: Path) -> None:
    keys = [f"{i:02x}" * 32 for i in range(6)]
    for i, key in enumerate(keys):
        store.put(tmp_path, "outputs", key, bytes(1000))
        os.utime(entry(tmp_path, "outputs", key), (1000 + i, 1000 + i))
    assert store.get(tmp_path, "outputs", keys[0]) is not None  # used now: kept
    (tmp_path / "proofs" / "ab").mkdir(parents=True)
    (tmp_path / "proofs" / "ab" / "old.pickle").write_bytes(b"from an older cache")
    os.mkfifo(tmp_path / "proofs" / "ab" / ("ab" * 32))
    size = entry(tmp_path, "outputs", keys[0]).stat().st_size
    done = store.prune(tmp_path, 3 * size)
    assert (done.entries, done.evicted, done.strays) == (3, 3, 2)
    left = {k for k in keys if entry(tmp_path, "outputs", k).exists()}
    assert left == {keys[0], keys[5], keys[4]}
    assert not (tmp_path / "proofs" / "ab" / "old.pickle").exists()
    assert store.usage(tmp_path).size <= 3 * size
    store.clear(tmp_path)
    assert store.usage(tmp_path).entries == 0


def test_the_bound_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(store.LIMIT_ENV, "1.5")
    assert store.limit() == int(1.5 * 1024 * 1024)
    for bad in ("-1", "nan", "lots"):
        monkeypatch.setenv(store.LIMIT_ENV, bad)
        assert store.limit() == store.DEFAULT_LIMIT_MB * 1024 * 1024


# --- a build on a damaged cache ---------------------------------------------------------


def answerkey(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "answerkey.cli", *args],
        cwd=cwd,
        env={**os.environ, "ANSWERKEY_REVISION": "test", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """practical-1's key and handout (HTML) and answers, with the cache that made them."""
    out = tmp_path_factory.mktemp("first") / "out"
    done = answerkey("build", "practical-1", "--format", "json,html", "--out", str(out), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return out


def outputs(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted((out / "default").rglob("*"))
        if p.is_file() and ".logs" not in p.parts
    }


def entry_files(out: Path) -> list[Path]:
    """Every file the cache keeps verdicts and outputs in, whatever its layout."""
    return sorted(
        p
        for kind in ("proofs", "verdicts", "outputs")
        for p in (out / ".cache" / kind).rglob("*")
        if p.is_file()
    )


def swap_pairs(files: list[Path]) -> None:
    by_dir: dict[str, list[Path]] = {}
    for p in files:
        by_dir.setdefault(p.relative_to(p.parents[2]).parts[0], []).append(p)
    for same in by_dir.values():
        for a, b in zip(same[::2], same[1::2], strict=False):
            a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
            a.write_bytes(b_bytes)
            b.write_bytes(a_bytes)


def plant_pickles(files: list[Path]) -> None:
    marker = files[0].parents[3] / "PWNED"
    payload = pickle.dumps(_Planted(str(marker)))
    for p in files:
        p.write_bytes(payload)
        p.with_name(p.name.split(".")[0] + ".pickle").write_bytes(payload)


class _Planted:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (self.marker,))


def wrong_type(files: list[Path]) -> None:
    for p in files:
        p.write_bytes(pickle.dumps([1, 2, 3]) if p.suffix == ".pickle" else b"[1, 2, 3]")


def fifos(files: list[Path]) -> None:
    for p in files:
        p.unlink()
        os.mkfifo(p)


def dev_zero(files: list[Path]) -> None:
    for p in files:
        p.unlink()
        p.symlink_to("/dev/zero")


BUILD = ("--format", "json,html", "--out")


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.mark.parametrize(
    "damage", [swap_pairs, plant_pickles, wrong_type, fifos, dev_zero], ids=lambda f: f.__name__
)
def test_a_build_on_a_damaged_cache_publishes_what_it_verifies(
    first_build: Path, tmp_path: Path, damage: Callable[[list[Path]], None]
) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_build, out, symlinks=True)
    want = outputs(out)
    shutil.rmtree(out / "default")  # rebuilt from the cache
    files = entry_files(out)
    assert files
    damage(files)
    done = subprocess.run(
        [sys.executable, "-m", "answerkey.cli", "build", "practical-1", *BUILD, str(out), "-v"],
        cwd=ROOT,
        env={**os.environ, "ANSWERKEY_REVISION": "test"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,  # a FIFO used to hang the build
        preexec_fn=_limit_memory,  # and /dev/zero to eat the memory
    )
    assert done.returncode == 0, done.stderr
    assert outputs(out) == want
    assert not (tmp_path / "PWNED").exists() and not (out / "PWNED").exists()
    if damage is not plant_pickles:
        assert "cache: ignored" in done.stdout


def test_the_cache_stays_within_its_bound_and_can_be_pruned_and_cleared(
    first_build: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_build, out, symlinks=True)
    shutil.rmtree(out / "default")
    bound_mb = 0.1
    for term in ("default", "2026-winter"):
        done = answerkey(
            "build",
            "practical-1",
            "--format",
            "json,html",
            "--term",
            term,
            "--out",
            str(out),
            cwd=ROOT,
            env={store.LIMIT_ENV: str(bound_mb)},
        )
        assert done.returncode == 0, done.stderr
        assert store.usage(out / ".cache").size <= bound_mb * 1024 * 1024
    shown = answerkey("cache", "--out", str(out), cwd=ROOT)
    assert shown.returncode == 0 and "entries" in shown.stdout
    pruned = answerkey("cache", "--prune", "--max-mb", "0", "--out", str(out), cwd=ROOT)
    assert pruned.returncode == 0, pruned.stderr
    assert store.usage(out / ".cache").entries == 0
    cleared = answerkey("cache", "--clear", "--out", str(out), cwd=ROOT)
    assert cleared.returncode == 0 and not (out / ".cache" / "proofs").exists()
    assert json.loads((out / "2026-winter" / "practical-1" / "answers.json").read_bytes())
