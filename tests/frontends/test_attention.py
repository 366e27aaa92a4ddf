"""TFAttention: per-band and per-frame gates, shapes, combine rules and gradients."""

import pytest
import torch

import adaspec


def stationary(batch, channels, n_freq, frames, seed=0):
    """Identical frames: one random log-spectrum per (example, channel), repeated over time."""
    generator = torch.Generator().manual_seed(seed)
    column = torch.randn(batch, channels, n_freq, 1, generator=generator, dtype=torch.float64)
    return column.expand(batch, channels, n_freq, frames).clone()


def with_event(x, frames=slice(10, 13), level=8.0):
    """``x`` with a loud broadband event in a few frames."""
    x = x.clone()
    x[..., frames] += level
    return x


# --------------------------------------------------------------------------- the time gate


@pytest.mark.parametrize("channels", [1, 3])
def test_time_gate_is_constant_on_stationary_input(channels):
    torch.manual_seed(0)
    module = adaspec.TFAttention(16, channels=channels).double()
    _, time_gate = module.gates(stationary(2, channels, 16, 40))
    assert time_gate.shape == (2, 1, 1, 40)
    torch.testing.assert_close(time_gate, time_gate[..., :1].expand_as(time_gate), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_time_gate_differs_on_a_loud_event(seed):
    torch.manual_seed(seed)
    module = adaspec.TFAttention(16).double()
    x = with_event(stationary(2, 1, 16, 40, seed))
    _, time_gate = module.gates(x)
    event, quiet = time_gate[..., 10:13], torch.cat([time_gate[..., :10], time_gate[..., 13:]], dim=-1)
    # quiet frames share one gate, the event frames another
    torch.testing.assert_close(quiet, quiet[..., :1].expand_as(quiet), rtol=1e-12, atol=1e-14)
    assert ((event - quiet[..., :1]).abs() > 1e-3).all()
    assert time_gate.std(dim=-1).min() > 1e-4


def test_time_gate_depends_on_each_frame_alone():
    """Shuffling frames shuffles the time gate the same way (a per-frame function of content)."""
    torch.manual_seed(0)
    module = adaspec.TFAttention(12, channels=2).double()
    x = torch.randn(3, 2, 12, 25, dtype=torch.float64)
    order = torch.randperm(25)
    _, gate = module.gates(x)
    _, shuffled = module.gates(x[..., order])
    torch.testing.assert_close(shuffled, gate[..., order])


def test_freq_gate_is_per_band_and_per_channel():
    torch.manual_seed(0)
    module = adaspec.TFAttention(10, channels=3).double()
    freq_gate, _ = module.gates(torch.randn(2, 3, 10, 7, dtype=torch.float64))
    assert freq_gate.shape == (2, 3, 10, 1)
    assert ((freq_gate > 0) & (freq_gate < 1)).all()
    assert freq_gate.flatten(1).std(dim=1).min() > 0


# --------------------------------------------------------------------------- shapes and rules


@pytest.mark.parametrize("combine", ["sum", "product", "max"])
@pytest.mark.parametrize("shape", [(2, 16, 9), (2, 1, 16, 9), (2, 3, 16, 9), (2, 5, 16, 9)])
def test_output_shape_and_combine_rule(shape, combine):
    torch.manual_seed(0)
    channels = 1 if len(shape) == 3 else shape[1]
    module = adaspec.TFAttention(16, channels=channels, reduction=4, combine=combine)
    x = torch.randn(shape)
    output = module(x)
    assert output.shape == x.shape
    freq_gate, time_gate = module.gates(x)
    gate = {"sum": freq_gate + time_gate, "product": freq_gate * time_gate}.get(
        combine, torch.maximum(freq_gate, time_gate)
    )
    torch.testing.assert_close(output, x * gate)


def test_three_dimensional_input_equals_single_channel():
    torch.manual_seed(0)
    module = adaspec.TFAttention(8)
    x = torch.randn(4, 8, 11)
    torch.testing.assert_close(module(x), module(x.unsqueeze(1)).squeeze(1))


@pytest.mark.parametrize("combine", ["sum", "product", "max"])
@pytest.mark.parametrize("shape", [(2, 6, 5), (2, 3, 6, 5)])
def test_gradients_match_finite_differences(combine, shape):
    torch.manual_seed(0)
    channels = 1 if len(shape) == 3 else shape[1]
    module = adaspec.TFAttention(6, channels=channels, reduction=3, combine=combine).double()
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    names = [name for name, _ in module.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in module.parameters())

    def run(x, *values):
        return torch.func.functional_call(module, dict(zip(names, values, strict=True)), (x,))

    assert torch.autograd.gradcheck(run, (x, *params))


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    module = adaspec.TFAttention(16, channels=3)
    (module(torch.randn(2, 3, 16, 20)) * torch.randn(2, 3, 16, 20)).sum().backward()
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_hidden_width_follows_reduction():
    assert adaspec.TFAttention(64, reduction=16).freq_squeeze.out_features == 4
    assert adaspec.TFAttention(64, channels=3, reduction=8).freq_squeeze.out_features == 24
    assert adaspec.TFAttention(4, reduction=100).freq_squeeze.out_features == 1


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(reduction=0), "reduction"),
        (dict(reduction=-4), "reduction"),
        (dict(reduction="16"), "reduction"),
        (dict(combine="mean"), "combine"),
        (dict(n_freq=0), "n_freq"),
        (dict(channels=0), "channels"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        adaspec.TFAttention(**{"n_freq": 16, **kwargs})


@pytest.mark.parametrize("shape", [(2, 15, 9), (2, 2, 16, 9), (16, 9), (1, 2, 1, 16, 9)])
def test_wrong_input_shape_raises(shape):
    with pytest.raises(ValueError, match="shape"):
        adaspec.TFAttention(16)(torch.randn(shape))


@pytest.mark.parametrize("shape", [(0, 16, 9), (0, 3, 16, 9)])
def test_empty_batch_keeps_its_shape(shape):
    module = adaspec.TFAttention(16, channels=1 if len(shape) == 3 else shape[1], reduction=4)
    x = torch.zeros(shape, requires_grad=True)
    out = module(x)
    assert out.shape == x.shape
    freq_gate, time_gate = module.gates(x)
    assert freq_gate.shape[0] == time_gate.shape[0] == 0
    out.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("combine", ["sum", "product", "max"])
def test_no_frames_give_finite_gates_and_zero_parameter_gradients(combine):
    # The band means over no frames were NaN: NaN band gates and NaN gradients for freq_squeeze and
    # freq_excite, although the output is empty.
    module = adaspec.TFAttention(16, reduction=4, combine=combine)
    x = torch.zeros(2, 16, 0, requires_grad=True)
    out = module(x)
    assert out.shape == x.shape
    freq_gate, time_gate = module.gates(x)
    assert torch.isfinite(freq_gate).all() and time_gate.shape == (2, 1, 0)
    out.sum().backward()
    for name, parameter in module.named_parameters():
        assert torch.equal(parameter.grad, torch.zeros_like(parameter)), name


@pytest.mark.parametrize(
    "x", [torch.ones(2, 16, 9, dtype=torch.int64), torch.ones(2, 16, 9, dtype=torch.complex64), [[1.0]]]
)
def test_gates_refuse_non_real_floating_input_with_value_error(x):
    # gates() checked only the shape: integers failed in torch.mean, complex values in clamp.
    with pytest.raises(ValueError, match="input must be a real floating-point tensor"):
        adaspec.TFAttention(16).gates(x)


@pytest.mark.parametrize("combine", ["sum", "product", "max"])
def test_second_order_gradients_match_finite_differences(combine):
    torch.manual_seed(0)
    module = adaspec.TFAttention(4, channels=1, reduction=2, combine=combine).double()
    x = torch.randn(2, 4, 5, dtype=torch.float64, requires_grad=True)
    names = [name for name, _ in module.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in module.parameters())

    def run(x, *values):
        return torch.func.functional_call(module, dict(zip(names, values, strict=True)), (x,))

    assert torch.autograd.gradgradcheck(run, (x, *params))


@pytest.mark.parametrize("reduction", [1e-300, 1e-9])
def test_a_reduction_asking_for_too_many_weights_is_named(reduction):
    """1e-300 failed inside nn.Linear with a TypeError; 1e-9 tried to allocate 16 x 1.6e10 weights."""
    with pytest.raises(ValueError, match=r"^reduction=.* gives a hidden width of .* for 16 bands"):
        adaspec.TFAttention(16, reduction=reduction)
