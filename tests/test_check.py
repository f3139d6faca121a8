"""`answerkey check`: a claimed answer is graded against the verified key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from answerkey import check, cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_equal_answer_in_another_form_is_correct(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "cv-assignment9", "1b", "--answer", r"-tW(1-\sigma(Wx))")
    assert code == 0
    assert out.startswith("correct")
    assert "read as:" in out


def test_a_wrong_answer_gets_a_counterexample(capsys: pytest.CaptureFixture[str]) -> None:
    seed_1b = r"\frac{-t * W * e^{e^{-Wx}}}{1 + e^{-Wx}}"
    code, out, _ = run(capsys, "check", "cv-assignment9", "1b", "--answer", seed_1b)
    assert code == 1
    assert out.startswith("incorrect")
    assert "counterexample: at W=" in out and "claim = " in out and "key = " in out


def test_a_typical_mistake_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "cv-assignment9", "1b", "--answer", r"tW(1-\sigma(Wx))")
    assert code == 1
    assert "typical mistake: sign flipped" in out


def test_the_other_layout_is_its_own_verdict_and_the_course_decides(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A column where the key writes a row is "transposed" (equal up to layout): accepted
    with a note by default (bce-tanh-sigmoid), refused where the assignment asks for its
    layout (cv-assignment9 states its rows: `Grading(layout="refuse")`)."""
    column = r"y^{(2)} - t"
    code, out, _ = run(capsys, "check", "bce-tanh-sigmoid", "a", "--answer", column)
    assert code == 0
    assert out.startswith("transposed: equal up to layout (transposed)")
    assert "a column where the key writes a row" in out and "note: accepted" in out
    code, out, _ = run(capsys, "check", "cv-assignment9", "2", "--answer", column)
    assert code == 1
    assert out.startswith("transposed:") and "note: not accepted" in out
    code, out, _ = run(capsys, "check", "cv-assignment9", "3", "--answer", r"W^{(2)T}(y^{(2)} - t)")
    assert code == 1 and out.startswith("transposed:")
    # a wrong column is no layout question
    code, out, _ = run(capsys, "check", "bce-tanh-sigmoid", "a", "--answer", r"t - y^{(2)}")
    assert code == 1 and out.startswith("incorrect")


def test_unreadable_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "cv-assignment9", "1a", "--answer", r"\frac{-tW")
    assert code == 2
    assert out.strip().count("\n") == 0 and out.startswith("unreadable")
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "cv-assignment9", "12", "--answer", "x"],
        ["check", "no-such-assignment", "1a", "--answer", "x"],
        ["check", "cv-assignment9", "1a"],
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("answerkey: error:") and err.count("\n") == 1


def test_a_claims_file_gives_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claims = tmp_path / "claims.toml"
    claims.write_text(
        'assignment = "cv-assignment9"\n'
        "[[claim]]\npart = \"1a\"\nanswer = '\\log(1 + e^{-Wx})'\n"
        "[[claim]]\npart = \"1b\"\nanswer = '-tW'\n"
    )
    code, out, _ = run(capsys, "check", "--claims", str(claims))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split() == ["part", "verdict", "counterexample", "/", "reason"]
    assert lines[1].split()[:2] == ["1a", "correct"]
    assert lines[2].split()[:2] == ["1b", "incorrect"]


def test_the_key_is_verified_before_it_grades() -> None:
    assignment = check.key_assignment("cv-assignment9")
    part = check.verified_part(assignment, "1a")
    assert part.checks and all(c.kind for c in part.checks)


def test_quantity_picks_one_of_a_parts_answers(capsys: pytest.CaptureFixture[str]) -> None:
    answer = r"\lambda W^{(1)} + \frac{\partial E}{\partial W^{(1)}}"
    q1 = r"\frac{\partial E_{\lambda}}{\partial W^{(1)}}"
    code, out, _ = run(capsys, "check", "cv-assignment9", "9", "--answer", answer)
    assert code == 0 and "for ∂E_λ/∂W^(1)" in out
    code, out, _ = run(capsys, "check", "cv-assignment9", "9", "--answer", answer, "--quantity", q1)
    assert code == 0
    q2 = r"\frac{\partial E_{\lambda}}{\partial W^{(2)}}"
    code, out, _ = run(capsys, "check", "cv-assignment9", "9", "--answer", answer, "--quantity", q2)
    assert code == 1 and out.startswith("incorrect")


def test_a_claims_file_exits_as_the_readme_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0 when every claim is correct, 1 when one is incorrect, 2 when one is unreadable
    (whatever else the file holds)."""
    right = "[[claim]]\npart = \"1a\"\nanswer = '\\log(1 + e^{-Wx})'\n"
    wrong = "[[claim]]\npart = \"1b\"\nanswer = '-tW'\n"
    unread = "[[claim]]\npart = \"1b\"\nanswer = '\\frac{-tW'\n"
    for body, want in ((right, 0), (right + wrong, 1), (right + unread, 2), (wrong + unread, 2)):
        claims = tmp_path / "claims.toml"
        claims.write_text('assignment = "cv-assignment9"\n' + body)
        code, _, _ = run(capsys, "check", "--claims", str(claims))
        assert code == want, body


def test_the_readmes_claims_file_grades_as_documented(tmp_path: Path) -> None:
    """The documented example (docs/examples/answers.toml): formulas and a trace's number
    by its label are graded; the prose answer without a formula is unreadable (so the file
    exits 2)."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    page = (docs / "how-to" / "claims-file.md").read_text(encoding="utf-8")
    assert '--8<-- "docs/examples/answers.toml"' in page  # the page shows this very file
    path = tmp_path / "answers.toml"
    path.write_text((docs / "examples" / "answers.toml").read_text(encoding="utf-8"))
    statuses = [(c.part, c.kind, v.status) for c, v in check.grade_file(path)]
    assert statuses == [
        ("1c", "formula", "correct"),
        ("1c", "formula", "correct"),
        ("2", "numeric", "correct"),
        ("3a", "text", "unreadable"),
    ]


def test_every_printed_number_is_gradable_by_its_label(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A worked example's and a trace's numbers, by the ledger's label (no author code):
    the label's last part, with --update for a trace; a label that names nothing, or
    several numbers without the update, is one line (exit 2)."""
    code, out, _ = run(
        capsys, "check", "bce-tanh-sigmoid", "c", "--quantity", "W1'", "--answer",
        "[[0.5998, -0.3499], [0.1186, 0.8407], [-0.5572, 0.0786]]",
    )  # fmt: skip
    assert code == 0 and out.startswith("correct")
    code, out, _ = run(capsys, "check", "bce-tanh-sigmoid", "c", "--quantity", "E", "--answer", "1")
    assert code == 1 and out.startswith("incorrect")
    code, out, _ = run(
        capsys,
        "check",
        "practical-1",
        "2",
        "--quantity",
        "L",
        "--update",
        "7",
        "--answer",
        "0.1362",
    )
    assert code == 0
    code, _, err = run(capsys, "check", "practical-1", "2", "--quantity", "L", "--answer", "0.1")
    assert code == 2 and "say which update" in err and err.count("\n") == 1
    code, _, err = run(capsys, "check", "bce-tanh-sigmoid", "c", "--quantity", "Q", "--answer", "1")
    assert code == 2 and "prints no number labelled 'Q'" in err


def test_check_claims_takes_its_worker_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = tmp_path / "claims.toml"
    claims.write_text('assignment = "cv-assignment9"\n[[claim]]\npart = "1b"\nanswer = \'-tW\'\n')
    code, out, _ = run(capsys, "check", "--claims", str(claims), "-j", "1")
    assert code == 1 and out.splitlines()[1].split()[:2] == ["1b", "incorrect"]
    code, _, err = run(capsys, "check", "--claims", str(claims), "-j", "0")
    assert code == 2 and "--jobs must be >= 1" in err


# --------------------------------------------------------------------------- the topics'
# exercises: real claims graded against their keys (the numbers recomputed here with NumPy,
# apart from the engine); each named mistake refused with its name, right answers accepted
# in several notations, and `answerkey grade` saying claim for claim what check says

from answerkey.claims import mistakes as named  # noqa: E402
from answerkey.registry import discover  # noqa: E402
from answerkey.terms import load_term, variant_params  # noqa: E402


def _written(a: Any) -> str:
    """Numbers as a student writes them: four decimals."""
    arr = np.round(np.asarray(a, dtype=float), 4) + 0.0
    return str(arr.tolist()) if arr.size > 1 else f"{float(arr.reshape(-1)[0]):.4f}"


def _bptt(p: dict[str, Any]) -> dict[str, float]:
    w, u, b, y = (float(p[k]) for k in ("w", "u", "b", "y"))
    xs, h = [0.0, *map(float, p["x"])], [float(p["h_0"])]
    for t in (1, 2, 3):
        h.append(np.tanh(w * h[t - 1] + u * xs[t] + b))
    dh = {3: h[3] - y}
    for t in (2, 1):
        dh[t] = dh[t + 1] * (1 - h[t + 1] ** 2) * w
    local = {t: dh[t] * (1 - h[t] ** 2) for t in (1, 2, 3)}
    return {
        "w": sum(local[t] * h[t - 1] for t in (1, 2, 3)),
        "w last": local[3] * h[2],
        "u": sum(local[t] * xs[t] for t in (1, 2, 3)),
    }


def _batchnorm(p: dict[str, Any]) -> dict[str, np.ndarray]:
    x, g = np.array(p["x"], dtype=float), np.array(p["g"], dtype=float)
    s = np.sqrt(x.var() + float(p["epsilon"]))
    z, k = (x - x.mean()) / s, float(p["gamma"]) / s
    return {
        "x": k * (g - g.mean() - (g * z).mean() * z),
        "x no mean": k * (g - (g * z).mean() * z),
        "x constants": k * g,
    }


def _cnn(p: dict[str, Any]) -> dict[str, np.ndarray]:
    x, k = np.array(p["X"], dtype=float), np.array(p["K"], dtype=float)
    z = np.array(
        [[(x[i : i + 3, j : j + 3] * k).sum() + float(p["b"]) for j in range(2)] for i in range(2)]
    )
    a = np.maximum(z, 0.0)
    top = a.max()
    d_p = top - float(p["t"])
    d_a = np.where(a == top, d_p, 0.0)
    delta = d_a * (z > 0)

    def scatter(d: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        out = np.zeros((4, 4))
        for i in range(2):
            for j in range(2):
                out[i : i + 3, j : j + 3] += d[i, j] * kernel
        return out

    return {
        "A": d_a,
        "A every": np.full((2, 2), d_p),
        "X": scatter(delta, k),
        "X unflipped": scatter(delta, k[::-1, ::-1]),
    }


def _printing(assignment_id: str, label: str, term: str = "default", variant: int = 0) -> str:
    """The part whose key prints the number labelled `label` (found, not assumed)."""
    from answerkey.numbers import ledger

    assignment = check.key_assignment(assignment_id, term, variant)
    (part,) = {e["part"] for e in ledger(assignment) if str(e["label"]).endswith(label)}
    return str(part)


def _label(assignment_id: str, ending: str) -> str:
    """The whole label of the number whose label ends with `ending`."""
    from answerkey.numbers import ledger

    (label,) = {
        str(e["label"])
        for e in ledger(check.key_assignment(assignment_id))
        if str(e["label"]).endswith(ending)
    }
    return label


def _deriving(assignment_id: str, quantity: str) -> str:
    """The first part whose key derives `quantity` (LaTeX)."""
    from answerkey.claims import KeyAnswer

    assignment = check.key_assignment(assignment_id)
    found = [
        p.id
        for p in assignment.parts()
        if p.derivations
        and KeyAnswer.from_part(p, notation=assignment.notation, quantity=quantity) is not None
    ]
    assert found, quantity
    return found[0]


def _claims_file(tmp_path: Path, assignment: str, claims: list[tuple[str, str, str]]) -> Path:
    body = [f"assignment = {assignment!r}"]
    for part, quantity, answer in claims:
        kind = "\nkind = 'numeric'" if quantity else ""
        q = f"\nquantity = '''{quantity}'''" if quantity else ""
        body.append(f"[[claim]]\npart = {part!r}{kind}{q}\nanswer = '''{answer}'''")
    path = tmp_path / f"{assignment}.toml"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    return path


def _grade_both(path: Path, term: str = "default", variant: int = 0) -> list[Any]:
    """The verdicts of `check --claims` (one process, and on two), each equal to what
    `answerkey grade` gives the same answers handed in by a student."""
    from answerkey import gradebook
    from answerkey.claims import load_claims
    from answerkey.submissions import Submission

    alone = check.grade_file(path, term=term, variant=variant)
    fast = gradebook.grade_claims_file(path, term=term, variant=variant, workers=2)
    assert [v.lines() for _, v in fast] == [v.lines() for _, v in alone]
    claims = load_claims(path)
    student = Submission("s", tuple(claims.claims))
    book = gradebook.grade_class(claims.assignment or "", [student], term, variant, workers=2)
    graded = {g.claim: g.verdict.lines() for p in book.students[0].parts for g in p.graded}
    assert graded == {c: v.lines() for c, v in alone}
    return [v for _, v in alone]


LAST = named.LAST_STEP_ONLY.format(t=3)


def test_bptt_claims_against_the_key(tmp_path: Path) -> None:
    p = discover()["bptt-three-steps"].parameters
    n = _bptt(p)
    right = [
        r"\frac{\partial E}{\partial w} = \sum_{t=1}^{3} \frac{\partial E}{\partial h_t}"
        r" (1 - h_t^2) h_{t-1}",
        r"\frac{\partial E}{\partial w} = (h_3 - y) \sum_{t=1}^{T} h_{t-1} (1 - h_t^2)"
        r" \prod_{k=t+1}^{T} w (1 - h_k^2)",
        r"\frac{\partial E}{\partial u} = \sum_{t=1}^{T} x_t (1-h_t^2)"
        r" \frac{\partial E}{\partial h_t}",
        r"\frac{\partial E}{\partial u} = (h_3 - y)(1 - h_3^2)(x_3 + w (1 - h_2^2)"
        r"(x_2 + w (1 - h_1^2) x_1))",
    ]
    wrong = [
        r"\frac{\partial E}{\partial w} = (h_3 - y)(1 - h_3^2) h_2",
        r"\frac{\partial E}{\partial u} = \frac{\partial E}{\partial h_3} (1 - h_3^2) x_3",
    ]
    b = _deriving("bptt-three-steps", r"\frac{\partial E}{\partial w}")
    d = _printing("bptt-three-steps", ": D(E, w)")
    claims = [(b, "", c) for c in right + wrong]
    claims += [(d, "D(E, w)", _written(n["w"])), (d, "D(E, w)", _written(n["w last"]))]
    claims += [(d, "D(E, u)", _written(n["u"]))]
    verdicts = _grade_both(_claims_file(tmp_path, "bptt-three-steps", claims))
    assert [v.accepted for v in verdicts] == [True] * 4 + [False, False, True, False, True]
    assert [v.mistake for v in verdicts if not v.accepted] == [LAST] * 3


def test_batchnorm_claims_against_the_key(tmp_path: Path) -> None:
    p = discover()["batchnorm-backward"].parameters
    n = _batchnorm(p)
    lhs = r"\frac{\partial E}{\partial x} = "
    right = [
        lhs + r"\left(\frac{\gamma}{s}\left(g - \mu_g \mathbf{1} - \mu_{gz} z\right)\right)^T",
        lhs + r"\frac{\gamma}{s}\left(g - \mu_g - \mu_{gz} z\right)",  # the column: accepted
        lhs + r"\frac{\gamma}{\sqrt{\sigma^2 + \epsilon}}\left(g - \mathbb{E}[g]"
        r" - \mathbb{E}[g \circ z] z\right)",
        lhs + r"\frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}}\left(g - \bar{g} - \mu_{gz}"
        r" \hat{x}\right)",
    ]
    wrong = [
        (lhs + r"\frac{\gamma}{s}\left(g - \mu_{gz} z\right)", named.MEAN_TERM),
        (lhs + r"\left(\frac{\gamma}{s}(g - \mu_g \mathbf{1})\right)^T", named.VARIANCE_TERM),
        (lhs + r"\frac{\gamma}{s} g", named.BOTH_TERMS),
    ]
    b = _deriving("batchnorm-backward", r"\frac{\partial E}{\partial x}")
    c = _printing("batchnorm-backward", ": D(E, x)")
    claims = [(b, "", x) for x in right] + [(b, "", x) for x, _ in wrong]
    claims += [(c, "D(E, x)", _written(n["x"])), (c, "D(E, x)", _written(n["x no mean"]))]
    claims += [(c, "D(E, x)", _written(n["x constants"]))]
    verdicts = _grade_both(_claims_file(tmp_path, "batchnorm-backward", claims))
    assert [v.accepted for v in verdicts] == [True] * 4 + [False] * 3 + [True, False, False]
    mistakes = [name for _, name in wrong] + [named.MEAN_TERM, named.BOTH_TERMS]
    assert [v.mistake for v in verdicts if not v.accepted] == mistakes


def test_cnn_claims_against_the_key(tmp_path: Path) -> None:
    """At a variant whose kernel is not symmetric under rotation (else not flipping it
    changes nothing)."""
    found = discover()
    term = load_term("2026-winter", found)
    variant, p = next(
        (k, q)
        for k in range(1, 20)
        if not np.allclose((q := variant_params(term, "cnn-by-hand", k))["K"], np.rot90(q["K"], 2))
    )
    n = _cnn(p)
    d = _printing("cnn-by-hand", ": D(E, X)", "2026-winter", variant)
    claims = [(d, "D(E, X)", _written(n["X"])), (d, "D(E, X)", _written(n["X unflipped"]))]
    claims += [(d, "D(E, A)", _written(n["A"])), (d, "D(E, A)", _written(n["A every"]))]
    path = _claims_file(tmp_path, "cnn-by-hand", claims)
    verdicts = _grade_both(path, "2026-winter", variant)
    assert [v.accepted for v in verdicts] == [True, False, True, False]
    assert verdicts[1].mistake == named.NOT_FLIPPED.format(k="K")
    assert verdicts[3].mistake == named.EVERY_POOLED


def test_init_variance_and_attention_in_the_courses_notation() -> None:
    a = _deriving("init-variance", "V_z")
    for answer in (
        r"\operatorname{Var}(z) = n \operatorname{Var}(w) \operatorname{Var}(x)",
        r"n \sigma_w^2 \sigma_x^2",
        r"V_z = n V_w V_x",
    ):
        assert check.grade_one("init-variance", a, answer).correct, answer
    dropped = check.grade_one("init-variance", a, r"\operatorname{Var}(w) \operatorname{Var}(x)")
    assert dropped.status == "incorrect" and dropped.mistake == "dropped the factor n"
    for answer in (
        r"\frac{1}{\sqrt{d}} g^T V^T (\operatorname{diag}(a) - a a^T) K",
        r"\frac{\partial E}{\partial q} = "
        r"\frac{g^\top V^\top (\text{diag}(a) - a a^\top) K}{\sqrt{d}}",
    ):
        c = _deriving("attention-by-hand", r"\frac{\partial E}{\partial q}")
        assert check.grade_one("attention-by-hand", c, answer).correct, answer


def test_adam_claims_against_the_key(tmp_path: Path) -> None:
    """m̂_1 given m_1's number is a missing bias correction; m̂_1 itself (g_1, as the
    correction makes the first estimate) is accepted. NumPy recomputes the numbers."""
    p = discover()["optimizer-comparison"].parameters
    x0, a = float(p["start"][0]), float(p["curvature"][0])
    g = a * x0  # the gradient of (a x^2 + b y^2) / 2 by x at the start
    m1 = (1 - float(p["beta1"])) * g
    label = _label("optimizer-comparison", r"for x, update 1: \hat{m}_1")
    c = _printing("optimizer-comparison", label)
    claims = [(c, label, _written(g)), (c, label, _written(m1))]
    verdicts = _grade_both(_claims_file(tmp_path, "optimizer-comparison", claims))
    assert [v.accepted for v in verdicts] == [True, False]
    assert verdicts[1].mistake == named.NO_BIAS_CORRECTION.format(m="m_1", d="1 - β^t")
