"""Check every derivation step, final answer and numeric claim before anything is written.

Each step is compared with the one before it (the first with the quantity being
derived, computed by SymPy from the instance's definitions) at every concrete
instance. Values are lazy (`Concrete.lazy`): the network's layers stay symbols
and each derivative comes from the chain rule over the definitions, so

* numerically, every step is evaluated at the same random points, the layers
  computed from the inputs through the definitions (fast, and gives a
  counterexample when false);
* symbolically, the difference must vanish as a rational function once exp, σ,
  log and unknown functions are read as opaque atoms (exp turned into products
  of atoms first, so exp(-u) = 1/exp(u)), with the definitions substituted only
  as far as needed (`prove_lazy`); where that does not settle it, `sympy.simplify`
  gets the last word on the full expansion.

Derivatives of a scalar are also compared with central finite differences of an
independent NumPy oracle. A failure raises `VerificationError` naming the
assignment, part, step and point; success leaves `CheckRecord`s on the part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
import sympy as sp

from . import numbers, proofcache, relations
from .errors import VerificationError
from .instantiate import Concrete, Matrix, concrete, numeric_function
from .mathfns import D
from .model import Assignment, CheckRecord, Derivation, Part, Step, text
from .proofs import prove_lazy

RANDOM_POINTS = 12
RTOL = 1e-8
ATOL = 1e-10
FD_STEP = 1e-6
FD_TOL = 1e-6
DEFAULT_DOMAIN = (-1.5, 1.5)


def verify_assignment(assignment: Assignment, seed: int = 0, reuse: bool = False) -> int:
    """Verify every part of `assignment`; return the number of checks passed.

    With `reuse`, a part object already verified in this process (the same
    object, unchanged: see `_fingerprint`) keeps its checks. Solution modules
    share the parts that do not depend on a variant's numbers, so 100 variants
    verify those parts once.
    """
    for part in assignment.parts():
        key = id(part)
        seen = _VERIFIED.get(key) if reuse else None
        if seen is not None and seen[0] is part and seen[1] == _fingerprint(part):
            continue
        part.checks = verify_part(assignment.id, part, seed=seed)
        if reuse:
            _VERIFIED[key] = (part, _fingerprint(part))
    relations.audit_declarations(assignment, seed)
    return assignment.check_count()


# id(part) -> (part, fingerprint); holding the part keeps its id from being reused.
_VERIFIED: dict[int, tuple[Part, str]] = {}


def _fingerprint(part: Part) -> str:
    """What a part's verification depends on, so an edited part is verified again."""
    return repr(
        (
            part.id,
            part.derivations,
            part.answer,
            part.answer_lhs,
            [id(c) for c in part.numeric_checks],
            sorted(part.data),
        )
    )


def verify_part(assignment_id: str, part: Part, seed: int = 0) -> list[CheckRecord]:
    records: list[CheckRecord] = []
    where = f"{assignment_id}, part {part.id}"
    rng = np.random.default_rng([seed, *part.id.encode()])
    for label, derivation in zip(numbers.derivation_labels(part), part.derivations, strict=True):
        label = f"{where}, {label}" if label else where
        records += proofcache.verified(
            ("derivation", derivation), rng, partial(verify_derivation, label, derivation, rng)
        )
    # a part that prints numbers has them audited even when it has no checks of its own
    if part.numeric_checks or part.answer is not None or not records or _prints(part):
        derived = bool(records)
        records += proofcache.verified(
            ("part checks", derived, part),
            None,
            lambda: _part_checks(assignment_id, where, part, derived),
        )
    return records


def _part_checks(assignment_id: str, where: str, part: Part, derived: bool) -> list[CheckRecord]:
    """The part's numeric checks and the audit of its numbers, then the test that they
    read its stated answer."""
    records: list[CheckRecord] = []
    for check in _checks(assignment_id, part):
        records += _run_check(where, check)
    if not derived and not records and (part.derivations or part.numeric_checks):
        raise VerificationError(where, "no check ran")
    if part.answer is not None:
        records.append(_answer_is_checked(where, part, assignment_id))
    return records


def _prints(part: Part) -> bool:
    """Does the part print a number or a relation (which the audits check)?"""
    return numbers.prints(part) or relations.shows(part)


def _checks(assignment_id: str, part: Part) -> list[Callable[[], list[CheckRecord]]]:
    """The part's own numeric checks (worked examples and traces among them), then the
    engine's audit of every number the part prints (`answerkey.numbers`) and its check of
    every relation in its prose (`answerkey.relations`)."""
    stated = [partial(_stated_answer, f"{assignment_id}, part {part.id}", part)]
    return [
        *part.numeric_checks,
        *(stated if _derivation_of_answer(part) is not None else []),
        lambda: numbers.check_part(assignment_id, part),
        lambda: relations.check_part(assignment_id, part),
    ]


def _derivation_of_answer(part: Part) -> Derivation | None:
    """The derivation whose quantity is the stated answer's left-hand side, if any."""
    if part.answer is None or part.answer_lhs is None:
        return None
    return next((d for d in part.derivations if d.lhs == part.answer_lhs), None)


def _stated_answer(where: str, part: Part) -> list[CheckRecord]:
    """A stated answer whose `answer_lhs` is a derivation's quantity: proved equal to that
    quantity at the derivation's instances, like a one-step derivation."""
    d = _derivation_of_answer(part)
    assert d is not None
    as_step = Derivation(d.lhs, (Step(part.answer, text("stated answer")),), d.instances, d.oracle)
    rng = np.random.default_rng([0, *part.id.encode()])
    try:
        return verify_derivation(f"{where}, stated answer", as_step, rng)
    except VerificationError as exc:  # its one "step" is the answer: say so
        raise VerificationError(exc.where.replace(", step 1", ""), exc.message) from None


def _run_check(where: str, check: Callable[[], list[CheckRecord]]) -> list[CheckRecord]:
    try:
        records = check()
    except VerificationError as exc:
        if exc.where:
            raise
        raise VerificationError(where, exc.message) from None  # the verifier names the place
    except AssertionError as exc:
        raise VerificationError(where, str(exc)) from None
    except Exception as exc:  # the author's check (or data it reads) broke: say which
        raise VerificationError(
            where,
            f"its numeric check {_check_name(check)} raised {type(exc).__name__}: {exc} "
            "(a numeric check takes no arguments and returns a list of CheckRecords, raising "
            "AssertionError or VerificationError when what it checks is wrong)",
        ) from None
    if not isinstance(records, list):
        raise VerificationError(
            where,
            f"its numeric check {_check_name(check)} returned a {type(records).__name__}; "
            "a numeric check returns a list of CheckRecords",
        )
    return records


def _check_name(check: Any) -> str:
    name = getattr(check, "name", None)
    if isinstance(name, str):  # a worked example or trace
        return repr(name)
    return getattr(check, "__qualname__", None) or type(check).__name__


def corrupted(answer: Any) -> Any:
    """A wrong answer of the same kind: 2·answer + 1."""
    if isinstance(answer, numbers.Number):
        return numbers.corrupted(answer)
    if isinstance(answer, sp.MatrixBase):
        return answer.applyfunc(lambda e: 2 * e + 1)
    if getattr(answer, "is_Matrix", False):  # a matrix expression: + 1 in every entry
        return 2 * answer + sp.OneMatrix(*answer.shape)
    if isinstance(answer, sp.Basic | int | float | np.ndarray) and not isinstance(answer, bool):
        return 2 * answer + 1
    raise TypeError(f"no way to corrupt an answer of type {type(answer).__name__}")


def _answer_is_checked(where: str, part: Part, assignment_id: str = "") -> CheckRecord:
    """A part that states its answer apart from its derivations (a general rule, a
    number) must have a check that reads it: with the answer corrupted, some check
    has to fail. Otherwise the boxed answer would be published unverified."""
    stated = part.answer
    try:
        wrong = corrupted(stated)
    except TypeError as exc:
        raise VerificationError(
            where,
            f"its stated answer cannot be checked ({exc}): state a number (answerkey.worked), "
            "a SymPy expression or matrix, with a check that reads part.answer",
        ) from None
    part.answer = wrong
    try:
        for check in _checks(assignment_id or where.split(",")[0], part):
            try:
                _run_check(where, check)
            except VerificationError:
                return CheckRecord(
                    "mutation", "stated answer", "a corrupted answer (2·answer + 1) is refused"
                )
    finally:
        part.answer = stated
    raise VerificationError(
        where,
        "its stated answer is not checked: every check still passes with the answer "
        "replaced by 2·answer + 1 (give the part a check that reads part.answer; to box a "
        "derivation's result, leave answer= unset: each derivation's last step is boxed; "
        "with answer_lhs= a derivation's quantity, the engine proves the answer equal to it)",
    )


def verify_derivation(where: str, d: Derivation, rng: np.random.Generator) -> list[CheckRecord]:
    records: list[CheckRecord] = []
    sized = [inst for inst in d.instances if len(inst.sizes) >= 2]
    if sized and not any(len(set(i.sizes.values())) == len(i.sizes) for i in sized):
        # with n = K, a step that confuses n and K is right at every instance
        raise VerificationError(
            where, "no instance has all its sizes different: add one where they differ"
        )
    for inst in d.instances:
        c = concrete(inst)
        at = f" ({inst.label})" if inst.label else ""
        values = [_lazy(c, d.lhs, f"{where}, the quantity derived{at}")]
        names = ["the quantity derived"]
        for i, step in enumerate(d.steps, start=1):
            cur = _lazy(c, step.expr, f"{where}, step {i}{at}")
            if cur.shape != values[-1].shape:
                raise VerificationError(
                    f"{where}, step {i}{at}",
                    f"shape {cur.shape} does not match {names[-1]}'s shape {values[-1].shape}",
                )
            values.append(cur)
            names.append(f"step {i}")
        env = c.sample(values, RANDOM_POINTS, rng, DEFAULT_DOMAIN)
        numbers = [c.evaluate(v, env, RANDOM_POINTS) for v in values]
        for i in range(1, len(values)):
            name, prev_name = names[i], names[i - 1]
            n = _numeric_equal(
                f"{where}, {name}{at}",
                prev_name,
                numbers[i - 1],
                numbers[i],
                _inputs_at(c, env, values[i - 1], values[i]),
            )
            records.append(
                CheckRecord("numeric", f"{name}{at}", f"equals {prev_name} at {n} random points")
            )
            if d.prove and inst.prove:
                how = prove_lazy(c, values[i - 1], values[i])
                if how is None:
                    raise VerificationError(
                        f"{where}, {name}{at}",
                        f"could not prove it equal to {prev_name} symbolically",
                    )
                records.append(
                    CheckRecord("symbolic", f"{name}{at}", f"equals {prev_name} ({how})")
                )
        if isinstance(d.lhs, D) and _is_scalar(c, d.lhs.f):
            records.append(_finite_differences(where + at, d, c, values[-1], rng))
    return records


def _is_scalar(c: Concrete, f: Any) -> bool:
    return bool(c.local(f).shape == (1, 1))


def _inputs_at(
    c: Concrete, env: Mapping[sp.Symbol, np.ndarray], *values: Matrix
) -> Callable[[int], dict[sp.Symbol, float]]:
    """The free inputs of `values` at point k, for a counterexample."""
    inputs = [s for s in c.inputs(*values) if s not in c.nodes]
    return lambda k: {s: float(env[s][k]) for s in inputs}


def lambdify(symbols: list[sp.Symbol], m: Matrix) -> Callable[..., Any]:
    return numeric_function(symbols, m)


def _fmt_point(point: Mapping[sp.Symbol, float], limit: int = 8) -> str:
    items = [f"{s.name}={v:.4g}" for s, v in list(point.items())[:limit]]
    more = len(point) - limit
    return ", ".join(items) + (f", … ({more} more)" if more > 0 else "")


def _numeric_equal(
    where: str,
    prev_name: str,
    a: np.ndarray,
    b: np.ndarray,
    point: Callable[[int], dict[sp.Symbol, float]],
) -> int:
    """Compare the values at each random point (axis 0); return how many points were compared.

    Points where `a` (the line before) is undefined are skipped; a step undefined
    where the line before is defined is wrong. Too few comparable points is a
    failure too: a check that compared nothing must not pass.
    """
    compared = 0
    for k in range(a.shape[0]):
        va, vb = a[k], b[k]
        if not np.all(np.isfinite(va)):
            continue
        if not np.all(np.isfinite(vb)):
            raise VerificationError(
                where, f"is undefined at {_fmt_point(point(k))}, where {prev_name} is defined"
            )
        compared += 1
        bad = ~np.isclose(va, vb, rtol=RTOL, atol=ATOL)
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            raise VerificationError(
                where,
                f"differs from {prev_name} at {_fmt_point(point(k))}: entry ({i + 1},{j + 1}) is "
                f"{vb[i, j]:.6g}, expected {va[i, j]:.6g}",
            )
    if compared < a.shape[0] // 2:
        raise VerificationError(
            where,
            f"only {compared} of {a.shape[0]} random points could be evaluated; "
            "narrow the instance's domain",
        )
    return compared


def _lazy(c: Concrete, expr: Any, where: str) -> Matrix:
    try:
        return c.lazy(expr)
    except ValueError as exc:
        raise VerificationError(where, str(exc)) from None


def oracle_number(
    oracle: Callable[[Mapping[str, Any]], Any], inputs: Mapping[str, Any], f: str, where: str
) -> float:
    """The derivation oracle's value of `f` (the quantity differentiated) at `inputs`; an
    oracle that raises or returns something else is refused, saying what it must do."""
    contract = (
        f"a derivation's oracle takes the instance's free inputs by name "
        f"({', '.join(sorted(inputs))}: from the instance's leaf stage on, when it has one) "
        f"and returns {f} as a float (or a dict of values holding {f!r})"
    )
    try:
        out = oracle(dict(inputs))
    except Exception as exc:
        raise VerificationError(
            where, f"its oracle raised {type(exc).__name__}: {exc}; {contract}"
        ) from None
    if isinstance(out, Mapping):
        if f not in out:
            keys = ", ".join(map(str, out)) or "nothing"
            raise VerificationError(where, f"its oracle returned a dict of {keys}; {contract}")
        out = out[f]
    try:
        value = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        value = np.zeros(0)
    if value.size != 1:
        raise VerificationError(
            where, f"its oracle returned {type(out).__name__} {str(out)[:60]}; {contract}"
        )
    return float(value.reshape(-1)[0])


def _finite_differences(
    where: str, d: Derivation, c: Concrete, claimed: Matrix, rng: np.random.Generator
) -> CheckRecord:
    """Central differences of f (oracle or SymPy definition) by each entry of x vs the result."""
    f, x = d.lhs.f, d.lhs.x
    xe = c.entries(x)
    fl = c.lazy(f)
    env = c.sample([fl, claimed, xe], 1, rng, DEFAULT_DOMAIN)
    x_value = c.evaluate(xe, env, 1)[0]
    g = c.evaluate(claimed, env, 1)[0]
    inputs = {s: v for s, v in env.items() if s not in c.nodes}
    if d.oracle is not None:
        source = "an independent NumPy oracle"
        by_name: dict[str, Any] = {}
        in_matrices: set[sp.Symbol] = set()
        for name in c.names():
            entries = c.entries_by_name(name)
            in_matrices |= set(entries)
            known = all(e in env and c.rank.get(e, -1) < 0 for e in entries)
            if name != c.name(x) and known:
                by_name[name] = np.array([env[e][0] for e in entries]).reshape(entries.shape)
        for s, v in inputs.items():
            if s not in in_matrices:
                by_name.setdefault(s.name, np.array(v[0]))
        oracle = d.oracle

        def fn(xv: np.ndarray) -> float:
            return oracle_number(oracle, {**by_name, c.name(x): xv}, c.name(f), where)
    else:
        source = "the SymPy definition"

        def fn(xv: np.ndarray) -> float:
            moved = {e: np.array([v]) for e, v in zip(xe, xv.flatten(), strict=True)}
            at = c.sample([fl], 1, rng, DEFAULT_DOMAIN, fixed={**inputs, **moved})
            return float(c.evaluate(fl, at, 1).reshape(-1)[0])

    numeric = np.zeros(xe.shape)
    for idx in np.ndindex(*xe.shape):
        up, down = x_value.copy(), x_value.copy()
        up[idx] += FD_STEP
        down[idx] -= FD_STEP
        numeric[idx] = (fn(up) - fn(down)) / (2 * FD_STEP)
    numeric = numeric.reshape(g.shape)
    err = float(np.max(np.abs(numeric - g) / np.maximum(1.0, np.abs(g))))
    if not err <= FD_TOL:
        point = {s: float(v[0]) for s, v in inputs.items()}
        raise VerificationError(
            where,
            f"result disagrees with central finite differences of {source} at "
            f"{_fmt_point(point)}: max relative error {err:.3g}",
        )
    return CheckRecord(
        "finite-difference", "result", f"matches central differences of {source} (error {err:.1e})"
    )
