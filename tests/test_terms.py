"""Term files: validation messages, deep merge, seeded draws, variants."""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from answerkey import terms
from answerkey.errors import AnswerkeyError, UsageError
from answerkey.terms import (
    any_length,
    at_least,
    between,
    check_constraint_keys,
    deep_merge,
    draw_params,
    load_term,
    new_term,
    parameter_hash,
    positive,
    variant_params,
    varies,
)
from solutions import _practical_1_draw as p1draw
from solutions._practical_1_draw import compute_trace

REPO = Path(__file__).resolve().parent.parent

P1_PARAMETERS: dict[str, Any] = {
    "trace": {
        "W": [[0.6, 0.7, 0.0], [0.01, 0.43, 0.88]],
        "w": [0.02, 0.03, 0.09],
        "learning_rate": 0.2,
        "iterations": 3,
        "samples": [
            {"x": [0.75, 0.8], "y": 1.0},
            {"x": [0.2, 0.05], "y": 1.0},
            {"x": [-0.75, 0.8], "y": -1.0},
        ],
    },
    "hinge": {"margin": 1.0, "scores": [0.5, 1.2, -0.3], "true_class": 2},
}


def _p1() -> SimpleNamespace:
    """practical-1 as the registry would present it (our own copy of the original numbers)."""
    return SimpleNamespace(
        parameters=P1_PARAMETERS,
        constraints={
            **p1draw.CONSTRAINTS,
            "hinge.margin": positive(),
            "hinge.scores": any_length(),
            "hinge.true_class": at_least(1),
        },
        draw=p1draw.draw,
        instructive=p1draw.instructive,
    )


ASSIGNMENTS: dict[str, Any] = {"practical-1": _p1(), "cv-assignment9": {}}


def write(tmp_path: Path, text: str, name: str = "x") -> Path:
    d = tmp_path / "terms"
    d.mkdir(exist_ok=True)
    p = d / f"{name}.toml"
    p.write_text(text, encoding="utf-8")
    return p


def refused(tmp_path: Path, text: str) -> list[str]:
    """The problem lines for a term file with `text`."""
    p = write(tmp_path, text)
    with pytest.raises(UsageError) as e:
        load_term("x", ASSIGNMENTS, directory=tmp_path / "terms")
    assert e.value.exit_code == 2
    lines = str(e.value).splitlines()
    for line in lines:
        assert line.startswith(f"{p}:"), line
    return [line[len(f"{p}: ") :] for line in lines]


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '["practical-1".trace]\nlerning_rate = 0.1\n',
            "practical-1.trace.lerning_rate: unknown key; expected one of: "
            "W, w, learning_rate, iterations, samples",
        ),
        (
            '["practical-1".trace]\nlearning_rate = "fast"\n',
            'practical-1.trace.learning_rate: expected a number, got the string "fast"',
        ),
        (
            '["practical-1".trace]\nW = [[0.1, 0.2], [0.3, 0.4]]\n',
            "practical-1.trace.W: expected a 2x3 list of numbers (2 rows of 3), got a 2x2 list",
        ),
        (
            '["practical-1".trace]\nlearning_rate = -0.1\n',
            "practical-1.trace.learning_rate: expected a number > 0, got -0.1",
        ),
        (
            '["practical-1".trace]\nlearning_rate = 0\n',
            "practical-1.trace.learning_rate: expected a number > 0, got 0.0",
        ),
        (
            '["practical-1".trace]\nlearning_rate = nan\n',
            "practical-1.trace.learning_rate: expected a finite number, got nan",
        ),
        (
            '["practical-1".trace]\nw = [0.1, inf, 0.2]\n',
            "practical-1.trace.w[1]: expected a finite number, got inf",
        ),
        (
            '["practical-1".trace]\nlearning_rate = -inf\n',
            "practical-1.trace.learning_rate: expected a finite number, got -inf",
        ),
        (
            '["practical-1".trace]\nsamples = []\n',
            "practical-1.trace.samples: expected a non-empty list, got an empty list",
        ),
        (
            '["practical-1".trace]\niterations = 2.5\n',
            "practical-1.trace.iterations: expected an integer, got 2.5",
        ),
        (
            '["practical-1".trace]\niterations = 0\n',
            "practical-1.trace.iterations: expected a number >= 1, got 0",
        ),
        (
            '[["practical-1".trace.samples]]\nx = [0.1, 0.2, 0.3]\ny = 1\n',
            "practical-1.trace.samples[0].x: expected a list of 2 numbers, got a list of 3",
        ),
        (
            '[["practical-1".trace.samples]]\nx = [0.1, 0.2]\nz = 1\n',
            "practical-1.trace.samples[0].z: unknown key; expected one of: x, y",
        ),
        (
            "course = 3\n",
            "course: expected a string, got 3",
        ),
        (
            "seed = -1\n",
            "seed: expected an integer >= 0, got -1",
        ),
        (
            "pool = 0\n",
            "pool: expected an integer from 1 to 500 (the variants a roster spreads students "
            "over), got 0",
        ),
        (
            "pool = 501\n",
            "pool: expected an integer from 1 to 500 (the variants a roster spreads students "
            "over), got 501",
        ),
        (
            "pool = 4.0\n",
            "pool: expected an integer from 1 to 500 (the variants a roster spreads students "
            "over), got 4.0",
        ),
        (
            "pool = true\n",
            "pool: expected an integer from 1 to 500 (the variants a roster spreads students "
            "over), got true",
        ),
        (
            "[practical-2]\nx = 1\n",
            "practical-2: unknown key; expected one of: course, label, seed, pool, "
            "practical-1, cv-assignment9",
        ),
        (
            '"practical-1" = 5\n',
            "practical-1: expected a table of parameters, got 5",
        ),
        (
            '["practical-1".trace]\nW = 0.5\n',
            "practical-1.trace.W: expected a 2x3 list of numbers (2 rows of 3), got 0.5",
        ),
        (
            '["practical-1".trace]\nW = [[0.1, 0.2, 0.3], [0.4, "a", 0.6]]\n',
            'practical-1.trace.W[1][1]: expected a number, got the string "a"',
        ),
        (
            '["practical-1".hinge]\nscores = [0.1, 0.2, 0.3, "a"]\n',
            'practical-1.hinge.scores[3]: expected a number, got the string "a"',
        ),
    ],
)
def test_each_bad_input_is_one_message_naming_file_and_key(
    tmp_path: Path, body: str, expected: str
) -> None:
    assert refused(tmp_path, body) == [expected]


def test_all_problems_are_collected(tmp_path: Path) -> None:
    lines = refused(
        tmp_path,
        'course = 1\n["practical-1".trace]\nlearning_rate = -1\nbogus = 2\nw = [1, 2]\n'
        "samples = []\n",
    )
    assert len(lines) == 5
    assert lines[0].startswith("course:")
    assert any(line.startswith("practical-1.trace.bogus: unknown key") for line in lines)
    assert any(
        line.startswith("practical-1.trace.learning_rate: expected a number > 0") for line in lines
    )
    assert any(
        line.startswith("practical-1.trace.w: expected a list of 3 numbers") for line in lines
    )
    assert any(line.startswith("practical-1.trace.samples: expected a non-empty") for line in lines)


def test_toml_syntax_error_names_file_line_column(tmp_path: Path) -> None:
    p = write(tmp_path, 'course = "c"\n["practical-1".trace]\nlearning_rate = = 0.1\n')
    with pytest.raises(UsageError) as e:
        load_term("x", ASSIGNMENTS, directory=tmp_path / "terms")
    msg = str(e.value)
    assert msg.startswith(f"{p}:3:17: TOML syntax error: "), msg
    assert "\n" not in msg


def test_unterminated_file_is_a_syntax_error(tmp_path: Path) -> None:
    write(tmp_path, 'course = "c')
    with pytest.raises(UsageError, match=r"x\.toml:\d+:\d+: TOML syntax error"):
        load_term("x", ASSIGNMENTS, directory=tmp_path / "terms")


def test_missing_term_lists_available_terms(tmp_path: Path) -> None:
    write(tmp_path, 'course = "c"\n', name="2025-summer")
    with pytest.raises(UsageError) as e:
        load_term("nope", ASSIGNMENTS, directory=tmp_path / "terms")
    msg = str(e.value)
    assert "nope.toml: no such term file" in msg
    assert "available terms: 2025-summer, default" in msg


def test_bad_term_name(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="bad term name"):
        load_term("x y", ASSIGNMENTS, directory=tmp_path)


def test_cli_style_failure_has_no_traceback(tmp_path: Path) -> None:
    """The errors carry their message and exit code; nothing but the message is needed."""
    write(tmp_path, '["practical-1".trace]\nlearning_rate = "x"\n')
    with pytest.raises(UsageError) as e:
        load_term("x", ASSIGNMENTS, directory=tmp_path / "terms")
    assert e.value.__cause__ is None
    assert e.value.__suppress_context__ or e.value.__context__ is None


# --------------------------------------------------------------------------- merge and defaults


def test_default_term_is_the_original_numbers(tmp_path: Path) -> None:
    term = load_term("default", ASSIGNMENTS, directory=tmp_path / "none")
    assert term.name == "default" and term.label == "default" and term.seed is None
    assert term.params["practical-1"] == P1_PARAMETERS
    assert term.params["cv-assignment9"] == {}
    assert term.source_path is None


def test_deep_merge_keeps_defaults(tmp_path: Path) -> None:
    write(
        tmp_path,
        'course = "NN 101"\nlabel = "Winter"\n["practical-1".trace]\nlearning_rate = 1\n'
        '["practical-1".hinge]\nmargin = 0.5\n',
    )
    term = load_term("x", ASSIGNMENTS, directory=tmp_path / "terms")
    assert (term.course, term.label) == ("NN 101", "Winter")
    got = term.params["practical-1"]
    want = copy.deepcopy(P1_PARAMETERS)
    want["trace"]["learning_rate"] = 1.0
    want["hinge"]["margin"] = 0.5
    assert got == want
    assert isinstance(got["trace"]["learning_rate"], float)  # normalized: hash is stable
    assert P1_PARAMETERS["trace"]["learning_rate"] == 0.2  # defaults untouched


def test_list_of_records_may_change_length(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[["practical-1".trace.samples]]\nx = [0.1, 0.2]\ny = 1\n'
        '[["practical-1".trace.samples]]\nx = [0.3, -0.2]\ny = -1.0\n',
    )
    term = load_term("x", ASSIGNMENTS, directory=tmp_path / "terms")
    assert term.params["practical-1"]["trace"]["samples"] == [
        {"x": [0.1, 0.2], "y": 1.0},
        {"x": [0.3, -0.2], "y": -1.0},
    ]


def test_any_length_list(tmp_path: Path) -> None:
    write(tmp_path, '["practical-1".hinge]\nscores = [1, 2, 3, 4]\n')
    term = load_term("x", ASSIGNMENTS, directory=tmp_path / "terms")
    assert term.params["practical-1"]["hinge"]["scores"] == [1.0, 2.0, 3.0, 4.0]


def test_path_instead_of_name(tmp_path: Path) -> None:
    p = write(tmp_path, 'label = "L"\n', name="spring")
    term = load_term(p, ASSIGNMENTS)
    assert (term.name, term.label, term.source_path) == ("spring", "L", p)


def test_rules_vocabulary() -> None:
    assert between(0, 1).check(0.5) and not between(0, 1).check(1.5)
    assert between(0, 1).expected == "a number between 0 and 1"
    assert check_constraint_keys(P1_PARAMETERS, _p1().constraints) == []
    assert check_constraint_keys(P1_PARAMETERS, {"trace.lr": positive()}) == ["trace.lr"]


def test_parameter_hash_is_canonical() -> None:
    a = {"b": [1.0, 2.0], "a": {"y": 1, "x": 0.5}}
    b = {"a": {"x": 0.5, "y": 1}, "b": (1.0, 2.0)}
    assert parameter_hash(a) == parameter_hash(b)
    assert len(parameter_hash(a)) == 16
    assert parameter_hash(a) != parameter_hash({**a, "b": [1.0, 2.5]})


def test_deep_merge() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": 3}, "d": [2, 3]}) == {
        "a": {"b": 3, "c": 2},
        "d": [2, 3],
    }


# --------------------------------------------------------------------------- draws


def test_original_numbers_are_instructive() -> None:
    assert p1draw.instructive(P1_PARAMETERS) == []


def test_the_trace_matches_a_hand_step() -> None:
    """First update of the original trace, by hand: s = x W, z = relu(s), s_out = w . z."""
    row = compute_trace(P1_PARAMETERS["trace"])[0]
    np.testing.assert_allclose(row["s_hidden"], [0.458, 0.869, 0.704])
    s_out = 0.02 * 0.458 + 0.03 * 0.869 + 0.09 * 0.704
    assert row["s_out"] == pytest.approx(s_out)
    assert row["delta_out"] == pytest.approx(s_out - 1.0)
    assert len(compute_trace(P1_PARAMETERS["trace"])) == 9


def test_same_seed_same_file(tmp_path: Path) -> None:
    a = new_term("t", 7, ASSIGNMENTS, tmp_path / "a", course="NN")
    b = new_term("t", 7, ASSIGNMENTS, tmp_path / "b", course="NN")
    assert a.read_bytes() == b.read_bytes()
    c = new_term("t", 8, ASSIGNMENTS, tmp_path / "c", course="NN")
    assert a.read_bytes() != c.read_bytes()


def test_new_term_file_loads_and_records_seed(tmp_path: Path) -> None:
    p = new_term("w26", 2026, ASSIGNMENTS, tmp_path, course="NN", label="Winter 2026")
    text = p.read_text()
    assert text.startswith("# Term 'w26'")
    data = tomllib.loads(text)
    assert data["seed"] == 2026 and data["course"] == "NN" and data["label"] == "Winter 2026"
    assert "cv-assignment9" not in data  # nothing to draw: originals kept
    term = load_term("w26", ASSIGNMENTS, directory=tmp_path)
    assert term.seed == 2026
    trace = term.params["practical-1"]["trace"]
    assert trace["iterations"] == 3
    for v in [*np.ravel(trace["W"]), *trace["w"], *(x for s in trace["samples"] for x in s["x"])]:
        assert round(v, 2) == v
    assert p1draw.instructive(term.params["practical-1"]) == []


def test_a_term_that_does_not_mention_a_drawing_assignment_says_it_is_unnumbered(
    tmp_path: Path,
) -> None:
    write(tmp_path, 'label = "L"\n', "bare")
    assert load_term("bare", ASSIGNMENTS, directory=tmp_path / "terms").unnumbered == (
        "practical-1",  # it draws numbers; cv-assignment9 does not, so it is not listed
    )
    new_term("full", 7, ASSIGNMENTS, tmp_path / "terms")
    assert load_term("full", ASSIGNMENTS, directory=tmp_path / "terms").unnumbered == ()
    assert load_term("default", ASSIGNMENTS, directory=tmp_path / "terms").unnumbered == ()


def test_new_term_refuses_to_replace_other_numbers(tmp_path: Path) -> None:
    new_term("t", 1, ASSIGNMENTS, tmp_path)
    new_term("t", 1, ASSIGNMENTS, tmp_path)  # same content: fine
    with pytest.raises(UsageError, match="exists with other numbers"):
        new_term("t", 2, ASSIGNMENTS, tmp_path)
    new_term("t", 2, ASSIGNMENTS, tmp_path, overwrite=True)
    assert tomllib.loads((tmp_path / "t.toml").read_text())["seed"] == 2


def test_new_term_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="bad term name"):
        new_term("default", 1, ASSIGNMENTS, tmp_path)
    with pytest.raises(UsageError, match="seed"):
        new_term("t", -3, ASSIGNMENTS, tmp_path)


def test_exhausted_draws_are_a_clear_error() -> None:
    src = SimpleNamespace(
        parameters={"a": 1.0},
        constraints={},
        draw=lambda rng: {"a": round(float(rng.uniform()), 2)},
        instructive=lambda p: ["never good enough"],
    )
    with pytest.raises(UsageError, match=r"no instructive draw in 1000 attempts.*never good"):
        draw_params("toy", src, {"a": 1.0}, [1])


def test_invalid_draw_is_a_bug_not_a_usage_error() -> None:
    src = SimpleNamespace(
        parameters={"a": 1.0}, constraints={}, draw=lambda rng: {"b": 1.0}, instructive=None
    )
    with pytest.raises(AnswerkeyError, match=r"toy.b: unknown key") as e:
        draw_params("toy", src, {"a": 1.0}, [1])
    assert not isinstance(e.value, UsageError)


# --------------------------------------------------------------------------- variants


def test_variants_are_reproducible_and_differ(tmp_path: Path) -> None:
    new_term("t", 11, ASSIGNMENTS, tmp_path)
    term = load_term("t", ASSIGNMENTS, directory=tmp_path)
    vs = [variant_params(term, "practical-1", k) for k in (1, 2, 3)]
    again = load_term("t", ASSIGNMENTS, directory=tmp_path)
    assert vs == [variant_params(again, "practical-1", k) for k in (1, 2, 3)]
    hashes = {parameter_hash(v) for v in vs}
    assert len(hashes) == 3
    for v in vs:
        assert p1draw.instructive(v) == []
        assert v["hinge"] == term.params["practical-1"]["hinge"]
    assert varies(term, "practical-1") and not varies(term, "cv-assignment9")
    assert variant_params(term, "cv-assignment9", 2) == term.params["cv-assignment9"]


def test_variant_keeps_the_terms_iterations(tmp_path: Path) -> None:
    write(tmp_path, 'seed = 5\n["practical-1".trace]\niterations = 2\n')
    term = load_term("x", ASSIGNMENTS, directory=tmp_path / "terms")
    assert variant_params(term, "practical-1", 1)["trace"]["iterations"] == 2


def test_the_pool_of_variants_is_kept_in_the_term_file(tmp_path: Path) -> None:
    write(tmp_path, "seed = 5\npool = 1\n")
    assert load_term("x", ASSIGNMENTS, directory=tmp_path / "terms").pool == 1
    write(tmp_path, "seed = 5\npool = 500\n")
    assert load_term("x", ASSIGNMENTS, directory=tmp_path / "terms").pool == 500
    write(tmp_path, "seed = 5\n")
    assert load_term("x", ASSIGNMENTS, directory=tmp_path / "terms").pool is None


def test_variants_need_a_seed(tmp_path: Path) -> None:
    term = load_term("default", ASSIGNMENTS, directory=tmp_path)
    with pytest.raises(UsageError, match="has no seed"):
        variant_params(term, "practical-1", 1)
    with pytest.raises(UsageError, match=">= 1"):
        variant_params(term, "practical-1", 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**63 - 1), k=st.integers(1, 500))
def test_every_kept_draw_is_instructive(seed: int, k: int) -> None:
    """Property: whatever the seed, the kept draw validates and passes `instructive`."""
    src = _p1()
    drawn, merged = draw_params("practical-1", src, P1_PARAMETERS, [seed, k])
    assert p1draw.instructive(merged) == []
    assert merged == deep_merge(P1_PARAMETERS, drawn)
    assert set(drawn) == {"trace"}


# --------------------------------------------------------------------------- the repository's terms


def test_repository_terms_load() -> None:
    """Every terms/*.toml in the repository validates against the real solution modules."""
    from answerkey.registry import discover

    modules: dict[str, Any] = dict(discover())
    modules.setdefault("practical-1", _p1())  # until solutions/practical_1.py lands
    for p in sorted((REPO / "terms").glob("*.toml")):
        term = load_term(p, modules)
        assert term.name == p.stem


def test_real_practical_1_matches_the_draw_contract() -> None:
    """Once solutions/practical_1.py exists, its PARAMETERS accept our draws."""
    from answerkey.registry import discover

    modules = discover()
    if "practical-1" not in modules:
        pytest.skip("solutions/practical_1.py not there yet")
    m = modules["practical-1"]
    assert check_constraint_keys(m.parameters, m.constraints) == []
    _, merged = draw_params("practical-1", m, m.parameters, [2026])
    assert p1draw.instructive(merged) == []


def test_draw_fits_integer_targets_too() -> None:
    """Whether PARAMETERS writes the targets as 1 or 1.0, the draw validates."""
    params = copy.deepcopy(P1_PARAMETERS)
    for s in params["trace"]["samples"]:
        s["y"] = int(s["y"])
    _, merged = draw_params("practical-1", _p1(), params, [3])
    assert all(isinstance(s["y"], int) for s in merged["trace"]["samples"])


def test_constraint_typo_is_a_bug(tmp_path: Path) -> None:
    src = SimpleNamespace(parameters={"a": 1.0}, constraints={"b": positive()})
    with pytest.raises(AnswerkeyError, match="CONSTRAINTS name no parameter: b"):
        load_term("default", {"toy": src}, directory=tmp_path)


def test_wildcard_constraint(tmp_path: Path) -> None:
    src = SimpleNamespace(parameters={"s": [{"y": 1.0}]}, constraints={"s.*.y": between(-1, 1)})
    write(tmp_path, "[[toy.s]]\ny = 0.5\n[[toy.s]]\ny = 2\n")
    with pytest.raises(UsageError) as e:
        load_term("x", {"toy": src}, directory=tmp_path / "terms")
    assert str(e.value).endswith("toy.s[1].y: expected a number between -1 and 1, got 2.0")


def test_rounded_writes_drawn_numbers_as_a_term_does() -> None:
    from answerkey.terms import rounded

    assert rounded(np.array([[0.123, -0.004], [1.005, 2.0]])) == [[0.12, 0.0], [1.0, 2.0]]
    assert str(rounded(np.array([-0.001]))[0]) == "0.0"  # no negative zero
    assert rounded(0.12345, 3) == 0.123


@pytest.mark.parametrize("name", ["spring\n", "spr\ting", "s" * 65])
def test_new_term_refuses_a_name_with_a_control_character_or_too_long(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(UsageError, match="bad term name"):
        terms.new_term(name, 1, {}, tmp_path)
    assert not any(tmp_path.iterdir())


def test_new_term_never_writes_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    (tmp_path / "terms").mkdir()
    for planted in (".spring.toml.tmp", f".spring.toml.partial-{os.getpid()}"):
        (tmp_path / "terms" / planted).symlink_to(target)
    path = terms.new_term("spring", 1, {}, tmp_path / "terms")
    assert not target.exists()
    assert not path.is_symlink() and "seed = 1" in path.read_text()
