"""Every registered front-end (and PCEN) under ``torch.compile``: the compiled module gives the eager
module's output and parameter gradients, also after its parameters change (nothing about them is baked
into a graph), and all but LEAF compile as one graph (``fullgraph=True``), fixed-kernel fast paths
included.

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
    weights = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)
    if out.requires_grad:
        (out * weights).sum().backward()
    grads = {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}
    return out.detach(), grads


@pytest.mark.parametrize("name", LEARNABLE_NAMES)
def test_compiled_frontend_matches_eager(name, signal_factory):
    # float64: some compiled paths round differently (PCEN's smoother is solved by a doubling scan when
    # traced, by blocked cumulative sums eagerly on the CPU), and float32 LEAF gradients are only good to
    # a few 1e-4 of float64's either way; in float64 both agree far below the tolerance.
    module = build_learnable(name).double()
    x = learnable_input(name, signal_factory, SR // 2).double()
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
    bands from the values, so that op stays out of the graph; traced, PCEN's smoother blocks do not depend
    on them)."""
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


#: Front-ends that keep a graph break: LEAF's band op plans from the parameters' values.
GRAPH_BREAKS = {"leaf"}
#: Fixed-kernel configurations: STFT's and the direct CQT's fast paths (FFT, spectral kernels) are chosen by
#: a check of the kernels' values made eagerly and taken as it stands while traced; a fixed CWT keeps its
#: wavelet spectra between calls, and its graph reads them from the module (see test_cwt_compile.py).
FIXED_KERNELS = {
    "stft-fixed": lambda: adaspec.STFT(n_fft=256, hop_length=64),
    "mel-fixed": lambda: adaspec.MelSpectrogram(sample_rate=SR, n_fft=256, hop_length=64, n_mels=24),
    "cwt-fixed": lambda: adaspec.CWT(sample_rate=SR, hop_length=128, f_min=100.0, n_bins=24),
    "cqt-direct-fixed": lambda: adaspec.CQT(
        sample_rate=SR, hop_length=128, f_min=100.0, n_bins=24, algorithm="direct"
    ),
}
ONE_GRAPH = {
    **{
        name: (lambda name=name: build_learnable(name))
        for name in LEARNABLE_NAMES
        if name not in GRAPH_BREAKS
    },
    **FIXED_KERNELS,
}


@pytest.mark.parametrize("name", sorted(ONE_GRAPH))
def test_compiles_as_one_graph(name, signal_factory):
    module = ONE_GRAPH[name]()
    x = learnable_input(name.removesuffix("-fixed").removesuffix("-direct"), signal_factory, SR // 2)
    backend, graphs = counting_backend()
    torch._dynamo.reset()
    compiled = torch.compile(module, backend=backend, fullgraph=True)  # a graph break raises
    expected, expected_grads = _step(module, module, x)
    actual, actual_grads = _step(module, compiled, x)
    assert len(graphs) == 1
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * float(expected.abs().max()))
    assert actual_grads.keys() == expected_grads.keys()
    for key, grad in expected_grads.items():
        torch.testing.assert_close(actual_grads[key], grad, rtol=1e-4, atol=1e-5 * float(grad.abs().max()))


def test_compiled_stft_follows_fixed_kernels_changed_through_kernels_changed(signal_factory):
    # Oracle: torch.stft. The compiled module takes the FFT path on the DFT kernels; after an edit through
    # .data and kernels_changed() it recompiles to the dense product of the edited kernels.
    module = adaspec.STFT(n_fft=256, hop_length=64, window="hann", output="complex")
    x = signal_factory((2, SR // 4), SR)
    backend, graphs = counting_backend()
    torch._dynamo.reset()
    compiled = torch.compile(module, backend=backend, fullgraph=True)
    window = torch.hann_window(256, periodic=True)
    reference = torch.stft(
        x, 256, hop_length=64, window=window, center=True, pad_mode="reflect", return_complex=True
    )
    scale = float(reference.abs().max())
    torch.testing.assert_close(compiled(x), reference, rtol=0, atol=1e-5 * scale)
    module.kernel_real.data[5:9] *= 2.0
    module.kernels_changed()
    edited = reference.clone()
    edited[:, 5:9] = torch.complex(2.0 * reference.real[:, 5:9], reference.imag[:, 5:9])
    torch.testing.assert_close(compiled(x), edited, rtol=0, atol=1e-5 * scale)
    assert len(graphs) == 2  # the verdict changed: recompiled once


@pytest.mark.parametrize("name", sorted(ONE_GRAPH))
def test_compiles_as_one_graph_with_dynamic_shapes(name, signal_factory):
    """``dynamic=True`` makes sizes and the modules' float attributes symbolic: the checks of parameters and
    lengths must still trace (``math.isfinite``, an f-string or ``in`` on a symbolic value broke the graph;
    front-ends that plan from the length specialise on it instead)."""
    module = ONE_GRAPH[name]()
    x = learnable_input(name.removesuffix("-fixed").removesuffix("-direct"), signal_factory, SR // 2)
    torch._dynamo.reset()
    compiled = torch.compile(module, backend="aot_eager", fullgraph=True, dynamic=True)
    expected, expected_grads = _step(module, module, x)
    actual, actual_grads = _step(module, compiled, x)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * float(expected.abs().max()))
    assert actual_grads.keys() == expected_grads.keys()
    for key, grad in expected_grads.items():
        torch.testing.assert_close(actual_grads[key], grad, rtol=1e-4, atol=1e-5 * float(grad.abs().max()))
