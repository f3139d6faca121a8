"""The document model between computation and rendering.

Solution modules build these objects from SymPy and NumPy values; the verifier
fills in `Part.checks`; the renderers turn them into LaTeX, Markdown and JSON.
Nothing here knows about LaTeX: maths stays as SymPy/NumPy objects until the
printer (`answerkey.printing`) turns it into text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import AuthoringError


@dataclass(frozen=True)
class Text:
    """A run of prose: plain strings mixed with maths (SymPy expressions, numbers, arrays)."""

    items: tuple[Any, ...]

    def __post_init__(self) -> None:
        # a Text inside a Text (say(...) in say(...)) is its words in place, never its repr
        if any(isinstance(i, Text) for i in self.items):
            flat = [x for i in self.items for x in (i.items if isinstance(i, Text) else (i,))]
            object.__setattr__(self, "items", tuple(flat))


def text(*items: Any) -> Text:
    """Prose from strings and maths, e.g. ``text("Give", D(E, t), ".")``."""
    return Text(tuple(items))


def plural(n: Any, noun: str, many: str | None = None) -> str:
    """`noun` as a count of `n` takes it: "zero" for 1, "zeros" (or `many`) for any other
    count. Every number-and-noun phrase of the engine's and the kit's text uses it."""
    return noun if n == 1 else many or noun + "s"


def counted(n: Any, noun: str, many: str | None = None) -> str:
    """`n` and its noun in words: "1 update", "3 updates" (see `plural`)."""
    return f"{n} {plural(n, noun, many)}"


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``= expr`` with the reason it follows from the line before.

    `cites` is a verified result the step cites (a kit fragment): anything with a `check`
    (a numeric check), which the part then runs whether or not its `numeric_checks` list it."""

    expr: Any
    reason: Text
    cites: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Instance:
    """A concrete case a general formula is checked at.

    `sizes` gives the dimension symbols numbers (e.g. 3 inputs, 4 hidden units);
    `defs` defines variables in terms of others (``z2 = W2 y1``, ``E = -t^T log y2``),
    written with SymPy, using the same symbols as the shown steps; the variables
    without a definition are the free inputs. `given` are assumptions on the free
    inputs as substitutions (``t_3 = 1 - t_1 - t_2`` for a one-hot target).
    `domain` narrows the random points of the numeric checks per input.
    `prove=False` skips the symbolic proof here (numeric checks only), for a
    large instance whose proof a smaller instance of the same derivation carries.
    """

    sizes: Mapping[Any, int] = field(default_factory=dict)
    defs: Mapping[Any, Any] = field(default_factory=dict)
    given: Mapping[str, Any] = field(default_factory=dict)
    domain: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    label: str = ""
    prove: bool = True


Oracle = Callable[[Mapping[str, Any]], float]


@dataclass(frozen=True)
class Derivation:
    """``lhs = steps[0] = steps[1] = ...``; the last step is the result.

    The verifier checks every step against the one before, and the first against
    `lhs` computed directly by SymPy, at each instance, symbolically and at random
    points. When `lhs` is a derivative of a scalar, the result is also compared
    with central finite differences of `oracle` (an independent NumPy function of
    the named inputs) or, without one, of the SymPy definition.
    """

    lhs: Any
    steps: tuple[Step, ...]
    instances: tuple[Instance, ...]
    oracle: Oracle | None = None
    prove: bool = True


@dataclass(frozen=True)
class CheckRecord:
    """What was checked, how, and the outcome, for the key's audit trail and answers.json."""

    kind: str
    subject: str
    detail: str


@dataclass(frozen=True)
class Table:
    """A small table of computed values; cells are strings or maths."""

    header: tuple[Any, ...]
    rows: tuple[tuple[Any, ...], ...]
    caption: Text | None = None


@dataclass(frozen=True)
class Block:
    """A labelled group of ``name = value`` lines (one update of a trace, say)."""

    title: Text
    lines: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True)
class Figure:
    """A figure drawn from the same description the computation uses.

    `draw` returns an `answerkey.figures.Figure` (TikZ and SVG made from a
    network description or a list of losses), so solution modules describe
    and never typeset. `handout` says whether students see it too.
    """

    name: str
    caption: Text
    draw: Callable[[], Any]
    handout: bool = True


@dataclass
class Part:
    """One numbered part of an exercise: its question and, for the key, its solution."""

    id: str
    title: str
    question: Sequence[Text]
    derivations: Sequence[Derivation] = ()
    facts: Sequence[Text] = ()
    answer: Any = None
    answer_lhs: Any = None
    remarks: Sequence[Text] = ()
    figures: Sequence[Figure] = ()
    blocks: Sequence[Block] = ()
    tables: Sequence[Table] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    checks: list[CheckRecord] = field(default_factory=list)
    numeric_checks: Sequence[Callable[[], list[CheckRecord]]] = ()
    #: decimals of the part's printed floats (None: `printing.DECIMALS`, 4)
    decimals: int | None = None

    def __post_init__(self) -> None:
        # a cited result's check is the part's, listed or not: never one check fewer
        self.numeric_checks = [*self.numeric_checks, *self.cited_checks()]

    def cited_checks(self) -> list[Callable[[], list[CheckRecord]]]:
        """The checks of the results its derivations' steps cite that `numeric_checks`
        does not list already."""
        out: list[Callable[[], list[CheckRecord]]] = []
        for d in self.derivations:
            for step in d.steps:
                check = getattr(step.cites, "check", None)
                if check is not None and check not in self.numeric_checks and check not in out:
                    out.append(check)
        return out

    @property
    def results(self) -> list[tuple[Any, Any]]:
        """Every derivation's (quantity, result): what the key boxes."""
        if self.answer is not None:
            return [(self.answer_lhs, self.answer)]
        return [(d.lhs, d.steps[-1].expr) for d in self.derivations]

    @property
    def final(self) -> Any:
        """The boxed answer: given explicitly, or the last step of the last derivation."""
        if self.answer is not None:
            return self.answer
        if self.derivations:
            return self.derivations[-1].steps[-1].expr
        return None

    @property
    def final_lhs(self) -> Any:
        if self.answer_lhs is not None:
            return self.answer_lhs
        if self.derivations:
            return self.derivations[-1].lhs
        return None


@dataclass
class Exercise:
    """A numbered exercise: an introduction shared by its parts, then the parts."""

    number: str
    title: str
    intro: Sequence[Text]
    parts: Sequence[Part]
    figures: Sequence[Figure] = ()


@dataclass(frozen=True)
class Grading:
    """How the course grades claimed answers (`answerkey check`, `answerkey grade`).

    `layout`: whether an answer equal to the key up to layout (the key transposed: a
    column where the key writes a row, the other common convention for gradients)
    earns the mark: "accept" (with a note) or "refuse" (when the part asks for the
    layout it states); `layouts` overrides it per part id.

    For `answerkey grade`: `marks` are a part's points (part id -> points; a part not
    named has 1); `mistake_credit` is the share of the marks an answer earns whose
    typical mistake is named (default none); with `entry_credit`, a vector or matrix of
    numbers earns the share of its entries equal to the key's."""

    layout: str = "accept"
    layouts: Mapping[str, str] = field(default_factory=dict)
    marks: Mapping[str, float] = field(default_factory=dict)
    mistake_credit: float = 0.0
    entry_credit: bool = False

    def marks_of(self, part_id: str) -> float:
        """The points part `part_id` is worth."""
        return float(self.marks.get(part_id, 1.0))

    def __post_init__(self) -> None:
        if not 0 <= self.mistake_credit <= 1:
            raise AuthoringError(
                f"Grading: mistake_credit is a share of the marks, 0 to 1, not "
                f"{self.mistake_credit!r}"
            )
        for part_id, points in self.marks.items():
            if isinstance(points, bool) or not isinstance(points, int | float) or points < 0:
                raise AuthoringError(
                    f"Grading: the marks of part {part_id!r} must be a number >= 0, not {points!r}"
                )
        for policy in (self.layout, *self.layouts.values()):
            if policy not in LAYOUT_POLICIES:
                raise AuthoringError(
                    f"Grading: layout must be one of {', '.join(LAYOUT_POLICIES)}, not {policy!r}"
                )

    def layout_of(self, part_id: str) -> str:
        """The layout policy of part `part_id`."""
        return self.layouts.get(part_id, self.layout)


#: what an answer equal to the key up to layout earns: the mark, or none
LAYOUT_POLICIES = ("accept", "refuse")


@dataclass
class Assignment:
    """Everything one key and one handout are made of."""

    id: str
    title: str
    exercises: Sequence[Exercise]
    notation: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    errata: list[Any] = field(default_factory=list)
    # per erratum, the claim as read and the right answer as maths (`answerkey.errata`)
    errata_maths: list[tuple[Any, Any]] = field(default_factory=list)
    grading: Grading = field(default_factory=Grading)

    def parts(self) -> list[Part]:
        return [p for ex in self.exercises for p in ex.parts]

    def check_count(self) -> int:
        return sum(len(p.checks) for p in self.parts())
