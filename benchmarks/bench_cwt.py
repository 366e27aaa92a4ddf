"""Benchmark the CWT front-end against pywt.cwt looped over the batch (CPU).

Config A: 16 signals x 3 s at 22.05 kHz, 84 log-spaced scales from 32.70 Hz at 12 per octave (to 3951 Hz),
hop 512 (130 frames), fp32 input, for each wavelet: complex Morlet (pywt ``cmor1.5-1.0``), real Morlet
(``morl``) and Ricker (``mexh``). pywt computes the transform at every sample (``method="fft"``, its
default ``precision``, float32 input, its fastest) and is then subsampled by the hop; CWT computes only the
hop-spaced outputs (one FFT of the padded signal, a fold of each wavelet's spectrum onto ``N / hop`` bins,
a small inverse FFT). The error column is ``max |CWT - pywt| / max |pywt|`` against pywt on the same
signals in float64 (pywt's own float32 result is listed too: it differs from its float64 one because
pywt rounds its sampling grid to float32). Timing is interleaved (see ``_timing``); ratios are medians
measured in the same run. The CWT keeps its fixed wavelets' spectra from one call to the next
(``cache_spectra``, the default), so its forward rows time the transform itself; the rows with
``cache_spectra=False`` rebuild the wavelets and their spectra in every call (what a first call costs).
Extra rows time CWT forward + backward with learnable Morlet parameters.

Usage::

    python benchmarks/bench_cwt.py               # about two minutes (pywt takes seconds per call)
    python benchmarks/bench_cwt.py --quick       # one timed pywt call per wavelet
    python benchmarks/bench_cwt.py --threads 1 --out cwt.md
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pywt
import torch

import _timing as timing
import adaspec

TARGET_SPEEDUP = 10.0  # CWT forward >= 10 x faster than pywt.cwt looped over the batch
TOLERANCE = 1e-4  # max |CWT - pywt| <= 1e-4 max |pywt|
BATCH, SECONDS, SAMPLE_RATE, HOP, BINS, F_MIN = 16, 3.0, 22050, 512, 84, 32.70
WAVELETS = (("morlet", "cmor1.5-1.0"), ("real_morlet", "morl"), ("ricker", "mexh"))


@dataclass
class Case:
    """One wavelet: our module, pywt's name, the reference and the measured errors."""

    wavelet: str
    pywt_name: str
    module: adaspec.CWT
    reference: np.ndarray | None = None
    pywt32: np.ndarray | None = None  # pywt's result of the last timed call (float32 input)
    ours_error: float = float("nan")
    pywt32_error: float = float("nan")


def signal(seed: int = 0) -> torch.Tensor:
    """A reproducible float32 ``(BATCH, samples)`` batch: a log chirp, three tones and white noise."""
    generator = torch.Generator().manual_seed(seed)
    n = round(SECONDS * SAMPLE_RATE)
    t = torch.arange(n, dtype=torch.float64) / SAMPLE_RATE
    ratio = 100.0
    chirp = torch.sin(
        2 * torch.pi * 40.0 * SECONDS / np.log(ratio) * (torch.exp(t / SECONDS * np.log(ratio)) - 1)
    )
    freqs = torch.rand(BATCH, 3, 1, generator=generator, dtype=torch.float64) * 3000 + 50
    tones = torch.sin(2 * torch.pi * freqs * t).sum(dim=1)
    noise = torch.randn(BATCH, n, generator=generator, dtype=torch.float64)
    return (0.5 * chirp + 0.3 * tones + 0.1 * noise).to(torch.float32)


def make_module(wavelet: str, learn: bool = False, cache: bool = True) -> adaspec.CWT:
    f_max = F_MIN * 2.0 ** ((BINS - 1) / 12.0)
    return adaspec.CWT(
        SAMPLE_RATE, wavelet, f_min=F_MIN, f_max=f_max, n_bins=BINS, hop_length=HOP, learn_wavelets=learn,
        output="complex", cache_spectra=cache,
    )  # fmt: skip


def pywt_batch(x: np.ndarray, scales: np.ndarray, name: str) -> np.ndarray:
    """pywt.cwt of every signal (all samples), then every HOP-th output: ``(batch, scales, frames)``."""
    return np.stack([pywt.cwt(row, scales, name, method="fft")[0][:, ::HOP] for row in x])


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def run(*, quick: bool = False, rounds: int | None = None, threads: int | None = None) -> str:
    """Time every row interleaved and return the markdown report."""
    with timing.torch_threads(threads):
        start = time.perf_counter()
        x = signal()
        x32, x64 = x.numpy(), x.double().numpy()
        cases = [Case(w, p, make_module(w)) for w, p in WAVELETS]
        impls, roles = [], []
        for case in cases:
            scales = case.module.scales.numpy()
            with torch.no_grad():
                ours = case.module(x).numpy()
            case.reference = pywt_batch(x64, scales, case.pywt_name)
            case.ours_error = relative_error(ours, case.reference)
            impls.append(timing.Timed(f"CWT {case.wavelet} forward", _forward(case.module, x)))
            roles.append(case)
            impls.append(
                timing.Timed(
                    f"pywt.cwt '{case.pywt_name}' fft, looped",
                    _pywt_call(case, x32),
                    max_rounds=1 if quick else 3,
                    warmup=0,
                )
            )
            roles.append(None)
        for wavelet, _ in WAVELETS:
            name = f"CWT {wavelet} forward, cache_spectra=False"
            impls.append(timing.Timed(name, _forward(make_module(wavelet, cache=False), x)))
            roles.append(None)
        for wavelet in ("morlet", "real_morlet"):
            step, reset = timing.projected_step(make_module(wavelet, learn=True), x, torch.abs)
            impls.append(timing.Timed(f"CWT {wavelet} fwd+bwd, learn_wavelets", step, reset))
            roles.append(None)
        budget = (10.0, 3, 10) if quick else (30.0, 10, 40)
        n_rounds, probes = timing.measure(impls, rounds, budget, warmup_calls=1 if quick else 2)
        return render(impls, roles, n_rounds, probes, time.perf_counter() - start)


def _pywt_call(case: Case, x: np.ndarray) -> Callable[[], None]:
    scales = case.module.scales.numpy()

    def call() -> None:
        case.pywt32 = pywt_batch(x, scales, case.pywt_name)

    return call


def _forward(module: adaspec.CWT, x: torch.Tensor) -> Callable[[], object]:
    def call() -> object:
        with torch.no_grad():
            return module(x)

    return call


def render(
    impls: Sequence[timing.Timed],
    roles: Sequence[Case | None],
    rounds: int,
    probes: tuple[float, float],
    elapsed: float,
) -> str:
    """The markdown report: machine facts, the table, the verdicts."""
    table, verdicts = [], []
    for case in roles:
        if case is not None:
            case.pywt32_error = relative_error(case.pywt32, case.reference)
    for index, (impl, case) in enumerate(zip(impls, roles, strict=True)):
        median = timing.median_ms(impl.samples)
        low, high = timing.iqr_ms(impl.samples)
        speedup, error, target, verdict = "-", "-", "-", "-"
        if case is not None:
            reference_ms = timing.median_ms(impls[index + 1].samples)
            ratio = reference_ms / median
            speedup, error = f"{ratio:.1f}x", f"{case.ours_error:.1e}"
            target = f">= {TARGET_SPEEDUP:g}x, err <= {TOLERANCE:g}"
            passed = ratio >= TARGET_SPEEDUP and case.ours_error <= TOLERANCE
            verdict = "PASS" if passed else "FAIL"
            verdicts.append(
                f"- {verdict}: CWT {case.wavelet} {ratio:.1f}x faster than pywt '{case.pywt_name}', max "
                f"error {case.ours_error:.1e} of max|W| (pywt's own float32 result: {case.pywt32_error:.1e})"
            )
        elif impl.name.startswith("pywt"):
            error = f"{roles[index - 1].pywt32_error:.1e} (fp32 vs fp64)"
        n = len(impl.samples)
        table.append(
            [impl.name, f"{median:.1f}", f"{low:.1f} - {high:.1f}", str(n), speedup, error, target, verdict]
        )
    headers = [
        "Case",
        "median ms",
        "IQR ms",
        "runs",
        "speed-up vs pywt",
        "max err / max|W|",
        "target",
        "PASS/FAIL",
    ]
    setup = (
        f"Config A: batch {BATCH} x {SECONDS:g} s at {SAMPLE_RATE} Hz, {BINS} log-spaced scales from "
        f"{F_MIN} Hz (12 per octave), hop {HOP} ({1 + (round(SECONDS * SAMPLE_RATE) - 1) // HOP} frames), "
        "fp32, complex output. pywt.cwt (method='fft') computes every sample of every signal, one call per "
        "signal, and is subsampled by the hop afterwards; CWT computes only the hop-spaced outputs. "
        f"{rounds} interleaved rounds (pywt capped); {timing.probe_note(probes)}."
    )
    return timing.render_report(
        "CWT vs pywt.cwt (CPU)",
        ["torch", "numpy", "pywt", "adaspec"],
        setup,
        timing.markdown_table(headers, table, "lrrrrrll"),
        [verdicts],
        elapsed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the markdown report (and writes it with ``--out``)."""
    return timing.run_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
