"""Reading claims: loose LaTeX into a syntax tree, and what cannot be read."""

from __future__ import annotations

import pytest
import sympy as sp
from claims_common import NET, SCALARS, VECTORS, E, W, h, read, t, x, y1, y2, z1
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from answerkey.claims import (
    ClaimError,
    KeyAnswer,
    canonical_name,
    check,
    judge,
    parse_claim,
)
from answerkey.mathfns import D, elementwise, sigmoid

# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("latex", "expected"),
    [
        ("tW", t * W),
        ("2x", 2 * x),
        ("-tW", -t * W),
        (r"t \cdot W", t * W),
        (r"t \times W * x", t * W * x),
        (r"\frac{t}{W}", t / W),
        (r"\frac12 x", x / 2),
        (r"e^{-Wx}", sp.exp(-W * x)),
        (r"e^x", sp.exp(x)),
        (r"\exp(-W x)", sp.exp(-W * x)),
        (r"\log(x) + \ln x", 2 * sp.log(x)),
        (r"\sigma(Wx)", sigmoid(W * x)),
        (r"\operatorname{sigmoid}(Wx)", sigmoid(W * x)),
        (r"\text{sigmoid}(Wx)", sigmoid(W * x)),
        (r"\mathrm{sigmoid}\left(Wx\right)", sigmoid(W * x)),
        ("sigmoid(Wx)", sigmoid(W * x)),
        (r"\log \sigma(Wx)", sp.log(sigmoid(W * x))),
        (r"\left( t - 1 \right)^2", (t - 1) ** 2),
        ("W(x+1)", W * (x + 1)),
        ("t(1-x)", t * (1 - x)),
        (r"\sigma'(x)", sigmoid(x) * (1 - sigmoid(x))),
        (r"$x^{2}$", x**2),
        (r"x_{}^{2}" if False else "x^2", x**2),
    ],
)
def test_reads_scalar_notation(latex: str, expected: sp.Expr) -> None:
    got = parse_claim(latex, SCALARS).expr
    assert sp.simplify(got - expected) == 0, (latex, got)


def test_function_or_product_reading_is_shown() -> None:
    p = parse_claim("W(x+1)", SCALARS)
    assert p.reading == "W·(x + 1)"
    assert any("read as a product" in note for note in p.notes)
    assert read(r"\sigma(Wx)") == "σ(W·x)"
    assert read(r"-\frac{tW}{1+e^{Wx}}") == "-(t·W/(1 + exp(W·x)))"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("y^{(2)}", "y^(2)"),
        ("W^{(1)}", "W^(1)"),
        ("W_{out}", "W_out"),
        (r"W_{\mathrm{out}}", "W_out"),
        (r"y_{\text{gt}}", "y_gt"),
        (r"\lambda", r"\lambda"),
        (r"\mathcal{L}", r"\mathcal{L}"),
    ],
)
def test_canonical_names(written: str, canonical: str) -> None:
    assert canonical_name(written) == canonical


def test_subscripts_and_superscripts_name_symbols() -> None:
    y_gt, W_out = sp.symbols("y_gt W_out")
    table = {"y_{gt}": y_gt, r"W_{\mathrm{out}}": W_out, r"\lambda": sp.Symbol("lambda")}
    assert parse_claim(r"W_out y_{\text{gt}} \lambda", table).expr == W_out * y_gt * sp.Symbol(
        "lambda"
    )


def test_matrix_notation() -> None:
    p = parse_claim(r"(y^{(2)} - t)^T W^{(2)}", VECTORS)
    assert p.expr.shape == (1, h)
    assert parse_claim(r"y^{(1)T}", VECTORS).expr == y1.T
    assert parse_claim(r"y^{(1)}^\top", VECTORS).expr == y1.T
    assert parse_claim(r"y^{(1)}^{T}", VECTORS).expr == y1.T
    d = parse_claim(r"\mathrm{diag}(y^{(1)} * (1 - y^{(1)}))", VECTORS)
    assert d.expr.shape == (h, h)
    assert any("entrywise" in note for note in d.notes)
    m = parse_claim(r"\begin{bmatrix} 1 & x \\ 2 & 3 \end{bmatrix}", SCALARS).expr
    assert m == sp.ImmutableMatrix([[1, x], [2, 3]])
    der = parse_claim(r"\frac{\partial E}{\partial z^{(1)}}", VECTORS).expr
    assert der == D(E, z1)


def test_numbers_keep_their_precision() -> None:
    p = parse_claim("0.4063", {})
    assert p.is_numeric and p.decimals.tolist() == [[4]]
    v = parse_claim("[ 0.458 0.869 0.704]", {})
    assert v.decimals.tolist() == [[3, 3, 3]]
    m = parse_claim("[[0.1, 0.25], [1, 2.5]]", {})
    assert m.expr.shape == (2, 2) and m.decimals.tolist() == [[1, 2], [0, 1]]


@pytest.mark.parametrize(
    ("latex", "fragment"),
    [
        ("(t + W", "col 7: expected ')'"),
        ("t +", "col 4: expected a number"),
        (r"\frac{1}", "col 9"),
        ("q + 1", "unknown symbol 'q'"),
        ("", "empty"),
        ("t @ W", "unexpected character '@'"),
        (r"\begin{align} x \end{align}", "unsupported environment"),
    ],
)
def test_unreadable_claims_say_where_and_what(latex: str, fragment: str) -> None:
    with pytest.raises(ClaimError) as info:
        parse_claim(latex, SCALARS)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


LATEX_BITS = [
    "x", "t", "W", "2", "0.5", "+", "-", "*", "/", "^", "_", "(", ")", "{", "}", "[", "]",
    r"\frac", r"\sigma", r"\log", r"\exp", "e", r"\cdot", r"\left(", r"\right)", "^T",
    r"\begin{bmatrix}", r"\end{bmatrix}", "&", r"\\", "'", "=", ",", r"\partial", "d",
    r"\text{sigmoid}", r"\mathrm{diag}", "y^{(2)}", r"\sqrt", " ", "|", r"\|", "σ",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(LATEX_BITS), max_size=14)))
def test_unreadable_input_only_raises_claim_error(data: str | list[str]) -> None:
    latex = data if isinstance(data, str) else "".join(data)
    symbols = {**SCALARS, "y^{(2)}": y2}
    try:
        parse_claim(latex, symbols)
    except ClaimError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(LATEX_BITS), max_size=10))
def test_check_never_raises(bits: list[str]) -> None:
    v = check("".join(bits), KeyAnswer(-t * W * (1 - sigmoid(W * x)), SCALARS), seed=1)
    assert v.status in ("correct", "incorrect", "unreadable")
    assert v.exit_code in (0, 1, 2)


@pytest.mark.parametrize("latex", ["²", "x²", "٣", "2²", "x^²"])
def test_non_ascii_digits_are_unreadable_not_a_hang(latex: str) -> None:
    """'²'.isdigit() is true, yet no number pattern matches it: once this looped forever."""
    import time

    start = time.perf_counter()
    with pytest.raises(ClaimError):
        parse_claim(latex, SCALARS)
    assert time.perf_counter() - start < 1


# --------------------------------------------------------------------------- index notation, primes

K3 = sp.Symbol("K", integer=True, positive=True)
p_vec, o_vec = sp.MatrixSymbol("p", K3, 1), sp.MatrixSymbol("o", K3, 1)
jj, kk, yy = sp.symbols("j k y", integer=True, positive=True)
P, OUT = sp.IndexedBase("p"), sp.IndexedBase("o")
HINGE = {"p": p_vec, "o": o_vec, "K": K3, "j": jj, "k": kk, "y": yy, r"\mathcal{L}": sp.Symbol("L")}


@pytest.mark.parametrize(
    ("latex", "expected"),
    [
        (r"p_k", P[kk]),
        (r"{p}_{k}", P[kk]),
        (r"p_1", P[1]),
        (r"\delta_{jk}", sp.KroneckerDelta(jj, kk)),
        (r"\delta_{j,k}", sp.KroneckerDelta(jj, kk)),
        (r"\sum_{j=1}^{K} p_j", sp.Sum(P[jj], (jj, 1, K3))),
        (r"\sum_{j} p_j", sp.Sum(P[jj], (jj, 1, K3))),
        (
            r"\sum_{k \neq j} e^{o_k}",
            sp.Sum(sp.exp(OUT[kk]) * (1 - sp.KroneckerDelta(kk, jj)), (kk, 1, K3)),
        ),
        (r"\sum_{j=1}^{K} p_j p_k + 1", sp.Sum(P[jj] * P[kk], (jj, 1, K3)) + 1),
    ],
)
def test_index_notation(latex: str, expected: sp.Expr) -> None:
    assert parse_claim(latex, HINGE).expr == expected


def test_a_vector_and_its_components_share_a_name() -> None:
    from answerkey.mathfns import D, diag

    got = parse_claim(r"\left(\operatorname{diag}\left(p\right) - p p^{T}\right)", HINGE).expr
    assert got.shape == (K3, K3) and diag(p_vec) in got.args  # p the vector, not a scalar
    assert parse_claim(r"\frac{\partial \mathcal{L}}{\partial {o}_{k}}", HINGE).expr == D(
        sp.Symbol("L"), OUT[kk]
    )
    assert parse_claim(r"\frac{\partial L}{\partial o_j}", HINGE).expr == D(sp.Symbol("L"), OUT[jj])


f3 = sp.Function("f_3")
s_out = sp.Symbol("s_out")
CHAIN = {"f_3": f3, r"s_{\mathrm{out}}": s_out}


@pytest.mark.parametrize(
    "latex",
    [
        r"\operatorname{{f}'}_{3}{\left(s_{\mathrm{out}} \right)}",  # as the key prints it
        r"f'_3(s_{out})",
        r"f_3'(s_{out})",
        r"f_3^{\prime}(s_{out})",
        r"f_{3}^{\prime}\left(s_{out}\right)",
    ],
)
def test_primes_of_named_functions(latex: str) -> None:
    got = parse_claim(latex, CHAIN).expr
    assert isinstance(got, sp.Subs) and got.point == (s_out,)
    assert got.expr == sp.Derivative(f3(got.variables[0]), got.variables[0])


def test_a_derivative_of_a_function_named_alone() -> None:
    from answerkey.mathfns import D

    assert parse_claim(r"\frac{d f_3}{d s_{out}}", CHAIN).expr == D(f3(s_out), s_out)


def test_a_vector_of_ones_takes_its_length_from_its_neighbours() -> None:
    y = sp.MatrixSymbol("y", 3, 1)
    t = sp.MatrixSymbol("t", 3, 1)
    table = {"y": y, "t": t}
    assert parse_claim(r"t^T \mathbf{1} y^T - t^T", table).expr.shape == (1, 3)
    ones_minus_y = parse_claim(r"\mathbf{1} - y", table).expr
    assert ones_minus_y.shape == (3, 1) and sp.OneMatrix(3, 1) in ones_minus_y.args


def test_two_part_names_as_the_key_prints_them() -> None:
    dw = sp.Symbol("DeltaW_ij")
    assert canonical_name(r"\Delta W_{i \to j}") == r"\Delta W_i\toj"
    assert parse_claim(r"\Delta W_{i \to j}", {r"\Delta W_{i \to j}": dw}).expr == dw


def test_sizes_used_as_numbers_are_known() -> None:
    from answerkey.claims import default_symbols

    m = sp.Symbol("m", integer=True, positive=True)
    Y = sp.MatrixSymbol("Y", 3, m)
    table = default_symbols(Y / m)
    assert table["m"] == m and "Y" in table


def test_cases_read_as_piecewise() -> None:
    latex = (
        r"\begin{cases} p_k & \text{if } k = y, \\ 1 - p_k & k \neq y \\ 0 & \text{otherwise}."
        r" \end{cases}"
    )
    got = parse_claim(latex, HINGE).expr
    assert got == sp.Piecewise((P[kk], sp.Eq(kk, yy)), (1 - P[kk], sp.Ne(kk, yy)), (0, True))
    with pytest.raises(ClaimError, match="expected"):
        parse_claim(r"\begin{cases} p_k & \text{if } \end{cases}", HINGE)


def test_layers_may_be_written_with_a_subscript() -> None:
    y2 = sp.MatrixSymbol("y2", 3, 1)
    table = {"y^{(2)}": y2}
    for written in ("y_2", "y^2", "y^{[2]}", "y^{(2)}"):
        assert parse_claim(written, table).expr == y2


def test_a_prime_after_a_vector_is_a_transpose_and_otimes_an_outer_product() -> None:
    parsed = parse_claim(r"(y^{(2)} - t)'", VECTORS)
    assert parsed.expr.shape == (1, y2.shape[0]) and any("transpose" in n for n in parsed.notes)
    assert parse_claim(r"y^{(2)}'", VECTORS).expr == y2.T
    assert parse_claim(r"y^{(2)} \otimes y^{(1)}", VECTORS).expr == y2 * y1.T


def test_numbers_may_carry_their_name() -> None:
    assert parse_claim("s = [0.458, 0.869, 0.704]", {}).reading == "[0.458, 0.869, 0.704]"
    assert parse_claim(r"\mathcal{L}: 0.1362", {}).expr == sp.Float("0.1362", 30)


@pytest.mark.parametrize(
    "latex",
    [r"W^{(2)^T}", r"W^{(2)^{T}}", r"W^{(2)^\top}", r"W^{(2)T}", r"W^{[2]^T}", r"W_2^T"],
)
def test_a_layer_transposed_in_a_double_superscript_is_a_transpose(latex: str) -> None:
    """`W^{(2)^T}` (the common double-superscript transpose) is W^(2) transposed, never
    W^(2) to a power."""
    W2 = VECTORS["W^{(2)}"]
    assert parse_claim(latex, VECTORS).expr == W2.T


def test_nabla_is_the_gradient_in_the_shape_of_its_variable() -> None:
    """`\\nabla_{W^{(1)}} E` is ∂E/∂W^(1) (W's shape); by a column vector it is a column,
    the transpose of the row ∂E/∂z."""
    W1 = VECTORS["W^{(1)}"]
    assert parse_claim(r"\nabla_{W^{(1)}} E", VECTORS).expr == D(E, W1)
    assert parse_claim(r"\nabla_{z^{(1)}} E", VECTORS).expr == D(E, z1).T
    assert parse_claim(r"\nabla_{z^{(1)}} E", VECTORS).reading == "∇_z^(1) E"
    with pytest.raises(ClaimError):
        parse_claim(r"\nabla_{2} E", VECTORS)


# --------------------------------------------------------------------------- the course's
# newer notation: accents, statistics, sums over time, convolutions, activations of vectors


@pytest.mark.parametrize(
    "written",
    [r"\hat{x} + \bar{m}", r"\widehat{x} + \overline{m}", r"\hat x + \bar m", r"\hat{x} + \bar{m}"],
)
def test_hats_and_bars_name_symbols_of_their_own(written: str) -> None:
    xhat, mbar, x_ = sp.symbols("xhat mbar x")
    symbols = {r"\hat{x}": xhat, r"\bar{m}": mbar, "x": x_}
    assert parse_claim(written, symbols).expr == xhat + mbar
    assert parse_claim(r"\hat{x}_1", {r"\hat{x}_{1}": xhat}).expr == xhat
    with pytest.raises(ClaimError, match="unknown symbol"):
        parse_claim(r"\hat{x}", {"x": x_})  # x̂ is not x


def test_a_function_word_with_scripts_that_name_a_symbol_is_that_symbol() -> None:
    s2, sz, u = sp.symbols("sigma2 sigma_z u")
    symbols = {r"\sigma^2": s2, r"\sigma_{z}": sz, "u": u}
    assert parse_claim(r"\frac{u}{\sqrt{\sigma^2 + 1}}", symbols).expr == u / sp.sqrt(s2 + 1)
    assert parse_claim(r"\sigma_z \sigma(u)", symbols).expr == sz * sigmoid(u)
    with pytest.raises(ClaimError, match="powers of functions"):
        parse_claim(r"\sigma^3(u)", symbols)


def test_statistics_read_as_the_parts_symbols_or_a_vectors_batch_statistics() -> None:
    n, vz, vw, vx = sp.symbols("n V_z V_w V_x")
    symbols = {"n": n, "V_{z}": vz, "V_{w}": vw, "V_{x}": vx}
    parsed = parse_claim(r"\operatorname{Var}(z) = n \text{Var}[w] \sigma_x^2", symbols)
    assert parsed.members == (vz, n * vw * vx)
    assert any("Var(w) at col" in note for note in parsed.notes)
    v = sp.MatrixSymbol("v", 3, 1)
    mean = (v[0, 0] + v[1, 0] + v[2, 0]) / 3
    variance = sum((v[i, 0] - mean) ** 2 for i in range(3)) / 3
    key = sp.ImmutableMatrix([[(v[i, 0] - mean) / sp.sqrt(variance)] for i in range(3)])
    claim = parse_claim(r"\frac{v - \mathbb{E}[v]}{\sqrt{\operatorname{Var}(v)}}", {"v": v})
    assert judge(claim, key).correct
    with pytest.raises(ClaimError):
        parse_claim(r"\operatorname{Var}(q)", symbols)  # no q, no V_q: not read
    scalar = KeyAnswer(n * vw, symbols)
    verdict = check(r"\operatorname{Var}(n)", scalar)  # a scalar's variance: unreadable
    assert verdict.status == "unreadable" and "cannot be read" in verdict.reason


TIME = {f"h_{{{k}}}": sp.Symbol(f"h_{k}") for k in range(4)}
TIME |= {f"x_{{{k}}}": sp.Symbol(f"x_{k}") for k in range(1, 4)} | {"w": sp.Symbol("w")}
h0, h1, h2, h3 = (sp.Symbol(f"h_{k}") for k in range(4))
x1, x2, x3 = (sp.Symbol(f"x_{k}") for k in range(1, 4))


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (r"\sum_{t=1}^{3} x_t h_{t-1}", x1 * h0 + x2 * h1 + x3 * h2),
        (r"\sum_{t=1}^{T} x_{t} h_{t-1}", x1 * h0 + x2 * h1 + x3 * h2),
        (r"\sum_{t=2}^{3} t h_t", 2 * h2 + 3 * h3),
        (r"\prod_{k=2}^{3} (1 - h_k^2)", (1 - h2**2) * (1 - h3**2)),
        (
            r"\sum_{t=1}^{3} x_t \prod_{k=t+1}^{3} w",
            x1 * sp.Symbol("w") ** 2 + x2 * sp.Symbol("w") + x3,
        ),
        (r"\sum_{t=1}^{T} x_t h_T", (x1 + x2 + x3) * h3),
    ],
)
def test_sums_and_products_over_numbered_names_are_written_out(
    written: str, expected: sp.Expr
) -> None:
    parsed = parse_claim(written, TIME)
    assert sp.expand(parsed.expr - expected) == 0
    assert parsed.reading.startswith(("Σ_(t=", "Π_(k="))
    if "T}" in written:
        assert any("T at col" in note and "read as 3" in note for note in parsed.notes)


def test_a_sum_over_names_the_part_does_not_number_is_unreadable() -> None:
    with pytest.raises(ClaimError, match="unknown symbol"):
        parse_claim(r"\sum_{t=1}^{3} q_t", TIME)
    with pytest.raises(ClaimError, match="no numbered names"):
        parse_claim(r"\sum_{t=1}^{T} w", TIME)


def _full_correlation(a: sp.ImmutableMatrix, k: sp.ImmutableMatrix) -> sp.ImmutableMatrix:
    """Written apart from the reader: a padded by the kernel's size less one, correlated."""
    f = k.shape[0]
    padded = sp.zeros(a.shape[0] + 2 * (f - 1), a.shape[1] + 2 * (f - 1))
    padded[f - 1 : f - 1 + a.shape[0], f - 1 : f - 1 + a.shape[1]] = a
    rows, cols = padded.shape[0] - f + 1, padded.shape[1] - f + 1
    return sp.ImmutableMatrix(
        rows,
        cols,
        lambda i, j: sum(padded[i + u, j + v] * k[u, v] for u in range(f) for v in range(f)),
    )


def test_convolutions_read_as_frameworks_compute_them() -> None:
    X, K = sp.MatrixSymbol("X", 4, 4), sp.MatrixSymbol("K", 3, 3)
    delta = sp.MatrixSymbol("delta", 2, 2)
    symbols = {"X": X, "K": K, r"\delta": delta}
    valid = sp.ImmutableMatrix(
        2, 2, lambda i, j: sum(X[i + u, j + v] * K[u, v] for u in range(3) for v in range(3))
    )
    for written in (r"X * K", r"X \star K", r"\operatorname{conv}(X, K)"):
        parsed = parse_claim(written, symbols)
        assert parsed.expr.shape == (2, 2) and any("cross-correlation" in n for n in parsed.notes)
        assert judge(parsed, valid).correct
    flipped = sp.ImmutableMatrix(3, 3, lambda u, v: K[2 - u, 2 - v])
    key = _full_correlation(sp.ImmutableMatrix(delta), flipped)
    for written in (
        r"\delta * \text{rot180}(K)",
        r"\delta \star \operatorname{rot}_{180}(K)",
        r"\operatorname{conv}\left(\delta, \operatorname{flip}(K)\right)",
        r"conv(\delta, rot180(K))",
    ):
        assert judge(parse_claim(written, symbols), key).correct, written
    assert not judge(parse_claim(r"\delta * K", symbols), key).correct  # the kernel not flipped
    assert parse_claim(r"\delta * \delta", symbols).expr.shape == (2, 2)  # a product still


def test_relu_prime_tanh_and_a_parts_own_function_of_a_vector() -> None:
    from answerkey.kit.layers.activations import HeavisideOf
    from answerkey.kit.layers.base import Entrywise
    from answerkey.kit.layers.leaky_relu import lrelu, lrelu_step

    symbols = {**VECTORS, "lrelu": lrelu}
    relu_key = sp.HadamardProduct(HeavisideOf(z1), y1)
    for written in (
        r"\operatorname{relu}'(z^{(1)}) \circ y^{(1)}",
        r"\text{ReLU}'\left(z_1\right) \odot y_1",
    ):
        assert judge(parse_claim(written, symbols), relu_key, NET).correct, written
    for written in (
        r"\mathbf{1}[z^{(1)} > 0] \circ y^{(1)}",
        r"\mathbb{1}_{z_1 > 0} \odot y_1",
    ):
        indicator = parse_claim(written, symbols)
        assert indicator.reading.startswith(("1[z^(1) > 0]", "1[z_1 > 0]")), indicator.reading
        assert judge(indicator, relu_key, NET).correct, written
    assert not judge(parse_claim(r"\mathbf{1}[z_1 < 0] \circ y_1", symbols), relu_key, NET).correct
    assert (
        parse_claim(r"\operatorname{relu}'(z_1)", symbols).expr
        == parse_claim(r"\operatorname{relu}'(z_1)", symbols).expr
    )  # the same reading, the same expression
    leaky = sp.HadamardProduct(Entrywise(lrelu_step, z1), y1)
    assert judge(
        parse_claim(r"\operatorname{lrelu}'\left(z^{(1)}\right) \circ y^{(1)}", symbols), leaky, NET
    ).correct
    assert not judge(
        parse_claim(r"\operatorname{lrelu}(z^{(1)}) \circ y^{(1)}", symbols), leaky, NET
    ).correct
    th = elementwise("tanh", z1)
    tanh_key = sp.HadamardProduct(sp.OneMatrix(h, 1) - sp.HadamardProduct(th, th), y1)
    tanh_claim = parse_claim(r"\tanh'(z^{(1)}) \circ y^{(1)}", symbols)
    assert judge(tanh_claim, tanh_key, NET).correct


def test_the_last_step_a_squared_tanh_and_a_bar_as_a_mean() -> None:
    parsed = parse_claim(r"(h_T - 1)(1 - h_T^2)", TIME)
    assert sp.expand(parsed.expr - (h3 - 1) * (1 - h3**2)) == 0
    assert any("h_T at col" in n and "h_3" in n for n in parsed.notes)
    u = sp.Symbol("u")
    squared = parse_claim(r"1 - \tanh^2(u)", {"u": u})
    assert squared.expr == 1 - sp.tanh(u) ** 2 and squared.notes
    with pytest.raises(ClaimError, match="powers of functions"):
        parse_claim(r"\tanh^3(u)", {"u": u})
    v = sp.MatrixSymbol("v", 3, 1)
    mean = parse_claim(r"v - \bar{v}", {"v": v})
    assert any("mean of v" in n for n in mean.notes)
    key = sp.ImmutableMatrix([[v[i, 0] - (v[0, 0] + v[1, 0] + v[2, 0]) / 3] for i in range(3)])
    assert judge(mean, key).correct
    with pytest.raises(ClaimError, match="unknown symbol"):
        parse_claim(r"\bar{u}", {"u": u})  # a scalar has no entries to average
    K = sp.MatrixSymbol("K", 3, 3)
    assert parse_claim(r"\operatorname{rot}_{180^\circ}(K)", {"K": K}).reading == "rot180(K)"
