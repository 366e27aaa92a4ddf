"""Turning complex spectra into the requested output with gradients that stay finite."""

from __future__ import annotations

import torch

from .._validation import check_choice

OUTPUTS = ("complex", "magnitude", "power")


class _ComplexPower(torch.autograd.Function):
    """``|X|^2 = re^2 + im^2`` of a complex tensor; much cheaper than ``X.abs() ** 2`` on CPU."""

    @staticmethod
    def forward(ctx, spectrum: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        parts = torch.view_as_real(spectrum)
        real, imag = parts[..., 0], parts[..., 1]
        power = real * real
        power.addcmul_(imag, imag)
        ctx.save_for_backward(spectrum)
        return power

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_power: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (spectrum,) = ctx.saved_tensors
        # PyTorch's complex gradient convention: dL/dRe + i dL/dIm = 2 g (re + i im).
        return spectrum * (2.0 * grad_power)


class _SafeSqrt(torch.autograd.Function):
    """Square root whose gradient is 0 (not inf/NaN) where the input is 0."""

    @staticmethod
    def forward(ctx, power: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        root = power.sqrt()
        ctx.save_for_backward(root)
        return root

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_root: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (root,) = ctx.saved_tensors
        grad = grad_root / (2.0 * root)
        return grad.masked_fill_(root == 0, 0.0)


def complex_power(spectrum: torch.Tensor) -> torch.Tensor:
    """``|X|^2`` of a complex tensor (real result, same shape)."""
    return _ComplexPower.apply(spectrum)


def safe_sqrt(power: torch.Tensor) -> torch.Tensor:
    """``sqrt(power)`` with a zero gradient at zero."""
    return _SafeSqrt.apply(power)


def spectrum_output(spectrum: torch.Tensor, output: str) -> torch.Tensor:
    """Return the complex spectrum, its magnitude or its power.

    Args:
        spectrum: complex tensor.
        output: ``"complex"``, ``"magnitude"`` or ``"power"``.
    """
    check_choice("output", output, OUTPUTS)
    if output == "complex":
        return spectrum
    power = complex_power(spectrum)
    return power if output == "power" else safe_sqrt(power)
