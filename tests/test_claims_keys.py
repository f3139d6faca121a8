"""Claims against a part: which answer, and the errata of the earlier published solutions."""

from __future__ import annotations

import re

import numpy as np
import pytest
from claims_common import CLAIMS

from answerkey.claims import (
    Claim,
    KeyAnswer,
    audit,
    check,
    load_claims,
)


def _assignment(name: str):  # type: ignore[no-untyped-def]
    from answerkey.registry import discover

    modules = discover()
    if name not in modules:
        pytest.skip(f"no solution module for {name}")
    m = modules[name]
    return m.build(m.parameters)


def test_errata_of_cv_assignment9() -> None:
    a = _assignment("cv-assignment9")
    verdicts = {
        e.claim.part: e.verdict.status
        for e in audit(a, load_claims(CLAIMS / "cv-assignment9.toml").claims)
    }
    assert verdicts["1a"] == "correct"
    assert verdicts["1b"] == "incorrect"
    assert verdicts["2"] == verdicts["3"] == verdicts["6"] == "correct"
    assert verdicts["7"] == "incorrect"
    assert verdicts["8"] == "unreadable"


def test_errata_of_practical_1() -> None:
    a = _assignment("practical-1")
    errata = audit(a, load_claims(CLAIMS / "practical-1.toml").claims)
    rows = [e.to_json() for e in errata]
    assert all(set(r) >= {"part", "claim", "verdict", "counterexample"} for r in rows)
    by = {(r["part"], r["quantity"], r["update"]): r for r in rows}
    assert by[("2", "loss", 1)]["verdict"] == "correct"
    assert by[("2", "delta_hidden", 1)]["verdict"] == "incorrect"
    assert by[("2", "W", 1)]["counterexample"]
    assert by[("1a", None, None)]["verdict"] == "incorrect"
    assert by[("3a", None, None)]["verdict"] == "unreadable"


def test_the_errata_of_both_keys_come_from_the_transcribed_claims() -> None:
    """Verdicts are computed at build time from solutions/claims/<id>.toml, never typed."""
    import json

    from answerkey import render
    from answerkey.claims import errata_for
    from answerkey.registry import discover

    for aid, wrong in (("cv-assignment9", {"1b", "7"}), ("practical-1", {"1a", "1b"})):
        module = discover()[aid]
        assignment = module.build(module.parameters)
        errata = errata_for(assignment, original_numbers=True)
        assert errata, aid
        incorrect = {e.claim.part for e in errata if e.verdict.status == "incorrect"}
        assert wrong <= incorrect, (aid, incorrect)
        assignment.errata = errata
        doc = json.loads(render.answers_json(assignment, render.Meta()))
        for entry in doc["errata"]:
            assert set(entry) >= {"part", "claim", "verdict", "counterexample"}
            assert entry["verdict"] in {"correct", "incorrect", "unreadable"}
        for entry in doc["errata"]:
            if entry["verdict"] == "incorrect" and entry["part"] == "1b":
                assert entry["counterexample"]


def _key(assignment: str, part: str, quantity: str | None = None) -> KeyAnswer:
    from answerkey.claims.keys import siblings

    a = _assignment(assignment)
    p = next(x for x in a.parts() if x.id == part)
    key = KeyAnswer.from_part(p, notation=a.notation, quantity=quantity, siblings=siblings(a, p))
    assert key is not None
    return key


def test_a_part_with_several_answers_is_graded_against_each() -> None:
    key = _key("practical-1", "1c")
    v = check(r"\delta_1 x_{in}", key)  # the part defines delta_1: dL/dw_1 in its terms
    assert v.correct and "∂L/∂w_1" in v.reason, v.lines()
    full = r"W_{out} w_2 x_{in} (y_{out} - y_{gt}) f_1'(s_1) f_2'(s_2) f_3'(s_{out})"
    assert check(full, key).correct
    assert check(r"-\theta \delta_j z_i", key).correct
    wrong = check(r"\theta \delta_j z_i", key)
    assert wrong.status == "incorrect" and wrong.mistake == "sign flipped"


def test_the_written_left_hand_side_selects_the_answer() -> None:
    key = _key("practical-1", "1c")
    assert check(r"\frac{\partial L}{\partial w_1} = \delta_1 x_{in}", key).correct
    v = check(r"\frac{\partial L}{\partial w_1} = \delta_2 z_1", key)  # dL/dw_2's answer
    assert v.status == "incorrect"


def test_quantity_selects_the_answer() -> None:
    key = _key("cv-assignment9", "9", quantity=r"\frac{\partial E_{\lambda}}{\partial W^{(2)}}")
    assert check(r"\lambda W^{(2)} + (y^{(2)} - t) y^{(1)T}", key).correct
    assert key.others == ()
    both = _key("cv-assignment9", "9")
    assert check(r"\lambda W^{(2)} + (y^{(2)} - t) y^{(1)T}", both).correct


def test_the_earlier_published_3b_is_incorrect_not_unreadable() -> None:
    a = _assignment("practical-1")
    errata = audit(a, load_claims(CLAIMS / "practical-1.toml").claims)
    (seed_3b,) = [e for e in errata if e.claim.part == "3b"]
    assert seed_3b.verdict.status == "incorrect", seed_3b.verdict.lines()
    key = _key("practical-1", "3b")
    own = (
        r"\sum_{j=1}^{K} \left(\left(\delta_{j k} - {p}_{k}\right) {p}_{j}"
        r" - \left(\delta_{k y} - {p}_{k}\right) {p}_{y}\right) {a}_{j}"
    )
    assert check(own, key).correct
    assert check(
        r"\left( - n e + a\right)^{T} \left(\operatorname{diag}(p) - pp^T\right)", key
    ).correct
    other_letters = (
        r"\frac{\partial L}{\partial o_j} = "
        r"\sum_{k \neq y} a_k p_k (\delta_{kj} - p_j) - n p_y (\delta_{yj} - p_j)"
    )
    assert check(other_letters, key).correct


def test_a_claim_in_the_exercises_own_terms_is_read_in_them() -> None:
    """1a leaves δ_out undefined, 1c defines it: a 1a answer may use it; cv part 4 may
    name x although its own derivation starts at y^(1); y_2 is y^(2)."""
    assert check(r"\delta_{out} z_2", _key("practical-1", "1a")).correct
    assert check(r"\delta_2 z_1", _key("practical-1", "1b")).correct
    assert not check(r"\delta_{out} z_1", _key("practical-1", "1b")).correct
    v = check(r"(y^{(2)} - t) x^T", _key("cv-assignment9", "4"))
    assert v.status == "incorrect", v.lines()
    assert check(r"(y_2 - t) y_1^T", _key("cv-assignment9", "4")).correct


def test_a_left_side_in_the_claimants_words_leaves_the_right_side_graded() -> None:
    v = check(r"\Delta w_{ij} = -\theta \delta_j z_i", _key("practical-1", "1c"))
    assert v.correct and any("left side" in n for n in v.notes), v.lines()
    assert check(r"\Delta w_{ij} = \theta \delta_j z_i", _key("practical-1", "1c")).status == (
        "incorrect"
    )
    assert check(r"\foo{x}", _key("practical-1", "1c")).status == "unreadable"


def test_every_trace_value_as_the_key_prints_it_is_correct() -> None:
    """A student who copies the printed trace is right, small steps included (0.0041)."""
    from answerkey.printing import DECIMALS

    a = _assignment("practical-1")
    (trace_part,) = [p for p in a.parts() if p.data and p.data.get("trace")]
    claims = []
    for k, row in enumerate(trace_part.data["trace"], start=1):
        for quantity in ("dW", "dw", "W", "w", "loss"):
            value = row[quantity]
            printed = str(np.round(np.asarray(value, dtype=float), DECIMALS).tolist())
            claims.append(Claim("2", printed, "numeric", quantity=quantity, update=k))
    errata = audit(a, claims)
    wrong = [(e.claim.update, e.claim.quantity, e.verdict.lines()) for e in errata]
    assert all(e.verdict.correct for e in errata), wrong


def test_part_symbols_are_remembered_by_content_and_handed_out_as_copies() -> None:
    import dataclasses

    import sympy as sp

    from answerkey.claims.keys import part_symbols

    a = _assignment("cv-assignment9")
    part = a.parts()[0]
    table = part_symbols(part, a.notation)
    table["\\zeta"] = sp.Symbol("zeta")  # a caller's change stays the caller's
    again = part_symbols(part, a.notation)
    assert "\\zeta" not in again
    assert again == {k: v for k, v in table.items() if k != "\\zeta"}
    # a part with other content gets its own table
    other = dataclasses.replace(part, answer=sp.Symbol("zeta"), derivations=[], data={})
    assert "\\zeta" in part_symbols(other, a.notation)


# ------------------------------------------------------------- a printed number's named mistakes


def _ledgers(term: str = "default", variant: int = 0):  # type: ignore[no-untyped-def]
    """(assignment, its parts by id, its ledger) of every solution module."""
    from answerkey import check as checking
    from answerkey.numbers import ledger
    from answerkey.registry import discover

    for aid in discover():
        a = checking.key_assignment(aid, term, variant)
        yield a, {p.id: p for p in a.parts()}, ledger(a)


def test_a_printed_numbers_mistakes_are_the_graders_and_never_the_key() -> None:
    """What answers.json lists for each computed number (and a quiz turns into feedback):
    the mistakes the grader names for a numeric claim on it, each in the number's shape,
    told apart from the key and from each other at the printed precision, and graded as
    that mistake when a student gives it."""
    from answerkey.claims import judging
    from answerkey.claims import mistakes as named
    from answerkey.claims.keys import number_key, number_mistakes
    from answerkey.quantity import apart

    families: set[str] = set()
    for a, parts, ledger in _ledgers():
        for e in ledger:
            if e["source"] != "computed" or not e["part"]:
                continue
            part, decimals = parts[e["part"]], e["decimals"]
            key = np.asarray(e["value"], dtype=float)
            listed = number_mistakes(part, e, ledger)
            grader = number_key(part, e, ledger)
            for k, (name, value) in enumerate(listed):
                where = f"{a.id} {e['label']}: {name}"
                wrong = np.asarray(value, dtype=float)
                assert wrong.shape == key.shape, where
                for earlier in [key, *(np.asarray(v) for _, v in listed[:k])]:
                    assert any(
                        apart(x, y, decimals) for x, y in zip(wrong.flat, earlier.flat, strict=True)
                    ), where
                verdict = judging.judge(
                    wrong,
                    grader.answer,
                    mistakes=grader.typical_mistakes,
                    figures=grader.figures,
                    printed=grader.printed,
                )
                assert not verdict.correct and verdict.mistake == name, where
                families.add(re.sub(r"\d+|m_1|v_1", "#", name))
    assert families >= {
        named.SIGN_FLIPPED,
        named.LAST_STEP_ONLY.format(t="#"),
        named.MEAN_TERM,
        named.VARIANCE_TERM,
        named.BOTH_TERMS,
        named.EVERY_POOLED,
        named.NO_BIAS_CORRECTION.format(m="#", d="# - β^t"),
    }


def test_a_mistake_equal_to_the_key_or_to_another_is_not_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At cnn-by-hand's own numbers the kernel is symmetric under rotation: not flipping
    it gives the key's input gradient, and a student who gives it is right. BN's
    forward values do not depend on the backward pass: its mistakes there are the key."""
    from answerkey.claims import keys
    from answerkey.claims import mistakes as named

    found = {
        a.id: (parts, ledger)
        for a, parts, ledger in _ledgers()
        if a.id in ("cnn-by-hand", "batchnorm-backward")
    }
    if len(found) < 2:
        pytest.skip("cnn-by-hand or batchnorm-backward is not here")
    parts, ledger = found["cnn-by-hand"]
    (dx,) = [e for e in ledger if str(e["label"]).endswith(": D(E, X)")]
    grader = dict(keys.printed_mistakes(parts[dx["part"]], dx, ledger))
    flip = named.NOT_FLIPPED.format(k="K")
    assert np.allclose(grader[flip], np.asarray(dx["value"]).reshape(np.shape(grader[flip])))
    assert flip not in dict(keys.number_mistakes(parts[dx["part"]], dx, ledger))
    parts, ledger = found["batchnorm-backward"]
    (mu,) = [e for e in ledger if str(e["label"]).endswith(": mu")]
    assert named.MEAN_TERM in dict(keys.printed_mistakes(parts[mu["part"]], mu, ledger))
    assert [n for n, _ in keys.number_mistakes(parts[mu["part"]], mu, ledger)] == [
        named.SIGN_FLIPPED
    ]
    # planted: within the tolerance of the key (0.00004 off), a copy of an earlier one
    # (0.00003 off it), and the sign flipped named first by another name
    x = float(mu["value"])
    planted = [("near", x + 0.00004), ("double", 2 * x), ("near double", 2 * x + 0.00003)]
    planted.append(("minus", -x))
    monkeypatch.setattr(keys, "printed_mistakes", lambda *_: planted)
    assert keys.number_mistakes(parts[mu["part"]], mu, ledger) == [
        ("double", 2 * x), ("minus", -x)
    ]  # fmt: skip


def test_where_the_kernel_is_not_symmetric_its_flip_is_listed() -> None:
    from answerkey.claims import keys
    from answerkey.claims import mistakes as named
    from answerkey.registry import discover
    from answerkey.terms import load_term, variant_params

    found = discover()
    if "cnn-by-hand" not in found:
        pytest.skip("no cnn-by-hand")
    term = load_term("2026-winter", found)
    variant = next(
        k
        for k in range(1, 20)
        if not np.allclose((q := variant_params(term, "cnn-by-hand", k))["K"], np.rot90(q["K"], 2))
    )
    from answerkey import check as checking
    from answerkey.numbers import ledger as numbers_ledger

    a = checking.key_assignment("cnn-by-hand", "2026-winter", variant)
    parts, ledger = {p.id: p for p in a.parts()}, numbers_ledger(a)
    (dx,) = [e for e in ledger if str(e["label"]).endswith(": D(E, X)")]
    listed = dict(keys.number_mistakes(parts[dx["part"]], dx, ledger))
    assert named.NOT_FLIPPED.format(k="K") in listed
    assert np.shape(listed[named.NOT_FLIPPED.format(k="K")]) == np.shape(dx["value"])


def test_a_quantity_that_names_several_numbers_says_what_tells_them_apart() -> None:
    from answerkey.claims.keys import printed_entry
    from answerkey.claims.reading import ClaimError
    from answerkey.model import Part, text

    part = Part("b", "t", [text("Q.")])
    ledger = [
        {"part": "b", "label": f"RMSProp for {w}, update {k}: s_t", "value": 0.1 * k + (w == "y")}
        for w in ("x", "y")
        for k in (1, 2)
    ]
    with pytest.raises(ClaimError) as err:  # x versus y, not the update
        printed_entry(part, ledger, "s_t", update=1)
    assert str(err.value) == (
        "'s_t' names 2 numbers of part b, told apart by x vs y: say which, with the whole "
        "label as the quantity ('RMSProp for x, update 1: s_t' or 'RMSProp for y, update 1: s_t')"
    )
    with pytest.raises(ClaimError, match="told apart by x vs y and the update: say which"):
        printed_entry(part, ledger, "s_t")
    # the whole label picks one; labels that differ in the update alone ask for it
    assert printed_entry(part, ledger, "RMSProp for y, update 2: s_t")["value"] == 1.2
    one = [e for e in ledger if "for x" in e["label"]]
    with pytest.raises(ClaimError, match=r"\): say which update \(update = K, or --update K\)$"):
        printed_entry(part, one, "s_t")
