"""PCEN op and its loop-free smoother against librosa.pcen and a sequential Python recursion."""

from __future__ import annotations

import decimal
import sys

import librosa
import numpy as np
import pytest
import torch

from adaspec.ops import exponential_smoothing, linear_recurrence, pcen, smoothing_coefficient
from tests.helpers import make_signal

SR, HOP = 16000, 160
PCEN_MODULE = sys.modules["adaspec.ops.pcen"]  # the name ``pcen`` in adaspec.ops is the function


def mel_magnitude(seconds: float = 1.0) -> np.ndarray:
    """A 40-band magnitude mel spectrogram scaled to 32-bit integer audio (librosa's PCEN advice)."""
    y = make_signal(seconds)
    return librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=HOP, n_mels=40, power=1.0) * 2**31


def loop_smoother(energy: np.ndarray, s: np.ndarray | float, initial: np.ndarray | float) -> np.ndarray:
    """The reference: ``M[t] = (1 - s) M[t - 1] + s E[t]`` one frame at a time (``s`` per channel)."""
    s = np.asarray(s, dtype=np.float64)
    state = np.broadcast_to(np.asarray(initial, dtype=np.float64), energy.shape[:-1]).copy()
    out = np.empty_like(energy)
    for t in range(energy.shape[-1]):
        state = (1.0 - s) * state + s * energy[..., t]
        out[..., t] = state
    return out


# --------------------------------------------------------------------------- librosa parity


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("gain", "bias", "power", "b", "eps"),
    [(0.98, 2.0, 0.5, 0.025, 1e-6), (0.8, 10.0, 0.25, 0.1, 1e-6), (0.5, 0.5, 1.5, 0.4, 1e-3)],
)
def test_matches_librosa_pcen(dtype, gain, bias, power, b, eps):
    spectrogram = mel_magnitude().astype(dtype)
    expected = librosa.pcen(
        spectrogram, sr=SR, hop_length=HOP, gain=gain, bias=bias, power=power, b=b, eps=eps
    )
    actual = pcen(torch.from_numpy(spectrogram), gain, bias, power, b, eps=eps).double().numpy()
    np.testing.assert_allclose(actual, expected, rtol=1e-4 if dtype == np.float32 else 1e-10)


def test_matches_librosa_time_constant():
    spectrogram = mel_magnitude()
    expected = librosa.pcen(spectrogram, sr=SR, hop_length=HOP, time_constant=0.06)
    s = smoothing_coefficient(0.06, SR, HOP)
    actual = pcen(torch.from_numpy(spectrogram), 0.98, 2.0, 0.5, s).numpy()
    np.testing.assert_allclose(actual, expected, rtol=1e-10)


def test_matches_librosa_on_batches_and_per_channel_tensors():
    spectrogram = np.stack([mel_magnitude(0.5), mel_magnitude(0.5)[:, ::-1].copy()])
    alpha = np.linspace(0.7, 0.99, 40)
    actual = pcen(torch.from_numpy(spectrogram), torch.from_numpy(alpha), 2.0, 0.5, 0.05).numpy()
    for i in range(2):
        for c in (0, 17, 39):
            expected = librosa.pcen(spectrogram[i, c : c + 1], gain=alpha[c], b=0.05)
            np.testing.assert_allclose(actual[i, c : c + 1], expected, rtol=1e-10)


# --------------------------------------------------------------------------- smoother


@pytest.mark.parametrize("initial_state", ["librosa", "first_frame"])
@pytest.mark.parametrize("n_frames", [1, 5, 16, 17, 101, 700])
def test_smoother_matches_sequential_recursion(initial_state, n_frames):
    rng = np.random.default_rng(n_frames)
    energy = rng.random((2, 3, n_frames)) * rng.choice([1e-3, 1.0, 1e3], size=(2, 3, 1))
    s = np.array([0.01, 0.2, 0.9])
    actual = exponential_smoothing(
        torch.from_numpy(energy), torch.from_numpy(s), initial_state=initial_state
    ).numpy()
    initial = 1.0 if initial_state == "librosa" else energy[..., 0]
    np.testing.assert_allclose(actual, loop_smoother(energy, s, initial), rtol=1e-12, atol=0)


def test_smoother_with_shared_float_coefficient():
    energy = np.random.default_rng(0).random((4, 50))
    actual = exponential_smoothing(torch.from_numpy(energy), 0.3).numpy()
    np.testing.assert_allclose(actual, loop_smoother(energy, 0.3, 1.0), rtol=1e-12)


def test_long_input_stays_exact_and_finite(monkeypatch):
    """Several recursion levels (block 4 -> 3 levels for 200 frames) and a decay that underflows."""
    monkeypatch.setattr(PCEN_MODULE, "_BLOCK", 4)
    rng = np.random.default_rng(1)
    energy = rng.random((2, 200))
    s = np.array([0.001, 0.999])
    actual = exponential_smoothing(torch.from_numpy(energy), torch.from_numpy(s)).numpy()
    np.testing.assert_allclose(actual, loop_smoother(energy, s, 1.0), rtol=1e-12)


@pytest.mark.parametrize(
    ("solver", "decay"),
    [
        ("_scan", [0.5, 0.9, 0.99]),
        ("_cumsum_scan", [0.71, 0.9, 0.99]),  # 47 |log 0.71| = 16.1: at the range the solver is given
    ],
)
@pytest.mark.parametrize("signed", [False, True])
def test_block_solvers_match_the_loop(solver, decay, signed):
    """Both in-block solvers (doubling scan, scaled cumulative sum) from a zero state, per channel:
    ``u`` is ``(batch, channels, blocks, block)``."""
    rng = np.random.default_rng(4)
    u = rng.standard_normal((3, 3, 2, 48)) if signed else rng.random((3, 3, 2, 48))
    decay = np.array(decay)
    log_decay = torch.from_numpy(np.log(decay)).reshape(-1, 1, 1)
    actual = getattr(PCEN_MODULE, solver)(torch.from_numpy(u), log_decay).numpy()
    s = (1.0 - decay)[:, None]  # y[t] = a y[t - 1] + u[t] is the smoother of u / s from 0
    expected = loop_smoother(u / s[..., None], s, 0.0)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("initial_state", ["librosa", "first_frame"])
@pytest.mark.parametrize("n_frames", [1, 7, 300])
def test_any_length_solver_of_exported_programs_matches_the_loop(initial_state, n_frames, monkeypatch):
    """The solver a program exported with a dynamic time axis uses (one doubling scan of fixed depth, no
    blocks; here 10 levels, enough for 1024 frames), called directly, against the sequential loop."""
    monkeypatch.setattr(PCEN_MODULE, "_EXPORT_LEVELS", 10)
    rng = np.random.default_rng(n_frames)
    energy = rng.random((2, 3, n_frames)) * rng.choice([1e-3, 1.0, 1e3], size=(2, 3, 1))
    s = np.array([0.001, 0.2, 0.9])
    initial = np.ones((2, 3)) if initial_state == "librosa" else energy[..., 0]
    log_decay, scale = torch.from_numpy(np.log1p(-s)), torch.from_numpy(s)
    actual = PCEN_MODULE._any_length_solve(
        torch.from_numpy(energy), log_decay, torch.from_numpy(initial), scale
    )
    np.testing.assert_allclose(actual.numpy(), loop_smoother(energy, s, initial), rtol=1e-12, atol=0)


def test_smoother_takes_the_cumulative_sum_over_several_blocks():
    """Slow decays on the CPU: blocks of int(16 / |log(1 - 0.2)|) = 71 frames, several recursion levels."""
    rng = np.random.default_rng(6)
    energy = rng.random((2, 3, 700)) * 100.0
    s = np.array([0.01, 0.05, 0.2])
    log_decay = torch.from_numpy(np.log1p(-s))
    block, solver = PCEN_MODULE._block_solver(log_decay, 700, torch.device("cpu"))
    assert (block, solver) == (71, PCEN_MODULE._cumsum_scan)
    actual = exponential_smoothing(torch.from_numpy(energy), torch.from_numpy(s)).numpy()
    np.testing.assert_allclose(actual, loop_smoother(energy, s, 1.0), rtol=1e-12)


@pytest.mark.parametrize("log_decay", [-50.0, float("-inf"), float("nan"), 0.0])
def test_fast_or_degenerate_decays_choose_the_doubling_scan(log_decay):
    block, solver = PCEN_MODULE._block_solver(torch.tensor([log_decay]), 101, torch.device("cpu"))
    expected = PCEN_MODULE._cumsum_scan if log_decay == 0.0 else PCEN_MODULE._scan
    assert (block, solver) == (101, expected)


def test_many_frames_float32_no_overflow():
    energy = torch.rand(1, 2, 30000)
    smoothed = exponential_smoothing(energy, torch.tensor([1e-4, 0.5]))
    assert torch.isfinite(smoothed).all()
    loop = loop_smoother(energy.double().numpy()[..., -2000:], np.array([1e-4, 0.5]), 0.0)
    # after 28000 frames the start is forgotten for s=0.5; compare the tail of the fast channel
    np.testing.assert_allclose(smoothed[0, 1, -100:].double().numpy(), loop[0, 1, -100:], rtol=1e-5)


def test_linear_recurrence_with_scale_and_initial():
    rng = np.random.default_rng(3)
    u = rng.standard_normal((3, 2, 40))
    decay = np.array([0.5, 0.95])
    y0 = rng.standard_normal((3, 2))
    actual = linear_recurrence(
        torch.from_numpy(u), torch.from_numpy(np.log(decay)), torch.from_numpy(y0), torch.tensor([2.0, 3.0])
    ).numpy()
    expected = np.empty_like(u)
    state = y0.copy()
    for t in range(40):
        state = decay * state + np.array([2.0, 3.0]) * u[..., t]
        expected[..., t] = state
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- silence and gradients


@pytest.mark.parametrize("initial_state", ["librosa", "first_frame"])
@pytest.mark.parametrize("eps", [1e-6, 1e-12])
def test_silence_is_finite_in_value_and_gradient(initial_state, eps):
    silence = torch.zeros(2, 4, 30, requires_grad=True)
    params = [torch.full((4,), v, requires_grad=True) for v in (0.98, 2.0, 0.5, 0.025)]
    out = pcen(silence, *params, eps=eps, initial_state=initial_state)
    assert torch.isfinite(out).all() and torch.equal(out, torch.zeros_like(out))
    out.square().add(out).sum().backward()
    for tensor in (silence, *params):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()


@pytest.mark.parametrize("initial_state", ["librosa", "first_frame"])
def test_gradcheck_all_parameters(initial_state):
    rng = np.random.default_rng(4)
    energy = torch.from_numpy(rng.random((2, 3, 20)) * 5).requires_grad_()
    alpha = torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64, requires_grad=True)
    delta = torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64, requires_grad=True)
    r = torch.tensor([0.5, 0.3, 0.7], dtype=torch.float64, requires_grad=True)
    s = torch.tensor([0.05, 0.3, 0.6], dtype=torch.float64, requires_grad=True)

    def fn(e, a, d, rr, ss):
        return pcen(e, a, d, rr, ss, eps=1e-3, initial_state=initial_state)

    assert torch.autograd.gradcheck(fn, (energy, alpha, delta, r, s))


# --------------------------------------------------------------------------- second order


def loop_pcen(energy, alpha, delta, r, s, eps, initial_state):
    """Differentiable reference: the smoother one frame at a time, then the compression written plainly
    (parameters per channel, ``(channels,)``)."""
    state = torch.ones_like(energy[..., 0]) if initial_state == "librosa" else energy[..., 0]
    frames = []
    for t in range(energy.shape[-1]):
        state = (1.0 - s) * state + s * energy[..., t]
        frames.append(state)
    smoother = torch.stack(frames, dim=-1)
    alpha, delta, r = (p[:, None] for p in (alpha, delta, r))
    return (energy / (eps + smoother) ** alpha + delta) ** r - delta**r


def pcen_arguments(seed: int = 4, n_frames: int = 12) -> tuple[torch.Tensor, ...]:
    """Tiny float64 energies ``(2, 3, n_frames)`` and per-channel ``alpha, delta, r, s``, requiring grad."""
    rng = np.random.default_rng(seed)
    energy = torch.from_numpy(rng.random((2, 3, n_frames)) * 5).requires_grad_()
    values = ([0.9, 0.8, 0.7], [2.0, 1.0, 0.5], [0.5, 0.3, 0.7], [0.05, 0.3, 0.6])
    return (energy, *(torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values))


@pytest.mark.parametrize("block", [128, 4])
@pytest.mark.parametrize("decay", [[0.5, 0.9, 0.99], [0.01, 0.5, 0.95]])  # cumulative sums; doubling scan
def test_linear_recurrence_gradgradcheck(block, decay, monkeypatch):
    """Double backward of the recurrence in every argument, in one block and in blocks of 4 frames."""
    monkeypatch.setattr(PCEN_MODULE, "_BLOCK", block)
    rng = np.random.default_rng(8)
    u = torch.from_numpy(rng.standard_normal((2, 3, 14))).requires_grad_()
    log_decay = torch.tensor(decay, dtype=torch.float64).log().requires_grad_()
    initial = torch.from_numpy(rng.standard_normal((2, 3))).requires_grad_()
    scale = torch.tensor([2.0, 3.0, 0.5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(linear_recurrence, (u, log_decay, initial, scale))


@pytest.mark.parametrize("initial_state", ["librosa", "first_frame"])
def test_gradgradcheck_all_parameters(initial_state):
    def fn(e, a, d, rr, ss):
        return pcen(e, a, d, rr, ss, eps=1e-3, initial_state=initial_state)

    assert torch.autograd.gradgradcheck(fn, pcen_arguments())


def test_gradgradcheck_shared_parameters():
    """Scalar parameters, shared by every channel."""
    energy = pcen_arguments()[0]
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.9, 1.5, 0.4, 0.2)]
    assert torch.autograd.gradgradcheck(lambda *args: pcen(*args, eps=1e-3), (energy, *params))


@pytest.mark.parametrize("initial_state", ["librosa", "first_frame"])
def test_second_and_third_order_gradients_match_a_loop_over_frames(initial_state):
    """A gradient penalty (the input gradient with ``create_graph``, then differentiated again) and one more
    derivative, against a plain loop over frames that autograd differentiates."""
    arguments = pcen_arguments(n_frames=40)
    rng = np.random.default_rng(9)
    weights = torch.from_numpy(rng.standard_normal(arguments[0].shape))

    def derivatives(function):
        out = function(*arguments, 1e-3, initial_state)
        first = torch.autograd.grad((out * weights).sum(), arguments, create_graph=True)
        penalty = sum(g.square().sum() for g in first)
        second = torch.autograd.grad(penalty, arguments, create_graph=True)
        third = torch.autograd.grad(sum((g * g.detach()).sum() for g in second), arguments)
        return (*first, *second, *third)

    def ours(e, a, d, rr, ss, eps, state):
        return pcen(e, a, d, rr, ss, eps=eps, initial_state=state)

    for actual, expected in zip(derivatives(ours), derivatives(loop_pcen), strict=True):
        torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-12 * expected.abs().max().item())


def test_first_order_gradients_are_the_same_with_create_graph():
    """The differentiable backward (``create_graph=True``) and the in-place one give the same gradients."""
    arguments = pcen_arguments(n_frames=30)
    out = pcen(*arguments, eps=1e-6, initial_state="first_frame")
    weights = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(0))
    fast = torch.autograd.grad((out * weights).sum(), arguments, retain_graph=True)
    graph = torch.autograd.grad((out * weights).sum(), arguments, create_graph=True)
    assert not any(g.requires_grad for g in fast) and all(g.requires_grad for g in graph)
    for a, b in zip(fast, graph, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(s=0.0), "s"),
        (dict(s=1.0), "s"),
        (dict(delta=0.0), "delta"),
        (dict(r=-0.5), "r"),
        (dict(alpha=-1.0), "alpha"),
        (dict(eps=0.0), "eps"),
        (dict(initial_state="zeros"), "initial_state"),
        (dict(alpha=torch.ones(3)), "per channel"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        pcen(torch.rand(2, 4, 10), **kwargs)


def test_one_dimensional_input_rejected():
    with pytest.raises(ValueError, match="channels, frames"):
        exponential_smoothing(torch.rand(10), 0.1)


@pytest.mark.parametrize(
    ("args", "name"),
    [((0.0, SR, HOP), "time_constant"), ((0.4, -1.0, HOP), "sample_rate"), ((0.4, SR, 0), "hop")],
)
def test_smoothing_coefficient_validation(args, name):
    with pytest.raises(ValueError, match=name):
        smoothing_coefficient(*args)


@pytest.mark.parametrize("time_constant", [1e-9, 1e-6, 0.06, 1e3, 1e200])
def test_smoothing_coefficient_is_exact_for_short_and_long_time_constants(time_constant):
    """librosa's ``(sqrt(1 + 4 t^2) - 1) / (2 t^2)`` evaluated with 60 significant digits: in float64 that
    form gave 1.02 (not a smoothing coefficient) at 1e-9 s and an OverflowError at 1e200 s."""
    with decimal.localcontext() as context:
        context.prec = 60
        t = decimal.Decimal(time_constant) * SR / HOP
        expected = float(((1 + 4 * t * t).sqrt() - 1) / (2 * t * t))
    actual = smoothing_coefficient(time_constant, SR, HOP)
    assert 0.0 < actual < 1.0
    assert actual == pytest.approx(expected, rel=1e-14)
