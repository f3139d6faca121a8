"""`answerkey check`: one claimed answer, or a claims file, graded against the verified key.

The key a claim is judged against is computed and verified here, for the
term (and variant) asked for, but only the parts the claims concern: grading
one answer should not wait for the whole assignment's proofs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .claims import (
    Claim,
    ClaimError,
    KeyAnswer,
    Verdict,
    check,
    check_claim,
    key_for,
    load_claims,
)
from .claims.keys import siblings
from .errors import UsageError
from .model import Assignment, Part
from .numbers import ledger
from .registry import broken, discover, select
from .terms import load_term, variant_params
from .verify import verify_part


def key_assignment(assignment_id: str, term: str = "default", variant: int = 0) -> Assignment:
    """The assignment's document for `term` (and `variant`), not yet verified."""
    found = discover()  # a broken module beside this one does not stop its grading
    (module,) = select([assignment_id], found)
    the_term = load_term(term, found, absent_ok=bool(broken(found)))
    if variant < 0:
        raise UsageError(f"--variant must be >= 1, got {variant}")
    params = (
        variant_params(the_term, assignment_id, variant)
        if variant
        else the_term.params[assignment_id]
    )
    return module.build(params)


def verified_part(assignment: Assignment, part_id: str) -> Part:
    """The part `part_id`, verified (a key that fails its checks grades nothing)."""
    parts = {p.id: p for p in assignment.parts()}
    if part_id not in parts:
        raise UsageError(
            f"{assignment.id} has no part {part_id!r}; its parts are {', '.join(parts)}"
        )
    part = parts[part_id]
    if not part.checks:
        part.checks = verify_part(assignment.id, part)
    return part


def grade_one(
    assignment_id: str,
    part_id: str,
    answer: str,
    term: str = "default",
    variant: int = 0,
    quantity: str | None = None,
    update: int | None = None,
) -> Verdict:
    """The verdict on one claimed answer to one part (to its answer for `quantity`, LaTeX
    such as `\\frac{\\partial L}{\\partial w_1}`, when given; else to any of its answers).

    A `quantity` that names a number the key prints (its label in answers.json's
    `numbers`: `W_next`, `trace, update 2: L`; `update` picks a trace's update) grades
    the answer as that number."""
    assignment = key_assignment(assignment_id, term, variant)
    part = verified_part(assignment, part_id)
    layout = assignment.grading.layout_of(part_id)
    others = siblings(assignment, part)
    key = None
    if update is None:
        key = KeyAnswer.from_part(
            part, notation=assignment.notation, quantity=quantity, siblings=others, layout=layout
        )
    if key is None and (quantity is not None or update is not None):  # a printed number
        claim = Claim(part_id, answer, "numeric", quantity=quantity, update=update)
        try:
            key = key_for(
                claim, part, assignment.notation, others, layout, lambda: ledger(assignment)
            )
        except ClaimError as exc:
            raise UsageError(f"{assignment_id}: {exc}") from None
    if key is None:
        raise UsageError(f"{assignment_id} part {part_id} has no single answer to check against")
    return check(answer, key)


def grade_file(
    path: Path, assignment_id: str | None = None, term: str = "default", variant: int = 0
) -> list[tuple[Claim, Verdict]]:
    """Every claim of a claims file (TOML: ``[[claim]]`` with ``part`` and ``answer``)."""
    claims_file = load_claims(path)
    aid = assignment_id or claims_file.assignment
    if not aid:
        raise UsageError(
            f'{path}: name the assignment (`assignment = "..."` or on the command line)'
        )
    assignment = key_assignment(aid, term, variant)
    numbers: list[dict[str, Any]] = []

    def printed() -> list[dict[str, Any]]:  # the ledger, made once if a claim needs it
        if not numbers:
            numbers.extend(ledger(assignment))
        return numbers

    out = []
    for claim in claims_file.claims:
        part = verified_part(assignment, claim.part)
        layout = assignment.grading.layout_of(claim.part)
        try:
            key = key_for(
                claim, part, assignment.notation, siblings(assignment, part), layout, printed
            )
        except ClaimError as exc:
            out.append((claim, Verdict("unreadable", str(exc))))
            continue
        out.append((claim, check_claim(claim, key)))
    return out


def table(rows: list[tuple[Claim, Verdict]], width: Callable[[str], int] = len) -> str:
    """Part, verdict and counterexample (or reason) as an aligned plain-text table."""
    header = ("part", "verdict", "counterexample / reason")
    lines = [header]
    for claim, v in rows:
        where = claim.part + (f" (update {claim.update}, {claim.quantity})" if claim.update else "")
        if claim.kind == "numeric" and claim.quantity and not claim.update:
            where += f" ({claim.quantity})"
        detail = str(v.counterexample) if v.counterexample else ("" if v.correct else v.reason)
        if v.status == "transposed":
            detail = f"{v.reason}; {v.policy()}"
        if v.mistake:
            detail = f"{v.mistake}; {detail}" if detail else v.mistake
        lines.append((where, v.status, detail))
    w0 = max(width(r[0]) for r in lines)
    w1 = max(width(r[1]) for r in lines)
    return "\n".join(f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in lines)
