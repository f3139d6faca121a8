"""Read answers people write in LaTeX and judge them against the computed key.

One module per concern: `reading` (LaTeX -> syntax tree, lists of numbers),
`shapes` (syntax tree -> SymPy with shape rules, alternative readings),
`judging` (claim vs key at random points, then symbolically; numbers at the
precision written), `mistakes` (typical wrong answers derived from the right
one), `files` (claims files), `keys` (what a claim is checked against in a part, errata)
and `roundtrip` (every answer a key prints reads back as itself).
"""

from . import budget
from .files import Claim, ClaimsFile, load_claims
from .judging import (
    ATOL,
    DEFAULT_DOMAIN,
    RANDOM_POINTS,
    RTOL,
    Counterexample,
    Status,
    Verdict,
    judge,
)
from .keys import (
    CLAIMS_DIR,
    Erratum,
    KeyAnswer,
    audit,
    check,
    check_claim,
    claimed_expression,
    errata,
    errata_for,
    key_for,
)
from .mistakes import typical_mistakes
from .reading import FUNCTIONS, ClaimError, ClaimShapeError, Parsed, canonical_name
from .shapes import default_symbols, parse_claim

__all__ = [
    "ATOL",
    "CLAIMS_DIR",
    "DEFAULT_DOMAIN",
    "FUNCTIONS",
    "RANDOM_POINTS",
    "RTOL",
    "Claim",
    "ClaimError",
    "ClaimShapeError",
    "ClaimsFile",
    "Counterexample",
    "Erratum",
    "KeyAnswer",
    "Parsed",
    "Status",
    "Verdict",
    "audit",
    "budget",
    "canonical_name",
    "check",
    "check_claim",
    "claimed_expression",
    "default_symbols",
    "errata",
    "errata_for",
    "judge",
    "key_for",
    "load_claims",
    "parse_claim",
    "typical_mistakes",
]
