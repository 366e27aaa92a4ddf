"""``untraced``: data-dependent ops run eagerly inside compiled models, and importing adaspec does not import
``torch._dynamo``."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import pytest
import torch

from adaspec.ops._tracing import is_exporting_onnx, require_static_length, untraced
from tests.helpers import counting_backend


def _scaled_by_plan(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Plans a Python integer from ``weight``'s value, as LEAF's band layout does."""
    steps = int(weight.detach().abs().sum().item() * 10) + 1
    return x * steps + weight.sum()


class _Model(torch.nn.Module):
    def __init__(self, op) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor([0.53]))
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.op(2 * x, self.weight) + 1).sum()


def _graphs_per_step(op) -> tuple[list[int], list[float]]:
    """Compile a model around ``op``, take five optimiser steps; graphs captured so far and outputs."""
    backend, graphs = counting_backend()
    torch._dynamo.reset()
    model = _Model(op)
    compiled = torch.compile(model, backend=backend)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    counts, outputs = [], []
    for _ in range(5):
        optimizer.zero_grad()
        out = compiled(torch.ones(3))
        out.backward()
        optimizer.step()
        counts.append(len(graphs))
        outputs.append(float(out.detach()))
    return counts, outputs


def test_untraced_op_is_not_recompiled_and_sees_new_values():
    counts, outputs = _graphs_per_step(untraced(_scaled_by_plan))
    assert counts[-1] == counts[0]
    weight, expected = 0.53, []
    for _ in range(5):  # closed form: 3 (2 steps + weight + 1); its gradient in weight is 3
        steps = int(abs(weight) * 10) + 1  # |weight| * 10: 5.3, 0.7, 6.7, 12.7, 18.7 (no integer nearby)
        expected.append(3 * (2 * steps + weight + 1))
        weight -= 0.2 * 3
    torch.testing.assert_close(torch.tensor(outputs), torch.tensor(expected), rtol=1e-5, atol=0)


def test_traced_plan_recompiles_without_it():
    """The failure ``untraced`` prevents: traced, the planned integer is specialised and guarded on."""
    counts, _ = _graphs_per_step(_scaled_by_plan)
    assert counts[-1] > counts[0]


def test_untraced_is_a_plain_call_outside_compilation():
    op = untraced(_scaled_by_plan)
    assert op.__name__ == "_scaled_by_plan" and op.__doc__ == _scaled_by_plan.__doc__
    x, weight = torch.ones(2), torch.tensor([0.25])
    torch.testing.assert_close(op(x, weight), x * 3 + 0.25)


def test_importing_adaspec_leaves_dynamo_unimported():
    code = "import sys, adaspec; print('torch._dynamo' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_is_exporting_onnx_only_under_onnx_export():
    """False eagerly and under plain torch.export, True under torch.onnx.export (which runs torch.export)."""
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(is_exporting_onnx())
            return 2 * x

    x = torch.ones(2, 3)
    Probe()(x)
    torch.export.export(Probe(), (x,), strict=False)
    assert seen == [False, False]
    pytest.importorskip("onnxscript")
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its progress
        torch.onnx.export(Probe().eval(), (x,), dynamo=True)
    assert seen[2:] and all(seen[2:])


def test_require_static_length_refuses_only_a_symbolic_length_under_export():
    """Eagerly and under torch.compile (which specialises a dynamic size) it passes; under torch.export a
    dynamic time axis is refused, a static one passes."""

    class Frames(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            require_static_length(x.shape[-1], "the probe")
            return x * 2

    x = torch.ones(2, 40)
    require_static_length(x.shape[-1], "the probe")
    compiled = torch.compile(Frames(), backend="aot_eager", dynamic=True)
    torch.testing.assert_close(compiled(torch.ones(3, 50)), torch.full((3, 50), 2.0))
    torch.export.export(Frames(), (x,), dynamic_shapes=({0: torch.export.Dim("batch")},), strict=False)
    time_too = ({0: torch.export.Dim("batch"), 1: torch.export.Dim("time")},)
    with pytest.raises(ValueError, match="the probe is planned from the signal length"):
        torch.export.export(Frames(), (x,), dynamic_shapes=time_too, strict=False)
