"""Benchmark inference of every front-end in PyTorch (eager, ``torch.inference_mode``) against the same
front-end exported to ONNX and run in onnxruntime (CPU), with the largest difference between the two.

Config B of ``bench_fourier``: 64 signals x 1 s at 16 kHz, fp32; both sides use the same number of threads
(torch's intra-op threads, onnxruntime's ``intra_op_num_threads``, which do not spin between runs). The
models are exported with ``torch.onnx.export(..., dynamo=True)`` (exact FFTs, see ``adaspec.ops.onnx_fft``;
STFTs up to n_fft 1024 as matrix products) and timed interleaved with the eager modules (see ``_timing``);
ratios are medians measured in the same run.

Usage::

    python benchmarks/bench_onnx.py                   # about two minutes (most of it exporting)
    python benchmarks/bench_onnx.py --quick           # fewer rounds
    python benchmarks/bench_onnx.py --threads 1 --out onnx.md
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import _timing as timing
import adaspec

BATCH, SECONDS, SAMPLE_RATE = 64, 1.0, 16000


@dataclass(frozen=True)
class Row:
    """One front-end (its ``make`` builds it in eval mode)."""

    name: str
    make: Callable[[], torch.nn.Module]


ROWS: tuple[Row, ...] = (
    Row(
        "STFT n_fft 512, hop 128 (magnitude)",
        lambda: adaspec.STFT(n_fft=512, hop_length=128, output="magnitude"),
    ),
    Row(
        "MelSpectrogram n_fft 400, hop 160, 64 mels",
        lambda: adaspec.MelSpectrogram(sample_rate=SAMPLE_RATE, n_fft=400, hop_length=160, n_mels=64),
    ),
    Row(
        "MelSpectrogram n_fft 512, hop 128, 64 mels",
        lambda: adaspec.MelSpectrogram(sample_rate=SAMPLE_RATE, n_fft=512, hop_length=128, n_mels=64),
    ),
    Row(
        "MFCC 40 of 64 mels (n_fft 512, hop 128)",
        lambda: adaspec.MFCC(
            sample_rate=SAMPLE_RATE, n_mfcc=40, melkwargs={"n_fft": 512, "hop_length": 128, "n_mels": 64}
        ),
    ),
    Row(
        "CQT 84 bins from 32.7 Hz, hop 128",
        lambda: adaspec.CQT(
            sample_rate=SAMPLE_RATE, hop_length=128, f_min=32.70, n_bins=84, output="magnitude"
        ),
    ),
    Row(
        "CWT 64 Morlet scales from 50 Hz, hop 128",
        lambda: adaspec.CWT(sample_rate=SAMPLE_RATE, f_min=50.0, n_bins=64, hop_length=128),
    ),
    Row(
        "DEGram 64 filters (n_fft 512, hop 128)",
        lambda: adaspec.DEGram(sample_rate=SAMPLE_RATE, n_fft=512, hop_length=128, n_filters=64),
    ),
    Row("LEAF 40 filters, hop 160", lambda: adaspec.LEAF(sample_rate=SAMPLE_RATE, n_filters=40)),
)


def signal(seed: int = 0) -> torch.Tensor:
    """The test batch: ``BATCH`` signals of three tones plus white noise (see ``_timing.tones_and_noise``)."""
    return timing.tones_and_noise(BATCH, SECONDS, SAMPLE_RATE, seed)


def export_session(module: torch.nn.Module, x: torch.Tensor, folder: Path, threads: int):
    """Export ``module`` on ``x`` to ONNX and open it in onnxruntime with ``threads`` intra-op threads."""
    import onnxruntime

    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its progress
        program = torch.onnx.export(module, (x,), dynamo=True)
    path = folder / "model.onnx"
    program.save(str(path))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # onnxruntime's threads otherwise spin after each run, taking the cores from the next (eager) call.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run(*, quick: bool = False, rounds: int | None = None, threads: int | None = None) -> str:
    """Export every row, time eager and onnxruntime inference interleaved, return the markdown report.

    Args:
        quick: small time budget and few rounds.
        rounds: interleaved rounds (default: fitted to the budget).
        threads: threads for both runtimes (default: torch's current setting); restored after.
    """
    with timing.torch_threads(threads) as n_threads, tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        x = signal()
        feed = x.numpy()
        impls, errors, export_seconds = [], [], []
        for index, row in enumerate(ROWS):
            module = row.make().eval()
            began = time.perf_counter()
            folder = Path(tmp) / str(index)
            folder.mkdir()
            session = export_session(module, x, folder, n_threads)
            export_seconds.append(time.perf_counter() - began)
            name = session.get_inputs()[0].name

            def eager(module: torch.nn.Module = module) -> torch.Tensor:
                with torch.inference_mode():
                    return module(x)

            def onnx(session=session, name: str = name) -> np.ndarray:
                return session.run(None, {name: feed})[0]

            expected = eager()
            expected = torch.view_as_real(expected) if expected.is_complex() else expected
            errors.append(float(np.abs(onnx() - expected.numpy()).max() / expected.abs().max()))
            impls += [timing.Timed(f"{row.name} eager", eager), timing.Timed(f"{row.name} onnx", onnx)]
        budget = (10.0, 5, 15) if quick else (60.0, 15, 40)
        n_rounds, probes = timing.measure(impls, rounds, budget, warmup_calls=1 if quick else 2)
        elapsed = time.perf_counter() - start
        return render(impls, errors, export_seconds, n_rounds, probes, n_threads, elapsed)


def render(
    impls: Sequence[timing.Timed],
    errors: Sequence[float],
    export_seconds: Sequence[float],
    rounds: int,
    probes: tuple[float, float],
    threads: int,
    elapsed: float,
) -> str:
    """The markdown report: machine facts and the table."""
    table = []
    for row, eager, onnx, error, seconds in zip(
        ROWS, impls[0::2], impls[1::2], errors, export_seconds, strict=True
    ):
        eager_ms, onnx_ms = timing.median_ms(eager.samples), timing.median_ms(onnx.samples)
        table.append(
            [
                row.name,
                f"{eager_ms:.1f}",
                f"{onnx_ms:.1f}",
                f"{onnx_ms / eager_ms:.2f}x",
                f"{error:.1e}",
                f"{seconds:.0f}",
            ]
        )
    headers = [
        "Front-end (inference)",
        "PyTorch ms",
        "onnxruntime ms",
        "onnxruntime / PyTorch",
        "max diff",
        "export s",
    ]
    setup = (
        f"Batch {BATCH} x {SECONDS:g} s at {SAMPLE_RATE} Hz, fp32, {threads} thread(s) on both sides, eval "
        f"mode (PyTorch under inference_mode). {rounds} interleaved rounds; {timing.probe_note(probes)}. "
        "max diff: largest |onnxruntime - PyTorch| over the largest |PyTorch| value."
    )
    return timing.render_report(
        "Front-end inference: PyTorch eager vs ONNX in onnxruntime (CPU)",
        ["torch", "numpy", "adaspec", "onnxruntime", "onnxscript"],
        setup,
        timing.markdown_table(headers, table, "lrrrrr"),
        elapsed=elapsed,
    )


def missing_packages() -> list[str]:
    """The packages the export and onnxruntime need that cannot be imported (empty when all can)."""
    missing = []
    for name in ("onnx", "onnxscript", "onnxruntime"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the markdown report (and writes it with ``--out``).

    Returns:
        0, or 2 (with one line on stderr) when the ONNX packages are not installed: every row needs them.
    """
    args = timing.parse_benchmark_args(timing.benchmark_parser(__doc__), argv)
    missing = missing_packages()
    if missing:
        print(
            f"bench_onnx.py: {', '.join(missing)} not installed; every row needs the ONNX export and "
            "onnxruntime (pip install 'adaspec[onnx]')",
            file=sys.stderr,
        )
        return 2
    report = run(quick=args.quick, rounds=args.rounds, threads=args.threads)
    return timing.emit_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
