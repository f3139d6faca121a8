"""`answerkey new-exercise NAME`: a working exercise module and its test, ready to edit.

The module is a one-hidden-layer tanh network with squared error, written with the
kit: one derivation (generated from the network, citing verified fragments), one
worked example with term parameters, constraints, `draw` and `instructive`. It builds
and verifies as written; the author changes the network, the questions and the numbers.
"""

from __future__ import annotations

import keyword
import os
from pathlib import Path

from .. import names
from ..errors import UsageError
from ..regular import write_new

NAME = names.EXERCISE

MODULE = '''"""{title}: a one-hidden-layer tanh network under squared error; the output
weights' gradient (derived by the kit from the network) and one gradient step worked out.

Made by `answerkey new-exercise {id}`; docs/reference/writing.md explains it.
Say here what your exercise asks once you change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from answerkey import kit, relations, worked
from answerkey.kit.writing import listed, say
from answerkey.mathfns import D, T, elementwise, eq, mm
from answerkey.model import Assignment, Exercise, Part, text
from answerkey.terms import positive

ID = "{id}"
TITLE = "{title}"  # printed on the key and the handout: write it as it should read
PARAMETERS: dict[str, Any] = {{
    "x": [1.0, -0.5],
    "t": [0.5],
    "W1": [[0.5, -0.3], [0.2, 0.8], [-0.6, 0.1]],
    "W2": [[0.7, -0.4, 0.3]],
    "learning_rate": 0.5,
}}
CONSTRAINTS = {{"learning_rate": positive()}}

n, h, K = sp.symbols("n h K", integer=True, positive=True)
NET = kit.Network(
    n, [kit.linear(h, bias=False), kit.tanh(), kit.linear(K, bias=False)], kit.squared_error()
)
x, t, W1, z1, y1, W2, z2, E = (NET[s] for s in ("x", "t", "W1", "z1", "y1", "W2", "z2", "E"))
SIZES = {{n: 2, h: 3, K: 1}}  # the worked example's sizes


def gradient_part() -> Part:
    # the kit writes the chain-rule derivation from the network, each line citing the
    # verified fragment it rests on; it is checked at two sizes (one with all sizes
    # different). NET.steps(...) gives the same steps to edit and pass to derive().
    derivation = NET.derivation(D(E, W2), [SIZES, {{n: 3, h: 4, K: 2}}])
    loss = eq(E, sp.Rational(1, 2) * mm(T(z2 - t), z2 - t))
    question = say("Give {{}} for the squared error {{}}.", D(E, W2), loss)
    checks = NET.cited(D(E, W2))  # the cited fragments, verified by the engine
    return Part("1", "the output weights", [question], [derivation], numeric_checks=checks)


def step_part(p: Mapping[str, Any]) -> Part:
    at = NET.given({{k: p[k] for k in ("x", "t", "W1", "W2")}}, SIZES)
    rate = worked.given(p["learning_rate"], "learning rate", exact=True)
    example = NET.example("worked example", SIZES, at, [z1, y1, z2, E, D(E, W2)])
    sample = {{x: at[x], t: at[t], W1: at[W1]}}
    show = [(sp.MatrixSymbol("W2'", *W2.shape), worked.NewValueOf(W2))]
    step = NET.trace("gradient step", SIZES, {{W2: at[W2]}}, [sample], worked.SGD(rate), 1, show)
    given = say("Take {{}}.", listed([eq(v, at[v]) for v in (x, t, W1, W2)], last="and"))
    ask = say("Compute the forward pass, {{}} and {{}} after one gradient step", D(E, W2), W2)
    return Part(
        "2",
        "one gradient step",
        [given, say("{{}} with learning rate {{}}.", ask, rate)],
        blocks=[example.block(text("forward pass and gradient")), step.block(0, text("step"))],
        numeric_checks=worked.attach(example, step),
    )


def draw(rng: np.random.Generator) -> dict[str, Any]:
    """Fresh numbers with one decimal."""

    def r(*shape: int) -> Any:
        return (np.round(rng.uniform(-1, 1, shape), 1) + 0.0).tolist()  # + 0.0: never -0.0

    return {{"x": r(2), "t": r(1), "W1": r(3, 2), "W2": r(1, 3)}}


def instructive(p: Mapping[str, Any]) -> list[str]:
    """Why these numbers would not teach much (empty: they are fine)."""
    v = {{k: np.array(p[k], dtype=float) for k in ("x", "t", "W1", "W2")}}
    reasons = []
    if np.abs(NET.forward(v)["z1"]).max() > 2:
        reasons.append("a hidden unit saturates (|z1| > 2)")
    if np.abs(NET.gradients(v)["W2"]).max() < 0.05:
        reasons.append("the gradient is almost zero")
    return reasons


def build(params: Mapping[str, Any]) -> Assignment:
    # an introduction's relations are definitions (answerkey.relations)
    defs = [(z1, mm(W1, x)), (y1, elementwise("tanh", z1)), (z2, mm(W2, y1))]
    layers = listed([relations.definition(a, b) for a, b in defs], last="and")
    intro = say("A network with {{}}; its loss is the squared error {{}}.", layers, E)
    parts = [gradient_part(), step_part(params)]
    figure = NET.figure(sizes=SIZES)
    exercise = Exercise("1", "A tanh network", [intro], parts, figures=[figure])
    return Assignment(ID, TITLE, [exercise], notation=NET.notation)
'''

TEST = '''"""{id}: it builds and verifies, and a wrong step is refused."""

from __future__ import annotations

import dataclasses

import pytest

from answerkey.errors import VerificationError
from answerkey.model import Step
from answerkey.verify import verify_assignment
from solutions import {module} as exercise


def test_it_builds_and_verifies() -> None:
    assert verify_assignment(exercise.build(exercise.PARAMETERS)) > 0


def test_a_wrong_step_is_refused() -> None:
    assignment = exercise.build(exercise.PARAMETERS)
    part = assignment.parts()[0]
    d = part.derivations[0]
    wrong = Step(2 * d.steps[-1].expr, d.steps[-1].reason)
    part.derivations = [dataclasses.replace(d, steps=(*d.steps[:-1], wrong))]
    with pytest.raises(VerificationError):
        verify_assignment(assignment)
'''


def project_root() -> Path:
    """The directory holding `solutions/` (and `tests/`): where the package was installed from."""
    import solutions

    return Path(next(iter(solutions.__path__))).resolve().parent


def new_exercise(name: str, root: Path) -> list[Path]:
    """Write solutions/<module>.py and tests/test_<module>.py under `root`; refuse a bad
    or taken name (exit 2) before writing anything."""
    if not names.is_name(name, NAME):
        raise UsageError(
            f"bad exercise name {name!r}: use lower-case letters, digits and single hyphens, "
            f"starting with a letter, at most {names.MAX_NAME} characters (e.g. tanh-step)"
        )
    module = name.replace("-", "_")
    if keyword.iskeyword(module) or module.startswith("test"):
        raise UsageError(f"bad exercise name {name!r}: {module!r} cannot be a module name")
    files = {
        root / "solutions" / f"{module}.py": MODULE,
        root / "tests" / f"test_{module}.py": TEST,
    }
    taken = [p for p in files if os.path.lexists(p)]  # a dangling symlink too
    if taken:
        raise UsageError(f"{taken[0].relative_to(root)} exists: choose another name")
    from ..registry import discover

    if name in discover():
        raise UsageError(f"an assignment {name!r} exists already")
    title = name.replace("-", " ")  # as typed: no "Bce" from "bce"; the author edits TITLE
    written: list[Path] = []
    try:
        for path, template in files.items():
            text = template.format(id=name, module=module, title=title)
            write_new(path, text.encode())  # never through a symlink planted meanwhile
            written.append(path)
    except FileExistsError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        taken_now = Path(str(exc.filename)).relative_to(root)
        raise UsageError(f"{taken_now} exists: choose another name") from None
    return list(files)
