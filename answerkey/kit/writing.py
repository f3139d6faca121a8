"""Writing a key in fewer lines: a sentence as a template, lists, a derivation from pairs.

``say("Give {} for every output {}.", D(L, o_k), k)`` is
``text("Give", D(L, o_k), "for every output", k, ".")``: each ``{}`` takes the next
item (maths, a number from `answerkey.worked`, an equation pair, a relation from
`answerkey.relations`), and the words between are stripped (the printer puts one
space between items and none before punctuation). The template is not an f-string:
``{}`` is the only placeholder, and a template's count of ``{}`` must match the items.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sympy as sp

from ..errors import AuthoringError
from ..mathfns import named
from ..model import Derivation, Instance, Step, Text, text

PLACE = "{}"


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
) -> Derivation:
    """``Derivation(lhs, (Step(expr, reason), ...), instances, oracle)`` from (expr, reason)
    pairs or `Step`s (``FRAGMENT.step(...)``); a reason given as a string is ``text(reason)``.
    A step of another form is refused naming the derivation and the step."""
    return Derivation(
        lhs, tuple(_step(lhs, k, s) for k, s in enumerate(steps, 1)), tuple(instances), oracle
    )


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
