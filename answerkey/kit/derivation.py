"""Derivations the kit writes itself: the chain rule through a network's graph, line by line.

``generated_steps(net, D(E, W1))`` is, for a network x -> z1 -> y1 -> z2 -> y2 -> E:

1. the parameter's rule with the chain rule written out:
   ``(dE/dy2 dy2/dz2 dz2/dy1 dy1/dz1)^T x^T`` (a weight's gradient is an outer product);
2. one line per stage back from the loss, each replacing the next factor by the rule of
   the layer (or loss) that computes it, its reason the name of the fragment that
   proves the rule (``sigmoid with binary cross-entropy``, ``the tanh Jacobian``, ...);
3. the simplified form, as the layers' column rules give it
   (``((W2^T (y2 - t)) o (1 - y1 o y1)) x^T``).

The steps are plain `derive` steps: the verifier checks each like a hand-written one,
and an author may reword, merge, split or replace any of them.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..mathfns import D, diag, mm
from ..model import Step, text
from .fragments import Fragment
from .layers import Layer, Rule
from .layers.base import transpose

SIMPLIFY = "multiply out the transposes and the diagonal matrices"


def target_stage(net: Any, lhs: Any) -> tuple[int, str | None]:
    """(index of the stage `lhs` differentiates, role of the parameter or None for the
    stage itself); `lhs` is D(E, parameter) or D(E, stage)."""
    if not isinstance(lhs, D) or lhs.f != net["E"]:
        raise ValueError(
            f"a generated derivation is of the loss by a quantity, D({net['E']}, ...); "
            f"not {sp.sstr(lhs)}"
        )
    for j, stage in enumerate(net.stages[:-1]):
        if stage.symbol == lhs.x:
            return j, None
        for role, p in stage.params.items():
            if p == lhs.x:
                return j, role
    raise ValueError(
        f"D({net['E']}, {sp.sstr(lhs.x)}): {sp.sstr(lhs.x)} is no stage or parameter of the "
        f"network; its quantities: {net.quantities()}"
    )


def _rules(net: Any, lhs: Any) -> tuple[list[tuple[Any, Rule | None]], Any]:
    """The lines (expression, rule cited) and the simplified form."""
    stages = net.stages[:-1]
    E, t = net["E"], net["t"]
    j, role = target_stage(net, lhs)
    last = len(stages) - 1

    def inp(i: int) -> Any:
        return net["x"] if i == 0 else stages[i - 1].symbol

    # the row factors dE/dS_last, dS_last/dS_last-1, ..., dS_j+1/dS_j
    factors: list[Any] = [D(E, stages[last].symbol)]
    factors += [D(stages[i].symbol, stages[i - 1].symbol) for i in range(last, j, -1)]
    layer = stages[j].layer

    def product(fs: list[Any]) -> Any:
        return fs[0] if len(fs) == 1 else mm(*fs)

    def wrap(row: Any) -> tuple[Any, Rule | None]:
        if role is None:
            return row, None
        rule = layer.parameter_rule(role, inp(j), stages[j].params, row)
        return rule.expr, rule

    lines: list[tuple[Any, Rule | None]] = []
    first, rule = wrap(product(factors))
    if len(factors) > 1 or rule is not None:
        lines.append((first, rule))
    # the loss, fused with the output activation when a fragment states that
    out_layer = stages[last].layer
    fused = None
    if last > j and isinstance(out_layer, Layer) and not out_layer.opens:
        fused = net.loss.fused(out_layer, stages[last - 1].symbol, stages[last].symbol, t)
    if fused is not None:
        factors = [fused.expr, *factors[2:]]
        loss_rule: Rule | None = fused
        delta = net.loss.fused_column(out_layer, stages[last - 1].symbol, stages[last].symbol, t)
        below = last - 1
    else:
        loss_rule = net.loss.gradient(stages[last].symbol, t)
        if loss_rule is None:
            raise ValueError(
                f"the {net.loss.name} loss states no matrix form of its gradient: write the "
                f"derivation of {sp.sstr(lhs)} by hand"
            )
        factors = [loss_rule.expr, *factors[1:]]
        delta = net.loss.column(stages[last].symbol, t)
        below = last
    lines.append((wrap(product(factors))[0], loss_rule))
    # one line per stage back from the loss
    for i in range(below, j, -1):
        s = stages[i]
        jac = s.layer.jacobian(inp(i), s.symbol, s.params)
        done = len(factors) - (i - j)
        factors = [*factors[:done], jac.expr, *factors[done + 1 :]]
        lines.append((wrap(product(factors))[0], jac))
        delta = s.layer.vjp(inp(i), s.symbol, s.params, delta)
    if role is None:
        final = transpose(delta)
    else:
        final = layer.parameter_column(role, inp(j), stages[j].params, delta)
    return lines, final


def generated_steps(net: Any, lhs: Any) -> list[Step]:
    """The derivation of `lhs` as `derive` steps (see the module docstring)."""
    lines, final = _rules(net, lhs)
    steps = []
    for k, (expr, rule) in enumerate(lines):
        words = rule.reason if rule is not None else "chain rule"
        chained = sum(isinstance(a, D) for a in sp.preorder_traversal(expr)) > 1
        if k == 0 and chained and rule is not None and rule.fragment is not None:
            words = f"chain rule, {rule.reason}"
        steps.append(Step(expr, text(words)))
    if final != steps[-1].expr and _unsimplified(steps[-1].expr):
        steps.append(Step(final, text(SIMPLIFY)))
    return steps


def _unsimplified(e: Any) -> bool:
    """Whether `e` holds a diagonal matrix, an inverse or a transposed product."""
    return any(
        isinstance(a, diag | sp.Inverse) or (isinstance(a, sp.Transpose) and a.arg.is_MatMul)
        for a in sp.preorder_traversal(e)
    )


def cited_fragments(net: Any, lhs: Any) -> list[Fragment]:
    """The fragments the generated derivation of `lhs` cites, in order, once each."""
    out: list[Fragment] = []
    for _, rule in _rules(net, lhs)[0]:
        if rule is not None and rule.fragment is not None and rule.fragment not in out:
            out.append(rule.fragment)
    return out
