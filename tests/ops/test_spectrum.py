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


def test_safe_sqrt_gradgradcheck_and_second_derivative_zero_at_zero():
    power = torch.tensor([0.5, 4.0, 9.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(safe_sqrt, (power,))
    power = torch.tensor([0.0, 4.0], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(safe_sqrt(power).sum(), power, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), power)
    torch.testing.assert_close(second, torch.tensor([0.0, -0.25 * 4.0**-1.5], dtype=torch.float64))


@pytest.mark.parametrize("output", ["magnitude", "power", "complex"])
def test_parts_output_gradgradcheck(output):
    torch.manual_seed(0)
    real = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    imag = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)

    def run(r, i):
        result = parts_output(r, i, output)
        return torch.view_as_real(result) if result.is_complex() else result

    assert torch.autograd.gradgradcheck(run, (real, imag))
