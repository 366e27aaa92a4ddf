"""PNG writing of spectrograms."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
import torch

from adaspec.plots import save_spectrogram


def test_writes_a_png_with_and_without_axes(tmp_path):
    values = torch.linspace(0, 1, 40 * 30).reshape(40, 30)
    framed = save_spectrogram(values, tmp_path / "a" / "framed.png", sample_rate=16000, hop_length=160,
                              frequencies=np.linspace(0, 8000, 40), title="t")  # fmt: skip
    bare = save_spectrogram(
        values.numpy(), tmp_path / "bare.png", axes=False, size=(3, 2), dpi=50, cmap="gray"
    )
    assert framed.exists() and bare.exists()
    image = matplotlib.image.imread(bare)
    assert image.shape[:2] == (100, 150)
    # Low frequencies at the bottom: the bottom row is darker than the top row (values grow with the row).
    assert image[-1].mean() < image[0].mean()


def test_refuses_non_2d_input(tmp_path):
    with pytest.raises(ValueError, match="2-D"):
        save_spectrogram(np.zeros((2, 3, 4)), tmp_path / "x.png")


def test_leaves_pyplot_alone(tmp_path):
    """A library call in a notebook must not switch the user's backend or leave figures open in pyplot."""
    code = (
        "import matplotlib\n"
        "matplotlib.use('svg')\n"
        "import matplotlib.pyplot as plt, numpy as np\n"
        "from adaspec.plots import save_spectrogram\n"
        f"save_spectrogram(np.ones((4, 5)), {str(tmp_path / 'x.png')!r})\n"
        "print(matplotlib.get_backend(), len(plt.get_fignums()))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["svg", "0"]
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
