"""Batch and layer normalisation of one feature over m values, in the course's notation.

Batch normalisation (training mode) takes one feature's values over a mini-batch,
``x = (x_1, ..., x_m)``, to ``y = gamma z + beta`` with ``z = (x - mu) / s`` (the
standardised values, often written x-hat),
``mu`` the mean, ``sigma2`` the (biased) variance and ``s = sqrt(sigma2 + epsilon)``.
Layer normalisation is the same computation over the features of one sample (m is
then the number of features), so its backward pass is the same too.

`Normalisation(m)` gives, in SymPy symbols named for the key (``x``, ``g``, ``z``,
``y``, ``mu``, ``sigma2``, ``s``, ``gamma``, ``beta``, ``epsilon``, ``E``):

* `instance(M)`: the definitions at M values, every entry written out, with the loss
  ``E = g^T y`` (g is any upstream gradient dE/dy), for derivations and worked numbers;
* `oracle`: NumPy forward (and E), written apart from the definitions;
* `compact`: the backward pass in compact form, ``dE/dx = gamma / s (g - mu_g 1 - mu_gz
  z)`` (as a row, transposed; ``mu_g`` the mean of g, ``mu_gz`` that of ``g_i z_i``), and
  `expanded`, the chain rule through z, mu and sigma2 before simplifying (the three
  paths; mu's path through sigma2 vanishes as the centred values sum to 0);
  ``dE/dgamma = g^T z`` and ``dE/dbeta = 1^T g``;
* `running`: the running statistics a framework keeps for test time
  (``mu_run <- rho mu_run + (1 - rho) mu`` and the same for sigma2) and the test-time
  output of a value with them (`RUNNING`, its instance and `running_oracle`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from ..mathfns import D, T, mm
from ..model import Instance
from ..relations import definition
from .fragments import Fragment
from .writing import derive, say

NOTATION = {
    "mu_g": r"\mu_g",
    "mu_gz": r"\mu_{gz}",
    "sigma2": r"\sigma^2",
    "mu_run": r"\bar{\mu}",
    "sigma2_run": r"\bar{\sigma}^2",
    "mu_new": r"\bar{\mu}'",
    "sigma2_new": r"\bar{\sigma}^{2\prime}",
    "y_test": r"y_{\mathrm{test}}",
    "x_test": r"x_{\mathrm{test}}",
}


def _f(v: Any) -> float:
    """A scalar given as a number or a one-entry array."""
    return float(np.asarray(v, dtype=float).reshape(-1)[0])


class Normalisation:
    """One feature normalised over `m` values (see the module's docstring)."""

    def __init__(self, size: Any = None) -> None:
        self.m = size if size is not None else sp.Symbol("m", integer=True, positive=True)
        m = self.m
        self.x, self.g, self.z, self.y = (sp.MatrixSymbol(n, m, 1) for n in ("x", "g", "z", "y"))
        self.mu, self.sigma2, self.s = sp.symbols("mu sigma2 s")
        self.gamma, self.beta, self.epsilon, self.E = sp.symbols("gamma beta epsilon E")
        #: the means of the upstream gradient and of its products with z
        self.mu_g, self.mu_gz = sp.symbols("mu_g mu_gz")
        self.ones = sp.OneMatrix(m, 1)

    def definitions(self, size: int) -> dict[Any, Any]:
        """The forward pass at `size` values, entry by entry, and E = g^T y."""
        xs = [self.x[i, 0] for i in range(size)]
        mu, s = self.mu, self.s
        return {
            mu: sp.Add(*xs) / size,
            self.sigma2: sp.Add(*[(v - mu) ** 2 for v in xs]) / size,
            s: sp.sqrt(self.sigma2 + self.epsilon),
            self.z: sp.ImmutableMatrix(size, 1, [(v - mu) / s for v in xs]),
            self.y: sp.MatAdd(self.gamma * self.z, self.beta * self.ones),
            self.E: sp.Add(*[self.g[i, 0] * self.y[i, 0] for i in range(size)]),
            self.mu_g: sp.Add(*[self.g[i, 0] for i in range(size)]) / size,
            self.mu_gz: sp.Add(*[self.g[i, 0] * self.z[i, 0] for i in range(size)]) / size,
        }

    def instance(self, size: int) -> Instance:
        sizes = {self.m: size} if isinstance(self.m, sp.Symbol) else {}
        domain = {"epsilon": (0.01, 1.0)}
        return Instance(
            sizes=sizes, defs=self.definitions(size), domain=domain, label=f"m = {size}"
        )

    @staticmethod
    def oracle(v: Mapping[str, Any]) -> dict[str, Any]:
        """NumPy: every stage by name (a stage given by name overrides its computation);
        without the upstream gradient g, the forward pass alone."""
        x = np.asarray(v["x"], dtype=float).reshape(-1, 1)
        mu = _f(v["mu"]) if "mu" in v else float(x.mean())
        var = _f(v["sigma2"]) if "sigma2" in v else float(((x - x.mean()) ** 2).mean())
        s = _f(v["s"]) if "s" in v else float(np.sqrt(var + _f(v["epsilon"])))
        z = np.asarray(v["z"], dtype=float).reshape(-1, 1) if "z" in v else (x - mu) / s
        y = _f(v["gamma"]) * z + _f(v["beta"])
        if "y" in v:
            y = np.asarray(v["y"], dtype=float).reshape(-1, 1)
        out = {"mu": mu, "sigma2": var, "s": s, "z": z, "y": y}
        if "g" not in v:  # the forward pass alone
            return out
        g = np.asarray(v["g"], dtype=float).reshape(-1, 1)
        out["mu_g"] = float(g.mean())
        return {**out, "mu_gz": float((g * z).mean()), "E": float((g * y).sum())}

    # ------------------------------------------------------------------ backward
    def expanded(self) -> Any:
        """dE/dx through z (directly), mu and sigma2, as a row, before simplifying."""
        g, z, ones, k = self.g, self.z, self.ones, self.gamma / self.s
        return T(sp.MatAdd(k * g, -k * self.mu_g * ones, -k * self.mu_gz * z))

    def compact(self) -> Any:
        """dE/dx = (gamma / s (g - mu_g 1 - mu_gz z))^T."""
        inner = sp.MatAdd(self.g, -self.mu_g * self.ones, -self.mu_gz * self.z)
        return T((self.gamma / self.s) * inner)

    def by_gamma(self) -> Any:
        return mm(T(self.g), self.z)

    def by_beta(self) -> Any:
        return mm(T(self.ones), self.g)

    def derivations(self, instances: Any, oracle: Any = None) -> list[Any]:
        """dE/dx (the three paths, then the compact form), dE/dgamma and dE/dbeta, verified
        at `instances` against finite differences of `oracle` (default: `self.oracle`)."""
        oracle = oracle or self.oracle
        paths = [
            (
                self.expanded(),
                say("chain rule: through {}, {} and {}", self.z, self.mu, self.sigma2),
            )
        ]
        scale = self.gamma / self.s
        return [
            derive(
                D(self.E, self.x),
                [*paths, (self.compact(), say("{} taken out", scale))],
                instances,
                oracle,
            ),
            derive(
                D(self.E, self.gamma),
                [
                    (
                        self.by_gamma(),
                        say(
                            "{}",
                            definition(
                                self.y, sp.MatAdd(self.gamma * self.z, self.beta * self.ones)
                            ),
                        ),
                    )
                ],
                instances,
                oracle,
            ),
            derive(
                D(self.E, self.beta),
                [(self.by_beta(), say("{} is added to every entry of {}", self.beta, self.y))],
                instances,
                oracle,
            ),
        ]

    def statements(self) -> list[Any]:
        """The forward pass as the key states it, index form (declared definitions)."""
        i, xi = sp.Symbol("i"), sp.IndexedBase("x")
        m, mu, ones = self.m, self.mu, self.ones
        stats = [
            (mu, sp.Sum(xi[i], (i, 1, m)) / m),
            (self.sigma2, sp.Sum((xi[i] - mu) ** 2, (i, 1, m)) / m),
        ]
        stats += [
            (self.s, sp.sqrt(self.sigma2 + self.epsilon)),
            (self.z, (self.x - mu * ones) / self.s),
        ]
        stats += [(self.y, self.gamma * self.z + self.beta * ones)]
        return [definition(*d) for d in stats]

    def means(self) -> list[Any]:
        """mu_g and mu_gz as the key states them (declared definitions)."""
        i, gi, zi = sp.Symbol("i"), sp.IndexedBase("g"), sp.IndexedBase("z")
        m = self.m
        return [
            definition(self.mu_g, sp.Sum(gi[i], (i, 1, m)) / m),
            definition(self.mu_gz, sp.Sum(gi[i] * zi[i], (i, 1, m)) / m),
        ]

    def symbols(self) -> dict[str, Any]:
        """Every input by its name (for a term's numbers)."""
        names = {"x": self.x, "g": self.g, "gamma": self.gamma, "beta": self.beta}
        names |= {"epsilon": self.epsilon, "rho": RHO, "mu_run": MU_RUN, "sigma2_run": VAR_RUN}
        return {**names, "x_test": X_TEST}

    @staticmethod
    def np_backward(x: np.ndarray, g: np.ndarray, gamma: float, eps: float) -> np.ndarray:
        """The NumPy backward pass through the graph, stage by stage (not the compact form)."""
        x, g = np.asarray(x, dtype=float).ravel(), np.asarray(g, dtype=float).ravel()
        m, mu = x.size, x.mean()
        var = ((x - mu) ** 2).mean()
        s = np.sqrt(var + eps)
        dxhat = gamma * g
        dvar = float((dxhat * (x - mu)).sum()) * -0.5 * s**-3
        dmu = float(-dxhat.sum() / s) + dvar * float(-2 * (x - mu).mean())
        return dxhat / s + dvar * 2 * (x - mu) / m + dmu / m


# ---------------------------------------------------------------------- running statistics

MU_RUN, VAR_RUN, RHO, MU_NEW, VAR_NEW = sp.symbols("mu_run sigma2_run rho mu_new sigma2_new")
X_TEST, Y_TEST = sp.symbols("x_test y_test")


def running(norm: Normalisation, size: int) -> Instance:
    """The batch's statistics folded into the running ones, and the test-time output of
    x_test with the updated running statistics (no batch statistics at test time)."""
    defs = {
        **{k: v for k, v in norm.definitions(size).items() if k in (norm.mu, norm.sigma2)},
        MU_NEW: RHO * MU_RUN + (1 - RHO) * norm.mu,
        VAR_NEW: RHO * VAR_RUN + (1 - RHO) * norm.sigma2,
        Y_TEST: norm.gamma * (X_TEST - MU_NEW) / sp.sqrt(VAR_NEW + norm.epsilon) + norm.beta,
    }
    sizes = {norm.m: size} if isinstance(norm.m, sp.Symbol) else {}
    return Instance(sizes=sizes, defs=defs, label="running statistics")


def running_oracle(v: Mapping[str, Any]) -> dict[str, float]:
    x = np.asarray(v["x"], dtype=float).ravel()
    rho = _f(v["rho"])
    mu_new = rho * _f(v["mu_run"]) + (1 - rho) * x.mean()
    var_new = rho * _f(v["sigma2_run"]) + (1 - rho) * x.var()
    scale = _f(v["gamma"]) / np.sqrt(var_new + _f(v["epsilon"]))
    y = scale * (_f(v["x_test"]) - mu_new) + _f(v["beta"])
    return {"mu": x.mean(), "sigma2": x.var(), "mu_new": mu_new, "sigma2_new": var_new, "y_test": y}


@functools.cache
def fragments() -> tuple[Fragment, Fragment, Fragment]:
    """The backward rules as citable fragments, each verified at m = 3 and 4 (through z, mu
    and sigma2, then compact): dE/dx = (gamma/s (g - mu_g 1 - mu_gz z))^T, dE/dgamma =
    g^T z, dE/dbeta = 1^T g; roles x, g, z, y, gamma, beta, s, E."""
    bn = Normalisation()
    roles = {"x": bn.x, "g": bn.g, "z": bn.z, "y": bn.y, "gamma": bn.gamma, "beta": bn.beta}
    roles |= {"s": bn.s, "E": bn.E}
    names = (
        "batch norm's input gradient in compact form",
        "batch norm's gamma gradient",
        "batch norm's beta gradient",
    )
    ds = bn.derivations([bn.instance(3), bn.instance(4)])
    made = [Fragment(n, d, roles) for n, d in zip(names, ds, strict=True)]
    return made[0], made[1], made[2]


__all__ = ["NOTATION", "Normalisation", "fragments", "running", "running_oracle"]
