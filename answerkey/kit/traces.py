"""What a key shows of an optimizer trace (`answerkey.worked.Trace`) besides its blocks.

A numeric-trace exercise prints the same things whatever its network: the samples
in the question, one block per update, a table and a curve of the loss, the loss
summed per iteration, and what the numbers show (units that never fire in some
samples, say). These helpers write them from the trace, so every number in them
is one the engine computed and checks:

* `sgd`: per-sample SGD from a term's numbers, each given number labelled by what it is,
  and `sgd_of`, the same from a term's trace table (rate, iterations, samples);
* `columns`: what each update's block shows, under which label and data key;
* `rows`: each update as plain data for answers.json (keys chosen by the author),
  `plain_row`, one such row computed in NumPy (by a second implementation), and
  `largest`, how far the values in such rows grow;
* `samples`: the samples as prose (``sample 1: x = ..., y = ...; sample 2: ...``);
* `blocks`, `table`, `loss_curve`: each update's block, a table of shown values
  per update, the loss per update as a figure, and `part`, the part with all three;
* `trend`: the sentence on the loss summed over each iteration's samples;
* `grouped` and `when`: updates where something holds, by sample, and in words;
* `compare`: values an earlier solution published (`transcribed`, from the
  assignment's claims file) against the trace's, for errata, and `disagreements`
  in words.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from .. import figures, worked
from ..model import Block, Figure, Instance, Part, Table, Text, text
from .writing import listed, names, say


def sgd(
    instance: Instance,
    loss: Any,
    params: Mapping[Any, Any],
    samples: Sequence[Mapping[Any, Any]],
    learning_rate: Any,
    iterations: int,
    show: Sequence[Any],
    oracle: worked.Oracle | None = None,
    name: str = "trace",
) -> worked.Trace:
    """`worked.trace` of per-sample SGD from plain numbers: sample n's value of a variable
    is given as "sample n: <its name>", the rate as "learning rate" (how the key's
    ledger and errors name them)."""
    given = [
        {v: worked.given(value, f"sample {n}: {v.name}") for v, value in sample.items()}
        for n, sample in enumerate(samples, start=1)
    ]
    rate = worked.SGD(worked.given(learning_rate, "learning rate"))
    return worked.trace(name, instance, params, given, loss, rate, int(iterations), show, oracle)


def sgd_of(
    instance: Instance,
    loss: Any,
    params: Mapping[Any, Any],
    trace: Mapping[str, Any],
    inputs: Mapping[str, Any],
    show: Sequence[Any],
    oracle: worked.Oracle | None = None,
) -> worked.Trace:
    """`sgd` from a term's trace numbers as `draws.trace_constraints` checks them
    (``learning_rate``, ``iterations``, ``samples``), each sample's value under a key of
    `inputs` given to that key's variable."""
    samples = [{v: sample[key] for key, v in inputs.items()} for sample in trace["samples"]]
    rate, iterations = trace["learning_rate"], trace["iterations"]
    return sgd(instance, loss, params, samples, rate, iterations, show, oracle)


def columns(*shown: tuple[str, str, Any]) -> dict[str, worked.Named]:
    """``(key, label, quantity)`` triples as ``{key: worked.named(label, quantity)}``: each
    block line's key in `rows`, the label it is printed under (declared to name the
    quantity), what the engine computes (`sgd`'s `show` is the values, `rows`' `columns`
    the keys with the labels)."""
    return {key: worked.named(label, quantity) for key, label, quantity in shown}


def rows(t: worked.Trace, columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each update of the trace `t` as a plain dict for answers.json: ``{"iteration": i,
    "sample": n, key: value, ...}`` for every ``key: label`` of `columns` (the label a
    value is shown under in `t`'s `show`, e.g. ``{"loss": L, "w": sp.Symbol("w_next")}``),
    values as floats or nested lists."""
    return [
        {"iteration": it, "sample": n} | {key: p[label].plain() for key, label in columns.items()}
        for p, (it, n) in zip(t.steps, t.order, strict=True)
    ]


def plain_row(keys: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    """``{key: value}`` for each of `keys` with the value at its place in `values`, NumPy
    arrays as nested lists: a row like `rows`' from a computation in plain NumPy."""
    return {
        k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in zip(keys, values, strict=True)
    }


def largest(table_rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> float:
    """The largest size of any value under `keys` in plain rows (lists or numbers), 0 for
    none; inf or nan when a value is not finite (so a draw or a term can be refused)."""
    sizes = (np.abs(np.asarray(r[k], dtype=float)).max() for r in table_rows for k in keys)
    return float(max(sizes, default=0.0))


def samples(t: worked.Trace, shown: Sequence[Any]) -> list[Any]:
    """The trace's samples for a `say` place: ``sample 1: x = ..., y = ...; sample 2: ...``,
    each giving its values of the `shown` inputs (SymPy symbols of the instance)."""
    out: list[Any] = []
    for n, sample in enumerate(t.samples, start=1):
        out += [f"{';' if n > 1 else ''} sample {n}:", *listed([(v, sample[v]) for v in shown])]
    return out


def blocks(t: worked.Trace) -> list[Block]:
    """One block per update, titled "Update k: iteration i, sample n"."""
    return [
        t.block(k, text(f"Update {k + 1}: iteration {it}, sample {n}"))
        for k, (it, n) in enumerate(t.order)
    ]


def table(t: worked.Trace, shown: Sequence[Any], caption: Text) -> Table:
    """Update, iteration, sample and the values shown under the labels `shown`, per update."""
    return Table(
        header=("update", "iteration", "sample", *shown),
        rows=tuple(
            (k, it, n, *(p[label] for label in shown))
            for k, (p, (it, n)) in enumerate(zip(t.steps, t.order, strict=True), start=1)
        ),
        caption=caption,
    )


def loss_curve(t: worked.Trace, loss: Any, name: str = "loss-curve") -> Figure:
    """The loss of each update, coloured by sample, in the key only (it gives the answers)."""
    losses = [float(p[loss].plain()) for p in t.steps]
    order = [n for _, n in t.order]
    return Figure(
        name,
        text("The loss of each update, coloured by sample."),
        lambda: figures.loss_curve_figure(name, losses, order),
        handout=False,
    )


def part(
    t: worked.Trace,
    loss: Any,
    shown: Sequence[Any],
    caption: Text,
    extra: Sequence[Any] = (),
    **fields: Any,
) -> Part:
    """A part that works the trace: `fields` (id, title, question, remarks, data) with one
    block per update, the `table` of `shown` under `caption`, the `loss_curve` and, as its
    checks, the trace's and those of the `extra` worked values its text prints."""
    return Part(
        blocks=blocks(t),
        tables=[table(t, shown, caption)],
        figures=[loss_curve(t, loss)],
        numeric_checks=worked.attach(t, *extra),
        **fields,
    )


def trend(t: worked.Trace, loss: Any) -> Text:
    """The loss summed over the samples of each iteration, and whether it falls."""
    totals = t.totals(loss)
    falls = all(float(b) < float(a) for a, b in itertools.pairwise(totals))
    return say(
        "The loss summed over the samples of each iteration is {}: it "
        + ("falls." if falls else "does not fall monotonically."),
        listed(totals),
    )


def grouped(
    table_rows: Iterable[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], Any]
) -> dict[tuple[int, Any], list[int]]:
    """The iterations where `key(row)` is not empty, by (sample, that key), in order."""
    out: dict[tuple[int, Any], list[int]] = {}
    for row in table_rows:
        found = key(row)
        if found:
            out.setdefault((row["sample"], found), []).append(row["iteration"])
    return out


def when(t: worked.Trace, iterations: Sequence[int]) -> str:
    """ "every iteration", or "iteration 1 and 3"."""
    return (
        "every iteration" if len(iterations) == t.iterations else f"iteration {names(iterations)}"
    )


def transcribed(assignment_id: str, part: str) -> dict[tuple[str, int], np.ndarray]:
    """The numeric claims of the earlier published solution for `part`
    (``solutions/claims/<id>.toml``), by (quantity, update), in the file's order."""
    from ..claims import CLAIMS_DIR, load_claims, parse_claim

    out = {}
    for c in load_claims(CLAIMS_DIR / f"{assignment_id}.toml").claims:
        if c.kind == "numeric" and c.part == part and c.quantity and c.update is not None:
            value = parse_claim(c.answer, {}).expr
            value = value.tolist() if isinstance(value, sp.MatrixBase) else value
            out[(c.quantity, c.update)] = np.array(value, dtype=float)
    return out


def compare(
    table_rows: Sequence[Mapping[str, Any]],
    claims: Mapping[tuple[str, int], np.ndarray],
    keys: Iterable[tuple[str, int]],
    atol: float,
) -> list[dict[str, Any]]:
    """For each (quantity, update) of `keys` that `claims` has: the claimed value against
    the trace's (within `atol`), as ``{"update", "quantity", "seed", "ours", "agrees"}``."""
    out = []
    for quantity, update in keys:
        if (quantity, update) not in claims:
            continue
        ours = table_rows[update - 1][quantity]
        seed = claims[(quantity, update)].reshape(np.shape(ours)).tolist()
        agrees = bool(np.allclose(ours, seed, rtol=0, atol=atol))
        out.append(
            {"update": update, "quantity": quantity, "seed": seed, "ours": ours, "agrees": agrees}
        )
    return out


def disagreements(
    t: worked.Trace, records: Iterable[Mapping[str, Any]], label: Any, source: str
) -> list[Any]:
    """The `compare` records that disagree, for a `say` place: "iteration 2 is 0.2186 (ours
    0.2474); iteration 3 is ...", each claimed value given (as `source`'s) beside the
    trace's number shown under `label`."""
    out: list[Any] = []
    for r in (r for r in records if not r["agrees"]):
        it, n = t.order[r["update"] - 1]
        where = f"{source}: {r['quantity']} of sample {n}, iteration {it}"
        claimed, ours = worked.given(r["seed"], where), t.steps[r["update"] - 1][label]
        out += [";"] * bool(out) + [f"iteration {it} is", claimed, "(ours", ours, ")"]
    return out
