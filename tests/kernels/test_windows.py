"""Windows against closed-form definitions and librosa's centring."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal
import torch

from adaspec.kernels import get_window, pad_center


@pytest.mark.parametrize("length", [8, 9, 400])
def test_hann_is_periodic_closed_form(length):
    expected = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)
    window = get_window("hann", length, dtype=torch.float64)
    np.testing.assert_allclose(window.numpy(), expected, rtol=0, atol=1e-15)


def test_gaussian_closed_form():
    length, std = 64, 7.0
    n = np.arange(length) - length / 2
    expected = np.exp(-0.5 * (n / std) ** 2)
    np.testing.assert_allclose(get_window(("gaussian", std), length, dtype=torch.float64).numpy(), expected)


def test_dtype_is_respected():
    assert get_window("hamming", 16, dtype=torch.float16).dtype == torch.float16
    assert get_window("hamming", 16).dtype == torch.get_default_dtype()


@pytest.mark.parametrize(("length", "size"), [(5, 8), (6, 9), (8, 8)])
def test_pad_center_matches_librosa(length, size):
    values = np.arange(1.0, length + 1)
    ours = pad_center(torch.from_numpy(values), size).numpy()
    np.testing.assert_array_equal(ours, librosa.util.pad_center(values, size=size))


def test_pad_center_is_differentiable_and_rejects_long_windows():
    window = torch.ones(4, requires_grad=True)
    pad_center(window, 8).sum().backward()
    assert torch.equal(window.grad, torch.ones(4))
    with pytest.raises(ValueError, match="n_fft"):
        pad_center(torch.ones(9), 8)


def test_unknown_window_names_the_parameter():
    with pytest.raises(ValueError, match="window='nope'"):
        get_window("nope", 16)
    with pytest.raises(ValueError, match="win_length=16"):
        get_window(torch.ones(3, 3), 16)


@pytest.mark.parametrize("window", [True, False, ("kaiser", True), ["tukey", np.bool_(False)]])
def test_bools_are_not_window_specs(window):
    """scipy reads a number as a Kaiser beta, so ``window=True`` was silently ``("kaiser", 1.0)``."""
    with pytest.raises(ValueError, match=r"window=.*True and False are not window specs"):
        get_window(window, 16)


def test_a_window_array_of_bools_or_without_values_is_refused():
    """A bool tensor was read as 0/1, and a meta tensor failed inside ``Tensor.item()``."""
    with pytest.raises(ValueError, match=r"window given as an array must be real numbers, got torch.bool"):
        get_window(torch.tensor([True, False, True, True]), 4)
    with pytest.raises(ValueError, match=r"must hold values, got a tensor on the meta device"):
        get_window(torch.ones(4, device="meta"), 4)


def test_a_window_array_comes_back_on_the_cpu_where_the_kernels_are_designed():
    given = torch.from_numpy(np.hanning(6)).to(torch.float64)
    window = get_window(given, 6, dtype=torch.float64)
    assert window.device.type == "cpu" and torch.equal(window, given)
    assert window.data_ptr() != given.data_ptr()  # a copy: changing the caller's tensor changes nothing


@pytest.mark.parametrize("win_length", [0, -1, 2.0, True])
def test_a_bad_win_length_is_named_as_such(win_length):
    """scipy's complaint about the length was reported as a bad ``window`` spec."""
    with pytest.raises(ValueError, match=r"win_length must be a positive integer"):
        get_window("hann", win_length)


@pytest.mark.parametrize("window", [(), []])
def test_an_empty_spec_is_a_value_error(window):
    """An empty tuple failed with an IndexError inside the parameter checks."""
    with pytest.raises(ValueError, match=r"window=.* is empty"):
        get_window(window, 16)


@pytest.mark.parametrize("window", ["hann", ("kaiser", 8.0), torch.ones(8)])
@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.complex64])
def test_a_window_dtype_must_be_real_floating_point(window, dtype):
    """``dtype=torch.int64`` truncated a Hann window to zeros and a one."""
    with pytest.raises(ValueError, match=r"dtype must be None or a real floating-point torch.dtype"):
        get_window(window, 8, dtype=dtype)


@pytest.mark.parametrize(
    "window",
    [
        "hann",
        "hamming",
        "blackman",
        "bartlett",
        "boxcar",
        "triang",
        "flattop",
        "parzen",
        "bohman",
        "blackmanharris",
        "nuttall",
        "barthann",
        "cosine",
        "exponential",
        "tukey",
        "taylor",
        "lanczos",
        ("kaiser", 8.0),
        ("gaussian", 100),
        ("tukey", 0.5),
        ("general_hamming", 0.54),
        ("general_gaussian", 1.5, 7),
        ("chebwin", 100),
        ("exponential", None, 3.0),
        ("general_cosine", [0.5, 0.5]),
        8.0,
    ],
)
@pytest.mark.parametrize("length", [1, 2, 3, 16, 17])
def test_specs_are_scipys_periodic_windows(window, length):
    expected = scipy.signal.get_window(window, length, fftbins=True)
    np.testing.assert_array_equal(get_window(window, length, dtype=torch.float64).numpy(), expected)
