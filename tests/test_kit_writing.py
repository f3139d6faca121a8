"""answerkey.kit.writing: a template says the same as `text` with its items in place."""

from __future__ import annotations

import pytest
import sympy as sp

from answerkey.errors import AuthoringError
from answerkey.kit.fragments import OUTER_PRODUCT
from answerkey.kit.writing import derive, listed, names, numbered, say
from answerkey.mathfns import D
from answerkey.model import Derivation, Instance, Step, text
from answerkey.printing import prose

a, b, L = sp.symbols("a b L")
W, y, z = sp.MatrixSymbol("W", 2, 3), sp.MatrixSymbol("y", 3, 1), sp.MatrixSymbol("z", 2, 1)


def test_say_is_text_with_the_items_in_their_places() -> None:
    assert say("Give {} and {}.", a, b) == text("Give", a, "and", b, ".")
    assert say("{}", a) == text(a)
    assert say("Take {}, {} in turn", listed([a, b], last="or"), L) == text(
        "Take", a, "or", b, ",", L, "in turn"
    )
    assert prose(say("Give {}, then {}.", a, (a, b)), "md") == "Give $a$, then $a = b$."


def test_a_nested_say_is_spliced_in_never_printed_as_its_repr() -> None:
    inner = say("{} after one step", listed([a, b], last="and"))
    outer = say("Compute {}, and {}.", L, inner)
    assert outer == text("Compute", L, ", and", a, "and", b, "after one step", ".")
    assert prose(outer, "md") == "Compute $L$, and $a$ and $b$ after one step."
    assert text("x", text("y", a)) == text("x", "y", a)


def test_say_refuses_a_template_whose_places_do_not_match_the_items() -> None:
    with pytest.raises(ValueError, match="has 2 places"):
        say("{} and {}", a)
    with pytest.raises(ValueError, match="has 0 places"):
        say("nothing", a)


def test_listed_and_names() -> None:
    assert listed([a]) == [a]
    assert listed([a, b, L]) == [a, ",", b, ",", L]  # commas only unless told (README)
    assert listed([a, b, L], last="and") == [a, ",", b, "and", L]
    assert names([1]) == "1" and names([1, 2]) == "1 and 2" and names([1, 2, 3]) == "1, 2 and 3"


def test_derive_writes_steps_from_pairs_or_steps() -> None:
    d = derive(L, [(a, "first"), (b, text("then", a))], [])
    assert d == Derivation(L, (Step(a, text("first")), Step(b, text("then", a))), ())
    cited = OUTER_PRODUCT.step(E=L, z=z, W=W, x=y)  # a fragment's step, as it is
    assert derive(D(L, W), [cited, (a, "next")], []).steps == (cited, Step(a, text("next")))


@pytest.mark.parametrize(
    ("step", "says"),
    [
        (a, r"step 2 is a Symbol \(a\)"),
        ((a, "why", "more"), r"step 2 is a tuple of 3 items"),
        ((a, 3), r"step 2 is a pair whose reason is a int"),
    ],
)
def test_derive_refuses_a_step_of_another_form_naming_the_derivation(
    step: object, says: str
) -> None:
    with pytest.raises(
        AuthoringError, match=r"^derive\(∂L/∂W\): " + says + r"; write each step as"
    ):
        derive(D(L, W), [(a, "first"), step], [])  # type: ignore[list-item]


def test_upright_prints_a_word_subscript_upright() -> None:
    from answerkey.kit.writing import upright

    assert upright("x_in delta_out") == {
        "x_in": r"x_{\mathrm{in}}",
        "delta_out": r"\delta_{\mathrm{out}}",
    }
    with pytest.raises(ValueError, match="no subscript"):
        upright("x")


def test_numbered_writes_a_noun_with_its_numbers() -> None:
    assert numbered("unit", [2]) == "unit 2"
    assert numbered("unit", [1, 3]) == "units 1 and 3"
    assert numbered("class", [1, 2, 4], "classes") == "classes 1, 2 and 4"


def test_increments_writes_delta_before_each_name_and_its_subscript() -> None:
    from answerkey.kit.writing import increments

    assert increments("w W_ij") == {"Delta_w": r"\Delta w", "Delta_W_ij": r"\Delta W_{ij}"}
    assert prose(text(sp.Symbol("Delta_W_ij")), "md", increments("W_ij")) == r"$\Delta W_{ij}$"


def test_prove_small_proves_at_sizes_cut_to_three_and_checks_at_the_sizes_given() -> None:
    from answerkey.kit.writing import PROOF_SIZE, proved_small

    n, h = sp.symbols("n h", integer=True, positive=True)
    W = sp.MatrixSymbol("W", h, n)
    big = Instance(sizes={n: 2, h: 5}, label="2 inputs, 5 hidden units")
    d = derive(D(sp.Symbol("E"), W), [(W, "because")], [big], prove_small=True)
    checked, proved = d.instances
    assert (checked.sizes, checked.prove) == (big.sizes, False)
    assert (proved.sizes, proved.prove) == ({n: 2, h: PROOF_SIZE}, True)
    assert proved.label == "2 inputs, 3 hidden units"  # the label says the proof's sizes
    assert proved_small(W, big) == [checked, proved]  # the same copies for the same instance
    unclear = Instance(sizes={n: 5, h: 5}, label="5 by 5")
    assert proved_small(W, unclear)[1].label == "5 by 5, proved at n = 3, h = 3"
    small = Instance(sizes={n: 2, h: 3})
    assert derive(W, [(W, "because")], [small], prove_small=True).instances == (small,)


def test_prove_small_refuses_an_instance_whose_assumptions_need_the_sizes_given() -> None:
    K = sp.Symbol("K", integer=True, positive=True)
    one_hot = Instance(sizes={K: 4}, given={"t_4": 1 - sp.Symbol("t_1")}, label="4 classes")
    with pytest.raises(AuthoringError, match=r"derive\(E, prove_small=True\).* assumes t_4"):
        derive(sp.Symbol("E"), [(sp.Symbol("E"), "because")], [one_hot], prove_small=True)
