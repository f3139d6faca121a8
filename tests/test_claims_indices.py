"""Index letters: a rule's free indices, read in the claimant's letters."""

from __future__ import annotations

import sympy as sp

from answerkey.claims import parse_claim
from answerkey.claims.indices import Families, mappings, split, swaps

delta_j, z_i, rule, x_in = sp.symbols("delta_j z_i DeltaW_ij x_in")
TABLE = {r"\delta_j": delta_j, "z_i": z_i, r"\Delta W_{i \to j}": rule, "x_{in}": x_in}


def test_names_with_index_letters_make_families() -> None:
    assert split(r"\delta_j") is not None and split(r"\delta_j")[1] == "j"  # type: ignore[index]
    assert split(r"\Delta W_i\toj")[1] == "ij"  # type: ignore[index]
    assert split("W_out") is None and split(r"\delta_1") is None and split("W^(2)") is None
    families = Families.of({r"\delta_j": delta_j, "z_i": z_i, "x_in": x_in})
    assert families.member(r"\delta_i") == sp.Symbol("delta_i")
    assert families.member("z_i") == z_i
    assert families.member("x_jn") is None  # `in` is a word, not the indices i and n


def test_another_letter_reads_as_another_member_with_a_note() -> None:
    parsed = parse_claim(r"-\theta \delta_i z_j", {**TABLE, r"\theta": sp.Symbol("theta")})
    assert parsed.expr == -sp.Symbol("theta") * sp.Symbol("delta_i") * sp.Symbol("z_j")
    assert any("δ_i at col 9 is read as δ_j with the index i" in n for n in parsed.notes)


def test_foreign_letters_map_onto_the_rules_left_over_and_swaps_exchange_them() -> None:
    assert list(mappings({"j", "k"}, {"i", "j"})) == [{"k": "i"}]
    assert sorted(map(sorted, (m.items() for m in mappings({"k", "l"}, {"i", "j"})))) == [
        [("k", "i"), ("l", "j")],
        [("k", "j"), ("l", "i")],
    ]
    assert list(mappings({"i", "j"}, {"i", "j"})) == []  # the rule's letters keep theirs
    assert list(swaps({"i", "j"})) == [{"i": "j", "j": "i"}]
