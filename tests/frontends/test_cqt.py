"""CQT and VQT against librosa.cqt / librosa.vqt (tuning=0), gradients, flags, shapes and validation.

librosa computes every octave but the top one from a decimated signal (soxr resampling), and its default
``sparsity=0.01`` itself moves results by about 0.5 % of the largest value; the tolerances below are
relative to ``max|C|`` and hold on every frame, the ends included, for both algorithms. 168 bins at 12
per octave (14 octaves) are left out of the grid: below Nyquist they need ``f_min`` under 1.4 Hz, whose
filters are longer than the 1.5 s test signals.
"""

from __future__ import annotations

import functools
import math
import re

import librosa
import numpy as np
import pytest
import torch

import adaspec
from adaspec.config import validate_frontend_section
from adaspec.frontends.cqt import EDGE_MARGIN
from adaspec.models import Classifier, build_backbone

SECONDS = 1.5
HOP = 512
# (n_bins, bins_per_octave, f_min): 7, 3.5 and 7 octaves; the longest filters fit in 1.5 s.
CONFIGS = [(84, 12, 32.70), (84, 24, 65.41), (168, 24, 32.70)]
CONFIG_IDS = ["84x12", "84x24", "168x24"]


def make_signal(kind: str, sample_rate: int) -> np.ndarray:
    """A log chirp (30 Hz to 0.45 sr), a sum of 7 harmonics of 220 Hz, or white noise (float32 values)."""
    n = round(SECONDS * sample_rate)
    t = np.arange(n) / sample_rate
    if kind == "chirp":
        f0, f1 = 30.0, 0.45 * sample_rate
        rate = np.log(f1 / f0) / SECONDS
        y = np.sin(2 * np.pi * f0 * (np.exp(rate * t) - 1) / rate)
    elif kind == "tones":
        y = sum(np.sin(2 * np.pi * 220.0 * k * t + k) / k for k in range(1, 8))
    else:
        y = np.random.default_rng(0).standard_normal(n)
    return y.astype(np.float32).astype(np.float64)


@functools.cache
def reference(kind, sample_rate, n_bins, bins_per_octave, f_min, gamma, sparsity):
    y = make_signal(kind, sample_rate)
    return librosa.vqt(
        y,
        sr=sample_rate,
        hop_length=HOP,
        fmin=f_min,
        n_bins=n_bins,
        bins_per_octave=bins_per_octave,
        gamma=gamma,
        tuning=0.0,
        sparsity=sparsity,
    )


@functools.lru_cache(maxsize=8)
def module(sample_rate, n_bins, bins_per_octave, f_min, gamma, algorithm):
    return adaspec.VQT(
        sample_rate=sample_rate,
        hop_length=HOP,
        f_min=f_min,
        n_bins=n_bins,
        bins_per_octave=bins_per_octave,
        gamma=gamma,
        algorithm=algorithm,
    )


def ours(module, kind, sample_rate):
    with torch.no_grad():
        out = module(torch.from_numpy(make_signal(kind, sample_rate)).float())
    return out.to(torch.complex128 if out.is_complex() else torch.float64).numpy()


def relative_error(actual, expected):
    return np.abs(np.abs(actual) - np.abs(expected)).max() / np.abs(expected).max()


def check_against_librosa(sample_rate, kind, config, algorithm, gamma):
    n_bins, bins_per_octave, f_min = config
    cqt = module(sample_rate, n_bins, bins_per_octave, f_min, gamma, algorithm)
    actual = ours(cqt, kind, sample_rate)
    exact = reference(kind, sample_rate, n_bins, bins_per_octave, f_min, gamma, 0.0)
    sparse = reference(kind, sample_rate, n_bins, bins_per_octave, f_min, gamma, 0.01)
    assert actual.shape == exact.shape
    assert relative_error(actual, exact) <= 2e-3  # every frame, the ends included
    assert relative_error(actual, sparse) <= 1e-2


# --------------------------------------------------------------------------- librosa parity


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
@pytest.mark.parametrize("kind", ["chirp", "tones", "noise"])
@pytest.mark.parametrize("sample_rate", [22050, 44100])
def test_cqt_matches_librosa(sample_rate, kind, config, algorithm):
    check_against_librosa(sample_rate, kind, config, algorithm, 0.0)


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
@pytest.mark.parametrize(("config", "gamma"), [(CONFIGS[0], None), (CONFIGS[2], 10.0)], ids=["erb", "10Hz"])
@pytest.mark.parametrize("kind", ["chirp", "tones", "noise"])
@pytest.mark.parametrize("sample_rate", [22050, 44100])
def test_vqt_matches_librosa(sample_rate, kind, config, gamma, algorithm):
    check_against_librosa(sample_rate, kind, config, algorithm, gamma)


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
@pytest.mark.parametrize("gamma", [0.0, None], ids=["cqt", "erb"])
@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[2]], ids=[CONFIG_IDS[0], CONFIG_IDS[2]])
@pytest.mark.parametrize("kind", ["chirp", "noise"])
@pytest.mark.parametrize("sample_rate", [22050, 44100])
def test_float64_matches_librosa_to_its_rounding(sample_rate, kind, config, gamma, algorithm):
    """The decimation has the gain of librosa's soxr 'HQ' filter, so in float64 the complex values agree on
    every frame, the ends included, to about 1e-6 of the largest (with a raised-cosine low-pass: 2e-3).
    "direct" cuts its kernels at 1e-3 of their L1 norm (``DIRECT_KERNEL_TAIL``), which VQT's shorter
    octave frames feel. (An early decimation by 4 or more, as 84 bins at 24 per octave from 65 Hz take,
    rings differently in soxr's stages over the first frames: up to 4e-3 there.)"""
    n_bins, bins_per_octave, f_min = config
    transform = adaspec.VQT(
        sample_rate=sample_rate,
        hop_length=HOP,
        f_min=f_min,
        n_bins=n_bins,
        bins_per_octave=bins_per_octave,
        gamma=gamma,
        algorithm=algorithm,
        sparsity=0.0,
        dtype=torch.float64,
    )
    assert transform._levels[0].factor <= 2
    with torch.no_grad():
        actual = transform(torch.from_numpy(make_signal(kind, sample_rate))).numpy()
    expected = reference(kind, sample_rate, n_bins, bins_per_octave, f_min, gamma, 0.0)
    tolerance = 1e-3 if (algorithm, gamma) == ("direct", None) else 2e-6
    assert np.abs(actual - expected).max() / np.abs(expected).max() <= tolerance


def test_cqt_class_is_vqt_with_gamma_zero():
    y = torch.from_numpy(make_signal("tones", 22050))
    cqt = adaspec.CQT(sample_rate=22050, n_bins=48, f_min=65.41, dtype=torch.float64)
    vqt = adaspec.VQT(sample_rate=22050, n_bins=48, f_min=65.41, gamma=0, dtype=torch.float64)
    torch.testing.assert_close(cqt(y), vqt(y), rtol=0, atol=0)
    assert cqt.gamma == 0.0 and adaspec.VQT(sample_rate=22050).gamma > 0  # None: librosa's ERB default


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
def test_odd_hop_is_a_full_rate_transform_like_librosa(algorithm):
    # With an odd hop librosa cannot decimate and computes every octave at the full rate: no resampler
    # is involved, so both algorithms must agree with it closely, complex values included (librosa builds
    # its filters in complex64, hence 1e-4).
    y = make_signal("noise", 8000)
    kwargs = dict(sample_rate=8000, hop_length=201, f_min=110.0, n_bins=36)
    module = adaspec.CQT(**kwargs, algorithm=algorithm, sparsity=0.0, dtype=torch.float64)
    actual = module(torch.from_numpy(y)).numpy()
    expected = librosa.cqt(y, sr=8000, hop_length=201, fmin=110.0, n_bins=36, tuning=0.0, sparsity=0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize(("norm", "scale"), [(2, True), (math.inf, False), (None, True), (1, False)])
def test_norm_and_scale_options_match_librosa(norm, scale):
    y = make_signal("chirp", 16000)
    kwargs = dict(hop_length=256, fmin=55.0, n_bins=60, bins_per_octave=12, tuning=0.0, sparsity=0)
    expected = librosa.cqt(y, sr=16000, norm=norm, scale=scale, **kwargs)
    module = adaspec.CQT(
        sample_rate=16000, hop_length=256, f_min=55.0, n_bins=60, norm=norm, scale=scale, filter_scale=1
    )
    assert relative_error(ours(module, "chirp", 16000), expected) <= 2e-3


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
@pytest.mark.parametrize("pad_mode", ["reflect", "edge"])
def test_pad_modes_match_librosa(pad_mode, algorithm):
    # librosa pads each octave's decimated signal at its own rate; "direct" does so in its edge frames.
    y = make_signal("noise", 16000)
    kwargs = dict(hop_length=256, fmin=55.0, n_bins=60, tuning=0.0, sparsity=0, pad_mode=pad_mode)
    expected = librosa.cqt(y, sr=16000, **kwargs)
    module = adaspec.CQT(
        sample_rate=16000, hop_length=256, f_min=55.0, n_bins=60, pad_mode=pad_mode, algorithm=algorithm
    )
    assert relative_error(ours(module, "noise", 16000), expected) <= 2e-3


def test_direct_edge_frames_are_bounded_and_the_rest_is_full_rate():
    # Edge frames (taken from the decimated signal) reach half a level frame plus EDGE_MARGIN from each
    # end, whatever the length; the frames between come from the full-rate FFT path alone.
    module = adaspec.CQT(sample_rate=22050, algorithm="direct", output="magnitude")
    counts = module.edge_frames(22050 * 3)
    assert counts == module.edge_frames(22050 * 3 + 1024) and len(counts) == len(module._levels)
    for level, (head, tail) in zip(module._levels, counts, strict=True):
        reach = level.factor * (level.n_fft // 2 + EDGE_MARGIN)
        assert head == math.ceil(reach / 512) and abs(tail - head) <= 1
    y = torch.from_numpy(make_signal("noise", 22050)).float()
    spectrum = module._direct_spectral(y[None], 1 + len(y) // 512)[0].abs()
    out = module(y)
    head, tail = module.edge_frames(len(y))[-1]  # lowest level: the most edge frames
    lowest = slice(0, module._levels[-1].stop)
    assert head + tail < out.shape[-1] - 20
    torch.testing.assert_close(out[lowest, head:-tail], spectrum[lowest, head:-tail], rtol=1e-6, atol=0)
    # At the ends the full-rate path alone is a few percent off librosa (its edge frames are not).
    assert (out[lowest, -tail:] - spectrum[lowest, -tail:]).abs().max() > 1e-2 * out.max()


def test_filter_scale_and_window_match_librosa():
    y = make_signal("tones", 16000)
    expected = librosa.cqt(
        y, sr=16000, hop_length=256, fmin=55.0, n_bins=60, filter_scale=0.8, window="hamming", tuning=0.0
    )
    module = adaspec.CQT(
        sample_rate=16000, hop_length=256, f_min=55.0, n_bins=60, filter_scale=0.8, window="hamming"
    )
    assert relative_error(ours(module, "tones", 16000), expected) <= 1e-2


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
@pytest.mark.parametrize(
    ("window", "tolerance"), [("hamming", 2e-3), (("tukey", 0.5), 2e-3), ("boxcar", 5e-3)]
)
def test_windows_that_do_not_vanish_at_their_ends_match_librosa(window, tolerance, algorithm):
    """Their atoms reach 0 Hz and beyond: "direct" weighs the spectrum's conjugate too, or it missed
    librosa by 2e-2 (Hamming) to 1e-1 (boxcar) on a signal with an offset, mostly near the ends."""
    y = make_signal("noise", 16000)
    y = y + 0.5 * np.abs(y).max()
    kwargs = dict(hop_length=256, n_bins=60, window=window)
    expected = librosa.cqt(y, sr=16000, fmin=55.0, tuning=0.0, sparsity=0, **kwargs)
    module = adaspec.CQT(sample_rate=16000, f_min=55.0, algorithm=algorithm, sparsity=0.0, **kwargs)
    with torch.no_grad():
        actual = module(torch.from_numpy(y).float()).to(torch.complex128).numpy()
    assert np.abs(actual - expected).max() / np.abs(expected).max() <= tolerance


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
@pytest.mark.parametrize("gamma", [0.0, 50.0])
def test_octaves_sharing_a_rate_keep_their_own_frame_length(gamma, algorithm):
    """With hop 100 (two factors of 2) the three lowest octaves share one rate. librosa builds each
    octave's atoms in frames of its own length and keeps their non-negative frequencies; a boxcar's
    negative ones depend on that length. Built in the longest octave's frames, the upper two missed
    librosa by 1.3e-2 (CQT) and 4.2e-2 (VQT, gamma=50) of the largest value."""
    y = np.random.default_rng(0).standard_normal(22050)
    kwargs = dict(hop_length=100, n_bins=59, window="boxcar")
    expected = librosa.vqt(y, sr=22050, fmin=220.0, gamma=gamma, tuning=0.0, sparsity=0, **kwargs)
    module = adaspec.VQT(
        sample_rate=22050,
        f_min=220.0,
        gamma=gamma,
        algorithm=algorithm,
        sparsity=0.0,
        dtype=torch.float64,
        **kwargs,
    )
    assert [level.factor for level in module._levels] == [1, 2, 4]  # octaves 3 to 5 at one rate
    with torch.no_grad():
        actual = module(torch.from_numpy(y)).numpy()
    assert np.abs(actual - expected).max() / np.abs(expected).max() <= 5e-3


def short_frame_vqt(algorithm: str) -> adaspec.VQT:
    """The lowest octave at 1/128 of 48 kHz in frames of 8 samples (gamma=50 keeps the filters short)."""
    return adaspec.VQT(
        sample_rate=48000,
        hop_length=128,
        f_min=55.0,
        n_bins=76,
        bins_per_octave=36,
        filter_scale=0.8,
        gamma=50.0,
        algorithm=algorithm,
        sparsity=0.0,
        dtype=torch.float64,
    )


def test_direct_kernels_hold_the_decimation_low_pass_spread():
    """The direct kernels are the level kernels composed with the decimation low-pass, which spreads them
    far beyond an 8-sample level frame: cut to it and wrapped around, "direct" missed librosa (and
    "multirate") by 9e-2 of the largest value in the lowest bins."""
    y = np.random.default_rng(0).standard_normal(48000)
    expected = librosa.vqt(
        y,
        sr=48000,
        hop_length=128,
        fmin=55.0,
        n_bins=76,
        bins_per_octave=36,
        filter_scale=0.8,
        gamma=50.0,
        tuning=0.0,
        sparsity=0,
    )
    direct, multirate = short_frame_vqt("direct"), short_frame_vqt("multirate")
    assert direct.n_fft > max(level.n_fft * level.factor for level in direct._levels)
    with torch.no_grad():
        ours_direct, ours_multirate = (module(torch.from_numpy(y)).numpy() for module in (direct, multirate))
    scale = np.abs(expected).max()
    assert np.abs(ours_direct - expected).max() / scale <= 1e-2
    assert np.abs(ours_direct - ours_multirate).max() / scale <= 1e-3


@pytest.mark.parametrize(("gamma", "n_bins"), [(0.0, 101), (None, 84)])
def test_direct_learnable_kernels_start_from_the_same_transform(gamma, n_bins):
    """With learn_kernels the edge frames take the full-rate kernels at each level's rate, corrected by
    what the analytic ones differ from the level kernels there: at initialisation the output is the
    frozen path's (it was 6.4e-2 off for 101 bins, whose top bins reach soxr's transition band)."""
    y = torch.from_numpy(make_signal("noise", 22050))
    kwargs = dict(
        sample_rate=22050, hop_length=HOP, n_bins=n_bins, gamma=gamma, algorithm="direct", sparsity=0.0
    )
    frozen = adaspec.VQT(**kwargs, dtype=torch.float64)
    learnable = adaspec.VQT(**kwargs, learn_kernels=True, dtype=torch.float64)
    assert frozen.uses_spectral_kernels() and not learnable.uses_spectral_kernels()
    with torch.no_grad():
        expected, actual = frozen(y), learnable(y)
    assert (actual - expected).abs().max() <= 1e-9 * expected.abs().max()


@pytest.mark.parametrize("pad_mode", ["reflect", "circular"])
def test_direct_takes_signals_shorter_than_half_its_frames(pad_mode):
    """Its full-rate frames (4096 samples for this VQT) are zero-padded; pad_mode acts at each level's
    rate in the edge frames, as in "multirate". Reflect padding at the full rate refused 1500 samples."""
    kwargs = dict(sample_rate=16000, hop_length=128, f_min=32.7, n_bins=84, gamma=None, pad_mode=pad_mode)
    direct = adaspec.VQT(**kwargs, algorithm="direct", sparsity=0.0, dtype=torch.float64)
    multirate = adaspec.VQT(**kwargs, dtype=torch.float64)
    assert direct.n_fft // 2 > 1500 > direct.min_length
    y = torch.from_numpy(np.random.default_rng(0).standard_normal(1500))
    with torch.no_grad():
        expected, actual = multirate(y), direct(y)
    assert (actual - expected).abs().max() <= 2e-3 * expected.abs().max()


def test_direct_kernels_saved_with_shorter_frames_load_centred():
    """A checkpoint from before the frames grew holds shorter kernels: they load centred in the longer
    frames (the same products) and take the time-domain path, as any kernels that are not the analytic
    ones do."""
    module = short_frame_vqt("direct")
    state = module.state_dict()
    saved = {
        name: state[name][:, module.n_fft // 2 - 512 : module.n_fft // 2 + 512].clone() for name in state
    }
    module.load_state_dict(saved)
    for name, kernel in saved.items():
        loaded = getattr(module, name).detach()
        middle = slice(module.n_fft // 2 - 512, module.n_fft // 2 + 512)
        assert torch.equal(loaded[:, middle], kernel)
        assert loaded[:, : middle.start].abs().max() == 0 and loaded[:, middle.stop :].abs().max() == 0
    assert not module.uses_spectral_kernels()
    assert torch.isfinite(module(torch.randn(4800, dtype=torch.float64)).abs()).all()


@pytest.mark.parametrize("gamma", [7600.0, 1e6])
def test_a_gamma_too_large_for_any_bin_is_named(gamma):
    """Every filter reaches ``f + gamma / 2`` or more (librosa's VQT bandwidth): with ``f_min + gamma / 2``
    past Nyquist no bin fits whatever ``n_bins``, and the message blamed ``n_bins`` ("at most 0 bins
    fit")."""
    with pytest.raises(
        ValueError, match="^" + re.escape(f"gamma={gamma:g} Hz is too large for sample_rate=8000")
    ):
        adaspec.VQT(sample_rate=8000, hop_length=64, f_min=200.0, n_bins=24, gamma=gamma)


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (adaspec.CQT, dict(f_min=20000.0, n_bins=1)),  # f_min above Nyquist
        (adaspec.CQT, dict(f_min=10900.0, n_bins=3)),  # below Nyquist, its filter reaches past it
        (adaspec.VQT, dict(f_min=10900.0, n_bins=3, gamma=10.0)),  # past Nyquist without gamma too
    ],
)
def test_an_f_min_too_high_for_any_bin_is_named(cls, kwargs):
    """A lowest bin whose filter reaches past Nyquist without any ``gamma`` is ``f_min``'s fault: the
    message blamed ``gamma=0`` ("gamma=0 Hz is too large") or ``n_bins`` ("at most 0 bins fit")."""
    with pytest.raises(ValueError, match=r"^f_min=\S+ Hz is too high for sample_rate=22050: ") as info:
        cls(sample_rate=22050, **kwargs)
    assert "gamma" not in str(info.value) and "n_bins" not in str(info.value)


def test_direct_refuses_multirate_kernels():
    """ "multirate" kernels (at each level's rate, shorter than the full-rate span of the levels' frames)
    are not an old "direct" checkpoint: loading them is a size mismatch, not a silently different
    transform (they were centred in the frames and gave 2x the expected values)."""
    multirate, direct = short_frame_vqt("multirate"), short_frame_vqt("direct")
    assert multirate.n_fft < direct.n_fft
    with pytest.raises(RuntimeError, match="size mismatch for kernel_real"):
        direct.load_state_dict(multirate.state_dict())


# --------------------------------------------------------------------------- outputs, dtypes, shapes


def small_cqt(**kwargs):
    return adaspec.CQT(**{"sample_rate": 8000, "hop_length": 128, "f_min": 110.0, "n_bins": 36, **kwargs})


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
def test_output_kinds(algorithm):
    x = torch.randn(2, 4000, dtype=torch.float64)
    complex_out = small_cqt(algorithm=algorithm, dtype=torch.float64)(x)
    assert complex_out.is_complex() and complex_out.shape == (2, 36, 1 + 4000 // 128)
    magnitude = small_cqt(algorithm=algorithm, output="magnitude", dtype=torch.float64)(x)
    power = small_cqt(algorithm=algorithm, output="power", dtype=torch.float64)(x)
    torch.testing.assert_close(magnitude, complex_out.abs())
    torch.testing.assert_close(power, complex_out.abs().square())


@pytest.mark.parametrize("leading", [(), (3,), (2, 2)])
def test_leading_dimensions_preserved(leading):
    x = torch.randn(*leading, 3000)
    module = small_cqt(output="magnitude")
    out = module(x)
    assert out.shape == (*leading, 36, 1 + 3000 // 128)
    flat = x.reshape(-1, 3000)
    for i, row in enumerate(out.reshape(-1, 36, out.shape[-1])):
        torch.testing.assert_close(row, module(flat[i]))


def test_float64_and_half_inputs():
    module = small_cqt(output="magnitude", dtype=torch.float64)
    x = torch.randn(2, 3000, dtype=torch.float64)
    assert module(x).dtype == torch.float64
    assert module(x.half()).dtype == torch.float32  # computed in float32


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
def test_autocast_computes_in_float32(algorithm):
    module = small_cqt(algorithm=algorithm, output="magnitude", learn_kernels=True)
    x = torch.randn(2, 3000)
    expected = module(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    assert torch.isfinite(module.kernel_real.grad).all()


def test_short_input_raises_naming_the_longest_filter():
    module = small_cqt()
    freqs = librosa.cqt_frequencies(36, fmin=110.0)
    needed = math.ceil(librosa.filters.wavelet_lengths(freqs=freqs, sr=8000)[0].max())
    assert module.min_length == needed
    module(torch.randn(needed))
    with pytest.raises(ValueError, match=rf"shorter than the longest filter \({needed} samples"):
        module(torch.randn(needed - 1))


# --------------------------------------------------------------------------- learnability


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
def test_gradients_reach_kernels_only_when_learn_kernels(algorithm):
    x = torch.randn(2, 3000, requires_grad=True)
    module = small_cqt(algorithm=algorithm, output="magnitude")
    module(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert module.kernel_real.grad is None and module.kernel_imag.grad is None
    module.learn_kernels = True
    assert module.kernel_real.requires_grad and module.kernel_imag.requires_grad
    module(x).sum().backward()
    assert module.kernel_real.grad.abs().sum() > 0 and module.kernel_imag.grad.abs().sum() > 0
    module.learn_kernels = False
    assert not module.kernel_real.requires_grad


def test_direct_paths_agree_and_training_leaves_the_fft_path():
    x = torch.randn(2, 3000, dtype=torch.float64)
    module = small_cqt(algorithm="direct", output="magnitude", dtype=torch.float64)
    assert module.uses_spectral_kernels()
    fixed = module(x)
    module.learn_kernels = True  # dense time-domain kernels: the same transform without the sparsity cut
    assert not module.uses_spectral_kernels()
    learnable = module(x)
    torch.testing.assert_close(learnable, fixed, rtol=0, atol=2e-3 * fixed.abs().max().item())
    optimizer = torch.optim.SGD(module.parameters(), lr=1e-3)
    module(x).square().mean().backward()
    optimizer.step()
    module.learn_kernels = False
    assert not module.uses_spectral_kernels()  # trained kernels are no longer the analytic ones
    assert not torch.allclose(module(x), learnable)


def test_optimizer_updates_kernels_only_when_flag_on():
    module = small_cqt(output="magnitude")
    x = torch.randn(2, 3000, requires_grad=True)
    optimizer = torch.optim.SGD(module.parameters(), lr=1e-2)
    before = module.kernel_real.detach().clone()
    module(x).square().mean().backward()
    optimizer.step()
    torch.testing.assert_close(module.kernel_real, before, rtol=0, atol=0)
    module.learn_kernels = True
    optimizer.zero_grad()
    module(x).square().mean().backward()
    optimizer.step()
    assert not torch.equal(module.kernel_real.detach(), before)


# --------------------------------------------------------------------------- registry and pipeline


def test_registered_and_built_from_configs():
    cqt = adaspec.build_frontend("cqt", sample_rate=16000, hop_length=256, n_bins=48, output="magnitude")
    vqt = adaspec.build_frontend("vqt", sample_rate=16000, hop_length=256, n_bins=48, gamma=5.0)
    assert type(cqt) is adaspec.CQT and type(vqt) is adaspec.VQT
    assert (cqt.n_bins, cqt.output, vqt.gamma) == (48, "magnitude", 5.0)
    with pytest.raises(ValueError, match="gamma"):
        adaspec.build_frontend("cqt", gamma=1.0)
    section = validate_frontend_section({"name": "cqt", "hop_length": 256}, 16000, "frontend")
    assert section == {"name": "cqt", "hop_length": 256, "sample_rate": 16000}


def test_classifier_on_cqt():
    frontend = adaspec.CQT(sample_rate=16000, hop_length=256, n_bins=84, output="magnitude")
    backbone = build_backbone("small_cnn", num_classes=3, in_channels=3, image_size=32, hidden=16)
    model = Classifier(frontend, backbone, adapter="repeat", compression="db")
    logits = model(torch.randn(2, 16000))
    assert logits.shape == (2, 3)
    assert frontend(torch.randn(2, 16000)).shape[-2] == frontend.n_bins == 84


# --------------------------------------------------------------------------- validation


def librosa_accepts(sample_rate, f_min, n_bins, bins_per_octave):
    freqs = librosa.cqt_frequencies(n_bins, fmin=f_min, bins_per_octave=bins_per_octave)
    _, cutoff = librosa.filters.wavelet_lengths(freqs=freqs, sr=sample_rate)
    return cutoff <= sample_rate / 2


@pytest.mark.parametrize(
    ("sample_rate", "f_min", "n_bins", "bins_per_octave"),
    [
        (22050, 32.70, 109, 12),  # top bin above Nyquist
        (22050, 10800.0 / 2 ** (83 / 12), 84, 12),  # top bin at 10.8 kHz, its filter reaches past 11 025 Hz
        (16000, 65.41, 168, 24),  # 7 octaves from C2 end at 8 kHz
    ],
)
def test_bins_past_nyquist_raise_like_librosa(sample_rate, f_min, n_bins, bins_per_octave):
    assert not librosa_accepts(sample_rate, f_min, n_bins, bins_per_octave)
    with pytest.raises(ValueError, match="Nyquist") as info:
        adaspec.CQT(sample_rate=sample_rate, f_min=f_min, n_bins=n_bins, bins_per_octave=bins_per_octave)
    fitting = int(str(info.value).split("at most ")[1].split(" bins")[0])
    assert librosa_accepts(sample_rate, f_min, fitting, bins_per_octave)
    assert not librosa_accepts(sample_rate, f_min, fitting + 1, bins_per_octave)
    adaspec.CQT(sample_rate=sample_rate, f_min=f_min, n_bins=fitting, bins_per_octave=bins_per_octave)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(sample_rate=0), "sample_rate"),
        (dict(hop_length=0), "hop_length"),
        (dict(f_min=-1.0), "f_min"),
        (dict(n_bins=0), "n_bins"),
        (dict(bins_per_octave=0), "bins_per_octave"),
        (dict(filter_scale=0.0), "filter_scale"),
        (dict(norm=3), "norm"),
        (dict(output="db"), "output"),
        (dict(algorithm="fast"), "algorithm"),
        (dict(pad_mode="mirror"), "pad_mode"),
        (dict(sparsity=1.0), "sparsity"),
        (dict(window=np.ones(8)), "window"),
        (dict(window="nonsense"), "window"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        adaspec.CQT(**kwargs)


def test_negative_gamma_raises():
    with pytest.raises(ValueError, match="gamma"):
        adaspec.VQT(gamma=-1.0)


def test_a_lowest_bin_that_its_width_takes_past_nyquist_suggests_filter_scale():
    """A tiny ``filter_scale`` widens every filter: the message only said "lower f_min"."""
    with pytest.raises(ValueError, match=r"so no bin fits; lower f_min, or raise filter_scale") as info:
        adaspec.CQT(sample_rate=8000, hop_length=64, f_min=1000.0, n_bins=12, filter_scale=1e-3)
    assert "f_min=1000 Hz is too high" in str(info.value)
    with pytest.raises(ValueError, match=r"so no bin fits; lower f_min$"):  # above Nyquist: f_min alone
        adaspec.CQT(sample_rate=8000, hop_length=64, f_min=5000.0, n_bins=1)


@pytest.mark.parametrize("trained", ["kernel_real", "kernel_imag"])
def test_one_kernel_trained_alone_gets_its_gradient(trained):
    """With ``kernel_real`` frozen by hand, ``learn_kernels`` read False and the direct CQT took its
    spectral fast path, whose output does not depend on the kernels: ``kernel_imag`` never trained."""
    module = adaspec.CQT(
        sample_rate=8000, hop_length=64, f_min=200.0, n_bins=12, algorithm="direct", learn_kernels=True
    )
    frozen = "kernel_imag" if trained == "kernel_real" else "kernel_real"
    getattr(module, frozen).requires_grad_(False)
    assert module.learn_kernels
    module(torch.randn(2, 4000)).abs().sum().backward()
    grad = getattr(module, trained).grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().max() > 0
    module.learn_kernels = False
    assert not module.kernel_real.requires_grad and not module.kernel_imag.requires_grad
