"""A fault campaign on the engine: flip one decision of a module at a time, run the tests
that should notice, and record the mutants they let through (the survivors).

    git ls-files | tar -cf - -T - | tar -xf - -C /tmp/copy      # a copy to mutate
    python scripts/mutants.py answerkey/verify.py out.jsonl --src /tmp/copy \
        [--sample N --seed S] [--only 3,14] [--list] tests/test_verify.py tests/test_worked.py

Mutations (by `ast`): a comparison flipped (< for <=, == for !=, in for not in, is for is
not), an if/while/assert/ternary test or a comprehension's condition negated, and/or
swapped, a `not` dropped, a `raise` made a no-op, a float constant changed (a tolerance
x1000), any/all swapped, a `continue` dropped, and a function returning early (True/False
for -> bool, None for -> None or -> X | None, [] for -> list, 0 for -> int). Each mutant
is written over the module in the copy (never the worktree), the tests run with -x under
nice (one at a time), and the module is restored. Output: one JSON line per mutant
(index, line, kind, status killed/survived/timeout); a run resumes where it stopped.
A survivor either needs the test that refuses it, or is equivalent (say why).
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

SRC = Path("/tmp/mutants-src")
PY = sys.executable

CMP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


def is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def sites(tree: ast.Module) -> list[tuple[str, int, str]]:
    """(kind, line, description) for each mutation, in walk order; apply() uses the index."""
    out: list[tuple[str, int, str]] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in CMP:
                    out.append(("cmp", line, f"{type(op).__name__}->{CMP[type(op)].__name__} #{i}"))
        if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):
            out.append(("negate", line, f"negate {type(node).__name__} test"))
        if isinstance(node, ast.comprehension):
            for i, _ in enumerate(node.ifs):
                out.append(("negate-compif", line, f"negate comprehension if #{i}"))
        if isinstance(node, ast.BoolOp):
            out.append(("boolop", line, f"{type(node.op).__name__} swapped"))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            out.append(("drop-not", line, "not dropped"))
        if isinstance(node, ast.Raise) and node.exc is not None:
            out.append(("raise", line, "raise -> pass"))
        if isinstance(node, ast.Constant) and type(node.value) is float:
            out.append(("float", line, f"{node.value!r} -> x1000/+1"))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("any", "all")
        ):
            out.append(("anyall", line, f"{node.func.id} swapped"))
        if isinstance(node, ast.Continue):
            out.append(("continue", line, "continue -> pass"))
        if isinstance(node, ast.FunctionDef):
            ann = ast.unparse(node.returns) if node.returns else ""
            for value in early_returns(ann):
                out.append(("early", line, f"{node.name}: return {value} first"))
    return out


def early_returns(ann: str) -> list[str]:
    if ann == "bool":
        return ["True", "False"]
    if ann == "None":
        return ["None"]
    if ann.startswith("list["):
        return ["[]"]
    if ann.endswith("| None"):
        return ["None"]
    if ann == "int":
        return ["0"]
    return []


def apply(tree: ast.Module, index: int) -> ast.Module:
    tree = copy.deepcopy(tree)
    k = -1
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in CMP:
                    k += 1
                    if k == index:
                        node.ops[i] = CMP[type(op)]()
                        return tree
        if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):
            k += 1
            if k == index:
                node.test = ast.UnaryOp(ast.Not(), node.test)
                return tree
        if isinstance(node, ast.comprehension):
            for i, cond in enumerate(node.ifs):
                k += 1
                if k == index:
                    node.ifs[i] = ast.UnaryOp(ast.Not(), cond)
                    return tree
        if isinstance(node, ast.BoolOp):
            k += 1
            if k == index:
                node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
                return tree
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            k += 1
            if k == index:
                node.op = ast.UAdd()  # +x: truthiness of x, as "not" dropped
                node.operand = ast.Call(ast.Name("bool", ast.Load()), [node.operand], [])
                return tree
        if isinstance(node, ast.Raise) and node.exc is not None:
            k += 1
            if k == index:
                # raise X -> a no-op expression statement in place
                node.exc = None
                node.cause = None
                node.__class__ = ast.Pass
                return tree
        if isinstance(node, ast.Constant) and type(node.value) is float:
            k += 1
            if k == index:
                node.value = node.value * 1000 if abs(node.value) < 1 else node.value + 1
                return tree
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("any", "all")
        ):
            k += 1
            if k == index:
                node.func.id = "all" if node.func.id == "any" else "any"
                return tree
        if isinstance(node, ast.Continue):
            k += 1
            if k == index:
                node.__class__ = ast.Pass
                return tree
        if isinstance(node, ast.FunctionDef):
            ann = ast.unparse(node.returns) if node.returns else ""
            for value in early_returns(ann):
                k += 1
                if k == index:
                    ret = ast.parse(f"return {value}").body[0]
                    at = 1 if node.body and is_docstring(node.body[0], node) else 0
                    node.body.insert(at, ret)
                    return tree
    raise IndexError(index)


def run_tests(tests: list[str], timeout: float, src: Path) -> tuple[str, float, str]:
    start = time.time()
    try:
        p = subprocess.run(
            [
                "nice",
                "-n",
                "10",
                PY,
                "-m",
                "pytest",
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:randomly",
                *tests,
            ],
            cwd=src,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.time() - start, ""
    tail = (p.stdout.strip().splitlines() or [""])[-1]
    return ("survived" if p.returncode == 0 else "killed"), time.time() - start, tail


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("module")
    ap.add_argument("out")
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--only", default="", help="comma-separated mutant indices")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--src", default=str(SRC), help="the copy of the project to mutate")
    ap.add_argument("tests", nargs="+")
    a = ap.parse_args()
    src = Path(a.src)
    path = src / a.module
    original = path.read_text()
    tree = ast.parse(original)
    all_sites = sites(tree)
    indices = list(range(len(all_sites)))
    if a.only and a.only != "baseline":
        indices = [int(x) for x in a.only.split(",")]
    elif a.sample and a.sample < len(indices):
        indices = sorted(random.Random(a.seed).sample(indices, a.sample))
    if a.only == "baseline":
        path.write_text(ast.unparse(tree))
        print(run_tests(a.tests, a.timeout, src))
        path.write_text(original)
        return
    if a.list:
        for i in indices:
            print(i, *all_sites[i])
        return
    done = set()
    out = Path(a.out)
    if out.exists():
        done = {json.loads(x)["index"] for x in out.read_text().splitlines() if x.strip()}
    print(f"{a.module}: {len(all_sites)} sites, running {len(indices)}", flush=True)
    try:
        with out.open("a") as f:
            for i in indices:
                if i in done:
                    continue
                kind, line, desc = all_sites[i]
                mutant = apply(tree, i)
                try:
                    code = ast.unparse(ast.fix_missing_locations(mutant))
                except Exception as exc:
                    print(i, "unparse failed", exc)
                    continue
                path.write_text(code)
                status, secs, tail = run_tests(a.tests, a.timeout, src)
                rec = {
                    "index": i,
                    "kind": kind,
                    "line": line,
                    "desc": desc,
                    "status": status,
                    "seconds": round(secs, 1),
                    "tail": tail,
                }
                f.write(json.dumps(rec) + "\n")
                f.flush()
                mark = "SURVIVED" if status == "survived" else status
                print(f"{i} L{line} {kind} {desc}: {mark} ({secs:.0f}s)", flush=True)
    finally:
        path.write_text(original)


if __name__ == "__main__":
    sys.exit(main())
