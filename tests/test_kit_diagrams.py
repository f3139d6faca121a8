"""kit.diagrams: a feature map with the kernel's window and an unrolled recurrent cell, as
TikZ and well-formed SVG, made from sizes only and the same every time."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from answerkey.kit import diagrams


def test_the_feature_map_shows_the_window_and_the_entry_it_computes() -> None:
    fig = diagrams.feature_map("fm", 4, 3)
    assert fig.tikz.count("rectangle") == 16 + 4 + 2  # the cells, and the two windows
    assert "$\\star K$" in fig.tikz and "3 by 3 window" in fig.alt
    root = ET.fromstring(fig.svg)
    assert root.tag.endswith("svg") and len(root.findall("{http://www.w3.org/2000/svg}rect")) == 22
    assert fig.svg == diagrams.feature_map("fm", 4, 3).svg  # deterministic


def test_the_unrolled_cell_has_a_state_per_step_and_the_loss_after_the_last() -> None:
    fig = diagrams.unrolled("rnn", 3)
    assert [f"$h_{t}$" in fig.tikz for t in range(4)] == [True] * 4
    assert "(h3) -- (E)" in fig.tikz
    root = ET.fromstring(fig.svg)
    assert len(root.findall("{http://www.w3.org/2000/svg}circle")) == 4
    assert "unrolled over 3 steps" in fig.alt
