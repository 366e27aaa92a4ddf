"""Every registered front-end (and PCEN) under ``torch.compile``: the compiled module gives the eager
module's output and parameter gradients, also after its parameters change (nothing about them is baked
into a graph).

The backend is ``aot_eager``: Dynamo's capture and AOTAutograd's joint graph, as with Inductor, but with no
C++ compiler needed (the eager modules themselves are checked against librosa, pywt and ``torch.stft``
elsewhere)."""

from __future__ import annotations

import pytest
import torch

import adaspec
from tests.helpers import (
    LEARNABLE_CONFIGS,
    LEARNABLE_NAMES,
    build_learnable,
    counting_backend,
    learnable_input,
)

SR = 16000


def test_every_registered_frontend_has_a_config():
    assert set(LEARNABLE_CONFIGS) == set(adaspec.available_frontends())


def _step(
    module: torch.nn.Module, call: torch.nn.Module, x: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``call(x)`` (``module`` or its compiled wrapper) and the gradients of a fixed projection of it, for
    every parameter of ``module`` that trains."""
    module.zero_grad(set_to_none=True)
    out = call(x)
    if out.is_complex():
        out = torch.view_as_real(out)
    weights = torch.linspace(-1.0, 1.0, out.numel()).reshape(out.shape)
    if out.requires_grad:
        (out * weights).sum().backward()
    grads = {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}
    return out.detach(), grads


@pytest.mark.parametrize("name", LEARNABLE_NAMES)
def test_compiled_frontend_matches_eager(name, signal_factory):
    module = build_learnable(name)
    x = learnable_input(name, signal_factory, SR // 2)
    torch._dynamo.reset()
    compiled = torch.compile(module, backend="aot_eager")
    for _ in range(2):
        expected, expected_grads = _step(module, module, x)
        actual, actual_grads = _step(module, compiled, x)
        scale = expected.abs().max()
        torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * float(scale))
        assert actual_grads.keys() == expected_grads.keys()
        for key, grad in expected_grads.items():
            tolerance = 1e-5 * float(grad.abs().max())
            torch.testing.assert_close(actual_grads[key], grad, rtol=1e-4, atol=tolerance)
        with torch.no_grad():  # move every parameter: the second round must see the new values
            for parameter in module.parameters():
                parameter.mul_(1.01).add_(1e-3)


@pytest.mark.parametrize("name", LEARNABLE_NAMES)
def test_parameter_updates_do_not_recompile(name, signal_factory):
    """Graphs are captured once: an optimiser step changes values, not what Dynamo guards on (LEAF plans its
    bands and PCEN its smoother blocks from the values, so those ops stay out of the graph)."""
    module = build_learnable(name)
    x = learnable_input(name, signal_factory, SR // 4)
    backend, graphs = counting_backend()
    torch._dynamo.reset()
    compiled = torch.compile(module, backend=backend)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.05) if list(module.parameters()) else None
    captured = []
    for _ in range(4):
        out = compiled(x)
        if optimizer is not None and out.requires_grad:
            optimizer.zero_grad()
            out.abs().mean().backward()
            optimizer.step()
        captured.append(len(graphs))
    assert captured[0] > 0
    assert captured[-1] == captured[1], f"recompiled after parameter updates: graphs per step {captured}"
