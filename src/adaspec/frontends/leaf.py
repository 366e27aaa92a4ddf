"""LEAF: learnable Gabor filterbank, Gaussian low-pass pooling and PCEN on the waveform."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .._validation import (
    check_dtype,
    check_flag,
    check_frequency_range,
    check_kwargs,
    check_positive_int,
    check_positive_number,
    is_real_number,
)
from ..kernels.gabor import (
    gabor_impulse_responses,
    gabor_width_bounds,
    mel_gabor_parameters,
    pooling_width_bounds,
)
from ..ops._tracing import is_exporting, is_tracing
from ..ops.gabor import gabor_pooled_energy
from ..ops.gabor_plan import filter_values
from ._device import built_on_default_device, reset_to_initial
from ._flags import delegated_flag, parameter_flag
from ._waveform import check_waveform, over_signals
from .pcen import PCEN
from .registry import register_frontend

#: LEAF's PCEN: alpha 0.96, delta 2, root 2 (r = 0.5), smoothing 0.04, floor 1e-12, per channel,
#: smoother started at the first frame.
LEAF_PCEN = {"alpha": 0.96, "delta": 2.0, "r": 0.5, "s": 0.04, "eps": 1e-12, "initial_state": "first_frame"}
_MIN_WINDOW = 5  # samples: below this LEAF's width ranges are empty


def _refresh_plan(module: LEAF, incompatible_keys: object) -> None:
    """``load_state_dict`` post-hook (a module-level function, so that the module still pickles)."""
    module.refresh_plan()


@register_frontend("leaf")
class LEAF(nn.Module):
    """LEAF (Zeghidour et al., 2021) ``(..., time) -> (..., n_filters, frames)``.

    Complex Gabor filters on the waveform (learnable centre and width, mel-initialised) -> squared
    modulus -> Gaussian low-pass pooling per channel every ``hop_length`` samples (learnable width) ->
    PCEN (learnable ``alpha, delta, r, s`` per channel). Frame ``t`` is centred on sample
    ``t * hop_length`` (``1 + time // hop_length`` frames, as torchaudio with ``center=True``); the
    signal is zero outside its samples, and the pooling takes the filter outputs wherever they are not
    zero, their ringing just beyond the signal's ends included. (LEAF's "same" convolutions keep only
    the outputs at the signal's samples, so its first and last frames hold a few percent less energy.)

    Parameters are reparameterised to stay in LEAF's ranges without clamping: centre
    ``pi * sigmoid(center_logits)`` radians per sample (0 to Nyquist), Gabor width
    ``lo + (hi - lo) * sigmoid(width_logits)`` with LEAF's ``[4, window_length] * sqrt(2 ln 2) / pi``
    samples, pooling width ``(lo + (0.5 - lo) * sigmoid(pooling_logits)) * (window_length - 1) / 2``
    samples with ``lo = 2 / window_length``.

    Difference from LEAF: the Gaussians (Gabor envelope and pooling window) are not cut at
    ``window_length`` taps. The module filters in the frequency domain, band by band (see
    :mod:`adaspec.ops.gabor`), where an untruncated Gabor filter is exactly a Gaussian bump; that is what
    makes it fast, and it avoids the spectral side lobes that cutting the widest initial filters at about
    2.4 standard deviations gives LEAF's 401-tap convolutions. ``window_length`` still sets the width
    ranges and the pooling scale, as in LEAF.

    Second-order gradients (``torch.autograd.grad(..., create_graph=True)`` then another backward:
    gradient penalties, MAML) work in the waveform and every parameter; a backward with
    ``create_graph=True`` takes the band op's slower differentiable path (see :mod:`adaspec.ops.gabor`).

    Args:
        sample_rate: sampling rate in Hz.
        n_filters: number of Gabor filters (output channels).
        window_len_ms: LEAF's filter / pooling window length in ms; ``window_length`` is
            ``int(sample_rate * window_len_ms / 1000) + 1`` samples (401 at 16 kHz and 25 ms).
        hop_length: samples between frames (default 10 ms: ``round(sample_rate / 100)``).
        f_min: lowest mel band edge of the initialisation in Hz.
        f_max: highest mel band edge in Hz (default and maximum: Nyquist).
        pooling_width: initial pooling width relative to ``(window_length - 1) / 2`` (LEAF: 0.4).
        learn_filters: train the Gabor centres and widths.
        learn_pooling: train the pooling widths.
        learn_pcen: train PCEN's parameters.
        pcen_kwargs: overrides of :data:`LEAF_PCEN` passed to :class:`PCEN` (a ``time_constant`` is in
            seconds of LEAF's frames: ``sample_rate`` and ``hop_length`` default to LEAF's).
        dtype: parameter dtype.
    """

    learn_pooling = parameter_flag("pooling_logits", "learn_pooling")
    learn_pcen = delegated_flag("pcen", "learn_parameters", name="learn_pcen")

    @built_on_default_device
    def __init__(
        self,
        sample_rate: float = 16000.0,
        n_filters: int = 40,
        window_len_ms: float = 25.0,
        hop_length: int | None = None,
        f_min: float = 60.0,
        f_max: float | None = None,
        pooling_width: float = 0.4,
        learn_filters: bool = True,
        learn_pooling: bool = True,
        learn_pcen: bool = True,
        pcen_kwargs: dict[str, Any] | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.sample_rate = check_positive_number("sample_rate", sample_rate)
        self.n_filters = check_positive_int("n_filters", n_filters)
        check_positive_number("window_len_ms", window_len_ms)
        self.window_length = int(self.sample_rate * window_len_ms / 1000.0) + 1
        if self.window_length < _MIN_WINDOW:
            raise ValueError(
                f"window_len_ms={window_len_ms!r} gives a window of {self.window_length} samples at "
                f"sample_rate {self.sample_rate:g}; at least {_MIN_WINDOW} samples are needed"
            )
        self.window_len_ms = float(window_len_ms)
        default_hop = max(round(self.sample_rate / 100.0), 1)
        self.hop_length = check_positive_int("hop_length", default_hop if hop_length is None else hop_length)
        self.f_min, self.f_max = check_frequency_range(f_min, f_max, self.sample_rate)
        low, high = pooling_width_bounds(self.window_length)
        if not is_real_number(pooling_width) or not low < pooling_width < high:
            raise ValueError(
                f"pooling_width must be in ({low:g}, {high:g}) for this window, got {pooling_width!r}"
            )
        self._width_bounds = gabor_width_bounds(self.window_length)
        self._pooling_bounds = (low, high)
        centers, widths = mel_gabor_parameters(
            self.n_filters, self.sample_rate, self.f_min, self.f_max, dtype=torch.float64
        )
        width_low, width_high = self._width_bounds
        # Keep the initial widths strictly inside the range so that their logits are finite.
        margin = 1e-6 * (width_high - width_low)
        widths = widths.clamp(width_low + margin, width_high - margin)
        dtype = check_dtype(dtype)
        self.center_logits = nn.Parameter(torch.logit(centers / math.pi).to(dtype))
        self.width_logits = nn.Parameter(
            torch.logit((widths - width_low) / (width_high - width_low)).to(dtype)
        )
        pooling = torch.full((self.n_filters,), (pooling_width - low) / (high - low), dtype=torch.float64)
        self.pooling_logits = nn.Parameter(torch.logit(pooling).to(dtype))
        pcen_kwargs = check_kwargs("pcen_kwargs", pcen_kwargs)
        for reserved in ("n_channels", "learn_parameters", "dtype"):
            if reserved in pcen_kwargs:
                raise ValueError(f"pcen_kwargs must not contain {reserved!r}: it is set by LEAF")
        defaults = dict(LEAF_PCEN)
        if "time_constant" in pcen_kwargs and "s" not in pcen_kwargs:
            del defaults["s"]  # a time constant replaces LEAF's smoothing coefficient,
            # measured on LEAF's own frames unless pcen_kwargs says otherwise
            defaults.update(sample_rate=self.sample_rate, hop_length=self.hop_length)
        try:
            self.pcen = PCEN(
                self.n_filters,
                learn_parameters=check_flag("learn_pcen", learn_pcen),
                dtype=dtype,
                **{**defaults, **pcen_kwargs},
            )
        except TypeError as err:
            raise ValueError(f"pcen_kwargs: {err}") from None
        self.learn_filters = learn_filters
        self.learn_pooling = learn_pooling
        self._plan_values: tuple[list[float], list[float], list[float]] = ([], [], [])
        self.refresh_plan()
        self.register_load_state_dict_post_hook(_refresh_plan)

    @property
    def learn_filters(self) -> bool:
        """Whether the Gabor centres and widths are trained."""
        return self.center_logits.requires_grad

    @learn_filters.setter
    def learn_filters(self, value: bool) -> None:
        flag = check_flag("learn_filters", value)
        self.center_logits.requires_grad_(flag)
        self.width_logits.requires_grad_(flag)

    @property
    def centers(self) -> torch.Tensor:
        """Gabor centres in radians per sample, in ``(0, pi)`` (differentiable)."""
        return math.pi * torch.sigmoid(self.center_logits)

    @property
    def center_frequencies(self) -> torch.Tensor:
        """Gabor centres in Hz (differentiable)."""
        return self.centers * (self.sample_rate / (2.0 * math.pi))

    @property
    def filter_widths(self) -> torch.Tensor:
        """Gabor envelope standard deviations in samples (differentiable)."""
        low, high = self._width_bounds
        return low + (high - low) * torch.sigmoid(self.width_logits)

    @property
    def pooling_widths(self) -> torch.Tensor:
        """Pooling Gaussian standard deviations in samples (differentiable)."""
        low, high = self._pooling_bounds
        relative = low + (high - low) * torch.sigmoid(self.pooling_logits)
        return relative * (0.5 * (self.window_length - 1))

    def impulse_responses(self, length: int | None = None) -> torch.Tensor:
        """The complex Gabor filters cut to ``length`` taps (default ``window_length``, as LEAF's).

        Raises:
            ValueError: naming ``length`` when it is not a positive integer (0 included).
        """
        length = self.window_length if length is None else length
        return gabor_impulse_responses(self.centers, self.filter_widths, length)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Transform ``(..., time)`` signals into ``(..., n_filters, frames)`` PCEN-compressed energies.

        Computed in float32 (or float64 for float64 input) even under autocast: CPU FFTs have no
        half-precision kernels and the PCEN recurrence needs the mantissa.
        """
        check_waveform(waveform)
        return over_signals(self._transform, waveform)

    def refresh_plan(self) -> None:
        """Take the values the band layout is planned from under ``torch.export`` from the parameters now.

        Eagerly every call plans from the parameters' current values, and this is done at every eager
        forward, at construction and by ``load_state_dict``. ``torch.export`` cannot read the parameters,
        so it plans from the values taken last, and the exported program checks on every call that the
        layout still covers its filters. Call this before exporting after changing the parameters without
        an eager forward since (e.g. after an optimiser step, or after training under ``torch.compile``,
        whose forwards do not take the values). Does nothing while compiling or exporting.
        """
        if is_tracing() or self.center_logits.is_meta:  # no values to take
            return
        self._plan_values = tuple(  # type: ignore[assignment]
            filter_values(values) for values in (self.centers, self.filter_widths, self.pooling_widths)
        )

    def _transform(self, signal: torch.Tensor) -> torch.Tensor:
        """``(batch, time)`` signals (float32 or float64) to ``(batch, n_filters, frames)``."""
        dtype = signal.dtype
        # Exported, or on the meta device (shapes without values), the parameters cannot be read: the band
        # layout is planned from the values taken last.
        taken = is_exporting() or self.center_logits.is_meta
        if not taken:  # before the op: reading the values waits for the device, which is idle then
            self.refresh_plan()
        energy = gabor_pooled_energy(
            signal,
            self.centers.to(dtype),
            self.filter_widths.to(dtype),
            self.pooling_widths.to(dtype),
            self.hop_length,
            plan_values=self._plan_values if taken else None,
        )
        return self.pcen(energy)

    def reset_parameters(self) -> None:
        """Give the Gabor, pooling and PCEN parameters their initial values again and take the band plan from
        them (PyTorch's convention, e.g. for FSDP's initialisation of a model built on the meta device and
        materialised with ``to_empty``)."""
        reset_to_initial(self)
        self.refresh_plan()

    def extra_repr(self) -> str:
        return (
            f"sample_rate={self.sample_rate:g}, n_filters={self.n_filters}, "
            f"window_length={self.window_length}, hop_length={self.hop_length}, f_min={self.f_min:g}, "
            f"f_max={self.f_max:g}, "
            f"learn_filters={self.learn_filters}, learn_pooling={self.learn_pooling}, "
            f"learn_pcen={self.learn_pcen}"
        )
