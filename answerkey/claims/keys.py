"""Claims against a part's key, claims files and the errata of earlier solutions."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sympy as sp

from ..model import Assignment, Instance, Part
from .judging import Mistakes, Verdict, _to_numbers, judge
from .mistakes import typical_mistakes
from .reading import ClaimError, ClaimShapeError, canonical_name
from .shapes import default_symbols, parse_claim

# ---------------------------------------------------------------------------
# Checking against a part, and claims files


@dataclass(frozen=True)
class KeyAnswer:
    """Everything needed to check claims for one part (or one value of a trace)."""

    answer: Any
    symbols: Mapping[str, Any] = field(default_factory=dict)
    instances: Sequence[Instance] = ()
    lhs: Any = None
    mistakes: Sequence[tuple[str, Any]] | None = None  # None: typical_mistakes(answer)

    @classmethod
    def from_part(
        cls,
        part: Part,
        symbols: Mapping[str, Any] | None = None,
        notation: Mapping[str, str] | None = None,
        quantity: str | None = None,
    ) -> KeyAnswer | None:
        """The key of a part: its final answer, its last derivation's instances, its symbols.

        Without `symbols`: the part's `data["symbols"]`, or else every name in the
        part's answer, derivations and definitions, written as the key prints them
        (`notation` is `Assignment.notation`). `quantity` (LaTeX, e.g.
        `\\frac{\\partial L}{\\partial w_1}`) picks the derivation of that quantity
        instead of the final answer; None when the part has no such derivation.
        """
        if symbols is None:
            symbols = part_symbols(part, notation)
        if quantity is not None:
            try:
                target = parse_claim(quantity, symbols).expr
            except ClaimError:
                return None
            for d in part.derivations:
                if d.lhs == target:
                    return cls(d.steps[-1].expr, dict(symbols), tuple(d.instances), d.lhs)
            return None
        if part.final is None:
            return None
        insts = tuple(part.derivations[-1].instances) if part.derivations else ()
        return cls(part.final, dict(symbols), insts, part.final_lhs)

    def typical_mistakes(self) -> list[tuple[str, Any]]:
        if self.mistakes is not None:
            return list(self.mistakes)
        if _to_numbers(self.answer) is not None:
            return []
        inst = self.instances[0] if self.instances else None
        names = {}
        for latex, obj in self.symbols.items():
            try:
                names[obj] = canonical_name(latex).replace("\\", "")
            except ClaimError:
                continue
        return typical_mistakes(self.answer, lhs=self.lhs, instance=inst, names=names)


def part_symbols(part: Part, notation: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The names a claim about `part` may use: the part's `data["symbols"]`, or else
    every name in its answer, derivations and definitions, written as the key prints
    them (`notation` is `Assignment.notation`)."""
    given = part.data.get("symbols") if part.data else None
    if given is not None:
        return dict(given)
    exprs = [part.final, part.final_lhs]
    for d in part.derivations:
        exprs += [d.lhs, *(s.expr for s in d.steps)]
        for i in d.instances:
            exprs += [*i.defs.keys(), *i.defs.values()]
    return default_symbols(*exprs, notation=notation)


def check(latex: str, key: KeyAnswer, *, seed: int = 0) -> Verdict:
    """Parse and judge a claim against a part's key; never raises for a bad claim.

    Every member of an `a = b` chain must equal the answer.
    """
    try:
        parsed = parse_claim(latex, key.symbols)
    except ClaimShapeError as exc:
        return Verdict("incorrect", f"the dimensions do not fit: {exc}", reading=exc.reading)
    except ClaimError as exc:
        return Verdict("unreadable", str(exc))
    mistakes: Mistakes = None
    if _to_numbers(key.answer) is None:
        mistakes = functools.cache(key.typical_mistakes)
    verdict: Verdict | None = None
    for k, member in enumerate(parsed.members):
        decimals = parsed.decimals if k == len(parsed.members) - 1 else None
        v = judge(
            member,
            key.answer,
            list(key.instances) or None,
            mistakes=mistakes,
            decimals=decimals,
            seed=seed,
        )
        if len(parsed.members) > 1 and not v.correct:
            v = Verdict(
                v.status,
                f"member {k + 1} of the chain {v.reason}",
                v.counterexample,
                v.mistake,
                how=v.how,
            )
        verdict = v
        if not v.correct:
            break
    assert verdict is not None
    return Verdict(
        verdict.status,
        verdict.reason,
        verdict.counterexample,
        verdict.mistake,
        parsed.reading,
        parsed.notes,
        verdict.how,
    )


ClaimKind = Literal["formula", "text", "numeric"]


@dataclass(frozen=True)
class Claim:
    """One transcribed claim: `answer` as written; `formula` what a text answer implies."""

    part: str
    answer: str
    kind: ClaimKind = "formula"
    formula: str | None = None
    quantity: str | None = None  # numeric traces: which reported value ("L", "w", ...)
    update: int | None = None  # numeric traces: which update (1-based)
    note: str = ""

    @property
    def checked(self) -> str | None:
        """The LaTeX that is machine-checked, or None for prose."""
        return self.formula if self.kind == "text" else self.answer


@dataclass(frozen=True)
class ClaimsFile:
    assignment: str
    source: str
    claims: tuple[Claim, ...]


def load_claims(path: str | Path) -> ClaimsFile:
    """Read a claims TOML file (top-level `assignment`, `source`, then `[[claim]]` tables)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ClaimError(f"{p}: cannot read the claims file: {exc}") from None
    rows = data.get("claim", [])
    if not isinstance(rows, list):
        raise ClaimError(f"{p}: 'claim' must be a list of [[claim]] tables")
    claims = []
    allowed = {"part", "answer", "kind", "formula", "quantity", "update", "note"}
    for k, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or "part" not in row or "answer" not in row:
            raise ClaimError(f"{p}: claim {k} needs 'part' and 'answer'")
        extra = set(row) - allowed
        if extra:
            raise ClaimError(f"{p}: claim {k} has unknown field(s) {', '.join(sorted(extra))}")
        kind = row.get("kind", "formula")
        if kind not in ("formula", "text", "numeric"):
            raise ClaimError(f"{p}: claim {k}: kind must be formula, text or numeric")
        claims.append(
            Claim(
                str(row["part"]),
                str(row["answer"]),
                kind,
                row.get("formula"),
                row.get("quantity"),
                row.get("update"),
                str(row.get("note", "")),
            )
        )
    return ClaimsFile(str(data.get("assignment", "")), str(data.get("source", "")), tuple(claims))


@dataclass(frozen=True)
class Erratum:
    """A claim with its computed verdict, for the key's errata section and answers.json."""

    claim: Claim
    verdict: Verdict

    def to_json(self) -> dict[str, Any]:
        cex = self.verdict.counterexample
        return {
            "part": self.claim.part,
            "claim": self.claim.answer,
            "verdict": self.verdict.status,
            "counterexample": str(cex) if cex else None,
            "reason": self.verdict.reason,
            "reading": self.verdict.reading,
            "mistake": self.verdict.mistake,
            "quantity": self.claim.quantity,
            "update": self.claim.update,
            "note": self.claim.note,
        }


_VERDICTS: dict[tuple[Any, ...], Verdict] = {}


def check_claim(claim: Claim, key: KeyAnswer | None, *, seed: int = 0) -> Verdict:
    """The verdict on one transcribed claim; prose and claims without a key are unreadable.

    Verdicts are remembered per (claim, key) in this process: the variants of a
    term share their number-free parts, so their errata are judged once.
    """
    if key is None:
        return _check_claim(claim, key, seed=seed)
    memo = (
        claim,
        sp.srepr(key.answer) if isinstance(key.answer, sp.Basic) else repr(key.answer),
        repr(key.instances),
        tuple(sorted(key.symbols)),
        seed,
    )
    if memo not in _VERDICTS:
        _VERDICTS[memo] = _check_claim(claim, key, seed=seed)
    return _VERDICTS[memo]


def _check_claim(claim: Claim, key: KeyAnswer | None, *, seed: int = 0) -> Verdict:
    latex = claim.checked
    if latex is None:
        return Verdict("unreadable", "a prose answer; not machine-checkable")
    if key is None:
        return Verdict("unreadable", f"no computed answer to check part {claim.part} against")
    v = check(latex, key, seed=seed)
    if claim.kind == "text":
        v = Verdict(
            v.status,
            f"{v.reason} (checked as {latex})",
            v.counterexample,
            v.mistake,
            v.reading,
            v.notes,
            v.how,
        )
    return v


def errata(
    claims: Iterable[Claim], resolve: Callable[[Claim], KeyAnswer | None], *, seed: int = 0
) -> list[Erratum]:
    """Check every claim against the key `resolve` finds for it (None: nothing to check)."""
    return [Erratum(c, check_claim(c, resolve(c), seed=seed)) for c in claims]


def key_for(
    claim: Claim, part: Part | None, notation: Mapping[str, str] | None = None
) -> KeyAnswer | None:
    """What `claim` is checked against in `part` (None: nothing computed to check it with).

    A numeric claim with `quantity` and `update` is checked against
    `part.data["trace"][update - 1][quantity]`; a formula against the part's final
    answer, or against the derivation of `quantity` when the claim names one.
    """
    if part is None:
        return None
    if claim.kind == "numeric" or claim.update is not None:
        trace = part.data.get("trace") if part.data else None
        if not trace or claim.update is None or claim.quantity is None:
            return None
        k = claim.update - 1
        if not 0 <= k < len(trace) or claim.quantity not in trace[k]:
            return None
        return KeyAnswer(trace[k][claim.quantity])
    return KeyAnswer.from_part(part, notation=notation, quantity=claim.quantity)


def audit(assignment: Assignment, claims: Iterable[Claim], *, seed: int = 0) -> list[Erratum]:
    """The errata of an earlier published solution: every claim checked against the key."""
    parts = {p.id: p for p in assignment.parts()}
    return errata(claims, lambda c: key_for(c, parts.get(c.part), assignment.notation), seed=seed)


CLAIMS_DIR = Path(__file__).resolve().parents[2] / "solutions" / "claims"


def errata_for(assignment: Assignment, original_numbers: bool) -> list[Erratum]:
    """The computed errata of the earlier published solution of `assignment`.

    Claims come from ``solutions/claims/<id>.toml``. Numeric claims (a trace's
    values) are about the original numbers, so they are checked only when the
    key uses them; formula claims hold for any term.
    """
    path = CLAIMS_DIR / f"{assignment.id}.toml"
    if not path.exists():
        return []
    claims = [c for c in load_claims(path).claims if c.kind != "numeric" or original_numbers]
    return audit(assignment, claims)


def claimed_expression(erratum: Erratum, assignment: Assignment) -> Any | None:
    """The claim as read (SymPy), for printing in the key; None for prose or numbers."""
    claim = erratum.claim
    latex = claim.checked
    if latex is None or claim.kind == "numeric":
        return None
    part = next((p for p in assignment.parts() if p.id == claim.part), None)
    if part is None:
        return None
    key = KeyAnswer.from_part(part, notation=assignment.notation, quantity=claim.quantity)
    if key is None:
        return None
    try:
        parsed = parse_claim(latex, key.symbols)
    except ClaimError:
        return None
    return None if parsed.is_numeric else parsed.expr
