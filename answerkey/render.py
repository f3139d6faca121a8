"""Render a verified `Assignment` into LaTeX, Markdown and JSON text.

The templates never see SymPy: `view()` turns the document model into plain
data whose maths and prose are already printed for the target format (marked
`Safe`); any other string a template outputs is escaped by the environment's
`finalize` hook, so text from a term file or the command line cannot inject
LaTeX or Markdown. Key and handout come from the same template: the handout's
view simply has no solutions in it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2
import numpy as np
import sympy as sp

from . import numbers, printing, relations
from .cache import TEMPLATES
from .claims.keys import number_mistakes
from .errors import RenderError
from .figures import TIKZ_PREAMBLE
from .mathfns import to_plain_sympy
from .model import Assignment, Block, Figure, Part, Text
from .quantity import COMPUTED

FORMATS = ("tex", "md")


class Safe(str):
    """A string already printed for the target format: the templates output it as is."""

    __slots__ = ()


@dataclass(frozen=True)
class Meta:
    """What a title page shows besides the assignment: course, term label, variant, provenance."""

    course: str = ""
    label: str = "default"
    variant: str = ""
    provenance: str = ""
    errata_note: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: the roster's student a handout is for (its footer names them; "" for none)
    student: str = ""


def environment(fmt: str) -> jinja2.Environment:
    """The Jinja environment for one format; LaTeX uses ((* *)) so TeX braces stay free.

    One per format and templates directory in a process, so each template is compiled
    once, not at every render (Jinja still reloads a template whose file changed)."""
    key = (fmt, str(TEMPLATES))
    if key not in _ENVIRONMENTS:
        _ENVIRONMENTS[key] = _environment(fmt)
    return _ENVIRONMENTS[key]


_ENVIRONMENTS: dict[tuple[str, str], jinja2.Environment] = {}


def _environment(fmt: str) -> jinja2.Environment:
    escape = printing.escape_latex if fmt == "tex" else printing.escape_markdown
    options: dict[str, Any] = {}
    if fmt == "tex":
        options = dict(
            block_start_string="((*",
            block_end_string="*))",
            variable_start_string="(((",
            variable_end_string=")))",
            comment_start_string="((=",
            comment_end_string="=))",
            line_comment_prefix="%%",
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=lambda v: v if isinstance(v, Safe) else escape(str(v)),
        **options,
    )
    env.filters["joined"] = lambda items, sep: Safe(
        sep.join(i if isinstance(i, Safe) else escape(str(i)) for i in items)
    )
    return env


def render(
    assignment: Assignment,
    fmt: str,
    kind: str,
    meta: Meta,
    for_pdf: bool = False,
    for_html: bool = False,
) -> str:
    """The `kind` ("key" or "handout") document of `assignment` in `fmt` ("tex" or "md").

    `for_pdf` makes the Markdown that pandoc turns into the PDF: figures as TikZ
    (raw LaTeX blocks) instead of links to the SVG files beside the document.
    `for_html` makes the Markdown of the HTML page: each derivation step's reason on
    a row of its own under the step, so that a derivation fits a narrow screen.
    """
    name = f"document.{fmt}.j2"
    try:
        template = environment(fmt).get_template(name)
        return template.render(
            doc={**view(assignment, fmt, kind, meta), "for_pdf": for_pdf, "for_html": for_html}
        )
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"templates/{exc.name or name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"templates/{name}: {exc}") from None


def view(assignment: Assignment, fmt: str, kind: str, meta: Meta) -> dict[str, Any]:
    """Plain data for the templates; the handout's has no solutions."""
    notation = assignment.notation
    key = kind == "key"

    def p(t: Text | str, decimals: int | None = None) -> Safe:
        return Safe(printing.prose(t, fmt, notation, decimals))

    def m(obj: Any, decimals: int | None = None) -> Safe:
        return Safe(printing.latex(obj, notation, decimals))

    def figs(figures: Any) -> list[dict[str, Any]]:
        return [_figure_view(f, p(f.caption)) for f in figures if key or f.handout]

    title_escape = printing.escape_latex if fmt == "tex" else printing.escape_markdown
    if key:
        numbers.audit(assignment)  # no bare number anywhere; computed ones verified
        relations.audit_introductions(assignment)
        relations.audit_declarations(assignment)
        printing.audit_names(assignment)
    exercises: list[dict[str, Any]] = []
    for ex in assignment.exercises:
        parts = []
        for part in ex.parts:
            pp = functools.partial(p, decimals=part.decimals)
            pm = functools.partial(m, decimals=part.decimals)
            pv: dict[str, Any] = {
                "id": part.id,
                "title": part.title,
                "question": [pp(q) for q in part.question],
            }
            if key:
                pv.update(_solution_view(part, pp, pm, notation))
            pv["figures"] = figs(part.figures)
            parts.append(pv)
        exercises.append(
            {
                "number": ex.number,
                "title": ex.title,
                "intro": [p(t) for t in ex.intro],
                "figures": figs(ex.figures),
                "parts": parts,
            }
        )
    return {
        "key": key,
        "kind": "Answer key" if key else "Exercise sheet",
        "title": assignment.title,
        "assignment": assignment.id,
        # a course or term in Greek is Greek text, not maths
        "course": Safe(title_escape(meta.course, letters_as_maths=False)),
        "label": Safe(title_escape(meta.label, letters_as_maths=False)),
        "variant": meta.variant,
        "footer": Safe(title_escape(_footer(assignment, meta), letters_as_maths=False)),
        "provenance": meta.provenance,
        "exercises": exercises,
        "has_figures": any(
            ex["figures"] or any(pt["figures"] for pt in ex["parts"]) for ex in exercises
        ),
        "tikz_preamble": Safe(TIKZ_PREAMBLE),
        "errata": _errata_view(assignment, p, m) if key else [],
        "check_count": assignment.check_count() if key else 0,
        "banner": banner(assignment) if key else "",
        "source": assignment.source,
        "errata_note": meta.errata_note,
    }


#: how the banner names each kind of check record (one, many), in the order it lists them
BANNER_KINDS = (
    (
        "symbolic",
        "derivation step proved equal to the line before (SymPy)",
        "derivation steps proved equal to the line before (SymPy)",
    ),
    (
        "numeric",
        "derivation step compared with the line before at random points (NumPy)",
        "derivation steps compared with the line before at random points (NumPy)",
    ),
    (
        "finite-difference",
        "gradient check against central finite differences",
        "gradient checks against central finite differences",
    ),
    (
        "recomputation",
        "check recomputing printed values by a second path",
        "checks recomputing printed values by a second path",
    ),
    (
        "update",
        "optimizer trace whose every update was checked",
        "optimizer traces whose every update was checked",
    ),
    ("relation", "equation in the prose checked", "equations in the prose checked"),
    (
        "mutation",
        "stated answer shown to be read by a check",
        "stated answers shown to be read by a check",
    ),
)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def banner(assignment: Assignment) -> str:
    """The key's header: what was verified, by kind and count, from the check records and
    the printed numbers (never more than they show)."""
    counts: dict[str, int] = {}
    for part in assignment.parts():
        for c in part.checks:
            counts[c.kind] = counts.get(c.kind, 0) + 1
    said = [_count(counts[k], one, many) for k, one, many in BANNER_KINDS if counts.get(k)]
    named = {kind for kind, _, _ in BANNER_KINDS} | {"numbers"}
    other = sum(n for kind, n in counts.items() if kind not in named)
    if other:
        said.append(_count(other, "other check", "other checks"))
    found = numbers.summary(assignment)
    if found[numbers.COMPUTED] or found[numbers.GIVEN]:
        said.append(
            f"{found[numbers.COMPUTED]} printed numbers computed by the engine and "
            f"{found[numbers.GIVEN]} given by the statement"
        )
    declared = relations.declared(assignment)
    if declared:
        said.append(
            _count(declared, "relation", "relations")
            + " taken as given (definitions, notation, assumptions)"
        )
    if not said:
        return "Nothing in this key was checked by answerkey."
    return "Verified by answerkey before it was written: " + "; ".join(said) + "."


def _solution_view(part: Part, p: Any, m: Any, notation: Mapping[str, str]) -> dict[str, Any]:
    derivations = []
    for d in part.derivations:
        steps = [
            {
                "expr": m(s.expr),
                "reason": Safe(printing.math_text(s.reason, notation, part.decimals)),
            }
            for s in d.steps
        ]
        derivations.append({"lhs": m(d.lhs), "steps": steps})
    boxed = [
        m(expr) if lhs is None else Safe(f"{m(lhs)} = {m(expr)}") for lhs, expr in part.results
    ]
    return {
        "derivations": derivations,
        "facts": [p(f) for f in part.facts],
        "boxed": boxed,
        "remarks": [p(r) for r in part.remarks],
        "blocks": [_block_view(b, m, notation, part.decimals) for b in part.blocks],
        "tables": [
            {
                "header": [_cell(h, p, m) for h in t.header],
                "rows": [[_cell(c, p, m) for c in row] for row in t.rows],
                "caption": p(t.caption) if t.caption else None,
            }
            for t in part.tables
        ],
        "checks": len(part.checks),
    }


def _errata_view(assignment: Assignment, p: Any, m: Any) -> list[dict[str, Any]]:
    """Each transcribed claim of the earlier solution, its computed verdict and the fix."""

    out = []
    if len(assignment.errata_maths) != len(assignment.errata):
        raise RenderError(
            f"{assignment.id}: errata without their maths; the build computes them "
            "(answerkey.errata.attach) before rendering"
        )
    for e, (expr, right) in zip(assignment.errata, assignment.errata_maths, strict=True):
        c, v = e.claim, e.verdict
        where = f"part {c.part}" + (f", update {c.update}" if c.update else "")
        where += f", {c.quantity}" if c.quantity and c.update else ""
        correct = m(right) if right is not None else None
        out.append(
            {
                "where": where,
                "status": v.status,
                "claim_math": m(expr) if expr is not None else None,
                "claim_text": " ".join(c.answer.split()),
                "correct": correct,
                "reason": _sentence(v.reason),
                "mistake": v.mistake or "",
                "counterexample": str(v.counterexample) if v.counterexample else "",
                "note": c.note,
            }
        )
    return out


def _footer(assignment: Assignment, meta: Meta) -> str:
    """A variant's last line, naming it so that an appeal can cite it ("" for no variant)."""
    if not meta.variant:
        return ""
    numbers_id = str(meta.extra.get("parameter_hash", ""))[:12]
    numbers = f", numbers {numbers_id}" if numbers_id else ""
    student = f" for student {meta.student}" if meta.student else ""
    return (
        f"Variant {meta.variant} of {assignment.id} ({meta.label}{numbers}){student}: "
        "quote this line in any question about your sheet."
    )


def _sentence(s: str) -> str:
    """A one-line reason as a sentence: capital first letter, full stop."""
    s = s.strip()
    if not s:
        return s
    return s[0].upper() + s[1:] + ("" if s.endswith((".", "!", "?")) else ".")


def drawn(figure: Figure) -> Any:
    """The figure's drawing (TikZ and SVG), made once per figure object."""
    if figure not in _DRAWN:
        _DRAWN[figure] = figure.draw()
    return _DRAWN[figure]


_DRAWN: dict[Figure, Any] = {}


def figure_files(assignment: Assignment, kind: str) -> dict[str, str]:
    """The SVG files the Markdown of `kind` links to, by file name."""
    out = {}
    for ex in assignment.exercises:
        for f in [*ex.figures, *(g for part in ex.parts for g in part.figures)]:
            if kind == "key" or f.handout:
                out[f"{f.name}.svg"] = drawn(f).svg
    return out


def _figure_view(figure: Figure, caption: Safe) -> dict[str, Any]:
    d = drawn(figure)
    return {
        "tikz": Safe(d.tikz),
        "file": Safe(f"{figure.name}.svg"),
        "alt": d.alt,
        "caption": caption,
    }


def _block_view(
    b: Block, m: Any, notation: Mapping[str, str], decimals: int | None = None
) -> dict[str, Any]:
    """A block's lines in two columns (e.g. forward pass | backward pass), title on top.

    The title is typeset inside the same display so a page break cannot orphan it.
    """
    lines = [(_label(k, m), m(v)) for k, v in b.lines]
    half = (len(lines) + 1) // 2 if len(lines) > 6 else len(lines)
    columns = [lines[:half], lines[half:]] if half < len(lines) else [lines]
    return {"title": Safe(printing.math_text(b.title, notation, decimals)), "columns": columns}


def _label(k: Any, m: Any) -> Safe:
    if isinstance(k, str):
        return Safe(r"\text{" + printing.escape_latex(k) + "}")
    return m(k)


def _cell(c: Any, p: Any, m: Any) -> Safe:
    if isinstance(c, Text | str):
        return p(c)
    return Safe("$" + m(c) + "$")


def answers_json(assignment: Assignment, meta: Meta) -> str:
    """answers.json: every part's final answer (LaTeX and SymPy), its checks and its data."""
    parts: dict[str, Any] = {}
    for part in assignment.parts():
        entry: dict[str, Any] = {"title": part.title}
        final = part.final
        if final is not None:
            entry["latex"] = printing.latex(final, assignment.notation, part.decimals)
            entry["sympy"] = sympy_string(final)
        if len(part.results) > 1:
            entry["results"] = [
                {
                    "of": (
                        printing.latex(lhs, assignment.notation, part.decimals)
                        if lhs is not None
                        else None
                    ),
                    "latex": printing.latex(expr, assignment.notation, part.decimals),
                    "sympy": sympy_string(expr),
                }
                for lhs, expr in part.results
            ]
        entry["checks"] = [
            {"kind": c.kind, "subject": c.subject, "detail": c.detail} for c in part.checks
        ]
        for k, v in part.data.items():
            entry[k] = _plain(v)
        parts[part.id] = entry
    errata = [e.to_json() for e in assignment.errata]
    doc = {
        "assignment": assignment.id,
        "title": assignment.title,
        "term": meta.label,
        "course": meta.course,
        "variant": meta.variant or None,
        "checks_passed": assignment.check_count(),
        "parts": parts,
        "numbers": ledger_with_mistakes(assignment),
        "errata": errata,
    }
    doc.update({k: _plain(v) for k, v in meta.extra.items()})
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def ledger_with_mistakes(assignment: Assignment) -> list[dict[str, Any]]:
    """answers.json's `numbers` (`numbers.ledger`), each computed number of a part with
    the `mistakes` the grader names for it (`claims.keys.number_mistakes`: name and
    value, told apart from the key at its printed precision), for quizzes' feedback."""
    ledger = numbers.ledger(assignment)
    parts = {p.id: p for p in assignment.parts()}
    for entry in ledger:
        part = parts.get(entry["part"]) if entry["source"] == COMPUTED else None
        if part is not None:
            entry["mistakes"] = [
                {"name": name, "value": value}
                for name, value in number_mistakes(part, entry, ledger)
            ]
    return ledger


def sympy_string(expr: Any) -> str:
    """A string `sympy.sympify` reads back to the same expression.

    `str` suffices for scalar expressions; matrix expressions need the
    constructor form (`srepr`, with `Str('x')` written as plain `'x'`).
    """
    if isinstance(expr, numbers.Number):
        return str(expr.plain())
    if isinstance(expr, np.ndarray | float | int | list):
        return str(_plain(expr))
    expr = to_plain_sympy(expr)
    if expr.has(sp.MatrixSymbol):  # sympify reads names as scalars: never the same
        return re.sub(r"Str\(('[^']*')\)", r"\1", sp.srepr(expr))
    s = str(expr)
    # sympify makes symbols without assumptions: compare with those.
    plain = expr.xreplace({x: sp.Symbol(x.name) for x in expr.free_symbols if x.is_Symbol})
    try:
        if sp.sympify(s) == plain:
            return s
    except (sp.SympifyError, TypeError, AttributeError, SyntaxError, ValueError):
        pass
    return re.sub(r"Str\(('[^']*')\)", r"\1", sp.srepr(expr))


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.floating | np.integer):
        return v.item()
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v
