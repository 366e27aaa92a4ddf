"""Batches of no signals through the functional operations: each returns the empty result its batch implies
(``torch.fft`` itself raises MKL's DFTI error on them), connected to its inputs, with zero gradients."""

from __future__ import annotations

import pytest
import torch

from adaspec.ops import (
    decimate,
    decimated_fft_convolution,
    gabor_pooled_energy,
    linear_recurrence,
    octave_rates,
    pcen,
    windowed_fft,
)
from adaspec.ops._batch import map_signals
from adaspec.ops.convolution import FilterSpectra

TIME = 1000
LEADING = [(0,), (3, 0), (0, 2)]


def _gabor_parameters() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    centers = torch.tensor([0.4, 1.1], requires_grad=True)
    widths = torch.tensor([6.0, 5.0], requires_grad=True)
    pool_widths = torch.tensor([12.0, 10.0], requires_grad=True)
    return centers, widths, pool_widths


def _check_empty(op, example: tuple[int, ...], leading: tuple[int, ...], parameters=()) -> None:
    """``op`` on ``(*leading, *example)`` zeros: the shape one example's result implies, a gradient of the
    input's shape and zero parameter gradients."""
    with torch.no_grad():
        one = op(torch.rand(1, *example))
    empty = torch.zeros(*leading, *example, requires_grad=True)
    out = op(empty)
    assert out.shape == (*leading, *one.shape[1:])
    assert out.dtype == one.dtype
    (out.abs() if out.is_complex() else out).sum().backward()
    assert empty.grad is not None and empty.grad.shape == empty.shape
    for parameter in parameters:
        assert parameter.grad is None or not parameter.grad.any()


@pytest.mark.parametrize("leading", LEADING)
@pytest.mark.parametrize("output", ["complex", "power"])
def test_windowed_fft(leading, output) -> None:
    window = torch.hann_window(64).requires_grad_()
    _check_empty(lambda frames: windowed_fft(frames, window, output=output), (5, 64), leading, [window])


def test_windowed_fft_of_no_frames() -> None:
    """Signals too short for a frame: ``(batch, 0, n_fft)`` frames give ``(batch, 0, n_bins)``."""
    out = windowed_fft(torch.zeros(2, 0, 64), torch.hann_window(64))
    assert out.shape == (2, 0, 33) and out.is_complex()


@pytest.mark.parametrize("leading", LEADING)
def test_decimate_and_octave_rates(leading) -> None:
    _check_empty(lambda signals: decimate(signals, 4), (TIME,), leading)
    rates = octave_rates(torch.zeros(*leading, TIME), 2, 2)
    assert [tuple(rate.shape) for rate in rates] == [(*leading, n) for n in (500, 250, 125)]


@pytest.mark.parametrize("keep", [False, True])
def test_decimated_fft_convolution(keep) -> None:
    taps = torch.randn(3, 65, dtype=torch.complex64, generator=torch.Generator().manual_seed(0))
    taps.requires_grad_()
    _check_empty(lambda signals: decimated_fft_convolution(signals, taps, 32, 16), (TIME,), (0,), [taps])
    spectra = FilterSpectra(taps, 32, TIME, 16, dtype=torch.float32, keep=keep)
    assert spectra.apply(torch.zeros(0, TIME)).shape == (0, 3, 1 + (TIME - 1) // 16)


def test_gabor_pooled_energy() -> None:
    centers, widths, pool_widths = _gabor_parameters()

    def op(signals: torch.Tensor) -> torch.Tensor:
        return gabor_pooled_energy(signals, centers, widths, pool_widths, 16)

    _check_empty(op, (TIME,), (0,), [centers, widths, pool_widths])


@pytest.mark.parametrize("initial_state", ["librosa", "first_frame"])
def test_pcen_of_no_frames_or_no_examples(initial_state) -> None:
    s = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
    for shape in [(2, 3, 0), (0, 3, 7)]:
        energy = torch.zeros(shape, requires_grad=True)
        out = pcen(energy, s=s, initial_state=initial_state)
        assert out.shape == shape
        out.sum().backward()
        assert energy.grad.shape == shape
        assert s.grad is None or not s.grad.any()


def test_linear_recurrence_of_no_frames_has_zero_gradients() -> None:
    inputs = torch.zeros(2, 3, 0, requires_grad=True)
    log_decay = torch.full((3,), -0.1, requires_grad=True)
    initial = torch.ones(2, 3, requires_grad=True)
    out = linear_recurrence(inputs, log_decay, initial)
    assert out.shape == (2, 3, 0)
    out.sum().backward()
    assert not log_decay.grad.any() and not initial.grad.any() and inputs.grad.shape == inputs.shape


def test_map_signals_leaves_non_empty_batches_to_the_transform() -> None:
    """A non-empty batch is passed as it is (same object), whatever its leading shape."""
    signals = torch.randn(2, 3, 10)
    seen = []
    map_signals(lambda x: seen.append(x) or x, signals)
    assert seen[0] is signals
