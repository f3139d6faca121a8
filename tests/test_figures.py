"""Network diagrams and the loss curve: TikZ compiles, SVG is sound, output is deterministic."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import needs_pdflatex

import solutions.cv_assignment9 as cv
import solutions.practical_1 as practical_1
from answerkey import figures as F
from answerkey import printing
from answerkey.quantity import fixed

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

W0 = [[0.6, 0.7, 0.0], [0.01, 0.43, 0.88]]
w0 = [0.02, 0.03, 0.09]
LOSSES = [0.40627, 0.448422, 0.670774, 0.24744, 0.412865, 0.618089, 0.136201, 0.381699, 0.574748]
SAMPLES = [1, 2, 3] * 3
SVG_NS = "{http://www.w3.org/2000/svg}"


def all_figures() -> list[F.Figure]:
    return [
        F.network_figure("cv-assignment9-network", cv.network_diagram()),
        F.network_figure("practical-1-ex1-chain", practical_1.chain_network()),
        F.network_figure("practical-1-ex2-network", practical_1.trace_network(W0, w0)),
        F.loss_curve_figure("practical-1-ex2-loss", LOSSES, SAMPLES),
        F.loss_curve_figure("loss-plain", LOSSES),
    ]


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode())
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


# --- TikZ -------------------------------------------------------------------


@needs_pdflatex
@pytest.mark.parametrize("fig", all_figures(), ids=lambda f: f.name)
def test_tikz_compiles_in_a_minimal_document(fig: F.Figure, tmp_path: Path) -> None:
    doc = (
        "\\documentclass{article}\n"
        + F.TIKZ_PREAMBLE
        + "\\pagestyle{empty}\n\\begin{document}\n"
        + fig.tikz
        + "\\end{document}\n"
    )
    (tmp_path / "fig.tex").write_text(doc, encoding="utf-8")
    run = subprocess.run(
        [
            "pdflatex",
            "-no-shell-escape",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "fig.tex",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "fig.pdf").stat().st_size > 1000
    log = (tmp_path / "fig.log").read_text(encoding="latin-1")
    assert "Overfull \\hbox" not in log, "figure wider than an article's text"
    if shutil.which("pdftoppm"):  # the PNG one looks at; not required
        subprocess.run(
            ["pdftoppm", "-png", "-r", "100", "fig.pdf", "fig"], cwd=tmp_path, check=True
        )
        assert list(tmp_path.glob("fig*.png"))


def test_tikz_uses_no_external_files_or_libraries_beyond_the_preamble() -> None:
    for fig in all_figures():
        assert "\\includegraphics" not in fig.tikz and "\\input" not in fig.tikz
        assert "\\usetikzlibrary" not in fig.tikz
        assert fig.tikz.count("\\begin{tikzpicture}") == 1
        assert fig.tikz.rstrip().endswith("\\end{tikzpicture}")


# --- SVG --------------------------------------------------------------------


@pytest.mark.parametrize("fig", all_figures(), ids=lambda f: f.name)
def test_svg_is_well_formed_and_self_contained(fig: F.Figure) -> None:
    root = ET.fromstring(fig.svg.encode())
    assert root.tag == f"{SVG_NS}svg"
    assert float(root.attrib["width"]) > 100 and float(root.attrib["height"]) > 40
    title = root.find(f"{SVG_NS}title")
    assert title is not None and title.text
    for bad in ("href", "@import", "@font-face", "<image", "<script"):
        assert bad not in fig.svg
    assert fig.svg.count("http") == 1  # the namespace only
    assert fig.svg_filename == f"{fig.name}.svg"
    assert fig.alt


def test_svg_network_shows_layer_names_and_sizes() -> None:
    texts = svg_texts(F.to_svg(cv.network_diagram()))
    for want in ("x", "z(1)", "y(1)", "z(2)", "y(2)", "W(1)", "W(2)", "σ", "softmax"):
        assert want in texts, want
    assert "⋮" in texts
    captions = [t.replace("\u00a0", " ") for t in texts]
    assert "n inputs" in captions and "K classes" in captions


def test_chain_shows_every_symbol() -> None:
    net = practical_1.chain_network()
    texts = svg_texts(F.to_svg(net))
    for want in ("xin", "s1", "f1", "z1", "w2", "s2", "f2", "z2", "Wout", "sout", "f3", "yout"):
        assert want in texts, want
    tikz = F.to_tikz(net)
    for want in ("$x_{\\mathrm{in}}$", "$w_1$", "$f_1$", "$W_{\\mathrm{out}}$", "$f_3$"):
        assert want in tikz


# --- weights ----------------------------------------------------------------


def test_ex2_diagram_shows_the_terms_weights() -> None:
    fig = F.network_figure("ex2", practical_1.trace_network(W0, w0))
    texts = svg_texts(fig.svg)
    for row in W0:
        for v in row:
            assert fixed(v, 2) in texts
            assert f"${fixed(v, 2)}$" in fig.tikz
    for v in w0:
        assert fixed(v, 2) in texts
    assert "0.43" in fig.alt


def test_other_initial_weights_change_the_ex2_diagram() -> None:
    W1 = [[0.25, -0.5, 0.125], [0.9, 0.33, -0.07]]
    w1 = [0.5, -0.25, 0.75]
    old = F.network_figure("ex2", practical_1.trace_network(W0, w0))
    new = F.network_figure("ex2", practical_1.trace_network(W1, w1))
    assert new.tikz != old.tikz and new.svg != old.svg and new.alt != old.alt
    texts = svg_texts(new.svg)
    # 0.125 shows 0.13, as the key's text rounds it (a tie away from zero)
    for shown in ("0.25", "−0.50", "0.13", "0.90", "0.33", "−0.07", "0.50", "−0.25", "0.75"):
        assert shown in texts, shown
    for gone in ("0.60", "0.70", "0.43", "0.88", "0.02", "0.09"):
        assert gone not in texts and f"${gone}$" not in new.tikz
    assert "$-0.50$" in new.tikz


def test_layer_sizes_follow_the_weight_shapes() -> None:
    W = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]  # 3 inputs, 2 hidden units
    net = practical_1.trace_network(W, [0.7, 0.8])
    assert [layer.size for layer in net.layers] == [3, 2, 1]
    assert "3 inputs" in F.describe(net)


def test_weight_labels_do_not_overlap() -> None:
    lay = F.layout(practical_1.trace_network(W0, w0))
    boxes = []
    for lab in lay.labels:
        if lab.font == "small":
            w = len(lab.latex) * 0.12
            boxes.append((lab.x - w / 2, lab.y - 0.15, lab.x + w / 2, lab.y + 0.15))
    assert len(boxes) == 9
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError):
        practical_1.trace_network(W0, [0.1, 0.2])
    with pytest.raises(ValueError):
        F.Network(
            "bad",
            (F.Layer("x", "x", 2), F.Layer("y", "y", 3)),
            (F.Connection("W", "W", [[1.0, 2.0], [3.0, 4.0]]),),
        )
    with pytest.raises(ValueError):
        F.Network("bad", (F.Layer("x", "x", 2), F.Layer("y", "y", 3)), ())


def test_negative_zero_is_shown_as_zero() -> None:
    svg = F.to_svg(practical_1.trace_network([[-0.001, 0.0, 0.0], [0.0, 0.0, 0.0]], [0, 0, 0]))
    assert "−0.00" not in svg and "-0.00" not in svg


def test_a_weight_on_a_tie_shows_as_the_keys_text_prints_it() -> None:
    ties = [[0.125, -0.125, 0.375], [0.625, -0.875, 1.005]]
    fig = F.network_figure("ex2", practical_1.trace_network(ties, [0.045, -0.005, 2.675]))
    texts = svg_texts(fig.svg)
    for v in [*ties[0], *ties[1], 0.045, -0.005, 2.675]:
        text = printing.number(v, 2)  # what the key's prose prints: 0.13, -0.13, 0.38, ...
        assert f"${text}$" in fig.tikz and text.replace("-", "−") in texts, v
    assert "0.12" not in texts and "2.67" not in texts


# --- loss curve -------------------------------------------------------------


def test_loss_curve_content() -> None:
    tikz = F.loss_curve_tikz(LOSSES, SAMPLES)
    assert "(9,0.574748)" in tikz and "xtick={1,2,...,9}" in tikz
    assert tikz.count("\\addlegendentry") == 3
    root = ET.fromstring(F.loss_curve_svg(LOSSES, SAMPLES).encode())
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]
    assert [str(u) for u in range(1, 10)] == [t for t in texts if t.isdigit()]
    assert "update" in texts and "sample 3" in texts
    assert any(t.replace("\u00a0", " ") == "loss L" for t in texts)
    # one line over updates, with one marker per update plus one per legend entry
    assert len(root.findall(f".//{SVG_NS}polyline")) == 1
    markers = (
        len(root.findall(f"{SVG_NS}circle"))
        + len(root.findall(f"{SVG_NS}polygon"))
        + len([r for r in root.findall(f"{SVG_NS}rect") if r.get("fill") == "#cc0000"])
    )
    assert markers == 9 + 3


def test_loss_curve_refuses_mismatched_samples() -> None:
    with pytest.raises(ValueError):
        F.loss_curve_tikz(LOSSES, [1, 2])


# --- determinism ------------------------------------------------------------


def _digest() -> str:
    import hashlib

    h = hashlib.sha256()
    for fig in all_figures():
        h.update(fig.tikz.encode() + fig.svg.encode() + fig.alt.encode())
    return h.hexdigest()


def test_output_is_byte_identical_across_runs_and_processes() -> None:
    assert [(f.tikz, f.svg) for f in all_figures()] == [(f.tikz, f.svg) for f in all_figures()]
    code = "import sys; sys.path[:0] = [sys.argv[1]];import test_figures as t; print(t._digest())"
    tests_dir = str(Path(__file__).parent)
    outs = {
        subprocess.run(
            [sys.executable, "-c", code, tests_dir],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            cwd=Path(__file__).parent.parent,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert outs == {_digest()}
