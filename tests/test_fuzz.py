"""Property-based fuzz of the files people hand us: term files and claims files.

Whatever the bytes, reading and validating them ends in a value or in one
`AnswerkeyError` (exit 2) — never another exception, and within a memory
ceiling and a time limit per example, so a runaway (a loop, an 11 GB trace)
is found here rather than by a user. A term that validates is also run
through each assignment's cheap NumPy computation (practical-1's trace),
which must stay finite.
"""

from __future__ import annotations

import contextlib
import math
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from answerkey import registry
from answerkey.errors import AnswerkeyError
from answerkey.settable import PDFLATEX_RANGES
from answerkey.terms import dump_toml, load_term, validate_term_data
from answerkey.tomlfile import read_toml

#: extra address space a fuzzed example may take beyond what the process uses already
CEILING = 1 << 30

# No shrinking: a runaway example takes LIMIT seconds each time it is re-run, and the
# unshrunk example says enough (it names the key).
FUZZ = settings(
    max_examples=150,
    deadline=2000,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module", autouse=True)
def memory_ceiling() -> Iterator[None]:
    """RLIMIT_AS at the current size plus CEILING: a blow-up is a MemoryError here."""
    size = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            size = int(line.split()[1]) * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if size:
        limit = size + CEILING
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard < 0 else min(limit, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


MODULES = registry.discover()
#: seconds one example may take (validation is meant to take milliseconds)
LIMIT = 3.0


@contextlib.contextmanager
def time_limit(seconds: float = LIMIT) -> Iterator[None]:
    """Interrupt a runaway example (hypothesis's deadline only looks after it ends)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"an example took longer than {seconds} s: a runaway")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)  # again, should one be swallowed
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    texts,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(st.sampled_from(["x", "y", "W", "w", "a"]) | texts, inner, max_size=4),
    ),
    max_leaves=40,
)


def every_settable() -> str:
    return "".join(chr(c) for lo, hi in PDFLATEX_RANGES for c in range(lo, hi + 1))


def overrides(defaults: Any, wild: bool) -> st.SearchStrategy[Any]:
    """Values shaped like `defaults`: with `wild`, the odd wrong type, key or size too;
    without, the right types and shapes and only the numbers (and list lengths) drawn."""
    other = values if wild else st.nothing()
    if isinstance(defaults, dict):
        keys = {k: overrides(v, wild) for k, v in defaults.items()}
        return st.fixed_dictionaries({}, optional={**keys, "junk": values} if wild else keys)
    if isinstance(defaults, list) and defaults:
        if not wild and not isinstance(defaults[0], dict):  # a vector or matrix: its shape
            return st.tuples(*(overrides(d, wild) for d in defaults)).map(list)
        return st.one_of(
            st.lists(overrides(defaults[0], wild), min_size=1, max_size=12),
            st.lists(overrides(defaults[0], wild), min_size=len(defaults), max_size=len(defaults)),
            other,
        )
    if isinstance(defaults, bool):
        return st.booleans() | other
    if isinstance(defaults, int):
        # mostly the small counts an exercise uses, now and then a runaway one
        huge = st.sampled_from([13, 100, 10**3, 10**6, 10**9, 2**63 - 1, -(10**7)])
        return st.integers(0, 12) | huge | other
    if isinstance(defaults, float):
        big = st.sampled_from([1e308, -1e308, 1e-320, 1e5, 999.0])
        return st.floats(-2, 2) | st.floats(-1e9, 1e9) | big | other
    if isinstance(defaults, str):
        return texts | other
    return values


def term_data(wild: bool) -> st.SearchStrategy[dict[str, Any]]:
    anything = values if wild else st.nothing()
    title = texts if wild else st.text(st.sampled_from(every_settable()), max_size=250)
    return st.fixed_dictionaries(
        {},
        optional={
            "course": title | anything,
            "label": title | anything,
            "seed": st.integers(0, 2**63 - 1) | anything,
            **{aid: overrides(dict(m.parameters), wild) for aid, m in MODULES.items()},
            **({"junk": values} if wild else {}),
        },
    )


def _paths(defaults: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every key path of a parameter table whose value is not a table, with its default."""
    if isinstance(defaults, dict):
        return [p for k, v in defaults.items() for p in _paths(v, (*prefix, k))]
    return [(prefix, defaults)]


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    return dict(out)


#: one parameter of one assignment changed, the rest as it was: how a runaway looks
one_change = st.sampled_from(
    [((aid, *path), d) for aid, m in MODULES.items() for path, d in _paths(dict(m.parameters))]
).flatmap(lambda pd: overrides(pd[1], wild=False).map(lambda v: _nest(pd[0], v)))


def _finite(v: Any) -> bool:
    arr = np.asarray(v, dtype=float)
    return bool(np.all(np.isfinite(arr)))


@FUZZ
@given(data=one_change | one_change | term_data(wild=False) | term_data(wild=True))
def test_any_term_data_validates_or_is_one_usage_error(data: dict[str, Any]) -> None:
    try:
        with time_limit():
            term = validate_term_data(data, MODULES, "fuzz.toml")
    except AnswerkeyError as exc:
        assert exc.exit_code == 2, exc
        return
    p1 = term.params.get("practical-1")
    if p1 is not None:
        from solutions._practical_1_draw import TRACE_KEYS, compute_trace

        with time_limit():
            rows = compute_trace(p1["trace"])
        assert len(rows) <= 100
        for row in rows:
            for key in TRACE_KEYS:
                assert _finite(row[key]), (key, row[key])
        scores = p1["hinge"]["scores"]
        assert 1 <= p1["hinge"]["true_class"] <= len(scores)
        assert all(math.isfinite(s) for s in scores)


@FUZZ
@given(data=term_data(wild=True))
def test_a_term_file_written_from_any_data_reads_or_is_one_usage_error(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]
) -> None:
    path = tmp_path_factory.mktemp("t") / "fuzz.toml"
    try:
        text = dump_toml(data)
    except (ValueError, TypeError):  # NaN or a value TOML cannot hold: write it raw
        text = repr(data)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        with time_limit():
            load_term(path, MODULES, path.parent)
    except AnswerkeyError as exc:
        assert exc.exit_code == 2


toml_text = st.one_of(
    st.text(max_size=400),
    st.builds(
        lambda n, opener, body: "x = " + opener * n + body + {"[": "]", "{a=": "}"}[opener] * n,
        st.integers(0, 3000),
        st.sampled_from(["[", "{a="]),
        st.sampled_from(["1", '"s"', "", "[1,[2]]"]),
    ),
    st.lists(
        st.sampled_from(
            [
                "[[claim]]",
                'part = "1a"',
                "answer = 'x'",
                'kind = "numeric"',
                "update = 1",
                "quantity = 'W'",
                "formula = 1",
                "[claim]",
                "claim = 3",
                'answer = "\\\\frac{1}{"',
                "note = 1.5",
                "part = [1,2]",
                'assignment = "practical-1"',
                "x = {a = [[[1]]]}",
            ]
        ),
        max_size=25,
    ).map("\n".join),
)


@FUZZ
@given(text=toml_text)
def test_any_toml_text_reads_or_is_one_usage_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("f") / "fuzz.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    try:
        with time_limit():
            read_toml(path)
    except AnswerkeyError as exc:
        assert exc.exit_code == 2


@FUZZ
@given(text=toml_text)
def test_any_claims_file_loads_or_is_one_claim_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    from answerkey.claims import load_claims

    path = tmp_path_factory.mktemp("c") / "claims.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    try:
        with time_limit():
            load_claims(path)
    except AnswerkeyError as exc:
        assert exc.exit_code == 2
