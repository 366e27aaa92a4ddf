"""build_backbone: names, arguments passed through, errors."""

from __future__ import annotations

import pytest
import torch

from adaspec.models import BACKBONES, ResNet, SmallCNN, build_backbone


def n_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_names():
    assert BACKBONES == ("resnet18", "resnet34", "small_cnn")


@pytest.mark.parametrize(("name", "expected"), [("resnet18", 11_689_512), ("resnet34", 21_797_672)])
def test_resnets_by_name(name, expected):
    model = build_backbone(name, 1000, 3, dropout=0.25)
    assert isinstance(model, ResNet) and n_parameters(model) == expected and model.dropout.p == 0.25


def test_small_cnn_by_name_takes_its_own_arguments():
    model = build_backbone("small_cnn", 5, 2, image_size=12, hidden=7)
    assert isinstance(model, SmallCNN) and model.in_channels == 2
    # conv1 2*16*25+16 = 816, conv2 12,832, fc1 32*3*3*7+7 = 2,023, fc2 7*5+5 = 40
    assert n_parameters(model) == 816 + 12_832 + 2_023 + 40


def test_unknown_name_lists_the_backbones():
    with pytest.raises(
        ValueError, match="backbone must be one of 'resnet18', 'resnet34', 'small_cnn'; got 'vgg'"
    ):
        build_backbone("vgg", 10, 3)


def test_unknown_argument_and_wrong_value_raise():
    with pytest.raises(ValueError, match=r"backbone 'resnet18'.*image_size"):
        build_backbone("resnet18", 10, 3, image_size=64)
    with pytest.raises(ValueError, match="dropout must be a number in"):
        build_backbone("small_cnn", 10, 1, dropout=2.0)
