"""Figures drawn from a network description: TikZ for LaTeX/PDF, SVG for Markdown/HTML.

A `Network` is a renderer-agnostic description (layers, the weight symbol on
each connection, optionally the concrete weights). `layout` turns it into
positions in centimetres once; `to_tikz` and `to_svg` both draw that same
layout, so the two formats always agree. The loss curve has the same pair:
`loss_curve_tikz` (pgfplots) and `loss_curve_svg`.

All output is deterministic: fixed float formatting, no random ids, no dates.

Typical use::

    net = Network(
        "two-layer",
        (Layer("x", "x", 2, unit_name="inputs"), Layer("y", "y", 1, "relu", "s", "s", "output")),
        (Connection("w", "w", ((0.5,), (-0.25,))),),
    )
    fig = network_figure("network", net)
    fig.tikz        # paste into the .tex (needs TIKZ_PREAMBLE)
    fig.svg         # write to fig.svg_filename beside the .md/.html
    fig.alt         # alt text for the Markdown/HTML image link
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from .quantity import fixed

__all__ = [
    "TIKZ_PREAMBLE",
    "Connection",
    "Figure",
    "Layer",
    "Network",
    "describe",
    "loss_curve_figure",
    "loss_curve_svg",
    "loss_curve_tikz",
    "network_figure",
    "to_svg",
    "to_tikz",
]

#: What a LaTeX document needs in its preamble for every figure of this module.
TIKZ_PREAMBLE = (
    "\\usepackage{tikz}\n"
    "\\usetikzlibrary{arrows.meta}\n"
    "\\usepackage{pgfplots}\n"
    "\\pgfplotsset{compat=1.18}\n"
)

# ---------------------------------------------------------------------------
# The description
# ---------------------------------------------------------------------------

Matrix = tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class Layer:
    """One layer of units.

    `label` is LaTeX math (``"y^{(1)}"``), `text` its plain-text form
    (``"y(1)"``, used in alt text). `size` is a unit count or a symbol
    (``"n"``). `activation` is the function that produced this layer
    (``"sigmoid"``, ``"softmax"``, ``"relu"``, ``"f_1"``); when `pre_label`
    names the pre-activation (``"z^{(1)}"``) the layer is drawn as two columns,
    pre-activation and activation, joined by the activation. `glyph` draws an activation
    this module does not know: (LaTeX, plain text, short form inside a unit).
    """

    label: str
    text: str
    size: int | str
    activation: str | None = None
    pre_label: str | None = None
    pre_text: str | None = None
    unit_name: str = "units"
    glyph: tuple[str, str, str] | None = None


def _matrix(weights: Sequence[Sequence[float]] | None) -> Matrix | None:
    if weights is None:
        return None
    return tuple(tuple(float(v) for v in row) for row in weights)


@dataclass(frozen=True)
class Connection:
    """The weights between two consecutive layers.

    `symbol` is LaTeX (``"W^{(1)}"``), `text` plain (``"W(1)"``). `weights`,
    when given, is a matrix with ``weights[i][j]`` the weight from unit i of
    the earlier layer to unit j of the later one; each is shown on its edge.
    """

    symbol: str
    text: str
    weights: Matrix | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", _matrix(self.weights))


@dataclass(frozen=True)
class Network:
    """Ordered layers and the connections between consecutive ones."""

    name: str
    layers: tuple[Layer, ...]
    connections: tuple[Connection, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "connections", tuple(self.connections))
        if len(self.connections) != len(self.layers) - 1:
            raise ValueError(
                f"{self.name}: {len(self.layers)} layers need "
                f"{len(self.layers) - 1} connections, got {len(self.connections)}"
            )
        for k, conn in enumerate(self.connections):
            if conn.weights is None:
                continue
            a, b = self.layers[k].size, self.layers[k + 1].size
            if not isinstance(a, int) or not isinstance(b, int):
                raise ValueError(f"{self.name}: weights need numeric layer sizes")
            shape = (len(conn.weights), *{len(r) for r in conn.weights})
            if shape != (a, b):
                raise ValueError(f"{self.name}: {conn.text} has shape {shape}, expected ({a}, {b})")

    @property
    def is_chain(self) -> bool:
        """Every layer has one unit: drawn as a chain of boxes."""
        return all(layer.size == 1 for layer in self.layers)


@dataclass(frozen=True)
class Figure:
    """A figure in both formats, ready for the templates."""

    name: str
    alt: str
    tikz: str
    svg: str

    @property
    def svg_filename(self) -> str:
        """File name for the SVG beside the Markdown/HTML document."""
        return f"{self.name}.svg"


# ---------------------------------------------------------------------------
# Activations and alt text
# ---------------------------------------------------------------------------

_ACTIVATIONS: dict[str, tuple[str, str, str]] = {
    # name: (LaTeX, plain text, short form inside a unit)
    "sigmoid": ("\\sigma", "sigmoid", "\\sigma"),
    "softmax": ("\\mathrm{softmax}", "softmax", "\\mathrm{sm}"),
    "relu": ("\\mathrm{ReLU}", "ReLU", "\\mathrm{ReLU}"),
    "tanh": ("\\tanh", "tanh", "\\tanh"),
    "identity": ("\\mathrm{id}", "identity", "\\mathrm{id}"),
}
_NOT_ELEMENTWISE = {"softmax"}


def _activation(name: str, glyph: tuple[str, str, str] | None = None) -> tuple[str, str, str]:
    return _ACTIVATIONS.get(name, glyph or (name, name, name))


def _fmt_weight(v: float) -> str:
    """A weight at 2 decimals, rounded as the key's text rounds it (`quantity.fixed`)."""
    return fixed(v, 2)


def _size_text(size: int | str) -> str:
    return str(size)


def describe(network: Network) -> str:
    """Alt text: the network in words, with the weights when given."""
    parts: list[str] = []
    for k, layer in enumerate(network.layers):
        if k:
            conn = network.connections[k - 1]
            parts.append(f"weights {conn.text}")
        if layer.activation and layer.pre_text:
            parts.append(f"{layer.pre_text}")
            parts.append(f"{_activation(layer.activation, layer.glyph)[1]}")
        elif layer.activation:
            parts.append(f"{_activation(layer.activation, layer.glyph)[1]}")
        if network.is_chain:
            parts.append(layer.text)
        else:
            parts.append(f"{layer.text} ({_size_text(layer.size)} {layer.unit_name})")
    text = f"Network diagram: {' → '.join(parts)}."
    for conn in network.connections:
        if conn.weights is not None:
            rows = "; ".join(", ".join(_fmt_weight(v) for v in row) for row in conn.weights)
            text += f" {conn.text} = [{rows}]."
    return text


# ---------------------------------------------------------------------------
# A little LaTeX math for SVG: runs of text with script level and style
# ---------------------------------------------------------------------------

_SYMBOLS = {
    "sigma": "σ",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "Delta": "Δ",
    "eta": "η",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "tanh": "tanh",
    "vdots": "⋮",
    "ldots": "…",
    "cdots": "⋯",
    "cdot": "·",
    "to": "→",
    "top": "T",
}
_UPRIGHT_GROUPS = {"mathrm", "text", "operatorname", "textrm"}


@dataclass(frozen=True)
class _Run:
    text: str
    level: int  # 0 normal, 1 superscript, -1 subscript
    italic: bool


def _parse_math(src: str) -> list[_Run]:
    """Parse a small LaTeX math subset into runs (letters italic, scripts)."""
    runs: list[_Run] = []

    def emit(text: str, level: int, italic: bool) -> None:
        if runs and runs[-1].level == level and runs[-1].italic == italic:
            runs[-1] = _Run(runs[-1].text + text, level, italic)
        else:
            runs.append(_Run(text, level, italic))

    def parse(seg: str, level: int, upright: bool) -> None:
        i = 0
        while i < len(seg):
            c = seg[i]
            if c == "\\":
                j = i + 1
                while j < len(seg) and seg[j].isalpha():
                    j += 1
                name = seg[i + 1 : j] or seg[i + 1 : i + 2]
                j = max(j, i + 2)
                if name in _UPRIGHT_GROUPS and j < len(seg) and seg[j] == "{":
                    end = _group_end(seg, j)
                    parse(seg[j + 1 : end], level, True)
                    i = end + 1
                    continue
                if name in (",", ";", " "):
                    emit(" ", level, False)
                elif name in _SYMBOLS:
                    sym = _SYMBOLS[name]
                    emit(sym, level, not upright and len(sym) == 1 and sym.islower())
                else:
                    emit(name, level, False)
                i = j
            elif c in "_^":
                sub = level + (1 if c == "^" else -1)
                sub = max(-1, min(1, sub)) if level == 0 else level
                if i + 1 < len(seg) and seg[i + 1] == "{":
                    end = _group_end(seg, i + 1)
                    parse(seg[i + 2 : end], sub, upright)
                    i = end + 1
                elif i + 1 < len(seg) and seg[i + 1] == "\\":
                    j = i + 2
                    while j < len(seg) and seg[j].isalpha():
                        j += 1
                    parse(seg[i + 1 : j], sub, upright)
                    i = j
                else:
                    parse(seg[i + 1 : i + 2], sub, upright)
                    i += 2
            elif c == "{":
                end = _group_end(seg, i)
                parse(seg[i + 1 : end], level, upright)
                i = end + 1
            elif c in "}$":
                i += 1
            elif c == " ":
                if upright:
                    emit(" ", level, False)
                i += 1
            elif c == "-":
                emit("−", level, False)
                i += 1
            else:
                emit(c, level, not upright and c.isalpha())
                i += 1

    parse(src, 0, False)
    return runs


def _group_end(seg: str, start: int) -> int:
    depth = 0
    for i in range(start, len(seg)):
        if seg[i] == "{":
            depth += 1
        elif seg[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return len(seg)


def _text_runs(text: str) -> list[_Run]:
    return [_Run(text, 0, False)]


# Approximate advance widths in em (math italic / digits / narrow characters).
_NARROW = set("()[]|.,:;'!il1 ")


def _runs_width(runs: Sequence[_Run], size_cm: float) -> float:
    """Estimated width in cm of `runs` at font size `size_cm`."""
    width = 0.0
    for run in runs:
        scale = 0.7 if run.level else 1.0
        for ch in run.text:
            em = 0.3 if ch in _NARROW else (0.75 if ch in "mwMW" else 0.52)
            width += em * scale * size_cm
    return width


# ---------------------------------------------------------------------------
# Layout (centimetres, y upwards)
# ---------------------------------------------------------------------------

# Font sizes in cm: \small (9pt), \scriptsize (7pt), \footnotesize (8pt) in a 10pt document.
_FONT = 9 / 72.27 * 2.54
_SMALL_FONT = 7 / 72.27 * 2.54
_CAPTION_FONT = 8 / 72.27 * 2.54
_RADIUS = 0.3
_BOX_H = 0.62
_MAX_DRAWN = 5


@dataclass
class _Node:
    x: float
    y: float
    inner: str | None = None  # LaTeX inside the unit/box
    width: float = 2 * _RADIUS


@dataclass
class _Column:
    x: float
    nodes: list[_Node]
    ellipsis_y: float | None
    label: str | None  # header above the column (unit diagrams)


@dataclass
class _Edge:
    src: tuple[int, int]  # (column, node)
    dst: tuple[int, int]


@dataclass
class _Label:
    x: float
    y: float
    latex: str  # math
    font: str  # "normal", "small", "caption"
    white: bool = False
    text_mode: str = ""  # plain words after the math (captions)


@dataclass
class _Layout:
    chain: bool
    columns: list[_Column]
    edges: list[_Edge]
    labels: list[_Label] = field(default_factory=list)
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # xmin, ymin, xmax, ymax


def _slots(size: int | str) -> tuple[int, bool]:
    """Number of nodes drawn and whether an ellipsis stands for the rest."""
    if isinstance(size, int) and size <= _MAX_DRAWN:
        return max(size, 1), False
    return 3, True


def layout(network: Network) -> _Layout:
    """Positions of everything in the diagram (shared by both back-ends)."""
    # Expand layers into columns; record which connection or activation joins them.
    cols: list[tuple[str, int | str, str | None]] = []  # (label, size, inner)
    joins: list[tuple[str, str, Matrix | None, bool]] = []  # (label, kind, weights, dense)
    owners: list[tuple[int, int]] = []  # layer index -> first/last column
    for k, layer in enumerate(network.layers):
        if k:
            conn = network.connections[k - 1]
            joins.append((conn.symbol, "weights", conn.weights, True))
        first = len(cols)
        if layer.activation and layer.pre_label:
            act = _activation(layer.activation, layer.glyph)
            cols.append((layer.pre_label, layer.size, None))
            joins.append((act[0], "activation", None, layer.activation in _NOT_ELEMENTWISE))
            cols.append((layer.label, layer.size, None))
        elif layer.activation:
            cols.append((layer.label, layer.size, _activation(layer.activation, layer.glyph)[2]))
        else:
            cols.append((layer.label, layer.size, None))
        owners.append((first, len(cols) - 1))

    chain = network.is_chain
    lay = _Layout(chain, [], [])
    if chain:
        x = 0.0
        for c, (label, _size, _inner) in enumerate(cols):
            w = max(0.7, _runs_width(_parse_math(label), _FONT) + 0.25)
            if c:
                jw = _runs_width(_parse_math(joins[c - 1][0]), _FONT)
                prev = lay.columns[-1].nodes[0]
                x = prev.x + prev.width / 2 + max(0.85, jw + 0.4) + w / 2
            lay.columns.append(_Column(x, [_Node(x, 0.0, label, w)], None, None))
        for c in range(1, len(cols)):
            lay.edges.append(_Edge((c - 1, 0), (c, 0)))
            a, b = lay.columns[c - 1].nodes[0], lay.columns[c].nodes[0]
            mid = (a.x + a.width / 2 + b.x - b.width / 2) / 2
            lay.labels.append(_Label(mid, _BOX_H / 2 + 0.05, joins[c - 1][0], "normal"))
            weights = joins[c - 1][2]
            if weights is not None:
                value = _fmt_weight(weights[0][0])
                lay.labels.append(_Label(mid, -_BOX_H / 2 - 0.05, value, "small"))
        xmax = lay.columns[-1].x + lay.columns[-1].nodes[0].width / 2
        lay.box = (-lay.columns[0].nodes[0].width / 2 - 0.1, -0.6, xmax + 0.1, 0.8)
        return lay

    spacing = 1.4 if any(j[2] is not None for j in joins) else 1.0
    x = 0.0
    for c, (label, size, inner) in enumerate(cols):
        if c:
            _lbl, kind, weights, _dense = joins[c - 1]
            if weights is not None:  # room for the numbers; fan-in/fan-out needs less
                x += 3.8 if len(weights) > 1 and len(weights[0]) > 1 else 3.0
            elif kind == "weights":
                x += 2.4
            else:
                x += 1.6
        n, ellipsis = _slots(size)
        slots = n + (1 if ellipsis else 0)
        ys = [((slots - 1) / 2 - i) * spacing for i in range(slots)]
        if ellipsis:
            nodes = [_Node(x, y, inner) for y in ys[:2] + ys[3:]]
            lay.columns.append(_Column(x, nodes, ys[2], label))
        else:
            lay.columns.append(_Column(x, [_Node(x, y, inner) for y in ys], None, label))
    top = max(col.nodes[0].y for col in lay.columns)
    bottom = min(col.nodes[-1].y for col in lay.columns)

    # Edges and their labels.
    weight_jobs: list[tuple[_Edge, str]] = []
    for c in range(1, len(cols)):
        label, _kind, weights, dense = joins[c - 1]
        ca, cb = lay.columns[c - 1], lay.columns[c]
        if dense:
            for i in range(len(ca.nodes)):
                for j in range(len(cb.nodes)):
                    edge = _Edge((c - 1, i), (c, j))
                    lay.edges.append(edge)
                    if weights is not None:
                        weight_jobs.append((edge, _fmt_weight(weights[i][j])))
        else:
            for i in range(len(ca.nodes)):
                lay.edges.append(_Edge((c - 1, i), (c, i)))
        lay.labels.append(_Label((ca.x + cb.x) / 2, top + 0.6, label, "normal"))
    for col in lay.columns:
        if col.label is not None:
            lay.labels.append(_Label(col.x, top + 1.25, col.label, "normal"))
    for k, layer in enumerate(network.layers):
        first, last = owners[k]
        xc = (lay.columns[first].x + lay.columns[last].x) / 2
        size = layer.size if isinstance(layer.size, str) else str(layer.size)
        lay.labels.append(_Label(xc, bottom - 0.75, size, "caption", text_mode=layer.unit_name))
    lay.labels.extend(_place_weights(lay, weight_jobs))

    xmin = lay.columns[0].x - 0.9
    xmax = lay.columns[-1].x + 0.9
    lay.box = (xmin, bottom - 1.1, xmax, top + 1.6)
    return lay


def _node_xy(lay: _Layout, ref: tuple[int, int]) -> tuple[float, float]:
    node = lay.columns[ref[0]].nodes[ref[1]]
    return node.x, node.y


def _seg_hits_rect(
    p: tuple[float, float], q: tuple[float, float], rect: tuple[float, float, float, float]
) -> bool:
    """Does segment p-q pass through the rectangle (xmin, ymin, xmax, ymax)? (Liang-Barsky)"""
    x0, y0 = p
    dx, dy = q[0] - x0, q[1] - y0
    t0, t1 = 0.0, 1.0
    for pk, qk in (
        (-dx, x0 - rect[0]),
        (dx, rect[2] - x0),
        (-dy, y0 - rect[1]),
        (dy, rect[3] - y0),
    ):
        if pk == 0:
            if qk < 0:
                return False
            continue
        t = qk / pk
        if pk < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def _grow(rect: tuple[float, float, float, float], d: float) -> tuple[float, float, float, float]:
    return (rect[0] - d, rect[1] - d, rect[2] + d, rect[3] + d)


def _place_weights(lay: _Layout, jobs: list[tuple[_Edge, str]]) -> list[_Label]:
    """Put each weight on its edge where it overlaps nothing (greedy, deterministic)."""
    placed: list[tuple[float, float, float, float]] = []
    out: list[_Label] = []
    h = _SMALL_FONT * 1.25
    candidates = [0.2 + 0.05 * k for k in range(13)]  # 0.20 .. 0.80
    nodes = [(n.x, n.y) for col in lay.columns for n in col.nodes]
    for edge, text in jobs:
        p, q = _node_xy(lay, edge.src), _node_xy(lay, edge.dst)
        w = _runs_width(_parse_math(text), _SMALL_FONT) + 0.1
        best: tuple[float, float, tuple[float, float, float, float]] | None = None
        for t in candidates:
            x, y = p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])
            rect = (x - w / 2 - 0.04, y - h / 2 - 0.04, x + w / 2 + 0.04, y + h / 2 + 0.04)
            cost = 0.0
            for r in placed:
                if rect[0] < r[2] and r[0] < rect[2] and rect[1] < r[3] and r[1] < rect[3]:
                    cost += 100.0
                g = _grow(rect, 0.25)
                if g[0] < r[2] and r[0] < g[2] and g[1] < r[3] and r[1] < g[3]:
                    cost += 3.0  # crowded: hard to tell which label is whose
            for nx, ny in nodes:
                if abs(nx - x) < w / 2 + _RADIUS and abs(ny - y) < h / 2 + _RADIUS:
                    cost += 100.0
            for other in lay.edges:
                if other is edge:
                    continue
                a, b = _node_xy(lay, other.src), _node_xy(lay, other.dst)
                if _seg_hits_rect(a, b, rect):
                    cost += 10.0  # another edge hidden behind this label: ambiguous
                elif _seg_hits_rect(a, b, _grow(rect, 0.15)):
                    cost += 2.0  # another edge passes close by
            cost += abs(t - 0.5)  # prefer the middle a little
            if best is None or cost < best[0] - 1e-9:
                best = (cost, t, rect)
        assert best is not None
        _c, t, rect = best
        placed.append(rect)
        x, y = p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])
        out.append(_Label(x, y, text, "small", white=True))
    return out


# ---------------------------------------------------------------------------
# Number formatting
# ---------------------------------------------------------------------------


def _f(v: float, digits: int = 3) -> str:
    """Fixed formatting for coordinates: no exponent, no '-0'."""
    s = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


# ---------------------------------------------------------------------------
# TikZ
# ---------------------------------------------------------------------------

_TIKZ_STYLES = (
    "x=1cm, y=1cm, >={Stealth[length=4pt, width=3pt]},\n"
    "  akunit/.style={circle, draw, thick, minimum size=6mm, inner sep=0pt,"
    " font=\\scriptsize},\n"
    "  akbox/.style={rectangle, rounded corners=2pt, draw, thick, minimum height=6.2mm,"
    " inner sep=2pt, font=\\small},\n"
    "  akedge/.style={->, draw=black!55, semithick},\n"
    "  akweight/.style={fill=white, inner sep=0.8pt, font=\\scriptsize},\n"
    "  aklabel/.style={font=\\small, inner sep=1pt},\n"
    "  akcap/.style={font=\\footnotesize, text=black!70, inner sep=1pt}"
)


def to_tikz(network: Network) -> str:
    """The network as a plain TikZ ``tikzpicture`` (needs tikz + arrows.meta)."""
    lay = layout(network)
    lines = [f"% {network.name}: generated by answerkey.figures", "\\begin{tikzpicture}["]
    lines[-1] += _TIKZ_STYLES + "]"
    for c, col in enumerate(lay.columns):
        for i, node in enumerate(col.nodes):
            name = f"c{c}n{i}"
            at = f"({_f(node.x)},{_f(node.y)})"
            if lay.chain:
                style = f"akbox, minimum width={_f(node.width)}cm"
                lines.append(f"\\node[{style}] ({name}) at {at} {{${node.inner}$}};")
            else:
                inner = f"${node.inner}$" if node.inner else ""
                lines.append(f"\\node[akunit] ({name}) at {at} {{{inner}}};")
        if col.ellipsis_y is not None:
            lines.append(f"\\node[aklabel] at ({_f(col.x)},{_f(col.ellipsis_y)}) {{$\\vdots$}};")
    for e in lay.edges:
        a = f"c{e.src[0]}n{e.src[1]}"
        b = f"c{e.dst[0]}n{e.dst[1]}"
        lines.append(f"\\draw[akedge] ({a}) -- ({b});")
    for lab in lay.labels:
        style = {"normal": "aklabel", "small": "akweight", "caption": "akcap"}[lab.font]
        body = f"${lab.latex}$" if lab.latex else ""
        if lab.text_mode:
            body += "~" + lab.text_mode
        lines.append(f"\\node[{style}] at ({_f(lab.x)},{_f(lab.y)}) {{{body}}};")
    lines.append("\\end{tikzpicture}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# SVG
# ---------------------------------------------------------------------------

_PX = 40.0  # pixels per cm
_SVG_FONT = "'Latin Modern Math', 'STIX Two Math', 'DejaVu Serif', 'Times New Roman', serif"


def _svg_text(
    x: float,
    y: float,
    runs: Sequence[_Run],
    size: float,
    *,
    anchor: str = "middle",
    fill: str = "#000",
    extra: str = "",
) -> str:
    """An SVG <text> for `runs`, vertically centred on y (px)."""
    parts: list[str] = []
    shift = 0.0
    for run in runs:
        target = {0: 0.0, 1: -0.38 * size, -1: 0.22 * size}[run.level]
        attrs = ""
        if target != shift:
            attrs += f' dy="{_f(target - shift, 2)}"'
            shift = target
        if run.level:
            attrs += f' font-size="{_f(size * 0.7, 2)}"'
        if run.italic:
            attrs += ' font-style="italic"'
        text = escape(run.text)
        parts.append(f"<tspan{attrs}>{text}</tspan>")
    baseline = y + 0.33 * size
    return (
        f'<text x="{_f(x, 2)}" y="{_f(baseline, 2)}" text-anchor="{anchor}"'
        f' font-size="{_f(size, 2)}" fill="{fill}" xml:space="preserve"{extra}>'
        f"{''.join(parts)}</text>"
    )


def _svg_open(width: float, height: float, title: str) -> list[str]:
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width, 2)}" '
        f'height="{_f(height, 2)}" viewBox="0 0 {_f(width, 2)} {_f(height, 2)}" '
        f'font-family="{_SVG_FONT}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{_f(width, 2)}" height="{_f(height, 2)}" fill="#fff"/>',
    ]


def to_svg(network: Network) -> str:
    """The network as a self-contained, deterministic SVG (same layout as `to_tikz`)."""
    lay = layout(network)
    xmin, ymin, xmax, ymax = lay.box
    width, height = (xmax - xmin) * _PX, (ymax - ymin) * _PX

    def X(x: float) -> float:
        return (x - xmin) * _PX

    def Y(y: float) -> float:
        return (ymax - y) * _PX

    marker = f"{network.name}-arrow"
    out = _svg_open(width, height, describe(network))
    out.append(
        f'<defs><marker id="{escape(marker)}" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="6" markerUnits="userSpaceOnUse" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 L2.5,5 z" fill="#737373"/></marker></defs>'
    )
    out.append(f'<g stroke="#737373" stroke-width="1.1" marker-end="url(#{escape(marker)})">')
    for e in lay.edges:
        a = lay.columns[e.src[0]].nodes[e.src[1]]
        b = lay.columns[e.dst[0]].nodes[e.dst[1]]
        dx, dy = b.x - a.x, b.y - a.y
        length = math.hypot(dx, dy)
        ux, uy = dx / length, dy / length
        if lay.chain:
            x1, y1 = a.x + a.width / 2, a.y
            x2, y2 = b.x - b.width / 2, b.y
        else:
            x1, y1 = a.x + ux * _RADIUS, a.y + uy * _RADIUS
            x2, y2 = b.x - ux * _RADIUS, b.y - uy * _RADIUS
        out.append(
            f'<line x1="{_f(X(x1), 2)}" y1="{_f(Y(y1), 2)}" '
            f'x2="{_f(X(x2), 2)}" y2="{_f(Y(y2), 2)}"/>'
        )
    out.append("</g>")
    font = _FONT * _PX
    for col in lay.columns:
        for node in col.nodes:
            if lay.chain:
                w, h = node.width * _PX, _BOX_H * _PX
                out.append(
                    f'<rect x="{_f(X(node.x) - w / 2, 2)}" y="{_f(Y(node.y) - h / 2, 2)}" '
                    f'width="{_f(w, 2)}" height="{_f(h, 2)}" rx="3" fill="#fff" '
                    'stroke="#000" stroke-width="1.6"/>'
                )
            else:
                out.append(
                    f'<circle cx="{_f(X(node.x), 2)}" cy="{_f(Y(node.y), 2)}" '
                    f'r="{_f(_RADIUS * _PX, 2)}" fill="#fff" stroke="#000" stroke-width="1.6"/>'
                )
            if node.inner:
                size = font if lay.chain else _SMALL_FONT * _PX
                out.append(_svg_text(X(node.x), Y(node.y), _parse_math(node.inner), size))
        if col.ellipsis_y is not None:
            out.append(_svg_text(X(col.x), Y(col.ellipsis_y), [_Run("⋮", 0, False)], font))
    for lab in lay.labels:
        size = {"normal": _FONT, "small": _SMALL_FONT, "caption": _CAPTION_FONT}[lab.font] * _PX
        runs = _parse_math(lab.latex)
        if lab.text_mode:
            runs = [*runs, _Run(" " + lab.text_mode, 0, False)]
        if lab.white:
            w = _runs_width(runs, size / _PX) * _PX + 3
            h = size * 1.2
            out.append(
                f'<rect x="{_f(X(lab.x) - w / 2, 2)}" y="{_f(Y(lab.y) - h / 2, 2)}" '
                f'width="{_f(w, 2)}" height="{_f(h, 2)}" fill="#fff"/>'
            )
        fill = "#4d4d4d" if lab.font == "caption" else "#000"
        out.append(_svg_text(X(lab.x), Y(lab.y), runs, size, fill=fill))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Loss curve
# ---------------------------------------------------------------------------

# (TikZ colour, SVG colour, pgfplots mark, SVG shape)
_SERIES = [
    ("blue!80!black", "#0000cc", "*", "circle"),
    ("red!80!black", "#cc0000", "square*", "square"),
    ("green!50!black", "#008000", "triangle*", "triangle"),
    ("orange!90!black", "#e68a00", "diamond*", "diamond"),
    ("violet", "#800080", "pentagon*", "circle"),
]


def _series(losses: Sequence[float], samples: Sequence[int] | None) -> list[tuple[int, list[int]]]:
    """(sample, [update numbers]) in order of first appearance; one series if no samples."""
    if samples is None:
        return []
    if len(samples) != len(losses):
        raise ValueError("samples must give one sample per update")
    order: list[int] = []
    for s in samples:
        if s not in order:
            order.append(s)
    return [(s, [u + 1 for u, t in enumerate(samples) if t == s]) for s in order]


def loss_curve_tikz(
    losses: Sequence[float],
    samples: Sequence[int] | None = None,
    *,
    xlabel: str = "update",
    ylabel: str = "loss $L$",
) -> str:
    """pgfplots plot of the loss per update (x = 1..N), one line over updates.

    With `samples` (the sample number of each update), each sample gets its own
    colour and marker and a legend entry.
    """
    n = len(losses)
    if n == 0:
        raise ValueError("no losses to plot")
    coords = " ".join(f"({u + 1},{_f(v, 6)})" for u, v in enumerate(losses))
    ymax, yticks, decimals = _nice_ticks(max(max(losses), 0.0))
    step = max(1, math.ceil(n / 15))
    opts = [
        "width=9.5cm",
        "height=6.5cm",
        f"xlabel={{{xlabel}}}",
        f"ylabel={{{ylabel}}}",
        f"xmin=0.5, xmax={_f(n + 0.5)}",
        f"xtick={{1,{1 + step},...,{n}}}" if n > 1 else "xtick={1}",
        f"ymin=0, ymax={_f(ymax, 6)}",
        "ytick={" + ",".join(_f(v, 6) for v in yticks) + "}",
        "ymajorgrids, xmajorgrids",
        "grid style={black!12}",
        "tick label style={font=\\small}",
        "label style={font=\\small}",
        "scaled y ticks=false",
        f"yticklabel style={{/pgf/number format/fixed, /pgf/number format/precision={decimals},"
        " /pgf/number format/fixed zerofill}",
        "legend pos=outer north east",
        "legend cell align=left",
        "legend style={font=\\small}",
    ]
    lines = [
        "% loss curve: generated by answerkey.figures",
        "\\begin{tikzpicture}",
        "\\begin{axis}[" + ",\n  ".join(opts) + "]",
    ]
    series = _series(losses, samples)
    if series:
        lines.append(
            f"\\addplot[black!45, thick, mark=none, forget plot] coordinates {{{coords}}};"
        )
        for k, (sample, updates) in enumerate(series):
            colour, _svgc, mark, _shape = _SERIES[k % len(_SERIES)]
            pts = " ".join(f"({u},{_f(losses[u - 1], 6)})" for u in updates)
            lines.append(
                f"\\addplot[only marks, mark={mark}, mark size=2.5pt, color={colour}] "
                f"coordinates {{{pts}}};"
            )
            lines.append(f"\\addlegendentry{{sample {sample}}}")
    else:
        lines.append(
            f"\\addplot[blue!80!black, thick, mark=*, mark size=2.2pt] coordinates {{{coords}}};"
        )
    lines += ["\\end{axis}", "\\end{tikzpicture}"]
    return "\n".join(lines) + "\n"


def _nice_ticks(vmax: float, target: int = 5) -> tuple[float, list[float], int]:
    """Upper bound, tick values from 0 and number of decimals for a 0..vmax axis."""
    if vmax <= 0:
        vmax = 1.0
    raw = vmax / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    top = math.ceil(vmax * 1.08 / step - 1e-9) * step
    count = round(top / step)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if abs(step / mag - 2.5) < 1e-9 and step < 10:
        decimals += 1
    return top, [k * step for k in range(count + 1)], decimals


def _marker_svg(shape: str, x: float, y: float, colour: str, r: float = 4.2) -> str:
    if shape == "square":
        return (
            f'<rect x="{_f(x - r * 0.85, 2)}" y="{_f(y - r * 0.85, 2)}" width="{_f(1.7 * r, 2)}" '
            f'height="{_f(1.7 * r, 2)}" fill="{colour}"/>'
        )
    if shape == "triangle":
        pts = f"{_f(x, 2)},{_f(y - r * 1.15, 2)} {_f(x - r, 2)},{_f(y + r * 0.7, 2)} "
        pts += f"{_f(x + r, 2)},{_f(y + r * 0.7, 2)}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if shape == "diamond":
        pts = " ".join(
            f"{_f(px, 2)},{_f(py, 2)}"
            for px, py in ((x, y - r * 1.2), (x + r, y), (x, y + r * 1.2), (x - r, y))
        )
        return f'<polygon points="{pts}" fill="{colour}"/>'
    return f'<circle cx="{_f(x, 2)}" cy="{_f(y, 2)}" r="{_f(r, 2)}" fill="{colour}"/>'


def loss_curve_svg(
    losses: Sequence[float],
    samples: Sequence[int] | None = None,
    *,
    xlabel: str = "update",
    ylabel: str = "loss $L$",
) -> str:
    """The same plot as `loss_curve_tikz`, as a self-contained deterministic SVG."""
    n = len(losses)
    if n == 0:
        raise ValueError("no losses to plot")
    legend_w = 84.0 if samples is not None else 0.0
    left, top_m, bottom_m = 58.0, 12.0, 44.0
    pw, ph = 330.0, 204.0
    width = left + pw + (legend_w + 18.0 if legend_w else 14.0)
    height = top_m + ph + bottom_m
    ymax, yticks, decimals = _nice_ticks(max(max(losses), 0.0))

    def X(u: float) -> float:
        return left + (u - 0.5) / n * pw

    def Y(v: float) -> float:
        return top_m + ph - v / ymax * ph

    def label_runs(text: str) -> list[_Run]:
        runs: list[_Run] = []
        for k, piece in enumerate(text.split("$")):
            if k % 2:
                runs.extend(_parse_math(piece))
            elif piece:
                runs.append(_Run(piece, 0, False))
        return runs

    series = _series(losses, samples)
    title = "Loss per update: " + ", ".join(
        f"{u + 1}: {_f(v, 4)}" + (f" (sample {samples[u]})" if samples else "")
        for u, v in enumerate(losses)
    )
    out = _svg_open(width, height, title)
    step = max(1, math.ceil(n / 15))
    out.append('<g stroke="#e0e0e0" stroke-width="0.8">')
    for v in yticks:
        out.append(
            f'<line x1="{_f(left, 2)}" y1="{_f(Y(v), 2)}" x2="{_f(left + pw, 2)}" '
            f'y2="{_f(Y(v), 2)}"/>'
        )
    for u in range(1, n + 1, step):
        out.append(
            f'<line x1="{_f(X(u), 2)}" y1="{_f(top_m, 2)}" x2="{_f(X(u), 2)}" '
            f'y2="{_f(top_m + ph, 2)}"/>'
        )
    out.append("</g>")
    out.append(
        f'<rect x="{_f(left, 2)}" y="{_f(top_m, 2)}" width="{_f(pw, 2)}" height="{_f(ph, 2)}" '
        'fill="none" stroke="#000" stroke-width="1"/>'
    )
    font = 12.0
    for v in yticks:
        out.append(
            f'<line x1="{_f(left, 2)}" y1="{_f(Y(v), 2)}" x2="{_f(left + 4, 2)}" '
            f'y2="{_f(Y(v), 2)}" stroke="#000"/>'
        )
        out.append(
            _svg_text(left - 5, Y(v), [_Run(fixed(v, decimals), 0, False)], font, anchor="end")
        )
    for u in range(1, n + 1, step):
        out.append(
            f'<line x1="{_f(X(u), 2)}" y1="{_f(top_m + ph, 2)}" x2="{_f(X(u), 2)}" '
            f'y2="{_f(top_m + ph - 4, 2)}" stroke="#000"/>'
        )
        out.append(_svg_text(X(u), top_m + ph + 12, [_Run(str(u), 0, False)], font))
    out.append(_svg_text(left + pw / 2, height - 10, label_runs(xlabel), font))
    yx, yy = 14.0, top_m + ph / 2
    out.append(
        _svg_text(
            yx,
            yy,
            label_runs(ylabel),
            font,
            extra=f' transform="rotate(-90 {_f(yx, 2)} {_f(yy, 2)})"',
        )
    )
    pts = " ".join(f"{_f(X(u + 1), 2)},{_f(Y(v), 2)}" for u, v in enumerate(losses))
    if series:
        out.append(f'<polyline points="{pts}" fill="none" stroke="#8c8c8c" stroke-width="1.6"/>')
        lx, ly = left + pw + 10, top_m + 2
        out.append(
            f'<rect x="{_f(lx, 2)}" y="{_f(ly - 2, 2)}" width="{_f(legend_w, 2)}" '
            f'height="{_f(16 * len(series) + 4, 2)}" fill="#fff" stroke="#000" stroke-width="0.6"/>'
        )
        for k, (sample, updates) in enumerate(series):
            _tc, colour, _mark, shape = _SERIES[k % len(_SERIES)]
            for u in updates:
                out.append(_marker_svg(shape, X(u), Y(losses[u - 1]), colour))
            cy = ly + 8 + 16 * k
            out.append(_marker_svg(shape, lx + 12, cy, colour))
            out.append(
                _svg_text(lx + 22, cy, [_Run(f"sample {sample}", 0, False)], font, anchor="start")
            )
    else:
        out.append(f'<polyline points="{pts}" fill="none" stroke="#0000cc" stroke-width="1.6"/>')
        for u, v in enumerate(losses):
            out.append(_marker_svg("circle", X(u + 1), Y(v), "#0000cc", 3.6))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


def network_figure(name: str, network: Network, alt: str | None = None) -> Figure:
    """A network diagram in both formats; alt text from `describe` unless given."""
    return Figure(name, alt or describe(network), to_tikz(network), to_svg(network))


def loss_curve_figure(
    name: str,
    losses: Sequence[float],
    samples: Sequence[int] | None = None,
    alt: str | None = None,
) -> Figure:
    """The loss curve in both formats."""
    if alt is None:
        alt = "Loss per update: " + ", ".join(
            f"update {u + 1}: {_f(v, 4)}" for u, v in enumerate(losses)
        )
    return Figure(name, alt, loss_curve_tikz(losses, samples), loss_curve_svg(losses, samples))
