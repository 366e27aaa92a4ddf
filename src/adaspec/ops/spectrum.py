"""Turning real and imaginary parts into the requested output with gradients that stay finite."""

from __future__ import annotations

import torch

from .._validation import check_choice

OUTPUTS = ("complex", "magnitude", "power")


class _SafeSqrt(torch.autograd.Function):
    """Square root whose gradient is 0 (not inf/NaN) where the input is 0.

    Double backward is supported: with grad mode on inside ``backward`` (``create_graph=True``) the
    gradient is formed out of place from the saved output with a safe divisor, so its own derivative is
    also 0 (not NaN) at 0; otherwise the in-place first-order code runs unchanged.
    """

    @staticmethod
    def forward(ctx, power: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        root = power.sqrt()
        ctx.save_for_backward(root)
        return root

    @staticmethod
    def backward(ctx, grad_root: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (root,) = ctx.saved_tensors
        if torch.is_grad_enabled():
            zero = root == 0
            return torch.where(zero, 0.0, grad_root / (2.0 * torch.where(zero, 1.0, root)))
        grad = grad_root / (2.0 * root)
        return grad.masked_fill_(root == 0, 0.0)


def safe_sqrt(power: torch.Tensor) -> torch.Tensor:
    """``sqrt(power)`` with a zero gradient at zero."""
    return _SafeSqrt.apply(power)


def parts_output(real: torch.Tensor, imag: torch.Tensor, output: str) -> torch.Tensor:
    """Combine real and imaginary parts into a complex tensor, its magnitude or its power.

    Args:
        real: real parts.
        imag: imaginary parts, same shape.
        output: ``"complex"``, ``"magnitude"`` or ``"power"``.
    """
    check_choice("output", output, OUTPUTS)
    if output == "complex":
        return torch.complex(real, imag)
    power = real.square() + imag.square()
    return power if output == "power" else safe_sqrt(power)
