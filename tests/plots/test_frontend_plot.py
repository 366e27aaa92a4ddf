"""Front-end parameters before vs after training, as PNGs."""

from __future__ import annotations

import logging

import matplotlib.image
import pytest
import torch

from adaspec import STFT, MelSpectrogram
from adaspec.plots.frontend import comparison_figure_size, frontend_state, save_frontend_comparison

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DPI = 40


def assert_png(path, n_rows: int) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    width, height = comparison_figure_size(n_rows)
    assert matplotlib.image.imread(path).shape[:2] == (round(height * DPI), round(width * DPI))


def test_state_is_a_detached_copy_with_dotted_names():
    mel = MelSpectrogram(sample_rate=8000, n_fft=64, n_mels=8, learn_filters=True)
    state = frontend_state(mel)
    assert set(state) == {"stft.window", "stft.kernel_real", "stft.kernel_imag", "filters"}
    assert state["filters"].shape == (8, 33) and state["stft.kernel_real"].shape == (33, 64)
    assert not any(t.requires_grad for t in state.values())
    with torch.no_grad():
        mel.filters.mul_(2.0)
    assert torch.equal(state["filters"] * 2.0, mel.filters.detach())


def test_stft_after_a_training_step(tmp_path):
    stft = STFT(n_fft=64, output="power", learn_window=True, learn_kernels=True)
    before = frontend_state(stft)
    optimizer = torch.optim.SGD(stft.parameters(), lr=0.1)
    stft(torch.randn(2, 512)).mean().backward()
    optimizer.step()
    after = frontend_state(stft)
    assert not torch.equal(before["window"], after["window"])
    path = save_frontend_comparison(before, after, tmp_path / "runs" / "frontend.png", title="stft", dpi=DPI)
    assert path == tmp_path / "runs" / "frontend.png"
    assert_png(path, n_rows=3)


def test_mel_unchanged_still_writes(tmp_path, caplog):
    mel = MelSpectrogram(sample_rate=8000, n_fft=64, n_mels=8)
    state = frontend_state(mel)
    with caplog.at_level(logging.INFO, logger="adaspec.plots.frontend"):
        path = save_frontend_comparison(state, frontend_state(mel), tmp_path / "same.png", dpi=DPI)
    assert "nothing learned" in caplog.text
    assert_png(path, n_rows=4)


def test_shape_mismatch_is_skipped(tmp_path, caplog):
    before = {"window": torch.ones(16), "kernel": torch.zeros(4, 8), "only_before": torch.ones(3)}
    after = {"window": torch.linspace(0, 1, 16), "kernel": torch.zeros(5, 8), "only_after": torch.ones(3)}
    with caplog.at_level(logging.INFO, logger="adaspec.plots.frontend"):
        path = save_frontend_comparison(before, after, tmp_path / "skip.png", dpi=DPI)
    assert "skipping kernel" in caplog.text
    assert "nothing learned" not in caplog.text
    assert_png(path, n_rows=1)


def test_odd_shapes_and_nothing_to_compare(tmp_path):
    before = {"scale": torch.tensor(1.0), "conv": torch.zeros(4, 1, 8), "empty": torch.empty(0)}
    after = {"scale": torch.tensor(2.0), "conv": torch.ones(4, 1, 8), "empty": torch.empty(0)}
    assert_png(save_frontend_comparison(before, after, tmp_path / "odd.png", dpi=DPI), n_rows=2)
    assert_png(save_frontend_comparison({}, {}, tmp_path / "none.png", dpi=DPI), n_rows=0)


@pytest.mark.parametrize("rows", [0, 1, 5])
def test_figure_size_grows_with_rows(rows):
    assert comparison_figure_size(rows)[1] == pytest.approx(0.8 + 2.8 * max(rows, 1))
