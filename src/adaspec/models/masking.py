"""SpecAugment-style time and frequency masking, vectorised over the batch."""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_choice, check_non_negative_int

FILLS = ("mean", "zero")


def axis_masks(batch: int, size: int, max_width: int, count: int) -> torch.Tensor:
    """Boolean ``(batch, size)``: the union of ``count`` random intervals per row.

    Each interval has a width drawn uniformly from ``0 .. min(max_width, size)`` and a start drawn
    uniformly from the positions where it fits. Drawn on the CPU from torch's global generator, so
    ``torch.manual_seed`` reproduces the masks on any device.
    """
    if count == 0 or max_width == 0 or size == 0:
        return torch.zeros(batch, size, dtype=torch.bool)
    widths = torch.randint(0, min(max_width, size) + 1, (batch, count))
    starts = (torch.rand(batch, count, dtype=torch.float64) * (size - widths + 1)).floor().long()
    positions = torch.arange(size)
    inside = (positions >= starts[..., None]) & (positions < (starts + widths)[..., None])
    return inside.any(dim=1)


class SpecMasking(nn.Module):
    """Mask random frequency bands and time spans of ``(B, C, F, T)`` or ``(B, F, T)`` while training.

    Every example gets its own masks (``freq_masks`` bands of up to ``freq_mask_width`` bins and
    ``time_masks`` spans of up to ``time_mask_width`` frames; widths uniform in ``[0, max]``, starts
    uniform), shared by all channels of that example. Masked values are replaced by the mean of that
    example's channel (``fill="mean"``, the SpecAugment choice, right whatever the offset of the values,
    e.g. un-normalised dB) or by 0 (``fill="zero"``). In eval mode, or when both widths (or both counts)
    are 0, the input is returned unchanged. Randomness comes from torch's global generator.

    Args:
        time_mask_width: largest time-mask width in frames (>= 0).
        freq_mask_width: largest frequency-mask width in bins (>= 0).
        time_masks: number of time masks per example (>= 0).
        freq_masks: number of frequency masks per example (>= 0).
        fill: ``"mean"`` or ``"zero"``.

    Raises:
        ValueError: for a negative or non-integer width or count, or an unknown ``fill``.
    """

    def __init__(
        self,
        time_mask_width: int,
        freq_mask_width: int,
        time_masks: int = 1,
        freq_masks: int = 1,
        fill: str = "mean",
    ) -> None:
        super().__init__()
        self.time_mask_width = check_non_negative_int("time_mask_width", time_mask_width)
        self.freq_mask_width = check_non_negative_int("freq_mask_width", freq_mask_width)
        self.time_masks = check_non_negative_int("time_masks", time_masks)
        self.freq_masks = check_non_negative_int("freq_masks", freq_masks)
        self.fill = check_choice("fill", fill, FILLS)

    def is_identity(self) -> bool:
        """Whether no mask can ever be drawn (every width or every count is 0)."""
        return self.time_mask_width * self.time_masks == 0 and self.freq_mask_width * self.freq_masks == 0

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """Return a masked copy in training mode, ``spectrogram`` itself otherwise."""
        if spectrogram.ndim not in (3, 4):
            raise ValueError(
                "spectrogram must have shape (batch, freq, frames) or (batch, channels, freq, frames), "
                f"got shape {tuple(spectrogram.shape)}"
            )
        if not self.training or self.is_identity():
            return spectrogram
        batch, freq, frames = spectrogram.shape[0], spectrogram.shape[-2], spectrogram.shape[-1]
        freq_mask = axis_masks(batch, freq, self.freq_mask_width, self.freq_masks)
        time_mask = axis_masks(batch, frames, self.time_mask_width, self.time_masks)
        mask = (freq_mask[:, :, None] | time_mask[:, None, :]).to(spectrogram.device)
        if spectrogram.ndim == 4:
            mask = mask[:, None]
        if self.fill == "mean":
            fill = spectrogram.mean(dim=(-2, -1), keepdim=True)
        else:
            fill = spectrogram.new_zeros(())
        return torch.where(mask, fill, spectrogram)

    def extra_repr(self) -> str:
        return (
            f"time_mask_width={self.time_mask_width}, freq_mask_width={self.freq_mask_width}, "
            f"time_masks={self.time_masks}, freq_masks={self.freq_masks}, fill={self.fill!r}"
        )
