"""ResNet-18/34 against torchvision's published parameter counts, key names and initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from adaspec.models import ResNet, resnet18, resnet34

BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def torchvision_keys(layers: list[int]) -> list[str]:
    """torchvision's ``resnet`` state_dict keys for BasicBlock stages ``layers``, from its definition."""
    keys = ["conv1.weight", *(f"bn1.{k}" for k in BN_KEYS)]
    for stage, blocks in enumerate(layers, start=1):
        for block in range(blocks):
            prefix = f"layer{stage}.{block}"
            keys += [f"{prefix}.conv1.weight", *(f"{prefix}.bn1.{k}" for k in BN_KEYS)]
            keys += [f"{prefix}.conv2.weight", *(f"{prefix}.bn2.{k}" for k in BN_KEYS)]
            if block == 0 and stage > 1:  # stride 2 and a channel change: 1x1 projection
                keys += [f"{prefix}.downsample.0.weight", *(f"{prefix}.downsample.1.{k}" for k in BN_KEYS)]
    return [*keys, "fc.weight", "fc.bias"]


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("build", "expected"), [(resnet18, 11_689_512), (resnet34, 21_797_672)])
def test_parameter_count_matches_torchvision(build, expected):
    assert n_parameters(build(1000)) == expected


def closed_form_count(layers: tuple[int, ...], num_classes: int = 1000, in_channels: int = 3) -> int:
    """Parameters of a BasicBlock ResNet from torchvision's definition: 7x7 stem conv (no bias), batch
    norms with weight and bias, 3x3 convolutions, a 1x1 projection (+ batch norm) where a stage changes
    width or stride, and ``fc`` with bias."""
    count = 64 * in_channels * 7 * 7 + 2 * 64
    inplanes = 64
    for stage, blocks in enumerate(layers):
        planes = 64 * 2**stage
        for block in range(blocks):
            count += inplanes * planes * 9 + 2 * planes + planes * planes * 9 + 2 * planes
            if block == 0 and (stage > 0 or inplanes != planes):
                count += inplanes * planes + 2 * planes
            inplanes = planes
    return count + 512 * num_classes + num_classes


def test_closed_form_reproduces_torchvision_counts():
    assert closed_form_count((2, 2, 2, 2)) == 11_689_512
    assert closed_form_count((3, 4, 6, 3)) == 21_797_672


@pytest.mark.parametrize(
    ("layers", "num_classes", "in_channels"),
    [((2, 2, 2, 2), 10, 1), ((3, 4, 6, 3), 50, 1), ((3, 4, 6, 3), 10, 3), ((1, 1, 1, 1), 2, 2)],
)
def test_any_layers_count_closed_form(layers, num_classes, in_channels):
    model = ResNet(layers, num_classes=num_classes, in_channels=in_channels)
    assert n_parameters(model) == closed_form_count(layers, num_classes, in_channels)


@pytest.mark.parametrize(("num_classes", "in_channels"), [(10, 3), (10, 1), (1000, 1), (7, 2)])
def test_parameter_count_closed_form(num_classes, in_channels):
    # torchvision's 11,689,512 with 3 channels and 1000 classes; conv1 has 64*7*7 weights per input
    # channel and fc 512 weights + 1 bias per class.
    expected = 11_689_512 - 64 * 49 * (3 - in_channels) - 513 * (1000 - num_classes)
    model = resnet18(num_classes, in_channels=in_channels)
    assert n_parameters(model) == expected
    assert model.conv1.weight.shape == (64, in_channels, 7, 7)
    assert model.fc.out_features == num_classes


@pytest.mark.parametrize(("build", "layers"), [(resnet18, [2, 2, 2, 2]), (resnet34, [3, 4, 6, 3])])
@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_state_dict_keys_are_torchvision(build, layers, dropout):
    assert list(build(10, dropout=dropout).state_dict()) == torchvision_keys(layers)


def test_buffers_and_module_names():
    model = resnet18(10)
    assert [name for name, _ in model.named_children()] == [
        "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "dropout", "fc",
    ]  # fmt: skip
    assert model.conv1.stride == (2, 2) and model.conv1.padding == (3, 3) and model.conv1.bias is None
    assert model.layer2[0].conv1.stride == (2, 2) and model.layer2[0].downsample[0].stride == (2, 2)
    assert model.layer1[0].downsample is None


def test_kaiming_fan_out_and_batch_norm_init():
    torch.manual_seed(0)
    model = resnet18(10)
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            weight = module.weight.detach().double()
            fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
            expected_std = math.sqrt(2.0 / fan_out)
            # sampling error of the std of n normal draws is about std / sqrt(2 n) (< 0.8 % here)
            assert weight.std().item() == pytest.approx(expected_std, rel=0.05), name
            assert abs(weight.mean().item()) < 5 * expected_std / math.sqrt(weight.numel()), name
        elif isinstance(module, nn.BatchNorm2d):
            assert torch.equal(module.weight, torch.ones_like(module.weight)), name
            assert torch.equal(module.bias, torch.zeros_like(module.bias)), name
    bound = 1.0 / math.sqrt(512)  # PyTorch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert model.fc.weight.abs().max().item() <= bound


@pytest.mark.parametrize(
    ("shape", "in_channels"),
    [((2, 3, 64, 80), 3), ((1, 3, 32, 20), 3), ((1, 1, 8, 8), 1), ((2, 1, 129, 5), 1)],
)
def test_output_shape(shape, in_channels):
    model = resnet18(7, in_channels=in_channels).eval()
    with torch.no_grad():
        assert model(torch.randn(shape)).shape == (shape[0], 7)


def test_resnet34_output_shape():
    with torch.no_grad():
        assert resnet34(4).eval()(torch.randn(2, 3, 40, 24)).shape == (2, 4)


def test_dropout_only_in_train_mode():
    torch.manual_seed(0)
    with_dropout = resnet18(5, dropout=0.5)
    without = resnet18(5)
    without.load_state_dict(with_dropout.state_dict())
    x = torch.randn(4, 3, 16, 16)
    assert isinstance(with_dropout.dropout, nn.Dropout) and with_dropout.dropout.p == 0.5
    with torch.no_grad():
        # eval: dropout is the identity, so both models agree exactly
        with_dropout.eval()
        without.eval()
        torch.testing.assert_close(with_dropout(x), without(x), rtol=0, atol=0)
        # train: batch norm uses batch statistics (deterministic); only dropout depends on the seed
        with_dropout.train()
        without.train()
        outputs = []
        for model in (with_dropout, with_dropout, without, without):
            torch.manual_seed(len(outputs))
            outputs.append(model(x))
    assert not torch.allclose(outputs[0], outputs[1])
    torch.testing.assert_close(outputs[2], outputs[3], rtol=0, atol=0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": 10, "in_channels": 0}, "in_channels"),
        ({"num_classes": 10, "dropout": 1.0}, "dropout"),
        ({"num_classes": 10, "dropout": -0.1}, "dropout"),
        ({"num_classes": 10, "dropout": "0.5"}, "dropout"),
    ],
)
def test_wrong_parameters_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        resnet18(**kwargs)


@pytest.mark.parametrize("layers", [(2, 2, 2), (2, 2, 0, 2), "2222"])
def test_wrong_layers_raise(layers):
    with pytest.raises(ValueError, match=r"layers"):
        ResNet(layers, num_classes=10)
