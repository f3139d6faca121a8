"""A chain of scalar units with arbitrary activations, and backpropagation along it.

``ScalarChain(x, [Unit(w_1, s_1, z_1, f_1, f'_1, delta_1), ...], t, L)`` is the chain
``s_1 = w_1 x``, ``z_1 = f_1(s_1)``, ``s_2 = w_2 z_1``, ... with the squared error
``L = (z_last - t)^2 / 2``: the textbook exercise that derives each weight's gradient
by the chain rule and then the backward recursion of error signals. It gives

* `defs`, `instance` (the verifier's `Instance`) and `links`, the definitions read
  from the output back, for the derivations' reasons and the prose;
* `gradient(w)`: dL/dw derived in three steps (the squared error, the chain rule
  through the links between the output and w, the derivative of each link);
* `signal(unit)`: dL/ds of a unit derived as its error signal, by the recursion;
* `local(w)`: dL/dw = (signal of the unit w feeds) x (w's input), the local rule;
  `recursion`, every signal and local rule, and `local_identity`, the local rule for a
  generic weight (``dL/dw_ij = delta_j z_i``) checked at each of the chain's weights;
* `check`: a result with concrete activations put in, against finite differences
  (`checks.activations_check`), and `part`: a part asking for dL/dw with both;
* `rule_checks`: a stated update rule in local quantities (``-theta delta_j z_i``)
  against every verified gradient, and on a branching network (`checks`), and
  `state_rule`, a part that states the rule as its answer with those checks.

The functions are `checks.arbitrary` ones: proofs hold for every f, numeric checks
use each f's stand-in. The reasons are fixed phrases, so two chains read alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sympy as sp

from ..mathfns import D, eq
from ..model import CheckRecord, Derivation, Instance, Part, Text
from ..relations import Identity, identity, notation
from . import checks
from .writing import derive, listed, say

#: the concrete activations `check` puts in by default: each alone, and mixed
ACTIVATION_SETS = (("sigmoid",), ("tanh",), ("ReLU",), ("tanh", "sigmoid", "ReLU"))


@dataclass(frozen=True)
class Unit:
    """One unit: ``s = weight * (the value before)``, ``z = f(s)``, its error signal
    `delta` (dL/ds); `fprime` is f's derivative as `checks.arbitrary` returns it."""

    weight: Any
    s: Any
    z: Any
    f: Any
    fprime: Any
    delta: Any


@dataclass(eq=False)
class ScalarChain:
    """Input `source`, `units` from the input on, `target` and the squared-error `loss`
    (the fields are the description; everything else is derived from them)."""

    source: Any
    units: Sequence[Unit]
    target: Any
    loss: Any
    label: str = "the chain"

    def __post_init__(self) -> None:
        self.units = tuple(self.units)
        source, target, loss, label = self.source, self.target, self.loss, self.label
        self.output = self.units[-1].z
        self.error = self.output - target
        defs: dict[Any, Any] = {}
        before = source
        for u in self.units:
            defs[u.s], defs[u.z], before = u.weight * before, u.f(u.s), u.z
        self.defs = {**defs, loss: sp.Rational(1, 2) * self.error**2}
        #: (lhs, rhs) of every definition but the loss's, from the output back
        self.links = [(k, v) for k, v in reversed(defs.items())]
        self.instance = Instance(defs=self.defs, label=label)
        #: the error signals as definitions: delta_last = (z - t) f'(s), then the recursion
        self.signals: dict[Any, Any] = {}
        above = None
        for u in reversed(self.units):
            own = u.fprime(u.s)
            self.signals[u.delta] = (
                self.error * own if above is None else own * above.weight * above.delta
            )
            above = u
        self.with_signals = Instance(defs={**self.defs, **self.signals}, label=label)
        #: (weight, error signal of the unit it feeds, its input), from the output back
        inputs = [source, *(u.z for u in self.units[:-1])]
        self.weights = [
            (u.weight, u.delta, z) for u, z in reversed(list(zip(self.units, inputs, strict=True)))
        ]
        u_ = sp.Symbol("u")
        self.squared = say("derivative of {} with {}", u_**2 / 2, notation(u_, self.error))

    def _path(self, weight: Any) -> list[tuple[Any, Any, Any]]:
        """The links from the output down to `weight`'s, each with the variable the
        derivative is taken by (the next link's lhs, or the weight at the last)."""
        if weight not in [u.weight for u in self.units]:
            raise ValueError(f"{weight} is not a weight of the chain")
        out: list[tuple[Any, Any, Any]] = []
        for k, (lhs, rhs) in enumerate(self.links):
            if weight in rhs.free_symbols:
                return [*out, (lhs, rhs, weight)]
            out.append((lhs, rhs, self.links[k + 1][0]))
        return out  # not reached: every weight is in a link

    def gradient(self, weight: Any) -> Derivation:
        """dL/d`weight`: the squared error, the chain rule through the links between
        the output and the weight (named, or "every link" when it passes them all), the
        derivative of each link (the two links named when there are only two)."""
        path = self._path(weight)
        chain, product = self.error, self.error
        for lhs, rhs, by in path:
            chain, product = chain * D(lhs, by), product * sp.diff(rhs, by)
        through = [lhs for lhs, _, _ in path[1:]]
        every = len(path) == len(self.links)
        rule = (
            "chain rule through every link"
            if every
            else say("chain rule through {}", listed(through))
        )
        each = (
            say("{} and {}", *(eq(lhs, rhs) for lhs, rhs, _ in path))
            if len(path) == 2
            else "derivative of each link"
        )
        steps = [(self.error * D(self.output, weight), self.squared), (chain, rule)]
        return derive(D(self.loss, weight), [*steps, (product, each)], [self.instance])

    def signal(self, unit: Unit) -> Derivation:
        """dL/ds of `unit` derived to be its error signal: at the output from the squared
        error, below it by the chain rule from the signal one unit above."""
        k = self.units.index(unit)
        steps: list[tuple[Any, Text | str]]
        if k == len(self.units) - 1:
            link = self.links[0]
            steps = [
                (self.error * D(self.output, unit.s), self.squared),
                (self.error * unit.fprime(unit.s), say("{}", eq(*link))),
                (unit.delta, "the error signal of the output unit"),
            ]
        else:
            above = self.units[k + 1]
            links = [(above.s, self.defs[above.s]), (unit.z, self.defs[unit.z])]
            chain = D(self.loss, above.s) * D(above.s, unit.z) * D(unit.z, unit.s)
            steps = [
                (chain, "chain rule"),
                (self.signals[unit.delta], say("{} and {}", *(eq(*lk) for lk in links))),
                (unit.delta, "the recursion, one unit above"),
            ]
        return derive(D(self.loss, unit.s), steps, [self.with_signals])

    def local(self, weight: Any) -> Derivation:
        """dL/d`weight` as the error signal of the unit it feeds times its input."""
        _, delta, source = next(w for w in self.weights if w[0] == weight)
        fed = say(
            "gradient: the {} of the unit the weight feeds times its input", sp.Symbol("delta")
        )
        return derive(D(self.loss, weight), [(delta * source, fed)], [self.with_signals])

    def recursion(self) -> list[Derivation]:
        """Each unit's `signal`, from the output back, then each weight's `local` rule."""
        signals = [self.signal(unit) for unit in reversed(self.units)]
        return signals + [self.local(w) for w, _, _ in self.weights]

    def local_identity(self, weight: Any, delta: Any, source: Any) -> Identity:
        """``dL/d weight = delta source`` for a generic `weight`, checked with each of the
        chain's weights, its unit's signal and its input put in."""
        each = [{weight: w, delta: d, source: z} for w, d, z in self.weights]
        return identity(D(self.loss, weight), delta * source, self.with_signals, cases=each)

    def check(
        self,
        where: str,
        result: Any,
        weight: Any,
        sets: Sequence[Sequence[str]] | None = None,
        domain: Mapping[str, tuple[float, float]] | None = None,
    ) -> list[CheckRecord]:
        """`result` (dL/d`weight` in the arbitrary functions) with each of `sets` of
        concrete activations put in (default: each of sigmoid, tanh and ReLU throughout,
        then the three mixed), against central differences of the loss at random inputs
        from `domain` (default: the input and weights positive, so every ReLU is active,
        the target of either sign)."""
        n = len(self.units)
        sets = sets or [tuple(s[i % len(s)] for i in range(n)) for s in ACTIVATION_SETS]
        if domain is None:
            names = [self.source, *(u.weight for u in self.units)]
            domain = {str(v): checks.DOMAIN for v in names} | {str(self.target): (-1.0, 1.0)}
        functions = [(u.f, u.fprime) for u in self.units]
        return checks.activations_check(
            where, result, self.instance, self.loss, weight, functions, sets, domain
        )

    def part(
        self,
        pid: str,
        title: str,
        weight: Any,
        more: Sequence[Derivation] = (),
        *,
        question: Sequence[Text] = (),
        remarks: Sequence[Text] = (),
        where: str = "",
    ) -> Part:
        """The part "Give dL/d`weight`." (or `question`): its `gradient` (then `more`
        derivations), the result checked with concrete activations (`check`; a failure is
        reported at the part, which the verifier names, unless `where` says otherwise)."""
        derivation = self.gradient(weight)
        result = derivation.steps[-1].expr
        return Part(
            pid,
            title,
            list(question) or [say("Give {}.", D(self.loss, weight))],
            derivations=[derivation, *more],
            numeric_checks=[lambda: self.check(where, result, weight)],
            remarks=list(remarks),
        )

    def rule_checks(
        self, where: str, rule: Callable[[], Any], rate: Any, local: tuple[Any, Any]
    ) -> list[Callable[[], list[CheckRecord]]]:
        """Checks of a stated update `rule` (called when checked, so a changed answer is
        seen) in the learning `rate` and `local` = (delta, source): for each weight it must
        be -rate times the verified `local` gradient, and the backward recursion with it
        must match finite differences on a branching network."""
        cases = [(self.local(w), (d, z)) for w, d, z in self.weights]
        delta, source = local
        return [
            lambda: checks.update_rule_check(where, rule(), rate, local, cases),
            lambda: checks.backprop_rule_check(where, rule(), rate, delta, source),
        ]

    def state_rule(
        self, part: Part, name: Any, rate: Any, local: tuple[Any, Any], where: str = ""
    ) -> Part:
        """A copy of `part` (which stays as it is) stating the update rule ``name = -rate
        delta source`` (`local` is (delta, source)) as its answer, checked by `rule_checks`
        before its other checks."""
        stated = replace(part, answer_lhs=name, answer=-rate * local[0] * local[1])
        rule_checks = self.rule_checks(where, lambda: stated.answer, rate, local)
        stated.numeric_checks = [*rule_checks, *part.numeric_checks]
        return stated
