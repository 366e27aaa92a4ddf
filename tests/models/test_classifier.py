"""Classifier end to end with adaspec's STFT and MelSpectrogram: shapes, features against torch.stft,
gradients to the front-end, parameter groups, masking and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import adaspec
from adaspec.models import ADAPTERS, Classifier, SpecMasking, adapter_channels, build_backbone
from tests.helpers import counting_backend

N_CLASSES = 4
BATCH, LENGTH = 2, 4000
# center=True framing: 1 + 4000 // 128 = 32 frames; STFT: 256 // 2 + 1 = 129 bins; mel: 32 bands
FRONTENDS = {
    "stft": (lambda: adaspec.STFT(n_fft=256, hop_length=128, output="magnitude"), False, 129),
    "mel": (lambda: adaspec.MelSpectrogram(sample_rate=8000, n_fft=256, hop_length=128, n_mels=32), True, 32),
}
FRAMES = 32


def make_classifier(frontend: str, backbone: str, adapter: str, **kwargs) -> Classifier:
    factory, power, _ = FRONTENDS[frontend]
    frontends = [factory() for _ in range(3)] if adapter == "per_channel" else factory()
    extra = {"image_size": 16, "hidden": 8} if backbone == "small_cnn" else {}
    net = build_backbone(backbone, N_CLASSES, adapter_channels(adapter), **extra)
    return Classifier(frontends, net, adapter=adapter, power=power, **kwargs)


@pytest.fixture
def wave(signal_factory):
    return signal_factory((BATCH, LENGTH), sample_rate=8000.0)


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("backbone", ["resnet18", "small_cnn"])
@pytest.mark.parametrize("frontend", list(FRONTENDS))
def test_end_to_end_shapes(wave, frontend, backbone, adapter):
    torch.manual_seed(0)
    model = make_classifier(frontend, backbone, adapter, masking=SpecMasking(4, 4))
    logits = model(wave)
    assert logits.shape == (BATCH, N_CLASSES) and torch.isfinite(logits).all()
    assert model.features(wave).shape == (BATCH, adapter_channels(adapter), FRONTENDS[frontend][2], FRAMES)
    model.eval()
    with torch.no_grad():
        assert model(wave).shape == (BATCH, N_CLASSES)


@pytest.mark.parametrize("adapter", ["repeat", "stem"])
def test_features_are_db_of_torch_stft(wave, adapter):
    frontend = adaspec.STFT(n_fft=256, hop_length=128, output="magnitude", dtype=torch.float64)
    backbone = build_backbone("small_cnn", N_CLASSES, adapter_channels(adapter), image_size=8)
    model = Classifier(frontend, backbone, adapter=adapter, input_norm=False).double()
    wave = wave.double()
    window = torch.hann_window(256, dtype=torch.float64)
    magnitude = torch.stft(wave, 256, 128, window=window, return_complex=True).abs().numpy()
    expected = 20.0 * np.log10(np.maximum(magnitude, 1e-10))
    with torch.no_grad():
        features = model.features(wave).numpy()
    for channel in range(adapter_channels(adapter)):
        np.testing.assert_allclose(features[:, channel], expected, rtol=1e-9, atol=1e-7)


def test_input_norm_at_initialisation_in_eval_mode(wave):
    # fresh BatchNorm2d: running mean 0, variance 1, weight 1, bias 0, eps 1e-5
    normalised = make_classifier("stft", "small_cnn", "repeat").eval()
    raw = make_classifier("stft", "small_cnn", "repeat", input_norm=False)
    with torch.no_grad():
        torch.testing.assert_close(normalised.features(wave), raw.features(wave) / np.sqrt(1 + 1e-5))


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("learn_window", [True, False])
def test_gradient_reaches_frontend_only_when_learnable(wave, adapter, learn_window):
    model = make_classifier("stft", "resnet18" if learn_window else "small_cnn", adapter)
    for frontend in model.frontends:
        frontend.learn_window = learn_window
    model(wave).square().sum().backward()
    for frontend in model.frontends:
        if learn_window:
            grad = frontend.window.grad
            assert grad is not None and torch.isfinite(grad).all() and grad.abs().max() > 0
        else:
            assert frontend.window.grad is None
        assert frontend.kernel_real.grad is None
    assert all(p.grad is not None for p in model.backbone_parameters())


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_parameter_groups_partition_parameters(adapter):
    model = make_classifier("mel", "small_cnn", adapter)
    front = list(model.frontend_parameters())
    back = list(model.backbone_parameters())
    everything = list(model.parameters())
    assert len(front) + len(back) == len(everything)
    assert {id(p) for p in front} | {id(p) for p in back} == {id(p) for p in everything}
    assert not {id(p) for p in front} & {id(p) for p in back}
    # a mel front-end holds window, real and imaginary kernels, filterbank
    assert len(front) == 4 * len(model.frontends)
    assert any(p is model.input_norm.weight for p in back)


def test_attributes():
    single = make_classifier("stft", "small_cnn", "repeat")
    assert len(single.frontends) == 1 and single.frontend is single.frontends[0]
    assert isinstance(single.frontends, torch.nn.ModuleList)
    triple = make_classifier("stft", "small_cnn", "per_channel")
    assert len(triple.frontends) == 3 and triple.frontend is triple.frontends[0]
    assert triple.backbone.in_channels == 3 and triple.in_channels == 3


def test_masking_applies_in_training_only(wave):
    torch.manual_seed(0)
    model = make_classifier("stft", "small_cnn", "stem", masking=SpecMasking(8, 16, fill="zero"))
    model.eval()
    with torch.no_grad():
        features = model.features(wave)
        torch.testing.assert_close(model(wave), model.backbone(features), rtol=0, atol=0)
        model.train()
        for module in (model.input_norm, model.backbone):
            module.eval()  # deterministic except for the masks
        torch.manual_seed(1)
        masked = model.masking(features)
        torch.manual_seed(1)
        torch.testing.assert_close(model(wave), model.backbone(masked), rtol=0, atol=0)
    assert (masked == 0).any()


@pytest.mark.parametrize(
    ("adapter", "frontend_count", "match"),
    [
        ("per_channel", None, "sequence of modules, got a single STFT"),
        ("per_channel", 2, "sequence of 3 modules, got 2"),
        ("repeat", 3, "single nn.Module for adapter='repeat'"),
        ("stem", 1, "single nn.Module for adapter='stem'"),
    ],
)
def test_frontend_count_must_fit_the_adapter(adapter, frontend_count, match):
    def stft():
        return adaspec.STFT(n_fft=64, output="magnitude")

    frontend = stft() if frontend_count is None else [stft() for _ in range(frontend_count)]
    with pytest.raises(ValueError, match=match):
        Classifier(frontend, build_backbone("small_cnn", 2, adapter_channels(adapter)), adapter=adapter)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"adapter": "rgb"}, "adapter must be one of"),
        ({"compression": "sqrt"}, "compression must be one of 'db', 'log', 'none'; got 'sqrt'"),
        ({"adapter": "stem"}, "backbone in_channels must be 1 for adapter='stem', got 3"),
        ({"masking": "spec"}, "masking must be an nn.Module"),
        # strings such as "no" were truthy: power="no" gave 10 log10, input_norm="false" a BatchNorm
        ({"power": "no"}, "power must be True or False, got 'no'"),
        ({"input_norm": "false"}, "input_norm must be True or False, got 'false'"),
        ({"input_norm": None}, "input_norm must be True or False, got None"),
    ],
)
def test_wrong_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Classifier(adaspec.STFT(n_fft=64), build_backbone("small_cnn", 2, 3, image_size=8), **kwargs)


def test_waveform_must_be_batch_by_time():
    model = make_classifier("stft", "small_cnn", "repeat")
    with pytest.raises(ValueError, match=r"waveform must have shape \(batch, time\)"):
        model(torch.zeros(4000))


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_exports_with_a_dynamic_batch(signal_factory, adapter):
    """torch.export with the batch axis dynamic (as ``adaspec export`` does) for every adapter; the program
    gives the eager logits for another batch size."""
    torch.manual_seed(0)
    model = make_classifier("stft", "small_cnn", adapter, masking=SpecMasking(4, 4)).eval()
    x = signal_factory((3, LENGTH), sample_rate=8000.0)
    batch = {0: torch.export.Dim("batch")}
    program = torch.export.export(model, (x[:2],), dynamic_shapes=(batch,), strict=False).module()
    with torch.no_grad():
        torch.testing.assert_close(program(x), model(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("backbone", ["resnet18", "small_cnn"])
def test_a_half_precision_network_runs_on_its_float32_frontend_output(wave, backbone, dtype):
    # Lightning's "bf16-true" / "16-true" cast the whole network; front-ends still return float32 spectra,
    # which the half-precision input norm and backbone refused ("mixed dtype (CPU)").
    torch.manual_seed(0)
    model = make_classifier("stft", backbone, "stem").eval()
    reference = model(wave.float())
    half = model.to(dtype)(wave.to(dtype))
    assert half.dtype == dtype
    torch.testing.assert_close(half.float(), reference, rtol=0.1, atol=0.1 * reference.abs().max().item())


class _Gain(torch.nn.Module):
    """A front-end with one parameter and one buffer: ``(B, L) -> (B, 4, L // 4)`` magnitudes."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = torch.nn.Parameter(torch.ones(()))
        self.register_buffer("offset", torch.zeros(()))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        batch, length = waveform.shape
        return (self.gain * waveform[:, : length // 4 * 4].reshape(batch, 4, -1)).abs() + self.offset


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("input_norm", [True, False])
def test_state_dict_keys(adapter, input_norm):
    # compression, adapter and masking hold no state: the keys are the front-ends', the input norm's and
    # the backbone's, whatever the masking
    frontends = [_Gain() for _ in range(3)] if adapter == "per_channel" else _Gain()
    backbone = build_backbone("small_cnn", 2, adapter_channels(adapter), image_size=4, hidden=3)
    model = Classifier(frontends, backbone, adapter=adapter, input_norm=input_norm, masking=SpecMasking(2, 2))
    count = 3 if adapter == "per_channel" else 1
    expected = [f"frontends.{i}.{name}" for i in range(count) for name in ("gain", "offset")]
    if input_norm:
        bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
        expected += [f"input_norm.{name}" for name in bn]
    layers = ("meta_layer1.0", "meta_layer2.0", "fc_layer1", "fc_layer2")
    expected += [f"backbone.{layer}.{name}" for layer in layers for name in ("weight", "bias")]
    assert list(model.state_dict()) == expected


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("frontend", list(FRONTENDS))
def test_compiles_as_one_graph(wave, frontend, adapter):
    """The whole classifier (front-end, compression, adapter, input norm, masking, backbone) compiles
    without a graph break; in eval mode it gives the eager logits."""
    torch.manual_seed(0)
    model = make_classifier(frontend, "resnet18", adapter, masking=SpecMasking(4, 4))
    backend, graphs = counting_backend()
    torch._dynamo.reset()
    compiled = torch.compile(model, backend=backend, fullgraph=True)  # a graph break raises
    compiled(wave).sum().backward()  # training mode: the masks are drawn in the graph
    assert all(p.grad is not None for p in model.backbone.parameters())
    model.eval()
    with torch.no_grad():
        expected = model(wave)
        torch.testing.assert_close(compiled(wave), expected, rtol=1e-5, atol=1e-5)
    assert len(graphs) == 2  # one graph per mode
