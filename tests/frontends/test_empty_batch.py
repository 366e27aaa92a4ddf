"""A batch of no signals: every registered front-end returns an empty result of the shape the batch
implies (as torch's own layers do) instead of the FFT library's error, and a backward through it gives
zero gradients (a sum over no examples)."""

from __future__ import annotations

import pytest
import torch

from tests.helpers import LEARNABLE_CONFIGS, build_learnable

N_SAMPLES = 4000
#: ``amplitude_to_db`` takes ``(..., freq, frames)`` power spectrograms; the others waveforms.
EXAMPLE_SHAPES = {"amplitude_to_db": (24, 50)}


def _example_shape(name: str) -> tuple[int, ...]:
    return EXAMPLE_SHAPES.get(name, (N_SAMPLES,))


@pytest.mark.parametrize("leading", [(0,), (3, 0)])
@pytest.mark.parametrize("name", sorted(LEARNABLE_CONFIGS))
def test_empty_batch_gives_empty_output_and_zero_gradients(name, leading):
    module = build_learnable(name)
    example = _example_shape(name)
    with torch.no_grad():
        one = module(torch.rand(example))  # the shape of one example's result
    empty = torch.zeros(*leading, *example, requires_grad=True)
    out = module(empty)
    assert out.shape == (*leading, *one.shape)
    assert out.dtype == one.dtype
    (out.abs() if out.is_complex() else out).sum().backward()
    assert empty.grad is not None and empty.grad.shape == empty.shape
    trained = [(key, p.grad) for key, p in module.named_parameters() if p.requires_grad]
    for key, grad in trained:
        assert grad is None or not grad.any(), f"{key} has a gradient from no examples"


def test_non_empty_batches_are_unchanged_by_the_empty_batch_path():
    """The helper only acts on empty batches: a batch of two gives each signal's own result."""
    module = build_learnable("leaf")
    signals = torch.randn(2, N_SAMPLES, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        batch = module(signals)
        each = torch.stack([module(signal) for signal in signals])
    torch.testing.assert_close(batch, each, rtol=1e-5, atol=1e-6)
