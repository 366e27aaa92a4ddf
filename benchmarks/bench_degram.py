"""Benchmark the DEGram front-end against a learnable MelSpectrogram on CPU (forward + backward).

Config B of ``bench_fourier``: 64 signals x 1 s at 16 kHz, n_fft 512, hop 128, periodic Hann, 64 bands,
fp32. Both front-ends train their filters (``learn_filters=True``) and keep the window fixed; DEGram runs
its full path (SincGram, log, TF attention, per-band z-score). A step is ``zero_grad``, forward, a fixed
random projection of the output summed to a scalar, backward. Timing is interleaved (see ``_timing``);
ratios are medians measured in the same run. Extra rows time DEGram with stages switched off, to show
where the time goes.

Usage::

    python benchmarks/bench_degram.py                    # under half a minute
    python benchmarks/bench_degram.py --quick            # a few seconds per row
    python benchmarks/bench_degram.py --threads 1 --out degram.md
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

import _timing as timing
import adaspec

TARGET_RATIO = 1.5  # DEGram fwd+bwd <= 1.5 x learnable MelSpectrogram fwd+bwd
BATCH, SECONDS, SAMPLE_RATE, N_FFT, HOP, BANDS = 64, 1.0, 16000, 512, 128, 64


@dataclass(frozen=True)
class Row:
    """One front-end to time; ``target`` marks the row judged against the reference."""

    name: str
    make: Callable[[], torch.nn.Module]
    target: bool = False


def _mel() -> torch.nn.Module:
    return adaspec.MelSpectrogram(
        sample_rate=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=BANDS, learn_filters=True
    )


def _degram(**switches: Any) -> Callable[[], torch.nn.Module]:
    def make() -> torch.nn.Module:
        return adaspec.DEGram(
            sample_rate=SAMPLE_RATE,
            n_fft=N_FFT,
            hop_length=HOP,
            n_filters=BANDS,
            learn_window=False,
            learn_filters=True,
            **switches,
        )

    return make


REFERENCE = Row("MelSpectrogram(learn_filters=True)", _mel)
ROWS: tuple[Row, ...] = (
    REFERENCE,
    Row("DEGram full (sincgram + log + attention + norm)", _degram(), target=True),
    Row("DEGram sincgram + log", _degram(attention=False, normalization=False)),
    Row("DEGram sincgram + log + attention", _degram(normalization=False)),
    Row("DEGram sincgram + log + norm", _degram(attention=False)),
)


def signal(seed: int = 0) -> torch.Tensor:
    """The test batch: ``BATCH`` signals of three tones plus white noise (see ``_timing.tones_and_noise``)."""
    return timing.tones_and_noise(BATCH, SECONDS, SAMPLE_RATE, seed)


def run(*, quick: bool = False, rounds: int | None = None, threads: int | None = None) -> str:
    """Time every row interleaved and return the markdown report.

    Args:
        quick: small time budget and few rounds.
        rounds: interleaved rounds (default: fitted to the budget).
        threads: torch intra-op threads for the run (default: torch's current setting); restored after.
    """
    with timing.torch_threads(threads):
        start = time.perf_counter()
        torch.manual_seed(0)
        x = signal()
        impls = []
        for row in ROWS:
            step, reset = timing.projected_step(row.make(), x)
            impls.append(timing.Timed(row.name, step, reset))
        budget = (4.0, 5, 15) if quick else (30.0, 15, 60)
        n_rounds, probes = timing.measure(impls, rounds, budget, warmup_calls=1 if quick else 3)
        return render(impls, n_rounds, probes, time.perf_counter() - start)


def render(impls: Sequence[timing.Timed], rounds: int, probes: tuple[float, float], elapsed: float) -> str:
    """The markdown report: machine facts, the table, the verdict."""
    reference_ms = timing.median_ms(impls[0].samples)
    table = []
    verdicts = []
    for row, impl in zip(ROWS, impls, strict=True):
        median = timing.median_ms(impl.samples)
        low, high = timing.iqr_ms(impl.samples)
        ratio = median / reference_ms
        target, verdict = "-", "-"
        if row.target:
            target, verdict = f"<= {TARGET_RATIO:g}x", "PASS" if ratio <= TARGET_RATIO else "FAIL"
            verdicts.append(f"- {verdict}: {row.name} fwd+bwd {ratio:.2f}x MelSpectrogram (target {target})")
        role = " (ref)" if row is REFERENCE else ""
        table.append(
            [row.name + role, f"{median:.2f}", f"{low:.2f} - {high:.2f}", f"{ratio:.2f}x", target, verdict]
        )
    headers = ["Case (fwd+bwd)", "median ms", "IQR ms", "ratio vs mel", "target", "PASS/FAIL"]
    setup = (
        f"Batch {BATCH} x {SECONDS:g} s at {SAMPLE_RATE} Hz, n_fft {N_FFT}, hop {HOP}, {BANDS} filters / "
        f"mels, fp32, window fixed, filters learnable. {rounds} interleaved rounds; "
        f"{timing.probe_note(probes)}."
    )
    return timing.render_report(
        "DEGram vs learnable MelSpectrogram, forward + backward (CPU)",
        ["torch", "numpy", "adaspec"],
        setup,
        timing.markdown_table(headers, table, "lrrrll"),
        [verdicts],
        elapsed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the markdown report (and writes it with ``--out``)."""
    return timing.run_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
