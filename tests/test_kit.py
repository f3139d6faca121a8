"""The authoring kit: one network description gives definitions, oracle, numbers and figure
that agree with each other, and fragments the engine verifies (and refuses when wrong)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import sympy as sp

from answerkey import kit, printing
from answerkey.errors import AuthoringError, VerificationError
from answerkey.kit import fragments as F
from answerkey.kit.optim import SGD, Momentum
from answerkey.mathfns import D, T, diag, elementwise, mm
from answerkey.mathfns import hadamard_ones_minus as ones_minus
from answerkey.model import Derivation, Step, text
from answerkey.verify import verify_derivation

n, h, K = sp.symbols("n h K", integer=True, positive=True)
SIZES = {n: 2, h: 3, K: 4}

NETWORKS = {
    "tanh, squared error": ([kit.linear(h), kit.tanh(), kit.linear(K)], kit.squared_error()),
    "sigmoid, softmax, cross-entropy": (
        [kit.linear(h), kit.sigmoid(), kit.linear(K, bias=False), kit.softmax()],
        kit.cross_entropy(),
    ),
    "relu, hinge": ([kit.linear(h), kit.relu(), kit.linear(K)], kit.hinge(0.5)),
    "tanh, sigmoid, binary cross-entropy": (
        [kit.linear(h), kit.tanh(), kit.linear(K), kit.sigmoid()],
        kit.binary_cross_entropy(),
    ),
}


def network(name: str) -> kit.Network:
    layers, loss = NETWORKS[name]
    return kit.Network(n, layers, loss)


def values(net: kit.Network, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {"x": (2, 1), "W1": (3, 2), "b1": (3, 1), "W2": (4, 3), "b2": (4, 1)}
    out = {k: rng.normal(size=s) for k, s in shapes.items() if k in net.symbols}
    out["t"] = np.array([[0.0], [1.0], [0.0], [0.0]])
    if net.loss.name == "binary_cross_entropy":  # targets in [0, 1], not one-hot
        out["t"] = np.array([[0.2], [1.0], [0.0], [0.7]])
    return out


def finite_differences(net: kit.Network, v: dict[str, np.ndarray], name: str) -> np.ndarray:
    out = np.zeros_like(v[name])
    for idx in np.ndindex(*out.shape):
        up, down = ({**v, name: v[name].copy()} for _ in range(2))
        up[name][idx] += 1e-6
        down[name][idx] -= 1e-6
        out[idx] = (net.oracle(up) - net.oracle(down)) / 2e-6
    return out


@pytest.mark.parametrize("name", NETWORKS)
def test_backpropagation_matches_finite_differences_of_the_oracle(name: str) -> None:
    net = network(name)
    v = values(net)
    grads = net.gradients(v)
    for p in ("W1", "b1", "W2", "x"):
        assert np.allclose(grads[p], finite_differences(net, v, p), atol=1e-7), p


@pytest.mark.parametrize("name", NETWORKS)
def test_the_sympy_definitions_and_the_oracle_agree_under_the_verifier(name: str) -> None:
    net = network(name)
    d = Derivation(
        D(net["E"], net["W2"]),
        (Step(mm(T(D(net["E"], net["z2"])), T(net["y1"])), text("outer product")),),
        (net.instance(SIZES), net.instance(SIZES, leaf="y1")),
        oracle=net.oracle,
    )
    kinds = [r.kind for r in verify_derivation(name, d, np.random.default_rng(1))]
    assert kinds.count("finite-difference") == 2


def test_a_wrong_oracle_is_refused() -> None:
    net = network("tanh, squared error")
    d = Derivation(
        D(net["E"], net["W2"]),
        (Step(mm(T(D(net["E"], net["z2"])), T(net["y1"])), text("outer product")),),
        (net.instance(SIZES),),
        oracle=lambda v: 1.01 * net.oracle(v),
    )
    with pytest.raises(VerificationError, match="finite differences"):
        verify_derivation("wrong oracle", d, np.random.default_rng(1))


def test_a_stage_given_to_the_oracle_overrides_its_definition() -> None:
    net = network("tanh, squared error")
    v = values(net)
    z1 = v["W1"] @ v["x"] + v["b1"]
    assert net.forward(v)["z1"] == pytest.approx(z1)
    y1 = np.array([[0.1], [0.2], [0.3]])
    assert net.oracle({**v, "y1": y1}) == pytest.approx(
        0.5 * float(((v["W2"] @ y1 + v["b2"] - v["t"]) ** 2).sum())
    )


def test_the_description_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown activation"):
        kit.Activation("swish")
    with pytest.raises(ValueError, match="follow a linear layer"):
        kit.Network(n, [kit.tanh(), kit.linear(h)], kit.squared_error())


def test_binary_cross_entropy_is_written_once_and_needs_a_sigmoid_output() -> None:
    net = network("tanh, sigmoid, binary cross-entropy")
    y, t = net["y2"], net["t"]
    assert printing.latex(net.definitions()[net["E"]]) == printing.latex(
        -(mm(T(t), elementwise("log", y)) + mm(T(ones_minus(t)), elementwise("log", ones_minus(y))))
    )
    inst = net.instance(SIZES, leaf="z2")
    assert inst.given == {} and inst.domain == {"t": (0.0, 1.0)}  # no one-hot assumption
    v = {"z2": np.array([[4.0], [-4.0], [0.3], [0.0]]), "t": values(net)["t"]}
    y2 = 1 / (1 + np.exp(-v["z2"]))
    bce = -(v["t"] * np.log(y2) + (1 - v["t"]) * np.log(1 - y2)).sum()
    assert net.oracle(v) == pytest.approx(bce)
    # from the logits: finite where y2 rounds to 1
    assert np.isfinite(net.oracle({**v, "z2": np.array([[40.0], [-40.0], [0.0], [0.0]])}))
    w = values(net)
    z2 = w["W2"] @ np.tanh(w["W1"] @ w["x"] + w["b1"]) + w["b2"]
    assert net.gradients(w)["z2"] == pytest.approx(1 / (1 + np.exp(-z2)) - w["t"])
    with pytest.raises(ValueError, match="sigmoid output"):
        kit.Network(n, [kit.linear(h), kit.tanh()], kit.binary_cross_entropy())
    # its fragment, cited in the network's symbols, holds under the network's instance
    step = F.SIGMOID_BINARY_CROSS_ENTROPY.step(E=net["E"], z=net["z2"], y=y, t=t)
    d = Derivation(D(net["E"], net["z2"]), (step,), (inst,), oracle=net.oracle)
    assert verify_derivation("citing", d, np.random.default_rng(3))


def test_definitions_notation_and_figure_come_from_the_description() -> None:
    net = network("sigmoid, softmax, cross-entropy")
    assert [str(s) for s in net.definitions()] == ["z1", "y1", "z2", "y2", "E"]
    assert [str(s) for s in net.definitions("z2")] == ["y2", "E"]
    assert net.notation["W2"] == "W^{(2)}" and "b2" not in net.symbols
    inst = net.instance(SIZES)
    assert inst.given == {"t_4": 1 - sp.Symbol("t_1") - sp.Symbol("t_2") - sp.Symbol("t_3")}
    drawing = net.figure(sizes=SIZES).draw()
    assert "softmax" in drawing.tikz and "\\sigma" in drawing.tikz


def test_a_drawing_made_by_hand_is_a_figure_too() -> None:
    import solutions.practical_1 as practical_1
    from answerkey.kit.network import diagram

    figure = diagram("chain", "The chain.", practical_1.chain_network(), handout=False)
    assert (figure.name, printing.prose(figure.caption, "md"), figure.handout) == (
        "chain",
        "The chain.",
        False,
    )
    assert figure.draw().name == "chain" and "f_1" in figure.draw().svg


# --- fragments ------------------------------------------------------------------------


@pytest.mark.parametrize("fragment", F.FRAGMENTS, ids=lambda f: f.name)
def test_every_fragment_is_verified_by_the_engine(fragment: F.Fragment) -> None:
    kinds = {r.kind for r in fragment.verify()}
    assert {"numeric", "symbolic"} <= kinds
    assert fragment.check()[0].kind == "fragment"


def _wrong(fragment: F.Fragment, result: Any) -> F.Fragment:
    d = fragment.derivation
    steps = (*d.steps[:-1], Step(result, d.steps[-1].reason))
    return F.Fragment(fragment.name + " (wrong)", dataclasses.replace(d, steps=steps), {})


@pytest.mark.parametrize(
    ("fragment", "wrong"),
    [
        (F.SOFTMAX_CROSS_ENTROPY, T(F._t - F._y)),  # sign
        (F.SIGMOID_BINARY_CROSS_ENTROPY, mm(T(F._y - F._t), diag(F._y))),  # sigma' twice
        (F.SIGMOID_DERIVATIVE, sp.Identity(F._K) - sp.Identity(F._K)),  # zero
        (F.LINEAR_BACKWARD, mm(D(F._E, F._z), F._W, 2 * sp.Identity(F._n))),  # factor 2
        (F.OUTER_PRODUCT, mm(T(D(F._E, F._z)), T(F._x)) * sp.Rational(1, 2)),
        (F.BATCH_OUTER_PRODUCT, F._m * mm(D(F._E, F._Z), T(F._X))),  # the sum, not the mean
        (F.L2_PENALTY, D(F._E, F._W) + 2 * F._lam * F._W),  # lambda ||W||^2's gradient
    ],
    ids=lambda x: getattr(x, "name", ""),
)
def test_a_wrong_fragment_is_refused(fragment: F.Fragment, wrong: Any) -> None:
    with pytest.raises(VerificationError):
        _wrong(fragment, wrong).verify()


def test_a_cited_fragment_is_written_in_the_exercises_symbols_and_verified_there() -> None:
    net = network("sigmoid, softmax, cross-entropy")
    E, z2, y2, t = net["E"], net["z2"], net["y2"], net["t"]
    step = F.SOFTMAX_CROSS_ENTROPY.step(z=z2, y=y2, t=t, E=E)
    assert step.expr == T(y2 - t)
    assert printing.math_text(step.reason) == r"\text{softmax with cross-entropy}"
    d = Derivation(D(E, z2), (step,), (net.instance(SIZES, leaf="z2"),), oracle=net.oracle)
    assert verify_derivation("citing", d, np.random.default_rng(2))
    # cited where it does not hold (a hinge loss, no softmax): refused in context
    other = network("relu, hinge")
    bad = Derivation(
        D(other["E"], other["z2"]),
        (F.SOFTMAX_CROSS_ENTROPY.step(z=other["z2"], y=other["z2"], t=other["t"], E=other["E"]),),
        (other.instance(SIZES, leaf="z1"),),
    )
    with pytest.raises(VerificationError):
        verify_derivation("misfit", bad, np.random.default_rng(2))
    with pytest.raises(ValueError, match="no role"):
        F.SOFTMAX_CROSS_ENTROPY.step(q=z2)


def test_citing_a_fragment_attaches_its_check() -> None:
    """A part that cites a fragment runs the fragment's check, listed or not (issue 20.3)."""
    from answerkey.model import Part
    from answerkey.verify import verify_part

    net = network("sigmoid, softmax, cross-entropy")
    E, z2, y2, t = net["E"], net["z2"], net["y2"], net["t"]
    cited = F.SOFTMAX_CROSS_ENTROPY.step(z=z2, y=y2, t=t, E=E)
    d = Derivation(D(E, z2), (cited,), (net.instance(SIZES, leaf="z2"),), oracle=net.oracle)
    part = Part("a", "cites", [text("Give it.")], [d])  # the check left out of numeric_checks
    assert part.numeric_checks == [F.SOFTMAX_CROSS_ENTROPY.check]
    assert any(r.kind == "fragment" for r in verify_part("x", part))
    listed = Part("a", "cites", [text("Give it.")], [d], numeric_checks=[cited.cites.check])
    assert listed.numeric_checks == [F.SOFTMAX_CROSS_ENTROPY.check]  # not twice
    # a cited fragment that does not hold stops the part that cites it
    wrong = _wrong(F.SOFTMAX_CROSS_ENTROPY, T(F._t - F._y))
    bad = dataclasses.replace(cited, cites=wrong)
    part = Part("a", "cites", [text("Give it.")], [dataclasses.replace(d, steps=(bad,))])
    with pytest.raises(VerificationError, match=r"fragment .softmax with cross-entropy \(wrong\)"):
        verify_part("x", part)


# --- optimizers -----------------------------------------------------------------------


def test_optimizer_rules_print_in_the_order_written_and_step_in_numpy() -> None:
    W, g, v = (sp.MatrixSymbol(s, 2, 3) for s in ("W", "g", "v"))
    ((new, rule),) = SGD(0.5).rule(W, g)
    assert printing.latex((new, rule)) == r"W' = W - \eta g"
    assert SGD(0.5).step(np.array([2.0, -4.0])) == pytest.approx([-1.0, 2.0])
    (_, v_rule), (_, w_rule) = Momentum(0.5, 0.9).rule(W, g, v)
    assert printing.latex(v_rule) == r"\beta v - \eta g"
    assert printing.latex(w_rule) == r"W + v'"
    velocity, step = Momentum(0.5, 0.9).step(np.array([2.0]), np.array([1.0]))
    assert velocity == pytest.approx([0.9 - 1.0]) and step == pytest.approx(velocity)


# --- worked numbers through answerkey.worked -------------------------------------------


def test_given_numbers_are_shaped_and_written_as_given() -> None:
    net = network("tanh, squared error")
    at = net.given({"x": [1.0, -0.5], "W2": [[0.5] * 3] * 4}, SIZES)
    assert at[net["x"]].value.shape == (2, 1) and at[net["W2"]].value.shape == (4, 3)
    assert printing.latex(at[net["x"]]) == r"\begin{bmatrix}1.0 & -0.5\end{bmatrix}^{T}"
    with pytest.raises(AuthoringError, match="given x: 3 numbers do not fill its 2 x 1 shape"):
        net.given({"x": [1.0, 2.0, 3.0]}, SIZES)  # the wrong shape


def test_a_worked_step_with_the_kits_sgd_is_checked_against_the_oracle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from answerkey import worked

    net = network("tanh, squared error")
    v = values(net)
    at = net.given({k: a.tolist() for k, a in v.items()}, SIZES)
    W2 = net["W2"]
    sample = {s: at[s] for s in (net["x"], net["t"], net["W1"], net["b1"], net["b2"])}
    show = [(sp.MatrixSymbol("W2'", *W2.shape), worked.NewValueOf(W2))]
    trace = net.trace("step", SIZES, {W2: at[W2]}, [sample], SGD(0.5), 1, show)
    assert any(r.kind == "update" for r in trace())
    example = net.example("example", SIZES, at, [net["E"], D(net["E"], W2)])
    assert example()
    # a forward pass that disagrees with the SymPy definitions is caught
    broken = net.example("example", SIZES, at, [net["E"]])
    monkeypatch.setattr(broken, "oracle", lambda vals: {**net.forward(vals), "E": 0.0})
    with pytest.raises(AssertionError):
        broken()


# --- names= ------------------------------------------------------------------------------


def test_names_give_the_kits_quantities_the_courses_names_everywhere() -> None:
    names = {"W1": "W", "b1": "b", "z1": "s", "y1": "p", "E": "L"}
    net = kit.Network(n, [kit.linear(K), kit.softmax()], kit.cross_entropy(), names=names)
    assert net["W1"] is net["W"] and str(net["W"]) == "W" and str(net["E"]) == "L"
    assert [str(s) for s in net.definitions()] == ["s", "p", "L"]
    assert "W1" not in net.notation and "W" not in net.notation  # printed as named
    assert net.definitions("s") == net.definitions("z1")
    v = {"x": np.array([1.0, 2.0]), "W": np.eye(3, 2), "b": np.zeros(3), "t": [0.0, 1.0, 0.0]}
    assert set(net.forward(v)) >= {"s", "p", "L"} and set(net.gradients(v)) >= {"W", "b"}
    at = net.given({"x": [1.0, 2.0]}, {n: 2, K: 3})
    assert at[net["x"]].label == "x"
    assert str(net.batch(sp.Symbol("m"))["p"]) == "Pb"


def test_names_a_network_lacks_or_gives_twice_are_one_clear_line() -> None:
    layers, loss = [kit.linear(K), kit.softmax()], kit.cross_entropy()
    with pytest.raises(AuthoringError, match="renames W2, which this network does not have"):
        kit.Network(n, layers, loss, names={"W2": "V"})
    with pytest.raises(AuthoringError, match="two quantities the name W1"):
        kit.Network(n, layers, loss, names={"b1": "W1"})
    net = kit.Network(n, layers, loss, names={"W1": "W"})
    with pytest.raises(AuthoringError, match="no quantity 'W1b'; its quantities: x, W, b1"):
        net["W1b"]
    with pytest.raises(AuthoringError, match="given W: 2 numbers do not fill its 3 x 2 shape"):
        net.given({"W": [1.0, 2.0]}, {n: 2, K: 3})
