"""TF-DELayer: squeeze-and-excitation gates along frequency and along time (DEGramNet)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_choice, check_dtype, check_positive_int, check_positive_number
from ._device import built_on_default_device, reset_to_initial
from ._spectrogram import autocast_off, check_spectrogram, promoted_under_autocast

COMBINES = ("sum", "product", "max")


#: Most weights in one of the band gate's two matrices (``C * F x H``): a reduction far below 1 (1e-9)
#: asked for terabytes, or overflowed ``nn.Linear``'s sizes (1e-300) with a ``TypeError``.
MAX_SQUEEZE_WEIGHTS = 2**31


def check_reduction(reduction: float) -> float:
    """Return the SE ``reduction`` ratio as a float if it is a real number > 0.

    Raises:
        ValueError: naming ``reduction`` when it is not a number > 0.
    """
    return check_positive_number("reduction", reduction, meaning=" (the SE reduction ratio)")


class TFAttention(nn.Module):
    """Time-frequency attention ``(B, C, F, T) -> (B, C, F, T)`` (or ``(B, F, T)``, treated as ``C = 1``).

    Two gates in ``(0, 1)`` rescale the input ``x``:

    - **per-band gate** ``g_f`` of shape ``(B, C, F, 1)``, a squeeze-and-excitation over the ``C * F``
      bands (DEGramNet's cSE, with frequency as SE channels): squeeze ``z = mean over time of x``, then
      ``g_f = sigmoid(W2 relu(W1 z))`` with ``W1: C*F -> H``, ``W2: H -> C*F``, no biases,
      ``H = max(1, round(C * F / reduction))``.
    - **per-frame gate** ``g_t`` of shape ``(B, 1, 1, T)``, a spatial SE (Roy et al.'s sSE, with time as
      the spatial axis): every frame's ``C * F`` values are squeezed by one learned linear map,
      ``g_t[t] = sigmoid(w . x[:, :, t] + w0)`` (a 1x1 convolution over time). It is a function of that
      frame's content alone, so identical frames get identical gates and a loud frame gets its own.

    ``combine`` merges the gates before they are applied, so the rule does not depend on the sign of
    ``x`` (log spectra are often negative): ``"sum"`` ``x * (g_f + g_t)``, ``"product"``
    ``x * g_f * g_t``, ``"max"`` ``x * max(g_f, g_t)``. The default is ``"sum"``: both gates receive
    gradient at every element (``"max"`` routes it to one gate per element), and a per-band z-score
    after the layer (:class:`SpectrogramNorm` ``mode="frequency"``) cannot cancel the band gate, as it
    does under ``"product"``, where ``g_f`` is a per-band scale that the z-score divides out.

    Args:
        n_freq: number of frequency bands ``F`` of the input.
        channels: number of channels ``C`` (``(B, F, T)`` input needs ``channels=1``).
        reduction: SE reduction ratio (a number > 0): hidden width ``max(1, round(C * F / reduction))``.
        combine: ``"sum"``, ``"product"`` or ``"max"``.
        dtype: parameter dtype.
    """

    @built_on_default_device
    def __init__(
        self,
        n_freq: int,
        channels: int = 1,
        reduction: float = 16,
        combine: str = "sum",
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.n_freq = check_positive_int("n_freq", n_freq)
        self.channels = check_positive_int("channels", channels)
        self.reduction = check_reduction(reduction)
        self.combine = check_choice("combine", combine, COMBINES)
        dtype = check_dtype(dtype)
        features = self.channels * self.n_freq
        if features / self.reduction * features > MAX_SQUEEZE_WEIGHTS:  # inf for a tiny reduction too
            raise ValueError(
                f"reduction={self.reduction:g} gives a hidden width of {features / self.reduction:.3g} for "
                f"{features} bands: each SE weight matrix would hold more than {MAX_SQUEEZE_WEIGHTS:,} "
                f"weights; use a reduction of at least {features**2 / MAX_SQUEEZE_WEIGHTS:.3g}"
            )
        hidden = max(1, round(features / self.reduction))
        self.freq_squeeze = nn.Linear(features, hidden, bias=False, dtype=dtype)
        self.freq_excite = nn.Linear(hidden, features, bias=False, dtype=dtype)
        self.time_excitation = nn.Linear(features, 1, dtype=dtype)

    def _as_4d(self, x: torch.Tensor) -> torch.Tensor:
        expected = f"(B, {self.channels}, {self.n_freq}, T)"
        if self.channels == 1:
            expected += f" or (B, {self.n_freq}, T)"
        if x.ndim == 3 and self.channels == 1 and x.shape[1] == self.n_freq:
            return x.unsqueeze(1)
        if x.ndim == 4 and tuple(x.shape[1:3]) == (self.channels, self.n_freq):
            return x
        raise ValueError(f"input must have shape {expected}, got {tuple(x.shape)}")

    def _flat_gates(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gates ``(B, C*F)`` and ``(B, T)`` of a ``(B, C*F, T)`` input."""
        dtype = flat.dtype
        weight, bias = self.time_excitation.weight.to(dtype), self.time_excitation.bias.to(dtype)
        band_means, frame_logits = _Squeeze.apply(flat, weight)
        hidden = F.relu(F.linear(band_means, self.freq_squeeze.weight.to(dtype)))
        freq_gate = torch.sigmoid(F.linear(hidden, self.freq_excite.weight.to(dtype)))
        return freq_gate, torch.sigmoid(frame_logits + bias)

    def gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-band and per-frame gates for ``x``.

        Returns:
            ``(freq_gate, time_gate)`` of shapes ``(B, C, F, 1)`` and ``(B, 1, 1, T)`` for 4-D input,
            ``(B, F, 1)`` and ``(B, 1, T)`` for 3-D input.

        Raises:
            ValueError: when ``x`` is not a real floating-point ``(B, C, F, T)`` tensor (or ``(B, F, T)``
                with ``C = 1``).
        """
        check_spectrogram(x, "input")
        x4 = self._as_4d(x)
        batch, frames = x4.shape[0], x4.shape[-1]
        flat = promoted_under_autocast(x4.reshape(batch, x4.shape[1] * x4.shape[2], frames))
        with autocast_off(flat):
            freq_gate, time_gate = self._flat_gates(flat)
        freq_gate = freq_gate.reshape(batch, self.channels, self.n_freq, 1)
        time_gate = time_gate.reshape(batch, 1, 1, frames)
        if x.ndim == 3:
            return freq_gate.squeeze(1), time_gate.squeeze(1)
        return freq_gate, time_gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rescale ``x`` by the combined gates; the output has the input's shape, and its dtype outside
        ``torch.autocast`` (under autocast the gates and output are float32, a half input promoted)."""
        check_spectrogram(x, "input")
        x4 = self._as_4d(x)
        flat = x4.reshape(x4.shape[0], x4.shape[1] * x4.shape[2], x4.shape[3])
        flat = promoted_under_autocast(flat)
        with autocast_off(flat):
            freq_gate, time_gate = self._flat_gates(flat)
            return _Gate.apply(flat, freq_gate, time_gate, self.combine).reshape(x.shape)

    def reset_parameters(self) -> None:
        """Draw the layers' initial values anew, as ``nn.Linear`` does (PyTorch's convention, e.g. for FSDP's
        initialisation of a model built on the meta device and materialised with ``to_empty``)."""
        reset_to_initial(self)

    def extra_repr(self) -> str:
        return (
            f"n_freq={self.n_freq}, channels={self.channels}, reduction={self.reduction:g}, "
            f"combine={self.combine!r}"
        )


class _Squeeze(torch.autograd.Function):
    """Both squeezes of a ``(B, N, T)`` input in one node: the band means over time ``(B, N)`` and the
    frame projections ``w . x[:, :, t]`` ``(B, T)``. The means of no frames (``T = 0``) are zero, not NaN:
    NaN gates gave NaN gradients to the band gate's layers although the output is empty.

    The backward writes the input gradient in one pass, ``dmean / T + w dproj`` (a broadcast
    ``addcmul``), where autograd would materialise and add the two terms separately.

    Double backward is supported: the backward is linear in the output gradients and uses only the saved
    inputs, all out of place, so with ``create_graph=True`` autograd records and differentiates it as it is.
    """

    @staticmethod
    def forward(ctx, flat: torch.Tensor, weight: torch.Tensor):  # type: ignore[override]
        ctx.save_for_backward(flat, weight)
        # sum / T is bit-identical to mean(); sym_max keeps T symbolic (no guard) under torch.export.
        means = flat.sum(dim=-1) / torch.sym_max(flat.shape[-1], 1)
        # einsum: about 3x faster here than matmul, which broadcasts (1, N) into a batched product.
        return means, torch.einsum("on,bnt->bt", weight, flat)

    @staticmethod
    def backward(ctx, grad_means: torch.Tensor, grad_frames: torch.Tensor):  # type: ignore[override]
        flat, weight = ctx.saved_tensors
        grad_flat = grad_weight = None
        if ctx.needs_input_grad[0]:
            scaled = (grad_means / torch.sym_max(flat.shape[-1], 1)).unsqueeze(-1)
            grad_flat = torch.addcmul(scaled, weight.transpose(0, 1), grad_frames.unsqueeze(-2))
        if ctx.needs_input_grad[1]:
            grad_weight = torch.matmul(grad_frames.unsqueeze(-2), flat.transpose(-1, -2)).sum(dim=0)
        return grad_flat, grad_weight


class _Gate(torch.autograd.Function):
    """``x * combine(g_f, g_t)`` for ``x (B, N, T)``, ``g_f (B, N)``, ``g_t (B, T)``, with a backward
    that forms ``grad * x`` once and reduces it for both gates (``"max"`` gives ties to ``g_f``).

    Double backward is supported: the backward is out of place; with grad mode on inside it
    (``create_graph=True``) the combined gate is recomputed from the saved gates, since the one kept by
    ``forward`` carries no graph to them, and autograd differentiates the same formulas again.
    """

    @staticmethod
    def forward(ctx, flat: torch.Tensor, freq_gate: torch.Tensor, time_gate: torch.Tensor, combine: str):  # type: ignore[override]
        gate = _combined(freq_gate, time_gate, combine)
        ctx.combine = combine
        ctx.save_for_backward(flat, freq_gate, time_gate, gate)
        return flat * gate

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        flat, freq_gate, time_gate, gate = ctx.saved_tensors
        if torch.is_grad_enabled():
            gate = _combined(freq_gate, time_gate, ctx.combine)
        grad_flat = grad * gate if ctx.needs_input_grad[0] else None
        grad_gate = grad * flat
        if ctx.combine == "sum":
            grad_freq, grad_time = grad_gate.sum(dim=-1), grad_gate.sum(dim=-2)
        elif ctx.combine == "product":
            grad_freq = torch.matmul(grad_gate, time_gate.unsqueeze(-1)).squeeze(-1)
            grad_time = torch.matmul(freq_gate.unsqueeze(-2), grad_gate).squeeze(-2)
        else:
            to_band = torch.where(freq_gate.unsqueeze(-1) >= time_gate.unsqueeze(-2), grad_gate, 0.0)
            grad_freq = to_band.sum(dim=-1)
            grad_time = grad_gate.sum(dim=-2) - to_band.sum(dim=-2)
        return grad_flat, grad_freq, grad_time, None


def _combined(freq_gate: torch.Tensor, time_gate: torch.Tensor, combine: str) -> torch.Tensor:
    """The ``(B, N, T)`` gate ``combine(g_f, g_t)`` of ``(B, N)`` band and ``(B, T)`` frame gates."""
    band, frame = freq_gate.unsqueeze(-1), time_gate.unsqueeze(-2)
    if combine == "sum":
        return band + frame
    if combine == "product":
        return band * frame
    return torch.maximum(band, frame)
