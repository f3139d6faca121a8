"""Proofs cached by content: a verdict is stored under what it depends on, not under a file's date.

An author edits a solution module (a comment, a question's wording) and rebuilds;
the derivations the edit left alone need not be proved again. So the verifier
asks this module (`verified`) for the `CheckRecord`s of a derivation, or of a
part's numeric checks, and gets them from `build/.cache/proofs/` when an entry
exists for exactly the same content, or runs the checks and stores what they
recorded when they pass. Only passes are stored: a failure is always found
again.

The key is a digest of everything the verdict depends on (`content_digest`):

* the objects checked, walked field by field: SymPy expressions by `srepr`
  (assumptions included), NumPy arrays by dtype, shape and bytes, dataclasses
  (derivations, steps, instances, parts, prose) field by field;
* code by its bytecode and constants (not its source text, so a comment or a
  moved line does not count, and not `repr`, which is an address): a function's
  code, its defaults, its closure's values, and, recursively, every global of
  its module it names (functions it calls, constants, classes); a module of
  the project it names (`_sgd`) by its syntax tree;
* the engine (`answerkey/*.py`), Python, SymPy and NumPy versions, and this
  module's `KEY_VERSION`;
* the random generator's state when the check starts (the stored entry gives
  its state after, so later checks see the same points as without the cache).

Anything the walk does not know how to read makes the entry uncacheable: it is
checked every time. A false hit would publish an unverified answer; a false
miss only costs time, so every doubt is a miss. The git revision, the term's
title-page text and the other provenance are no part of any key: they change
the key's last line, not its proofs.

Entries are data only (JSON, or a rendered output's bytes), kept by `store`: each
names the key it answers and carries a digest of its content, and is used only
when both match; a corrupt, foreign, truncated or unreadable entry counts as
absent (a note under --verbose) and is written again. Remembered verdicts are
read back as the engine's own dataclasses, field by field, and stored only when
they read back equal to what was computed.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import enum
import functools
import hashlib
import json
import re
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from . import cache, sources, store
from .model import Assignment, CheckRecord, Part

KEY_VERSION = 1

# Outputs of verification and rendering that the verifier writes onto the model:
# not inputs of any verdict.
_NOT_INPUTS = {(Part, "checks"), (Assignment, "errata")}

_directory: Path | None = None  # the cache directory (build/.cache)
_note: store.Note = store.quiet


@dataclasses.dataclass
class Tally:
    """How many verdicts came from the cache, were computed, or could not be cached."""

    hits: int = 0
    misses: int = 0
    uncacheable: int = 0

    def describe(self) -> str:
        total = self.hits + self.misses + self.uncacheable
        text = f"{self.hits} of {total} proofs from the cache"
        return text + (f", {self.uncacheable} uncacheable" if self.uncacheable else "")


_tally = Tally()


def configure(directory: Path | None, note: store.Note | None = None) -> None:
    """Use the cache in `directory` (build/.cache) in this process from now on (None: no
    cache); `note` hears of every entry ignored (--verbose)."""
    global _directory, _note
    _directory = directory
    _note = note or store.quiet


@contextlib.contextmanager
def using(directory: Path | None, note: store.Note | None = None) -> Iterator[None]:
    """The cache in `directory` for the duration of a build, then as before."""
    before = _directory, _note
    configure(directory, note)
    try:
        yield
    finally:
        configure(*before)


@contextlib.contextmanager
def tally() -> Iterator[Tally]:
    """Count this block's hits and misses (for --verbose)."""
    global _tally
    before, _tally = _tally, Tally()
    counts = _tally
    try:
        yield counts
    finally:
        _tally = before
        _tally.hits += counts.hits
        _tally.misses += counts.misses
        _tally.uncacheable += counts.uncacheable


def verified(
    subject: Any,
    rng: np.random.Generator | None,
    check: Callable[[], list[CheckRecord]],
) -> list[CheckRecord]:
    """`check()`'s records, from the cache when `subject` (with `rng`'s state) was
    verified before; otherwise `check()` runs, and what it records is stored when it passes."""
    if _directory is None:
        return check()
    try:
        key = entry_key(subject, rng)
    except Uncacheable:
        _tally.uncacheable += 1
        return check()
    hit = _load(key)
    if hit is not None:
        records, state = hit
        if rng is None or _restore(rng, state):
            _tally.hits += 1
            return records
        _note(f"cache: ignored proofs/{key[:2]}/{key}: not a random state; computed again")
    _tally.misses += 1
    records = check()
    _store(key, records, None if rng is None else rng.bit_generator.state)
    return records


def remembered(
    subject: Any, compute: Callable[[], list[Any]], item: type | tuple[type, ...] = object
) -> list[Any]:
    """`compute()`'s list, from the cache when `subject` was computed before; for results
    richer than check records, such as the errata. The list is kept as data (`to_data`):
    one that does not read back equal to itself is computed every time. A stored list
    is used only when each of its items is an `item`."""
    if _directory is None:
        return compute()
    try:
        key = entry_key(subject)
    except Uncacheable:
        return compute()
    raw = store.get_json(_directory, "verdicts", key, _note)
    if raw is not None:
        try:
            value = from_data(raw)
            if isinstance(value, list) and all(isinstance(v, item) for v in value):
                return value
            raise ValueError("not a list of what was stored")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            _note(f"cache: ignored verdicts/{key[:2]}/{key}: {exc}; computed again")
    value = compute()
    try:
        data = to_data(value)
        if from_data(json.loads(json.dumps(data))) != value:
            return value
    except (ValueError, TypeError, KeyError, AttributeError):
        return value  # not plain data: nothing to keep
    store.put_json(_directory, "verdicts", key, data)
    return value


def to_data(value: Any) -> Any:
    """`value` as JSON data: plain values, lists, tuples, dicts, NumPy scalars and the
    engine's dataclasses (by field). ValueError for anything else."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, np.generic) and not value.dtype.hasobject:
        return {"numpy": value.dtype.str, "value": to_data(value.item())}
    if isinstance(value, list):
        return {"list": [to_data(v) for v in value]}
    if isinstance(value, tuple) and type(value) is tuple:
        return {"tuple": [to_data(v) for v in value]}
    if isinstance(value, dict) and type(value) is dict:
        return {"dict": [[to_data(k), to_data(v)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if _engine_class(cls.__module__, cls.__qualname__) is not cls:
            raise ValueError(f"not an engine dataclass: {_qualified(cls)}")
        return {
            "dataclass": [cls.__module__, cls.__qualname__],
            "fields": {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(cls)},
        }
    raise ValueError(f"not data: {type(value).__qualname__}")


def from_data(data: Any) -> Any:
    """The value `to_data` gave `data` for. Classes are only the engine's dataclasses
    already imported, filled field by field without running any of their code."""
    if data is None or isinstance(data, bool | int | str):
        return data
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ValueError("not an encoded value")
    if set(data) == {"float"}:
        return float(data["float"])
    if set(data) == {"numpy", "value"}:
        return np.dtype(data["numpy"]).type(from_data(data["value"]))
    if set(data) == {"list"}:
        return [from_data(v) for v in _list(data["list"])]
    if set(data) == {"tuple"}:
        return tuple(from_data(v) for v in _list(data["tuple"]))
    if set(data) == {"dict"}:
        return {from_data(k): from_data(v) for k, v in map(_pair, _list(data["dict"]))}
    if set(data) == {"dataclass", "fields"}:
        module, qualname = _pair(data["dataclass"])
        cls = _engine_class(str(module), str(qualname))
        fields = data["fields"]
        if cls is None or not isinstance(fields, dict):
            raise ValueError(f"not an engine dataclass: {module}.{qualname}")
        names = [f.name for f in dataclasses.fields(cls)]
        if sorted(fields) != sorted(names):
            raise ValueError(f"not the fields of {qualname}")
        obj: Any = object.__new__(cls)
        for name in names:
            object.__setattr__(obj, name, from_data(fields[name]))
        return obj
    raise ValueError("not an encoded value")


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("not a list")
    return value


def _pair(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("not a pair")
    return value[0], value[1]


def _engine_class(module: str, qualname: str) -> type | None:
    """The engine's dataclass `module`.`qualname`, if that module is imported (none is
    imported for the asking)."""
    if module.split(".")[0] not in _LIBRARY_ROOTS:
        return None
    obj: Any = sys.modules.get(module)
    for name in qualname.split("."):
        obj = getattr(obj, name, None) if obj is not None and name.isidentifier() else None
    if isinstance(obj, type) and dataclasses.is_dataclass(obj):
        return obj
    return None


def rendered(subject: Any, make: Callable[[], bytes]) -> bytes:
    """Bytes of a rendered output (a PDF, an HTML page) from its source's content: a
    source byte-identical to an earlier build's (the handout after an edit to a
    solution, the key after a comment) is not typeset again. The key holds the
    source, the templates and the pandoc and TeX versions besides the engine;
    builds are byte-reproducible, so the cached bytes are what `make()` gives."""
    if _directory is None:
        return make()
    try:
        key = entry_key(("rendered", subject, _render_tools()))
    except Uncacheable:
        return make()
    data = store.get(_directory, "outputs", key, _note)
    if data is not None:
        return data
    data = make()
    store.put(_directory, "outputs", key, data)
    return data


def _render_tools() -> tuple[str, dict[str, str]]:
    return cache.templates_digest(cache.TEMPLATES), cache.tool_versions()


def entry_key(subject: Any, rng: np.random.Generator | None = None) -> str:
    """The cache key of `subject` checked with `rng` in its present state."""
    return content_digest(
        {
            "key version": KEY_VERSION,
            "engine": engine_version(),
            "python": sys.version,
            "sympy": sp.__version__,
            "numpy": np.__version__,
            "rng": None if rng is None else rng.bit_generator.state,
            "subject": subject,
        }
    )


def engine_version() -> str:
    """The engine's source: any change to it may change what a check proves."""
    return cache.engine_digest()


def _load(key: str) -> tuple[list[CheckRecord], Any] | None:
    body = store.get_json(_directory, "proofs", key, _note)
    if body is None:
        return None
    raw = body.get("records") if isinstance(body, dict) else None
    if not isinstance(raw, list) or not all(
        isinstance(r, list) and len(r) == 3 and all(isinstance(x, str) for x in r) for r in raw
    ):
        _note(f"cache: ignored proofs/{key[:2]}/{key}: not a list of check records; computed again")
        return None
    assert isinstance(body, dict)
    return [CheckRecord(*r) for r in raw], body.get("rng")


def _restore(rng: np.random.Generator, state: Any) -> bool:
    """Put `rng` where the check left it; False (rng untouched) if `state` is not one."""
    try:
        probe = type(rng.bit_generator)()
        probe.state = state
    except (TypeError, ValueError, KeyError):
        return False
    rng.bit_generator.state = state
    return True


def _store(key: str, records: list[CheckRecord], state: Any) -> None:
    body = {"records": [[r.kind, r.subject, r.detail] for r in records], "rng": state}
    store.put_json(_directory, "proofs", key, body)


# --- the content digest ------------------------------------------------------------


class Uncacheable(Exception):
    """An object the digest cannot read for sure: its verdict is not cached."""


_DUMMY = re.compile(r"dummy_index=(\d+)")
_PLAIN = (type(None), bool, int, float, complex, str, bytes)
_LIBRARY_ROOTS = {"answerkey"}  # by name: its source is the engine digest
# a class's own entries that say nothing about what it computes
_CLASS_BOOKKEEPING = {"__dict__", "__weakref__", "__module__", "__doc__", "__match_args__"}


def content_digest(obj: Any) -> str:
    """A digest of `obj`'s content, the same in every process; Uncacheable if unsure."""
    h = hashlib.sha256()
    _Walker(h).feed(obj)
    return h.hexdigest()


class _Walker:
    def __init__(self, h: Any) -> None:
        self.h = h
        self.open: dict[int, int] = {}  # id -> depth, for cycles
        self.done: dict[int, str] = {}  # id -> digest of what is finished
        self.keep: list[Any] = []  # keeps ids valid while walking

    def put(self, *tokens: str) -> None:
        for t in tokens:
            self.h.update(t.encode("utf-8", "surrogatepass") + b"\x00")

    def feed(self, obj: Any) -> None:
        if isinstance(obj, _PLAIN):
            self.put(type(obj).__name__, repr(obj))
            return
        ident = id(obj)
        if ident in self.open:
            self.put("cycle", str(len(self.open) - self.open[ident]))
            return
        if ident in self.done:
            self.put("seen", self.done[ident])
            return
        self.open[ident] = len(self.open)
        self.keep.append(obj)
        outer, self.h = self.h, hashlib.sha256()
        try:
            self._dispatch(obj)
            inner = self.h.hexdigest()
        finally:
            self.h = outer
            del self.open[ident]
        self.done[ident] = inner
        self.put("obj", inner)

    def sub(self, obj: Any) -> str:
        """`obj`'s digest on its own (for items whose order does not count)."""
        outer, self.h = self.h, hashlib.sha256()
        try:
            self.feed(obj)
            return self.h.hexdigest()
        finally:
            self.h = outer

    def _dispatch(self, obj: Any) -> None:
        if isinstance(obj, sp.Basic) or (isinstance(obj, type) and issubclass(obj, sp.Basic)):
            self._sympy(obj)
        elif isinstance(obj, np.ndarray | np.generic):
            arr = np.asarray(obj)
            if arr.dtype.hasobject:
                self.put("ndarray[object]", str(arr.shape))
                for item in arr.flat:
                    self.feed(item)
            else:
                self.put("ndarray", arr.dtype.str, str(arr.shape))
                self.h.update(np.ascontiguousarray(arr).tobytes())
        elif isinstance(obj, enum.Enum):
            self.put("enum", _qualified(type(obj)), obj.name)
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            cls = type(obj)
            self.put("dataclass", _qualified(cls))
            self._class(cls)
            for f in dataclasses.fields(obj):
                if (cls, f.name) in _NOT_INPUTS:
                    continue
                self.put(f.name)
                self.feed(getattr(obj, f.name))
        elif isinstance(obj, Mapping):
            # as a set of items: a dict built from a set (SymPy's assumptions, say)
            # has an order that changes with the process's string hashing
            items = sorted(self.sub(k) + self.sub(v) for k, v in obj.items())
            self.put("mapping", type(obj).__name__, *items)
        elif isinstance(obj, list | tuple):
            self.put(type(obj).__name__, str(len(obj)))
            for item in obj:
                self.feed(item)
        elif isinstance(obj, set | frozenset):
            self.put("set", *sorted(self.sub(item) for item in obj))
        elif isinstance(obj, functools.partial):
            self.put("partial")
            self.feed(obj.func)
            self.feed(obj.args)
            self.feed(obj.keywords)
        elif isinstance(obj, types.MethodType):
            self.put("method")
            self.feed(obj.__func__)
            self.feed(obj.__self__)
        elif isinstance(obj, types.FunctionType):
            self._function(obj)
        elif isinstance(obj, types.CodeType):
            self._code(obj)
        elif isinstance(obj, types.ModuleType):
            self._module(obj)
        elif isinstance(obj, type):
            self._class(obj)
        elif isinstance(obj, types.BuiltinFunctionType | np.ufunc):
            self.put("builtin", getattr(obj, "__module__", None) or "", obj.__name__)
            owner = getattr(obj, "__self__", None)
            if owner is not None and not isinstance(owner, types.ModuleType):
                self.feed(owner)
        elif isinstance(obj, range | slice):
            self.put(repr(obj))
        else:
            raise Uncacheable(f"cannot read a {type(obj).__qualname__} for the proof cache")

    def _sympy(self, obj: Any) -> None:
        if isinstance(obj, type):
            self._class(obj)
            return
        text, classes = _sympy_text(obj)
        self.put("sympy", text)
        for cls in classes:
            self._class(cls)

    def _class(self, cls: type) -> None:
        self.put("class", _qualified(cls))
        if not _is_project(cls.__module__):
            self._library(cls.__module__)
            return
        for base in cls.__mro__[1:]:
            self.put("base", _qualified(base))
            if _is_project(base.__module__):
                self.feed(base)
        for name, value in sorted(vars(cls).items()):
            if name in _CLASS_BOOKKEEPING or name.startswith("__dataclass"):
                continue
            self.put(name)
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                value = (value.fget, value.fset, value.fdel)
            self.feed(value)

    def _library(self, module: str) -> None:
        """Something of a library: known by name, and the library's version."""
        top = module.split(".")[0]
        if top in _LIBRARY_ROOTS:
            return  # the engine digest covers it
        version = getattr(sys.modules.get(top), "__version__", None)
        self.put("library", top, str(version))

    def _function(self, fn: types.FunctionType) -> None:
        self.put("function", fn.__module__ or "", fn.__qualname__)
        # What it was made with counts even for the engine's functions: a closure the
        # engine returns (an oracle made from a network description) carries the
        # project's values.
        self.feed(fn.__defaults__)
        self.feed(fn.__kwdefaults__)
        cells = []
        for cell in fn.__closure__ or ():
            try:
                cells.append(cell.cell_contents)
            except ValueError:  # an empty cell
                cells.append(None)
        self.feed(tuple(cells))
        generated = fn.__code__.co_filename.startswith("<")  # lambdify's, exec'd code
        if not _is_project(fn.__module__) and not generated:
            self._library(fn.__module__ or "")
            return
        self._code(fn.__code__)
        # the module's globals the code names (calls, constants, classes)
        names = sorted(_names(fn.__code__))
        for name in names:
            if name in fn.__globals__:
                self.put("global", name)
                self.feed(fn.__globals__[name])

    def _code(self, code: types.CodeType) -> None:
        self.put("code", code.co_name, str(code.co_argcount), str(code.co_kwonlyargcount))
        self.put(str(code.co_flags), *code.co_varnames, "|", *code.co_names, "|")
        self.put(*code.co_freevars, "|", *code.co_cellvars, "|")
        self.h.update(code.co_code)
        for const in code.co_consts:
            self.feed(const)

    def _module(self, module: types.ModuleType) -> None:
        self.put("module", module.__name__)
        if not _is_project(module.__name__):
            self._library(module.__name__)
            return
        self.put(_module_tree(module))


def _sympy_text(obj: Any) -> tuple[str, list[type]]:
    """A SymPy object's `srepr` (Dummies numbered in order of appearance) and the
    project's classes in it, once per object in a process: every key of a build
    walks the same expressions (SymPy objects are immutable; held by the entry,
    so an id is not reused while it is there)."""
    seen = _SYMPY_TEXT.get(id(obj))
    if seen is not None and seen[0] is obj:
        return seen[1], seen[2]
    # a Dummy's index is drawn anew in every process: number them in order of appearance
    numbers: dict[str, str] = {}
    text = _DUMMY.sub(
        lambda m: "dummy=" + numbers.setdefault(m.group(1), str(len(numbers))), sp.srepr(obj)
    )
    # srepr names a class; a class of the project's own (an sp.Function with
    # an eval written in a solution module) is read by its code too.
    classes = [
        cls
        for cls in sorted({type(node) for node in sp.preorder_traversal(obj)}, key=_qualified)
        if _is_project(cls.__module__)
    ]
    if len(_SYMPY_TEXT) >= 4096:
        _SYMPY_TEXT.clear()
    _SYMPY_TEXT[id(obj)] = (obj, text, classes)
    return text, classes


_SYMPY_TEXT: dict[int, tuple[Any, str, list[type]]] = {}


def _names(code: types.CodeType) -> set[str]:
    """Every name a code object (and the functions defined in it) loads."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@functools.cache
def _is_project(module: str | None) -> bool:
    """Code whose content counts: solution modules, tests, scripts — not the engine
    (its digest is part of every key) and not a library (its version is)."""
    if not module:
        return False
    top = module.split(".")[0]
    if top in _LIBRARY_ROOTS:
        return False
    loaded = sys.modules.get(top)
    path = getattr(loaded, "__file__", None)
    if top in sys.stdlib_module_names or top == "builtins":
        return False
    if path is None:
        return module == "__main__" or loaded is None
    return "site-packages" not in Path(path).parts and "dist-packages" not in Path(path).parts


@functools.cache
def _tree_digest(source: bytes) -> str:
    return hashlib.sha256(ast.dump(ast.parse(source)).encode()).hexdigest()


def _module_tree(module: types.ModuleType) -> str:
    """A module of the project by its syntax tree (comments and layout do not count), as
    imported (`sources.read`: the bytes it runs, not what its file holds now)."""
    path = getattr(module, "__file__", None)
    if path is None:
        raise Uncacheable(f"module {module.__name__} has no source file")
    try:
        return _tree_digest(sources.read(path))
    except (OSError, SyntaxError, ValueError) as exc:
        raise Uncacheable(f"cannot read module {module.__name__}: {exc}") from None
