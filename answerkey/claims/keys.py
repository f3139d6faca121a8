"""Claims against a part's key, claims files and the errata of earlier solutions."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from ..mathfns import D
from ..model import Assignment, Instance, Part
from ..numbers import ledger as numbers_ledger
from ..printing import DECIMALS
from ..quantity import apart
from . import budget, indices
from .files import Claim, load_claims
from .judging import SIGNIFICANT_FIGURES, Mistakes, Verdict, judge, to_numbers
from .mistakes import (
    NO_BIAS_CORRECTION,
    SIGN_FLIPPED,
    conventional_names,
    numeric_mistakes,
    show,
    typical_mistakes,
)
from .reading import ClaimError, ClaimShapeError, Parsed, canonical_name, display_name
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
    #: the part's other answers (each derivation's result): a claim may answer any of them
    others: tuple[KeyAnswer, ...] = ()
    #: significant figures a number must match (the part's `data["significant_figures"]`)
    figures: int = SIGNIFICANT_FIGURES
    #: decimals the key prints its numbers with (the part's, or `printing.DECIMALS`)
    printed: int = DECIMALS
    #: the exercise's definitions (every part's), for mistakes such as one layer off
    layers: Mapping[Any, Any] = field(default_factory=dict)
    #: whether an answer equal up to layout earns the mark (`model.Grading.layout`)
    layout: str = "accept"
    #: the answer's other printed forms (its derivation's lines), for mistakes made on one
    forms: tuple[Any, ...] = ()
    #: more named mistakes, made only when a claim is wrong (a printed number's, from the
    #: definitions it is computed from); before `mistakes`
    derived: Callable[[], list[tuple[str, Any]]] | None = None

    @classmethod
    def from_part(
        cls,
        part: Part,
        symbols: Mapping[str, Any] | None = None,
        notation: Mapping[str, str] | None = None,
        quantity: str | None = None,
        siblings: Sequence[Part] = (),
        layout: str = "accept",
    ) -> KeyAnswer | None:
        """The key of a part: its final answer, its last derivation's instances, its symbols.

        Without `symbols`: the part's `data["symbols"]`, or else every name in the
        part's answer, derivations and definitions, written as the key prints them
        (`notation` is `Assignment.notation`). `quantity` (LaTeX, e.g.
        `\\frac{\\partial L}{\\partial w_1}`) picks the derivation of that quantity
        instead of the final answer; None when the part has no such derivation.
        `layout` is the course's policy for an answer equal up to layout
        (`model.Grading.layout_of(part.id)`).
        """
        if symbols is None:
            symbols = part_symbols(part, notation)
            own = set(symbols)
            for other in siblings:  # the exercise's other names: `x` in part 4 too
                for name, obj in part_symbols(other, notation).items():
                    if name not in symbols or (
                        name not in own
                        and isinstance(obj, sp.MatrixSymbol)
                        and not isinstance(symbols[name], sp.MatrixSymbol)
                    ):  # a vector x over a scalar x of another part's single unit
                        symbols[name] = obj
        figures = _figures(part)
        layers: dict[Any, Any] = {}
        for p in [part, *siblings]:
            for d in p.derivations:
                for inst in d.instances:
                    for var, definition in inst.defs.items():
                        layers.setdefault(var, definition)
        every = [
            cls(
                a,
                dict(symbols),
                tuple(i),
                lhs,
                figures=figures,
                printed=_printed(part),
                layers=layers,
                layout=layout,
                forms=forms,
            )
            for lhs, a, i, forms in _answers(part)
        ]
        if quantity is not None:
            try:
                target = parse_claim(quantity, symbols).expr
            except ClaimError:
                return None
            chosen = [k for k in every if same_quantity(k.lhs, target)]
            return chosen[-1] if chosen else None
        if not every:
            return None
        primary = every[0]
        return replace(primary, others=tuple(every[1:]))

    def candidates(self) -> list[KeyAnswer]:
        """This answer first, then the part's others."""
        return [self, *self.others]

    def families(self) -> indices.Families:
        """The part's names with index letters (`δ_j`, `z_i`, `ΔW_{i→j}`)."""
        names = {}
        for latex, obj in self.symbols.items():
            try:
                names[canonical_name(latex)] = obj
            except ClaimError:
                continue
        return indices.Families.of(names)

    def typical_mistakes(self) -> list[tuple[str, Any]]:
        if self.mistakes is not None:
            named: list[tuple[str, Any]] = []
            if self.derived is not None:
                try:
                    named = self.derived()
                except Exception:  # a mistake that cannot be derived is not offered
                    named = []
            return named + list(self.mistakes)
        if to_numbers(self.answer) is not None:
            return []
        inst = self.instances[0] if self.instances else None
        names = {}
        for latex, obj in self.symbols.items():
            try:
                names[obj] = display_name(canonical_name(latex))
            except ClaimError:
                continue
        found = typical_mistakes(
            self.answer,
            lhs=self.lhs,
            instance=inst,
            names=names,
            layers=self.layers,
            forms=self.forms,
        )
        return found + _swapped_indices(self.answer, self.families())


def _swapped_indices(answer: Any, families: indices.Families) -> list[tuple[str, Any]]:
    """A rule with its index letters exchanged (`-θ δ_i z_j` for `-θ δ_j z_i`)."""
    used = families.used(answer)
    out = []
    for to in indices.swaps(indices.letters(used)):
        moved = sorted((a, b) for a, b in to.items() if a != b)
        shown = (
            f"{moved[0][0]} and {moved[0][1]} exchanged"
            if len(moved) == 2
            else ", ".join(f"{a} as {b}" for a, b in moved)
        )
        try:
            out.append(
                (
                    f"indices swapped: {shown}",
                    sp.sympify(answer).xreplace(families.renamed(used, to)),
                )
            )
        except (TypeError, AttributeError, sp.SympifyError):
            continue
    return out


def _printed(part: Part) -> int:
    return part.decimals if part.decimals is not None else DECIMALS


def _figures(part: Part) -> int:
    figures = part.data.get("significant_figures") if part.data else None
    return figures if isinstance(figures, int) and figures > 0 else SIGNIFICANT_FIGURES


def _answers(part: Part) -> list[tuple[Any, Any, Sequence[Instance], tuple[Any, ...]]]:
    """(quantity, answer, instances, other printed forms) of every answer of `part`: the
    boxed one first, then each derivation's result (latest first); the same answer at the
    same instances once. The forms are the lines of the answer's derivation."""
    out: list[tuple[Any, Any, Sequence[Instance], tuple[Any, ...]]] = []
    last = tuple(part.derivations[-1].instances) if part.derivations else ()

    def lines(lhs: Any) -> tuple[Any, ...]:
        for d in reversed(part.derivations):
            if d.lhs == lhs:
                return tuple(st.expr for st in d.steps[:-1] if not isinstance(st.expr, D))
        return ()

    if part.final is not None:
        out.append((part.final_lhs, part.final, last, lines(part.final_lhs)))
    for d in reversed(part.derivations):
        item = (d.lhs, d.steps[-1].expr, tuple(d.instances), lines(d.lhs))
        if not any(o[0] == item[0] and o[1] == item[1] and o[2] == item[2] for o in out):
            out.append(item)
    return out


def same_quantity(a: Any, b: Any) -> bool:
    """`a` and `b` name the same quantity: equal, or dL/do_j and dL/do_k (components of
    one vector, by whatever index letter)."""
    if a is None or b is None:
        return False
    if a == b:
        return True
    if isinstance(a, D) and isinstance(b, D) and a.f == b.f:
        xa, xb = a.x, b.x
        return isinstance(xa, sp.Indexed) and isinstance(xb, sp.Indexed) and xa.base == xb.base
    return False


def part_symbols(part: Part, notation: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The names a claim about `part` may use: the part's `data["symbols"]`, or else
    every name in its answer, derivations and definitions, written as the key prints
    them (`notation` is `Assignment.notation`)."""
    given = part.data.get("symbols") if part.data else None
    if given is not None:
        return dict(given)
    exprs = [part.final, part.final_lhs]
    defs: dict[Any, Any] = {}
    for d in part.derivations:
        exprs += [d.lhs, *(s.expr for s in d.steps)]
        for i in d.instances:
            exprs += [*i.defs.keys(), *i.defs.values()]
            for var, definition in i.defs.items():
                defs.setdefault(var, definition)
    try:  # by content: a part's table is asked for once per claim and sibling
        memo = (tuple(exprs), tuple(sorted((notation or {}).items())))
        return dict(_PART_SYMBOLS[memo])
    except TypeError:  # something unhashable (a mutable matrix): no memo
        return _part_symbols(exprs, notation, defs)
    except KeyError:
        if len(_PART_SYMBOLS) >= 256:
            _PART_SYMBOLS.clear()
        _PART_SYMBOLS[memo] = _part_symbols(exprs, notation, defs)
        return dict(_PART_SYMBOLS[memo])


#: part_symbols' tables by (the part's expressions, notation)
_PART_SYMBOLS: dict[tuple[Any, ...], dict[str, Any]] = {}


def _part_symbols(
    exprs: list[Any], notation: Mapping[str, str] | None, defs: Mapping[Any, Any] | None = None
) -> dict[str, Any]:
    table = default_symbols(*exprs, notation=notation)
    for name, obj in conventional_names(defs or {}).items():  # x̂, μ_B, σ_B^2
        table.setdefault(name, obj)
    for e in exprs:  # the sizes (K classes, m samples) are numbers a claim may use
        if isinstance(e, sp.Basic):
            for m in e.atoms(sp.MatrixSymbol):
                for size in (
                    sp.sympify(m.shape[0]).free_symbols | sp.sympify(m.shape[1]).free_symbols
                ):
                    table.setdefault(sp.latex(size), size)
    return table


def check(latex: str, key: KeyAnswer, *, seed: int = 0) -> Verdict:
    """Parse and judge a claim against a part's key; never raises for a bad claim.

    Every member of an `a = b` chain must equal the answer. An answer equal to the key
    up to layout is "transposed", and earns the mark as the key's `layout` policy says.
    A claim past the budget (`answerkey.claims.budget`) is unreadable, too large to check.
    """
    try:
        with budget.time_limit(budget.CLAIM_SECONDS):
            return _check(latex, key, seed=seed)
    except budget.OutOfTime:
        return Verdict(
            "unreadable",
            f"too large to check: no verdict within {budget.CLAIM_SECONDS:g} s",
        )


def _check(latex: str, key: KeyAnswer, *, seed: int) -> Verdict:
    try:
        parsed = parse_claim(latex, key.symbols)
    except ClaimShapeError as exc:
        return Verdict("incorrect", f"the dimensions do not fit: {exc}", reading=exc.reading)
    except ClaimError as exc:
        rhs = _right_of_unread_name(latex, str(exc))
        if rhs is None:
            return Verdict("unreadable", str(exc))
        v = _check(rhs, key, seed=seed)
        note = (
            f"the left side {latex[: len(latex) - len(rhs) - 1].strip()} names nothing of this part"
        )
        return replace(v, notes=(*v.notes, note + "; the right side is graded"))
    verdict, note = None, ""
    for reading, how in _index_readings(parsed, key):
        v = _judge_parsed(reading, key, seed=seed)
        if v.correct or v.status == "transposed":
            verdict, note = v, how
            break
        if verdict is None or (verdict.mistake is None and v.mistake is not None):
            verdict, note = v, how
    assert verdict is not None
    notes = (*parsed.notes, note) if note else parsed.notes
    return replace(verdict, reading=parsed.reading, notes=notes, layout=key.layout)


def _index_readings(parsed: Parsed, key: KeyAnswer) -> list[tuple[Parsed, str]]:
    """The claim with its index letters read as the rule's (`ΔW_{k→l} = -θ δ_l z_k` as
    ΔW_{i→j} = -θ δ_j z_i), each with a note saying so; the claim as written when it
    uses no letters the rule does not (the rule's own letters keep their meaning)."""
    families = key.families()
    used = families.used(*parsed.members)
    rule_used = families.used(*(x for c in key.candidates() for x in (c.answer, c.lhs)))
    rule = indices.letters(rule_used)
    if not used or not rule:
        return [(parsed, "")]
    maps: list[dict[str, str]] = []
    first = parsed.members[0] if len(parsed.members) > 1 else None
    lhs = [families.letters_of(c.lhs) for c in key.candidates()]
    mine = families.letters_of(first)
    named = [x for x in lhs if x is not None and mine is not None and x[0] == mine[0]]
    if mine is not None and named:  # the left side names the rule's quantity: its letters
        pairs = set(zip(mine[1], named[0][1], strict=True))
        if len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs}):
            maps = [dict(pairs)]
    else:
        maps = list(indices.mappings(indices.letters(used), rule))
    out = []
    for to in maps:
        if all(a == b for a, b in to.items()):
            continue
        subs = families.renamed(used, to)
        members = tuple(sp.sympify(m).xreplace(subs) for m in parsed.members)
        shown = ", ".join(f"{a} as {b}" for a, b in sorted(to.items()))
        out.append((replace(parsed, members=members), f"index letters read as the rule's: {shown}"))
    return out or [(parsed, "")]


def _judge_parsed(parsed: Parsed, key: KeyAnswer, *, seed: int) -> Verdict:
    """A read claim against the part's answers: the first it equals (as written, else up
    to layout), else the first with the typical mistakes named."""
    members = list(parsed.members)
    candidates = key.candidates()
    if len(members) > 1:  # `\frac{\partial L}{\partial w_1} = ...`: the left side says which
        named = [c for c in candidates if same_quantity(c.lhs, members[0])]
        if not named and isinstance(members[0], sp.Transpose):
            # `\nabla_z E = ...`: the gradient, the key's quantity transposed, names its
            # layout; the right side is compared with the key's answer transposed
            named = [
                replace(c, answer=_transposed(c.answer), lhs=members[0], others=())
                for c in candidates
                if same_quantity(c.lhs, members[0].arg)
            ]
        if named:
            candidates, members = named, members[1:]
    verdict, reported = None, candidates[0]
    layout: tuple[Verdict, KeyAnswer] | None = None
    for k, c in enumerate(candidates):
        v = _judge_members(parsed, members, c, seed=seed, mistakes=False)
        if v.correct:
            return _for_which(v, c, key)
        if v.status == "transposed" and layout is None:
            layout = (v, c)
        if k == 0 or (verdict is not None and verdict.reason.startswith("it is a")):
            verdict, reported = v, c
    if layout is not None:  # equal to none as written, to one up to layout
        return _for_which(*layout, key)
    assert verdict is not None
    # the one reported: with its typical mistakes
    verdict = _judge_members(parsed, members, reported, seed=seed, mistakes=True)
    for c in candidates:  # else the first answer whose typical mistake it is
        if verdict.mistake is not None or verdict.status != "incorrect":
            break
        if c is not reported:
            v = _judge_members(parsed, members, c, seed=seed, mistakes=True)
            if v.mistake is not None:
                verdict, reported = v, c
    if len(key.candidates()) > 1 and reported.lhs is not None and len(candidates) > 1:
        verdict = replace(
            verdict,
            reason=f"{verdict.reason} (for {show(reported.lhs, _names(reported))}; "
            "it equals none of the part's answers)",
        )
    return verdict


def _transposed(answer: Any) -> Any:
    return answer.T if hasattr(answer, "T") and getattr(answer, "shape", None) else answer


def _for_which(v: Verdict, c: KeyAnswer, key: KeyAnswer) -> Verdict:
    """`v` saying which of the part's answers the claim equals, when it has several."""
    if len(key.candidates()) > 1 and c.lhs is not None:
        return replace(v, reason=f"{v.reason} for {show(c.lhs, _names(c))}")
    return v


def _right_of_unread_name(latex: str, error: str) -> str | None:
    """`\\Delta w_{ij} = -\\theta \\delta_j z_i`: what follows the first `=` when the
    reader stopped at an unknown name before it (a left side in the claimant's words)."""
    m = re.match(r"col (\d+): unknown symbol", error)
    if not m:
        return None
    depth = 0
    for k, c in enumerate(latex):
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif c == "=" and depth == 0:
            return latex[k + 1 :] if int(m.group(1)) <= k and latex[k + 1 :].strip() else None
    return None


def _names(key: KeyAnswer) -> dict[Any, str]:
    names = {}
    for latex, obj in key.symbols.items():
        try:
            names[obj] = display_name(canonical_name(latex))
        except ClaimError:
            continue
    return names


def _input_names(key: KeyAnswer) -> dict[str, str]:
    """A variable's SymPy name -> as the course writes it (`W1` -> `W^(1)`), for
    counterexamples."""
    out: dict[str, str] = {}
    for latex, obj in key.symbols.items():
        name = getattr(obj, "name", None)
        if isinstance(name, str):
            try:
                out.setdefault(name, display_name(canonical_name(latex)))
            except ClaimError:
                continue
    return out


def _with_definitions(
    instances: Sequence[Instance], claim: Any, layers: Mapping[Any, Any], key: Any = None
) -> list[Instance]:
    """The instances, closed over the exercise's definitions so that claim and key are
    compared in one set of them: the definitions of the variables the claim uses and the
    instance leaves free (δ_out in 1a, defined by 1c), of what those need, and of every
    variable either side leaves free whose definition reaches (at any depth) a variable
    the other side uses (the key's z2 once a claim writes softmax(W2 y1): an input
    defined in terms of others is not free to take any value)."""
    try:
        used = _variables_of(claim)
        keyed = _variables_of(key) if key is not None else set()
    except (sp.SympifyError, TypeError, AttributeError):
        return list(instances)
    out = []
    for inst in instances:
        extra = _closure(inst.defs, used, keyed, layers)
        out.append(replace(inst, defs=_in_order({**inst.defs, **extra})) if extra else inst)
    return out


def _closure(
    defs: Mapping[Any, Any], used: set[Any], keyed: set[Any], layers: Mapping[Any, Any]
) -> dict[Any, Any]:
    """The definitions (from `layers`) to add to `defs` so that claim (`used`) and key
    (`keyed`) are in one closure: see `_with_definitions`."""
    extra: dict[Any, Any] = {}

    def define(v: Any) -> None:
        todo = [v]
        while todo:
            u = todo.pop()
            if u in defs or u in extra or u not in layers:
                continue
            extra[u] = layers[u]
            todo += [w for w in _variables_of(layers[u]) if w in layers]

    for v in used:
        define(v)
    while True:
        every = {**defs, **extra}
        play = _reach(used | keyed, every)
        linked = [
            v
            for v in sorted(play, key=str)
            if v not in every
            and v in layers
            and _reach(_variables_of(layers[v]), layers) & (play - {v})
        ]
        if not linked:
            return extra
        for v in linked:
            define(v)


def _variables_of(e: Any) -> set[Any]:
    e = sp.sympify(e)
    return set(e.free_symbols) | set(e.atoms(sp.MatrixSymbol))


def _reach(start: set[Any], defs: Mapping[Any, Any]) -> set[Any]:
    """`start` and every variable their definitions in `defs` use, at any depth."""
    seen: set[Any] = set()
    todo = list(start)
    while todo:
        v = todo.pop()
        if v in seen:
            continue
        seen.add(v)
        if v in defs:
            todo += list(_variables_of(defs[v]))
    return seen


def _in_order(defs: Mapping[Any, Any]) -> dict[Any, Any]:
    """Definitions with each after those it uses (a definition is evaluated in order)."""
    done: dict[Any, Any] = {}
    visiting: set[Any] = set()

    def visit(v: Any) -> None:
        if v in done or v in visiting:
            return
        visiting.add(v)
        d = sp.sympify(defs[v])
        for u in sorted(d.free_symbols | d.atoms(sp.MatrixSymbol), key=str):
            if u in defs and u != v:
                visit(u)
        visiting.discard(v)
        done[v] = defs[v]

    for v in defs:
        visit(v)
    return done


#: typical mistakes by key (held, so its id stays its own): a class's wrong answers to
#: one part share them
_MISTAKES: dict[int, tuple[KeyAnswer, list[tuple[str, Any]]]] = {}


def _mistakes_of(key: KeyAnswer) -> list[tuple[str, Any]]:
    seen = _MISTAKES.get(id(key))
    if seen is None or seen[0] is not key:
        if len(_MISTAKES) >= 256:
            _MISTAKES.clear()
        seen = _MISTAKES[id(key)] = (key, key.typical_mistakes())
    return seen[1]


def _judge_members(
    parsed: Any, members: list[Any], key: KeyAnswer, *, seed: int, mistakes: bool
) -> Verdict:
    """Every member of an `a = b = c` chain against `key`'s answer."""
    found: Mistakes = None
    if mistakes:
        found = functools.partial(_mistakes_of, key)
    verdict: Verdict | None = None
    for k, member in enumerate(members):
        decimals = parsed.decimals if k == len(members) - 1 else None
        v = judge(
            member,
            key.answer,
            _with_definitions(key.instances, member, key.layers, key.answer) or None,
            mistakes=found,
            decimals=decimals,
            seed=seed,
            figures=key.figures,
            printed=key.printed,
            names=_input_names(key),
        )
        if len(members) > 1 and v.status not in ("correct", "transposed"):
            v = Verdict(
                v.status,
                f"member {k + 1} of the chain {v.reason}",
                v.counterexample,
                v.mistake,
                how=v.how,
            )
        if verdict is None or verdict.status != "transposed":
            verdict = v
        if v.status not in ("correct", "transposed"):
            verdict = v
            break
    assert verdict is not None
    return verdict


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
        key.layout,
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
        v = replace(v, reason=f"{v.reason} (checked as {latex})")
    return v


def errata(
    claims: Iterable[Claim], resolve: Callable[[Claim], KeyAnswer | None], *, seed: int = 0
) -> list[Erratum]:
    """Check every claim against the key `resolve` finds for it (None: nothing to check;
    a `ClaimError`: the claim names nothing the key has, and is unreadable)."""
    out = []
    for c in claims:
        try:
            key = resolve(c)
        except ClaimError as exc:
            out.append(Erratum(c, Verdict("unreadable", str(exc))))
            continue
        out.append(Erratum(c, check_claim(c, key, seed=seed)))
    return out


def siblings(assignment: Assignment, part: Part) -> list[Part]:
    """The other parts of `part`'s exercise: they share its notation."""
    for ex in assignment.exercises:
        if any(p is part for p in ex.parts):
            return [p for p in ex.parts if p is not part]
    return []


def key_for(
    claim: Claim,
    part: Part | None,
    notation: Mapping[str, str] | None = None,
    others: Sequence[Part] = (),
    layout: str = "accept",
    numbers: Sequence[Mapping[str, Any]] | Callable[[], Sequence[Mapping[str, Any]]] = (),
) -> KeyAnswer | None:
    """What `claim` is checked against in `part` (None: nothing computed to check it with).

    A numeric claim (`kind = "numeric"`, or with `update`) is checked against the number
    the key prints under the label `quantity` (`numbers` is the ledger, answers.json's
    `numbers`, or a function making it; `update` picks one update of a trace), or
    against `part.data["trace"][update - 1][quantity]` where a part gives one; a formula
    against the part's final answer, or the derivation of `quantity` when it names one.
    Raises `ClaimError` when a numeric claim names no number of the part (or several).
    """
    if part is None:
        return None
    if claim.kind == "numeric" or claim.update is not None:
        trace = part.data.get("trace") if part.data else None
        k = (claim.update or 0) - 1
        if trace and claim.quantity is not None and 0 <= k < len(trace):
            if claim.quantity in trace[k]:
                return KeyAnswer(
                    trace[k][claim.quantity],
                    figures=_figures(part),
                    printed=_printed(part),
                    mistakes=_trace_mistakes(trace[k], claim),
                    layout=layout,
                )
        ledger = numbers() if callable(numbers) else numbers
        entry = printed_entry(part, ledger, claim.quantity, claim.update, notation, others)
        return number_key(part, entry, ledger, layout)
    return KeyAnswer.from_part(
        part, notation=notation, quantity=claim.quantity, siblings=others, layout=layout
    )


def number_key(
    part: Part,
    entry: Mapping[str, Any],
    ledger: Sequence[Mapping[str, Any]],
    layout: str = "accept",
) -> KeyAnswer:
    """What a numeric claim is checked against: the number `part` prints as ledger
    `entry`, with its named mistakes (`printed_mistakes`, then the sign flipped)."""
    value = entry["value"]
    return KeyAnswer(
        value,
        figures=_figures(part),
        printed=_printed(part),
        mistakes=[(SIGN_FLIPPED, -np.asarray(value, dtype=float))],
        layout=layout,
        derived=functools.partial(printed_mistakes, part, entry, ledger),
    )


def number_mistakes(
    part: Part, entry: Mapping[str, Any], ledger: Sequence[Mapping[str, Any]]
) -> list[tuple[str, Any]]:
    """The named mistakes the grader matches a numeric claim on ledger `entry` with
    (`number_key`), as answers.json and a quiz give them: each shaped as the entry's
    value (as the grader compares them), finite, and told apart at the printed
    precision (`quantity.apart`, in some entry) from the key and from every mistake
    kept before it; a student giving the right value is never told of a mistake."""
    value = np.asarray(entry["value"], dtype=float)
    decimals = int(entry.get("decimals", _printed(part)))
    key = to_numbers(value)
    kept: list[np.ndarray] = [value]
    out: list[tuple[str, Any]] = []
    for name, wrong in number_key(part, entry, ledger).typical_mistakes():
        numbers = to_numbers(wrong)
        if key is None or numbers is None or numbers.shape != key.shape:
            continue
        arr = np.asarray(numbers, dtype=float).reshape(value.shape) + 0.0
        if not np.all(np.isfinite(arr)):
            continue
        if all(
            any(apart(a, b, decimals) for a, b in zip(arr.flat, k.flat, strict=True)) for k in kept
        ):
            kept.append(arr)
            out.append((name, arr.tolist() if arr.ndim else float(arr)))
    return out


def printed_number(
    part: Part,
    ledger: Sequence[Mapping[str, Any]],
    quantity: str | None,
    update: int | None = None,
    notation: Mapping[str, str] | None = None,
    others: Sequence[Part] = (),
) -> Any:
    """The value of the number `part` prints under the label `quantity`: `printed_entry`'s."""
    return printed_entry(part, ledger, quantity, update, notation, others)["value"]


def printed_mistakes(
    part: Part, entry: Mapping[str, Any], ledger: Sequence[Mapping[str, Any]]
) -> list[tuple[str, Any]]:
    """Named mistakes for a number the key prints (ledger `entry` of `part`): the topics'
    mistakes computed from the definitions of the worked example that printed it
    (`mistakes.numeric_mistakes`), and, in a trace's update, a corrected estimate's
    number (`\\hat{m}_1`) given as its uncorrected one's (`m_1`): a missing bias correction."""
    found: list[tuple[str, Any]] = []
    label = str(entry["label"])
    head, _, last = label.rpartition(": ")
    plain = re.sub(r"\\hat\{(\\?\w+)\}", r"\1", last)
    if plain != last and re.search(r"\b(?:update|iteration) \d+\b", head):
        for e in ledger:
            if e.get("part") == entry.get("part") and str(e["label"]) == f"{head}: {plain}":
                what = NO_BIAS_CORRECTION.format(m=plain, d="1 - β^t")
                found.append((what, np.asarray(e["value"], dtype=float)))
    for number in _numbers_of(part):
        origin: Any = getattr(number, "origin", None)
        if (
            origin is None
            or number.label != label
            or not all(hasattr(origin, a) for a in ("instance", "inputs", "items"))
        ):
            continue
        for shown, expr in origin.items:
            try:
                if origin[shown].key != number.key:
                    continue
            except (KeyError, TypeError):
                continue
            inputs = {v: np.asarray(n, dtype=float) for v, n in origin.inputs.items()}
            for name, value in numeric_mistakes(expr, origin.instance, inputs):
                arr = np.asarray(value, dtype=float)
                if number.index:
                    arr = (
                        arr.reshape(-1)
                        if arr.ndim == 2 and 1 in arr.shape and len(number.index) == 1
                        else arr
                    )
                    arr = np.asarray(arr[number.index])
                found.append((name, arr))
        break
    return found


def _numbers_of(part: Part) -> list[Any]:
    """Every printed number object of `part` (its blocks' lines and tables' cells)."""
    out = []
    for block in part.blocks:
        out += [v for _, v in block.lines if hasattr(v, "origin")]
    for table in part.tables:
        out += [c for row in table.rows for c in row if hasattr(c, "origin")]
    return out


def printed_entry(
    part: Part,
    ledger: Sequence[Mapping[str, Any]],
    quantity: str | None,
    update: int | None = None,
    notation: Mapping[str, str] | None = None,
    others: Sequence[Part] = (),
) -> Mapping[str, Any]:
    """The ledger entry of the number `part` prints under the label `quantity` (the ledger's
    label, its last part after `:` as in `trace, update 3: W_next`, or that quantity in
    LaTeX, `\\frac{\\partial E}{\\partial W^{(2)}}`); `update` picks a trace's update (or
    iteration). Raises `ClaimError` when none matches, or several with different values."""
    mine = [e for e in ledger if e.get("part") == part.id]
    if update is not None:
        step = re.compile(rf"\b(?:update|iteration) {update}\b")
        mine = [e for e in mine if step.search(str(e["label"]))]
    if quantity is None:
        computed = [e for e in mine if e.get("source") == "computed"]
        if len(computed) == 1:
            return computed[0]
        raise ClaimError(f"say which number of part {part.id} (quantity = one of its labels)")
    wanted = {_label_form(quantity)}
    try:  # a quantity in LaTeX, as the key prints its label
        symbols = part_symbols(part, notation)
        for other in others:
            for name, obj in part_symbols(other, notation).items():
                symbols.setdefault(name, obj)
        wanted.add(_label_form(sp.sstr(parse_claim(quantity, symbols).expr)))
    except (ClaimError, TypeError, ValueError):
        pass
    found = [
        e
        for e in mine
        if _label_form(str(e["label"])) in wanted
        or _label_form(str(e["label"]).rsplit(": ", 1)[-1]) in wanted
    ]
    if not found:
        where = f"part {part.id}" + (f", update {update}," if update is not None else "")
        labels = sorted({str(e["label"]).rsplit(": ", 1)[-1] for e in mine})
        shown = ", ".join(labels[:12]) + (", …" if len(labels) > 12 else "")
        raise ClaimError(
            f"{where} prints no number labelled {quantity!r}"
            + (f"; its labels: {shown}" if shown else "")
        )
    values = {repr(e["value"]) for e in found}
    if len(values) > 1:
        raise ClaimError(_which(quantity, part.id, [str(e["label"]) for e in found], update))
    return found[0]


_UPDATE = re.compile(r"\b(?:update|iteration) (\d+)\b")


def _which(quantity: str, part_id: str, labels: list[str], update: int | None) -> str:
    """What to say when `quantity` names several numbers: what tells them apart (the
    update, or words of the labels such as x vs y) and how to say which."""
    head = f"{quantity!r} names {len(labels)} numbers of part {part_id}"
    apart = list(dict.fromkeys(_UPDATE.sub("update K", label) for label in labels))
    if len(apart) == 1:
        several = ", ".join(labels[:4]) + (", …" if len(labels) > 4 else "")
        return f"{head} ({several}): say which update (update = K, or --update K)"
    words = [re.findall(r"\w+|[^\w\s]", label) for label in apart]
    differ: list[str] = []
    if len({len(w) for w in words}) == 1:
        for column in zip(*words, strict=True):
            differ += list(dict.fromkeys(column)) if len(set(column)) > 1 else []
    by = " vs ".join(differ) if differ and len(differ) <= 6 else "their labels"
    updates = len({tuple(_UPDATE.findall(label)) for label in labels}) > 1
    first: dict[str, str] = {}  # one label of each kind, as the key prints it
    for label in labels:
        first.setdefault(_UPDATE.sub("update K", label), label)
    shown = " or ".join(repr(label) for label in list(first.values())[:4])
    return (
        f"{head}, told apart by {by}{' and the update' if updates else ''}: say which, with "
        f"the whole label as the quantity ({shown})"
    )


def _label_form(label: str) -> str:
    """A label as labels are matched: no spaces, braces, `$` or upright-font commands."""
    label = re.sub(r"\\(?:mathrm|text|operatorname|mathit)\s*", "", label)
    return re.sub(r"[\s{}$]", "", label)


#: a trace's new weights and the step that made them
_STEPS = {"w": "dw", "W": "dW"}


def _trace_mistakes(row: Mapping[str, Any], claim: Claim) -> list[tuple[str, Any]]:
    """Numbers a trace's typical slips give: the step's sign flipped (w - Δw for w + Δw)."""
    q = claim.quantity or ""
    value = np.asarray(row[q], dtype=float)
    out = [("sign flipped", -value)]
    if q in _STEPS and _STEPS[q] in row:
        step = np.asarray(row[_STEPS[q]], dtype=float)
        out.insert(
            0, (f"the update's sign flipped: {q} - Δ{q} where {q} + Δ{q} belongs", value - 2 * step)
        )
    return out


def audit(assignment: Assignment, claims: Iterable[Claim], *, seed: int = 0) -> list[Erratum]:
    """The errata of an earlier published solution: every claim checked against the key."""
    parts = {p.id: p for p in assignment.parts()}

    ledger: list[Any] = []

    def numbers() -> list[Any]:  # made once, and only for a numeric claim
        if not ledger:
            ledger.extend(numbers_ledger(assignment))
        return ledger

    def resolve(c: Claim) -> KeyAnswer | None:
        part = parts.get(c.part)
        others = siblings(assignment, part) if part is not None else []
        layout = assignment.grading.layout_of(c.part)
        return key_for(c, part, assignment.notation, others, layout, numbers)

    return errata(claims, resolve, seed=seed)


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
