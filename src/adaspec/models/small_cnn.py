"""The small two-block CNN of the instrument-identification seed (FFT vs CWT spectrogram images)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from .._validation import check_positive_int, check_probability


class SmallCNN(nn.Module):
    """Resize, two conv blocks, two fully connected layers: ``(B, C, H, W) -> (B, num_classes)`` logits.

    The input is resized to ``(image_size, image_size)`` with bilinear interpolation
    (``align_corners=False``, no anti-aliasing), so any spectrogram size works. Each block is
    ``Conv2d(k=5, stride=1, padding=2) -> ReLU -> MaxPool2d(2)`` with 16 then 32 channels; the flattened
    ``32 * (image_size // 4) ** 2`` features go through ``Linear -> ReLU -> Dropout -> Linear``.

    Differences from the seed: the seed fixed ``hidden = image_size ** 2`` (here a parameter; pass
    ``hidden=image_size ** 2`` to reproduce it), had no activation between the two linear layers (two
    stacked linear maps collapse into one, so the hidden layer added parameters but no capacity; a ReLU
    is added), and returned ``log_softmax`` (here raw logits: ``nn.CrossEntropyLoss`` applies the
    log-softmax itself).

    Args:
        num_classes: number of output logits.
        in_channels: input channels.
        image_size: side of the square the input is resized to (>= 4).
        hidden: width of the hidden fully connected layer.
        dropout: dropout probability before the last layer, in ``[0, 1)`` (no parameters; default off).

    Raises:
        ValueError: for a wrong parameter.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 1,
        image_size: int = 100,
        hidden: int = 512,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.image_size = check_positive_int("image_size", image_size)
        if self.image_size < 4:
            raise ValueError(f"image_size must be at least 4 (two 2x2 poolings), got {image_size!r}")
        self.hidden = check_positive_int("hidden", hidden)
        self.meta_layer1 = nn.Sequential(
            nn.Conv2d(self.in_channels, 16, kernel_size=5, stride=1, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.meta_layer2 = nn.Sequential(
            nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.fc_layer1 = nn.Linear(32 * (self.image_size // 4) ** 2, self.hidden)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(check_probability("dropout", dropout))
        self.fc_layer2 = nn.Linear(self.hidden, self.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, in_channels, H, W)`` to logits ``(B, num_classes)``."""
        size = (self.image_size, self.image_size)
        if tuple(x.shape[-2:]) != size:
            x = functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
        x = self.meta_layer2(self.meta_layer1(x))
        x = self.relu(self.fc_layer1(torch.flatten(x, 1)))
        return self.fc_layer2(self.dropout(x))
