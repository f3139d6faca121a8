"""A network on a mini-batch, and a loss with an L2 weight penalty, from the same description.

``BATCH = NET.batch(m)`` is the network on m samples at once: one column per
sample (``X`` holds the inputs x, ``Y1`` the hidden outputs y1, ``T`` the targets),
the loss the mean of the per-sample losses. ``NET.l2(lam)`` (or ``BATCH.l2(lam)``)
is the loss plus ``lam/2 (||W1||^2 + ||W2||^2 + ...)`` over every weight matrix
(biases are not penalised), named ``E_reg`` unless told otherwise. Each gives, like
the network, `instance` (the verifier's definitions), `oracle` (written apart from
them, in NumPy: the mean of the network's oracle over the columns; the network's
oracle plus the penalty), `definitions`, ``[name]`` and `notation`.

A batch matrix is named after its stage, upper case, with a ``b`` (batch): ``Xb``,
``Z1b``, ``Y1b``, ``Tb`` (printed X, Z^{(1)}, Y^{(1)}, T; the suffix keeps them apart
from the one-sample symbols and from the transpose ``T``); ``BATCH["y1"]`` is ``Y1b``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..instantiate import entry_symbol
from ..mathfns import mm, sqnorm
from ..model import Instance
from .instances import Instantiable

#: the penalty's rate is drawn from here in the numeric checks (it is positive)
RATE_DOMAIN = (0.01, 1.0)


def _batch_name(name: str) -> str:
    return name[0].upper() + name[1:] + "b"


def _batch_latex(latex: str) -> str:
    return latex[0].upper() + latex[1:]


@dataclass
class Batch(Instantiable):
    """The network on `samples` samples (a dimension symbol such as ``m``), one per column."""

    net: Any  # a kit.Network (which imports this module: named here by what it provides)
    samples: Any
    symbols: dict[str, Any] = field(init=False)
    notation: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        net, m = self.net, self.samples
        stages = ["x", *(s.name for s in net.stages[:-1]), "t"]
        course = {name: net[name].name for name in stages}  # the names the course uses
        self.symbols = {
            name: sp.MatrixSymbol(_batch_name(course[name]), net[name].shape[0], m)
            for name in stages
        }
        self.notation = {
            _batch_name(course[name]): _batch_latex(net.notation.get(name, course[name]))
            for name in stages
        }
        ones = sp.OneMatrix(1, m)
        replace: dict[Any, Any] = {net[name]: b for name, b in self.symbols.items()}
        replace.update({b: mm(b, ones) for b in net.biases})
        self._definitions = {
            self.symbols[s.name]: s.definition.xreplace(replace) for s in net.stages[:-1]
        }
        self._definitions[net["E"]] = self._loss()

    def _loss(self) -> Any:
        """The mean over the columns of the network's loss, written with matrices."""
        Y, Tb = self.symbols[self.net.stages[-2].name], self.symbols["t"]
        return self.net.loss.batch_definition(Y, Tb, self.samples)

    def __getitem__(self, name: str) -> Any:
        """A batch matrix by its stage's name (``"y1"``: Y1b); parameters and E as the network's."""
        if name in self.symbols:
            return self.symbols[name]
        kit = self.net.kit_name(name)
        return self.symbols[kit] if kit in self.symbols else self.net[name]

    @property
    def weights(self) -> list[Any]:
        return self.net.weights

    def definitions(self, leaf: str | None = None) -> dict[Any, Any]:
        """Every batch stage's definition; with `leaf` (a one-sample stage name), those after."""
        names = [s.name for s in self.net.stages]
        start = names.index(self.net.kit_name(leaf)) + 1 if leaf is not None else 0
        keep = {self[n] for n in names[start:]}
        return {s: d for s, d in self._definitions.items() if s in keep}

    def target_assumptions(self, sizes: Mapping[Any, int]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The loss's assumptions on every column of the targets: (given, domain)."""
        name = self.symbols["t"].name
        rows, cols = (int(sp.sympify(d).xreplace(dict(sizes))) for d in self.symbols["t"].shape)
        columns = [[entry_symbol(name, r, c, cols).name for r in range(rows)] for c in range(cols)]
        return self.net.loss.target(columns, name)  # type: ignore[no-any-return]

    def oracle(self, v: Mapping[str, Any]) -> float:
        """The mean loss in NumPy: the network's oracle on each column, averaged."""
        single = {b.name: name for name, b in self.symbols.items()}
        batch = {k: np.asarray(a, dtype=float) for k, a in v.items() if k in single}
        count = next(iter(batch.values())).shape[1]
        rest = {k: a for k, a in v.items() if k not in single}
        columns = ({single[k]: a[:, [c]] for k, a in batch.items()} for c in range(count))
        return float(np.mean([self.net.oracle({**rest, **col}) for col in columns]))

    def l2(self, rate: Any, name: str = "E_reg") -> Penalised:
        """The mean loss plus the L2 penalty (see `Penalised`)."""
        return Penalised(self, rate, name)


@dataclass
class Penalised:
    """`base`'s loss E plus ``rate/2`` times the squared norms of its weight matrices:
    ``E_reg = E + rate/2 (||W1||^2 + ...)``, with `rate` a SymPy symbol (lambda)."""

    base: Any  # a Network or a Batch
    rate: Any
    name: str = "E_reg"
    symbol: Any = field(init=False)

    def __post_init__(self) -> None:
        self.symbol = sp.Symbol(self.name)
        weights = self.base.weights
        # one symbol per squared norm, so the instance evaluates each norm once
        self._norms = {sp.Symbol(f"sqnorm_{w.name}"): sqnorm(w) for w in weights}
        loss = self.base["E"] + self.rate / 2 * sp.Add(*self._norms)
        self._definitions = {**self._norms, self.symbol: loss}

    @property
    def penalty(self) -> Any:
        """``rate/2 (||W1||^2 + ||W2||^2 + ...)`` as written, for the text."""
        return (self.rate / 2) * sp.MatAdd(*(sqnorm(w) for w in self.base.weights))

    def __getitem__(self, name: str) -> Any:
        return self.symbol if name == self.name else self.base[name]

    def definitions(self, leaf: str | None = None) -> dict[Any, Any]:
        return {**self.base.definitions(leaf), **self._definitions}

    def instance(
        self,
        sizes: Mapping[Any, int],
        leaf: str | None = None,
        label: str = "",
        prove: bool = True,
        extra: Mapping[Any, Any] | None = None,
        domain: Mapping[str, tuple[float, float]] | None = None,
    ) -> Instance:
        """The base's instance with the penalty's definitions; the rate drawn from
        `RATE_DOMAIN` unless `domain` says otherwise."""
        return self.base.instance(
            sizes,
            leaf,
            label,
            prove,
            extra={**self._definitions, **dict(extra or {})},
            domain={str(self.rate): RATE_DOMAIN, **dict(domain or {})},
        )

    def oracle(self, v: Mapping[str, Any]) -> float:
        """The base's oracle plus the penalty, in NumPy (`v` names the rate too)."""
        rate = float(np.asarray(v[str(self.rate)], dtype=float).item())
        norms = sum(float((np.asarray(v[w.name], dtype=float) ** 2).sum()) for w in self.weights)
        return float(self.base.oracle(v)) + 0.5 * rate * norms

    @property
    def weights(self) -> list[Any]:
        return list(self.base.weights)
