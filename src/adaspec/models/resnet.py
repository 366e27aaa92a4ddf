"""ResNet-18/34 with torchvision's architecture and parameter names, plus dropout before ``fc``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_positive_int, check_probability


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut.

    Args:
        inplanes: input channels.
        planes: output channels.
        stride: stride of the first convolution (and of the projection).
        downsample: projection applied to the shortcut, or ``None`` for the identity.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet of :class:`BasicBlock` stages, torchvision's layout: a ``state_dict`` of
    ``torchvision.models.resnet18/34`` loads into it (when ``in_channels=3``).

    Convolutions get Kaiming-normal weights (``fan_out``, ReLU gain) and batch norms weight 1, bias 0,
    as in torchvision; ``fc`` keeps PyTorch's default ``Linear`` initialisation. ``dropout > 0`` applies
    ``nn.Dropout`` to the pooled features before ``fc`` (Ada-STFT's ``resnet_dropout``); the dropout
    module has no parameters, so the ``state_dict`` keys are the same for every ``dropout``.

    Args:
        layers: number of blocks in each of the four stages, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
        num_classes: outputs of ``fc`` (logits).
        in_channels: input channels of ``conv1`` (3 for RGB-like stacks, 1 for a single spectrogram).
        dropout: dropout probability before ``fc``, in ``[0, 1)``.

    Raises:
        ValueError: for a wrong ``layers``, ``num_classes``, ``in_channels`` or ``dropout``.
    """

    def __init__(
        self, layers: Sequence[int], num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or len(layers) != 4:
            raise ValueError(f"layers must be a sequence of 4 positive integers, got {layers!r}")
        blocks = [check_positive_int(f"layers[{i}]", count) for i, count in enumerate(layers)]
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.inplanes = 64
        self.conv1 = nn.Conv2d(self.in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, blocks[0])
        self.layer2 = self._make_layer(128, blocks[1], stride=2)
        self.layer3 = self._make_layer(256, blocks[2], stride=2)
        self.layer4 = self._make_layer(512, blocks[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(check_probability("dropout", dropout))
        self.fc = nn.Linear(512 * BasicBlock.expansion, self.num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        outplanes = planes * BasicBlock.expansion
        downsample = None
        if stride != 1 or self.inplanes != outplanes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, outplanes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(outplanes),
            )
        stage = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = outplanes
        stage += [BasicBlock(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(B, in_channels, H, W)`` (any ``H, W >= 1``) to logits ``(B, num_classes)``.

        As in torchvision, training mode needs more than one value per channel in every batch norm: a
        batch of one example whose map shrinks to 1 x 1 (both ``H`` and ``W <= 32`` for the last stage) raises
        PyTorch's ``ValueError``; use batches of two or more, or eval mode.
        """
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


def resnet18(num_classes: int, in_channels: int = 3, dropout: float = 0.0) -> ResNet:
    """ResNet-18 (stages ``[2, 2, 2, 2]``; 11,689,512 parameters for 1000 classes and 3 channels)."""
    return ResNet((2, 2, 2, 2), num_classes=num_classes, in_channels=in_channels, dropout=dropout)


def resnet34(num_classes: int, in_channels: int = 3, dropout: float = 0.0) -> ResNet:
    """ResNet-34 (stages ``[3, 4, 6, 3]``; 21,797,672 parameters for 1000 classes and 3 channels)."""
    return ResNet((3, 4, 6, 3), num_classes=num_classes, in_channels=in_channels, dropout=dropout)
