"""Trainable per-channel energy normalisation (PCEN) of a spectrogram."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import (
    check_choice,
    check_dtype,
    check_flag,
    check_positive_int,
    check_positive_number,
    is_real_number,
)
from ..ops.pcen import INITIAL_STATES, pcen, smoothing_coefficient
from ._device import built_on_default_device, reset_to_initial
from ._spectrogram import autocast_off, check_spectrogram

_DEFAULT_S = 0.025


class PCEN(nn.Module):
    """PCEN ``(..., channels, frames) -> (..., channels, frames)`` with trainable ``alpha, delta, r, s``.

    ``(E / (eps + M)^alpha + delta)^r - delta^r`` with ``M[t] = (1 - s) M[t - 1] + s E[t]`` (solved
    without a loop over frames, see :mod:`adaspec.ops.pcen`). With the default ``initial_state="librosa"``
    and ``learn_parameters=False`` this equals ``librosa.pcen(E, gain=alpha, bias=delta, power=r, b=s,
    eps=eps)``.

    The four parameters are learned in log space, as EfficientLEAF found necessary to avoid NaNs:
    ``alpha, delta, r = exp(log_alpha), exp(log_delta), exp(log_r)`` stay positive, and
    ``s = sigmoid(logit_s)`` (``log s = logsigmoid(logit_s)``, which is ``log s`` to within ``s`` for
    small ``s``) stays in ``(0, 1)`` so the smoother is stable; ``log(1 - s) = logsigmoid(-logit_s)`` is
    computed without cancellation.

    Second-order gradients (``torch.autograd.grad(..., create_graph=True)`` then another backward:
    gradient penalties, MAML) work in the input and every parameter.

    Args:
        n_channels: number of channels (frequency bands) of the input.
        alpha: gain exponent (> 0).
        delta: bias (> 0).
        r: root exponent (> 0).
        s: smoothing coefficient in ``(0, 1)`` (default 0.025, or from ``time_constant``).
        eps: floor added to the smoother (> 0).
        time_constant: smoother time constant in seconds instead of ``s`` (librosa's formula); needs
            ``sample_rate`` and ``hop_length``.
        sample_rate: sampling rate of the audio in Hz (with ``time_constant``).
        hop_length: samples between frames (with ``time_constant``).
        per_channel: one value of each parameter per channel (``True``) or one shared value.
        learn_parameters: train ``alpha, delta, r, s`` (flag; may be flipped later).
        initial_state: ``"librosa"`` (``M[-1] = 1``, librosa's ``lfilter_zi`` state) or ``"first_frame"``
            (``M[0] = E[0]``, LEAF's).
        dtype: parameter dtype.
    """

    @built_on_default_device
    def __init__(
        self,
        n_channels: int,
        alpha: float = 0.98,
        delta: float = 2.0,
        r: float = 0.5,
        s: float | None = None,
        eps: float = 1e-6,
        *,
        time_constant: float | None = None,
        sample_rate: float | None = None,
        hop_length: int | None = None,
        per_channel: bool = True,
        learn_parameters: bool = True,
        initial_state: str = "librosa",
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.n_channels = check_positive_int("n_channels", n_channels)
        for name, value in (("alpha", alpha), ("delta", delta), ("r", r), ("eps", eps)):
            check_positive_number(name, value)
        if time_constant is not None:
            if s is not None:
                raise ValueError(
                    f"give s or time_constant, not both (got s={s!r}, time_constant={time_constant!r})"
                )
            if sample_rate is None or hop_length is None:
                raise ValueError("time_constant needs sample_rate and hop_length")
            s = smoothing_coefficient(time_constant, sample_rate, hop_length)
            if not s < 1.0:
                raise ValueError(
                    f"time_constant must be longer: {time_constant!r} s at sample_rate={sample_rate!r} and "
                    f"hop_length={hop_length!r} gives a smoothing coefficient that rounds to 1 (no smoothing)"
                )
        elif sample_rate is not None or hop_length is not None:
            raise ValueError("sample_rate and hop_length are only used with time_constant")
        s = _DEFAULT_S if s is None else s
        if not is_real_number(s) or not 0.0 < s < 1.0:
            raise ValueError(f"s must be a number in (0, 1), got {s!r}")
        self.per_channel = check_flag("per_channel", per_channel)
        self.initial_state = check_choice("initial_state", initial_state, INITIAL_STATES)
        self.eps = float(eps)
        dtype = check_dtype(dtype)
        size = self.n_channels if per_channel else 1

        def filled(value: float) -> nn.Parameter:
            return nn.Parameter(torch.full((size,), value, dtype=torch.float64).to(dtype))

        self.log_alpha = filled(math.log(alpha))
        self.log_delta = filled(math.log(delta))
        self.log_r = filled(math.log(r))
        self.logit_s = filled(math.log(s) - math.log1p(-s))
        self.learn_parameters = learn_parameters

    @property
    def learn_parameters(self) -> bool:
        """Whether ``alpha, delta, r, s`` are trained."""
        return self.log_alpha.requires_grad

    @learn_parameters.setter
    def learn_parameters(self, value: bool) -> None:
        flag = check_flag("learn_parameters", value)
        for parameter in (self.log_alpha, self.log_delta, self.log_r, self.logit_s):
            parameter.requires_grad_(flag)

    @property
    def alpha(self) -> torch.Tensor:
        """Gain exponent per channel (or shared), differentiable."""
        return self.log_alpha.exp()

    @property
    def delta(self) -> torch.Tensor:
        """Bias per channel (or shared), differentiable."""
        return self.log_delta.exp()

    @property
    def r(self) -> torch.Tensor:
        """Root exponent per channel (or shared), differentiable."""
        return self.log_r.exp()

    @property
    def s(self) -> torch.Tensor:
        """Smoothing coefficient in ``(0, 1)`` per channel (or shared), differentiable."""
        return torch.sigmoid(self.logit_s)

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """Normalise ``(..., n_channels, frames)`` non-negative spectrograms.

        Half-precision inputs (and autocast regions) are computed in float32: the recurrence and the
        compression lose too much in 8-11 mantissa bits. An ``eps`` below the compute dtype's smallest
        normal number is raised to it (see :func:`adaspec.ops.pcen`): in float32 ``eps=1e-50`` rounded to
        0, so a silent smoother (``M = 0``: leading silence with ``initial_state="first_frame"``, or a few
        thousand silent frames with ``"librosa"``) gave ``0 / 0`` and NaN instead of 0.
        """
        check_spectrogram(spectrogram, min_ndim=0)  # the shape is checked below, against n_channels
        if spectrogram.ndim < 2 or (self.per_channel and spectrogram.shape[-2] != self.n_channels):
            raise ValueError(
                f"spectrogram must have shape (..., {self.n_channels}, frames), "
                f"got {tuple(spectrogram.shape)}"
            )
        dtype = torch.promote_types(spectrogram.dtype, torch.float32)
        with autocast_off(spectrogram):
            energy = spectrogram.to(dtype)
            return pcen(
                energy,
                self.log_alpha.to(dtype).exp(),
                self.log_delta.to(dtype).exp(),
                self.log_r.to(dtype).exp(),
                torch.sigmoid(self.logit_s.to(dtype)),
                eps=self.eps,
                initial_state=self.initial_state,
                log_decay=F.logsigmoid(-self.logit_s.to(dtype)),
            )

    def reset_parameters(self) -> None:
        """Give alpha, delta, r and s their initial values again (PyTorch's convention, e.g. for FSDP's
        initialisation of a model built on the meta device and materialised with ``to_empty``)."""
        reset_to_initial(self)

    def extra_repr(self) -> str:
        return (
            f"n_channels={self.n_channels}, per_channel={self.per_channel}, eps={self.eps:g}, "
            f"initial_state={self.initial_state!r}, learn_parameters={self.learn_parameters}"
        )
