"""`answerkey watch`: rebuild whenever a solution module, template, term or claims file changes.

The author's loop: edit, save, look at the PDF. Each rebuild is an ordinary
`answerkey build` in a fresh interpreter, so a changed solution module, helper
or even engine file is read anew (no stale imports), the build stays atomic (a
failed build leaves the last good outputs in place), and the stamps and the
proof cache make a rebuild after a small edit cheap. One line per rebuild says
what changed, what was rebuilt, how long it took and how many checks passed;
a failure shows the build's error and keeps watching. Ctrl-C stops it (exit 0).

Changes are noticed by watchfiles (inotify on Linux), grouped while an editor
is still writing.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import cache

WATCHED_SUFFIXES = (".py", ".toml")
_BUILT = re.compile(r"^built\s+(\S+): (\d+) checks")


def roots(project: Path, terms_dir: Path, term: str) -> list[Path]:
    """The directories whose files a build reads: solutions (modules, helpers, claims),
    templates, terms and the engine."""
    dirs = [project / "solutions", project / "templates", terms_dir, project / "answerkey"]
    if "/" in term or term.endswith(".toml"):
        dirs.append(Path(term).resolve().parent)
    return sorted({d.resolve() for d in dirs if d.is_dir()})


def relevant(path: Path, project: Path) -> bool:
    """Source files only: editors' swap and backup files and Python's caches do not count."""
    name = path.name
    if name.startswith((".", "#")) or name.endswith("~") or "__pycache__" in path.parts:
        return False
    if (project / "templates").resolve() in path.resolve().parents:
        return True
    return path.suffix in WATCHED_SUFFIXES


def changes(
    paths: list[Path], project: Path, stop: threading.Event | None = None
) -> Iterator[list[Path]]:
    """Batches of changed source files, as they happen (until `stop` is set). The
    first batch is empty and comes as soon as the watch is in place, so a change
    made during the first build is not missed."""
    import watchfiles

    def keep(_change: Any, path: str) -> bool:
        return relevant(Path(path), project)

    started = False
    for batch in watchfiles.watch(
        *paths,
        watch_filter=keep,
        debounce=400,
        step=50,
        stop_event=stop,
        raise_interrupt=True,
        rust_timeout=200,
        yield_on_timeout=True,
    ):
        if batch or not started:
            started = True
            yield sorted({Path(p) for _, p in batch})


def build_command(build_args: list[str]) -> list[str]:
    return [sys.executable, "-m", "answerkey.cli", "build", *build_args]


def rebuild(build_args: list[str]) -> tuple[bool, float, str]:
    """Run one build; (ok, seconds, summary or error). On Ctrl-C the build gets
    the interrupt too and is waited for, so it removes its temporary files."""
    start = time.perf_counter()
    with subprocess.Popen(
        build_command(build_args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
            raise
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        return False, seconds, "\n".join(lines) or f"exit status {proc.returncode}"
    return True, seconds, summary(stdout)


def summary(stdout: str) -> str:
    """'default/my-assignment (93 checks)' from the build's progress lines."""
    built = [m for m in map(_BUILT.match, stdout.splitlines()) if m]
    if not built:
        return "nothing to rebuild, every output up to date"
    return ", ".join(f"{m.group(1)} ({m.group(2)} checks)" for m in built)


def _names(paths: Iterable[Path], project: Path) -> str:
    shown = []
    for p in paths:
        try:
            shown.append(p.resolve().relative_to(project.resolve()).as_posix())
        except ValueError:
            shown.append(str(p))
    return ", ".join(shown[:3]) + (f" (+{len(shown) - 3} more)" if len(shown) > 3 else "")


def watch(
    build_args: list[str],
    term: str = "default",
    terms_dir: Path = Path("terms"),
    project: Path = cache.ROOT,
    report: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> int:
    """Build now, then again after every change, until Ctrl-C (or `stop`)."""
    paths = roots(project, terms_dir, term)
    report(f"watching {_names(paths, project)}; Ctrl-C stops")

    def once(why: str) -> None:
        ok, seconds, text = rebuild(build_args)
        stamp = time.strftime("%H:%M:%S")
        if ok:
            report(f"{stamp} {why}: built in {seconds:.1f}s: {text}")
        else:
            report(f"{stamp} {why}: build FAILED after {seconds:.1f}s; last good outputs kept:")
            for line in text.splitlines():
                report(f"    {line}")

    try:
        for batch in changes(paths, project, stop):
            once(f"{_names(batch, project)} changed" if batch else "first build")
    except KeyboardInterrupt:
        report("stopped watching")
    return 0
