"""The errata a key prints, made by the build before rendering: the verdicts and their maths.

An earlier published solution's claims (``solutions/claims/<id>.toml``) are judged
against the key (`judged`, remembered by content in the proof cache), and each
incorrect one gets the right answer to print beside it (`maths`). Both happen in
the build, never while rendering: the renderer only lays out what it is given
(`Assignment.errata` and `Assignment.errata_maths`).
"""

from __future__ import annotations

from typing import Any

from . import claims, proofcache
from .model import Assignment


def judged(assignment: Assignment, original_numbers: bool) -> list[Any]:
    """`claims.errata_for`, judged again only when the assignment's content, its claims
    file or the engine changed (judging the claims is most of an edit's rebuild)."""
    try:
        text: bytes | None = (claims.CLAIMS_DIR / f"{assignment.id}.toml").read_bytes()
    except OSError:
        text = None
    return proofcache.remembered(
        ("errata", assignment, original_numbers, text),
        lambda: claims.errata_for(assignment, original_numbers),
        claims.Erratum,
    )


def maths(assignment: Assignment) -> list[tuple[Any, Any]]:
    """Per erratum of `assignment.errata`: the claim as read and the right answer, as
    maths (None: not shown). The same for every format, so read once per assignment."""
    parts = {part.id: part for part in assignment.parts()}
    out: list[tuple[Any, Any]] = []
    for e in assignment.errata:
        c, v = e.claim, e.verdict
        right = None
        part = parts.get(c.part)
        if v.status == "incorrect" and part is not None:
            if c.update and c.quantity and "trace" in part.data:
                row = part.data["trace"][c.update - 1]
                right = row.get(c.quantity)
            else:
                key = claims.KeyAnswer.from_part(
                    part,
                    notation=assignment.notation,
                    quantity=c.quantity if not c.update else None,
                )
                if key is not None:
                    right = key.answer if key.lhs is None else (key.lhs, key.answer)
        out.append((claims.claimed_expression(e, assignment), right))
    return out


def attach(assignment: Assignment, errata: list[Any]) -> None:
    """Give the key its errata and their maths (what rendering the key needs of them)."""
    assignment.errata = errata
    assignment.errata_maths = maths(assignment)
