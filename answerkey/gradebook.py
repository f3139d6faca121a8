"""`answerkey grade`: every answer of a class graded against one key, with points.

The key is built once and its parts verified once, several at once on every core
(`verify_parts`); each distinct answer (same part, same kind, quantity and update,
the same text but for spacing) is graded once, in worker processes on every core
(forked after the key is loaded, so none loads it again; `chunks_for`);
each verdict is exactly what `answerkey check` gives that answer (the same
`claims.check_claim` on the same `claims.key_for`). Points come from the
assignment's `model.Grading`: a part's `marks`, the whole of them for an accepted
answer (correct, or equal up to layout where the course accepts that), a share for
a named typical mistake (`mistake_credit`) or for the entries of a vector or matrix
of numbers equal to the key's (`entry_credit`); a student's claims for one part
share its marks equally, a part not answered earns nothing.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .check import key_assignment, verified_part
from .claims import Claim, ClaimError, KeyAnswer, Verdict, check_claim, key_for, load_claims
from .claims.keys import siblings
from .errors import UsageError
from .model import Assignment, CheckRecord, Grading, Part
from .numbers import ledger
from .submissions import Submission


@dataclass(frozen=True)
class Graded:
    """One claim of a student, its verdict and the share of the marks it earns."""

    claim: Claim
    verdict: Verdict
    credit: float


@dataclass(frozen=True)
class PartResult:
    """A student's answers to one part and the points they earn."""

    part: str
    marks: float
    points: float
    graded: tuple[Graded, ...]

    @property
    def answered(self) -> bool:
        return bool(self.graded)


@dataclass(frozen=True)
class StudentResult:
    student: str
    parts: tuple[PartResult, ...]

    @property
    def total(self) -> float:
        return sum(p.points for p in self.parts)

    @property
    def out_of(self) -> float:
        return sum(p.marks for p in self.parts)


@dataclass(frozen=True)
class Gradebook:
    """A class graded: per student and part the verdicts and points."""

    assignment: str
    title: str
    parts: tuple[str, ...]
    students: tuple[StudentResult, ...]
    answers: int  # every claim graded
    distinct: int  # the distinct ones (each graded once)
    seconds: float  # grading them, the key loaded


def distinct_key(part: str, claim: Claim) -> tuple[Any, ...]:
    """Answers graded once: the same part, kind, quantity and update, and the same text
    but for spacing (a space only counts between two letters: `\\sigma x`)."""
    text = " ".join((claim.checked or claim.answer).split())
    text = re.sub(r"(?<![A-Za-z]) | (?![A-Za-z])", "", text)
    return (part, claim.kind, claim.quantity, claim.update, text)


def credit(verdict: Verdict, grading: Grading) -> float:
    """The share of a part's marks one claim earns (see the module's docstring)."""
    if verdict.accepted:
        return 1.0
    shares = [0.0]
    if verdict.mistake and verdict.status == "incorrect":
        shares.append(grading.mistake_credit)
    if grading.entry_credit and verdict.entries and verdict.status == "incorrect":
        right, total = verdict.entries
        shares.append(right / total if total > 1 else 0.0)
    return max(shares)


class _Keys:
    """What each claim is checked against, made once per (part, kind, quantity, update)."""

    def __init__(self, assignment: Assignment) -> None:
        self.assignment = assignment
        self.parts = {p.id: p for p in assignment.parts()}
        self.made: dict[tuple[Any, ...], KeyAnswer | str | None] = {}
        self._ledger: list[dict[str, Any]] = []

    def numbers(self) -> list[dict[str, Any]]:
        if not self._ledger:
            self._ledger.extend(ledger(self.assignment))
        return self._ledger

    def part(self, part_id: str) -> Part | None:
        part = self.parts.get(part_id)
        return None if part is None else verified_part(self.assignment, part_id)

    def key(self, claim: Claim) -> KeyAnswer | str | None:
        """The key of `claim`, None when nothing is computed for it, or why it names
        nothing the key has (text)."""
        which = (claim.part, claim.kind, claim.quantity, claim.update)
        if which not in self.made:
            part = self.part(claim.part)
            if part is None:
                known = ", ".join(self.parts)
                self.made[which] = f"no part {claim.part!r}; the parts are {known}"
            else:
                try:
                    layout = self.assignment.grading.layout_of(claim.part)
                    others = siblings(self.assignment, part)
                    self.made[which] = key_for(
                        claim, part, self.assignment.notation, others, layout, self.numbers
                    )
                except ClaimError as exc:
                    self.made[which] = str(exc)
        return self.made[which]

    def verdict(self, claim: Claim) -> Verdict:
        """What `answerkey check` says of `claim`."""
        key = self.key(claim)
        if isinstance(key, str):
            return Verdict("unreadable", key)
        return check_claim(claim, key)


_WORK: tuple[_Keys, list[Claim]] | None = None  # what forked workers grade
_KEY: Assignment | None = None  # what forked workers verify


def _verify_in_worker(part_id: str) -> list[CheckRecord] | None:
    assert _KEY is not None
    try:
        return list(verified_part(_KEY, part_id).checks)
    except Exception:  # verified again in the parent, which raises it as `check` does
        return None


#: seconds without any result from the workers after which they are taken as stuck
STALL_SECONDS = 300.0


def forked_map(fn: Callable[[Any], Any], items: Sequence[Any], workers: int) -> list[Any] | None:
    """`fn` over `items` on `workers` processes forked now, in order; None when that is
    not safe or did not finish, and the caller does the work itself (same results):
    when another thread runs here (a fork copies the locks it holds, and a child that
    needs one waits for ever), or when no result came for `STALL_SECONDS` (a worker
    stuck all the same: the pool is terminated)."""
    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    gc.freeze()  # what the fork shares stays shared: a collection would copy its pages
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(min(workers, len(items)), initializer=_plain_signals) as pool:
            results = pool.imap(fn, items, chunksize=1)
            try:
                return [results.next(timeout=STALL_SECONDS) for _ in items]
            except multiprocessing.TimeoutError:
                pool.terminate()
                return None
    finally:
        gc.unfreeze()


def _plain_signals() -> None:
    """A worker ends quietly when the pool terminates it (SIGTERM), not through the
    command's own handler, which would print a KeyboardInterrupt traceback per worker;
    Ctrl-C is the parent's to handle."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def verify_parts(assignment: Assignment, part_ids: Sequence[str], workers: int) -> None:
    """Verify the parts `part_ids` of `assignment` (each as `check.verified_part`: an
    unknown part is one line, exit 2), several at once on `workers` processes forked
    now, their check records brought back here. A part no worker could verify is
    verified here, so any failure is the one `answerkey check` reports."""
    global _KEY
    parts = {p.id: p for p in assignment.parts()}
    for pid in part_ids:
        if pid not in parts:
            verified_part(assignment, pid)  # raises: no such part
    todo = [pid for pid in dict.fromkeys(part_ids) if not parts[pid].checks]
    if workers > 1 and len(todo) > 1:
        todo.reverse()  # the slowest parts (usually the last) first
        _KEY = assignment
        try:
            done = forked_map(_verify_in_worker, todo, workers)
        finally:
            _KEY = None
        for pid, checks in zip(todo, done or [None] * len(todo), strict=True):
            if checks:
                parts[pid].checks = checks
    for pid in part_ids:
        verified_part(assignment, pid)


def _grade_chunk(indices: Sequence[int]) -> list[Verdict]:
    assert _WORK is not None
    keys, claims = _WORK
    return [keys.verdict(claims[i]) for i in indices]


def chunks_for(claims: Sequence[Claim], workers: int) -> list[list[int]]:
    """Claim indices in the order the workers take them, in chunks. Each key's claims
    (the same part, kind, quantity and update) go together, the keys are dealt into
    `workers` streams of about equal length (the longest first), and the streams'
    chunks are interleaved: a worker takes the next chunk when it is free, so with
    chunks of about equal time worker k keeps taking stream k's, and a key's claims
    stay on one worker, whose SymPy caches warmed by the first serve the rest (rather
    than every worker warming every key). Chunks are small (at most 8, about 1/6 of a
    worker's share), so the last ones end together."""
    by_key: dict[tuple[Any, ...], list[int]] = {}
    for i, c in enumerate(claims):
        by_key.setdefault((c.part, c.kind, c.quantity, c.update), []).append(i)
    streams: list[list[int]] = [[] for _ in range(max(1, workers))]
    for ids in sorted(by_key.values(), key=len, reverse=True):
        min(streams, key=len).extend(ids)
    size = max(1, min(8, len(claims) // (max(1, workers) * 6)))
    chunked = [[s[k : k + size] for k in range(0, len(s), size)] for s in streams]
    return [c for group in itertools.zip_longest(*chunked) for c in group if c]


def grade_all(keys: _Keys, claims: list[Claim], workers: int) -> list[Verdict]:
    """The verdicts of `claims` (distinct), in order, on `workers` processes forked now."""
    global _WORK
    if workers <= 1 or len(claims) < 8:
        return [keys.verdict(c) for c in claims]
    for c in claims:  # the keys, made before forking: no worker makes them again
        keys.key(c)
    chunks = chunks_for(claims, workers)
    _WORK = (keys, claims)
    try:
        results = forked_map(_grade_chunk, chunks, workers)
    finally:
        _WORK = None
    if results is None:
        return [keys.verdict(c) for c in claims]
    verdicts: list[Verdict | None] = [None] * len(claims)
    for chunk, graded in zip(chunks, results, strict=True):
        for i, v in zip(chunk, graded, strict=True):
            verdicts[i] = v
    assert all(v is not None for v in verdicts), "a claim no worker graded"
    return [v for v in verdicts if v is not None]


def grade_claims_file(
    path: Path,
    assignment_id: str | None = None,
    term: str = "default",
    variant: int = 0,
    workers: int | None = None,
) -> list[tuple[Claim, Verdict]]:
    """`check.grade_file` on every core: each distinct claim graded once, in worker
    processes, with the same verdicts (`answerkey check --claims` runs this)."""
    claims_file = load_claims(path)
    aid = assignment_id or claims_file.assignment
    if not aid:
        raise UsageError(
            f'{path}: name the assignment (`assignment = "..."` or on the command line)'
        )
    assignment = key_assignment(aid, term, variant)
    n = workers if workers is not None else (os.cpu_count() or 1)
    verify_parts(assignment, [c.part for c in claims_file.claims], n)
    keys = _Keys(assignment)
    index: dict[tuple[Any, ...], int] = {}
    unique: list[Claim] = []
    for claim in claims_file.claims:
        k = distinct_key(claim.part, claim)
        if k not in index:
            index[k] = len(unique)
            unique.append(claim)
    verdicts = grade_all(keys, unique, n)
    return [(c, verdicts[index[distinct_key(c.part, c)]]) for c in claims_file.claims]


def grade_class(
    assignment_id: str,
    submissions: Sequence[Submission],
    term: str = "default",
    variant: int = 0,
    workers: int | None = None,
    layout: str | None = None,
) -> Gradebook:
    """Grade every student's answers against the key of `assignment_id` (for `term` and
    `variant`); `layout` overrides the assignment's layout policy for every part."""
    if not submissions:
        raise UsageError("no answers to grade")
    assignment = key_assignment(assignment_id, term, variant)
    if layout is not None:
        assignment.grading = replace(assignment.grading, layout=layout, layouts={})
    keys = _Keys(assignment)
    index: dict[tuple[Any, ...], int] = {}
    unique: list[Claim] = []
    for sub in submissions:
        for claim in sub.claims:
            k = distinct_key(claim.part, claim)
            if k not in index:
                index[k] = len(unique)
                unique.append(claim)
    n = workers if workers is not None else (os.cpu_count() or 1)
    # verified once, before any worker grades (an unknown part's answers are unreadable)
    verify_parts(assignment, sorted({c.part for c in unique} & set(keys.parts)), n)
    start = time.perf_counter()  # the key is loaded: from here on, grading
    verdicts = grade_all(keys, unique, n)
    grading = assignment.grading
    part_ids = tuple(keys.parts)
    students = []
    for sub in submissions:
        mine: dict[str, list[Graded]] = {}
        for claim in sub.claims:
            v = verdicts[index[distinct_key(claim.part, claim)]]
            mine.setdefault(claim.part, []).append(Graded(claim, v, credit(v, grading)))
        results = []
        for part_id in part_ids + tuple(p for p in mine if p not in keys.parts):
            graded = tuple(mine.get(part_id, ()))
            marks = grading.marks_of(part_id) if part_id in keys.parts else 0.0
            share = sum(g.credit for g in graded) / len(graded) if graded else 0.0
            results.append(PartResult(part_id, marks, round(marks * share, 4), graded))
        students.append(StudentResult(sub.student, tuple(results)))
    seconds = time.perf_counter() - start
    answers = sum(len(s.claims) for s in submissions)
    return Gradebook(
        assignment.id,
        assignment.title,
        part_ids,
        tuple(students),
        answers,
        len(unique),
        seconds,
    )
