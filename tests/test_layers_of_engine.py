"""The engine is a stack: no import cycle, no private name imported across modules.

Every module of `answerkey/` (kit/ and claims/ included) is read with `ast`, and each
import it makes counts: at the top, inside a function, `from . import x` (an import of
the submodule x when x is one). Only imports under `if TYPE_CHECKING:` are left out:
they never run, so they cannot tie modules into a cycle at import time.

Two rules, each with the path that breaks it:

- the graph of imports between engine modules has no cycle (the test prints one);
- no module imports a name starting with one underscore (`from .x import _y`) from
  another module: if two modules need it, it is public API of the lower one.

`check_package` runs on any package directory, so the tests below also plant a cycle
and a private import in a scratch package and see the check refuse each.
"""

from __future__ import annotations

import ast
import functools
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "answerkey"

# Cycles known and owned by someone else, each to be removed by its owner (the test
# fails once an entry no longer happens, so the list only shrinks).
ALLOWED_CYCLES: list[frozenset[str]] = []


@dataclass
class Imports:
    """What one package's modules import from each other."""

    edges: dict[str, set[str]] = field(default_factory=dict)
    private: list[str] = field(default_factory=list)  # "a.b:12 imports _x from a.c"


def _module_name(package: Path, path: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in `tree`, at any depth, except under `if TYPE_CHECKING:`."""
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                walk(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(tree)
    return found


def check_package(package: Path) -> Imports:
    """The import graph among the modules of `package` (a directory with __init__.py)."""
    modules = {
        _module_name(package, path): path
        for path in sorted(package.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    result = Imports(edges={name: set() for name in modules})
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
                result.edges[name].update(t for t in targets if t in modules and t != name)
                continue
            if node.level:
                base_parts = here.split(".")
                if node.level > 1:
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base not in modules:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:  # `from . import x`: the submodule x
                    if sub != name:
                        result.edges[name].add(sub)
                    continue
                if base != name:  # a name defined in module `base`
                    result.edges[name].add(base)
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    if base != name:
                        result.private.append(
                            f"{name}:{node.lineno} imports {alias.name} from {base}"
                        )
    return result


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:  # Tarjan; the engine is small enough for recursion
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                components.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return [_one_cycle(edges, set(component)) for component in components]


def _one_cycle(edges: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module, as a path a -> ... -> a."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v] & component):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("not a cycle")  # pragma: no cover


def describe(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in found)


# --- the engine ------------------------------------------------------------------------


@functools.cache
def engine() -> Imports:
    return check_package(ENGINE)


def test_the_engine_has_no_import_cycle() -> None:
    found = cycles(engine().edges)
    unexpected = [c for c in found if frozenset(c) not in ALLOWED_CYCLES]
    assert not unexpected, "import cycles in the engine:\n" + describe(unexpected)
    gone = [sorted(a) for a in ALLOWED_CYCLES if a not in {frozenset(c) for c in found}]
    assert not gone, f"allowed cycles that no longer happen (remove them): {gone}"


#: what the lowest layers may import of the engine (the rest of the stack sits on them)
BELOW = {
    "answerkey.quantity": set(),  # the printed-number type, below the maths helpers
    "answerkey.mathfns": {"answerkey.quantity"},
    "answerkey.proofs": {"answerkey.instantiate", "answerkey.mathfns"},
}
#: what a module must never import, directly or through others: the proof cache stands on
#: the cache and the model, the renderer only lays out (errata are the build's)
NEVER = {
    "answerkey.proofcache": {
        "answerkey.claims",
        "answerkey.render",
        "answerkey.verify",
        "answerkey.numbers",
        "answerkey.relations",
        "answerkey.build",
    },
    "answerkey.render": {"answerkey.claims", "answerkey.verify", "answerkey.build"},
    "answerkey.numbers": {"answerkey.relations", "answerkey.render", "answerkey.verify"},
    "answerkey.relations": {"answerkey.verify", "answerkey.render"},
    "answerkey.claims.judging": {"answerkey.verify"},
}


def test_the_low_layers_import_only_what_is_below_them() -> None:
    edges = engine().edges

    def reached(module: str) -> set[str]:
        seen: set[str] = set()
        todo = [module]
        while todo:
            for m in edges[todo.pop()] - seen:
                seen.add(m)
                todo.append(m)
        return seen

    wrong = {m: sorted(edges[m] - allowed) for m, allowed in BELOW.items() if edges[m] - allowed}
    wrong |= {m: sorted(reached(m) & ban) for m, ban in NEVER.items() if reached(m) & ban}
    assert not wrong, f"imports across the layers: {wrong}"


def test_no_engine_module_imports_a_private_name_of_another() -> None:
    private = engine().private
    assert not private, "private names imported across modules:\n" + "\n".join(private)


# --- the check itself (it must be able to fail) -----------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for directory in {p.parent for p in root.rglob("*.py")}:
        (directory / "__init__.py").touch()
    return root


def test_a_stack_passes(tmp_path: Path) -> None:
    pkg = _package(
        tmp_path,
        {
            "low.py": "X = 1\n",
            "mid.py": "from .low import X\nfrom . import low\n",
            "top.py": "import pkg.mid\nfrom pkg.sub.leaf import Y\n",
            "sub/leaf.py": "from ..low import X as Y\n",
        },
    )
    imports = check_package(pkg)
    assert cycles(imports.edges) == []
    assert imports.private == []
    assert imports.edges["pkg.top"] == {"pkg.mid", "pkg.sub.leaf"}


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        # two modules at the top
        ({"a.py": "from .b import B\n", "b.py": "from .a import A\n"}, "pkg.a -> pkg.b -> pkg.a"),
        # the way back is a function-local import
        (
            {"a.py": "from .b import B\n", "b.py": "def f():\n    from .a import A\n"},
            "pkg.a -> pkg.b -> pkg.a",
        ),
        # `from . import a` imports the submodule a; a longer loop through a subpackage
        (
            {
                "a.py": "import pkg.sub.c\n",
                "b.py": "from . import a\n",
                "sub/c.py": "from ..b import B\n",
            },
            "pkg.a -> pkg.sub.c -> pkg.b -> pkg.a",
        ),
    ],
)
def test_a_planted_cycle_is_found_and_printed(
    tmp_path: Path, files: dict[str, str], cycle: str
) -> None:
    assert describe(cycles(check_package(_package(tmp_path, files)).edges)) == cycle


def test_an_import_under_type_checking_does_not_count(tmp_path: Path) -> None:
    pkg = _package(
        tmp_path,
        {
            "a.py": "from .b import B\n",
            "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n",
        },
    )
    assert cycles(check_package(pkg).edges) == []


def test_a_planted_private_import_is_found(tmp_path: Path) -> None:
    pkg = _package(
        tmp_path,
        {
            "a.py": "_helper = 1\n__all__ = []\n",
            "b.py": "from .a import __all__\ndef f():\n    from .a import _helper\n",
        },
    )
    assert check_package(pkg).private == ["pkg.b:3 imports _helper from pkg.a"]


def test_the_engine_check_sees_a_cycle_planted_in_a_copy_of_the_engine(tmp_path: Path) -> None:
    """The real engine, copied, with one upward import added: the check refuses it."""
    copy = tmp_path / "answerkey"
    shutil.copytree(ENGINE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    errors = copy / "errors.py"
    errors.write_text(
        errors.read_text(encoding="utf-8") + "\n\ndef _late():\n    from .build import build\n",
        encoding="utf-8",
    )
    (copy / "model.py").write_text(
        (copy / "model.py").read_text(encoding="utf-8") + "\nfrom .errors import _late\n",
        encoding="utf-8",
    )
    after = check_package(copy)
    assert any("answerkey.errors" in c and "answerkey.build" in c for c in cycles(after.edges))
    assert [p for p in after.private if p.startswith("answerkey.model")] == [
        f"answerkey.model:{len((copy / 'model.py').read_text().splitlines())} imports _late "
        "from answerkey.errors"
    ]


# --- exercise knowledge stays in solutions/ ----------------------------------------------


def exercise_names(solutions: Path) -> set[str]:
    """Each solution module's ID and module name (``practical-1``, ``practical_1``)."""
    names: set[str] = set()
    for path in solutions.glob("*.py"):
        if path.name.startswith("_"):
            continue
        names.add(path.stem)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "ID" for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                names.add(node.value.value)
    return names


def test_no_engine_module_names_an_exercise() -> None:
    """The engine knows no assignment: figures, tuning and examples live in solutions/."""
    names = exercise_names(ROOT / "solutions")
    assert {"practical-1", "cv_assignment9"} <= names  # the check sees the real ones
    found = [
        f"{path.relative_to(ROOT)}:{k}: {name}"
        for path in sorted(ENGINE.rglob("*.py"))
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for name in sorted(names)
        if name.lower() in line.lower()
    ]
    assert not found, "the engine names exercises:\n" + "\n".join(found)
