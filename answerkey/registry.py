"""Find the assignments: one module per assignment in the `solutions` package.

A solution module defines

* ``ID`` (e.g. ``"my-assignment"``), ``TITLE`` and ``SEED`` (the earlier
  published solution its notation comes from, a file name in shared/seeds);
* ``PARAMETERS``: the exercise's numbers, the original ones, as plain
  Python/TOML values (a term file may override them);
* ``build(params) -> Assignment``: compute the parts from `params`.

Optional, for terms and per-student variants (see `answerkey.terms`):

* ``CONSTRAINTS``: key path -> rule(s) from `answerkey.terms` (``positive()``,
  ``at_least(1)``, ``non_empty()``, ...), e.g.
  ``{"trace.learning_rate": positive()}``; ``*`` ranges over a list. The rest
  of the schema is inferred from PARAMETERS.
* ``draw(rng: numpy.random.Generator) -> dict``: one candidate set of fresh
  numbers (short decimals), as overrides laid over the term's parameters.
  It must take all its randomness from `rng`.
* ``instructive(params) -> list[str]``: given the merged parameters, the
  reasons the exercise would NOT be instructive; empty keeps the draw. Draws
  are repeated from the same `rng` until one is kept. Without ``draw`` the
  assignment's numbers are fixed per term and variants share one build.

Adding an exercise means adding a module there; nothing else registers it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .errors import AnswerkeyError, AuthoringError, UsageError
from .model import Assignment


@dataclass(frozen=True)
class SolutionModule:
    id: str
    title: str
    parameters: Mapping[str, Any]
    build: Callable[[Mapping[str, Any]], Assignment]
    module: ModuleType
    constraints: Mapping[str, Any] = field(default_factory=dict)
    draw: Callable[[Any], Mapping[str, Any]] | None = None
    instructive: Callable[[Mapping[str, Any]], list[str]] | None = None


def discover() -> dict[str, SolutionModule]:
    """Every solution module, by assignment id, in a stable order."""
    import solutions

    found: dict[str, SolutionModule] = {}
    for info in sorted(pkgutil.iter_modules(solutions.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        where = f"solutions/{info.name}.py"
        try:
            mod = importlib.import_module(f"solutions.{info.name}")
        except AuthoringError as exc:
            raise AuthoringError(f"{where}: {exc}") from None
        except Exception as exc:  # a broken module must not look like an answerkey crash
            raise AnswerkeyError(
                f"{where}: cannot be imported: {type(exc).__name__}: {exc}"
            ) from exc
        if not hasattr(mod, "ID"):
            continue
        missing = [a for a in ("TITLE", "PARAMETERS", "build") if not hasattr(mod, a)]
        if missing:
            raise AnswerkeyError(f"{where}: a solution module needs {', '.join(missing)}")
        if mod.ID in found:
            raise AnswerkeyError(
                f"{where}: assignment id {mod.ID!r} is already used by "
                f"solutions/{found[mod.ID].module.__name__.rsplit('.', 1)[-1]}.py"
            )
        found[mod.ID] = SolutionModule(
            mod.ID,
            mod.TITLE,
            mod.PARAMETERS,
            _naming(mod.ID, mod.build),
            mod,
            constraints=getattr(mod, "CONSTRAINTS", {}),
            draw=getattr(mod, "draw", None),
            instructive=getattr(mod, "instructive", None),
        )
    return found


def _naming(
    assignment_id: str, build: Callable[[Mapping[str, Any]], Assignment]
) -> Callable[[Mapping[str, Any]], Assignment]:
    """`build`, with an authoring error (`derive` given a step of the wrong form, say)
    naming the assignment it came from."""

    @functools.wraps(build)
    def named_build(params: Mapping[str, Any]) -> Assignment:
        try:
            return build(params)
        except AuthoringError as exc:
            raise AuthoringError(f"{assignment_id}: {exc}") from None

    return named_build


def select(names: list[str] | None) -> list[SolutionModule]:
    """The named assignments (all when none are named); unknown names are a usage error."""
    modules = discover()
    if not names:
        return list(modules.values())
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise UsageError(
            f"unknown assignment {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(modules) or 'none'}"
        )
    return [modules[n] for n in names]
