"""DEGram (DEGramNet's front-end): STFT power -> SincGram -> log -> TF attention -> z-score."""

from __future__ import annotations

import torch
from torch import nn

from .._validation import (
    check_choice,
    check_flag,
    check_frequency_range,
    check_positive_int,
    check_positive_number,
)
from ..kernels.butterworth import BUTTERWORTH_INITS, check_order
from ..kernels.windows import WindowSpec
from ._device import built_on_default_device, reset_to_initial
from ._flags import delegated_flag
from .attention import COMBINES, TFAttention, check_reduction
from .normalization import NORM_MODES, SpectrogramNorm
from .registry import register_frontend
from .sincgram import SincGram
from .stft import STFT


@register_frontend("degram")
class DEGram(nn.Module):
    """DEGram ``(..., time) -> (..., n_filters, frames)`` (real), each stage switchable.

    ``x -> STFT power (n_fft // 2 + 1 bins) -> SincGram (n_filters Butterworth bands) -> log(x + log_eps)
    -> TFAttention (per-band and per-frame gates) -> SpectrogramNorm (z-score)``. With ``sincgram=False``
    the power spectrogram goes straight to the log (and the output has ``n_fft // 2 + 1`` bands);
    ``attention=False`` / ``normalization=False`` skip those stages. The sub-modules are ``stft``,
    ``sincgram``, ``attention`` and ``normalization`` (``None`` when switched off). The attention
    parameters are always trained; ``learn_window`` / ``learn_kernels`` go to the STFT and
    ``learn_filters`` to the SincGram, and all three may be flipped after construction.

    Args:
        sample_rate: sampling rate in Hz.
        n_fft, win_length, hop_length, window, center, pad_mode, normalized: as :class:`STFT`.
        n_filters: number of SincGram filters (any positive integer).
        f_min, f_max, order, init: as :class:`SincGram`.
        sincgram: apply the SincGram filterbank.
        attention: apply :class:`TFAttention` (with ``combine`` and ``reduction``).
        normalization: apply :class:`SpectrogramNorm` (with ``norm_mode``).
        combine: how the attention gates are merged: ``"sum"``, ``"product"`` or ``"max"``.
        reduction: SE reduction ratio of the per-band gate (> 0).
        norm_mode: ``"frequency"`` (per-band z-score over time) or ``"example"``.
        log_eps: positive offset inside the logarithm, ``log(x + log_eps)``; keeps silence finite.
        learn_window, learn_kernels: as :class:`STFT`.
        learn_filters: train the SincGram centres and bandwidths (ignored with ``sincgram=False``).
        dtype: parameter dtype.
    """

    learn_window = delegated_flag("stft", "learn_window")
    learn_kernels = delegated_flag("stft", "learn_kernels")

    @built_on_default_device
    def __init__(
        self,
        sample_rate: float = 16000.0,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        window: WindowSpec = "hann",
        center: bool = True,
        pad_mode: str = "reflect",
        normalized: bool | str = False,
        n_filters: int = 64,
        f_min: float = 0.0,
        f_max: float | None = None,
        order: float = 4,
        init: str = "mel",
        sincgram: bool = True,
        attention: bool = True,
        normalization: bool = True,
        combine: str = "sum",
        reduction: float = 16,
        norm_mode: str = "frequency",
        log_eps: float = 1e-6,
        learn_window: bool = False,
        learn_kernels: bool = False,
        learn_filters: bool = True,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        # Checked whatever the switches, so a config is valid or not independently of them.
        n_filters = check_positive_int("n_filters", n_filters)
        check_order(order)
        check_choice("init", init, BUTTERWORTH_INITS)
        check_frequency_range(f_min, f_max, sample_rate)
        check_choice("combine", combine, COMBINES)
        check_choice("norm_mode", norm_mode, NORM_MODES)
        check_reduction(reduction)
        self.log_eps = check_positive_number("log_eps", log_eps, meaning=" (log(x + log_eps))")
        sincgram, attention = check_flag("sincgram", sincgram), check_flag("attention", attention)
        normalization = check_flag("normalization", normalization)
        learn_filters = check_flag("learn_filters", learn_filters)
        self.sample_rate = float(sample_rate)
        self.stft = STFT(
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            window=window,
            center=center,
            pad_mode=pad_mode,
            normalized=normalized,
            output="power",
            sample_rate=sample_rate,
            learn_window=learn_window,
            learn_kernels=learn_kernels,
            dtype=dtype,
        )
        self.sincgram: SincGram | None = None
        if sincgram:
            self.sincgram = SincGram(
                n_filters=n_filters,
                sample_rate=sample_rate,
                n_fft=n_fft,
                f_min=f_min,
                f_max=f_max,
                order=order,
                init=init,
                learn_filters=learn_filters,
                dtype=dtype,
            )
        self.n_freq = n_filters if sincgram else self.stft.n_bins
        self.attention: TFAttention | None = None
        if attention:
            self.attention = TFAttention(self.n_freq, reduction=reduction, combine=combine, dtype=dtype)
        self.normalization = SpectrogramNorm(norm_mode) if normalization else None

    @property
    def learn_filters(self) -> bool:
        """Whether the SincGram centres and bandwidths are trained (``False`` without a SincGram)."""
        return self.sincgram is not None and self.sincgram.learn_filters

    @learn_filters.setter
    def learn_filters(self, value: bool) -> None:
        value = check_flag("learn_filters", value)
        if self.sincgram is not None:
            self.sincgram.learn_filters = value
        elif value:
            raise ValueError("learn_filters=True needs the SincGram (sincgram=True); this DEGram has none")

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Transform ``(..., time)`` signals into ``(..., n_freq, frames)`` DEGrams (float32 under
        ``torch.autocast``)."""
        spectrogram = self.stft(waveform)
        if self.sincgram is not None:
            spectrogram = self.sincgram(spectrogram)
        features = torch.log(spectrogram + self.log_eps)
        if self.attention is not None:
            shape = features.shape
            features = self.attention(features.reshape(-1, *shape[-2:])).reshape(shape)
        if self.normalization is not None:
            features = self.normalization(features)
        return features

    def reset_parameters(self) -> None:
        """Give every part its initial values again (the attention's layers drawn anew, as ``nn.Linear`` does)
        (PyTorch's convention, e.g. for FSDP's initialisation of a model built on the meta device and
        materialised with ``to_empty``)."""
        reset_to_initial(self)

    def extra_repr(self) -> str:
        return f"sample_rate={self.sample_rate:g}, n_freq={self.n_freq}, log_eps={self.log_eps:g}"
