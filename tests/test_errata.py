"""The errata are made by the build, before rendering: judged claims and the maths printed
beside each; the renderer only lays them out and refuses errata without their maths."""

from __future__ import annotations

import pytest

import solutions.cv_assignment9 as cv
from answerkey import errata, render
from answerkey.claims import errata_for
from answerkey.errors import RenderError


def test_an_incorrect_claim_gets_the_right_answer_beside_it() -> None:
    assignment = cv.build({})
    judged = errata_for(assignment, original_numbers=True)
    errata.attach(assignment, judged)
    assert len(assignment.errata_maths) == len(judged)
    shown = {}
    for e, (claimed, right) in zip(judged, assignment.errata_maths, strict=True):
        if e.verdict.status != "incorrect":
            assert right is None  # nothing to correct
        shown[e.claim.part] = (claimed, right)
    claimed, right = shown["1b"]  # the earlier solution's wrong gradient, and the key's
    assert claimed is not None and right is not None and claimed != right


def test_the_renderer_refuses_errata_the_build_did_not_prepare() -> None:
    assignment = cv.build({})
    assignment.errata = errata_for(assignment, original_numbers=True)  # no maths attached
    with pytest.raises(RenderError, match="cv-assignment9: errata without their maths"):
        render.render(assignment, "md", "key", render.Meta())
