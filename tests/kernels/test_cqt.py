"""Constant-Q kernels against librosa (frequencies, lengths, atoms) and numpy's FFT."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest

from adaspec.kernels import (
    centred_in,
    cqt_atoms,
    cqt_frequencies,
    cqt_lengths,
    cqt_spectral_kernels,
    cqt_time_kernels,
    kernel_half_width,
    kernel_support,
    plan_octave_levels,
    relative_bandwidth,
    resolve_gamma,
    window_bandwidth,
)


@pytest.mark.parametrize(
    ("n_bins", "f_min", "bins_per_octave"), [(84, 32.70, 12), (168, 32.70, 24), (7, 440.0, 3)]
)
def test_frequencies_match_librosa(n_bins, f_min, bins_per_octave):
    expected = librosa.cqt_frequencies(n_bins, fmin=f_min, bins_per_octave=bins_per_octave)
    np.testing.assert_allclose(cqt_frequencies(n_bins, f_min, bins_per_octave), expected, rtol=1e-14)


@pytest.mark.parametrize("bins_per_octave", [12, 24, 36])
@pytest.mark.parametrize("gamma", [0.0, 7.5, None])
@pytest.mark.parametrize("filter_scale", [1.0, 0.5])
def test_lengths_and_cutoff_match_librosa(bins_per_octave, gamma, filter_scale):
    freqs = cqt_frequencies(5 * bins_per_octave, 32.70, bins_per_octave)
    lengths, reach = cqt_lengths(
        freqs,
        22050.0,
        bins_per_octave=bins_per_octave,
        filter_scale=filter_scale,
        gamma=resolve_gamma(gamma, bins_per_octave),
    )
    expected, cutoff = librosa.filters.wavelet_lengths(
        freqs=freqs, sr=22050.0, filter_scale=filter_scale, gamma=gamma
    )
    np.testing.assert_allclose(lengths, expected, rtol=1e-12)
    # librosa's tabulated Hann bandwidth is 1.50018 (ours is the exact 1.5): a 1e-5 relative difference.
    np.testing.assert_allclose(reach.max(), cutoff, rtol=1e-4)


def test_relative_bandwidth_is_librosas_for_equal_temperament():
    for bins_per_octave in (1, 12, 24, 60):
        freqs = cqt_frequencies(4, 100.0, bins_per_octave)
        alpha = librosa.filters._relative_bandwidth(freqs=freqs)
        np.testing.assert_allclose(relative_bandwidth(bins_per_octave), alpha, rtol=1e-12)


@pytest.mark.parametrize(
    "window", ["hann", "hamming", "blackman", "flattop", "triang", "parzen", ("kaiser", 8.0), ("tukey", 0.5)]
)
def test_window_bandwidth_is_librosas(window):
    """librosa's table for named windows (flattop 2.78, not the formula's 3.77), its formula otherwise."""
    assert window_bandwidth(window) == pytest.approx(librosa.filters.window_bandwidth(window), rel=1e-12)


@pytest.mark.parametrize("norm", [1, 2, math.inf, None])
@pytest.mark.parametrize("gamma", [0.0, None])
def test_atoms_match_librosa_wavelets(norm, gamma):
    freqs = cqt_frequencies(24, 110.0, 12)
    resolved = resolve_gamma(gamma, 12)
    lengths, _ = cqt_lengths(freqs, 8000.0, gamma=resolved)
    expected, expected_lengths = librosa.filters.wavelet(
        freqs=freqs, sr=8000.0, norm=norm, gamma=resolved, dtype=np.complex128
    )
    n_fft = expected.shape[-1]
    assert n_fft == 2 ** math.ceil(math.log2(lengths.max()))
    np.testing.assert_allclose(lengths, expected_lengths, rtol=1e-12)
    actual = cqt_atoms(freqs, lengths, 8000.0, n_fft, norm=norm)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_spectral_and_time_kernels_agree_on_real_frames():
    freqs = cqt_frequencies(12, 300.0, 12)
    lengths, _ = cqt_lengths(freqs, 8000.0)
    n_fft = 512
    atoms = cqt_atoms(freqs, lengths, 8000.0, n_fft)
    spectral = cqt_spectral_kernels(atoms, np.sqrt(lengths))
    expected_spectral = np.fft.fft(atoms, axis=-1)[:, : n_fft // 2 + 1] * (np.sqrt(lengths)[:, None] / n_fft)
    np.testing.assert_allclose(spectral, expected_spectral, rtol=1e-12, atol=1e-15)
    frames = np.random.default_rng(0).standard_normal((5, n_fft))
    by_fft = np.fft.rfft(frames) @ spectral.T
    by_time = frames @ cqt_time_kernels(spectral, n_fft).T
    np.testing.assert_allclose(by_time, by_fft, rtol=0, atol=1e-12 * np.abs(by_fft).max())


@pytest.mark.parametrize("sparsity", [0.0, 1e-3, 1e-2])
def test_kernel_support_keeps_all_but_the_allowed_mass(sparsity):
    freqs = cqt_frequencies(12, 300.0, 12)
    lengths, _ = cqt_lengths(freqs, 8000.0)
    spectral = cqt_spectral_kernels(cqt_atoms(freqs, lengths, 8000.0, 1024), np.ones(12))
    low, high = kernel_support(spectral, sparsity)
    magnitudes = np.abs(spectral)
    for row, (first, last) in enumerate(zip(low, high, strict=True)):
        assert 0 <= first < last <= magnitudes.shape[-1]
        outside = magnitudes[row].sum() - magnitudes[row, first:last].sum()
        assert outside <= sparsity * magnitudes[row].sum() + 1e-15
        assert first <= np.argmax(magnitudes[row]) < last
    if sparsity == 0.0:
        assert (low == np.argmax(magnitudes > 0, axis=-1)).all()


def test_octave_plan_follows_librosa():
    freqs = cqt_frequencies(84, 32.70, 12)
    lengths, reach = cqt_lengths(freqs, 22050.0)
    levels = plan_octave_levels(lengths, 12, 512, 22050.0, reach.max())
    assert [(lv.factor, lv.start, lv.stop, lv.n_fft) for lv in levels] == [
        (2**i, 72 - 12 * i, 84 - 12 * i, 256) for i in range(7)
    ]
    # 44.1 kHz: librosa first downsamples once ("early downsampling") as the top octave is far below Nyquist.
    lengths, reach = cqt_lengths(freqs, 44100.0)
    assert [lv.factor for lv in plan_octave_levels(lengths, 12, 512, 44100.0, reach.max())] == [
        2,
        4,
        8,
        16,
        32,
        64,
        128,
    ]
    # An odd hop cannot be halved: everything at the full rate, one level.
    levels = plan_octave_levels(lengths, 12, 511, 44100.0, reach.max())
    assert [(lv.factor, lv.start, lv.stop) for lv in levels] == [(1, 0, 84)]
    assert levels[0].n_fft == 2 ** math.ceil(math.log2(lengths.max()))


def test_kernel_half_width_keeps_all_but_the_tolerance_of_every_row():
    # centre 8 of 16 samples; row 0 has mass 1 at offsets 0 and -3 and 0.01 at +5, row 1 mass at -1 only
    times = np.zeros((2, 16), dtype=np.complex128)
    times[0, [8, 5]] = 1.0
    times[0, 13] = 0.01j
    times[1, 7] = -2.0
    # [8 - w, 8 + w) holds offsets -w .. w - 1: offset -3 needs w = 3, offset +5 needs w = 6
    assert kernel_half_width(times, tolerance=0.01) == 3  # 0.01 of 2.01 may be left out
    assert kernel_half_width(times, tolerance=0.001) == 6
    assert kernel_half_width(times[1:], tolerance=0.0) == 1


def test_centred_in_pads_and_cuts_around_the_centre():
    times = np.arange(1, 6, dtype=np.complex128)[None]  # centre (index 2) holds 3
    padded = centred_in(times, 8)
    np.testing.assert_array_equal(padded[0], [0, 0, 1, 2, 3, 4, 5, 0])  # 3 at index 4 = 8 // 2
    np.testing.assert_array_equal(centred_in(times, 3)[0], [2, 3, 4])  # 3 at index 1 = 3 // 2
    np.testing.assert_array_equal(centred_in(padded, 5), times)
