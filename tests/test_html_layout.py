"""The HTML keys and handouts are good enough to hand out, as headless Chromium lays
them out 800 px wide: nothing sticks out of the page or scrolls sideways, a
derivation's fractions are as large as the maths around them (MathML Core draws a
table's cells in the compact style unless told), and its steps line up at `=`.

Every assignment is built (discovered, no list), with the term's numbers and as a
variant; one Chromium process measures every page, each in an 800 px frame. Where
no Chromium is installed the test is skipped saying so (`make pytest` installs
Debian's as root: scripts/ensure-chromium); under CI it fails instead.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SharedProofs

from answerkey import build as pipeline
from answerkey import pdf
from answerkey.registry import discover

pytestmark = pytest.mark.build  # end-to-end builds: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 800
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--allow-file-access-from-files",  # the frames' documents, measured from the page
    "--virtual-time-budget=20000",
]

MEASURE = """
window.addEventListener('load', () => {
  const results = {};
  for (const frame of document.querySelectorAll('iframe')) {
    const doc = frame.contentDocument;
    const W = doc.documentElement.clientWidth;
    const out = {width: W, page: doc.documentElement.scrollWidth, over: [], scrolls: [], small: [],
                 misaligned: [], derivations: 0};
    for (const el of doc.querySelectorAll('math, table, img, pre, p, li, h1, h2, h3')) {
      const r = el.getBoundingClientRect();
      if (el.scrollWidth > el.clientWidth + 1 || r.right > W + 0.5 || r.left < -0.5) {
        out.over.push((el.textContent || el.tagName).slice(0, 70));
      }
    }
    for (const el of doc.querySelectorAll('body *')) {  // a scroll bar anywhere
      const cs = getComputedStyle(el);
      const scrolls = cs.overflowX !== 'visible' || cs.overflowY !== 'visible';
      const wide = el.scrollWidth > el.clientWidth + 1;
      if (scrolls && (wide || el.scrollHeight > el.clientHeight + 1)) {
        out.scrolls.push((el.textContent || el.tagName).slice(0, 70));
      }
    }
    for (const t of doc.querySelectorAll('math[display="block"] mtable')) {
      const base = parseFloat(getComputedStyle(t.closest('math')).fontSize);
      for (const f of t.querySelectorAll('mfrac')) {
        const size = parseFloat(getComputedStyle(f.firstElementChild).fontSize);
        if (f.closest('msub, msup, msubsup, mfrac mfrac') === null && size < 0.99 * base) {
          out.small.push(f.textContent.slice(0, 40));
        }
      }
      const xs = [];
      for (const row of t.querySelectorAll(':scope > mtr')) {
        const cells = row.querySelectorAll(':scope > mtd');
        const first = cells.length > 1 ? cells[1].firstElementChild : null;
        if (first && first.tagName === 'mo' && first.textContent.trim() === '=') {
          xs.push(first.getBoundingClientRect().left);
        }
      }
      if (xs.length > 1) {
        out.derivations += 1;
        if (Math.max(...xs) - Math.min(...xs) > 1) out.misaligned.push(xs);
      }
    }
    results[frame.dataset.name] = out;
  }
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(results);
  document.body.appendChild(pre);
});
"""


def browser() -> str:
    for name in BROWSERS:
        exe = shutil.which(name)
        if exe is not None:
            return exe
    message = (
        "no headless Chromium (chromium, google-chrome) on PATH: the HTML layout is not "
        "measured; install Debian's with `apt-get install chromium` (make pytest does, as root)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def measure(pages: dict[str, Path], workdir: Path) -> dict[str, dict[str, object]]:
    """Each page laid out in an 800 px frame by one headless Chromium."""
    exe = browser()
    frames = "\n".join(
        f'<iframe data-name="{html.escape(name)}" src="{path.resolve().as_uri()}" '
        f'width="{WIDTH}" height="900"></iframe>'
        for name, path in pages.items()
    )
    page = workdir / "measure.html"
    page.write_text(f"<!DOCTYPE html><html><head><script>{MEASURE}</script></head>"
                    f"<body>{frames}</body></html>")  # fmt: skip
    profile = workdir / "profile"
    proc = subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=240,
    )
    m = re.search(r'<pre id="measured">(.*?)</pre>', proc.stdout, re.S)
    assert m is not None, f"Chromium measured nothing: {proc.stderr[-2000:]}"
    return json.loads(html.unescape(m.group(1)))


@pytest.fixture(scope="module")
def layouts(
    tmp_path_factory: pytest.TempPathFactory, shared_proofs: SharedProofs
) -> dict[str, dict[str, object]]:
    browser()
    out = tmp_path_factory.mktemp("html")
    quiet = {"report": lambda _m: None, "terms_dir": ROOT / "terms"}
    with shared_proofs(out):
        pipeline.build(None, ("html",), "default", out, **quiet)
        pipeline.build(None, ("html",), "2026-winter", out, variants=1, **quiet)
    pages = {
        p.relative_to(out).as_posix(): p
        for p in sorted(out.glob("*/*/**/*.html"))
        if not any(s.startswith(".") for s in p.relative_to(out).parts)
    }
    # two pages the checks must find fault with (a check that cannot fail proves nothing)
    wide = (
        "$$\\begin{aligned} E &= " + " + ".join(["\\frac{a_{1}}{b_{2}}"] * 40) + "\\end{aligned}$$"
    )
    bad = out / "bad"
    bad.mkdir()
    (bad / "wide.html").write_text(pdf.markdown_to_html(wide, "wide", {}))
    plain = "$$\\begin{aligned} E &= \\frac{1}{2} \\\\ &= \\frac{3}{4} + x\\end{aligned}$$"
    (bad / "compact.html").write_text(
        pdf.markdown_to_html(plain, "compact", {}).replace("math-style: normal", "color: red")
    )
    (bad / "scroll.html").write_text(
        pdf.markdown_to_html(plain, "scroll", {}).replace(
            "</style>", 'math[display="block"] { overflow-y: auto; height: 1em; }</style>', 1
        )
    )
    pages["bad/wide.html"] = bad / "wide.html"
    pages["bad/compact.html"] = bad / "compact.html"
    pages["bad/scroll.html"] = bad / "scroll.html"
    return measure(pages, out)


def test_every_assignment_and_variant_has_its_pages_measured(
    layouts: dict[str, dict[str, object]],
) -> None:
    for aid in discover():
        for where in (f"default/{aid}", f"2026-winter/{aid}/variant-01"):
            for kind in ("key", "handout"):
                assert f"{where}/{kind}.html" in layouts
    derivations = sum(int(str(r["derivations"])) for n, r in layouts.items() if "key" in n)
    assert derivations > 10, "the alignment check saw the derivations"


def test_nothing_is_cut_off_or_scrolls_at_800_px(layouts: dict[str, dict[str, object]]) -> None:
    for name, r in layouts.items():
        if name.startswith("bad/"):
            continue
        assert r["over"] == [], f"{name}: wider than {WIDTH} px"
        assert r["scrolls"] == [], f"{name}: a scroll bar"
        assert r["page"] == r["width"], f"{name}: the page scrolls sideways"


def test_a_derivations_fractions_are_full_size_and_its_steps_align_at_equals(
    layouts: dict[str, dict[str, object]],
) -> None:
    for name, r in layouts.items():
        if not name.startswith("bad/"):
            assert r["small"] == [], f"{name}: fractions at text size in a derivation"
            assert r["misaligned"] == [], f"{name}: steps not aligned at ="


def test_the_checks_find_an_overwide_equation_a_scroll_bar_and_compact_fractions(
    layouts: dict[str, dict[str, object]],
) -> None:
    assert layouts["bad/wide.html"]["over"]
    assert layouts["bad/compact.html"]["small"]
    assert not layouts["bad/compact.html"]["over"]
    assert layouts["bad/scroll.html"]["scrolls"]
