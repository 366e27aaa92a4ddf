"""Per-example z-score normalisation of spectrograms (per frequency band or over the whole example)."""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_choice, check_positive_number
from ._spectrogram import autocast_off, check_spectrogram, promoted_under_autocast

NORM_MODES = ("frequency", "example")


class SpectrogramNorm(nn.Module):
    """Z-score ``(..., F, T) -> (..., F, T)``: ``(x - mean) / sqrt(var + eps)``, per example.

    ``mode="frequency"`` takes the mean and (population, ``ddof=0``) variance of every band over time;
    ``mode="example"`` over all bands and frames of each spectrogram. Leading dimensions (batch,
    channels) are normalised independently. ``eps`` is added to the variance, as in LayerNorm, so silence
    (zero variance) maps to zeros and the gradients stay finite (a ``std + eps`` denominator would not:
    the square root's derivative is infinite at 0).

    Args:
        mode: ``"frequency"`` or ``"example"``.
        eps: positive number added to the variance.
    """

    def __init__(self, mode: str = "frequency", eps: float = 1e-5) -> None:
        super().__init__()
        self.mode = check_choice("mode", mode, NORM_MODES)
        self.eps = check_positive_number("eps", eps, meaning=" (keeps silence finite)")

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """Normalise ``(..., F, T)`` spectrograms (at least 2-D); in float32 under ``torch.autocast``
        (a half-precision input is promoted), in the input's dtype outside it.

        The statistics are computed in at least float32: in float16 the sum of squares overflows
        (above 65504, e.g. 1000 frames of standard deviation 10), which zeroed the whole output, and an
        ``eps`` below float16's range gave NaN on constant bands. An ``eps`` below the compute dtype's
        smallest normal number is raised to it, so constant input still maps to zeros."""
        check_spectrogram(spectrogram)
        spectrogram = promoted_under_autocast(spectrogram)
        dtype = spectrogram.dtype
        wide = spectrogram.to(torch.promote_types(dtype, torch.float32))
        eps = max(self.eps, torch.finfo(wide.dtype).tiny)
        with autocast_off(wide):  # the variance's dot product would run in bf16
            if self.mode == "frequency":
                normalised = _ZScore.apply(wide, eps)[0]
            else:
                normalised = _ZScore.apply(wide.flatten(-2), eps)[0].reshape(wide.shape)
        return normalised.to(dtype)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, eps={self.eps:g}"


class _ZScore(torch.autograd.Function):
    """``y = (x - mean) / sqrt(var + eps)`` over the last dimension, with the closed-form backward
    ``dx = (g - mean(g) - y * mean(g * y)) / sqrt(var + eps)`` (``eps`` included exactly).

    Autograd's generic graph for the same formula makes about twice as many full-size passes.

    Returns ``(y, 1 / sqrt(var + eps))``: the second output (callers drop it) lets the backward read the
    inverse standard deviation as an output autograd can differentiate. Double backward is supported: with
    grad mode on inside ``backward`` (``create_graph=True``) the formula above is evaluated out of place
    from the two saved outputs, plus the gradient reaching ``1 / sqrt(var + eps)`` itself,
    ``-r^2 y g_r / n`` (which only a double backward sends); otherwise the in-place code runs unchanged.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        centred = x - x.mean(dim=-1, keepdim=True)
        variance = torch.linalg.vecdot(centred, centred, dim=-1).unsqueeze(-1).div_(x.shape[-1])
        inverse_std = variance.add_(eps).rsqrt_()
        normalised = centred.mul_(inverse_std)
        ctx.save_for_backward(normalised, inverse_std)
        ctx.set_materialize_grads(False)  # no zeros for the inverse std's gradient, which is None
        return normalised, inverse_std

    @staticmethod
    def backward(  # type: ignore[override]
        ctx, grad: torch.Tensor | None, grad_inverse_std: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, None]:
        normalised, inverse_std = ctx.saved_tensors
        n = normalised.shape[-1]
        if torch.is_grad_enabled() or grad is None or grad_inverse_std is not None:
            return _zscore_backward(normalised, inverse_std, grad, grad_inverse_std), None
        grad_dot_y = torch.linalg.vecdot(grad, normalised, dim=-1).unsqueeze(-1).div_(n)
        grad_x = grad - grad.mean(dim=-1, keepdim=True)
        grad_x.addcmul_(normalised, grad_dot_y, value=-1.0)
        return grad_x.mul_(inverse_std), None


def _zscore_backward(
    normalised: torch.Tensor,
    inverse_std: torch.Tensor,
    grad: torch.Tensor | None,
    grad_inverse_std: torch.Tensor | None,
) -> torch.Tensor | None:
    """:class:`_ZScore`'s input gradient, out of place (differentiable again), from the gradients of
    either or both outputs (``None`` for one that received none)."""
    n = normalised.shape[-1]
    grad_x = None
    if grad is not None:
        grad_dot_y = torch.linalg.vecdot(grad, normalised, dim=-1).unsqueeze(-1) / n
        grad_x = (grad - grad.mean(dim=-1, keepdim=True) - normalised * grad_dot_y) * inverse_std
    if grad_inverse_std is not None:  # d r / d x = -r^2 y / n
        through_std = normalised * (grad_inverse_std * inverse_std.square() / -n)
        grad_x = through_std if grad_x is None else grad_x + through_std
    return grad_x
