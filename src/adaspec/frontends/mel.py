"""Mel spectrogram: an STFT followed by a (learnable) triangular mel filterbank."""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_choice, check_dtype, check_frequency_range, check_positive_number
from ..kernels import mel_filterbank
from ..kernels.mel import MEL_NORMS, MEL_SCALES
from ..kernels.windows import WindowSpec
from ._device import built_on_default_device, reset_to_initial
from ._flags import delegated_flag, parameter_flag
from ._spectrogram import autocast_off, promoted_under_autocast
from .registry import register_frontend
from .stft import STFT


@register_frontend("mel")
class MelSpectrogram(nn.Module):
    """Mel-frequency spectrogram ``(..., time) -> (..., n_mels, frames)``.

    Equal to ``librosa.feature.melspectrogram`` for the same parameters. The window and Fourier kernels
    (``learn_window``, ``learn_kernels``) and the filterbank (``learn_filters``) can be trained; all three
    flags may be flipped after construction. ``n_mels=None`` skips the filterbank and returns the linear
    spectrogram (Ada-STFT's ``num_mels=None``).

    Args:
        sample_rate: sampling rate in Hz.
        n_fft, win_length, hop_length, window, center, pad_mode, normalized: as :class:`STFT`.
        f_min: lowest mel band edge in Hz.
        f_max: highest mel band edge in Hz (default Nyquist).
        n_mels: number of mel bands, or ``None`` for no filterbank.
        power: exponent of the magnitude (2 = power, 1 = magnitude, any positive value).
        norm: ``None`` or ``"slaney"`` (area normalisation of each triangle).
        mel_scale: ``"htk"`` or ``"slaney"``.
        learn_window, learn_kernels: as :class:`STFT`.
        learn_filters: train the filterbank matrix.
        dtype: parameter dtype.
    """

    learn_window = delegated_flag("stft", "learn_window")
    learn_kernels = delegated_flag("stft", "learn_kernels")

    @built_on_default_device
    def __init__(
        self,
        sample_rate: float = 16000.0,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_mels: int | None = 128,
        window: WindowSpec = "hann",
        power: float = 2.0,
        normalized: bool | str = False,
        center: bool = True,
        pad_mode: str = "reflect",
        norm: str | None = None,
        mel_scale: str = "htk",
        learn_window: bool = False,
        learn_kernels: bool = False,
        learn_filters: bool = False,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.power = check_positive_number("power", power, meaning=" (2 = power, 1 = magnitude)")
        self.stft = STFT(
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            window=window,
            center=center,
            pad_mode=pad_mode,
            normalized=normalized,
            output="power" if self.power == 2.0 else "magnitude",
            sample_rate=sample_rate,
            learn_window=learn_window,
            learn_kernels=learn_kernels,
            dtype=dtype,
        )
        self.sample_rate = float(sample_rate)
        self.n_mels = n_mels
        # Checked whatever n_mels is (an unused argument with a bad value is still a mistake).
        self.mel_scale = check_choice("mel_scale", mel_scale, MEL_SCALES)
        self.norm = check_choice("norm", norm, MEL_NORMS)
        self.f_min, self.f_max = check_frequency_range(f_min, f_max, sample_rate)
        if n_mels is None:
            self.filters = nn.Parameter(torch.empty(0, dtype=check_dtype(dtype)))
        else:
            self.filters = nn.Parameter(
                mel_filterbank(
                    n_fft,
                    sample_rate,
                    n_mels,
                    f_min=f_min,
                    f_max=f_max,
                    mel_scale=mel_scale,
                    norm=norm,
                    dtype=dtype,
                )
            )
        self.learn_filters = learn_filters

    learn_filters = parameter_flag("filters")

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Transform ``(..., time)`` signals into ``(..., n_mels, frames)`` mel spectrograms (float32 under
        ``torch.autocast``)."""
        spectrogram = self.stft(waveform)
        if self.power not in (1.0, 2.0):
            spectrogram = spectrogram.pow(self.power)
        if self.n_mels is None:
            return spectrogram
        # Under autocast the filter product stays in float32, like the STFT's result (see
        # _spectrogram.promoted_under_autocast); bf16 would round the powers to 3 significant digits.
        spectrogram = promoted_under_autocast(spectrogram)
        with autocast_off(spectrogram):
            filters = self.filters.to(spectrogram.dtype)
            # (..., frames, freq) @ (freq, n_mels): one GEMM over all frames of the batch.
            return torch.matmul(spectrogram.transpose(-1, -2), filters.transpose(0, 1)).transpose(-1, -2)

    def reset_parameters(self) -> None:
        """Give the STFT and the mel filters their initial values again (PyTorch's convention, e.g. for FSDP's
        initialisation of a model built on the meta device and materialised with ``to_empty``)."""
        reset_to_initial(self)

    def extra_repr(self) -> str:
        return (
            f"sample_rate={self.sample_rate:g}, n_mels={self.n_mels}, f_min={self.f_min:g}, "
            f"f_max={self.f_max:g}, mel_scale={self.mel_scale!r}, norm={self.norm!r}, power={self.power:g}, "
            f"learn_filters={self.learn_filters}"
        )
