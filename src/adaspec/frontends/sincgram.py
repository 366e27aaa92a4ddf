"""SincGram: a bank of Butterworth band-passes with learnable centres and bandwidths (DEGramNet)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_choice, check_dtype, check_flag, check_frequency_range, check_positive_int
from ..kernels.butterworth import BUTTERWORTH_INITS, butterworth_centres, butterworth_filterbank, check_order
from ._device import built_on_default_device, reset_to_initial
from ._spectrogram import autocast_off, check_spectrogram, promoted_under_autocast
from ._tables import DerivedTables, rebuild_meta_tables

#: Centres live in ``[MARGIN, 1 - MARGIN] x Nyquist``: strictly inside ``(0, Nyquist)`` even in float32,
#: where the sigmoid rounds to exactly 0 or 1 once saturated.
CENTRE_MARGIN = 1e-6
#: Smallest bandwidth, as a fraction of Nyquist (keeps ``b > 0`` when the softplus underflows).
MIN_BANDWIDTH = 1e-6
#: How far inside their ranges initial values beyond them start (relative).
_INSIDE = 1e-6


class SincGram(DerivedTables):
    """Butterworth filterbank ``(..., n_fft // 2 + 1, frames) -> (..., n_filters, frames)`` (a power
    spectrogram in, band energies out).

    Filter ``k`` weighs bin frequency ``f`` by ``1 / sqrt(1 + ((f - c_k) / b_k) ** (2 * order))``. The
    centres ``c`` and bandwidths ``b`` (Hz) are reparameterised so any parameter value is valid::

        c = nyquist * (MARGIN + (1 - 2 MARGIN) * sigmoid(centre_logits))    # 0 < c < nyquist
        b = nyquist * (softplus(bandwidth_logits) + MIN_BANDWIDTH)           # b > 0

    ``MARGIN = MIN_BANDWIDTH = 1e-6``. The logits are initialised from :func:`butterworth_centres` (in
    float64) so ``c`` and ``b`` equal the closed form up to the parameter dtype's rounding. Working in units
    of Nyquist keeps the logits of order one; narrow bands (``b << nyquist``) have ``softplus(v) ~ exp(v)``,
    so steps act on the bandwidth's logarithm. The filter matrix is rebuilt from ``(c, b)`` once per
    forward and applied as one matrix product.

    Args:
        n_filters: number of filters (any positive integer).
        sample_rate: sampling rate in Hz.
        n_fft: FFT size of the spectrogram (its ``n_fft // 2 + 1`` bins).
        f_min: lowest initialisation point in Hz.
        f_max: highest initialisation point in Hz (default Nyquist).
        order: Butterworth order (a number >= 1; DEGramNet uses 4).
        init: ``"mel"`` (HTK mel spacing) or ``"linear"`` (Hz spacing) of the initial centres.
        learn_filters: train the centres and bandwidths.
        dtype: parameter dtype.
    """

    @built_on_default_device
    def __init__(
        self,
        n_filters: int = 64,
        sample_rate: float = 16000.0,
        n_fft: int = 512,
        f_min: float = 0.0,
        f_max: float | None = None,
        order: float = 4,
        init: str = "mel",
        learn_filters: bool = True,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.n_filters = check_positive_int("n_filters", n_filters)
        self.n_fft = check_positive_int("n_fft", n_fft)
        self.order = check_order(order)
        self.init = check_choice("init", init, BUTTERWORTH_INITS)
        self.f_min, self.f_max = check_frequency_range(f_min, f_max, sample_rate)
        self.sample_rate = float(sample_rate)
        self.nyquist = self.sample_rate / 2.0
        dtype = check_dtype(dtype)
        centres, bandwidths = butterworth_centres(self.n_filters, self.f_min, self.f_max, self.init)
        # Closed-form values beyond the reparameterisation's range (centres within CENTRE_MARGIN of 0 or
        # Nyquist, bandwidths under MIN_BANDWIDTH: many filters in a narrow range) start just inside it, so
        # that the logits are finite (they were NaN: log of a negative number).
        unit = (centres / self.nyquist - CENTRE_MARGIN) / (1.0 - 2.0 * CENTRE_MARGIN)
        unit = np.clip(unit, _INSIDE, 1.0 - _INSIDE)
        self.centre_logits = nn.Parameter(torch.from_numpy(np.log(unit) - np.log1p(-unit)).to(dtype))
        excess = np.maximum(bandwidths / self.nyquist - MIN_BANDWIDTH, _INSIDE * MIN_BANDWIDTH)
        self.bandwidth_logits = nn.Parameter(torch.from_numpy(_inverse_softplus(excess)).to(dtype))
        frequencies = self._derived_tables()["frequencies"]
        self.register_buffer("frequencies", frequencies.to(dtype), persistent=False)
        self.learn_filters = learn_filters

    def _derived_tables(self) -> dict[str, torch.Tensor]:
        """The non-persistent ``frequencies`` buffer (the spectrogram bins' frequencies in Hz, float64),
        built anew from the constructor settings where it must be rebuilt (see
        :class:`~adaspec.frontends._tables.DerivedTables`)."""
        return {"frequencies": torch.from_numpy(np.fft.rfftfreq(self.n_fft, 1.0 / self.sample_rate))}

    def reset_parameters(self) -> None:
        """Give the centres and bandwidths their initial values again and rebuild ``frequencies``
        (PyTorch's convention, e.g. for FSDP's initialisation of a model built on the meta device and
        materialised with ``to_empty``)."""
        reset_to_initial(self)
        rebuild_meta_tables(self, None)

    @property
    def learn_filters(self) -> bool:
        """Whether the centres and bandwidths are trained."""
        return self.centre_logits.requires_grad

    @learn_filters.setter
    def learn_filters(self, value: bool) -> None:
        flag = check_flag("learn_filters", value)
        self.centre_logits.requires_grad_(flag)
        self.bandwidth_logits.requires_grad_(flag)

    @property
    def n_bins(self) -> int:
        """Number of spectrogram bins the filters expect."""
        return self.n_fft // 2 + 1

    @property
    def centres(self) -> torch.Tensor:
        """Centre frequencies in Hz, strictly inside ``(0, nyquist)`` (differentiable)."""
        unit = CENTRE_MARGIN + (1.0 - 2.0 * CENTRE_MARGIN) * torch.sigmoid(self.centre_logits)
        return self.nyquist * unit

    @property
    def bandwidths(self) -> torch.Tensor:
        """Half-power half-widths in Hz, strictly positive (differentiable)."""
        return self.nyquist * (F.softplus(self.bandwidth_logits) + MIN_BANDWIDTH)

    def filterbank(self) -> torch.Tensor:
        """The ``(n_bins, n_filters)`` filter matrix for the current parameters (differentiable)."""
        return butterworth_filterbank(self.frequencies, self.centres, self.bandwidths, self.order)

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """Filter ``(..., n_bins, frames)`` power spectrograms into ``(..., n_filters, frames)``.

        Under ``torch.autocast`` the product runs in float32 (a half-precision input is promoted) and
        returns float32; outside it the input's dtype is kept."""
        check_spectrogram(spectrogram)
        if spectrogram.ndim < 2 or spectrogram.shape[-2] != self.n_bins:
            raise ValueError(
                f"spectrogram must have shape (..., {self.n_bins}, frames) (n_fft={self.n_fft}), "
                f"got {tuple(spectrogram.shape)}"
            )
        spectrogram = promoted_under_autocast(spectrogram)
        with autocast_off(spectrogram):
            weights = self.filterbank().to(spectrogram.dtype)
            # (n_filters, bins) @ (..., bins, frames): a batched GEMM whose output is contiguous in
            # (..., n_filters, frames), so the elementwise stages after it (log, attention, z-score) and
            # their gradients run on one memory layout (mixed layouts make them several times slower).
            return torch.matmul(weights.transpose(0, 1), spectrogram)

    def extra_repr(self) -> str:
        return (
            f"n_filters={self.n_filters}, sample_rate={self.sample_rate:g}, n_fft={self.n_fft}, "
            f"f_min={self.f_min:g}, f_max={self.f_max:g}, order={self.order:g}, init={self.init!r}, "
            f"learn_filters={self.learn_filters}"
        )


def _inverse_softplus(values: np.ndarray) -> np.ndarray:
    """``log(exp(x) - 1)`` without overflow for large ``x`` (float64)."""
    return values + np.log(-np.expm1(-values))
