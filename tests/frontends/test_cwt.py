"""CWT against pywt.cwt (the oracle) on a log chirp, harmonic tones and white noise; errors; learning."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from adaspec import CWT, build_frontend
from adaspec.frontends import available_frontends

pywt = pytest.importorskip("pywt")
# pywt.cwt samples wavelets at 2^12 points since PyWavelets 1.9 (a fixed 2^10 before, with no keyword).
PRECISION = getattr(inspect.signature(pywt.cwt).parameters.get("precision"), "default", 10)

SR = 8000
N = 4000
WAVELETS = [("morlet", "cmor1.5-1.0"), ("real_morlet", "morl"), ("ricker", "mexh")]


def _signals() -> dict[str, np.ndarray]:
    t = np.arange(N) / SR
    duration, ratio = N / SR, 60.0  # 50 Hz -> 3 kHz
    chirp = np.sin(2 * np.pi * 50.0 * duration / np.log(ratio) * (np.exp(t / duration * np.log(ratio)) - 1))
    tones = sum(np.sin(2 * np.pi * 220.0 * k * t + k) / k for k in range(1, 7))
    noise = np.random.default_rng(0).standard_normal(N)
    return {"chirp": chirp, "tones": tones, "noise": noise}


SIGNALS = _signals()


def _relative_error(got: torch.Tensor, expected: np.ndarray) -> float:
    got = got.detach().numpy()
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def _pywt(signal: np.ndarray, module: CWT, name: str, method: str = "fft") -> np.ndarray:
    return pywt.cwt(signal, module.scales.numpy(), name, method=method)[0]


@pytest.mark.parametrize(("wavelet", "pywt_name"), WAVELETS)
def test_equals_pywt_on_chirp_tones_and_noise(wavelet: str, pywt_name: str) -> None:
    module = CWT(
        SR,
        precision=PRECISION,
        wavelet=wavelet,
        f_min=40.0,
        n_bins=24,
        hop_length=1,
        output="complex",
        dtype=torch.float64,
    )
    batch = torch.from_numpy(np.stack(list(SIGNALS.values())))
    got64 = module(batch)
    got32 = module(batch.float())
    assert got64.shape == (3, 24, N) and got64.dtype == torch.complex128 and got32.dtype == torch.complex64
    for row, (kind, signal) in enumerate(SIGNALS.items()):
        expected = _pywt(signal, module, pywt_name)
        if not np.iscomplexobj(expected):
            assert torch.all(got64[row].imag == 0)
        assert _relative_error(got64[row], expected) < 1e-10, kind
        assert _relative_error(got32[row].to(torch.complex128), expected) < 1e-4, kind
    _, frequencies = pywt.cwt(SIGNALS["noise"], module.scales.numpy(), pywt_name, sampling_period=1 / SR)
    np.testing.assert_allclose(module.frequencies.numpy(), frequencies, rtol=1e-12)
    np.testing.assert_allclose(module.frequencies[[0, -1]].numpy(), [40.0, SR / 2], rtol=1e-12)


@pytest.mark.parametrize(("wavelet", "pywt_name"), WAVELETS)
@pytest.mark.parametrize("hop", [7, 64, 500])
def test_hop_length_subsamples_pywt(wavelet: str, pywt_name: str, hop: int) -> None:
    scales = [30.0, 4.5, 11.0]
    module = CWT(
        SR,
        precision=PRECISION,
        wavelet=wavelet,
        scales=scales,
        hop_length=hop,
        output="power",
        dtype=torch.float64,
    )
    got = module(torch.from_numpy(SIGNALS["chirp"]))
    expected = np.abs(pywt.cwt(SIGNALS["chirp"], scales, pywt_name, method="conv")[0][:, ::hop]) ** 2
    assert got.shape == (3, 1 + (N - 1) // hop)
    assert _relative_error(got, expected) < 1e-10


def test_custom_morlet_matches_cmor_and_batch_dims() -> None:
    module = CWT(
        SR,
        precision=PRECISION,
        wavelet="cmor",
        scales=[3.0, 10.0, 25.0],
        bandwidth=2.5,
        center=0.7,
        hop_length=5,
    )
    assert module.wavelet == "morlet" and module.output == "magnitude" and module.n_bins == 3
    signal = SIGNALS["tones"]
    expected = np.abs(pywt.cwt(signal, [3.0, 10.0, 25.0], "cmor2.5-0.7")[0][:, ::5])
    batch = torch.from_numpy(np.stack([signal, signal[::-1].copy()] * 3)).float().reshape(2, 3, N)
    got = module(batch)
    assert got.shape == (2, 3, 3, 800) and got.dtype == torch.float32
    assert _relative_error(got[0, 0], expected) < 1e-4
    assert _relative_error(got[1, 1].double(), expected) < 1e-4


@pytest.mark.parametrize("name", ["cmor2.5-0.7", "cmor2-0.75"])
def test_pywt_s_full_morlet_name_gives_its_bandwidth_and_center(name: str) -> None:
    module = CWT(SR, precision=PRECISION, wavelet=name, scales=[3.0, 10.0, 25.0], hop_length=5)
    expected = np.abs(pywt.cwt(SIGNALS["tones"], [3.0, 10.0, 25.0], name)[0][:, ::5])
    assert module.wavelet == "morlet"
    assert _relative_error(module(torch.from_numpy(SIGNALS["tones"]).float()), expected) < 1e-4
    with pytest.raises(ValueError, match=r"wavelet='cmor2.5-0.7' names its bandwidth and center"):
        CWT(SR, wavelet="cmor2.5-0.7", scales=[3.0], bandwidth=2.5)
    for unclear in ("cmor2.5", "cmor.5-1"):  # pywt reads the second as B = 5
        with pytest.raises(ValueError, match="wavelet must be one of"):
            CWT(SR, wavelet=unclear, scales=[3.0])


def test_parameter_errors_name_the_parameter_and_the_limit() -> None:
    cases = [
        ({"f_max": 5000.0}, "f_max must not exceed the Nyquist frequency 4000"),
        ({"scales": [1.5, 20.0]}, r"scales must be >= 2 samples .*Nyquist frequency 4000 Hz.*got scale 1.5"),
        ({"wavelet": "ricker", "scales": [0.4]}, r"scales must be >= 0.5 samples"),
        ({"n_bins": 0}, "n_bins must be a positive integer, got 0"),
        ({"f_min": 500.0, "f_max": 400.0}, "f_max must be greater than f_min"),
        ({"wavelet": "haar"}, "wavelet must be one of 'morlet', 'real_morlet', 'ricker'; got 'haar'"),
        ({"scales": [4.0], "f_min": 50.0}, "either scales or f_min/f_max/n_bins"),
        ({"scales": []}, "scales must be a non-empty list"),
        ({"wavelet": "ricker", "bandwidth": 2.0}, "bandwidth and center apply to the Morlet"),
        ({"bandwidth": -1.0}, "bandwidth must be a finite positive number"),
        ({"output": "phase"}, "output must be one of"),
        ({"hop_length": 0}, "hop_length must be a positive integer"),
        ({"wavelet": "ricker", "learn_wavelets": True}, "learn_wavelets needs a Morlet wavelet"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            CWT(SR, **kwargs)


@pytest.mark.parametrize("scales", ["4", b"8", [True, 10.0], (4.0, np.bool_(True)), np.array([True])])
def test_scales_that_are_not_numbers_are_refused(scales) -> None:
    """numpy reads ``"4"`` as 4.0 and ``True`` as 1.0: those were accepted as scales."""
    with pytest.raises(ValueError, match=r"^scales must be a list of positive numbers"):
        CWT(sample_rate=8000, scales=scales)


def test_learn_wavelets_checks_the_flag_before_the_wavelet() -> None:
    with pytest.raises(ValueError, match=r"^learn_wavelets must be True or False, got 'no'"):
        CWT(sample_rate=8000, wavelet="ricker", f_min=200.0, n_bins=4, learn_wavelets="no")


def test_short_signal_names_the_longest_wavelet() -> None:
    module = CWT(SR, f_min=100.0, n_bins=4)
    assert module.max_kernel_length == 1281  # 16 * scale 80 + 1
    with pytest.raises(ValueError, match=r"1000 samples is shorter than the longest wavelet: 1281 samples"):
        module(torch.zeros(2, 1000))
    assert module(torch.zeros(2, 1281)).shape == (2, 4, 3)
    with pytest.raises(ValueError, match="floating-point"):
        module(torch.zeros(1281, dtype=torch.int64))


def test_gradients_reach_centres_and_bandwidths_only_when_learning() -> None:
    module = CWT(SR, f_min=200.0, f_max=3000.0, n_bins=4, hop_length=16, dtype=torch.float64)
    assert not module.learn_wavelets and module.center_logits.shape == (4,)
    signal = torch.from_numpy(SIGNALS["noise"][:900]).requires_grad_()
    module(signal).sum().backward()
    assert module.center_logits.grad is None and module.log_bandwidth.grad is None
    assert signal.grad is not None and torch.isfinite(signal.grad).all()
    module.learn_wavelets = True
    module(signal).sum().backward()
    for grad in (module.center_logits.grad, module.log_bandwidth.grad):
        assert grad is not None and torch.isfinite(grad).all() and torch.all(grad != 0)
    module.learn_wavelets = False
    module.zero_grad(set_to_none=True)
    module(signal).sum().backward()
    assert module.center_logits.grad is None
    module.learn_wavelets = True

    def transform(center_logits: torch.Tensor, log_bandwidth: torch.Tensor) -> torch.Tensor:
        parameters = {"center_logits": center_logits, "log_bandwidth": log_bandwidth}
        return torch.func.functional_call(module, parameters, (signal.detach()[:700],))

    inputs = (module.center_logits.detach().clone(), module.log_bandwidth.detach().clone())
    inputs = tuple(p.requires_grad_() for p in inputs)
    assert torch.autograd.gradcheck(transform, inputs, atol=1e-6, fast_mode=True)


def test_learned_centres_stay_below_nyquist() -> None:
    module = CWT(SR, "real_morlet", f_min=100.0, n_bins=5, learn_wavelets=True)
    assert module.center_frequencies[0].item() == pytest.approx(100.0 * (5 / (2 * np.pi)) / 0.8125)
    np.testing.assert_allclose(module.bandwidth.detach().numpy(), 2.0, rtol=1e-6)
    with torch.no_grad():
        module.center_logits.fill_(50.0)
        module.log_bandwidth.fill_(-30.0)
    assert torch.all(module.center_frequencies <= SR / 2 * (1 + 1e-12)) and torch.all(module.bandwidth > 0)
    ricker = CWT(SR, "ricker", f_min=100.0, n_bins=5)
    assert ricker.center is None and torch.equal(ricker.center_frequencies, ricker.frequencies)


def test_registered_and_built_by_name() -> None:
    assert "cwt" in available_frontends()
    module = build_frontend("cwt", sample_rate=16000, n_bins=12, f_min=100.0, output="power")
    assert isinstance(module, CWT) and module.n_bins == 12 and module.output == "power"
    assert module.hop_length == 512 and module(torch.randn(2, 16000)).shape == (2, 12, 32)
    assert "learn_wavelets=False" in repr(module)


def _counting_kernels(module: CWT, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the module's wavelet builds (each cache miss builds the wavelets once)."""
    calls: list[int] = []
    original = module.kernels

    def counted(dtype: torch.dtype | None = None) -> tuple[torch.Tensor, int]:
        calls.append(1)
        return original(dtype)

    monkeypatch.setattr(module, "kernels", counted)
    return calls


def test_fixed_wavelet_spectra_are_kept_and_rebuilt_when_they_must(monkeypatch: pytest.MonkeyPatch) -> None:
    scales = np.geomspace(4.0, 60.0, 10)
    module = CWT(SR, scales=scales, precision=PRECISION, hop_length=3, output="complex", dtype=torch.float64)
    calls = _counting_kernels(module, monkeypatch)
    signals = list(SIGNALS.values())
    for signal in signals:  # a new signal each call, the spectra of the first call
        got = module(torch.from_numpy(signal))
        assert _relative_error(got, pywt.cwt(signal, scales, "cmor1.5-1.0")[0][:, ::3]) < 1e-10
    assert len(calls) == 1
    module(torch.from_numpy(signals[0][:3000]))  # another length
    module(torch.from_numpy(signals[0]).float())  # another dtype
    assert len(calls) == 3
    with torch.no_grad():  # changed in place, as load_state_dict or an optimizer would
        module.log_bandwidth.fill_(np.log(2.0))
    got = module(torch.from_numpy(signals[2]).float())
    assert len(calls) == 4
    assert _relative_error(got, pywt.cwt(signals[2], scales, "cmor2.0-1.0")[0][:, ::3]) < 1e-5


def test_learnable_or_uncached_wavelets_are_built_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    signal = torch.from_numpy(SIGNALS["tones"]).float()
    for options in ({"learn_wavelets": True}, {"cache_spectra": False}):
        module = CWT(SR, f_min=100.0, n_bins=6, hop_length=50, **options)
        calls = _counting_kernels(module, monkeypatch)
        module(signal)
        module(signal)
        assert len(calls) == 2, options
        assert module._spectra is None


def test_spectra_kept_in_inference_mode_serve_a_later_gradient() -> None:
    scales = np.geomspace(4.0, 60.0, 6)
    module = CWT(SR, scales=scales, precision=PRECISION, hop_length=5, output="complex", dtype=torch.float64)
    signal = torch.from_numpy(SIGNALS["noise"][:1000]).requires_grad_()
    with torch.inference_mode():
        module(signal.detach())
    weights = torch.from_numpy(np.random.default_rng(3).standard_normal((6, 200)))
    (module(signal).real * weights).sum().backward()
    # d/dx of sum_k w[c, k] Re(W[c, 5 k]) by pywt: the CWT is linear, so differentiate along unit impulses
    basis = np.eye(1000)[:, None, :]
    jacobian = np.stack([pywt.cwt(b[0], scales, "cmor1.5-1.0")[0][:, ::5].real for b in basis[::97]])
    expected = (jacobian * weights.numpy()).sum(axis=(1, 2))
    np.testing.assert_allclose(signal.grad.numpy()[::97], expected, rtol=1e-8, atol=1e-10)


def test_kept_spectra_follow_hop_length_and_kernels_changed() -> None:
    """The kept wavelet spectra are rebuilt when ``hop_length`` changes; after an edit through ``.data``
    (which the cache cannot see) ``kernels_changed()`` drops them."""
    signal = torch.randn(2, 4000, generator=torch.Generator().manual_seed(0))
    module = CWT(hop_length=64, f_min=200.0, n_bins=8)
    module(signal)
    module.hop_length = 128
    fresh = CWT(hop_length=128, f_min=200.0, n_bins=8)
    torch.testing.assert_close(module(signal), fresh(signal))
    with torch.no_grad():
        fresh.log_bandwidth.data += 0.3
    fresh.kernels_changed()
    moved = CWT(hop_length=128, f_min=200.0, n_bins=8)
    with torch.no_grad():
        moved.log_bandwidth += 0.3
    torch.testing.assert_close(fresh(signal), moved(signal))


@pytest.mark.parametrize(("wavelet", "pywt_name"), [("morlet", "cmor1.5-1.0"), ("ricker", "mexh")])
def test_built_in_inference_mode_matches_pywt(wavelet: str, pywt_name: str) -> None:
    """Parameters made under ``torch.inference_mode`` have no version counter: the spectra cache read it
    and the first call raised. Now each call there builds its spectra (an in-place edit leaves no trace)."""
    scales = np.geomspace(4.0, 40.0, 5)
    signal = SIGNALS["tones"][:2000]
    with torch.inference_mode():
        module = CWT(
            SR, wavelet=wavelet, scales=scales, precision=PRECISION, hop_length=3, dtype=torch.float64
        )
        first = module(torch.from_numpy(signal))
        if wavelet == "morlet":
            module.log_bandwidth.fill_(np.log(2.0))
        second = module(torch.from_numpy(signal))
    expected = np.abs(pywt.cwt(signal, scales, pywt_name)[0][:, ::3])
    assert _relative_error(first, expected) < 1e-10
    edited = np.abs(pywt.cwt(signal, scales, "cmor2.0-1.0" if wavelet == "morlet" else pywt_name)[0][:, ::3])
    assert _relative_error(second, edited) < 1e-10  # the edit is seen
