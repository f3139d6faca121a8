"""Terms: each term's numbers for every assignment, validated before anything is computed.

A term file ``terms/<name>.toml`` holds top-level ``course`` and ``label``
strings (printed on every title page), an optional ``seed`` (an integer, used
for per-student variants), an optional ``pool`` (how many variants a roster
spreads its students over, 1 to `MAX_VARIANTS`: kept with the seed, since
either one changing moves students to other variants), and one table per
assignment id overriding that assignment's ``PARAMETERS``::

    course = "Neural Networks, winter 2026"
    label = "2026-winter"
    seed = 2026
    pool = 40

    ["my-assignment".trace]
    learning_rate = 0.1

Whatever a term file leaves out keeps the original value (a deep merge); the
built-in ``default`` term is the original numbers and needs no file.

The schema is inferred from the defaults, so a solution module does not write
one: a number stays a number (a float accepts an integer), an integer stays an
integer, a string stays a string, a list of numbers keeps its shape, and a list
of records (tables) may change length but each record must look like the
default's first one. NaN and infinities are always refused. Range rules come
from the module's optional ``CONSTRAINTS``, a mapping of key paths (``*``
stands for every element of a list) to rules built from this module's small
vocabulary: ``positive()``, ``non_negative()``, ``at_least(n)``,
``at_most(n)``, ``between(a, b)``, ``integer()``, ``non_empty()``,
``any_length()``. Every problem in a file is reported, one line each, in a
single `UsageError` (exit 2).

Seeded draws (`new_term`, `variant_params`) use the module's optional
``draw(rng)`` and ``instructive(params)``; see `answerkey.registry`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import names
from .errors import AnswerkeyError, UsageError, printable
from .regular import read_regular, write_new
from .settable import unsettable
from .tomlfile import check_depth, read_toml

__all__ = [
    "MAX_DRAW_ATTEMPTS",
    "Rule",
    "Term",
    "any_length",
    "at_least",
    "at_most",
    "at_most_items",
    "available_terms",
    "between",
    "deep_merge",
    "draw_params",
    "integer",
    "load_term",
    "new_term",
    "non_empty",
    "non_negative",
    "parameter_hash",
    "positive",
    "rounded",
    "term_name_of",
    "text_problems",
    "validate_term_data",
    "variant_params",
    "varies",
]

DEFAULT_TERM = "default"
TERMS_DIR = Path("terms")
MAX_DRAW_ATTEMPTS = 1000
_RESERVED = ("course", "label", "seed", "pool")
#: a term's name is also a directory name: short, and no path tricks
MAX_NAME = names.MAX_NAME

# Limits on what a term file may ask for, checked before anything is computed
# (README, "Limits"). A solution module bounds its own counts (iterations,
# samples) with CONSTRAINTS; these hold for every value of every term.
#: the largest term file read
MAX_FILE_BYTES = 64 * 1024
#: the longest `course` or `label` (characters)
MAX_TEXT = 200
#: the longest list in a term file (per list, at any depth)
MAX_ITEMS = 100
#: the largest magnitude of any number in a term file
MAX_MAGNITUDE = 1e6
#: the most problems listed for one term file
MAX_PROBLEMS = 20
#: the most per-student variants one build makes
MAX_VARIANTS = 500

Draw = Callable[[np.random.Generator], Mapping[str, Any]]
Instructive = Callable[[Mapping[str, Any]], list[str]]
Validate = Callable[[Mapping[str, Any]], list[str]]


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    """A range rule on one value: `expected` completes "expected ..." in the error message."""

    expected: str
    check: Callable[[Any], bool] = field(compare=False)
    #: a list rule that lifts the "same shape as the default" requirement
    relaxes_length: bool = False


def positive() -> Rule:
    """The value must be > 0 (a learning rate, a margin)."""
    return Rule("a number > 0", lambda v: _is_number(v) and v > 0)


def non_negative() -> Rule:
    """The value must be >= 0."""
    return Rule("a number >= 0", lambda v: _is_number(v) and v >= 0)


def at_least(n: float) -> Rule:
    """The value must be >= n (e.g. at least one iteration)."""
    return Rule(f"a number >= {_fmt_num(n)}", lambda v: _is_number(v) and v >= n)


def at_most(n: float) -> Rule:
    """The value must be <= n."""
    return Rule(f"a number <= {_fmt_num(n)}", lambda v: _is_number(v) and v <= n)


def between(lo: float, hi: float) -> Rule:
    """The value must lie in the closed interval [lo, hi]."""
    return Rule(
        f"a number between {_fmt_num(lo)} and {_fmt_num(hi)}",
        lambda v: _is_number(v) and lo <= v <= hi,
    )


def integer() -> Rule:
    """The value must be a whole number (TOML integer), whatever the default's type."""
    return Rule("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool))


def non_empty() -> Rule:
    """The list (or string) must not be empty (e.g. the samples)."""
    return Rule("a non-empty list", lambda v: isinstance(v, (list, str)) and len(v) > 0)


def at_most_items(n: int) -> Rule:
    """The list may hold at most n items (e.g. the samples of a hand-worked trace)."""
    return Rule(f"a list of at most {n} items", lambda v: isinstance(v, list) and len(v) <= n)


def any_length() -> Rule:
    """A list of values that may change length (e.g. the scores over K classes)."""
    return Rule("a list", lambda v: isinstance(v, list), relaxes_length=True)


# --------------------------------------------------------------------------- sources


class ParameterSource(Protocol):
    """What terms need from an assignment: a `registry.SolutionModule` fits."""

    @property
    def parameters(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class _Source:
    parameters: Mapping[str, Any]
    constraints: Mapping[str, Rule | Sequence[Rule]]
    draw: Draw | None
    instructive: Instructive | None
    validate: Validate | None = None


def _source(obj: ParameterSource | Mapping[str, Any]) -> _Source:
    """Accept a SolutionModule-like object or a bare PARAMETERS mapping."""
    if isinstance(obj, Mapping):
        return _Source(obj, {}, None, None)
    return _Source(
        obj.parameters,
        getattr(obj, "constraints", None) or {},
        getattr(obj, "draw", None),
        getattr(obj, "instructive", None),
        getattr(obj, "validate", None) or getattr(getattr(obj, "module", None), "validate", None),
    )


Assignments = Mapping[str, "ParameterSource | Mapping[str, Any]"]


def _sources(assignments: Assignments) -> dict[str, _Source]:
    """Normalize the assignments; a CONSTRAINTS key naming nothing is a bug (exit 1)."""
    out = {aid: _source(a) for aid, a in assignments.items()}
    for aid, src in out.items():
        bad = check_constraint_keys(src.parameters, src.constraints)
        if bad:
            raise AnswerkeyError(
                f"{aid}: CONSTRAINTS name no parameter: {', '.join(bad)} "
                "(key paths are dotted, '*' for every list element)"
            )
    return out


# --------------------------------------------------------------------------- term


@dataclass(frozen=True)
class Term:
    """One term: title-page strings, seed, and every assignment's merged, validated numbers."""

    name: str
    course: str
    label: str
    seed: int | None
    params: dict[str, dict[str, Any]]
    source_path: Path | None
    #: the variants a roster spreads students over (None: not in the term file)
    pool: int | None = None
    #: assignments that draw numbers (a `draw()`) but that the term file does not
    #: mention: they build with their modules' own numbers, the default term's
    unnumbered: tuple[str, ...] = ()
    _sources: Mapping[str, _Source] = field(default_factory=dict, repr=False, compare=False)


def available_terms(directory: Path | str = TERMS_DIR) -> list[str]:
    """Names `load_term` accepts: the built-in default plus every terms/*.toml."""
    names = {DEFAULT_TERM}
    d = Path(directory)
    if d.is_dir():
        names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


def load_term(
    name_or_path: str | Path,
    assignments: Assignments,
    directory: Path | str = TERMS_DIR,
    absent_ok: bool = False,
) -> Term:
    """Read, merge and validate a term so no computation ever sees a bad number.

    `name_or_path` is a term name (``terms/<name>.toml``; ``default`` needs no
    file) or a path to a ``.toml`` file. `assignments` maps assignment id to a
    `SolutionModule` (or anything with ``parameters`` and optional
    ``constraints``/``draw``/``instructive``) or to a bare PARAMETERS mapping.
    Raises `UsageError` listing every problem. `absent_ok`: a table for an
    assignment not in `assignments` is left out, not refused (its module is broken,
    and reported as such).
    """
    sources = _sources(assignments)
    text = str(name_or_path)
    is_path = isinstance(name_or_path, Path) or "/" in text or text.endswith(".toml")
    if is_path:
        path: Path | None = Path(text)
        assert path is not None
        name = term_name_of(path, directory)
    else:
        _check_name(text)
        name = text
        path = Path(directory) / f"{text}.toml"
        if text == DEFAULT_TERM and not path.exists():
            path = None
    if path is None:
        data: dict[str, Any] = {}
        where = "default term"
    else:
        data = _read_toml(path, directory)
        where = str(path)
    if absent_ok:
        data = {k: v for k, v in data.items() if k in _RESERVED or k in sources}
    return _build_term(name, data, sources, where, path)


def _check_name(name: str) -> None:
    if not names.is_name(name):
        raise UsageError(
            f"bad term name {_quote(name)}: use up to {MAX_NAME} letters, digits, '.', '_' "
            "and '-' (starting with a letter or digit)"
        )


def term_name_of(path: Path, directory: Path | str = TERMS_DIR) -> str:
    """The term name (so the output directory) a term file given by path builds into.

    It is the file's stem, validated like a name; a stem naming the built-in
    `default` or another term of `directory` is refused unless the path is
    that very file, so one term never replaces another's outputs."""
    if path.suffix != ".toml":
        raise UsageError(f"{_quote(str(path))}: a term file's name must end in .toml")
    name = path.name[: -len(".toml")]
    _check_name(name)
    own = Path(directory) / f"{name}.toml"
    same = own.exists() and path.exists() and os.path.samefile(own, path)
    if name == DEFAULT_TERM and not same:
        raise UsageError(
            f"{_quote(str(path))}: a term file may not be named {DEFAULT_TERM!r} "
            f"(its outputs would replace the built-in term's); rename it"
        )
    if own.exists() and not same:
        raise UsageError(
            f"{_quote(str(path))}: term {name!r} is already {own}, and both would build into "
            f"the same directory; rename the file"
        )
    return name


def validate_term_data(data: Mapping[str, Any], assignments: Assignments, where: str) -> Term:
    """Validate already-parsed term data (as from tomllib) the same way `load_term` does."""
    sources = _sources(assignments)
    check_depth(data, where)
    return _build_term(Path(where).stem, dict(data), sources, where, None)


def _read_toml(path: Path, directory: Path | str) -> dict[str, Any]:
    if not path.exists() and not path.is_symlink():
        raise UsageError(
            f"{path}: no such term file; available terms: {', '.join(available_terms(directory))}"
        )
    return read_toml(path, "term file", MAX_FILE_BYTES)


def _build_term(
    name: str,
    data: dict[str, Any],
    sources: Mapping[str, _Source],
    where: str,
    path: Path | None,
) -> Term:
    problems: list[str] = []
    course = data.get("course", "")
    label = data.get("label", name)
    seed = data.get("seed")
    for key, text in (("course", course), ("label", label)):
        if not isinstance(text, str):
            problems.append(f"{key}: expected a string, got {_describe(text)}")
        else:
            problems.extend(f"{key}: {p}" for p in text_problems(text))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        problems.append(f"seed: expected an integer >= 0, got {_describe(seed)}")
    pool = data.get("pool")
    if pool is not None and (
        isinstance(pool, bool) or not isinstance(pool, int) or not 1 <= pool <= MAX_VARIANTS
    ):
        problems.append(
            f"pool: expected an integer from 1 to {MAX_VARIANTS} (the variants a roster "
            f"spreads students over), got {_describe(pool)}"
        )

    params: dict[str, dict[str, Any]] = {}
    _check_sizes(data, "", problems)
    for key, value in data.items():
        if key in _RESERVED:
            continue
        if key not in sources:
            known = ", ".join([*_RESERVED, *sources])
            problems.append(f"{_key(key)}: unknown key; expected one of: {known}")
        elif not isinstance(value, dict):
            problems.append(f"{_key(key)}: expected a table of parameters, got {_describe(value)}")
    for aid, src in sources.items():
        override = data.get(aid, {})
        if not isinstance(override, dict):
            override = {}
        merged = _check_and_merge(
            src.parameters, override, _key(aid), problems, (), _relaxed_lists(src.constraints)
        )
        _apply_constraints(merged, src.constraints, _key(aid), problems)
        params[aid] = merged
    if not problems:
        # the modules' own cross-field checks, on values already of the right shape
        for aid, src in sources.items():
            if src.validate is not None:
                problems.extend(f"{_key(aid)}: {p}" for p in src.validate(params[aid]))

    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        raise UsageError("\n".join(f"{_quote(where, 200)[1:-1]}: {p}" for p in shown))
    return Term(
        name=name,
        course=course,
        label=label,
        seed=seed,
        params=params,
        source_path=path,
        _sources=dict(sources),
        pool=pool,
        unnumbered=tuple(a for a, src in sources.items() if src.draw and a not in data)
        if path is not None
        else (),
    )


# --------------------------------------------------------------------------- schema


def _check_and_merge(
    default: Any,
    value: Any,
    path: str,
    problems: list[str],
    spath: tuple[str, ...] = (),
    relaxed: frozenset[tuple[str, ...]] = frozenset(),
) -> Any:
    """Check `value` against the schema of `default`; return the merged, normalized value.

    `spath` is the schema path (``*`` for list elements) used to find the
    lists in `relaxed` that may change length.
    """
    if isinstance(default, Mapping):
        if not isinstance(value, Mapping):
            problems.append(f"{path}: expected a table, got {_describe(value)}")
            return _plain(default)
        out: dict[str, Any] = {}
        for k in value:
            if k not in default:
                known = ", ".join(map(str, default)) or "none"
                problems.append(f"{_join(path, k)}: unknown key; expected one of: {known}")
        for k, d in default.items():
            out[k] = (
                _check_and_merge(d, value[k], _join(path, k), problems, (*spath, k), relaxed)
                if k in value
                else _plain(d)
            )
        return out
    if isinstance(default, (list, tuple)):
        return _check_list(list(default), value, path, problems, spath, relaxed)
    return _check_scalar(default, value, path, problems)


def _check_list(
    default: list[Any],
    value: Any,
    path: str,
    problems: list[str],
    spath: tuple[str, ...],
    relaxed: frozenset[tuple[str, ...]],
) -> Any:
    fixed = spath not in relaxed
    elem = (*spath, "*")
    if not isinstance(value, list):
        problems.append(f"{path}: expected {_expected_list(default)}, got {_describe(value)}")
        return _plain(default)
    if not default:
        # nothing to infer from: accept finite numbers and strings
        for i, v in enumerate(value):
            if isinstance(v, (Mapping, list)) or not _is_scalar(v):
                problems.append(f"{path}[{i}]: expected a number or string, got {_describe(v)}")
            elif isinstance(v, float) and not math.isfinite(v):
                problems.append(f"{path}[{i}]: expected a finite number, got {_describe(v)}")
        return list(value)
    if any(isinstance(d, Mapping) for d in default):
        # a list of records: any length, each like the default's first record
        return [
            _check_and_merge(default[0], v, f"{path}[{i}]", problems, elem, relaxed)
            for i, v in enumerate(value)
        ]
    want = _shape(default)
    got = _shape(value)
    if fixed and want is not None and got != want:
        problems.append(f"{path}: expected {_expected_list(default)}, got {_describe(value)}")
        return _plain(default)
    if not fixed and want is not None and (got is None or got[1:] != want[1:]):
        expected = _expected_list(default, any_len=True)
        problems.append(f"{path}: expected {expected}, got {_describe(value)}")
        return _plain(default)
    return [
        _check_and_merge(default[min(i, len(default) - 1)], v, f"{path}[{i}]", problems, elem)
        for i, v in enumerate(value)
    ]


def _check_scalar(default: Any, value: Any, path: str, problems: list[str]) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            problems.append(f"{path}: expected true or false, got {_describe(value)}")
            return default
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected an integer, got {_describe(value)}")
            return default
        if abs(value) > MAX_MAGNITUDE:
            problems.append(
                f"{path}: expected an integer of size at most {MAX_MAGNITUDE:g}, "
                f"got {_describe(value)}"
            )
            return default
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected a number, got {_describe(value)}")
            return default
        if not math.isfinite(value):
            problems.append(f"{path}: expected a finite number, got {_describe(value)}")
            return default
        if abs(value) > MAX_MAGNITUDE:
            problems.append(
                f"{path}: expected a number of size at most {MAX_MAGNITUDE:g}, "
                f"got {_describe(value)}"
            )
            return default
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {_describe(value)}")
            return default
        bad = text_problems(value)
        problems.extend(f"{path}: {p}" for p in bad)
        return default if bad else value
    if default is None:
        if not _is_scalar(value) or (_is_num_leaf(value) and not _is_number(value)):
            problems.append(f"{path}: expected a finite number or string, got {_describe(value)}")
            return None
        return value
    problems.append(f"{path}: cannot be set from a term file (default {default!r})")
    return default


def text_problems(text: str) -> list[str]:
    """Why `text` cannot be printed on a title page: too long, or characters
    the PDFs cannot set (control characters among them)."""
    if len(text) > MAX_TEXT:
        return [f"at most {MAX_TEXT} characters, got {len(text)}"]
    bad = unsettable(text)
    if not bad:
        return []
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    return [f"the PDFs cannot set {shown}"]


def _check_sizes(data: Any, path: str, problems: list[str]) -> None:
    """Refuse any list longer than MAX_ITEMS, wherever it is (before the schema walk)."""
    todo: list[tuple[Any, str]] = [(data, path)]
    while todo:
        value, where = todo.pop()
        if isinstance(value, list):
            if len(value) > MAX_ITEMS:
                problems.append(f"{where}: at most {MAX_ITEMS} items, got {len(value)}")
                continue
            todo.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, dict):
            todo.extend((v, _join(where, str(k))) for k, v in value.items())


def _apply_constraints(
    merged: Any,
    constraints: Mapping[str, Rule | Sequence[Rule]],
    prefix: str,
    problems: list[str],
) -> None:
    for key, rules in constraints.items():
        rule_list = [rules] if isinstance(rules, Rule) else list(rules)
        for where, v in _resolve(merged, key.split("."), prefix):
            for rule in rule_list:
                if rule.relaxes_length:
                    continue
                if not rule.check(v):
                    problems.append(f"{where}: expected {rule.expected}, got {_describe(v)}")
                    break


def _resolve(value: Any, parts: list[str], path: str) -> list[tuple[str, Any]]:
    """Every (path, value) a constraint key names; ``*`` ranges over a list's elements."""
    if not parts:
        return [(path, value)]
    head, rest = parts[0], parts[1:]
    if head == "*":
        if not isinstance(value, list):
            return []
        out: list[tuple[str, Any]] = []
        for i, v in enumerate(value):
            out.extend(_resolve(v, rest, f"{path}[{i}]"))
        return out
    if isinstance(value, Mapping) and head in value:
        return _resolve(value[head], rest, _join(path, head))
    return []


def _relaxed_lists(
    constraints: Mapping[str, Rule | Sequence[Rule]],
) -> frozenset[tuple[str, ...]]:
    """Schema paths of the lists an `any_length()` rule lets change length."""
    out = set()
    for key, rules in constraints.items():
        rule_list = [rules] if isinstance(rules, Rule) else list(rules)
        if any(r.relaxes_length for r in rule_list):
            out.add(tuple(key.split(".")))
    return frozenset(out)


def check_constraint_keys(
    parameters: Mapping[str, Any], constraints: Mapping[str, Rule | Sequence[Rule]]
) -> list[str]:
    """Constraint keys that name nothing in PARAMETERS (a typo in a solution module)."""
    return [k for k in constraints if not _resolve(parameters, k.split("."), "")]


# --------------------------------------------------------------------------- merge, hash


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `override` laid over it: tables merge key by key, anything else replaces."""
    out = _plain(base)
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = _plain(v)
    return out


def parameter_hash(params: Any) -> str:
    """A short, stable fingerprint of a parameter set (for the variant index and caches)."""
    canonical = json.dumps(
        _plain(params), sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _plain(v: Any) -> Any:
    """A deep copy as plain dicts/lists/scalars (tuples become lists, NumPy scalars Python)."""
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


# --------------------------------------------------------------------------- draws


def rounded(values: Any, decimals: int = 2) -> Any:
    """Drawn numbers as a term writes them: rounded to `decimals` (what a student works
    with by hand), as plain floats in lists, with no negative zero."""
    return (np.round(np.asarray(values, dtype=float), decimals) + 0.0).tolist()


def draw_params(
    assignment_id: str,
    source: ParameterSource | Mapping[str, Any],
    base: Mapping[str, Any],
    entropy: Sequence[int],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Draw until the exercise is instructive; return (the drawn overrides, the merged params).

    One NumPy Generator seeded with `entropy` feeds every attempt, so the
    result depends on the entropy only. A draw that breaks the schema is a bug
    in the solution module (exit 1); running out of attempts is reported with
    the last reasons so the user can pick another seed (exit 2).
    """
    src = _source(source)
    if src.draw is None:
        return {}, _plain(base)
    rng = np.random.default_rng(np.random.SeedSequence(list(entropy)))
    reasons: list[str] = []
    for _ in range(MAX_DRAW_ATTEMPTS):
        drawn = _plain(src.draw(rng))
        problems: list[str] = []
        merged = _check_and_merge(
            base, drawn, _key(assignment_id), problems, (), _relaxed_lists(src.constraints)
        )
        _apply_constraints(merged, src.constraints, _key(assignment_id), problems)
        if problems:
            raise AnswerkeyError(
                f"{assignment_id}: draw() produced invalid parameters:\n" + "\n".join(problems)
            )
        reasons = list(src.instructive(merged)) if src.instructive else []
        if not reasons:
            return drawn, merged
    raise UsageError(
        f"{assignment_id}: no instructive draw in {MAX_DRAW_ATTEMPTS} attempts "
        f"(last draw: {'; '.join(reasons)}); try another seed"
    )


def _id_entropy(assignment_id: str) -> int:
    """A stable integer per assignment, so adding an assignment changes no other's draws."""
    return int.from_bytes(hashlib.sha256(assignment_id.encode("utf-8")).digest()[:8], "big")


def varies(term: Term, assignment_id: str) -> bool:
    """Whether variants of this assignment get their own numbers (else compute it once)."""
    src = term._sources.get(assignment_id)
    return src is not None and src.draw is not None


def variant_params(term: Term, assignment_id: str, k: int) -> dict[str, Any]:
    """Variant k's (k >= 1) numbers, from the term's seed and k alone: reproducible per student.

    The draw is laid over the term's numbers (what the draw leaves out, e.g.
    the number of iterations, stays the term's). Assignments without a draw get
    the term's numbers unchanged.
    """
    if assignment_id not in term.params:
        raise UsageError(f"unknown assignment {assignment_id!r} in term {term.name!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UsageError(f"variant number must be an integer >= 1, got {k!r}")
    base = term.params[assignment_id]
    if not varies(term, assignment_id):
        return _plain(base)
    if term.seed is None:
        where = term.source_path or f"terms/{term.name}.toml"
        raise UsageError(
            f"term {term.name!r} has no seed, so its variants cannot be derived: "
            f"add `seed = <integer>` to {where} (or make one with `answerkey new-term`)"
        )
    src = term._sources[assignment_id]
    _, merged = draw_params(assignment_id, src, base, [term.seed, _id_entropy(assignment_id), k])
    return merged


def new_term(
    name: str,
    seed: int,
    assignments: Assignments,
    directory: Path | str = TERMS_DIR,
    *,
    course: str = "",
    label: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``<directory>/<name>.toml`` with fresh, instructive numbers drawn from `seed`.

    The same seed gives a byte-identical file. Rewriting an existing file with
    identical content is allowed; replacing different content needs
    `overwrite`. The written file is loaded back and validated.
    """
    if not names.is_name(name) or name == DEFAULT_TERM:
        raise UsageError(
            f"bad term name {_quote(name)}: use up to {MAX_NAME} letters, digits, '.', '_' "
            f"and '-' (starting with a letter or digit), and not {DEFAULT_TERM!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be an integer >= 0, got {seed!r}")
    data: dict[str, Any] = {
        "course": course,
        "label": name if label is None else label,
        "seed": seed,
    }
    for aid, a in assignments.items():
        src = _source(a)
        if src.draw is None:
            continue
        drawn, _ = draw_params(aid, src, _plain(src.parameters), [seed, _id_entropy(aid)])
        data[aid] = drawn
    text = _header(name, seed) + dump_toml(data)

    directory = Path(directory)
    path = directory / f"{name}.toml"
    validate_term_data(tomllib.loads(text), assignments, str(path))
    if (
        os.path.lexists(path)
        and not overwrite
        and read_regular(path, "term file", MAX_FILE_BYTES) != text.encode()
    ):
        raise UsageError(f"{path} exists with other numbers; remove it or choose another name")
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.unlink(missing_ok=True)  # ours, from an earlier attempt (never written through)
    try:
        write_new(tmp, text.encode())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _header(name: str, seed: int) -> str:
    return (
        f"# Term {name!r} for answerkey: made by `answerkey new-term {name} --seed {seed}`.\n"
        "# The numbers were drawn from the seed and kept only where the exercise stays\n"
        "# instructive (checked by computation). Edit freely: anything left out keeps the\n"
        "# exercise's original value. `seed` also derives the per-student variants.\n\n"
    )


# --------------------------------------------------------------------------- TOML writing


def dump_toml(data: Mapping[str, Any]) -> str:
    """Compact, readable TOML: inline arrays for numbers, ``[[...]]`` for lists of records."""
    lines: list[str] = []
    _dump_table(data, [], lines)
    return "\n".join(lines).strip("\n") + "\n"


def _dump_table(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not _is_subtable(v)}
    subs = {k: v for k, v in table.items() if _is_subtable(v)}
    if path and (scalars or not subs):
        lines.append(f"[{'.'.join(map(_toml_key, path))}]")
    for k, v in scalars.items():
        lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    if scalars:
        lines.append("")
    for k, v in subs.items():
        if isinstance(v, Mapping):
            _dump_table(v, [*path, k], lines)
        else:
            for record in v:
                lines.append(f"[[{'.'.join(map(_toml_key, [*path, k]))}]]")
                for rk, rv in record.items():
                    lines.append(f"{_toml_key(rk)} = {_toml_value(rv)}")
                lines.append("")


def _is_subtable(v: Any) -> bool:
    return isinstance(v, Mapping) or (
        isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)
    )


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v!r} to a term file")
        return repr(v + 0.0)  # no "-0.0"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise ValueError(f"cannot write {v!r} to a term file")


# --------------------------------------------------------------------------- messages


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (int, float, str, bool))


def _shape(v: Any) -> tuple[int, ...] | None:
    """The shape of a rectangular nested list of scalars; None when ragged or mixed."""
    if not isinstance(v, list):
        return () if not isinstance(v, (Mapping, tuple)) else None
    if not v:
        return (0,)
    subs = [_shape(x) for x in v]
    if any(s is None for s in subs) or len(set(subs)) != 1:
        return None
    first = subs[0]
    assert first is not None
    return (len(v), *first)


def _expected_list(default: list[Any], any_len: bool = False) -> str:
    shape = _shape(default)
    kind = "numbers" if all(_is_num_leaf(x) for x in _leaves(default)) else "values"
    if shape is None:
        return "a list"
    if len(shape) == 1:
        return f"a list of {kind}" if any_len else f"a list of {shape[0]} {kind}"
    dims = "x".join(map(str, shape))
    return f"a {dims} list of {kind} ({shape[0]} rows of {'x'.join(map(str, shape[1:]))})"


def _leaves(v: Any) -> list[Any]:
    if isinstance(v, list):
        return [x for item in v for x in _leaves(item)]
    return [v]


def _is_num_leaf(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _describe(v: Any) -> str:
    """How a bad value is quoted in a message: short, and saying what it is."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return f"the string {_quote(v)}"
    if isinstance(v, list):
        if not v:
            return "an empty list"
        shape = _shape(v)
        if shape is not None and len(shape) >= 2:
            return f"a {'x'.join(map(str, shape))} list"
        if shape is not None and len(shape) == 1:
            return f"a list of {shape[0]}"
        return f"a list of {len(v)} (not rectangular)"
    if isinstance(v, Mapping):
        return "a table"
    return type(v).__name__


def _quote(text: str, limit: int = 40) -> str:
    """A string quoted for a message: shortened, control characters escaped."""
    short = text if len(text) <= limit else text[: limit - 3] + "..."
    return '"' + printable(short, keep_newlines=False).replace('"', '\\"') + '"'


def _fmt_num(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else repr(float(n))


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _join(path: str, k: str) -> str:
    return f"{path}.{_key(k)}" if path else _key(k)
