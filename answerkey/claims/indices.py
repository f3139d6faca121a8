"""Index letters: `δ_j`, `z_i`, `ΔW_{i→j}` name a unit (or a pair of units) by a letter.

A rule such as ΔW_{i→j} = -θ δ_j z_i holds for every unit: its letters are free
indices. The part's symbols with such a subscript make a *family* per name
(`δ_j` makes δ one), so a claimant's `δ_i` is read as the family's member of
unit i (a symbol of its own) rather than an unknown symbol, and a rule written
with other letters can be mapped onto the rule's (`ΔW_{k→l} = -θ δ_l z_k`).
The rule's own letters keep their meaning where the claimant uses them: `-θ δ_i
z_j` for ΔW_{i→j} has its indices swapped (a typical mistake this module names).

Names are canonical (`answerkey.claims.reading.canonical_name`): `\\delta_j`,
`z_i`, `\\Delta W_i\\toj`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

#: a subscript of index letters: one lowercase letter, or two joined by nothing, a comma
#: or `\to`
_LETTERS = re.compile(r"([a-z])(,|\\to)?([a-z])?")


@dataclass(frozen=True)
class Family:
    """Names alike but for their index letters: a base and how its letters are joined."""

    base: str
    joint: str | None  # None: one letter; "", ",", "\\to": two

    def name(self, letters: str) -> str:
        """The canonical name of the member with `letters`."""
        if self.joint is None:
            return f"{self.base}_{letters}"
        return f"{self.base}_{letters[0]}{self.joint}{letters[1]}"


def split(canonical: str) -> tuple[Family, str] | None:
    """(family, letters) of a name with index letters, e.g. `\\delta_j` -> (δ, "j");
    None for other names (`W_out`, `\\delta_1`, `W^(2)`)."""
    if "^" in canonical:
        return None
    base, sep, sub = canonical.rpartition("_")
    m = _LETTERS.fullmatch(sub) if sep and base else None
    if m is None or (m.group(2) and not m.group(3)):
        return None
    if m.group(3) is None:
        return Family(base, None), m.group(1)
    return Family(base, m.group(2) or ""), m.group(1) + m.group(3)


@dataclass(frozen=True)
class Families:
    """The part's index families: each with one member it has (letters, SymPy symbol)."""

    members: Mapping[Family, tuple[str, sp.Symbol]]

    @classmethod
    def of(cls, names: Mapping[str, Any]) -> Families:
        """From a table of canonical name -> SymPy object. Two letters written together
        (`w_{ij}`) make a family only when each is an index letter of a one-letter family
        (so `x_in` is no pair of indices i, n)."""
        found: dict[Family, tuple[str, sp.Symbol]] = {}
        for name, obj in sorted(names.items()):
            parts = split(name)
            if parts is not None and isinstance(obj, sp.Symbol) and not obj.is_integer:
                found.setdefault(parts[0], (parts[1], obj))
        singles = {letters for f, (letters, _) in found.items() if f.joint is None}
        kept = {
            f: m
            for f, m in found.items()
            if f.joint != "" or all(letter in singles for letter in m[0])
        }
        return cls(kept)

    def member(self, canonical: str) -> sp.Symbol | None:
        """The symbol a name with index letters stands for, when its family is the part's
        (`\\delta_i` beside the part's `\\delta_j`); None otherwise."""
        parts = split(canonical)
        if parts is None or parts[0] not in self.members:
            return None
        return self.symbol(parts[0], parts[1])

    def symbol(self, family: Family, letters: str) -> sp.Symbol:
        """The family's member with `letters`: the part's own symbol when it has them,
        else one named like it (`delta_j` -> `delta_i`)."""
        known, obj = self.members[family]
        if letters == known:
            return obj
        name = obj.name
        name = name[: -len(known)] + letters if name.endswith(known) else f"{name}[{letters}]"
        return sp.Symbol(name, **obj.assumptions0)

    def letters_of(self, s: Any) -> tuple[Family, str] | None:
        """(family, letters) of a symbol that is a member of one of the families."""
        if not isinstance(s, sp.Symbol):
            return None
        for family, (known, obj) in self.members.items():
            if s == obj:
                return family, known
            stem = obj.name[: -len(known)] if obj.name.endswith(known) else None
            if stem is not None and s.name.startswith(stem):
                rest = s.name[len(stem) :]
                if len(rest) == len(known) and rest.isalpha() and rest.islower():
                    return family, rest
        return None

    def used(self, *exprs: Any) -> dict[sp.Symbol, tuple[Family, str]]:
        """The members among the free symbols of `exprs`, with their family and letters."""
        out: dict[sp.Symbol, tuple[Family, str]] = {}
        for e in exprs:
            for s in getattr(e, "free_symbols", ()):
                found = self.letters_of(s)
                if found is not None:
                    out[s] = found
        return out

    def renamed(self, used: Mapping[sp.Symbol, tuple[Family, str]], to: Mapping[str, str]) -> dict:
        """The substitution that renames the letters of the members `used` by `to`."""
        return {
            s: self.symbol(family, "".join(to.get(c, c) for c in letters))
            for s, (family, letters) in used.items()
        }


def letters(used: Mapping[sp.Symbol, tuple[Family, str]]) -> set[str]:
    return {c for _, ls in used.values() for c in ls}


def mappings(claim: set[str], rule: set[str]) -> Iterator[dict[str, str]]:
    """Ways to read the claim's letters as the rule's: each of the rule's letters the claim
    uses means itself; the others go, one to one, to the rule's letters left over."""
    foreign = sorted(claim - rule)
    free = sorted(rule - claim)
    if not foreign or len(foreign) > len(free) or len(free) > 4:
        return
    for targets in itertools.permutations(free, len(foreign)):
        yield dict(zip(foreign, targets, strict=True))


def swaps(rule: set[str]) -> Iterator[dict[str, str]]:
    """Every other order of the rule's letters (i ↔ j for two): the indices swapped."""
    order = sorted(rule)
    if not 2 <= len(order) <= 4:
        return
    for perm in itertools.permutations(order):
        if list(perm) != order:
            yield dict(zip(order, perm, strict=True))
