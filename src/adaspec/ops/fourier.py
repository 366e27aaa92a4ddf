"""FFT of windowed frames, fused with the output conversion, with a backward of one inverse FFT."""

from __future__ import annotations

import torch

from .._validation import check_choice
from . import onnx_fft
from ._batch import map_signals
from .spectrum import OUTPUTS


class _WindowedFFT(torch.autograd.Function):
    """``fft(frames * window)`` returned as complex, magnitude or power, with a hand-written backward.

    PyTorch's generic rfft backward pads and runs a full complex FFT (3-4x the forward on CPU), and complex
    ``abs()`` is slower than the FFT itself. Here the adjoint of the real-input DFT is written out: for a
    complex output gradient ``G`` (PyTorch's convention ``dL/dRe + i dL/dIm``) the gradient of the windowed
    frame is ``Re(sum_k G_k exp(+2i pi k n / N))``: one unnormalised inverse real FFT once the bins that
    stand for two conjugate bins are halved. Magnitude and power gradients are folded into ``G`` with real
    arithmetic only.

    Double backward (``create_graph=True``, e.g. gradient penalties) is supported: when grad mode is on
    inside ``backward`` the same adjoint is computed out of place from the saved inputs (the spectrum is
    recomputed from them, since the one kept by ``forward`` carries no graph), so autograd can
    differentiate it again; otherwise the in-place first-order code below runs unchanged.
    """

    @staticmethod
    def forward(ctx, frames: torch.Tensor, window: torch.Tensor, onesided: bool, output: str):  # type: ignore[override]
        windowed = frames * window
        spectrum = onnx_fft.rfft(windowed) if onesided else onnx_fft.fft(windowed)
        del windowed
        ctx.onesided, ctx.output = onesided, output
        if output == "complex":
            ctx.save_for_backward(frames, window)
            return spectrum
        parts = torch.view_as_real(spectrum)
        result = parts[..., 0] * parts[..., 0]
        result.addcmul_(parts[..., 1], parts[..., 1])
        if output == "magnitude":
            result.sqrt_()
        ctx.save_for_backward(frames, window, spectrum, result)
        return result

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        frames, window = ctx.saved_tensors[:2]
        n_fft = frames.shape[-1]
        n_bins = n_fft // 2 + 1 if ctx.onesided else n_fft
        bin_weights = _bin_weights(n_bins, n_fft, ctx.onesided, window.dtype, window.device)
        if torch.is_grad_enabled():
            return _differentiable_backward(ctx, grad_output, bin_weights)
        if ctx.output == "complex":
            grad_spectrum = torch.view_as_complex(
                (torch.view_as_real(grad_output) * bin_weights[:, None]).contiguous()
            )
        else:
            spectrum, result = ctx.saved_tensors[2:]
            # d|X|^2 = 2 (re dre + im dim); d|X| = (re dre + im dim) / |X| (0 where |X| = 0).
            coefficient = torch.empty_like(result, memory_format=torch.contiguous_format)
            if ctx.output == "power":
                torch.mul(grad_output, 2.0 * bin_weights, out=coefficient)
            else:
                torch.div(grad_output, result, out=coefficient)
                coefficient.masked_fill_(result == 0, 0.0).mul_(bin_weights)
            grad_spectrum = torch.view_as_complex(torch.view_as_real(spectrum) * coefficient.unsqueeze(-1))
        return _input_gradients(ctx, grad_spectrum, frames, window, in_place=True)


def _differentiable_backward(ctx, grad_output: torch.Tensor, bin_weights: torch.Tensor) -> tuple:
    """:class:`_WindowedFFT`'s backward written out of place, from tensors autograd can differentiate: the
    saved inputs and output, and the spectrum recomputed from the inputs (double backward)."""
    frames, window = ctx.saved_tensors[:2]
    if ctx.output == "complex":
        grad_spectrum = torch.view_as_complex(torch.view_as_real(grad_output) * bin_weights[:, None])
    else:
        result = ctx.saved_tensors[3]
        windowed = frames * window
        spectrum = torch.fft.rfft(windowed) if ctx.onesided else torch.fft.fft(windowed)
        if ctx.output == "power":
            coefficient = grad_output * (2.0 * bin_weights)
        else:
            # d|X| = (re dre + im dim) / |X|, 0 where |X| = 0 (a safe divisor keeps that branch's gradient 0).
            silent = result == 0
            coefficient = (
                torch.where(silent, 0.0, grad_output / torch.where(silent, 1.0, result)) * bin_weights
            )
        grad_spectrum = spectrum * coefficient
    return _input_gradients(ctx, grad_spectrum, frames, window, in_place=False)


def _input_gradients(
    ctx, grad_spectrum: torch.Tensor, frames: torch.Tensor, window: torch.Tensor, *, in_place: bool
) -> tuple:
    """The frames' and window's gradients from the spectrum's (the adjoint of the windowed FFT): an inverse
    FFT, then one product per input. ``in_place`` reuses the inverse FFT's buffer for the window's product
    (first order only: a ``create_graph`` backward needs it unchanged)."""
    n_fft = frames.shape[-1]
    if ctx.onesided:
        grad_windowed = torch.fft.irfft(grad_spectrum, n=n_fft, norm="forward")
    else:
        grad_windowed = torch.fft.ifft(grad_spectrum, norm="forward").real
    grad_frames = grad_windowed * window if ctx.needs_input_grad[0] else None
    grad_window = None
    if ctx.needs_input_grad[1]:
        product = grad_windowed.mul_(frames) if in_place else grad_windowed * frames
        grad_window = product.sum(dim=tuple(range(frames.ndim - 1)))
    return grad_frames, grad_window, None, None


def _bin_weights(n_bins: int, n_fft: int, onesided: bool, dtype: torch.dtype, device: torch.device):
    """Per-bin factor of the inverse transform: 1/2 for rfft bins that irfft counts twice, else 1."""
    weights = torch.ones(n_bins, dtype=dtype, device=device)
    if onesided:
        mirrored_end = n_fft // 2 if n_fft % 2 == 0 else n_fft // 2 + 1
        weights[1:mirrored_end] = 0.5
    return weights


def windowed_fft(
    frames: torch.Tensor, window: torch.Tensor, *, onesided: bool = True, output: str = "complex"
) -> torch.Tensor:
    """DFT of every frame after multiplying it by ``window``.

    Args:
        frames: ``(..., n_frames, n_fft)`` real tensor (a strided view is fine).
        window: ``(n_fft,)`` real tensor, same dtype.
        onesided: return the ``n_fft // 2 + 1`` non-negative bins (rfft) instead of all ``n_fft``.
        output: ``"complex"``, ``"magnitude"`` or ``"power"``.

    Returns:
        ``(..., n_frames, n_bins)`` tensor: complex, or real for magnitude and power.
    """
    check_choice("output", output, OUTPUTS)
    return map_signals(lambda rows: _WindowedFFT.apply(rows, window, onesided, output), frames)
