"""Equations in prose: each one the engine checks, or the author declares.

A question, fact, remark or step reason may show relations (``eq(a, b)``,
``sp.Eq``, an ``(a, b)`` pair, an inequality). Verification (`check_part`)
takes each relation of a part and either

* sees that it restates one of the part's verified derivations (its quantity
  and one of its steps), or
* checks it at random points, and symbolically where the expressions are small,
  with the definitions of an instance that links both sides (both written in the
  same free inputs, or, with definitions, one side a constant): the relation's
  own instances when it has some (`identity(a, b, instance)`), else the part's
  derivation instances, the models of its worked examples and traces, and no
  definitions at all (a plain identity such as
  σ(u) = 1/(1 + e^{-u})).

A relation that does not hold at the first instance that links it is refused
with the point where the sides differ; one that no instance links (index
notation, a convention, a condition) is refused unless the author declares it
with its own constructor: `definition`, `notation` or `assumption`. Those print
like any relation and are counted in the key's banner as taken as given.

An ``(a, n)`` pair whose right side is a printed `Number` states that number:
its value is checked by the number audit (`answerkey.numbers`), not here.
Exercise introductions describe the setting: their relations must be declared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from . import sandbox
from .errors import VerificationError
from .instantiate import Concrete
from .mathfns import eq
from .model import Assignment, CheckRecord, Instance, Part
from .numbers import Place, numbers_in, printed, printed_in_part
from .proofs import prove_lazy

RANDOM_POINTS = 8
RTOL = 1e-8
ATOL = 1e-10
DOMAIN = (-1.5, 1.5)
#: sides larger than this (operations) are checked numerically only
SYMBOLIC_MAX_OPS = 300
#: at most this many linking instances are tried for one relation
MAX_INSTANCES = 3
KINDS = ("definition", "notation", "assumption")


@dataclass(frozen=True)
class Declared:
    """A relation the author declares (a definition, notation or assumption): taken as given."""

    kind: str
    relation: Any
    #: the author's line that wrote it (``solutions/m.py:57``), for messages
    line: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Identity:
    """A relation the engine checks at the given instances (and the part's)."""

    relation: Any
    instances: tuple[Instance, ...] = ()
    #: substitutions the relation is checked under, each in turn (a general index
    #: formula at each of the concrete cases the instance defines)
    cases: tuple[tuple[tuple[Any, Any], ...], ...] = ()


def _relation(lhs: Any, rhs: Any = None) -> Any:
    return lhs if rhs is None else eq(lhs, rhs)


def definition(lhs: Any, rhs: Any) -> Declared:
    """``lhs`` is defined as ``rhs`` (taken as given, counted in the banner)."""
    return Declared("definition", eq(lhs, rhs), sandbox.caller_line())


def notation(lhs: Any, rhs: Any) -> Declared:
    """``lhs`` is a name for ``rhs`` (taken as given)."""
    return Declared("notation", eq(lhs, rhs), sandbox.caller_line())


def assumption(lhs: Any, rhs: Any = None) -> Declared:
    """An assumption or condition (``assumption(sp.Le(s, 0))`` or ``assumption(a, b)``)."""
    return Declared("assumption", _relation(lhs, rhs), sandbox.caller_line())


def identity(
    lhs: Any, rhs: Any, *instances: Instance, cases: Sequence[Mapping[Any, Any]] = ()
) -> Identity:
    """A relation checked by the engine, also at `instances` (e.g. one that defines the
    terms of an index formula), under each substitution of `cases` when given (a general
    rule such as dL/dw_ij = delta_j z_i at each weight of a chain)."""
    return Identity(eq(lhs, rhs), tuple(instances), tuple(tuple(c.items()) for c in cases))


def is_relation(item: Any) -> bool:
    """Does a prose item show a relation the engine must check or the author declare?"""
    if isinstance(item, Declared | Identity):
        return True
    if isinstance(item, sp.Basic) and isinstance(item, sp.core.relational.Relational):
        return True
    if isinstance(item, tuple) and len(item) == 2:
        return not any(True for _ in numbers_in(item[1]))
    return False


def relations_in(items: Iterator[tuple[Place, Any]]) -> Iterator[tuple[Place, Any]]:
    for place, item in items:
        if place.where.startswith(("block", "table")) or place.where == "stated answer":
            continue
        if isinstance(item, str) and _WRITTEN.search(item):
            yield place, item
        elif is_relation(item):
            yield place, item


_WRITTEN = re.compile(r"(?:^|[^\w])(=|<=|>=|<|>)(?:[^\w]|$)")


def _sides(item: Any) -> tuple[Any, Any, str]:
    rel = item.relation if isinstance(item, Declared | Identity) else item
    if isinstance(rel, tuple):
        return rel[0], rel[1], "=="
    return rel.lhs, rel.rhs, rel.rel_op


def _show(item: Any) -> str:
    lhs, rhs, op = _sides(item)
    return f"{_sstr(lhs)} {'=' if op == '==' else op} {_sstr(rhs)}"


def _sstr(e: Any) -> str:
    """SymPy's plain text of `e` on one line (a matrix's is several)."""
    return " ".join(sp.sstr(e).split())


_CONCRETE: dict[int, tuple[Instance, Concrete]] = {}


def _concrete(inst: Instance) -> Concrete:
    seen = _CONCRETE.get(id(inst))
    if seen is None or seen[0] is not inst:
        seen = (inst, Concrete(inst))
        _CONCRETE[id(inst)] = seen
    return seen[1]


def _doit(e: Any) -> Any:
    """SymPy's own derivatives evaluated (the engine's `D` is instantiated later)."""
    return e.doit() if isinstance(e, sp.Basic) and e.has(sp.Derivative) else e


def _restates(part: Part, lhs: Any, rhs: Any) -> bool:
    for d in part.derivations:
        steps = [s.expr for s in d.steps]
        if (lhs == d.lhs and rhs in steps) or (rhs == d.lhs and lhs in steps):
            return True
    return False


def check(
    lhs: Any,
    rhs: Any,
    instances: Sequence[Instance],
    rng: np.random.Generator,
    prove: bool = True,
    unlinked: bool = False,
) -> str | None:
    """How ``lhs = rhs`` was checked, or None when no instance links it. Raises
    ValueError (with the point) when it does not hold. `prove`: also try a symbolic proof
    (of small sides) for the record. With `unlinked`, the sides are linked when the right
    one reads only inputs the left one reads (it differs from the left side wherever an
    input it leaves out matters)."""
    done = 0
    how = ""
    for inst in instances:
        if done >= MAX_INSTANCES:
            break
        try:
            c = _concrete(inst)
            a, b = c.lazy(_doit(lhs)), c.lazy(_doit(rhs))
            ia = {s for s in c.inputs(a) if s not in c.nodes}
            ib = {s for s in c.inputs(b) if s not in c.nodes}
            # linked: both sides in the same inputs, or (with definitions) one of them
            # a constant: without definitions, "x = 0" is a condition, not an identity
            constant = bool(inst.defs or inst.given) and not (ia and ib)
            linked = ib <= ia if unlinked else ia == ib or constant
            if not linked or a.shape != b.shape:
                continue
            env = c.sample([a, b], RANDOM_POINTS, rng, DOMAIN)
            va, vb = c.evaluate(a, env, RANDOM_POINTS), c.evaluate(b, env, RANDOM_POINTS)
        except Exception:
            continue
        ok = np.isfinite(va).all(axis=(1, 2)) & np.isfinite(vb).all(axis=(1, 2))
        if ok.sum() < RANDOM_POINTS // 2:
            continue
        bad = ~np.isclose(va[ok], vb[ok], rtol=RTOL, atol=ATOL)
        if bad.any():
            k = int(np.argwhere(bad.any(axis=(1, 2)))[0][0])
            point = {s.name: float(env[s][ok][k]) for s in sorted(ia | ib, key=lambda s: s.name)}
            at = ", ".join(f"{n}={v:.4g}" for n, v in list(point.items())[:8])
            label = f"({inst.label})" if inst.label else ""
            raise ValueError(
                f"{' '.join(w for w in ('at', at, label) if w)} the left side is "
                f"{_fmt(va[ok][k])} and the right side {_fmt(vb[ok][k])}"
            )
        done += 1
        how = f"at {int(ok.sum())} random points"
        if prove and sum(sp.count_ops(e) for e in [*a, *b]) <= SYMBOLIC_MAX_OPS:
            if prove_lazy(c, a, b) is not None:
                how += " and symbolically"
        if inst.label:
            how += f" ({inst.label})"
    return how or None


def _fmt(v: np.ndarray) -> str:
    arr = np.asarray(v, dtype=float)
    if arr.size == 1:
        return f"{float(arr.reshape(-1)[0]):.6g}"
    return np.array2string(arr.reshape(-1), precision=6, max_line_width=10**6)


def check_part(assignment_id: str, part: Part, seed: int = 0) -> list[CheckRecord]:
    """Each relation the part shows: checked (a record each) or declared; else refused."""
    records: list[CheckRecord] = []
    rng = np.random.default_rng([seed, 11, *part.id.encode()])
    seen = models([part])
    for place, item in relations_in(printed_in_part(part)):
        where = f"{assignment_id}, part {part.id}, {place.where}"
        if isinstance(item, str):
            raise VerificationError(
                where,
                f"writes a relation into its text ({item.strip()!r}): write it as maths "
                "(eq(a, b)) so the engine checks it, or declare it",
            )
        if isinstance(item, Declared):
            if item.kind not in KINDS:
                raise VerificationError(where, f"unknown declaration {item.kind!r}")
            agrees(where, item, seen, rng)
            continue
        lhs, rhs, op = _sides(item)
        lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
        if op != "==":
            raise VerificationError(
                where,
                f"shows {_show(item)}, which the engine does not check: declare it "
                "(answerkey.relations.assumption) if it is a condition",
            )
        if _restates(part, lhs, rhs):
            records.append(
                CheckRecord("relation", place.where, f"{_show(item)}: a verified derivation")
            )
            continue
        own = list(item.instances) if isinstance(item, Identity) else []
        cases = [dict(c) for c in item.cases] if isinstance(item, Identity) else []
        try:
            hows = [
                check(lhs.xreplace(c), rhs.xreplace(c), own or [*seen, Instance()], rng)
                for c in cases or [{}]
            ]
        except ValueError as exc:
            raise VerificationError(where, f"{_show(item)} does not hold: {exc}") from None
        how = None if any(h is None for h in hows) else hows[0]
        if how is not None and len(hows) > 1:
            how = f"in each of its {len(hows)} cases, " + how
        if how is None:
            raise VerificationError(
                where,
                f"{_show(item)} is neither checked nor declared: no instance links its two "
                "sides; declare it (answerkey.relations.definition, notation or assumption) "
                "or give it an instance that defines its terms (identity(a, b, instance))",
            )
        records.append(CheckRecord("relation", place.where, f"{_show(item)}: {how}"))
    return records


def models(parts: Sequence[Part]) -> list[Instance]:
    """The instances the parts are checked at (their derivations'), and the models of their
    worked examples and traces (`answerkey.worked`), each once, in order."""
    base = [i for part in parts for d in part.derivations for i in d.instances]
    found = (getattr(c, "instance", None) for part in parts for c in part.numeric_checks)
    base += [m for m in found if isinstance(m, Instance)]
    out: list[Instance] = []
    for i in base:
        if not any(i is s for s in out):
            out.append(i)
    return out


def agrees(where: str, item: Declared, instances: Sequence[Instance], rng: Any) -> None:
    """A declared definition or notation is taken as given, but when a model the key is
    checked with defines the same quantity (an instance's `defs`: a network's s, a kit's
    output size), the two must agree: the key must not print s = 2 W x + b while every
    number is computed with s = W x + b. An index form is read at the model's sizes
    (`at_sizes`); one whose right side reads symbols the defining models do not (index
    notation such as t_k, another setting's quantities) is not about them and stays
    declared. A disagreement is refused naming the author's line (`Declared.line`)."""
    lhs, rhs, op = _sides(item)
    if item.kind not in _NAMING or op != "==":
        return
    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    defining = [i for i in instances if lhs in i.defs]
    known = set().union(*(_symbols(x) for m in defining for x in m.defs.items()))
    if not defining or _symbols(at_sizes(rhs, defining[0])) - known:
        return
    failed: str | None = None
    for inst in defining:
        try:
            if check(lhs, at_sizes(rhs, inst), [inst], rng, prove=False, unlinked=True):
                return
        except ValueError as exc:
            failed = failed or str(exc)
    model = defining[0]
    named = f"the model ({model.label})" if model.label else "the model"
    defines = f"{_sstr(lhs)} = {_short(_sstr(model.defs[lhs]))}"
    if failed:
        why = f"does not hold: {failed}; {named} defines {defines}: write that right side"
    else:
        known = _symbols(model.defs[lhs]) | set(model.defs)
        extra = sorted({str(x) for x in _symbols(at_sizes(rhs, model)) - known})
        reads = f": it reads {', '.join(extra)}, which is not in" if extra else ","
        why = f"cannot be checked against {named}{reads} {defines}: write that right side"
    raise VerificationError(
        f"{item.line} ({where})" if item.line else where,
        f"the {item.kind} {_show(item)} {why}",
    )


#: declarations whose left side a model may already define (an assumption is a condition)
_NAMING = ("definition", "notation")
# id(assignment) -> the assignment whose declarations were audited (held, so the id stays its)
_AUDITED: dict[int, Assignment] = {}


def audit_declarations(assignment: Assignment, seed: int = 0) -> None:
    """Every declared definition or notation of the key `agrees` with the nearest models
    that define its quantity: its part's, else its exercise's (a part may print the
    definition of a quantity another part's model defines)."""
    if _AUDITED.get(id(assignment)) is assignment:
        return
    rng = np.random.default_rng([seed, 13])
    for ex in assignment.exercises:
        everywhere = models(ex.parts)
        by_part = {part.id: models([part]) for part in ex.parts}
        in_parts: list[Declared] = []
        for part in ex.parts:
            for place, item in printed_in_part(part):
                if isinstance(item, Declared):
                    lhs = sp.sympify(_sides(item)[0])
                    near = [m for m in by_part[part.id] if lhs in m.defs] or everywhere
                    agrees(f"{assignment.id}, part {part.id}, {place.where}", item, near, rng)
                    in_parts.append(item)
        declared: list[Declared] = []
        for i, t in enumerate(ex.intro, start=1):
            for x in t.items:
                if isinstance(x, Declared):
                    where = f"{assignment.id}, exercise {ex.number}, introduction {i}"
                    agrees(where, x, everywhere, rng)
                    declared.append(x)
        declared += in_parts
        for part in ex.parts:
            for shown in part.numeric_checks:
                shows_as_declared(f"{assignment.id}, part {part.id}", shown, declared, rng)
    if len(_AUDITED) > 64:
        _AUDITED.clear()
    _AUDITED[id(assignment)] = assignment


def shows_as_declared(where: str, shown: Any, declared: Sequence[Declared], rng: Any) -> None:
    """A worked example shows each label with the value of a quantity (``named("g", q)``);
    where the exercise declares what that label is (``notation(g, D(y, z))``), the quantity
    shown must be it, at the example's model: the key must not say g is dy/dz and print
    the value of something else as g."""
    instance, items = getattr(shown, "instance", None), getattr(shown, "items", None)
    if not isinstance(instance, Instance) or not isinstance(items, list):
        return
    for label, quantity in items:
        if label is quantity or not isinstance(label, sp.Basic):
            continue
        for item in declared:
            lhs, rhs, op = _sides(item)
            if item.kind not in _NAMING or op != "==" or sp.sympify(lhs) != label:
                continue
            try:
                check(quantity, at_sizes(sp.sympify(rhs), instance), [instance], rng, prove=False)
            except ValueError as exc:
                name = getattr(shown, "name", "a worked example")
                place = f"{where}, {name}"
                raise VerificationError(
                    f"{item.line} ({place})" if item.line else place,
                    f"the {item.kind} {_show(item)} says what {_sstr(label)} is, but {name} "
                    f"shows {_sstr(label)} as {_short(_sstr(quantity))}, and they differ: {exc}",
                ) from None


def _symbols(e: Any) -> set[Any]:
    if isinstance(e, tuple):
        return set().union(*(_symbols(x) for x in e))
    if not isinstance(e, sp.Basic):
        return set()
    return {x for x in e.free_symbols if isinstance(x, sp.Symbol | sp.MatrixSymbol)}


def at_sizes(e: Any, inst: Instance) -> Any:
    """An index form read at `inst`: its sizes put in, finite sums written out and each
    entry ``X[i, j]`` (1-based) of a matrix the model names X made that matrix's entry."""
    if not isinstance(e, sp.Basic):
        return e
    sizes = {k: v for k, v in inst.sizes.items() if isinstance(k, sp.Basic)}
    try:
        e = e.xreplace(sizes) if sizes else e
        if e.has(sp.Sum):
            e = e.replace(lambda x: isinstance(x, sp.Sum), lambda x: x.doit())
    except (TypeError, ValueError):  # a size SymPy cannot read: left as written
        return e
    if not e.has(sp.Indexed):
        return e
    named: dict[str, Any] = {}
    for k, v in inst.defs.items():
        for x in (k, v):
            if isinstance(x, sp.Basic):
                named |= {m.name: m for m in x.atoms(sp.MatrixSymbol)}
                if isinstance(x, sp.MatrixSymbol):
                    named[x.name] = x

    def entry(x: sp.Indexed) -> Any:
        m = named.get(str(x.base))
        shape = [sp.sympify(n).xreplace(sizes) for n in m.shape] if m is not None else []
        if m is None or not all(sp.sympify(i).is_Integer for i in (*x.indices, *shape)):
            return x
        idx = [int(i) - 1 for i in x.indices]
        if len(idx) == 1:
            idx = [idx[0], 0] if shape[1] == 1 else [0, idx[0]]
        if len(idx) != 2 or not all(0 <= i < n for i, n in zip(idx, shape, strict=True)):
            return x
        return m[idx[0], idx[1]]

    return e.replace(lambda x: isinstance(x, sp.Indexed), entry)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shows(part: Part) -> bool:
    """Does the part's prose show a relation?"""
    return any(True for _ in relations_in(printed_in_part(part)))


def declared(assignment: Assignment) -> int:
    """How many declared relations the key prints (for its banner)."""
    return sum(1 for _, item in printed(assignment) if isinstance(item, Declared))


def audit_introductions(assignment: Assignment) -> None:
    """An exercise introduction describes the setting: its relations must be declared, and
    a declared one must agree with the models of the exercise's parts (`agrees`)."""
    rng = np.random.default_rng([11])
    by_exercise = {f"exercise {ex.number}": models(ex.parts) for ex in assignment.exercises}
    for place, item in relations_in(printed(assignment)):
        if place.part:
            continue
        if isinstance(item, Declared):
            exercise = place.where.split(",")[0]
            agrees(f"{assignment.id}, {place.where}", item, by_exercise.get(exercise, []), rng)
        else:
            raise VerificationError(
                f"{assignment.id}, {place.where}",
                f"shows {item if isinstance(item, str) else _show(item)} undeclared: an "
                "introduction's relations are definitions (answerkey.relations.definition)",
            )
