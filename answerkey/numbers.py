"""Every number a key prints is given or computed by the engine: `Number`, the audit, the ledger.

A solution module never places a bare float in a key. A number it prints is a
`Number`: either *given* (an input of the statement, a term parameter or a
constant of the exercise, made with `given`) or *computed* by the engine
(`answerkey.worked`: verified results evaluated at given values, optimizer
traces, sums over a trace), which checks it by a second, independent path in
verification. `audit` walks everything a key prints (questions, facts, step
reasons, blocks, tables, remarks, captions, stated answers) and refuses a bare
number (a float, an array, a SymPy Float, a decimal written into a string)
naming the assignment, part and place; it also refuses a computed number whose
value differs from what its engine object computed (a corrupted cell) or whose
engine object no part of the key verifies. `ledger` lists every printed number
for answers.json.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .errors import VerificationError
from .mathfns import D, named
from .model import Assignment, Block, CheckRecord, Part, Table, Text

# the number type lives below (answerkey.quantity); its makers stay reachable from here
from .quantity import COMPUTED, DECIMALS, GIVEN, Number, Origin, computed, corrupted, given  # noqa: F401

# --------------------------------------------------------------------------- typed numbers

# A number typed into prose, in every form people type one: 0.5, a decimal comma 0,1010,
# a leading dot .10, a percentage 84 % and a fraction 1/6 (not "1c", "2-3-2-1", "e.g.").
_TYPED_NUMBER = re.compile(
    r"(?<![\w.,/])(?:\d+(?:[.,]\d+)?\s?%|-?\d+\.\d+|\d+,\d+|-?\.\d+|\d+\s?/\s?\d+)(?![\w/])"
)
_WORDS = "zero one two three four five six seven eight nine ten eleven twelve".split()
_INT = r"(?:\d+|" + "|".join(_WORDS) + r")"
#: a typed integer after one of these is an index into the key's own structure or a model's
INDEX_NOUNS = (
    "part parts exercise exercises task assignment practical figure table equation step steps "
    "line update updates iteration iterations sample samples unit units layer layers class "
    "classes entry entries column columns row rows item items output outputs input inputs "
    "weight weights"
).split()
#: a count before one of these is checked against the part's trace
TRACE_COUNTS = {
    "step": "updates",
    "update": "updates",
    "iteration": "iterations",
    "pass": "iterations",
    "epoch": "iterations",
    "sample": "samples",
}
#: a count before one of these must be one of the sizes of the part's worked objects
SIZE_NOUNS = ("input", "output", "unit", "neuron", "class", "feature", "layer", "weight")
_INDEX = re.compile(
    r"\b(?P<noun>" + "|".join(INDEX_NOUNS) + r")\s+(?P<list>\d+(?:(?:,\s*|\s+and\s+|\s+or\s+)"
    r"\d+)*)\b",
    re.IGNORECASE,
)
_COUNT = re.compile(
    r"\b(?P<n>" + _INT + r")\s+(?:(?!with\b|and\b|of\b)[A-Za-z][\w-]*\s+){0,2}?"
    r"(?P<noun>steps?|updates?|iterations?|passes|pass|epochs?|samples?|inputs?|outputs?|units?|neurons?|class(?:es)?|features?|layers?|"
    r"weights?)\b",
    re.IGNORECASE,
)
_TRUE_CLASS = re.compile(r"\btrue class\s+(?:\w+\s*=\s*)?(?P<n>\d+)\b", re.IGNORECASE)
_PER = re.compile(r"\s+(?:per|(?:after|for|in)\s+(?:each|every))\b", re.IGNORECASE)
_SHAPE = re.compile(r"\b\d+(?:-\d+)+\b")
_DIGITS = re.compile(r"(?<![\w.,/^_{])\d+(?![\w.,/%])")


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _WORDS.index(word.lower())


@dataclass(frozen=True)
class Facts:
    """What typed integers in a part are checked against: its traces' counts (updates,
    iterations, samples), the sizes of its worked objects' quantities, its true classes."""

    updates: frozenset[int] = frozenset()
    iterations: frozenset[int] = frozenset()
    samples: frozenset[int] = frozenset()
    sizes: frozenset[int] = frozenset()
    classes: frozenset[int] = frozenset()


def facts(objects: Sequence[Any]) -> Facts:
    """The counts, sizes and true classes of worked objects (`answerkey.worked`)."""
    updates: set[int] = set()
    iterations: set[int] = set()
    samples: set[int] = set()
    sizes: set[int] = set()
    classes: set[int] = set()
    for o in objects:
        steps = getattr(o, "steps", None)
        if steps is not None and hasattr(o, "iterations"):
            updates.add(len(steps))
            iterations.add(int(o.iterations))
            samples.add(len(o.samples))
        for _, value in getattr(o, "givens", lambda: [])():
            arr = np.asarray(value.value if isinstance(value, Number) else value, dtype=float)
            sizes.update(int(d) for d in arr.shape)
            flat = arr.reshape(-1)
            if flat.size > 1 and set(flat.tolist()) == {0.0, 1.0} and flat.sum() == 1:
                classes.add(int(np.argmax(flat)) + 1)  # a one-hot target: its class
        for n in getattr(o, "shown_numbers", lambda: [])():
            sizes.update(int(d) for d in np.asarray(n.value).shape)
    return Facts(*(frozenset(s) for s in (updates, iterations, samples, sizes, classes)))


def typed_integers(s: str, known: Facts) -> str | None:
    """What is wrong with the integers typed into `s` (None: nothing). Allowed: indices
    into the key's structure or a model ("part 2", "sample 3", "units 1 and 2": an
    update, iteration or sample index within the part's trace), network shapes
    ("2-3-2-1"), 0 and 1, and counts the model confirms ("3 iterations" of a trace that
    runs 3, "2 inputs" of a model with a size 2, "true class 2" of a one-hot target of
    class 2). Any other integer is an exercise value typed by hand."""
    spans: list[tuple[int, int]] = []
    for m in _TRUE_CLASS.finditer(s):
        n = int(m.group("n"))
        if known.classes and n not in known.classes:
            return f"'{m.group()}' but the target's class is {_listed(known.classes)}"
        spans.append(m.span("n"))
    for m in _COUNT.finditer(s):
        n, noun = _number(m.group("n")), m.group("noun").lower()
        if _PER.match(s, m.end()):  # "one update after each sample": a rate, not a count
            spans.append(m.span("n"))
            continue
        base = (
            noun[:-2]
            if noun.endswith(("es",)) and noun[:-2] in ("pass", "class")
            else (
                noun[:-1]
                if noun.endswith("s") and noun[:-1] in (*TRACE_COUNTS, *SIZE_NOUNS)
                else noun
            )
        )
        counts = getattr(known, TRACE_COUNTS[base]) if base in TRACE_COUNTS else known.sizes
        if base in TRACE_COUNTS and base != "sample" and not counts:
            counts = frozenset()  # no trace in the part: nothing to bind it to
        if counts and n not in counts:
            what = TRACE_COUNTS.get(base, "sizes")
            return f"'{m.group()}' but the part's worked objects have {what} {_listed(counts)}"
        spans.append(m.span("n"))
    for m in _INDEX.finditer(s):
        noun = m.group("noun").lower().rstrip("s")
        for d in re.finditer(r"\d+", m.group("list")):
            n = int(d.group())
            bound = {"update": known.updates, "iteration": known.iterations}.get(noun)
            if noun == "sample":
                bound = known.samples
            if bound and n > max(bound):
                return f"'{m.group()}' but the part's trace has {max(bound)} {noun}s"
        spans.append(m.span("list"))
    spans += [m.span() for m in _SHAPE.finditer(s)]
    for m in _DIGITS.finditer(s):
        if any(a <= m.start() < b for a, b in spans) or m.group() in ("0", "1"):
            continue
        around = s[max(0, m.start() - 30) : m.end() + 30].replace("\n", " ")
        return f"the integer '{m.group()}' typed into its text (in '{around.strip()}')"
    return None


def _listed(values: frozenset[int]) -> str:
    return " or ".join(str(v) for v in sorted(values))


# --------------------------------------------------------------------------- the walk


@dataclass(frozen=True)
class Place:
    """Where in a key something is printed: part id ("" for an exercise intro) and a description."""

    part: str
    where: str


def printed(assignment: Assignment) -> Iterator[tuple[Place, Any]]:
    """Every printed item of the key (prose items, block values, cells, answers), in order."""
    yield Place("", "title"), assignment.title
    for ex in assignment.exercises:
        yield Place("", f"exercise {ex.number} title"), ex.title
        for i, t in enumerate(ex.intro, start=1):
            yield from _text(Place("", f"exercise {ex.number}, introduction {i}"), t)
        for f in ex.figures:
            yield from _text(Place("", f"exercise {ex.number}, figure {f.name}"), f.caption)
        for part in ex.parts:
            yield from printed_in_part(part)


def printed_in_part(part: Part) -> Iterator[tuple[Place, Any]]:
    """Every printed item of one part: question, facts, step reasons, blocks, tables,
    remarks, figure captions and the stated answer."""

    def at(where: str) -> Place:
        return Place(part.id, where)

    yield at("title"), part.title
    for i, t in enumerate(part.question, start=1):
        yield from _text(at(f"question {i}" if len(part.question) > 1 else "question"), t)
    for i, t in enumerate(part.facts, start=1):
        yield from _text(at(f"fact {i}"), t)
    labels = derivation_labels(part)
    for label, d in zip(labels, part.derivations, strict=True):
        for s, step in enumerate(d.steps, start=1):
            name = f"{label}, step {s}" if label else f"step {s}"
            yield from _text(at(f"{name} reason"), step.reason)
    for k, b in enumerate(part.blocks, start=1):
        yield from _block(at, k, b)
    for k, table in enumerate(part.tables, start=1):
        yield from _table(at, k, table)
    for i, t in enumerate(part.remarks, start=1):
        yield from _text(at(f"remark {i}"), t)
    for f in part.figures:
        yield from _text(at(f"figure {f.name} caption"), f.caption)
    if part.answer is not None:
        yield at("stated answer"), part.answer


def derivation_labels(part: Part) -> list[str]:
    """How messages name each derivation of a part: "" when it has one, "derivation of
    ∂E/∂W1", or "derivation 2 (of ∂E/∂W1)" when two derive the same quantity."""
    names = [named(d.lhs) for d in part.derivations]
    if len(names) == 1:
        return [""]
    return [
        f"derivation {k} (of {n})" if names.count(n) > 1 else f"derivation of {n}"
        for k, n in enumerate(names, start=1)
    ]


def _text(place: Place, t: Text | str) -> Iterator[tuple[Place, Any]]:
    items = (t,) if isinstance(t, str) else t.items
    for item in items:
        yield place, item


def _block(at: Callable[[str], Place], k: int, b: Block) -> Iterator[tuple[Place, Any]]:
    yield from _text(at(f"block {k} title"), b.title)
    for label, value in b.lines:
        name = label if isinstance(label, str) else sp.sstr(label)
        yield at(f"block {k}, line {name}"), value


def _table(at: Callable[[str], Place], k: int, table: Table) -> Iterator[tuple[Place, Any]]:
    for c, cell in enumerate(table.header, start=1):
        yield at(f"table {k}, header column {c}"), cell
    for r, row in enumerate(table.rows, start=1):
        for c, cell in enumerate(row, start=1):
            yield at(f"table {k}, row {r}, column {c}"), cell
    if table.caption is not None:
        yield from _text(at(f"table {k} caption"), table.caption)


def numbers_in(item: Any) -> Iterator[Number]:
    """The `Number`s inside one printed item (a relation pair or an equation may hold some)."""
    if isinstance(item, Number):
        yield item
    elif isinstance(item, tuple | list):
        for x in item:
            yield from numbers_in(x)
    elif isinstance(item, Text):
        for x in item.items:
            yield from numbers_in(x)
    elif hasattr(item, "relation"):  # a declared or checked relation (answerkey.relations)
        yield from numbers_in(item.relation)


def _bare_int(item: Any) -> str | None:
    """An int typed into prose (a table's index cells may be ints; prose prints given ones)."""
    if isinstance(item, int | np.integer) and not isinstance(item, bool):
        return str(int(item))
    if isinstance(item, tuple | list):
        return next((b for x in item if (b := _bare_int(x))), None)
    if isinstance(item, Text):
        return next((b for x in item.items if (b := _bare_int(x))), None)
    return None


def bare_number(item: Any) -> str | None:
    """What is wrong with an item that shows a number the engine does not vouch for."""
    if isinstance(item, Number):
        return None
    if isinstance(item, bool):
        return None
    if isinstance(item, float | np.floating):
        return f"the bare number {float(item)!r}"
    if isinstance(item, np.ndarray):
        if item.dtype.kind in "iub":
            return None
        return "a bare array " + np.array2string(item, precision=4)
    if isinstance(item, str):
        found = _TYPED_NUMBER.search(item)
        return f"the number {found.group()!r} written into its text" if found else None
    if isinstance(item, tuple | list):
        for x in item:
            why = bare_number(x)
            if why:
                return why
        return None
    if isinstance(item, Text):
        for x in item.items:
            why = bare_number(x)
            if why:
                return why
        return None
    if hasattr(item, "relation"):  # a declared or checked relation (answerkey.relations)
        return bare_number(item.relation)
    if isinstance(item, sp.MatrixBase) or isinstance(item, sp.Basic):
        floats = item.atoms(sp.Float)
        if floats:
            return f"the bare number {float(sorted(floats, key=float)[0])!r} inside {item}"
    return None


# --------------------------------------------------------------------------- the audit


def audit_items(
    assignment_id: str, items: Sequence[tuple[Place, Any]], verified: Callable[[Any], bool]
) -> list[tuple[Place, Number]]:
    """Refuse a bare number, a computed number that differs from its origin's value
    or whose origin no part verifies; return the printed numbers, in order."""
    out: list[tuple[Place, Number]] = []
    for place, item in items:
        where = f"{assignment_id}, part {place.part}" if place.part else assignment_id
        why = bare_number(item)
        if not why and not place.where.startswith("table") and _bare_int(item):
            why = (
                f"the bare integer {_bare_int(item)} (an index or count may be written into "
                "the text instead, f'update {k}', where 'Typed integers' in "
                "docs/explanation/verification.md allows it)"
            )
        if why:
            raise VerificationError(
                f"{where}, {place.where}",
                f"shows {why}; a key prints only given numbers (worked.given) "
                "and numbers the engine computed (worked.value, worked.example, ...)",
            )
        for n in numbers_in(item):
            if n.source == COMPUTED:
                _check_computed(f"{where}, {place.where}", n, verified)
            elif n.source != GIVEN:
                raise VerificationError(f"{where}, {place.where}", f"unknown source {n.source!r}")
            out.append((place, n))
    return out


def _check_computed(where: str, n: Number, verified: Callable[[Any], bool]) -> None:
    origin = n.origin
    if origin is None or not hasattr(origin, "value_of"):
        raise VerificationError(where, f"{n.label} claims to be computed but has no engine origin")
    if not verified(origin):
        raise VerificationError(
            where,
            f"{n.label} comes from {origin.name!r}, which no part of this key verifies "
            "(add it to a part's numeric_checks)",
        )
    engine = np.asarray(origin.value_of(n.key), dtype=float)
    if n.index:
        if engine.ndim == 2 and len(n.index) == 1 and 1 in engine.shape:
            engine = engine.reshape(-1)
        engine = np.asarray(engine[n.index])
    shown = np.asarray(n.value, dtype=float)
    if shown.shape != engine.shape or not np.array_equal(shown, engine):
        raise VerificationError(
            where,
            f"shows {n.label} = {_fmt(shown)}, but the engine computed {_fmt(engine)}",
        )


def _fmt(v: Any) -> str:
    text = np.array2string(np.asarray(v, dtype=float), precision=10, max_line_width=10**6)
    return text.replace("\n", "")


def origins(part: Part) -> list[Any]:
    """The engine objects a part verifies (those among its numeric checks)."""
    return [c for c in part.numeric_checks if hasattr(c, "value_of")]


def prints(part: Part) -> bool:
    """Does the part print a number (a `Number`, or a bare one the audit refuses)?"""
    return any(
        bare_number(item) or any(True for _ in numbers_in(item))
        for _, item in printed_in_part(part)
    )


def check_part(assignment_id: str, part: Part) -> list[CheckRecord]:
    """The verifier's check of a part's printed numbers (see `audit_items`).

    A computed number of another part's engine object passes here when that object
    is attached somewhere; `audit` (the whole key, at render) makes sure it is."""
    mine = origins(part)
    found = audit_items(
        assignment_id,
        list(printed_in_part(part)),
        lambda o: o in mine or bool(getattr(o, "attached", False)),
    )
    stated = check_statements(assignment_id, part)
    computed_here = sum(1 for _, n in found if n.source == COMPUTED)
    if not found:
        return []
    detail = (
        f"{len(found)} printed numbers: {len(found) - computed_here} given, "
        f"{computed_here} computed by the engine and equal to its verified values"
    )
    if stated:
        detail += f"; {stated} stated as the value of the quantity they are printed beside"
    return [CheckRecord("numbers", "printed numbers", detail)]


def statements(item: Any) -> Iterator[tuple[Any, Number]]:
    """The ``(quantity, number)`` pairs an item prints (``y = 0.57``), at any depth."""
    if isinstance(item, Text):
        for x in item.items:
            yield from statements(x)
    elif isinstance(item, tuple | list):
        if (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[1], Number)
            and not isinstance(item[0], Number | str | Text)
        ):
            yield item[0], item[1]
        else:
            for x in item:
                yield from statements(x)


def check_statements(assignment_id: str, part: Part) -> int:
    """Each number printed beside a quantity (``(y2, n)`` in prose, a block's line) is
    that quantity's value: a computed one at its engine object's point, a given one as
    the part's worked objects take it (and never a quantity they compute). Returns how
    many were checked; raises `VerificationError` naming the place."""
    found: list[tuple[Place, Any, Number]] = []
    for place, item in printed_in_part(part):
        if not place.where.startswith(("block", "table")):
            found += [(place, lhs, n) for lhs, n in statements(item)]
    for k, b in enumerate(part.blocks, start=1):
        for label, value in b.lines:
            if not isinstance(value, Number):
                continue
            if not isinstance(label, str | Text):
                found.append((Place(part.id, f"block {k}, line {label}"), label, value))
            elif value.source == COMPUTED:
                raise VerificationError(
                    f"{assignment_id}, part {part.id}, block {k}, line {label}",
                    f"prints {value.label} under the text label {str(label)!r}: a computed "
                    "number's label is the quantity it is the value of (worked.named declares "
                    "another)",
                )
    found += _table_statements(part)
    if isinstance(part.answer, Number) and part.answer_lhs is not None:
        found.append((Place(part.id, "stated answer"), part.answer_lhs, part.answer))
    mine = origins(part)
    for place, lhs, n in found:
        why: str | None = None
        if place.where.startswith("table") and n.index and n.source == COMPUTED:
            if n.key.rsplit(": ", 1)[-1] == str(getattr(lhs, "base", lhs)):
                continue  # a column headed p (or p_j): each cell an entry of p
        if isinstance(lhs, sp.Indexed):  # a table column p_j: each cell an entry of p
            if n.source == COMPUTED and (not n.index or n.key.rsplit(": ", 1)[-1] != str(lhs.base)):
                why = f"the column {lhs} holds entries of {lhs.base}, and this is not one"
        elif n.source == COMPUTED and hasattr(n.origin, "states"):
            why = n.origin.states(n.key, lhs, n.value, n.index)
        elif n.source == GIVEN and not n.quoted:
            why = _computable(lhs, mine)
            verdicts = [v for o in mine if hasattr(o, "gives") and (v := o.gives(lhs, n.value))]
            if not why and verdicts and not any(ok for ok, _ in verdicts):
                why = verdicts[0][1]
        if why:
            raise VerificationError(
                f"{assignment_id}, part {part.id}, {place.where}",
                f"prints {lhs} = {_fmt(n.value)} ({n.label}), but {why}",
            )
    return len(found)


def _table_statements(part: Part) -> list[tuple[Place, Any, Number]]:
    """A table's cells bound like a block's lines: each number in a column headed by a
    quantity is that quantity's value (a column headed p_j: an entry of p). A column
    headed by text, or by an expression of indexed entries, is not read."""
    out: list[tuple[Place, Any, Number]] = []
    for k, table in enumerate(part.tables, start=1):
        for c, head in enumerate(table.header):
            if isinstance(head, str | Text | Number) or not isinstance(head, sp.Basic):
                continue
            if head.has(sp.Indexed) and not isinstance(head, sp.Indexed):
                continue
            for r, row in enumerate(table.rows, start=1):
                cell = row[c] if c < len(row) else None
                if isinstance(cell, Number):
                    where = f"table {k}, row {r}, column {c + 1} ({head})"
                    out.append((Place(part.id, where), head, cell))
    return out


def _computable(lhs: Any, mine: Sequence[Any]) -> str | None:
    """Why a given number may not stand beside `lhs`: a derivative, or a quantity a worked
    object of the part computes (a stage, a gradient, a new value, a step). None when it
    may (an input, or a symbol nothing computes)."""
    if (isinstance(lhs, sp.Basic) and lhs.has(D)) or isinstance(lhs, D):
        return (
            f"{named(lhs)} is a derivative: only the engine's value (a worked example's "
            "or trace's number) may stand beside it"
        )
    key = lhs if isinstance(lhs, str) else sp.sstr(lhs)
    for o in mine:
        shows = getattr(o, "shows", None)
        if shows is not None and shows(key):
            return f"{key} is computed in {o.name}: print the engine's value ({o.name}[{key}])"
    return None


def audit(assignment: Assignment) -> list[tuple[Place, Number]]:
    """The whole key: no bare number anywhere, every computed number's origin verified
    by one of its parts. Returns every printed number with where it is printed."""
    attached = {id(o) for part in assignment.parts() for o in origins(part)}
    found = audit_items(assignment.id, list(printed(assignment)), lambda o: id(o) in attached)
    _check_inputs_printed(assignment, [(pl, n) for pl, n in found if n.source == GIVEN])
    check_typed_integers(assignment)
    return found


def check_typed_integers(assignment: Assignment) -> None:
    """Every integer typed into the key's text is one `typed_integers` allows, checked
    against the worked objects of its part (the exercise's, for its introduction and
    titles); a table cell is read with its column's header word ("class 2")."""
    for ex in assignment.exercises:
        everything = facts([o for part in ex.parts for o in origins(part)])
        by_part = {part.id: facts(origins(part)) for part in ex.parts}
        items: list[tuple[Place, Any]] = [
            (Place("", f"exercise {ex.number}, introduction {i}"), t)
            for i, t in enumerate(ex.intro, start=1)
        ]
        items.append((Place("", f"exercise {ex.number} title"), ex.title))
        for part in ex.parts:
            cells = _cells_with_headers(part)
            items += [(pl, cells.get(pl.where, item)) for pl, item in printed_in_part(part)]
        before: tuple[Place, Any] = (Place("", ""), None)
        sizes = _instance_sizes(ex.parts)
        for place, item in items:
            known = by_part.get(place.part, everything)
            as_class = _given_class(before[1] if before[0] == place else None, item)
            before = (place, item)
            strings = [*_strings(item), *([as_class] if as_class else [])]
            whys = [typed_integers(s, known) for s in strings]
            whys.append(typed_in_maths(item, known.sizes | sizes))
            for why in whys:
                if why:
                    where = f"{assignment.id}, part {place.part}" if place.part else assignment.id
                    raise VerificationError(
                        f"{where}, {place.where}",
                        f'shows {why}: an exercise value is a given number (given(3, "true '
                        "class\") prints 3) or the engine's; see 'Typed integers' in "
                        "docs/explanation/verification.md",
                    )


_CLASS_BEFORE = re.compile(r"\btrue class\s*$", re.IGNORECASE)


def _given_class(before: Any, item: Any) -> str | None:
    """A given integer printed as a true class (after the words "true class", as
    ``say("true class {}", given(2, ...))`` prints it, or labelled so), read as the text it
    prints ("true class 2"), for `typed_integers` to check against the one-hot targets."""
    if not (isinstance(item, Number) and item.source == GIVEN and item.size == 1):
        return None
    value = float(item)
    after_words = isinstance(before, str) and _CLASS_BEFORE.search(before)
    if value != int(value) or not (after_words or _CLASS_BEFORE.search(item.label)):
        return None
    return f"true class {int(value)}"


def typed_in_maths(item: Any, sizes: frozenset[int]) -> str | None:
    """What is wrong with the numbers typed into an item's maths (None: nothing). The
    integers of notation are allowed wherever they stand: a sum's limits, an entry's or
    index's position, an exponent (a square), a formula's coefficient (the 2 of 2P, the
    1/2 of a loss). A relation that gives a quantity a typed value (``eq(eta, 3)``,
    ``definition(N, 5)``) states an exercise value: allowed for 0, 1 and a size the
    exercise's models have (``d = 2`` of 2-vectors), else refused."""
    if isinstance(item, Text | list):
        inner = item.items if isinstance(item, Text) else item
        return next((w for x in inner if (w := typed_in_maths(x, sizes))), None)
    rel = item.relation if hasattr(item, "relation") else item
    if isinstance(rel, tuple) and len(rel) == 2:
        sides = list(rel)
    elif isinstance(rel, sp.Equality):
        sides = [rel.lhs, rel.rhs]
    else:
        return None
    for value, other in (sides, sides[::-1]):
        if isinstance(value, Number) or isinstance(value, bool):
            continue
        if isinstance(value, int | np.integer):
            value = sp.Integer(int(value))
        if not isinstance(value, sp.Rational) or value in (0, 1):
            continue
        if value.is_Integer and int(value) in sizes:
            continue
        return (
            f"the value {other} = {value} typed into its maths (write "
            f"worked.given({value}, {str(other)!r}) for the {value})"
        )
    return None


def _instance_sizes(parts: Sequence[Part]) -> frozenset[int]:
    """The sizes the exercise's derivations are instantiated at (n = 3 of an instance)."""
    return frozenset(
        int(v)
        for part in parts
        for d in part.derivations
        for inst in d.instances
        for v in inst.sizes.values()
        if isinstance(v, int | np.integer | sp.Integer)
    )


def _cells_with_headers(part: Part) -> dict[str, str]:
    """Text cells under a text header, read with the header's first word ("class 2")."""
    out: dict[str, str] = {}
    for k, table in enumerate(part.tables, start=1):
        for c, head in enumerate(table.header):
            if isinstance(head, str) and head.split():
                for r, row in enumerate(table.rows, start=1):
                    if c < len(row) and isinstance(row[c], str):
                        out[f"table {k}, row {r}, column {c + 1}"] = f"{head.split()[0]} {row[c]}"
    return out


def _strings(item: Any) -> Iterator[str]:
    if isinstance(item, str):
        yield item
    elif isinstance(item, Text):
        for x in item.items:
            yield from _strings(x)
    elif isinstance(item, tuple | list):
        for x in item:
            yield from _strings(x)


#: where a worked object's given inputs count as stated: the statement, not a remark or a reason
_STATEMENT_PLACES = ("question", "fact", "block", "table", "exercise")


def _check_inputs_printed(assignment: Assignment, shown: Sequence[tuple[Place, Number]]) -> None:
    """Every given number a worked example or trace is computed from is printed as the
    input of the part that uses it (the exercise's introduction, that part's or an
    earlier part's question, facts, blocks or tables; a remark, a caption or a step's
    reason does not state an input), or declared `stated_as` another form. A given number
    the part prints under the same label with another value (0.5 in the question, the
    trace run at 0.05) is refused too."""
    for ex in assignment.exercises:
        earlier: list[str] = [""]
        for part in ex.parts:
            here = [
                (pl, n)
                for pl, n in shown
                if (pl.part in earlier or pl.part == part.id)
                and pl.where.startswith(_STATEMENT_PLACES)
            ]
            in_part = [(pl, n) for pl, n in shown if pl.part == part.id]
            for origin in origins(part):
                for name, value in getattr(origin, "givens", lambda: [])():
                    _check_input(assignment.id, part, origin, name, value, here, in_part)
            earlier.append(part.id)


def _check_input(
    assignment_id: str,
    part: Part,
    origin: Any,
    name: str,
    value: Any,
    stated: Sequence[tuple[Place, Number]],
    in_part: Sequence[tuple[Place, Number]],
) -> None:
    raw = value.value if isinstance(value, Number) else value
    flat = np.asarray(raw, dtype=float).reshape(-1)

    def same(n: Number) -> bool:
        v = np.asarray(n.value, dtype=float).reshape(-1)
        return v.size == flat.size and bool(np.array_equal(v, flat))

    where = f"{assignment_id}, part {part.id}"
    if isinstance(value, Number):
        for pl, n in in_part:
            if n.label == value.label and not n.quoted and not same(n):
                raise VerificationError(
                    f"{where}, {pl.where}",
                    f"prints {n.label} = {_fmt(n.value)}, but {origin.name} is computed with "
                    f"{name} = {_fmt(raw)}",
                )
        if value.stated_as:
            return
    if not any(same(n) for _, n in stated) and not _entries_printed(value, flat, stated):
        elsewhere = (
            ""
            if not any(same(n) for _, n in in_part)
            else (" (it is printed only in a remark or a reason, not as the part's input)")
        )
        raise VerificationError(
            where,
            f"{origin.name} is computed from {name} = {_fmt(raw)}, which the key does not print "
            f"as its input{elsewhere}: show it as a given number (worked.given) in "
            "the part's question, facts or blocks (or an earlier part's, or the exercise's "
            "introduction), or say how the key states it (given(..., stated_as=...))",
        )


def _entries_printed(value: Any, flat: np.ndarray, stated: Sequence[tuple[Place, Number]]) -> bool:
    """Is every entry of the given input `value` printed, one by one (a table's column)?"""
    if not isinstance(value, Number):
        return False
    shape = np.asarray(value.value).shape
    seen: set[int] = set()
    for _, n in stated:
        if n.index and n.label.startswith(value.label + "[") and n.source == GIVEN:
            arr = np.zeros(shape)
            flat_index = int(
                np.ravel_multi_index(n.index, arr.reshape(-1).shape if len(n.index) == 1 else shape)
            )
            if flat_index < flat.size and flat[flat_index] == float(n.value):
                seen.add(flat_index)
    return len(seen) == flat.size


def ledger(assignment: Assignment) -> list[dict[str, Any]]:
    """answers.json's `numbers`: one entry per printed number or array (repeats once),
    with `where` it is first printed (`Place.where`: "block 2, line a_2", "table 1, row
    3, column 2", "stated answer", "remark 1", ...) and the `decimals` it is printed with
    (its own, else its part's `Part.decimals`, else `DECIMALS`): the precision a quiz
    tolerance or a grader derives from."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    part_decimals = {p.id: p.decimals for p in assignment.parts()}
    for place, n in audit(assignment):
        value = n.plain()
        key = (place.part, n.label, repr(value))
        if key in seen:
            continue
        seen.add(key)
        entry: dict[str, Any] = {
            "part": place.part or None,
            "label": n.label,
            "value": value,
            "source": n.source,
            "where": place.where,
            "decimals": next(
                d for d in (n.decimals, part_decimals.get(place.part), DECIMALS) if d is not None
            ),
        }
        if n.source == COMPUTED:
            entry["check"] = n.check
        out.append(entry)
    return out


def summary(assignment: Assignment) -> dict[str, int]:
    """Counts for the key's banner: distinct numbers printed, given and computed."""
    distinct = {(n.source, n.label) for _, n in audit(assignment)}
    return {src: sum(1 for s, _ in distinct if s == src) for src in (GIVEN, COMPUTED)}
