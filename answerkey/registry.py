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

from . import names, sandbox
from .errors import AnswerkeyError, AuthoringError, ModuleError, UsageError
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


class Discovered(dict[str, SolutionModule]):
    """The solution modules that work, by assignment id, and `broken`: one error per
    module that does not (it cannot be imported, lacks ID/TITLE/PARAMETERS/build,
    repeats another's id), so that the others still build, list and check."""

    broken: tuple[ModuleError, ...] = ()


def broken(modules: Mapping[str, SolutionModule]) -> tuple[ModuleError, ...]:
    """The broken modules `discover` found beside `modules` (none for a plain mapping)."""
    return getattr(modules, "broken", ())


def discover() -> Discovered:
    """Every solution module, by assignment id, in a stable order; the broken ones in
    `Discovered.broken`. Each import runs `sandbox.guarded`: an exit, an exception or
    a loop at import is one error naming the module, not the tool's outcome."""
    import solutions

    found = Discovered()
    errors: list[ModuleError] = []
    for info in sorted(pkgutil.iter_modules(solutions.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        where = f"solutions/{info.name}.py"
        try:
            module = _load(info.name, where, found)
        except AnswerkeyError as exc:
            errors.append(exc if isinstance(exc, ModuleError) else ModuleError(str(exc)))
            continue
        if module is not None:
            found[module.id] = module
    found.broken = tuple(errors)
    return found


def _load(name: str, where: str, found: Mapping[str, SolutionModule]) -> SolutionModule | None:
    try:
        with sandbox.guarded(where, "import"):
            mod = importlib.import_module(f"solutions.{name}")
    except AuthoringError as exc:
        raise AuthoringError(f"{where}: {exc}") from None
    except ModuleError as exc:
        raise ModuleError(str(exc).replace(": import failed:", ": cannot be imported:")) from None
    if not hasattr(mod, "ID"):
        return None
    missing = [a for a in ("TITLE", "PARAMETERS", "build") if not hasattr(mod, a)]
    if missing:
        raise ModuleError(f"{where}: a solution module needs {', '.join(missing)}")
    if not names.is_name(mod.ID):
        raise ModuleError(
            f"{where}: ID {mod.ID!r} cannot name a directory: use up to {names.MAX_NAME} "
            "letters, digits, '.', '_' and '-', starting with a letter or digit"
        )
    if mod.ID in found:
        raise ModuleError(
            f"{where}: assignment id {mod.ID!r} is already used by "
            f"solutions/{found[mod.ID].module.__name__.rsplit('.', 1)[-1]}.py"
        )
    draw, instructive = getattr(mod, "draw", None), getattr(mod, "instructive", None)
    return SolutionModule(
        mod.ID,
        mod.TITLE,
        mod.PARAMETERS,
        _naming(mod.ID, where, mod.build),
        mod,
        constraints=getattr(mod, "CONSTRAINTS", {}),
        draw=None if draw is None else _guard(mod.ID, where, "draw()", draw),
        instructive=None
        if instructive is None
        else _guard(mod.ID, where, "instructive()", instructive),
    )


def _naming(
    assignment_id: str, where: str, build: Callable[[Mapping[str, Any]], Assignment]
) -> Callable[[Mapping[str, Any]], Assignment]:
    """`build`, run in `sandbox.guarded`: an authoring error (`derive` given a step of
    the wrong form, say) names the assignment it came from; an exit, an exception, a
    loop past the time limit or a result that is not an Assignment is one
    `ModuleError` naming the module."""

    @functools.wraps(build)
    def named_build(params: Mapping[str, Any]) -> Assignment:
        try:
            with sandbox.guarded(f"{assignment_id} ({where})", "build()"):
                result = build(params)
        except AuthoringError as exc:
            raise AuthoringError(f"{assignment_id}: {exc}") from None
        if not isinstance(result, Assignment):
            raise ModuleError(
                f"{assignment_id} ({where}): build() returned {type(result).__name__}, "
                "not an Assignment"
            )
        return result

    return named_build


def _guard(assignment_id: str, where: str, doing: str, fn: Callable[..., Any]) -> Any:
    """`fn` (a module's draw() or instructive()), run in `sandbox.guarded`."""

    @functools.wraps(fn)
    def guarded(*args: Any) -> Any:
        with sandbox.guarded(f"{assignment_id} ({where})", doing):
            return fn(*args)

    return guarded


def select(
    names: list[str] | None, modules: Mapping[str, SolutionModule] | None = None
) -> list[SolutionModule]:
    """The named assignments (all that work when none are named) among `modules`
    (default: `discover()`); unknown names are a usage error, or the broken modules'
    errors when some module could not be read (the name may be its)."""
    modules = discover() if modules is None else modules
    if not names:
        return list(modules.values())
    unknown = [n for n in names if n not in modules]
    if unknown:
        errors = broken(modules)
        if errors:
            raise ModuleError(
                f"unknown assignment {', '.join(map(repr, unknown))}; "
                + "; ".join(str(e) for e in errors)
            )
        raise UsageError(
            f"unknown assignment {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(modules) or 'none'}"
        )
    return [modules[n] for n in names]
