"""What is verified is what is imported: modules run the exact bytes their digests hash.

An edit that keeps a file's size and modification time (`cp -p`, `rsync -t`, `tar x`)
used to leave Python running the old bytecode while the stamps hashed the new source:
a wrong step published as verified, and "up to date" ever after.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import answerkey
import solutions
from answerkey import sources

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent


def load(path: Path, name: str = "solutions._exact_probe") -> object:
    loader = sources.ExactLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def same_size_and_date(path: Path, old: str, new: str) -> None:
    """Edit `path` as `cp -p` of an edited copy would: same size, same mtime."""
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    assert old in text and len(old) == len(new)
    path.write_text(text.replace(old, new), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


def test_the_engine_and_the_solutions_are_imported_by_the_exact_loader() -> None:
    exact = [
        m
        for name, m in list(sys.modules.items())
        if name.partition(".")[0] in sources.PACKAGES and getattr(m, "__file__", None)
    ]
    assert len(exact) > 10
    for module in exact:
        if module in (answerkey, solutions, sources):  # loaded before the loader exists
            continue
        assert isinstance(module.__spec__.loader, sources.ExactLoader), module.__name__


def test_a_stale_timestamp_pyc_is_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    src = tmp_path / "probe.py"
    src.write_text("VALUE = 'old'\n")
    py_compile.compile(str(src), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    same_size_and_date(src, "'old'", "'new'")
    assert load(src).VALUE == "new"  # type: ignore[attr-defined]
    # and the bytecode written in its place is checked by hash
    pyc = Path(importlib.util.cache_from_source(str(src)))
    assert pyc.read_bytes()[4:8] == (0b11).to_bytes(4, "little")


def test_a_hash_checked_pyc_of_other_bytes_is_not_run(tmp_path: Path) -> None:
    src = tmp_path / "probe.py"
    src.write_text("VALUE = 'old'\n")
    py_compile.compile(str(src), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    same_size_and_date(src, "'old'", "'new'")
    assert load(src).VALUE == "new"  # type: ignore[attr-defined]


def test_the_digest_reads_the_bytes_the_module_runs(tmp_path: Path) -> None:
    src = tmp_path / "probe.py"
    src.write_text("VALUE = 'old'\n")
    load(src)
    src.write_text("VALUE = 'new'\n")  # after the import: the module still runs 'old'
    assert sources.read(src) == b"VALUE = 'old'\n"


def test_a_module_edited_after_its_digest_does_not_import(tmp_path: Path) -> None:
    src = tmp_path / "probe.py"
    src.write_text("VALUE = 'old'\n")
    assert sources.read(src) == b"VALUE = 'old'\n"  # the stamps hash this
    src.write_text("VALUE = 'new'\n")  # then the build imports: it must not run 'new'
    with pytest.raises(ImportError, match="changed after answerkey read it"):
        load(src)


def test_a_worker_imports_only_the_bytes_the_build_hashed(tmp_path: Path) -> None:
    """A worker process started afresh (not forked) reads the modules again: it gets
    the build's digests (`snapshot`) and refuses other bytes."""
    src = tmp_path / "probe.py"
    src.write_text("VALUE = 'old'\n")
    hashed = {os.path.realpath(src): hashlib.sha256(b"VALUE = 'old'\n").hexdigest()}
    assert hashed.items() <= {**sources.snapshot(), **hashed}.items()
    sources.expect(hashed)
    src.write_text("VALUE = 'new'\n")
    with pytest.raises(ImportError, match="changed after answerkey read it"):
        load(src)
    src.write_text("VALUE = 'old'\n")
    assert load(src).VALUE == "old"  # type: ignore[attr-defined]


def test_the_snapshot_holds_what_was_imported() -> None:
    digests = sources.snapshot()
    path = os.path.realpath(sources.__file__)
    assert digests[path] == hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_precompile_writes_hash_checked_bytecode_only_where_needed(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("A = 1\n")
    (tmp_path / "b.py").write_text("B = (\n")  # a syntax error: the import will say where
    assert sources.precompile([tmp_path]) == 1
    assert sources.precompile([tmp_path]) == 0
    same_size_and_date(tmp_path / "a.py", "1", "2")
    assert sources.precompile([tmp_path]) == 1


def test_a_same_size_same_date_edit_of_a_step_is_verified_not_published(tmp_path: Path) -> None:
    """The reproducer of issue 21 item 1, on a copy of the project: a build, then a wrong
    step with the file's size and date kept, with bytecode of the old source in place."""
    project = tmp_path / "project"
    for part in ("answerkey", "solutions", "templates", "terms"):
        shutil.copytree(ROOT / part, project / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "constraints.txt", project)
    env = {**os.environ, "ANSWERKEY_REVISION": "test"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def build() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "answerkey.cli", "build", "cv-assignment9", "--format", "json"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )

    # bytecode as a tree has it (the Makefile used to run compileall; any Python writes it)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "answerkey", "solutions"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    first = build()
    assert first.returncode == 0, first.stderr
    same_size_and_date(
        project / "solutions" / "cv_assignment9.py",
        '(mm(y2 - t, T(y1)), "part 2")',
        '(mm(y2 + t, T(y1)), "part 2")',
    )
    for _ in range(2):  # and never "up to date" afterwards
        again = build()
        assert again.returncode != 0, again.stdout
        assert "verification failed: cv-assignment9, part 4, step 2" in again.stderr
