"""A file the tool did not write is read only if it is a regular file: a FIFO, a device,
a directory or a symlink out of its tree is one line naming it, at once (a FIFO's
open() would wait for a writer, and every build with it)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from answerkey import cache, regular
from answerkey.errors import UsageError
from answerkey.regular import read_regular, regular_problem
from answerkey.tomlfile import TomlFileError, read_toml


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def at_once(fn: Callable[[], Any], pipe: Path | None = None) -> BaseException | None:
    """What `fn` raises (None if it returns), failing the test if it waits on `pipe`
    for more than 5 s (then `pipe` is opened for writing, so that the thread ends)."""
    outcome: list[BaseException | None] = []

    def call() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():
        if pipe is not None:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        thread.join(5)
        pytest.fail("it waited on a FIFO")
    return outcome[0]


def test_a_regular_file_is_read_within_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_bytes(b"x" * 10)
    assert read_regular(path, "claims file") == b"x" * 10
    with pytest.raises(UsageError, match="larger than 0 kB, the limit for a claims file"):
        read_regular(path, "claims file", max_bytes=9)
    assert regular_problem(path, "claims file") is None


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    pipe = fifo(tmp_path / "claims.toml")
    err = at_once(lambda: read_regular(pipe, "claims file"), pipe)
    assert isinstance(err, UsageError)
    assert str(err) == (
        f"{pipe}: a FIFO (named pipe), not a regular file, so not read as a claims file"
    )
    err = at_once(lambda: read_toml(pipe, "term file"), pipe)
    assert isinstance(err, TomlFileError)


def test_a_device_and_a_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="a device, not a regular file"):
        read_regular(Path("/dev/zero"), "term file")
    with pytest.raises(UsageError, match="is a directory, not a term file"):
        read_regular(tmp_path, "term file")


def test_a_utf8_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_bytes("\ufeffa = 1\n".encode())
    assert read_toml(path, "claims file") == {"a": 1}


def test_an_errata_file_that_is_a_fifo_or_a_directory_is_exit_2_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """solutions/claims/<id>.toml as a FIFO hung every build; as a directory it was
    exit 3 at build but 2 under `check`: now exit 2, one line, both ways."""
    monkeypatch.setattr(cache, "CLAIMS_DIR", tmp_path)
    pipe = fifo(tmp_path / "cv-assignment9.toml")
    err = at_once(lambda: cache.claims_digest("cv-assignment9"), pipe)
    assert isinstance(err, UsageError) and err.exit_code == 2
    assert "a FIFO (named pipe), not a regular file" in str(err)
    (tmp_path / "m.toml").mkdir()
    with pytest.raises(UsageError, match=r"m\.toml: is a directory, not a claims file") as dir_err:
        cache.claims_digest("m")
    assert dir_err.value.exit_code == 2
    assert cache.claims_digest("none-here") == "none"


def test_a_template_that_is_a_fifo_or_leads_out_of_the_templates_is_refused(
    tmp_path: Path,
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "key.md.j2").write_text("x")
    cache.templates_digest(templates)
    pipe = fifo(templates / "pandoc.latex")
    err = at_once(lambda: cache.templates_digest(templates), pipe)
    assert isinstance(err, UsageError) and "pandoc.latex: a FIFO" in str(err)
    pipe.unlink()
    (tmp_path / "secret").write_text("s")
    (templates / "leak.tex").symlink_to(tmp_path / "secret")
    with pytest.raises(UsageError, match=r"leak\.tex: a symlink out of"):
        cache.templates_digest(templates)


def test_write_all_writes_every_byte_even_when_a_write_is_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        regular.write_all(fd, b"0123456789")
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"0123456789"
