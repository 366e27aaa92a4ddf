"""adaspec.STFT against torch.stft, librosa.stft and scipy's windows over a grid of what it accepts: odd and
even n_fft, windows shorter than n_fft by odd and even amounts, hops longer than the window, every padding
mode, two-sided spectra, every normalisation and output, both the FFT and the dense path, shortest inputs,
and the module after its flags, state or dtype changed. Every comparison is with the oracle, never with
adaspec's own output."""

from __future__ import annotations

import copy
import itertools

import librosa
import numpy as np
import pytest
import scipy.signal
import torch

import adaspec

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}
# n_fft, win_length, hop_length: even/odd n_fft, win_length shorter by odd and even amounts, hop > win_length
GEOMETRIES = [(16, 16, 4), (17, 17, 5), (16, 11, 3), (17, 12, 3), (16, 12, 20), (17, 14, 40), (9, 1, 1)]
# center, pad_mode (numpy names for two of them)
PADDINGS = [(False, "reflect"), (True, "reflect"), (True, "constant"), (True, "edge"), (True, "wrap")]
TORCH_PAD = {"edge": "replicate", "wrap": "circular"}


def scipy_window(spec, win_length: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(scipy.signal.get_window(spec, win_length, fftbins=True)).to(dtype)


def oracle(x, n_fft, hop, win_length, window, *, center=True, pad_mode="reflect", onesided=True,
           normalized=False, output="complex"):  # fmt: skip
    """torch.stft with the same window, normalisation and output as adaspec's arguments."""
    spectrum = torch.stft(
        x, n_fft, hop, win_length, window=window, center=center, pad_mode=TORCH_PAD.get(pad_mode, pad_mode),
        onesided=onesided, normalized=normalized == "frame_length", return_complex=True,
    )  # fmt: skip
    if normalized in (True, "window"):
        spectrum = spectrum / window.square().sum().sqrt()
    if output == "complex":
        return spectrum
    return spectrum.abs() if output == "magnitude" else spectrum.abs() ** 2


def assert_close_to(
    ours: torch.Tensor, reference: torch.Tensor, dtype: torch.dtype, what: object = ""
) -> None:
    assert ours.shape == reference.shape, what
    scale = reference.abs().max().item()
    error = (ours.detach().to(reference.dtype) - reference).abs().max().item()
    assert error <= TOLERANCE[dtype] * scale, f"{what}: max error {error:.3g} vs max |X| {scale:.3g}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("n_fft", "win_length", "hop"), GEOMETRIES)
def test_grid_matches_torch_stft_on_both_paths(dtype, n_fft, win_length, hop):
    generator = torch.Generator().manual_seed(n_fft * 100 + win_length)
    x = torch.randn(2, 3, 70, generator=generator, dtype=dtype)
    window = scipy_window("hann", win_length, dtype)
    outputs = itertools.cycle(["complex", "magnitude", "power"])
    normalizations = itertools.cycle([False, "window", "frame_length", True])
    for (center, pad_mode), onesided, learn_kernels in itertools.product(
        PADDINGS, [True, False], [False, True]
    ):
        output, normalized = next(outputs), next(normalizations)
        stft = adaspec.STFT(
            n_fft=n_fft, win_length=win_length, hop_length=hop, center=center, pad_mode=pad_mode,
            onesided=onesided, normalized=normalized, output=output, learn_kernels=learn_kernels, dtype=dtype,
        )  # fmt: skip
        assert stft.uses_fft() != learn_kernels
        reference = oracle(
            x.reshape(6, 70), n_fft, hop, win_length, window, center=center, pad_mode=pad_mode,
            onesided=onesided, normalized=normalized, output=output,
        ).reshape(2, 3, *stft(x[0, 0]).shape)  # fmt: skip
        what = (center, pad_mode, onesided, normalized, output, learn_kernels)
        assert_close_to(stft(x), reference, dtype, what)
        assert_close_to(stft(x[1, 2]), reference[1, 2], dtype, what)  # unbatched (time,)


@pytest.mark.parametrize("n_fft", [8, 9])
@pytest.mark.parametrize(("center", "pad_mode"), PADDINGS)
def test_shortest_inputs_match_torch_or_raise_value_error_where_torch_raises(n_fft, center, pad_mode):
    for length, learn_kernels in itertools.product(range(1, n_fft + 2), [False, True]):
        x = torch.randn(2, length, dtype=torch.float64, generator=torch.Generator().manual_seed(length))
        window = torch.hann_window(n_fft, dtype=torch.float64)
        stft = adaspec.STFT(
            n_fft=n_fft, hop_length=3, center=center, pad_mode=pad_mode, learn_kernels=learn_kernels,
            dtype=torch.float64,
        )  # fmt: skip
        try:
            reference = oracle(x, n_fft, 3, n_fft, window, center=center, pad_mode=pad_mode)
        except RuntimeError:
            with pytest.raises(ValueError, match=r"samples"):
                stft(x)
            continue
        assert_close_to(stft(x), reference, torch.float64, (length, learn_kernels))


WINDOWS = [
    "hann", "hamming", "blackman", "bartlett", "triang", "flattop", "parzen", "bohman", "blackmanharris",
    "nuttall", "barthann", "cosine", "tukey", "taylor", "lanczos", ("kaiser", 8.0), ("gaussian", 3.0),
    ("tukey", 0.25), ("general_hamming", 0.6), ("general_gaussian", 1.5, 4.0), ("chebwin", 80), ("dpss", 2.5),
    8.0,
]  # fmt: skip


@pytest.mark.parametrize("spec", WINDOWS, ids=str)
def test_every_window_spec_matches_librosa_and_torch_on_both_paths(spec):
    for dtype, (n_fft, win_length) in itertools.product(
        [torch.float32, torch.float64], [(32, 32), (33, 25), (32, 19)]
    ):
        x = torch.randn(2, 120, dtype=dtype, generator=torch.Generator().manual_seed(win_length))
        reference = librosa.stft(
            x.numpy(), n_fft=n_fft, hop_length=7, win_length=win_length, window=spec, pad_mode="reflect"
        )
        window = scipy_window(spec, win_length, dtype)
        for learn_kernels in (False, True):
            stft = adaspec.STFT(
                n_fft=n_fft, win_length=win_length, hop_length=7, window=spec, learn_kernels=learn_kernels,
                dtype=dtype,
            )  # fmt: skip
            what = (dtype, n_fft, win_length, learn_kernels)
            ours = stft(x)
            assert_close_to(ours, torch.from_numpy(reference), dtype, what)
            assert_close_to(ours, oracle(x, n_fft, 7, win_length, window), dtype, what)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_array_windows_match_torch_on_both_paths(dtype):
    x = torch.randn(3, 150, dtype=dtype, generator=torch.Generator().manual_seed(1))
    arrays = [np.hanning(25), np.hanning(25).astype(np.float32), torch.rand(25, dtype=torch.float64),
              torch.rand(25, dtype=torch.float16), np.arange(1, 26)]  # fmt: skip
    for array, learn_kernels in itertools.product(arrays, [False, True]):
        stft = adaspec.STFT(n_fft=34, win_length=25, hop_length=30, window=array, learn_kernels=learn_kernels,
                            dtype=dtype)  # fmt: skip
        window = torch.as_tensor(array).to(torch.float64).to(dtype)
        assert_close_to(stft(x), oracle(x, 34, 30, 25, window), dtype, (type(array), learn_kernels))


def test_flags_state_dicts_and_dtype_moves_keep_matching_torch():
    """After flipping the learn flags, training, loading a pristine or a trained state and ``.to``: the
    output is torch.stft's with the module's window, or the trained kernels' closed form."""
    x = torch.randn(2, 300, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    stft = adaspec.STFT(n_fft=31, win_length=24, hop_length=10, window=("kaiser", 5.0), dtype=torch.float64)
    pristine = copy.deepcopy(stft.state_dict())

    def reference() -> torch.Tensor:
        return oracle(x, 31, 10, 24, stft.window.detach())

    for learn_window, learn_kernels in itertools.product([True, False], repeat=2):
        stft.learn_window, stft.learn_kernels = learn_window, learn_kernels
        assert stft.uses_fft() != learn_kernels
        assert_close_to(stft(x), reference(), torch.float64, (learn_window, learn_kernels))
    stft.learn_window = stft.learn_kernels = True
    stft(x).abs().sum().backward()
    with torch.no_grad():  # an SGD step (in place, as optimizers do)
        for parameter in stft.parameters():
            parameter -= 0.05 * parameter.grad
    trained = copy.deepcopy(stft.state_dict())
    stft.learn_kernels = False
    assert not stft.uses_fft()
    stft.load_state_dict(pristine)
    assert stft.uses_fft()
    assert_close_to(stft(x), reference(), torch.float64, "pristine state")
    stft.load_state_dict(trained)
    assert not stft.uses_fft()
    frames = torch.from_numpy(librosa.util.frame(np.pad(x.numpy(), [(0, 0), (15, 15)], mode="reflect"),
                                                 frame_length=31, hop_length=10).copy())  # fmt: skip
    window = torch.nn.functional.pad(stft.window.detach(), (3, 4))
    kernels = torch.complex(stft.kernel_real.detach(), stft.kernel_imag.detach()) * window
    assert_close_to(stft(x), kernels @ frames.to(kernels.dtype), torch.float64, "trained state")

    moved = adaspec.STFT(n_fft=31, win_length=24, hop_length=10).to(torch.float64)
    assert moved.uses_fft()
    assert_close_to(moved(x), oracle(x, 31, 10, 24, moved.window.detach()), torch.float64, "moved")
    moved.learn_kernels = True  # the float32-rounded kernels: float32 precision
    assert_close_to(moved(x), oracle(x, 31, 10, 24, moved.window.detach()), torch.float32, "moved dense")


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # scipy's Kaiser
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hop_length": 1.5}, "hop_length must be a positive integer"),
        ({"win_length": 0}, "win_length must be a positive integer"),
        ({"n_fft": 64.0}, "n_fft must be a positive integer"),
        ({"window": None}, r"window=None is not a scipy.signal.get_window spec"),
        ({"window": scipy.signal.windows.hann}, r"window=<function hann.* is not a scipy"),
        ({"window": ("kaiser", 800.0)}, "window must have finite values"),
        ({"pad_mode": None}, "pad_mode must be one of"),
        ({"output": None}, "output must be one of 'complex', 'magnitude', 'power'"),
        ({"learn_kernels": 1}, "learn_kernels must be True or False"),
    ],
)
def test_more_bad_parameters_raise_value_error_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        adaspec.STFT(**{"n_fft": 64, **kwargs})
