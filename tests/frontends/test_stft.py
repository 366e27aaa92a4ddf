"""adaspec.STFT against torch.stft, librosa.stft and a direct DFT; gradients, flags and errors."""

from __future__ import annotations

import itertools
import math

import librosa
import numpy as np
import pytest
import scipy.signal
import torch

import adaspec

WINDOWS = ["hann", "hamming", "blackman", ("kaiser", 8.0), ("gaussian", 7.0), "boxcar"]
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def scipy_window(spec, win_length: int, dtype) -> torch.Tensor:
    return torch.from_numpy(scipy.signal.get_window(spec, win_length, fftbins=True)).to(dtype)


def assert_close_to(ours: torch.Tensor, reference: torch.Tensor, dtype) -> None:
    assert ours.shape == reference.shape
    scale = reference.abs().max().item()
    error = (ours.to(reference.dtype) - reference).abs().max().item()
    assert error <= TOLERANCE[dtype] * scale, f"max error {error:.3g} vs max |X| {scale:.3g}"


GRID = [
    # n_fft, win_length, hop, window, center, pad_mode
    (64, 64, 16, "hann", True, "reflect"),
    (64, 48, 16, "hamming", True, "constant"),
    (128, 100, 32, "blackman", False, "reflect"),
    (128, 128, 50, ("kaiser", 8.0), True, "replicate"),
    (256, 200, 64, ("gaussian", 7.0), True, "circular"),
    (255, 255, 64, "hann", True, "reflect"),
    (96, 81, 7, "boxcar", False, "constant"),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("n_fft", "win_length", "hop", "window", "center", "pad_mode"), GRID)
@pytest.mark.parametrize("shape", [(1000,), (3, 1000), (2, 2, 1000)])
def test_matches_torch_stft(signal_factory, dtype, n_fft, win_length, hop, window, center, pad_mode, shape):
    x = signal_factory(shape, dtype=dtype)
    stft = adaspec.STFT(
        n_fft=n_fft, win_length=win_length, hop_length=hop, window=window, center=center,
        pad_mode=pad_mode, dtype=dtype,
    )  # fmt: skip
    reference = torch.stft(
        x.reshape(-1, shape[-1]), n_fft, hop, win_length, window=scipy_window(window, win_length, dtype),
        center=center, pad_mode=pad_mode, return_complex=True,
    ).reshape(*shape[:-1], n_fft // 2 + 1, -1)  # fmt: skip
    assert_close_to(stft(x), reference, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("n_fft", "win_length", "hop", "window", "center", "pad_mode"), GRID)
def test_matches_librosa_stft(signal_factory, dtype, n_fft, win_length, hop, window, center, pad_mode):
    x = signal_factory((2, 1200), dtype=dtype)
    stft = adaspec.STFT(
        n_fft=n_fft, win_length=win_length, hop_length=hop, window=window, center=center,
        pad_mode=pad_mode, dtype=dtype,
    )  # fmt: skip
    signal = x.numpy()
    numpy_pad = {"replicate": "edge", "circular": "wrap"}.get(pad_mode, pad_mode)
    if center and numpy_pad == "wrap":  # librosa.stft refuses "wrap": pad with numpy, then no centring
        signal, center = np.pad(signal, [(0, 0), (n_fft // 2, n_fft // 2)], mode="wrap"), False
    reference = librosa.stft(
        signal, n_fft=n_fft, hop_length=hop, win_length=win_length, window=window, center=center,
        pad_mode=numpy_pad,
    )  # fmt: skip
    assert_close_to(stft(x), torch.from_numpy(reference), dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("output", ["magnitude", "power"])
def test_real_outputs_match_torch(signal_factory, dtype, output):
    x = signal_factory((2, 3000), dtype=dtype)
    stft = adaspec.STFT(n_fft=256, hop_length=64, output=output, dtype=dtype)
    reference = torch.stft(x, 256, 64, window=torch.hann_window(256, dtype=dtype), return_complex=True).abs()
    if output == "power":
        reference = reference**2
    assert_close_to(stft(x), reference, dtype)


@pytest.mark.parametrize("n_fft", [64, 63])
def test_two_sided_matches_torch(signal_factory, n_fft):
    x = signal_factory((2, 500), dtype=torch.float64)
    stft = adaspec.STFT(n_fft=n_fft, hop_length=16, onesided=False, dtype=torch.float64)
    reference = torch.stft(
        x,
        n_fft,
        16,
        window=torch.hann_window(n_fft, dtype=torch.float64),
        onesided=False,
        return_complex=True,
    )
    assert_close_to(stft(x), reference, torch.float64)


def test_normalizations_match_torch(signal_factory):
    x = signal_factory((2, 2000), dtype=torch.float64)
    window = torch.hann_window(256, dtype=torch.float64)
    plain = torch.stft(x, 256, 64, window=window, return_complex=True)
    by_frame = torch.stft(x, 256, 64, window=window, normalized=True, return_complex=True)
    frame_length = adaspec.STFT(n_fft=256, hop_length=64, normalized="frame_length", dtype=torch.float64)
    assert_close_to(frame_length(x), by_frame, torch.float64)
    for flag in (True, "window"):
        by_window = adaspec.STFT(n_fft=256, hop_length=64, normalized=flag, dtype=torch.float64)
        assert_close_to(by_window(x), plain / window.square().sum().sqrt(), torch.float64)


def direct_dft(x: np.ndarray, frequencies: np.ndarray, n_fft: int, hop: int, window: np.ndarray, sr: float):
    """Closed-form DFT of reflect-padded, windowed frames at arbitrary frequencies."""
    padded = np.pad(x, n_fft // 2, mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    frames = np.stack([padded[t * hop : t * hop + n_fft] * window for t in range(n_frames)], axis=1)
    basis = np.exp(-2j * np.pi * np.outer(frequencies, np.arange(n_fft)) / sr)
    return basis @ frames


@pytest.mark.parametrize("freq_scale", ["linear", "log"])
@pytest.mark.parametrize("learn_kernels", [False, True])
def test_linear_and_log_bins_equal_direct_dft(signal_factory, freq_scale, learn_kernels):
    sr, n_fft, hop = 8000.0, 128, 32
    x = signal_factory((900,), sample_rate=sr, dtype=torch.float64)
    stft = adaspec.STFT(
        n_fft=n_fft, hop_length=hop, sample_rate=sr, freq_scale=freq_scale, n_bins=40, f_min=50.0,
        f_max=3000.0, learn_kernels=learn_kernels, dtype=torch.float64,
    )  # fmt: skip
    expected_freqs = (np.linspace if freq_scale == "linear" else np.geomspace)(50.0, 3000.0, 40)
    np.testing.assert_allclose(stft.frequencies.numpy(), expected_freqs, rtol=1e-12)
    window = scipy.signal.get_window("hann", n_fft, fftbins=True)
    reference = direct_dft(x.numpy(), expected_freqs, n_fft, hop, window, sr)
    ours = stft(x).detach().numpy()
    assert np.abs(ours - reference).max() <= 1e-10 * np.abs(reference).max()


@pytest.mark.parametrize("output", ["complex", "magnitude", "power"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fft_and_dense_paths_agree_at_initialisation(signal_factory, output, dtype):
    x = signal_factory((3, 2000), dtype=dtype)
    fixed = adaspec.STFT(n_fft=256, win_length=200, hop_length=100, output=output, dtype=dtype)
    dense = adaspec.STFT(
        n_fft=256, win_length=200, hop_length=100, output=output, learn_kernels=True, dtype=dtype
    )
    assert fixed.uses_fft() and not dense.uses_fft()
    assert_close_to(dense(x).detach(), fixed(x), dtype)


def test_flags_control_requires_grad_and_can_be_flipped():
    stft = adaspec.STFT(n_fft=32, hop_length=8)
    assert not stft.learn_window and not stft.learn_kernels
    assert not any(p.requires_grad for p in stft.parameters())
    stft.learn_window = True
    assert stft.window.requires_grad and not stft.kernel_real.requires_grad
    stft.learn_kernels = True
    assert stft.kernel_real.requires_grad and stft.kernel_imag.requires_grad
    stft.learn_window = False
    assert not stft.window.requires_grad and stft.learn_kernels


@pytest.mark.parametrize(("learn_window", "learn_kernels"), list(itertools.product([False, True], repeat=2)))
def test_gradients_reach_only_flagged_parameters(signal_factory, learn_window, learn_kernels):
    stft = adaspec.STFT(n_fft=64, hop_length=16, output="magnitude", learn_window=learn_window,
                        learn_kernels=learn_kernels)  # fmt: skip
    x = signal_factory((2, 400))
    if not (learn_window or learn_kernels):
        assert not stft(x).requires_grad
        return
    stft(x).sum().backward()
    assert (stft.window.grad is not None) == learn_window
    assert (stft.kernel_real.grad is not None) == learn_kernels
    assert (stft.kernel_imag.grad is not None) == learn_kernels
    for parameter in stft.parameters():
        if parameter.grad is not None:
            assert torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0


def test_flipping_a_flag_after_construction_changes_what_trains(signal_factory):
    stft = adaspec.STFT(n_fft=64, hop_length=16, output="power")
    optimizer = torch.optim.SGD(stft.parameters(), lr=1e-3)
    x = signal_factory((2, 400))

    def train_step() -> dict[str, torch.Tensor]:
        before = {name: p.detach().clone() for name, p in stft.named_parameters()}
        optimizer.zero_grad()
        loss = stft(x).mean()
        if loss.requires_grad:
            loss.backward()
            optimizer.step()
        return {name: not torch.equal(before[name], p) for name, p in stft.named_parameters()}

    assert train_step() == {"window": False, "kernel_real": False, "kernel_imag": False}
    stft.learn_window = True
    assert train_step() == {"window": True, "kernel_real": False, "kernel_imag": False}
    stft.learn_window, stft.learn_kernels = False, True
    assert train_step() == {"window": False, "kernel_real": True, "kernel_imag": True}


@pytest.mark.parametrize("output", ["complex", "magnitude", "power"])
@pytest.mark.parametrize(("learn_kernels", "onesided"), [(False, True), (False, False), (True, True)])
def test_gradcheck_window_kernels_and_input(output, learn_kernels, onesided):
    torch.manual_seed(0)
    stft = adaspec.STFT(
        n_fft=16, win_length=12, hop_length=5, window=("kaiser", 4.0), output=output, onesided=onesided,
        learn_window=True, learn_kernels=learn_kernels, dtype=torch.float64,
    )  # fmt: skip
    x = torch.randn(2, 41, dtype=torch.float64, requires_grad=True)
    parameters = dict(stft.named_parameters())
    trained = [name for name, p in parameters.items() if p.requires_grad]

    def transform(signal, *values):
        state = {name: value for name, value in zip(trained, values, strict=True)}
        return torch.func.functional_call(stft, state, (signal,))

    inputs = (x, *(parameters[name].detach().clone().requires_grad_() for name in trained))
    assert torch.autograd.gradcheck(transform, inputs)


def test_trained_kernels_are_used_after_learning_is_switched_off(signal_factory):
    x = signal_factory((1, 600), dtype=torch.float64)
    stft = adaspec.STFT(n_fft=32, hop_length=8, learn_kernels=True, dtype=torch.float64)
    optimizer = torch.optim.SGD(stft.parameters(), lr=0.1)
    stft(x).abs().sum().backward()
    optimizer.step()
    stft.learn_kernels = False
    assert not stft.uses_fft()
    # Closed form with the trained kernels: sum_n frame[n] window[n] (real[k, n] + i imag[k, n]).
    padded = np.pad(x[0].numpy(), 16, mode="reflect")
    frames = np.stack([padded[t * 8 : t * 8 + 32] for t in range(1 + (len(padded) - 32) // 8)], axis=1)
    kernels = (stft.kernel_real + 1j * stft.kernel_imag).detach().numpy() * stft.window.detach().numpy()
    np.testing.assert_allclose(stft(x)[0].detach().numpy(), kernels @ frames, rtol=1e-12, atol=1e-12)


def test_pristine_state_dict_keeps_the_fft_path():
    source = adaspec.STFT(n_fft=64, hop_length=16)
    target = adaspec.STFT(n_fft=64, hop_length=16)
    target.load_state_dict(source.state_dict())
    assert target.uses_fft()
    with torch.no_grad():
        target.kernel_imag[3, 5] += 0.5
    assert not target.uses_fft()


def test_window_specs_tensors_and_yaml_lists():
    as_list = adaspec.STFT(n_fft=64, window=["kaiser", 8.0])
    expected = scipy.signal.get_window(("kaiser", 8.0), 64, fftbins=True)
    np.testing.assert_allclose(as_list.window.detach().numpy(), expected, rtol=1e-6)
    custom = torch.linspace(0, 1, 50)
    from_tensor = adaspec.STFT(n_fft=64, win_length=50, window=custom)
    assert torch.equal(from_tensor.window.detach(), custom)


def test_hop_defaults_to_a_quarter_window():
    assert adaspec.STFT(n_fft=512, win_length=400).hop_length == 100


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_fft": 0}, "n_fft"),
        ({"n_fft": -4}, "n_fft"),
        ({"n_fft": 64, "hop_length": 0}, "hop_length"),
        ({"n_fft": 64, "win_length": 65}, "win_length"),
        ({"n_fft": 64, "window": "no-such-window"}, "window"),
        ({"n_fft": 64, "window": torch.ones(10)}, "window"),
        ({"n_fft": 64, "output": "phase"}, "output"),
        ({"n_fft": 64, "pad_mode": "mirror"}, "pad_mode"),
        ({"n_fft": 64, "freq_scale": "mel"}, "freq_scale"),
        ({"n_fft": 64, "freq_scale": "linear", "sample_rate": 8000, "f_max": 5000.0}, "f_max"),
        ({"n_fft": 64, "freq_scale": "log", "f_min": 0.0}, "f_min"),
        ({"n_fft": 64, "n_bins": 10}, "n_bins"),
        ({"n_fft": 64, "normalized": "energy"}, "normalized"),
        (
            {"n_fft": 64, "freq_scale": "linear", "onesided": False},
            "onesided=False applies to freq_scale='full'",
        ),
        ({"n_fft": 64, "window": torch.full((64,), math.nan)}, "window must have finite values"),
        ({"n_fft": 64, "window": torch.zeros(64)}, "window must not be all zeros"),
        (
            {"n_fft": 64, "window": torch.ones(64, dtype=torch.complex64)},
            "window given as an array must be real",
        ),
        ({"n_fft": 64, "window": ("kaiser", math.nan)}, r"window=\('kaiser', nan\) has a NaN"),
        ({"n_fft": 64, "window": ("tukey", math.inf)}, r"window=\('tukey', inf\) has a NaN"),
    ],
)
def test_wrong_parameters_raise_value_error_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        adaspec.STFT(**kwargs)


def test_short_input_gives_a_clear_error():
    stft = adaspec.STFT(n_fft=256, hop_length=64)
    with pytest.raises(ValueError, match=r"too short for pad_mode='reflect'"):
        stft(torch.randn(2, 100))
    with pytest.raises(ValueError, match="no frame fits"):
        adaspec.STFT(n_fft=256, center=False)(torch.randn(200))
    assert adaspec.STFT(n_fft=256, hop_length=64, pad_mode="constant")(torch.randn(100)).shape == (129, 2)


def test_integer_input_is_refused():
    with pytest.raises(ValueError, match="waveform"):
        adaspec.STFT(n_fft=32)(torch.ones(100, dtype=torch.int16))


def test_kernels_follow_module_dtype_and_to():
    stft = adaspec.STFT(n_fft=32, hop_length=8).to(torch.float64)
    assert all(p.dtype == torch.float64 for p in stft.parameters())
    assert stft.uses_fft()
    assert stft(torch.randn(200, dtype=torch.float64)).dtype == torch.complex128


# Inductor warns (depending on its cache) that it leaves the complex FFT ops to eager code.
@pytest.mark.filterwarnings("ignore:Torchinductor does not support code generation for complex operators")
def test_torch_compile_smoke(signal_factory):
    stft = adaspec.STFT(n_fft=64, hop_length=16, output="power", learn_window=True)
    x = signal_factory((2, 500))
    compiled = torch.compile(stft)
    torch.testing.assert_close(compiled(x), stft(x))
    compiled(x).sum().backward()
    assert stft.window.grad is not None and torch.isfinite(stft.window.grad).all()


@pytest.mark.parametrize("n_fft", [8, 9])
@pytest.mark.parametrize("onesided", [True, False])
def test_frequencies_follow_numpy_fft_bins(n_fft, onesided):
    """Two-sided bins past the middle are negative frequencies, as ``numpy.fft.fftfreq`` says (they were
    given as ``k * sample_rate / n_fft``, above Nyquist), and a real tone's power is in the two bins whose
    frequencies are its own and its negative."""
    sr = 800.0
    stft = adaspec.STFT(n_fft=n_fft, hop_length=n_fft, onesided=onesided, sample_rate=sr, output="power")
    expected = np.fft.rfftfreq(n_fft, 1 / sr) if onesided else np.fft.fftfreq(n_fft, 1 / sr)
    np.testing.assert_allclose(stft.frequencies.numpy(), expected, rtol=1e-12, atol=1e-12)
    tone = 3 * sr / n_fft
    x = torch.cos(2 * torch.pi * tone * torch.arange(4 * n_fft, dtype=torch.float64) / sr)
    power = adaspec.STFT(
        n_fft=n_fft, hop_length=n_fft, onesided=onesided, sample_rate=sr, output="power",
        window="boxcar", center=False, dtype=torch.float64,
    )(x)[:, 0]  # fmt: skip
    peaks = np.sort(stft.frequencies[power > 0.1 * power.max()].numpy())
    np.testing.assert_allclose(peaks, [tone] if onesided else [-tone, tone], rtol=1e-12)


@pytest.mark.parametrize("trained", ["kernel_real", "kernel_imag"])
def test_one_kernel_trained_alone_gets_its_gradient_and_matches_torch(signal_factory, trained):
    """With only ``kernel_imag`` requiring grad (``kernel_real`` frozen by hand), the forward took the FFT
    path, whose output does not depend on the kernels: the output had no graph and ``kernel_imag`` never
    trained."""
    x = signal_factory((2, 400), dtype=torch.float64)
    stft = adaspec.STFT(n_fft=32, win_length=27, hop_length=8, learn_kernels=True, dtype=torch.float64)
    frozen = "kernel_imag" if trained == "kernel_real" else "kernel_real"
    getattr(stft, frozen).requires_grad_(False)
    assert stft.learn_kernels and not stft.uses_fft()
    spectrum = stft(x)
    reference = torch.stft(x, 32, 8, 27, window=scipy_window("hann", 27, torch.float64), return_complex=True)
    assert_close_to(spectrum.detach(), reference, torch.float64)
    spectrum.abs().sum().backward()
    assert getattr(stft, trained).grad is not None and getattr(stft, trained).grad.abs().sum() > 0
    assert getattr(stft, frozen).grad is None
    stft.learn_kernels = False
    assert not stft.kernel_real.requires_grad and not stft.kernel_imag.requires_grad and stft.uses_fft()
