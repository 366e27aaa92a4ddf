"""Fixtures of the plot tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def drawn(monkeypatch):
    """The figures that save_spectrogram draws, to read their axes."""
    import adaspec.plots.spectrogram as module

    figures = []

    def keep(*args, **kwargs):
        figures.append(new_figure(*args, **kwargs))
        return figures[-1]

    new_figure = module.new_figure
    monkeypatch.setattr(module, "new_figure", keep)
    return figures
