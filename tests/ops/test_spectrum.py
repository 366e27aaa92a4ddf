"""Output conversion with finite gradients."""

from __future__ import annotations

import pytest
import torch

from adaspec.ops import parts_output, safe_sqrt


def test_safe_sqrt_gradient_is_zero_at_zero_and_exact_elsewhere():
    power = torch.tensor([0.0, 4.0, 9.0], dtype=torch.float64, requires_grad=True)
    safe_sqrt(power).sum().backward()
    torch.testing.assert_close(power.grad, torch.tensor([0.0, 0.25, 1 / 6], dtype=torch.float64))


def test_parts_output():
    real, imag = torch.tensor([3.0, 0.0]), torch.tensor([4.0, -2.0])
    torch.testing.assert_close(parts_output(real, imag, "complex"), torch.tensor([3 + 4j, -2j]))
    torch.testing.assert_close(parts_output(real, imag, "power"), torch.tensor([25.0, 4.0]))
    torch.testing.assert_close(parts_output(real, imag, "magnitude"), torch.tensor([5.0, 2.0]))
    with pytest.raises(ValueError, match="output"):
        parts_output(real, imag, "phase")
