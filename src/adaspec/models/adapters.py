"""Channel adapters: a front-end's ``(B, F, T)`` output (or a waveform) to a backbone's ``(B, C, F, T)``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_choice, check_positive_int

ADAPTERS = ("repeat", "stem", "per_channel")
_CHANNELS = {"repeat": 3, "stem": 1, "per_channel": 3}


def adapter_channels(name: str) -> int:
    """Channels the adapter ``name`` produces (the backbone's ``in_channels``): 3, 1 or 3.

    Raises:
        ValueError: for a name not in :data:`ADAPTERS`.
    """
    return _CHANNELS[check_choice("adapter", name, ADAPTERS)]


def _check_spectrogram(spectrogram: torch.Tensor) -> None:
    if spectrogram.ndim != 3:
        raise ValueError(
            f"spectrogram must have shape (batch, freq, frames), got shape {tuple(spectrogram.shape)}"
        )


class RepeatChannels(nn.Module):
    """``(B, F, T) -> (B, channels, F, T)`` by repeating the spectrogram (Ada-STFT's ``monochrome2RGB``).

    The result is an ``expand``-ed view (no copy); backbones do not write into their input.

    Args:
        channels: number of copies (3 for an ImageNet-shaped backbone).

    Raises:
        ValueError: for a non-positive ``channels``.
    """

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.channels = check_positive_int("channels", channels)

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """Repeat ``(B, F, T)`` into ``(B, channels, F, T)``."""
        _check_spectrogram(spectrogram)
        batch, freq, frames = spectrogram.shape
        return spectrogram.unsqueeze(1).expand(batch, self.channels, freq, frames)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class SingleChannel(nn.Module):
    """``(B, F, T) -> (B, 1, F, T)``: for a backbone built with ``in_channels=1``."""

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """Add a channel dimension of size 1."""
        _check_spectrogram(spectrogram)
        return spectrogram.unsqueeze(1)


def stack_channels(spectrograms: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack ``(B, F, T)`` spectrograms of equal shape into ``(B, len(spectrograms), F, T)``.

    Raises:
        ValueError: when a spectrogram is not 3-D or the shapes differ.
    """
    for spectrogram in spectrograms:
        _check_spectrogram(spectrogram)
    first = spectrograms[0].shape
    # Compared pairwise, not through a set: under torch.export a dynamic batch size is an unhashable SymInt.
    if any(spectrogram.shape != first for spectrogram in spectrograms[1:]):
        shapes = [tuple(spectrogram.shape) for spectrogram in spectrograms]
        raise ValueError(f"per-channel front-ends must produce equal shapes, got {shapes}")
    return torch.stack(list(spectrograms), dim=1)


def check_frontends(frontends: Sequence[nn.Module], count: int | None = None) -> list[nn.Module]:
    """Return ``frontends`` as a list after checking it is a sequence of (``count``) modules.

    Raises:
        ValueError: naming ``frontend`` when it is not such a sequence.
    """
    if isinstance(frontends, nn.Module) and not isinstance(frontends, nn.ModuleList):
        raise ValueError(f"frontend must be a sequence of modules, got a single {type(frontends).__name__}")
    if not isinstance(frontends, (Sequence, nn.ModuleList)):
        raise ValueError(f"frontend must be a sequence of modules, got {type(frontends).__name__}")
    modules = list(frontends)
    if not modules or not all(isinstance(m, nn.Module) for m in modules):
        raise ValueError(f"frontend must be a non-empty sequence of nn.Module, got {modules!r}")
    if count is not None and len(modules) != count:
        raise ValueError(f"frontend must be a sequence of {count} modules, got {len(modules)}")
    return modules


class PerChannelFrontends(nn.Module):
    """Waveform ``(B, L) -> (B, len(frontends), F, T)``: one independent front-end per channel
    (Ada-STFT's "3 parallel STFT layers", one per ResNet input channel).

    Args:
        frontends: modules mapping ``(B, L)`` to ``(B, F, T)`` with equal output shapes (typically 3).
        post: module applied to each front-end output before stacking (e.g. :class:`Compression`).

    Raises:
        ValueError: when ``frontends`` is not a non-empty sequence of modules.
    """

    def __init__(self, frontends: Sequence[nn.Module], post: nn.Module | None = None) -> None:
        super().__init__()
        self.frontends = nn.ModuleList(check_frontends(frontends))
        if post is not None and not isinstance(post, nn.Module):
            raise ValueError(f"post must be an nn.Module or None, got {type(post).__name__}")
        self.post = post

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Apply every front-end (and ``post``) to ``waveform`` and stack the results as channels."""
        outputs = [frontend(waveform) for frontend in self.frontends]
        if self.post is not None:
            outputs = [self.post(output) for output in outputs]
        return stack_channels(outputs)
