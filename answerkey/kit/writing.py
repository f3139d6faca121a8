"""Writing a key in fewer lines: a sentence as a template, lists, a derivation from pairs.

``say("Give {} for every output {}.", D(L, o_k), k)`` is
``text("Give", D(L, o_k), "for every output", k, ".")``: each ``{}`` takes the next
item (maths, a number from `answerkey.worked`, an equation pair, a relation from
`answerkey.relations`), and the words between are stripped (the printer puts one
space between items and none before punctuation). The template is not an f-string:
``{}`` is the only placeholder, and a template's count of ``{}`` must match the items.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import sympy as sp

from ..errors import AuthoringError
from ..mathfns import named
from ..model import Derivation, Instance, Step, Text, text

PLACE = "{}"
#: `derive(..., prove_small=True)` proves at every size cut to this: three still has three
#: distinct indices (i, j, k), and SymPy's work grows fast with the sizes
PROOF_SIZE = 3


def say(template: str, *items: Any) -> Text:
    """`template` with each ``{}`` replaced by the next of `items` (a list item is spliced in)."""
    pieces = template.split(PLACE)
    if len(pieces) != len(items) + 1:
        raise ValueError(
            f"{template!r} has {len(pieces) - 1} places {PLACE} for {len(items)} items"
        )
    out: list[Any] = []
    for piece, item in zip(pieces, [*items, None], strict=True):
        if piece.strip():
            out.append(piece.strip())
        if isinstance(item, list):
            out += item
        elif item is not None:
            out.append(item)
    return Text(tuple(out))


def listed(items: Sequence[Any], sep: str = ",", last: str | None = None) -> list[Any]:
    """Prose items separated by `sep` (and `last` before the last one, e.g. "and"), for
    `say`'s places or `text`: ``listed([a, b, c], last="and")`` is a, b and c."""
    out: list[Any] = []
    for i, item in enumerate(items):
        if i:
            out.append(last if last is not None and i == len(items) - 1 else sep)
        out.append(item)
    return out


def names(items: Sequence[Any]) -> str:
    """Words for a list: "1", "1 and 2", "1, 2 and 3"."""
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def numbered(noun: str, items: Sequence[Any], plural: str | None = None) -> str:
    """A noun with its numbers: "unit 2", "units 1 and 3" (`plural` when it is not the noun
    with an s: ``numbered("class", [2, 4], "classes")``)."""
    return f"{noun if len(items) == 1 else plural or noun + 's'} {names(items)}"


def derive(
    lhs: Any,
    steps: Sequence[tuple[Any, Text | str] | Step],
    instances: Sequence[Instance],
    oracle: Callable[[Mapping[str, Any]], Any] | None = None,
    *,
    prove_small: bool = False,
) -> Derivation:
    """``Derivation(lhs, (Step(expr, reason), ...), instances, oracle)`` from (expr, reason)
    pairs or `Step`s (``FRAGMENT.step(...)``); a reason given as a string is ``text(reason)``.
    A step of another form is refused naming the derivation and the step.

    `prove_small`: for a derivation whose symbolic proof grows too fast with the sizes,
    the proof runs at a copy of each instance with every size cut to `PROOF_SIZE`; the
    numeric checks and finite differences stay at the sizes given."""
    if prove_small:
        instances = [small for inst in instances for small in proved_small(lhs, inst)]
    return Derivation(
        lhs, tuple(_step(lhs, k, s) for k, s in enumerate(steps, 1)), tuple(instances), oracle
    )


def proved_small(lhs: Any, inst: Instance) -> list[Instance]:
    """`inst` checked numerically, then its copy at sizes cut to `PROOF_SIZE` proved (just
    `inst` when no size is larger). The copy's label says its sizes: the label's number of
    each cut size is replaced (or the sizes are appended when the label does not show it).
    The same `inst` gives the same copies (instances are frozen), so derivations sharing an
    instance share its copies too, as the checks of a part's prose expect."""
    made = _SMALL.get(id(inst))
    if made is not None and made[0] is inst:
        return list(made[1])
    copies = _proved_small(lhs, inst)
    _SMALL[id(inst)] = (inst, copies)
    return list(copies)


_SMALL: dict[int, tuple[Instance, list[Instance]]] = {}


def _proved_small(lhs: Any, inst: Instance) -> list[Instance]:
    small = {k: min(v, PROOF_SIZE) for k, v in inst.sizes.items()}
    if small == dict(inst.sizes) or not inst.prove:
        return [inst]
    beyond = [k for k in inst.given if any(int(i) > PROOF_SIZE for i in re.findall(r"\d+", k))]
    if beyond:
        raise AuthoringError(
            f"derive({named(lhs)}, prove_small=True): the instance {inst.label!r} assumes "
            f"{', '.join(beyond)}, an entry the proof's sizes (at most {PROOF_SIZE}) do not "
            "have; give a smaller instance for the proof instead"
        )
    label = inst.label
    for k, v in inst.sizes.items():
        if small[k] == v:
            continue
        place = rf"(?<![\w.]){v}(?![\w.])"
        if len(re.findall(place, label)) == 1:
            label = re.sub(place, str(small[k]), label)
        else:
            label = f"{label}, proved at " + ", ".join(f"{s} = {n}" for s, n in small.items())
            break
    return [replace(inst, prove=False), replace(inst, sizes=small, label=label)]


def _step(lhs: Any, k: int, step: Any) -> Step:
    if isinstance(step, Step):
        return step
    reason = step[1] if isinstance(step, tuple) and len(step) == 2 else None
    if isinstance(reason, str):
        return Step(step[0], text(reason))
    if isinstance(reason, Text):
        return Step(step[0], reason)
    got = f"a pair whose reason is a {type(reason).__name__}" if reason is not None else None
    raise AuthoringError(
        f"derive({named(lhs)}): step {k} is {got or _kind(step)}; write each step as "
        "(expression, reason) with the reason a string or text/say(...), or FRAGMENT.step(...)"
    )


def _kind(step: Any) -> str:
    if isinstance(step, tuple | list):
        return f"a {type(step).__name__} of {len(step)} items"
    return f"a {type(step).__name__} ({sp.sstr(step)[:60]})"


_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu", "sigma"}


def upright(names: str) -> dict[str, str]:
    """Notation for names whose subscript is a word, printed upright: ``upright("x_in
    delta_out")`` is ``{"x_in": r"x_{\\mathrm{in}}", "delta_out": r"\\delta_{\\mathrm{out}}"}``
    (a Greek base letter gets its backslash), for `Assignment(notation=...)`."""
    out = {}
    for name in names.split():
        base, _, sub = name.partition("_")
        if not sub:
            raise ValueError(f"{name!r} has no subscript")
        letter = "\\" + base if base in _GREEK or base.lower() in _GREEK else base
        out[name] = f"{letter}_{{\\mathrm{{{sub}}}}}"
    return out


def increments(names: str) -> dict[str, str]:
    """Notation for the changes of quantities: ``increments("w W_ij")`` is ``{"Delta_w":
    r"\\Delta w", "Delta_W_ij": r"\\Delta W_{ij}"}`` (the subscript as written), for
    `Assignment(notation=...)`."""
    out = {}
    for name in names.split():
        base, _, sub = name.partition("_")
        out[f"Delta_{name}"] = f"\\Delta {base}" + (f"_{{{sub}}}" if sub else "")
    return out
