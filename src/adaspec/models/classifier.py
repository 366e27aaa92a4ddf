"""Classifier: waveform -> front-end(s) -> compression -> adapter -> input norm -> masking -> backbone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from .._validation import check_choice, check_flag
from .adapters import (
    ADAPTERS,
    RepeatChannels,
    SingleChannel,
    adapter_channels,
    check_frontends,
    stack_channels,
)
from .compression import COMPRESSIONS, Compression


class Classifier(nn.Module):
    """Audio classifier ``(B, L)`` waveforms -> ``(B, n_classes)`` logits around a time-frequency front-end.

    Pipeline: front-end(s) ``(B, F, T)`` -> :class:`Compression` -> adapter ``(B, C, F, T)`` -> optional
    ``BatchNorm2d(C)`` -> optional masking (training only) -> backbone. The adapter is ``"repeat"`` (one
    front-end, its output copied to 3 channels), ``"stem"`` (one front-end, 1 channel) or
    ``"per_channel"`` (3 independent front-ends, one per channel, each applied to the waveform).

    The input normalisation is an affine ``BatchNorm2d``: it standardises the compressed values (dB
    spectrograms sit around -40 dB with a spread of tens of dB, far from what a backbone's initialisation
    expects) with running statistics, and its learnable scale and shift let the network choose its own
    range, so the choice of dB/log multiplier does not matter.

    Args:
        frontend: one module mapping ``(B, L)`` to ``(B, F, T)``; for ``adapter="per_channel"`` a sequence
            of 3 such modules with equal output shapes.
        backbone: module mapping ``(B, C, F, T)`` to logits, ``C = adapter_channels(adapter)``.
        adapter: ``"repeat"``, ``"stem"`` or ``"per_channel"``.
        compression: ``"db"``, ``"log"`` or ``"none"`` (see :class:`Compression`).
        power: whether the front-end outputs power rather than magnitude (``"db"`` uses 10 instead of 20).
        input_norm: insert ``BatchNorm2d(C)`` before the backbone.
        masking: e.g. :class:`SpecMasking`, applied in training mode only; ``None`` for none.

    Raises:
        ValueError: for an unknown adapter or compression, a ``power`` or ``input_norm`` that is not
            ``True`` or ``False``, a front-end count that does not fit the adapter, or a backbone whose
            ``in_channels`` differs from the adapter's channels.
    """

    def __init__(
        self,
        frontend: nn.Module | Sequence[nn.Module],
        backbone: nn.Module,
        adapter: str = "repeat",
        compression: str = "db",
        power: bool = False,
        input_norm: bool = True,
        masking: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.adapter_name = check_choice("adapter", adapter, ADAPTERS)
        channels = adapter_channels(adapter)
        if adapter == "per_channel":
            frontends = check_frontends(frontend, count=channels)
        elif isinstance(frontend, nn.Module) and not isinstance(frontend, nn.ModuleList):
            frontends = [frontend]
        else:
            raise ValueError(
                f"frontend must be a single nn.Module for adapter={adapter!r} "
                f"(a sequence of front-ends needs adapter='per_channel'), got {type(frontend).__name__}"
            )
        if not isinstance(backbone, nn.Module):
            raise ValueError(f"backbone must be an nn.Module, got {type(backbone).__name__}")
        backbone_channels = getattr(backbone, "in_channels", channels)
        if backbone_channels != channels:
            raise ValueError(
                f"backbone in_channels must be {channels} for adapter={adapter!r}, got {backbone_channels!r}"
            )
        if masking is not None and not isinstance(masking, nn.Module):
            raise ValueError(f"masking must be an nn.Module or None, got {type(masking).__name__}")
        self.frontends = nn.ModuleList(frontends)
        self.compression = Compression(
            check_choice("compression", compression, COMPRESSIONS), power=check_flag("power", power)
        )
        # per_channel has no spectrogram adapter: its front-ends' outputs are stacked in features()
        self.adapter = {"repeat": RepeatChannels(channels), "stem": SingleChannel()}.get(adapter)
        self.input_norm = nn.BatchNorm2d(channels) if check_flag("input_norm", input_norm) else None
        self.masking = masking
        self.backbone = backbone

    @property
    def frontend(self) -> nn.Module:
        """The first (for ``"repeat"`` and ``"stem"`` the only) front-end."""
        return self.frontends[0]

    @property
    def in_channels(self) -> int:
        """Channels of the backbone input."""
        return adapter_channels(self.adapter_name)

    def frontend_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the front-end(s) (trainable or not), e.g. for their own learning rate."""
        return self.frontends.parameters()

    def backbone_parameters(self) -> Iterator[nn.Parameter]:
        """Every other parameter: input normalisation, masking (if any) and backbone."""
        frontend_ids = {id(p) for p in self.frontend_parameters()}
        return (p for p in self.parameters() if id(p) not in frontend_ids)

    def features(self, waveform: torch.Tensor) -> torch.Tensor:
        """The backbone input ``(B, C, F, T)`` before masking (after adapter and input normalisation).

        In training mode this updates the input normalisation's running statistics, like ``forward``.

        Raises:
            ValueError: when ``waveform`` is not ``(batch, time)``.
        """
        if waveform.ndim != 2:
            raise ValueError(f"waveform must have shape (batch, time), got shape {tuple(waveform.shape)}")
        dtype = self._backbone_dtype()
        # Front-ends return float32 for half-precision input (and compression is computed in float32):
        # the backbone's dtype is the network's (e.g. bfloat16 under Lightning's "bf16-true").
        spectrograms = [self.compression(frontend(waveform)).to(dtype) for frontend in self.frontends]
        if self.adapter is None:  # per_channel: one front-end per channel
            return self._normalise(stack_channels(spectrograms))
        return self._normalise(self.adapter(spectrograms[0]))

    def _backbone_dtype(self) -> torch.dtype:
        """The dtype of the first floating-point parameter after the front-ends (float32 if none)."""
        for module in (self.input_norm, self.backbone):
            for parameter in module.parameters() if module is not None else ():
                if parameter.is_floating_point():
                    return parameter.dtype
        return torch.float32

    def _normalise(self, channels: torch.Tensor) -> torch.Tensor:
        return channels if self.input_norm is None else self.input_norm(channels)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, n_classes)`` for waveforms ``(B, L)``."""
        channels = self.features(waveform)
        if self.masking is not None and self.training:
            channels = self.masking(channels)
        return self.backbone(channels)
