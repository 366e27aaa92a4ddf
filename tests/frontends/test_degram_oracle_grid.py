"""DEGram with every combination of its switches against the stages composed by hand from independent
oracles: ``torch.stft`` power, the closed-form Butterworth matrix (numpy), ``log``, the two SE gates written
in numpy from the module's weights, and a numpy z-score; unbatched and multi-dimensional batches, odd
``n_fft``, non-integer orders and ``center=False``."""

import itertools

import numpy as np
import pytest
import torch

import adaspec

SR = 16000


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def butterworth(n_filters, n_fft, f_min, f_max, order, init):
    if init == "mel":
        mels = np.linspace(*(2595.0 * np.log10(1.0 + f / 700.0) for f in (f_min, f_max)), n_filters + 2)
        points = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    else:
        points = np.linspace(f_min, f_max, n_filters + 2)
    centres, bandwidths = points[1:-1], (points[2:] - points[:-2]) / 2.0
    freqs = np.arange(n_fft // 2 + 1) * SR / n_fft
    return 1.0 / np.sqrt(1.0 + (np.abs(freqs[:, None] - centres) / bandwidths) ** (2.0 * order))


def oracle(module, y, cfg, switches):
    sincgram, attention, normalization = switches
    flat = y.reshape(-1, y.shape[-1])
    spectrum = torch.stft(
        flat,
        cfg["n_fft"],
        hop_length=cfg["hop_length"],
        win_length=cfg["win_length"],
        window=torch.hann_window(cfg["win_length"], dtype=torch.float64),
        center=cfg["center"],
        pad_mode="reflect",
        return_complex=True,
    )
    x = (spectrum.abs() ** 2).numpy()
    if sincgram:
        matrix = butterworth(
            cfg["n_filters"], cfg["n_fft"], cfg["f_min"], cfg["f_max"], cfg["order"], cfg["init"]
        )
        x = np.einsum("bft,fk->bkt", x, matrix)
    x = np.log(x + cfg["log_eps"])
    if attention:
        layers = module.attention
        w1, w2 = layers.freq_squeeze.weight.detach().numpy(), layers.freq_excite.weight.detach().numpy()
        w, w0 = layers.time_excitation.weight.detach().numpy()[0], layers.time_excitation.bias.item()
        band = sigmoid(np.maximum(x.mean(-1) @ w1.T, 0.0) @ w2.T)[:, :, None]
        frame = sigmoid(np.einsum("n,bnt->bt", w, x) + w0)[:, None, :]
        gate = {"sum": band + frame, "product": band * frame, "max": np.maximum(band, frame)}[cfg["combine"]]
        x = x * gate
    if normalization:
        axes = (-1,) if cfg["norm_mode"] == "frequency" else (-2, -1)
        x = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    return x.reshape(*y.shape[:-1], *x.shape[-2:])


CONFIGS = [
    ((), dict(n_fft=256, hop_length=64, win_length=256, center=True, init="mel", order=4.0)),
    ((2, 3), dict(n_fft=255, hop_length=100, win_length=200, center=False, init="linear", order=2.5)),
    ((2,), dict(n_fft=401, hop_length=160, win_length=401, center=True, init="mel", order=1.0)),
]


@pytest.mark.parametrize("switches", list(itertools.product([True, False], repeat=3)))
@pytest.mark.parametrize(("leading", "stft"), CONFIGS)
def test_degram_equals_its_stages_composed_from_oracles(switches, leading, stft):
    index = int("".join("1" if s else "0" for s in switches), 2)
    cfg = {
        **stft,
        "n_filters": 13,
        "f_min": 50.0 if stft["init"] == "linear" else 0.0,
        "f_max": 7000.0 if stft["init"] == "linear" else SR / 2,
        "log_eps": 1e-3,
        "combine": ("sum", "product", "max")[index % 3],
        "norm_mode": ("frequency", "example")[index % 2],
    }
    torch.manual_seed(index)
    module = adaspec.DEGram(
        sample_rate=SR,
        **{k: cfg[k] for k in ("n_fft", "hop_length", "win_length", "center", "n_filters", "f_min", "order")},
        f_max=None if stft["init"] == "mel" else cfg["f_max"],
        init=cfg["init"],
        combine=cfg["combine"],
        norm_mode=cfg["norm_mode"],
        log_eps=cfg["log_eps"],
        sincgram=switches[0],
        attention=switches[1],
        normalization=switches[2],
        reduction=3,
        dtype=torch.float64,
    )
    y = torch.from_numpy(np.random.default_rng(index).normal(size=(*leading, 2500)))
    with torch.no_grad():
        actual = module(y).numpy()
    expected = oracle(module, y, cfg, switches)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9)


def test_state_dict_round_trip_reproduces_the_output():
    torch.manual_seed(0)
    source = adaspec.DEGram(sample_rate=SR, n_fft=256, n_filters=20)
    with torch.no_grad():
        for parameter in source.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    torch.manual_seed(1)
    target = adaspec.DEGram(sample_rate=SR, n_fft=256, n_filters=20)
    target.load_state_dict(source.state_dict())
    y = torch.randn(2, 3000)
    with torch.no_grad():
        torch.testing.assert_close(target(y), source(y), rtol=0, atol=0)
