"""Seeded random combinations of the front-ends' parameters against independent oracles (torch.stft,
librosa, numpy.convolve, autograd's gradcheck), aimed at what the grids of tests/frontends leave out:
tiny and odd n_fft, hops of 1 and beyond n_fft, signals of 1, n_fft - 1 and n_fft samples, every
normalisation with two-sided spectra, the dense path of learnable kernels, mel band edges at f_min/f_max
and 1 or 2 bands. Each case is drawn from a fixed seed, so a failure names a reproducible configuration."""

from __future__ import annotations

import random
import warnings

import librosa
import numpy as np
import pytest
import scipy.signal
import torch

import adaspec
from adaspec.ops import decimated_fft_convolution

WINDOWS = ["hann", "hamming", ("kaiser", 8.0), "boxcar", ("gaussian", 10.0)]
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def _assert_close(ours: torch.Tensor, reference: torch.Tensor, dtype: torch.dtype, case: dict) -> None:
    assert tuple(ours.shape) == tuple(reference.shape), case
    scale = reference.abs().max().item()
    error = (ours.detach().to(reference.dtype) - reference).abs().max().item()
    assert error <= TOLERANCE[dtype] * max(scale, 1e-30), f"error {error:.3g} of max {scale:.3g}: {case}"


def _stft_cases(seed: int, count: int) -> list[dict]:
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        n_fft = rng.choice([*range(1, 17), 31, 100, 127, 256])
        length = rng.choice([1, n_fft - 1, n_fft, n_fft // 2 + 1, n_fft + 3, 5 * n_fft + 7, 300])
        cases.append(
            dict(
                n_fft=n_fft,
                win_length=rng.choice([n_fft, rng.randint(1, n_fft)]),
                hop_length=rng.choice([1, max(1, n_fft // 3), n_fft, n_fft + rng.randint(1, 7)]),
                window=rng.choice(WINDOWS),
                center=rng.random() < 0.6,
                pad_mode=rng.choice(["constant", "reflect", "replicate", "circular"]),
                normalized=rng.choice([False, True, "window", "frame_length"]),
                onesided=rng.random() < 0.7,
                output=rng.choice(["complex", "magnitude", "power"]),
                learn_kernels=rng.random() < 0.3,  # the dense path
                dtype=rng.choice([torch.float32, torch.float64]),
                leading=rng.choice([(), (2,), (2, 3)]),
                length=max(length, 1),
                seed=index,
            )
        )
    return cases


@pytest.mark.parametrize("seed", [0, 1])
def test_stft_matches_torch_stft_on_random_edge_combinations(seed: int) -> None:
    compared = 0
    for case in _stft_cases(seed, 120):
        dtype, leading, length = case["dtype"], case["leading"], case["length"]
        n_fft, win_length, hop = case["n_fft"], case["win_length"], case["hop_length"]
        generator = torch.Generator().manual_seed(case["seed"])
        x = torch.randn(*leading, length, generator=generator, dtype=torch.float64).to(dtype)
        window = torch.from_numpy(scipy.signal.get_window(case["window"], win_length, fftbins=True)).to(dtype)
        kwargs = {k: v for k, v in case.items() if k not in ("leading", "length", "seed")}
        try:
            reference = torch.stft(
                x.reshape(-1, length), n_fft, hop, win_length, window=window, center=case["center"],
                pad_mode=case["pad_mode"], normalized=case["normalized"] == "frame_length",
                onesided=case["onesided"], return_complex=True,
            )  # fmt: skip
        except RuntimeError:  # torch refuses a signal too short for its padding (or for one frame): so do we
            with pytest.raises(ValueError, match=r"too short|no frame fits"):
                adaspec.STFT(**kwargs)(x)
            continue
        reference = reference.reshape(*leading, *reference.shape[-2:])
        if case["normalized"] in (True, "window"):
            reference = reference / window.square().sum().sqrt()
        if case["output"] != "complex":
            reference = reference.abs() ** (2 if case["output"] == "power" else 1)
        ours = adaspec.STFT(**kwargs)(x)
        assert ours.dtype == reference.dtype, case
        _assert_close(ours, reference, dtype, case)
        compared += 1
    assert compared >= 80  # most cases are comparisons, not refusals


@pytest.mark.parametrize("seed", [0, 1])
def test_mel_spectrogram_matches_librosa_on_random_band_edges(seed: int) -> None:
    rng = random.Random(seed)
    for index in range(25):
        sr = rng.choice([1000, 8000, 22050])
        n_fft = rng.choice([16, 31, 255, 512])
        nyquist = sr / 2
        f_min = rng.choice([0.0, 20.0, 0.5 * nyquist, 0.99 * nyquist])
        f_max = rng.choice([None, nyquist, f_min + 1.0, 0.75 * nyquist])
        f_max = None if f_max is not None and f_max <= f_min else f_max
        center, pad_mode = rng.random() < 0.6, rng.choice(["reflect", "constant"])
        dtype = rng.choice([torch.float32, torch.float64])
        kwargs = dict(
            n_fft=n_fft, win_length=rng.choice([None, n_fft - rng.randint(0, n_fft // 2)]),
            hop_length=rng.choice([1, n_fft // 4 + 1, n_fft + 5]), window=rng.choice(WINDOWS),
            power=rng.choice([0.5, 1.0, 1.5, 2.0]),
        )  # fmt: skip
        mel = dict(
            n_mels=rng.choice([1, 2, 5, 40, 128]), norm=rng.choice([None, "slaney"]),
            mel_scale=rng.choice(["htk", "slaney"]),
        )  # fmt: skip
        leading = rng.choice([(), (2,)])
        length = rng.choice([n_fft, n_fft + 1, 3 * n_fft + 11])
        x = torch.from_numpy(np.random.default_rng(index).standard_normal((*leading, length))).to(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # empty filters, as librosa warns too
            module = adaspec.MelSpectrogram(
                sample_rate=sr, f_min=f_min, f_max=f_max, center=center, pad_mode=pad_mode, dtype=dtype,
                **kwargs, **mel,
            )  # fmt: skip
            y = x.double().numpy()
            if center:  # librosa pads the last frames' chunk apart, which differs for short chunks
                y = np.pad(y, [(0, 0)] * len(leading) + [(n_fft // 2, n_fft // 2)], mode=pad_mode)
            reference = librosa.feature.melspectrogram(
                y=y, sr=sr, center=False, fmin=f_min, fmax=f_max, htk=mel["mel_scale"] == "htk",
                n_mels=mel["n_mels"], norm=mel["norm"], dtype=np.float64, **kwargs,
            )  # fmt: skip
        case = dict(
            sr=sr, f_min=f_min, f_max=f_max, center=center, pad_mode=pad_mode, dtype=dtype, **kwargs, **mel
        )
        tolerance = 2e-5 if dtype == torch.float32 else 1e-10
        reference = torch.from_numpy(reference)
        ours = module(x)
        assert tuple(ours.shape) == tuple(reference.shape), case
        error = (ours.double() - reference).abs().max().item()
        assert error <= tolerance * max(reference.abs().max().item(), 1e-300), case


def test_decimated_convolution_matches_numpy_on_random_lengths_offsets_and_hops() -> None:
    rng = random.Random(0)
    for index in range(60):
        length = rng.choice([1, 2, 3, 5, 17, 64, 101])
        n_taps = rng.choice([1, 2, 3, 7, 16, 150])
        offset, hop = rng.randint(0, n_taps - 1), rng.choice([1, 2, 3, 5, 16, 200])
        generator = np.random.default_rng(index)
        signal = generator.standard_normal((2, length))
        taps = generator.standard_normal((3, n_taps))
        if rng.random() < 0.5:
            taps = taps + 1j * generator.standard_normal((3, n_taps))
        got = decimated_fft_convolution(torch.from_numpy(signal), torch.from_numpy(taps), offset, hop).numpy()
        full = np.stack([[np.convolve(s, h) for h in taps] for s in signal])  # (2, 3, length + n_taps - 1)
        full = np.pad(full, [(0, 0), (0, 0), (0, offset + length)])
        expected = full[..., offset : offset + length : hop]
        case = dict(length=length, n_taps=n_taps, offset=offset, hop=hop, complex=np.iscomplexobj(taps))
        assert got.shape == expected.shape, case
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-11, err_msg=str(case))


def test_stft_gradients_pass_gradcheck_on_random_tiny_configurations() -> None:
    rng = random.Random(0)
    for index in range(12):
        n_fft = rng.randint(1, 9)
        case = dict(
            n_fft=n_fft, win_length=rng.randint(1, n_fft),
            hop_length=rng.choice([1, max(1, n_fft // 2), n_fft + 2]),
            center=rng.random() < 0.5, pad_mode=rng.choice(["constant", "reflect", "replicate", "circular"]),
            window=rng.choice(WINDOWS), normalized=rng.choice([False, True, "frame_length"]),
            onesided=rng.random() < 0.6, output=rng.choice(["complex", "power", "magnitude"]),
            learn_kernels=rng.random() < 0.4,
        )  # fmt: skip
        stft = adaspec.STFT(**case, learn_window=True, dtype=torch.float64)
        generator = torch.Generator().manual_seed(index)
        x = torch.randn(2, rng.randint(n_fft, 2 * n_fft + 3), generator=generator, dtype=torch.float64)
        parameters = dict(stft.named_parameters())
        trained = [name for name, p in parameters.items() if p.requires_grad]

        def transform(signal, *values, stft=stft, trained=trained):
            return torch.func.functional_call(stft, dict(zip(trained, values, strict=True)), (signal,))

        inputs = (
            x.requires_grad_(),
            *(parameters[name].detach().clone().requires_grad_() for name in trained),
        )
        assert torch.autograd.gradcheck(transform, inputs, fast_mode=True), case
