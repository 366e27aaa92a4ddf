"""SmallCNN: closed-form parameter counts, resizing, logits and the hidden ReLU."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from adaspec.models import SmallCNN


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # conv1 1*16*25+16 = 416, conv2 16*32*25+32 = 12,832, fc1 32*25*25*512+512 = 10,240,512,
        # fc2 512*10+10 = 5,130
        ({"num_classes": 10}, 10_258_890),
        # the seed's sizes for a 20-pixel image: fc1 = Linear(2 * 20**2, 20**2) = 320,400,
        # fc2 = 400*4+4 = 1,604
        ({"num_classes": 4, "image_size": 20, "hidden": 400}, 416 + 12_832 + 320_400 + 1_604),
        # 3 input channels: conv1 3*16*25+16 = 1,216; image 30 -> 7x7 after two poolings:
        # fc1 32*49*64+64 = 100,416, fc2 64*2+2 = 130
        (
            {"num_classes": 2, "in_channels": 3, "image_size": 30, "hidden": 64},
            1_216 + 12_832 + 100_416 + 130,
        ),
    ],
)
def test_parameter_count_closed_form(kwargs, expected):
    assert n_parameters(SmallCNN(**kwargs)) == expected


@pytest.mark.parametrize("shape", [(2, 1, 129, 32), (1, 1, 7, 300), (3, 1, 20, 20), (1, 1, 1, 1)])
def test_any_input_size_gives_logits(shape):
    model = SmallCNN(5, image_size=20, hidden=16)
    assert model(torch.randn(shape)).shape == (shape[0], 5)


def test_constant_images_of_any_size_agree():
    # bilinear resizing maps a constant image to the same constant, whatever its size
    torch.manual_seed(0)
    model = SmallCNN(3, in_channels=2, image_size=12, hidden=8).eval()
    with torch.no_grad():
        reference = model(torch.full((1, 2, 12, 12), 0.7))
        for height, width in [(5, 40), (129, 32), (12, 13)]:
            torch.testing.assert_close(model(torch.full((1, 2, height, width), 0.7)), reference)


def test_relu_between_linear_layers_and_raw_logits():
    # fc1 outputs -1 everywhere; the ReLU zeroes it, so the logits are exactly fc2's bias (no log_softmax)
    model = SmallCNN(4, image_size=8, hidden=6)
    with torch.no_grad():
        model.fc_layer1.weight.zero_()
        model.fc_layer1.bias.fill_(-1.0)
        model.fc_layer2.bias.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        logits = model(torch.randn(2, 1, 9, 9))
    torch.testing.assert_close(logits, torch.tensor([[1.0, 2.0, 3.0, 4.0]] * 2), rtol=0, atol=0)


def test_layer_shapes():
    model = SmallCNN(4, image_size=100)
    assert model.fc_layer1.in_features == 32 * 25 * 25 and model.fc_layer1.out_features == 512
    conv = model.meta_layer1[0]
    assert conv.kernel_size == (5, 5) and conv.stride == (1, 1) and conv.padding == (2, 2)
    assert model.meta_layer2[0].out_channels == 32


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": 2, "image_size": 3}, "image_size"),
        ({"num_classes": 2, "hidden": 0}, "hidden"),
        ({"num_classes": 2, "in_channels": 1.5}, "in_channels"),
        ({"num_classes": 2, "dropout": 1.5}, "dropout"),
    ],
)
def test_wrong_parameters_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SmallCNN(**kwargs)
