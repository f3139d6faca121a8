"""Figures a lecturer draws for the course's layers, as TikZ (PDF) and SVG (Markdown, HTML).

* `feature_map(name, size, kernel, ...)`: an input grid with the kernel's window over its
  top-left corner, an arrow to the output grid and the entry that window computes;
* `unrolled(name, steps)`: a recurrent cell unrolled over time, h_0 -> h_1 -> ... -> h_T,
  the inputs x_t below each step and the loss after the last.

Both are made from sizes only (entries are labelled by their indices, never by numbers),
deterministically, so two builds give the same bytes.
"""

from __future__ import annotations

from ..figures import Figure
from ..model import counted

_CM = 0.8  # a cell's side in cm
_PX = 40.0  # pixels per cm
_STYLE = 'font-family="serif" font-size="13" text-anchor="middle" dominant-baseline="middle"'


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img"><title>{title}</title>'
    )
    return "\n".join([head, *body, "</svg>"]) + "\n"


def _label(x: float, y: float, name: str, sub: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" {_STYLE}>{name}<tspan font-size="9" dy="4">{sub}'
        "</tspan></text>"
    )


def _grid(left: float, rows: int, cols: int, name: str, tikz: list[str], svg: list[str]) -> None:
    """A grid of labelled cells with its top-left corner at (left, 0), y going down."""
    for i in range(rows):
        for j in range(cols):
            x, y = left + j * _CM, -i * _CM
            tikz.append(f"\\draw ({x:.2f},{y:.2f}) rectangle ({x + _CM:.2f},{y - _CM:.2f});")
            label = f"$\\scriptstyle {name}_{{{i + 1}{j + 1}}}$"
            tikz.append(f"\\node at ({x + _CM / 2:.2f},{y - _CM / 2:.2f}) {{{label}}};")
            px, py = (x + 0.2) * _PX, (-y + 0.2) * _PX
            svg.append(
                f'<rect x="{px:.1f}" y="{py:.1f}" width="{_CM * _PX:.1f}" height="{_CM * _PX:.1f}" '
                'fill="none" stroke="black"/>'
            )
            svg.append(_label(px + _CM * _PX / 2, py + _CM * _PX / 2, name, f"{i + 1}{j + 1}"))


def feature_map(
    name: str, size: int, kernel: int, input_name: str = "X", output_name: str = "Z"
) -> Figure:
    """The input (size x size) with the kernel's window at its top-left corner, and the
    output (stride 1, no padding) with the entry that window computes."""
    out = size - kernel + 1
    tikz = ["\\begin{tikzpicture}"]
    svg: list[str] = []
    _grid(0.0, size, size, input_name, tikz, svg)
    right = size * _CM + 1.6
    _grid(right, out, out, output_name, tikz, svg)
    w = kernel * _CM
    tikz.append(f"\\draw[very thick, blue] (0,0) rectangle ({w:.2f},{-w:.2f});")
    tikz.append(
        f"\\draw[very thick, blue] ({right:.2f},0) rectangle ({right + _CM:.2f},{-_CM:.2f});"
    )
    mid = -size * _CM / 2
    start, end = f"({size * _CM + 0.2:.2f},{mid:.2f})", f"({right - 0.2:.2f},{mid:.2f})"
    tikz.append(f"\\draw[-{{Latex}}, thick] {start} -- {end} node[midway, above] {{$\\star K$}};")
    tikz.append("\\end{tikzpicture}")
    px = lambda v: (v + 0.2) * _PX  # noqa: E731
    svg.append(
        f'<rect x="{px(0):.1f}" y="{px(0):.1f}" width="{w * _PX:.1f}" height="{w * _PX:.1f}" '
        'fill="none" stroke="blue" stroke-width="3"/>'
    )
    svg.append(
        f'<rect x="{px(right):.1f}" y="{px(0):.1f}" width="{_CM * _PX:.1f}" '
        f'height="{_CM * _PX:.1f}" fill="none" stroke="blue" stroke-width="3"/>'
    )
    y = px(-mid)
    svg.append(
        f'<line x1="{px(size * _CM + 0.2):.1f}" y1="{y:.1f}" x2="{px(right - 0.2):.1f}" '
        f'y2="{y:.1f}" stroke="black" stroke-width="1.5" marker-end="url(#ak-arrow)"/>'
    )
    svg.insert(
        0,
        '<defs><marker id="ak-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    )
    svg.append(
        f'<text x="{(px(size * _CM) + px(right)) / 2:.1f}" y="{y - 12:.1f}" {_STYLE}>⋆ K</text>'
    )
    width, height = px(right + out * _CM) + 8, px(size * _CM) + 8
    alt = (
        f"A {size} by {size} input {input_name} with the {kernel} by {kernel} window of the "
        f"kernel K over its top-left corner; correlated with K it gives the {out} by {out} "
        f"output {output_name}, whose top-left entry that window computes."
    )
    return Figure(name, alt, "\n".join(tikz) + "\n", _svg(width, height, alt, svg))


def unrolled(name: str, steps: int) -> Figure:
    """h_0 -> h_1 -> ... -> h_T, x_t into each step, E after the last."""
    gap = 1.8
    tikz = ["\\begin{tikzpicture}"]
    svg = [
        '<defs><marker id="ak-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>'
    ]
    px = lambda v: (v + 0.4) * _PX  # noqa: E731
    for t in range(steps + 1):
        x = t * gap
        node = f"\\node[draw, circle, minimum size=0.9cm] (h{t})"
        tikz.append(f"{node} at ({x:.2f},0) {{$h_{t}$}};")
        circle = f'cx="{px(x):.1f}" cy="{px(0.6):.1f}" r="{0.45 * _PX:.1f}"'
        svg.append(f'<circle {circle} fill="none" stroke="black"/>')
        svg.append(_label(px(x), px(0.6), "h", str(t)))
        if t:
            tikz.append(f"\\node (x{t}) at ({x:.2f},-1.6) {{$x_{t}$}};")
            tikz.append(f"\\draw[-{{Latex}}] (x{t}) -- (h{t});")
            tikz.append(f"\\draw[-{{Latex}}] (h{t - 1}) -- node[above] {{$w$}} (h{t});")
            svg.append(_label(px(x), px(2.2), "x", str(t)))
            svg.append(
                f'<line x1="{px(x):.1f}" y1="{px(1.95):.1f}" x2="{px(x):.1f}" y2="{px(1.1):.1f}" '
                'stroke="black" marker-end="url(#ak-arrow)"/>'
            )
            svg.append(
                f'<line x1="{px(x - gap + 0.5):.1f}" y1="{px(0.6):.1f}" x2="{px(x - 0.5):.1f}" '
                f'y2="{px(0.6):.1f}" stroke="black" marker-end="url(#ak-arrow)"/>'
            )
    last = steps * gap
    tikz.append(f"\\node (E) at ({last + gap:.2f},0) {{$E$}};")
    tikz.append(f"\\draw[-{{Latex}}] (h{steps}) -- (E);")
    tikz.append("\\end{tikzpicture}")
    svg.append(f'<text x="{px(last + gap):.1f}" y="{px(0.6):.1f}" {_STYLE}>E</text>')
    svg.append(
        f'<line x1="{px(last + 0.5):.1f}" y1="{px(0.6):.1f}" x2="{px(last + gap - 0.3):.1f}" '
        f'y2="{px(0.6):.1f}" stroke="black" marker-end="url(#ak-arrow)"/>'
    )
    unrolled = counted(steps, "step")
    alt = (
        f"A recurrent cell unrolled over {unrolled}: h_0 feeds h_1 through the weight w, and "
        f"so on up to h_{steps}; the input x_t enters step t; the loss E follows h_{steps}."
    )
    return Figure(name, alt, "\n".join(tikz) + "\n", _svg(px(last + gap) + 30, px(2.6), alt, svg))


__all__ = ["feature_map", "unrolled"]
