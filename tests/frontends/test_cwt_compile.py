"""CWT under ``torch.compile``: fixed wavelets' spectra are read from the module, not rebuilt in the graph
of every call; learnable ones are built in the graph (their gradients flow). The eager module is the
oracle (it is checked against pywt in test_cwt.py), in float64."""

from __future__ import annotations

import torch

from adaspec import CWT
from tests.helpers import counting_backend

SR = 16000
OPTIONS = {"sample_rate": SR, "hop_length": 128, "f_min": 100.0, "n_bins": 12, "output": "complex"}


def _ops(graph: torch.fx.GraphModule) -> dict[str, int]:
    """How often the graph takes the running integral of wavelets (the first step of building them) and
    forward FFTs (the signal's, and any wavelet spectra's)."""
    targets = [node.target for node in graph.graph.nodes if node.op == "call_function"]
    ffts = sum(target in (torch.fft.fft, torch.fft.rfft) for target in targets)
    return {"cumsum": targets.count(torch.cumsum), "fft": ffts}


def _compiled(module: torch.nn.Module) -> tuple[torch.nn.Module, list]:
    """``module`` compiled as one graph, and the list of graphs it captures."""
    backend, graphs = counting_backend()
    torch._dynamo.reset()
    return torch.compile(module, backend=backend, fullgraph=True), graphs


def _close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-12 * float(expected.abs().max()))


def test_compiled_fixed_cwt_reads_its_kept_spectra(signal_factory) -> None:
    module = CWT(**OPTIONS).double()
    x = signal_factory((3, 6000), SR, torch.float64)
    compiled, graphs = _compiled(module)
    for _ in range(3):
        _close(compiled(x), module(x))
    assert len(graphs) == 1
    assert _ops(graphs[0]) == {"cumsum": 0, "fft": 1}  # the signal's FFT only


def test_compiled_learnable_cwt_builds_its_spectra_in_the_graph(signal_factory) -> None:
    module = CWT(**OPTIONS, learn_wavelets=True).double()
    x = signal_factory((2, 6000), SR, torch.float64)
    compiled, graphs = _compiled(module)
    weights = torch.linspace(-1.0, 1.0, 2 * 12 * 47, dtype=torch.float64).reshape(2, 12, 47)
    grads = []
    for call in (compiled, module):
        module.zero_grad(set_to_none=True)
        (call(x).abs() * weights).sum().backward()
        grads.append([p.grad.clone() for p in (module.center_logits, module.log_bandwidth)])
    for actual, expected in zip(*grads, strict=True):
        torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-12 * float(expected.abs().max()))
    assert _ops(graphs[0])["cumsum"] == 2  # the real and imaginary parts' running integrals
    module.learn_wavelets = False  # fixed from now on: traced again, reading the kept spectra
    with torch.no_grad():
        _close(compiled(x), module(x))
    assert len(graphs) == 2 and _ops(graphs[1]) == {"cumsum": 0, "fft": 1}


def test_compiled_fixed_cwt_follows_lengths_moves_and_kernel_changes(signal_factory) -> None:
    module = CWT(**OPTIONS)
    long, short = signal_factory((2, 6000), SR), signal_factory((2, 4000), SR)
    compiled, graphs = _compiled(module)
    for x in (long, short, long, short):  # one graph per length, each with its own spectra
        _close(compiled(x), module(x))
    assert len(graphs) == 2
    module.double()  # moved: traced again with spectra of the float64 parameters
    long, short = long.double(), short.double()
    _close(compiled(long), module(long))
    assert len(graphs) == 3
    module.log_bandwidth.data += 0.3  # not seen until kernels_changed, which refills the spectra in place
    module.kernels_changed()
    _close(compiled(long), module(long))
    module.load_state_dict(CWT(**OPTIONS).double().state_dict())
    _close(compiled(long), CWT(**OPTIONS).double()(long))
    assert len(graphs) == 3
