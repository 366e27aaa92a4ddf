"""Figures outside pyplot: a figure is drawn and saved without pyplot knowing of it."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from adaspec.plots.figure import new_figure


def test_a_new_figure_is_not_pyplot_s_and_saves_a_png(tmp_path: Path) -> None:
    before = plt.get_fignums()
    figure = new_figure((2.0, 1.0), 50)
    figure.add_subplot(1, 1, 1).plot([0, 1], [1, 0])
    figure.savefig(tmp_path / "f.png")
    assert plt.get_fignums() == before
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert tuple(figure.get_size_inches()) == (2.0, 1.0) and figure.dpi == 50
