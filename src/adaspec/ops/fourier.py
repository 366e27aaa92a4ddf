"""FFT of windowed frames with a backward pass that costs one inverse FFT."""

from __future__ import annotations

import torch


class _WindowedFFT(torch.autograd.Function):
    """``fft(frames * window)`` whose gradient for the window and the frames costs one inverse FFT.

    PyTorch's generic rfft backward pads and runs a full complex FFT (3-4x the forward on CPU); here the
    adjoint of the real-input DFT is written out: for a complex output gradient ``G`` (PyTorch's convention
    ``dL/dRe + i dL/dIm``) the gradient of the windowed frame is ``Re(sum_k G_k exp(+2i pi k n / N))``,
    which is one unnormalised inverse real FFT once the bins that stand for two conjugate bins are halved.
    """

    @staticmethod
    def forward(ctx, frames: torch.Tensor, window: torch.Tensor, onesided: bool) -> torch.Tensor:  # type: ignore[override]
        windowed = frames * window
        spectrum = torch.fft.rfft(windowed) if onesided else torch.fft.fft(windowed)
        ctx.onesided = onesided
        ctx.save_for_backward(frames, window)
        return spectrum

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_spectrum: torch.Tensor):  # type: ignore[override]
        frames, window = ctx.saved_tensors
        n_fft = frames.shape[-1]
        if ctx.onesided:
            grad_windowed = torch.fft.irfft(
                _halve_mirrored_bins(grad_spectrum, n_fft), n=n_fft, norm="forward"
            )
        else:
            grad_windowed = torch.fft.ifft(grad_spectrum, norm="forward").real
        grad_frames = grad_windowed * window if ctx.needs_input_grad[0] else None
        grad_window = None
        if ctx.needs_input_grad[1]:
            leading = tuple(range(frames.ndim - 1))
            grad_window = (grad_windowed * frames).sum(dim=leading)
        return grad_frames, grad_window, None


def _halve_mirrored_bins(grad: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Halve the bins that irfft counts twice (all but DC and, for even n_fft, Nyquist)."""
    last = n_fft // 2 if n_fft % 2 == 0 else n_fft // 2 + 1
    scale = torch.full((grad.shape[-1],), 0.5, dtype=grad.real.dtype, device=grad.device)
    scale[0] = 1.0
    if last < grad.shape[-1]:
        scale[last] = 1.0
    return grad * scale


def windowed_fft(frames: torch.Tensor, window: torch.Tensor, *, onesided: bool = True) -> torch.Tensor:
    """DFT of every frame after multiplying it by ``window``.

    Args:
        frames: ``(..., n_frames, n_fft)`` real tensor (a strided view is fine).
        window: ``(n_fft,)`` real tensor, same dtype.
        onesided: return the ``n_fft // 2 + 1`` non-negative bins (rfft) instead of all ``n_fft``.

    Returns:
        ``(..., n_frames, n_bins)`` complex tensor.
    """
    return _WindowedFFT.apply(frames, window, onesided)
