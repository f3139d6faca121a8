"""Every answer a key prints reads back as itself.

The key's boxed answers and derivation lines are printed by `answerkey.printing`;
a student who copies one into `answerkey check` must get "correct". So each
printed line is read by the claims reader and judged against the object it was
printed from, at the derivation's instances; the build fails when one does not
read back. This keeps reader and printer in step whatever the printer prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import printing
from ..errors import VerificationError
from ..model import Assignment, Instance, Part
from .judging import judge
from .keys import part_symbols
from .reading import ClaimError
from .shapes import parse_claim

Printer = Callable[[Any, Mapping[str, str]], str]

#: (printed LaTeX, what it was printed from, instances, symbols) -> (instances, problem).
#: Instances are keyed by identity (they hold dicts) and kept alive by the entry.
_MEMO: dict[tuple[Any, ...], tuple[Sequence[Instance], str | None]] = {}


def printed_lines(part: Part) -> Iterator[tuple[str, list[Any], Sequence[Instance]]]:
    """What the key prints as maths for `part`: (where, the objects of the line, instances).

    A derivation line is its step; a boxed answer is `lhs = answer` (two members)."""
    for d in part.derivations:
        yield "derivation of " + str(d.lhs), [d.lhs], d.instances
        for k, s in enumerate(d.steps, start=1):
            yield f"step {k} of the derivation of {d.lhs}", [s.expr], d.instances
    insts = {d.lhs: d.instances for d in part.derivations}
    last = part.derivations[-1].instances if part.derivations else ()
    for lhs, answer in part.results:
        objs = [answer] if lhs is None else [lhs, answer]
        yield "boxed answer", objs, insts.get(lhs, last)


def problem(
    latex: str, objs: Sequence[Any], instances: Sequence[Instance], symbols: Mapping[str, Any]
) -> str | None:
    """Why `latex` (printed from `objs`, `=`-joined) does not read back as them; None if it does."""
    memo = (latex, tuple(objs), tuple(map(id, instances)), tuple(sorted(symbols)))
    if memo not in _MEMO:
        _MEMO[memo] = (instances, _problem(latex, objs, instances, symbols))
    return _MEMO[memo][1]


def _problem(
    latex: str, objs: Sequence[Any], instances: Sequence[Instance], symbols: Mapping[str, Any]
) -> str | None:
    try:
        parsed = parse_claim(latex, symbols)
    except ClaimError as exc:
        return f"unreadable: {exc}{_advice(objs)}"
    if parsed.is_numeric and len(parsed.members) == 1 and len(objs) == 2:
        objs = objs[1:]  # `L = 0.2417`: numbers read with their name as a label
    if len(parsed.members) != len(objs):
        return f"reads as {len(parsed.members)} members, printed from {len(objs)}"
    for k, (member, obj) in enumerate(zip(parsed.members, objs, strict=True)):
        if _same(member, obj):
            continue
        decimals = parsed.decimals if k == len(objs) - 1 else None
        v = judge(member, obj, list(instances) or None, decimals=decimals, points=8, prove=False)
        if not v.correct:
            cex = f"; {v.counterexample}" if v.counterexample else ""
            return f"read as {parsed.reading}: {v.status}, {v.reason}{cex}"
    return None


def _advice(objs: Sequence[Any]) -> str:
    """What to write instead of a line the reader cannot read, when its cause is known: an
    entry of a matrix (``P[i, j]`` or ``P[0, 1]``, printed P_{i,j}), which the reader does
    not read (it reads the entries of vectors, p_k)."""
    for obj in objs:
        if not isinstance(obj, sp.Basic):
            continue
        for e in sorted(obj.atoms(MatrixElement), key=sp.default_sort_key):
            if 1 in e.parent.shape:
                continue
            m, i, j = e.parent, e.i, e.j
            at = "".join(str(k + 1) if k.is_Integer else str(k) for k in (i, j))
            return (
                f"; the reader does not read an entry of a matrix ({m}[{i}, {j}]): write the "
                f"line for the whole matrix {m}, or give the entry a scalar's name "
                f"(sp.Symbol('{m}_{{{at}}}'), defined in the instance)"
            )
    return ""


def _same(member: Any, obj: Any) -> bool:
    try:
        return bool(sp.sympify(member) == sp.sympify(obj))
    except (sp.SympifyError, TypeError):
        return False


def check_part(assignment: Assignment, part: Part, printer: Printer | None = None) -> list[str]:
    """Every printed line of `part` that does not read back, as `where: LaTeX: why`.

    `printer` defaults to the key's own (`answerkey.printing.latex`, looked up now)."""
    printer = printer or printing.latex
    symbols = part_symbols(part, assignment.notation)
    out = []
    for where, objs, instances in printed_lines(part):
        latex = " = ".join(printer(o, assignment.notation) for o in objs)
        why = problem(latex, objs, instances, symbols)
        if why is not None:
            out.append(f"{where}: {latex}: {why}")
    return out


def check_assignment(assignment: Assignment, printer: Printer | None = None) -> int:
    """Refuse a key whose printed answers the claims reader cannot read back as themselves.

    Returns the number of lines checked; raises `VerificationError` on the first part
    with a line that does not read back."""
    count = 0
    for part in assignment.parts():
        bad = check_part(assignment, part, printer)
        if bad:
            raise VerificationError(
                f"{assignment.id}, part {part.id}",
                f"the key prints a line `answerkey check` does not read back as itself: {bad[0]}",
            )
        count += sum(1 for _ in printed_lines(part))
    return count
