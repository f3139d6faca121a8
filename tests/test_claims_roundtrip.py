"""Every answer a key prints reads back as itself, and the build refuses a key where one
does not (so reader and printer stay in step whatever the printer prints)."""

from __future__ import annotations

from typing import Any

import pytest
import sympy as sp

from answerkey import build, printing
from answerkey.claims import roundtrip
from answerkey.errors import VerificationError
from answerkey.registry import discover


@pytest.mark.parametrize("assignment_id", ["cv-assignment9", "practical-1"])
def test_every_printed_answer_reads_back(assignment_id: str) -> None:
    module = discover()[assignment_id]
    assignment = module.build(module.parameters)
    for part in assignment.parts():
        assert roundtrip.check_part(assignment, part) == [], part.id
    assert roundtrip.check_assignment(assignment) > 30


def test_every_draw_reads_back() -> None:
    from answerkey.terms import load_term, variant_params

    module = discover()["practical-1"]
    term = load_term("2026-winter", discover())
    for variant in (1, 2):
        assignment = module.build(variant_params(term, "practical-1", variant))
        assert roundtrip.check_assignment(assignment) > 0


_LATEX = printing.latex


def _dropping_transposes(obj: Any, notation: Any) -> str:
    return _LATEX(obj, notation).replace("^{T}", "")


def test_a_printer_out_of_step_with_the_reader_fails_the_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roundtrip._MEMO.clear()
    build.roundtrip._MEMO.clear()
    monkeypatch.setattr(build, "_BUILT", {})  # not an assignment another test faked
    module = discover()["cv-assignment9"]
    assignment = module.build(module.parameters)
    bad = [
        b
        for p in assignment.parts()
        for b in roundtrip.check_part(assignment, p, _dropping_transposes)
    ]
    assert bad and any("incorrect" in b or "unreadable" in b for b in bad)
    # the printer the build's own round trip uses (another test may have re-imported modules)
    monkeypatch.setattr(build.roundtrip.printing, "latex", _dropping_transposes)
    with pytest.raises(VerificationError, match="does not read back"):
        build._errata("cv-assignment9", module.parameters)
    roundtrip._MEMO.clear()


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_a_generated_derivation_through_relu_or_leaky_relu_reads_back(activation: str) -> None:
    """relu' of a vector and a layer's own function (lrelu, lrelu') are read entry by entry."""
    import sympy as sp

    from answerkey import kit
    from answerkey.kit.layers.leaky_relu import leaky_relu
    from answerkey.mathfns import D
    from answerkey.model import Assignment, Exercise, Part

    n, h, k = sp.symbols("n h K", integer=True, positive=True)
    layer = leaky_relu() if activation == "leaky_relu" else kit.layers.relu()
    net = kit.Network(n, [kit.linear(h), layer, kit.linear(k)], kit.squared_error())
    sizes = [{n: 2, h: 3, k: 2}, {n: 3, h: 2, k: 4}]
    derivation = net.derivation(D(net["E"], net["W1"]), sizes)
    part = Part("a", "the gradient", [], [derivation])
    assignment = Assignment("t", "t", [Exercise("1", "e", [], [part])], notation=net.notation)
    assert roundtrip.check_part(assignment, part) == []
    latex = printing.latex(derivation.steps[-1].expr, net.notation)
    assert ("lrelu}'" if activation == "leaky_relu" else "relu}'") in latex


@pytest.mark.parametrize(("i", "j", "named"), [("i", "j", "P_{ij}"), (0, 1, "P_{12}")])
def test_a_matrix_entry_that_does_not_read_back_says_what_to_write(
    i: object, j: object, named: str
) -> None:
    from answerkey.model import Assignment, Derivation, Exercise, Instance, Part, Step, text

    p, e = sp.MatrixSymbol("P", 3, 3), sp.Symbol("E")
    entry = p[sp.sympify(i), sp.sympify(j)]
    d = Derivation(e, (Step(entry**2, text("squared")),), (Instance(defs={e: p[0, 1] ** 2}),))
    a = Assignment("a", "t", [Exercise("1", "", [], [Part("p", "t", [text("Q.")], [d])])])
    bad = roundtrip.check_part(a, a.exercises[0].parts[0])
    assert bad and bad[0].startswith("step 1 of the derivation of E: ")
    assert bad[0].endswith(
        f"the reader does not read an entry of a matrix (P[{i}, {j}]): write the line for the "
        f"whole matrix P, or give the entry a scalar's name (sp.Symbol('{named}'), defined in "
        "the instance)"
    )
