"""Convolution and pooling on one channel, in index form at concrete sizes.

`Conv2d(kernel, stride, padding)` is a 2-D convolution **as frameworks compute it**
(PyTorch's ``conv2d``, TensorFlow's ``conv2d``): a cross-correlation, the kernel
*not* flipped, ``Z_ij = sum_uv X_(s i + u, s j + v) K_uv + b`` (padding adds zeros
around X). Its pieces, each with a second path that checks it:

* the facts a course asks first: `output_size` (``floor((N + 2P - F) / S) + 1``),
  `parameter_count` (``C_out (C_in F^2 + 1)``) and `receptive_field` of a stack
  (``1 + sum_l (F_l - 1) prod_(m<l) S_m``); `facts_check` compares each rule with a
  brute-force count (window positions slid one by one, the entries of NumPy
  parameter arrays, the input positions that move an output) over a grid of sizes;
* `definition(X, K, b)`: the output matrix with every entry written out (the index
  form at these sizes), which the verifier instantiates like any definition; `forward`
  is the NumPy oracle, written apart;
* the backward pass for an upstream gradient ``delta = dE/dZ``: `kernel_gradient`
  (``dE/dK_uv = sum_ij delta_ij X_(i+u, j+v)``, X correlated with delta),
  `bias_gradient` (the sum of delta) and `input_gradient` (``dE/dX`` as a **full
  convolution**: delta padded by F - 1 zeros, correlated with the kernel rotated by
  180 degrees, `rot180`); `local(X, K, b, delta)` is the instance those derivations
  are proved at (E with ``dE/dZ = delta``), `np_backward` the NumPy oracle;
* pooling: `max_pool` and `avg_pool` of windows (SymPy, for definitions; max as
  ``Max``, whose derivative routes the gradient to the argmax), `np_max_pool`,
  `np_pool_backward` (NumPy routing) and `ties`, the windows whose maximum is not
  unique, where the gradient has no single place to go: a draw with a tie is refused.

Sizes are small on purpose (a 4x4 input, a 3x3 kernel): every entry of every rule is
proved symbolically there; index forms printed beside them are that matrix's entries.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .. import relations, worked
from ..mathfns import D
from ..model import CheckRecord, Derivation, Instance, Step, plural, text
from .fragments import Fragment
from .writing import say


def output_size(n: int, f: int, stride: int = 1, padding: int = 0) -> int:
    """floor((n + 2 padding - f) / stride) + 1, the rule as printed."""
    return (n + 2 * padding - f) // stride + 1


N_, F_, S_ = sp.symbols("N F S", integer=True, positive=True)
#: the padding, printed P_{pad}: a bare P is a name an exercise wants for itself (a pooled
#: map, a probability), and two quantities may not print one name (`printing.audit_names`)
P_ = sp.Symbol("P_{pad}", integer=True, nonnegative=True)
C_IN, C_OUT = sp.symbols("C_in C_out", integer=True, positive=True)
#: the rules as the key prints them
OUTPUT_SIZE = sp.floor((N_ + 2 * P_ - F_) / S_) + 1
PARAMETERS = C_OUT * (C_IN * F_**2 + 1)


def parameter_count(c_in: int, c_out: int, f: int, bias: bool = True) -> int:
    """C_out (C_in F^2 + 1): a kernel of F x F x C_in per output channel, and its bias."""
    return c_out * (c_in * f * f + (1 if bias else 0))


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """1 + sum_l (F_l - 1) prod_(m<l) S_m for a stack of (kernel, stride) layers."""
    r, jump = 1, 1
    for f, s in layers:
        r += (f - 1) * jump
        jump *= s
    return r


def _positions(n: int, f: int, stride: int, padding: int) -> int:
    """Window positions counted by sliding the window one stride at a time."""
    count, start = 0, -padding
    while start + f <= n + padding:
        count += 1
        start += stride
    return count


def _probed_field(layers: Sequence[tuple[int, int]]) -> int:
    """The input positions (1-D) output 0 of the stack reads, followed back layer by layer
    through each window it reads."""
    reads = {0}
    for f, s in reversed(layers):
        reads = {s * j + u for j in reads for u in range(f)}
    return len(reads)


def facts_check() -> list[CheckRecord]:
    """The output-size, parameter-count and receptive-field rules against brute force."""
    sizes, size_rule = 0, sp.lambdify((N_, F_, S_, P_), OUTPUT_SIZE, "math")
    param_rule = sp.lambdify((C_IN, C_OUT, F_), PARAMETERS, "math")
    for n, f, s, p in itertools.product(range(1, 13), range(1, 6), range(1, 4), range(3)):
        if f > n + 2 * p:
            continue
        rule = int(size_rule(n, f, s, p))
        if not rule == output_size(n, f, s, p) == _positions(n, f, s, p):
            raise AssertionError(f"the output-size rule fails at N={n}, F={f}, S={s}, P={p}")
        sizes += 1
    params = 0
    for c_in, c_out, f in itertools.product(range(1, 4), range(1, 4), range(1, 6)):
        arrays = [np.zeros((c_out, c_in, f, f)), np.zeros(c_out)]
        rule = int(param_rule(c_in, c_out, f))
        if not rule == parameter_count(c_in, c_out, f) == sum(a.size for a in arrays):
            raise AssertionError(f"the parameter count fails at {c_in}, {c_out}, {f}")
        params += 1
    fields = 0
    for stack in itertools.product([(1, 1), (2, 1), (3, 1), (3, 2), (2, 2), (5, 1)], repeat=3):
        for depth in range(1, 4):
            if receptive_field(stack[:depth]) != _probed_field(stack[:depth]):
                raise AssertionError(f"the receptive-field rule fails for {stack[:depth]}")
            fields += 1
    detail = (
        f"output size at {sizes} (N, F, S, P) against window positions counted by sliding; "
        f"parameter count at {params} layers against NumPy arrays' entries; receptive field "
        f"of {fields} stacks against the input positions an output reads"
    )
    return [CheckRecord("recomputation", "convolution facts", detail)]


def _entry(m: Any, i: int, j: int) -> Any:
    """m[i, j], and 0 outside m (zero padding)."""
    rows, cols = m.shape
    return m[i, j] if 0 <= i < rows and 0 <= j < cols else sp.Integer(0)


@dataclass(frozen=True)
class Conv2d:
    """One input channel, one output channel, a square kernel (see the module's docstring)."""

    kernel: int
    stride: int = 1
    padding: int = 0

    def out_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        f, s, p = self.kernel, self.stride, self.padding
        return output_size(shape[0], f, s, p), output_size(shape[1], f, s, p)

    def definition(self, x: Any, k: Any, b: Any = 0) -> sp.ImmutableMatrix:
        """Z with every entry written out: sum_uv X_(s i + u - P, s j + v - P) K_uv + b."""
        f, s, p = self.kernel, self.stride, self.padding
        rows, cols = self.out_shape(x.shape)

        def z(i: int, j: int) -> Any:
            terms = [
                _entry(x, s * i + u - p, s * j + v - p) * k[u, v]
                for u in range(f)
                for v in range(f)
            ]
            return sp.Add(*terms) + b

        return sp.ImmutableMatrix(rows, cols, lambda i, j: z(i, j))

    def forward(self, x: np.ndarray, k: np.ndarray, b: float = 0.0) -> np.ndarray:
        """The NumPy oracle: the kernel slid over the zero-padded input."""
        f, s, p = self.kernel, self.stride, self.padding
        xp = np.pad(np.asarray(x, dtype=float), p)
        b = float(np.asarray(b, dtype=float).reshape(-1)[0])
        rows, cols = self.out_shape(np.asarray(x).shape)
        out = np.empty((rows, cols))
        for i in range(rows):
            for j in range(cols):
                out[i, j] = float((xp[s * i : s * i + f, s * j : s * j + f] * k).sum()) + b
        return out

    # ------------------------------------------------------------------ backward
    def kernel_gradient(self, x: Any, delta: Any) -> sp.ImmutableMatrix:
        """dE/dK_uv = sum_ij delta_ij X_(s i + u - P, s j + v - P): X correlated with delta."""
        f, s, p = self.kernel, self.stride, self.padding
        rows, cols = delta.shape

        def g(u: int, v: int) -> Any:
            return sp.Add(
                *[
                    delta[i, j] * _entry(x, s * i + u - p, s * j + v - p)
                    for i in range(rows)
                    for j in range(cols)
                ]
            )

        return sp.ImmutableMatrix(f, f, lambda u, v: g(u, v))

    @staticmethod
    def bias_gradient(delta: Any) -> Any:
        """dE/db = sum_ij delta_ij."""
        rows, cols = delta.shape
        return sp.Add(*[delta[i, j] for i in range(rows) for j in range(cols)])

    def rot180(self, k: Any) -> sp.ImmutableMatrix:
        """The kernel rotated by 180 degrees: rot180(K)_uv = K_(F-1-u, F-1-v) (0-based)."""
        f = self.kernel
        return sp.ImmutableMatrix(f, f, lambda u, v: k[f - 1 - u, f - 1 - v])

    def padded(self, delta: Any) -> sp.ImmutableMatrix:
        """delta with F - 1 rows and columns of zeros on every side."""
        f = self.kernel
        rows, cols = delta.shape
        return sp.ImmutableMatrix(
            rows + 2 * (f - 1), cols + 2 * (f - 1), lambda i, j: _entry(delta, i - f + 1, j - f + 1)
        )

    def input_gradient(self, padded: Any, flipped: Any, shape: tuple[int, int]) -> Any:
        """dE/dX as a full convolution (stride 1, no padding): the padded delta correlated
        with the flipped kernel, entry (r, s) = sum_uv padded_(r+u, s+v) flipped_uv."""
        if self.stride != 1 or self.padding != 0:
            raise ValueError("the full-convolution form is written for stride 1, no padding")
        f = self.kernel

        def g(r: int, c: int) -> Any:
            return sp.Add(
                *[padded[r + u, c + v] * flipped[u, v] for u in range(f) for v in range(f)]
            )

        return sp.ImmutableMatrix(*shape, lambda r, c: g(r, c))

    def np_backward(
        self, x: np.ndarray, k: np.ndarray, delta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """The NumPy oracle of the backward pass: (dE/dX, dE/dK, dE/db), each upstream
        entry's contribution scattered back over its window."""
        f, s, p = self.kernel, self.stride, self.padding
        x = np.asarray(x, dtype=float)
        xp = np.pad(x, p)
        dxp, dk = np.zeros_like(xp), np.zeros((f, f))
        for i, j in itertools.product(*(range(n) for n in delta.shape)):
            dk += delta[i, j] * xp[s * i : s * i + f, s * j : s * j + f]
            dxp[s * i : s * i + f, s * j : s * j + f] += delta[i, j] * k
        dx = dxp[p : p + x.shape[0], p : p + x.shape[1]]
        return dx, dk, float(delta.sum())


# ---------------------------------------------------------------------- pooling


def _windows(shape: tuple[int, int], size: int, stride: int) -> list[list[tuple[int, int]]]:
    rows, cols = output_size(shape[0], size, stride), output_size(shape[1], size, stride)
    return [
        [(stride * i + u, stride * j + v) for u in range(size) for v in range(size)]
        for i in range(rows)
        for j in range(cols)
    ]


def max_pool(a: Any, size: int, stride: int | None = None) -> Any:
    """Each window's maximum (SymPy ``Max``); one window gives a scalar."""
    stride = stride or size
    shape = output_size(a.shape[0], size, stride), output_size(a.shape[1], size, stride)
    maxima = [sp.Max(*[a[i, j] for i, j in w]) for w in _windows(a.shape, size, stride)]
    return maxima[0] if len(maxima) == 1 else sp.ImmutableMatrix(*shape, maxima)


def avg_pool(a: Any, size: int, stride: int | None = None) -> Any:
    """Each window's mean; one window gives a scalar."""
    stride = stride or size
    shape = output_size(a.shape[0], size, stride), output_size(a.shape[1], size, stride)
    means = [sp.Add(*[a[i, j] for i, j in w]) / size**2 for w in _windows(a.shape, size, stride)]
    return means[0] if len(means) == 1 else sp.ImmutableMatrix(*shape, means)


def np_max_pool(a: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    stride = stride or size
    a = np.asarray(a, dtype=float)
    vals = [max(a[i, j] for i, j in w) for w in _windows(a.shape, size, stride)]
    return np.array(vals).reshape(output_size(a.shape[0], size, stride), -1)


def np_pool_backward(
    a: np.ndarray, g: np.ndarray, size: int, kind: str = "max", stride: int | None = None
) -> np.ndarray:
    """dE/dA from dE/d(pooled): max sends each window's gradient to its argmax (a tie is
    refused), average spreads it evenly over the window."""
    stride = stride or size
    a, out = np.asarray(a, dtype=float), np.zeros(np.shape(a))
    for w, gw in zip(_windows(a.shape, size, stride), np.ravel(g), strict=True):
        if kind == "avg":
            for i, j in w:
                out[i, j] += gw / size**2
            continue
        best = max(a[i, j] for i, j in w)
        winners = [(i, j) for i, j in w if a[i, j] == best]
        if len(winners) > 1:
            raise ValueError(f"a tie in the window at {w[0]}: the gradient has no single place")
        out[winners[0]] += gw
    return out


def ties(a: np.ndarray, size: int, stride: int | None = None, tol: float = 1e-9) -> list[str]:
    """The windows (1-based, by their first entry) whose maximum is not unique."""
    stride = stride or size
    a = np.asarray(a, dtype=float)
    found = []
    for w in _windows(a.shape, size, stride):
        vals = sorted((a[i, j] for i, j in w), reverse=True)
        if len(vals) > 1 and vals[0] - vals[1] <= tol:
            found.append(f"the window at ({w[0][0] + 1}, {w[0][1] + 1}) has a tie for its maximum")
    return found


__all__ = [
    "OUTPUT_SIZE",
    "PARAMETERS",
    "Conv2d",
    "avg_pool",
    "backward_text",
    "facts_check",
    "field_facts",
    "fragments",
    "index_definition",
    "layer_facts",
    "local",
    "max_pool",
    "np_max_pool",
    "np_pool_backward",
    "output_size",
    "parameter_count",
    "receptive_field",
    "ties",
]


# ---------------------------------------------------------------------- fragments


def local(
    layer: Conv2d, x: Any, k: Any, b: Any, delta: Any, padded: Any = None, flipped: Any = None
) -> Any:
    """The instance a convolution's backward rules are proved at: Z = the layer's output
    and E = sum_ij delta_ij Z_ij, so that dE/dZ = delta whatever comes after Z (and the
    padded delta and flipped kernel, when given, defined as such)."""
    z = sp.MatrixSymbol("Z", *layer.out_shape(x.shape))
    e = sp.Symbol("E")
    rows, cols = z.shape
    defs: dict[Any, Any] = {z: layer.definition(x, k, b)}
    defs[e] = sp.Add(*[delta[i, j] * z[i, j] for i in range(rows) for j in range(cols)])
    if padded is not None:
        defs[padded] = layer.padded(delta)
    if flipped is not None:
        defs[flipped] = layer.rot180(k)
    label = f"a {x.shape[0]}x{x.shape[1]} input, a {layer.kernel}x{layer.kernel} kernel"
    return Instance(defs=defs, label=label)


def _local_oracle(layer: Conv2d) -> Any:
    def oracle(v: Any) -> dict[str, Any]:
        z = layer.forward(v["X"], v["K"], v["b"])
        return {"Z": z, "E": float((np.asarray(v["delta"], dtype=float) * z).sum())}

    return oracle


@functools.cache
def fragments(kernel: int = 3, rows: int = 4, cols: int = 5) -> tuple[Fragment, Fragment, Fragment]:
    """The backward rules of a `kernel` x `kernel` convolution (stride 1, no padding), each
    proved entry by entry at a `rows` x `cols` input (all sizes differ): dE/dK (X
    correlated with delta), dE/db (the sum of delta) and dE/dX (the chain rule entry by
    entry, then the full convolution of the padded delta with rot180(K))."""
    layer = Conv2d(kernel)
    x, k = sp.MatrixSymbol("X", rows, cols), sp.MatrixSymbol("K", kernel, kernel)
    b = sp.Symbol("b")
    out = layer.out_shape((rows, cols))
    delta = sp.MatrixSymbol("delta", *out)
    padded = sp.MatrixSymbol(r"\bar{\delta}", out[0] + 2 * (kernel - 1), out[1] + 2 * (kernel - 1))
    flipped = sp.MatrixSymbol(r"\tilde{K}", kernel, kernel)
    inst = local(layer, x, k, b, delta, padded, flipped)
    e = sp.Symbol("E")
    oracle = _local_oracle(layer)
    roles = {"X": x, "K": k, "b": b, "delta": delta, "E": e}

    def entrywise_x(r: int, c: int) -> Any:
        return sp.Add(
            *[
                delta[i, j] * k[r - i, c - j]
                for i in range(out[0])
                for j in range(out[1])
                if 0 <= r - i < kernel and 0 <= c - j < kernel
            ]
        )

    def make(name: str, lhs: Any, steps: list[tuple[Any, str]]) -> Fragment:
        d = Derivation(lhs, tuple(Step(s, text(r)) for s, r in steps), (inst,), oracle=oracle)
        return Fragment(name, d, roles)

    kernel_rule = make(
        "the convolution's kernel gradient",
        D(e, k),
        [(layer.kernel_gradient(x, delta), "Z_ij holds K_uv X_(i+u, j+v) once")],
    )
    bias_rule = make(
        "the convolution's bias gradient",
        D(e, b),
        [(layer.bias_gradient(delta), "b is added to every Z_ij")],
    )
    input_rule = make(
        "the convolution's input gradient",
        D(e, x),
        [
            (
                sp.ImmutableMatrix(rows, cols, lambda r, c: entrywise_x(r, c)),
                "X_rs is in Z_ij with the weight K_(r-i, s-j)",
            ),
            (
                layer.input_gradient(padded, flipped, (rows, cols)),
                "a full convolution: delta padded by F - 1 zeros, correlated with rot180(K)",
            ),
        ],
    )
    return kernel_rule, bias_rule, input_rule


# ---------------------------------------------------------------------- facts as worked numbers

SIZE, COUNT, FIELD = sp.symbols("O n_{params} r")
F1, F2, S1 = sp.symbols("F_1 F_2 S_1", integer=True, positive=True)
#: two stacked layers' receptive field, as the key prints it
FIELD_OF_TWO = 1 + (F1 - 1) + (F2 - 1) * S1
_LAYER_FACTS = Instance(defs={SIZE: OUTPUT_SIZE, COUNT: PARAMETERS}, label="a layer's sizes")
_FIELD = Instance(defs={FIELD: FIELD_OF_TWO}, label="two stacked layers")


def _counted(v: Any) -> dict[str, float]:
    """The oracle of `layer_facts`: windows counted by sliding, parameters by NumPy arrays."""
    names = ("N", "F", "S", P_.name, "C_in", "C_out")
    n, f, s, p, c_in, c_out = (int(v[k]) for k in names)
    arrays = [np.zeros((c_out, c_in, f, f)), np.zeros(c_out)]
    return {"O": float(_positions(n, f, s, p)), "n_{params}": float(sum(a.size for a in arrays))}


def _probed(v: Any) -> dict[str, float]:
    layers = [(int(v["F_1"]), int(v["S_1"])), (int(v["F_2"]), 1)]
    return {"r": float(_probed_field(layers))}


def layer_facts(name: str, **numbers: Any) -> Any:
    """A layer's output size O and parameter count from its numbers (N, F, S, P, C_in,
    C_out: given numbers, printed by the key; the padding P prints as P_{pad}), each
    checked against a brute-force count; ``ex[conv.SIZE]``, ``ex[conv.COUNT]``."""
    symbols = {"N": N_, "F": F_, "S": S_, "P": P_, "C_in": C_IN, "C_out": C_OUT}
    at = {symbols[k]: v for k, v in numbers.items()}
    return worked.example(name, _LAYER_FACTS, at, [SIZE, COUNT], oracle=_counted)


def field_facts(name: str, **numbers: Any) -> Any:
    """The receptive field r of two stacked layers (F_1, S_1, F_2), checked against the
    input positions an output reads; ``ex[conv.FIELD]``."""
    at = {{"F_1": F1, "F_2": F2, "S_1": S1}[k]: v for k, v in numbers.items()}
    return worked.example(name, _FIELD, at, [FIELD], oracle=_probed)


# ---------------------------------------------------------------------- the key's text


def _ix(name: str) -> sp.IndexedBase:
    return sp.IndexedBase(name)


I_, J_, U_, V_, R_, C_ = sp.symbols("i j u v r s")


def index_definition(z: Any, x: Any, k: Any, b: Any) -> Any:
    """``Z_ij = sum_uv X_(i+u-1, j+v-1) K_uv + b`` (1-based), declared: the matrix
    definition the verifier uses writes every entry out."""
    f = k.shape[0]
    zi, xi, ki = _ix(z.name), _ix(x.name), _ix(k.name)
    rhs = sp.Sum(xi[I_ + U_ - 1, J_ + V_ - 1] * ki[U_, V_], (U_, 1, f), (V_, 1, f)) + b
    return relations.definition(zi[I_, J_], rhs)


def backward_text(z: Any, x: Any, k: Any, b: Any, e: Any) -> tuple[Any, Any, Any]:
    """(delta's notation, the three rules in index form with their reasons, the words on
    cross-correlation): what a key says of `fragments`, in the exercise's symbols."""
    f, (rows, cols) = k.shape[0], z.shape
    zi, xi, ki, di, pi = (_ix(n) for n in (z.name, x.name, k.name, r"\delta", r"\bar{\delta}"))

    def over_ij(term: Any) -> Any:
        return sp.Sum(term, (I_, 1, rows), (J_, 1, cols))

    window = xi[I_ + U_ - 1, J_ + V_ - 1]
    full = sp.Sum(pi[R_ + U_ - 1, C_ + V_ - 1] * ki[f + 1 - U_, f + 1 - V_], (U_, 1, f), (V_, 1, f))
    rules = [
        relations.notation(D(e, ki[U_, V_]), over_ij(di[I_, J_] * window)),
        relations.notation(D(e, b), over_ij(di[I_, J_])),
        relations.notation(D(e, xi[R_, C_]), full),
    ]
    delta = relations.notation(di[I_, J_], D(e, zi[I_, J_]))
    words = (
        "{} holds {} once, so {}; {} is in every {}, so {}; {} is in {} with weight {}, so "
        "{}: a full convolution, {} padded by {} " + plural(f - 1, "zero") + " on every side "
        "(written {}) correlated with the kernel rotated by half a turn (flipped in both "
        "directions)."
    )
    fact = say(
        words,
        zi[I_, J_],
        ki[U_, V_] * window,
        rules[0],
        b,
        zi[I_, J_],
        rules[1],
        xi[R_, C_],
        zi[I_, J_],
        ki[R_ - I_ + 1, C_ - J_ + 1],
        rules[2],
        sp.Symbol(r"\delta"),
        f - 1,
        pi,
    )
    remark = say(
        "The convolution is a cross-correlation, as frameworks compute it: the kernel is not "
        "flipped in the forward pass, only in the input gradient. Each rule was proved entry "
        "by entry at a 4x5 input."
    )
    return delta, fact, remark
