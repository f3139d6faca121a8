"""The multiclass hinge loss over softmax outputs, in the author's symbols.

``L = sum over j != y of max(0, p_j - p_y + m)`` with ``p = softmax(o)`` and the true
class y given by a one-hot e. `HingeOverSoftmax(o, p, e, m, L, g, h)` gives

* `instance(size)`: the loss as definitions (p, the gaps ``g = p - p_y 1 + m 1``, the
  terms ``h = (1 - e) ⊙ relu(g)``, L) for worked numbers, with `oracle`, the same in
  plain NumPy loops (no log-sum-exp), and `example`: a verified worked example;
* `active(a, n, y, cases)`: instances where a given set of terms is active (``a_j`` 1
  for an active term, n of them), at which a derivation of dL/do is proved;
* `gradient(a, n, indices, cases)`: dL/do derived in vector form (chain rule through
  softmax, the active terms, the softmax Jacobian), proved at `active` instances, and
  `componentwise(a, indices)`: the same as a sum over classes for one dL/do_k;
* `answer_checks(where, answer, vector_form, ...)`: a componentwise answer
  (``dL/do_k`` with indexed p and a) proved equal to the derivation's vector form at
  several K and every true class, and compared with central differences of the loss;
* `table(example, true_class, indices, caption)` and `terms(example, true_class)`: a
  worked example class by class, and in words which terms are active.

`loss_np` and `gradient_np` are the loss and its gradient in NumPy, y 0-based, and
`term_problems` refuses a term whose true class is not among its scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .. import worked
from ..errors import VerificationError
from ..instantiate import Concrete, tree_function
from ..mathfns import D, T, diag, elementwise, softmax
from ..model import CheckRecord, Derivation, Instance, Table, Text
from ..relations import notation
from .draws import index_problem
from .writing import derive, numbered, say

FD_STEP = 1e-6
FD_TOL = 1e-6


def term_problems(numbers: Mapping[str, Any], key: str) -> list[str]:
    """A term's hinge numbers at `key` (``scores``, 1-based ``true_class``), checked across
    fields for a `validate`: the true class is one of the scores."""
    scores, true_class = numbers.get("scores", []), numbers.get("true_class", 1)
    of = "the number of scores"
    return index_problem(f"{key}.true_class", true_class, len(scores), "class", of)


def softmax_np(o: np.ndarray) -> np.ndarray:
    e = np.exp(o - np.max(o))
    return np.asarray(e / e.sum())


def loss_np(o: np.ndarray, y: int, m: float) -> float:
    """L = sum over j != y of max(0, p_j - p_y + m), y 0-based (the definition, term by term)."""
    p = softmax_np(o)
    return float(sum(max(0.0, p[j] - p[y] + m) for j in range(len(o)) if j != y))


def gradient_np(o: np.ndarray, y: int, m: float) -> np.ndarray:
    """dL/do as a vector: (a - n e_y)^T (diag(p) - p p^T), a the active terms, n their count."""
    p = softmax_np(o)
    a = np.array([1.0 if j != y and p[j] - p[y] + m > 0 else 0.0 for j in range(len(o))])
    e = np.eye(len(o))[y]
    return np.asarray((a - a.sum() * e) @ (np.diag(p) - np.outer(p, p)))


@dataclass(frozen=True)
class HingeOverSoftmax:
    """The loss's symbols: scores `o` and probabilities `p` (K x 1 matrices), the one-hot
    `e` of the true class, the margin `m`, the loss `L`, the gaps `g` and terms `h` (K x 1)."""

    o: Any
    p: Any
    e: Any
    m: Any
    L: Any
    g: Any
    h: Any

    @property
    def size(self) -> Any:
        """The number of classes, as the author's symbol (K)."""
        return self.o.shape[0]

    def instance(self, size: int) -> Instance:
        """Every definition at K = `size`: p, the gaps, the terms (the true class's left
        out) and their sum."""
        K = self.size
        ones = sp.OneMatrix(K, 1)
        return Instance(
            sizes={K: size},
            defs={
                self.p: softmax(self.o),
                self.g: self.p - ones * (self.e.T * self.p) + self.m * ones,
                self.h: sp.HadamardProduct(ones - self.e, elementwise("relu", self.g)),
                self.L: sp.OneMatrix(1, K) * self.h,
            },
            label=f"the hinge loss, {K} = {size}",
        )

    def oracle(self, v: Mapping[str, Any]) -> dict[str, Any]:
        """The loss in plain NumPy, term by term (loops, no log-sum-exp)."""
        o = np.asarray(v[self.o.name], dtype=float).reshape(-1)
        y = int(np.argmax(np.asarray(v[self.e.name]).reshape(-1)))
        m = float(v[str(self.m)])
        total = sum(np.exp(x) for x in o)
        p = np.array([np.exp(x) / total for x in o])
        g = np.array([p[j] - p[y] + m for j in range(len(o))])
        terms = np.array([g[j] if j != y and g[j] > 0 else 0.0 for j in range(len(o))])
        out = {self.p.name: p, self.g.name: g, self.h.name: terms}
        return {k: a.reshape(-1, 1) for k, a in out.items()} | {str(self.L): terms.sum()}

    def example(
        self, name: str, scores: Sequence[float], true_class: int, margin: float
    ) -> worked.Example:
        """A worked example: p, gaps, terms, loss and gradient dL/do at the given scores
        (class 1-based), checked against `oracle` and finite differences."""
        o = np.array(scores, dtype=float)
        y = int(true_class) - 1
        if not 0 <= y < len(o):
            raise ValueError(f"true class {y + 1} is not one of the {len(o)} classes")
        return worked.example(
            name,
            self.instance(len(o)),
            at={
                self.o: worked.given(o.reshape(-1, 1), f"scores {self.o}", exact=True),
                self.e: worked.given(
                    np.eye(len(o))[y].reshape(-1, 1), "e", stated_as=f"the true class {y + 1}"
                ),
                self.m: worked.given(float(margin), f"margin {self.m}", exact=True),
            },
            show=[self.p, self.g, self.h, self.L, D(self.L, self.o)],
            oracle=self.oracle,
        )

    def plain(self, ex: worked.Example, true_class: int) -> dict[str, Any]:
        """A worked example as plain data (answers.json)."""
        gaps = ex[self.g].plain()
        return {
            "p": ex[self.p].plain(),
            "gaps": gaps,
            "active": [j != true_class - 1 and g > 0 for j, g in enumerate(gaps)],
            "terms": ex[self.h].plain(),
            "loss": ex[self.L].plain(),
            "gradient": ex[D(self.L, self.o)].plain(),
        }

    @property
    def indexed(self) -> tuple[Any, Any]:
        """The scores and probabilities as indexed bases (o_j, p_j), named as the vectors."""
        return sp.IndexedBase(self.o.name), sp.IndexedBase(self.p.name)

    def gap(self, j: Any, y: Any) -> Any:
        """The term of class j before the max, ``p_j - p_y + m``."""
        _, P = self.indexed
        return P[j] - P[y] + self.m

    def table(self, ex: worked.Example, true_class: int, indices: Any, caption: Text) -> Table:
        """The worked example class by class: score, probability, gap, whether the term is
        active ("-" for the true class, whose term is left out) and the term."""
        j, _, y = indices
        scores_j, p_j = (base[j] for base in self.indexed)
        scores, active = ex.point.at[self.o].written(None), self.plain(ex, true_class)["active"]
        return Table(
            header=("class j", scores_j, p_j, self.gap(j, y), "active", "term"),
            rows=tuple(
                (
                    str(i + 1) + (" (true class)" if i + 1 == true_class else ""),
                    scores[i],
                    ex[self.p][i],
                    ex[self.g][i],
                    "-" if i + 1 == true_class else ("yes" if active[i] else "no"),
                    ex[self.h][i],
                )
                for i in range(len(active))
            ),
            caption=caption,
        )

    def terms(self, ex: worked.Example, true_class: int) -> str:
        """In words: "the terms of classes 2 and 4 are active, class 3 already trail(s) by
        the margin" (or "no term is active")."""
        active = self.plain(ex, true_class)["active"]
        on = [j + 1 for j, a in enumerate(active) if a]
        off = [j + 1 for j, a in enumerate(active) if not a and j + 1 != true_class]
        out = "no term is active"
        if on:
            are = "are" if len(on) > 1 else "is"
            out = f"the terms of {numbered('class', on, 'classes')} {are} active"
        if off:
            out += f", {numbered('class', off, 'classes')} already trail(s) by the margin"
        return out

    def componentwise(self, a: Any, indices: Any) -> Any:
        """dL/do_k for any K as a sum over the classes j, with the indicators of `a` (a_j
        1 when the term of class j is active, a_y 0): ``sum_j a_j (p_j (delta_jk - p_k) -
        p_y (delta_yk - p_k))``; `indices` are (j, k, y)."""
        j, k, y = indices
        _, P = self.indexed
        A, delta = sp.IndexedBase(a.name), sp.KroneckerDelta
        summand = A[j] * (P[j] * (delta(j, k) - P[k]) - P[y] * (delta(y, k) - P[k]))
        return sp.Sum(summand, (j, 1, self.size))

    def gradient(
        self, a: Any, n: Any, indices: Any, cases: Mapping[int, Mapping[int, Sequence[int]]]
    ) -> Derivation:
        """dL/do in vector form: the chain rule through p = softmax(o), the n active terms
        (``dL/dp = (a - n e)^T``), the softmax Jacobian; proved at `active`(cases)."""
        j, k, y = indices
        scores, P = self.indexed
        p, o, row = self.p, self.o, T(a - n * self.e)
        jacobian = notation(D(P[j], scores[k]), P[j] * (sp.KroneckerDelta(j, k) - P[k]))
        steps = [
            (D(self.L, p) * D(p, o), say("chain rule through {}", sp.Eq(p, softmax(o)))),
            (row * D(p, o), say("only the {} active terms count", n)),
            (row * (diag(p) - p * p.T), say("softmax Jacobian {}", jacobian)),
        ]
        return derive(D(self.L, o), steps, self.active(a, n, y, cases))

    def active(
        self, a: Any, n: Any, y: Any, cases: Mapping[int, Mapping[int, Sequence[int]]]
    ) -> tuple[Instance, ...]:
        """Instances with fixed active terms: `cases` maps K to {true class: the active
        classes} (1-based; give all, some and none). Each defines p and the loss as the sum
        of its active terms, and fixes the indicators `a`, the one-hot e, the count `n` and
        the true class `y` (for answers written with components such as p_y)."""
        out = []
        for size, by_class in cases.items():
            for y1, act1 in by_class.items():
                yy, act = y1 - 1, [j - 1 for j in act1]
                p = self.p
                loss = sum((p[j, 0] - p[yy, 0] + self.m for j in act), sp.Integer(0))
                given: dict[str, Any] = {f"{a.name}_{j + 1}": int(j in act) for j in range(size)}
                given |= {f"{self.e.name}_{j + 1}": int(j == yy) for j in range(size)}
                given |= {str(n): len(act), str(y): y1}
                active = ", ".join(map(str, act1)) or "none"
                out.append(
                    Instance(
                        sizes={self.size: size},
                        defs={self.p: softmax(self.o), self.L: loss},
                        given=given,
                        label=f"{self.size} = {size}, {y} = {y1}, active terms: {active}",
                    )
                )
        return tuple(out)

    def answer_checks(
        self,
        answer: Callable[[], Any],
        vector_form: Any,
        a: Any,
        n: Any,
        indexed: tuple[Any, Any],
        indices: tuple[Any, Any],
        proof_sizes: Sequence[int] = (3, 4, 5),
        oracle_sizes: Sequence[int] = (3, 4),
        where: str = "",
    ) -> list[Callable[[], list[CheckRecord]]]:
        """Two checks of a componentwise `answer` (called when checked, so a corrupted
        ``part.answer`` is seen): written with `indexed` = (P, A) (p_j and the indicators
        a_j) and `indices` = (y, k), a sum over classes up to K. It must equal the
        derivation's `vector_form` in p, `a`, the count `n` and e, component by component,
        exactly, at every K in `proof_sizes` and every true class; and match central
        differences of the loss at random scores, at `oracle_sizes`. A failure is reported at
        the part (the verifier names it) unless `where` says otherwise."""
        return [
            lambda: self._proof(where, answer(), vector_form, a, n, indexed, indices, proof_sizes),
            lambda: self._differences(where, answer(), indexed, indices, oracle_sizes),
        ]

    def _proof(
        self,
        where: str,
        answer: Any,
        vector_form: Any,
        a: Any,
        n: Any,
        indexed: tuple[Any, Any],
        indices: tuple[Any, Any],
        sizes: Sequence[int],
    ) -> list[CheckRecord]:
        P, A = indexed
        y_idx, k_idx = indices
        for size in sizes:
            c = Concrete(Instance(sizes={self.size: size}))
            row = c.lazy(vector_form)
            p_e, a_e, e_e = (c.entries(v) for v in (self.p, a, self.e))
            n_e = c.entries(n)[0, 0]
            expanded = answer.subs(self.size, size).doit()
            for y in range(size):
                sub = {p_e[j, 0]: P[j + 1] for j in range(size)}
                sub |= {a_e[j, 0]: (A[j + 1] if j != y else 0) for j in range(size)}
                sub |= {e_e[j, 0]: int(j == y) for j in range(size)}
                sub[n_e] = sum(A[j + 1] for j in range(size) if j != y)
                for kk in range(size):
                    stated = expanded.xreplace({y_idx: y + 1, k_idx: kk + 1})
                    stated = stated.xreplace({A[y + 1]: 0})
                    derived = row[0, kk].xreplace(sub)
                    if sp.expand(stated - derived) != 0:
                        raise VerificationError(
                            where,
                            f"the stated d{self.L}/d{self.o}_{kk + 1} at {self.size} = {size}, "
                            f"{y_idx} = {y + 1} is {stated}, the derivation gives "
                            f"{sp.expand(derived)}",
                        )
        return [
            CheckRecord(
                "symbolic",
                "componentwise result",
                f"equals the derivation's vector form, component by component, at {self.size} = "
                + ", ".join(map(str, sizes))
                + " and every true class",
            )
        ]

    def _differences(
        self,
        where: str,
        answer: Any,
        indexed: tuple[Any, Any],
        indices: tuple[Any, Any],
        sizes: Sequence[int],
        seed: int = 0,
        points: int = 3,
    ) -> list[CheckRecord]:
        P, A = indexed
        y_idx, k_idx = indices
        rng = np.random.default_rng([seed, 3])
        worst, count = 0.0, 0
        for size in sizes:
            expanded = answer.subs(self.size, size).doit()
            eye = np.eye(size)
            for y in range(size):
                comps = [expanded.subs({y_idx: y + 1, k_idx: kk + 1}) for kk in range(size)]
                fn = tree_function(
                    [P[i] for i in range(1, size + 1)] + [A[i] for i in range(1, size + 1)], comps
                )
                done = 0
                while done < points:
                    o = rng.normal(0.0, 1.0, size=size)
                    m = float(rng.uniform(0.05, 0.6))
                    p = softmax_np(o)
                    gaps = [p[j] - p[y] + m for j in range(size) if j != y]
                    if min(abs(g) for g in gaps) < 1e-3:
                        continue  # too close to a kink of max(0, .)
                    act = [1.0 if j != y and p[j] - p[y] + m > 0 else 0.0 for j in range(size)]
                    claimed = np.array([float(v) for v in fn(*p, *act)])
                    fd = np.array(
                        [
                            (
                                loss_np(o + FD_STEP * eye[i], y, m)
                                - loss_np(o - FD_STEP * eye[i], y, m)
                            )
                            / (2 * FD_STEP)
                            for i in range(size)
                        ]
                    )
                    err = float(np.max(np.abs(fd - claimed)))
                    if not err <= FD_TOL:
                        raise VerificationError(
                            where,
                            f"d{self.L}/d{self.o} at {self.size} = {size}, {y_idx} = {y + 1}, "
                            f"{self.o} = {np.array2string(o, precision=4)}, m = {m:.4g} is "
                            f"{np.array2string(claimed, precision=6)}, central differences "
                            f"give {np.array2string(fd, precision=6)}",
                        )
                    worst, done, count = max(worst, err), done + 1, count + 1
        return [
            CheckRecord(
                "finite-difference",
                "componentwise result",
                f"matches central differences of the hinge loss at {count} random {self.o} "
                f"({self.size} = "
                + ", ".join(map(str, sizes))
                + f", every true class, away from the kinks; error {worst:.1e})",
            )
        ]
