"""Backbones by name: configs say ``backbone: resnet18`` and get a module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .._validation import check_choice
from .resnet import resnet18, resnet34
from .small_cnn import SmallCNN

BACKBONES = ("resnet18", "resnet34", "small_cnn")
_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "resnet18": resnet18,
    "resnet34": resnet34,
    "small_cnn": SmallCNN,
}


def build_backbone(
    name: str, num_classes: int, in_channels: int, dropout: float = 0.0, **kwargs: Any
) -> nn.Module:
    """Instantiate the backbone ``name`` mapping ``(B, in_channels, F, T)`` to ``(B, num_classes)`` logits.

    Args:
        name: one of :data:`BACKBONES`.
        num_classes: number of output logits.
        in_channels: input channels (see :func:`adapter_channels`).
        dropout: dropout probability before the last layer.
        **kwargs: further arguments of the backbone (``image_size``, ``hidden`` for ``"small_cnn"``).

    Raises:
        ValueError: for an unknown name, a wrong value, or an argument the backbone does not take.
    """
    builder = _BUILDERS[check_choice("backbone", name, BACKBONES)]
    try:
        return builder(num_classes=num_classes, in_channels=in_channels, dropout=dropout, **kwargs)
    except TypeError as err:
        raise ValueError(f"backbone {name!r}: {err}") from None
