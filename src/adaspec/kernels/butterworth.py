"""Butterworth band-pass magnitude responses on a frequency grid (DEGramNet's SincGram filters)."""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_choice, check_dtype, check_finite_number, check_positive_int, is_finite_number
from .mel import mel_frequencies

BUTTERWORTH_INITS = ("mel", "linear")


def check_order(order: float) -> float:
    """Return the Butterworth ``order`` as a float if it is a real number >= 1.

    Raises:
        ValueError: naming ``order`` when it is not a real number >= 1.
    """
    if not is_finite_number(order) or not order >= 1:
        raise ValueError(f"order must be a number >= 1 (the Butterworth order), got {order!r}")
    return float(order)


def butterworth_centres(
    n_filters: int, f_min: float, f_max: float, init: str = "mel"
) -> tuple[np.ndarray, np.ndarray]:
    """Centres and bandwidths (Hz, float64) of ``n_filters`` band-passes tiling ``[f_min, f_max]``.

    ``n_filters + 2`` points are spaced equally on the HTK mel scale (``init="mel"``) or in Hz
    (``"linear"``) from ``f_min`` to ``f_max`` inclusive. Filter ``k`` is centred on inner point ``k`` and
    its bandwidth is half the distance between its two neighbours, ``(f[k + 1] - f[k - 1]) / 2``, so its
    half-power points sit near the neighbours' centres (DEGramNet's initialisation).

    Args:
        n_filters: number of filters (any positive integer).
        f_min: lowest point in Hz (>= 0).
        f_max: highest point in Hz (> ``f_min``).
        init: ``"mel"`` or ``"linear"``.

    Returns:
        ``(centres, bandwidths)``, two float64 arrays of ``n_filters`` values.

    Raises:
        ValueError: naming ``n_filters``, ``init``, ``f_min`` or ``f_max`` when out of range (or, for
            the frequencies, not finite numbers).
    """
    n_filters = check_positive_int("n_filters", n_filters)
    check_choice("init", init, BUTTERWORTH_INITS)
    f_min, f_max = check_finite_number("f_min", f_min), check_finite_number("f_max", f_max)
    if not f_min >= 0.0:
        raise ValueError(f"f_min must be >= 0 Hz, got {f_min!r}")
    if not f_max > f_min:
        raise ValueError(f"f_max must be greater than f_min ({f_min!r} Hz), got {f_max!r}")
    if init == "mel":
        points = mel_frequencies(n_filters + 2, f_min, f_max, mel_scale="htk")
    else:
        points = np.linspace(f_min, f_max, n_filters + 2, dtype=np.float64)
    return points[1:-1].copy(), (points[2:] - points[:-2]) / 2.0


def butterworth_filterbank(
    frequencies: torch.Tensor | np.ndarray,
    centres: torch.Tensor | np.ndarray,
    bandwidths: torch.Tensor | np.ndarray,
    order: float,
    *,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Butterworth magnitude responses ``W[i, k] = 1 / sqrt(1 + ((f_i - c_k) / b_k) ** (2 * order))``.

    Differentiable in all three inputs (tensors in, tensors out) through a hand-written backward. The
    response is evaluated as ``exp(-softplus(2 n log r) / 2)`` with ``r = |f - c| / b``, so no power
    overflows and neither the values nor the gradients become NaN however narrow a band gets or however
    far a bin lies from a centre (``r = 0`` included).

    Args:
        frequencies: ``(n_bins,)`` frequencies in Hz (e.g. the rfft bins).
        centres: ``(n_filters,)`` centre frequencies in Hz.
        bandwidths: ``(n_filters,)`` positive half-power half-widths in Hz.
        order: Butterworth order (>= 1).
        dtype: real floating-point result dtype (default: the promoted dtype of the tensors; numpy input is
            built in float64).

    Returns:
        Filters of shape ``(n_bins, n_filters)``.
    """
    order = check_order(order)
    if dtype is not None:
        dtype = check_dtype(dtype)
    f, c, b = (_as_tensor(v) for v in (frequencies, centres, bandwidths))
    weights = _Butterworth.apply(f, c, b, order)
    return weights if dtype is None else weights.to(dtype)


class _Butterworth(torch.autograd.Function):
    """The response matrix and its closed-form derivatives in a handful of ops (autograd's graph of the
    same formula has dozens of small nodes, which dominate the cost of such a small matrix).

    With ``y = (f - c) / b``, ``L = 2 n log|y|`` and ``s = softplus(L)``: ``W = exp(-s / 2)``,
    ``dW/db = (n / b) exp(L - 3 s / 2)`` and
    ``dW/dc = -dW/df = (n / b) sign(y) exp((2 n - 1) log|y| - 3 s / 2)``, all finite at ``y = 0``
    (``log 0 = -inf`` gives 0).

    Double backward is supported: with grad mode on inside ``backward`` (``create_graph=True``, e.g. MAML
    or a penalty on parameter gradients) the two derivative matrices are rebuilt from the saved inputs
    by :func:`_derivatives`, out of place and with the ``y = 0`` entries written so that their own
    derivatives are exact there too; otherwise the saved matrices are used as before.
    """

    @staticmethod
    def forward(ctx, f: torch.Tensor, c: torch.Tensor, b: torch.Tensor, order: float):  # type: ignore[override]
        offset = (f.unsqueeze(-1) - c) / b
        log_ratio = offset.abs().log()
        log_power = log_ratio * (2.0 * order)
        # threshold 50 (not 20): above it softplus is x, off by exp(-x), which must be below float64's eps.
        softplus = torch.nn.functional.softplus(log_power, threshold=50.0)
        weights = torch.exp(-0.5 * softplus)
        if any(ctx.needs_input_grad[:3]):
            scale = order / b
            ctx.save_for_backward(
                torch.exp(log_power - 1.5 * softplus) * scale,
                offset.sign() * torch.exp(log_ratio * (2.0 * order - 1.0) - 1.5 * softplus) * scale,
                f,
                c,
                b,
            )
            ctx.order = order
        return weights

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        d_bandwidth, d_centre = ctx.saved_tensors[:2]
        if torch.is_grad_enabled():  # double backward: derivatives that carry a graph to f, c and b
            d_bandwidth, d_centre = _derivatives(*ctx.saved_tensors[2:], ctx.order)
        weighted = grad * d_centre
        grad_f = -weighted.sum(dim=-1) if ctx.needs_input_grad[0] else None
        grad_c = weighted.sum(dim=0) if ctx.needs_input_grad[1] else None
        grad_b = (grad * d_bandwidth).sum(dim=0) if ctx.needs_input_grad[2] else None
        return grad_f, grad_c, grad_b, None


def _derivatives(
    f: torch.Tensor, c: torch.Tensor, b: torch.Tensor, order: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``dW/db`` and ``dW/dc`` of :class:`_Butterworth` as differentiable functions of ``f``, ``c``, ``b``.

    ``dW/dc = (n / b) y |y|^(2n - 2) (1 + |y|^2n)^(-3/2)`` is written with the factor ``y`` outside the
    exponential and ``|y|^(2n - 2)`` set to its limit at ``y = 0`` (1 for ``n = 1``, else 0), so its
    derivative there is exact; ``log|y|`` is taken of 1 at ``y = 0`` so that no ``0 * inf`` makes a NaN.
    """
    offset = (f.unsqueeze(-1) - c) / b
    at_centre = offset == 0
    log_ratio = torch.where(at_centre, 1.0, offset.abs()).log()
    log_power = log_ratio * (2.0 * order)
    softplus = torch.nn.functional.softplus(log_power, threshold=50.0)
    scale = order / b
    d_bandwidth = torch.where(at_centre, 0.0, torch.exp(log_power - 1.5 * softplus)) * scale
    even_part = torch.exp(log_ratio * (2.0 * order - 2.0) - 1.5 * softplus)
    even_part = torch.where(at_centre, 1.0 if order == 1.0 else 0.0, even_part)
    return d_bandwidth, offset * even_part * scale


def _as_tensor(values: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Tensors pass through (autograd intact); arrays and numbers become float64 tensors."""
    return values if isinstance(values, torch.Tensor) else torch.as_tensor(values, dtype=torch.float64)
