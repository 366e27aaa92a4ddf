"""Benchmark every front-end on a GPU (or any device), forward + backward, at config B.

Config B: 64 signals x 1 s at 16 kHz, fp32, every learnable part of each front-end trained. The rows are
those of the CPU targets of issue 4 and the Fourier front-ends, on one device: LEAF (40 and 64 filters)
against a MelSpectrogram with the same band count (n_fft 512, hop 160, learnable filterbank); DEGram
(64 filters) against a 64-band MelSpectrogram at its hop (128); the mel spectrogram as
``filters @ torch.stft(...).abs().pow(2)`` (torchaudio's recipe, the peer) and adaspec's STFT, CQT and CWT
against that same 64-band mel. A step is ``zero_grad``, forward, a fixed random projection of the output
summed to a scalar, backward, then a device synchronisation. Timing is interleaved (see ``_timing``);
ratios are medians measured in the same run, and on a GPU each row also reports its peak memory in a step.

The issue's targets (LEAF <= 3x, DEGram <= 1.5x the mel) are set for the CPU (``bench_leaf.py``,
``bench_degram.py``); this table states the same ratios on the device it runs on, for information.

It needs only torch, numpy and adaspec's sources (no librosa), so it runs on a machine where adaspec is not
installed::

    PYTHONPATH=src:benchmarks python3 benchmarks/bench_gpu.py --out gpu.md     # device cuda
    python benchmarks/bench_gpu.py --device cpu --quick                        # a dry run here
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

import _timing as timing
import adaspec
from adaspec.kernels import mel_filterbank

BATCH, SECONDS, SAMPLE_RATE, N_FFT = 64, 1.0, 16000, 512
LEAF_HOP, DEGRAM_HOP = 160, 128
TARGETS = {"LEAF": 3.0, "DEGram": 1.5}  # the CPU targets of issue 4, stated here for information


@dataclass(frozen=True)
class Row:
    """One front-end to time; ``reference`` names the row its ratio is taken against."""

    name: str
    make: Callable[[], nn.Module]
    reference: str | None = None
    target: float | None = None


class TorchStftMel(nn.Module):
    """``filters @ torch.stft(x).abs().pow(2)`` with a learnable filterbank (torchaudio's recipe)."""

    def __init__(self, n_mels: int, hop_length: int) -> None:
        super().__init__()
        self.hop_length = hop_length
        self.register_buffer("window", torch.hann_window(N_FFT))
        self.filters = nn.Parameter(mel_filterbank(N_FFT, SAMPLE_RATE, n_mels, dtype=torch.float32))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(
            waveform, N_FFT, self.hop_length, window=self.window, center=True, return_complex=True
        )
        return torch.matmul(self.filters, spectrum.abs().pow(2))


def _mel(bands: int, hop: int) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        return adaspec.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=N_FFT, hop_length=hop, n_mels=bands, learn_filters=True
        )

    return make


def _leaf(bands: int) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        return adaspec.LEAF(SAMPLE_RATE, n_filters=bands, hop_length=LEAF_HOP)

    return make


def _degram() -> nn.Module:
    return adaspec.DEGram(
        sample_rate=SAMPLE_RATE, n_fft=N_FFT, hop_length=DEGRAM_HOP, n_filters=64, learn_filters=True
    )


def _stft() -> nn.Module:
    return adaspec.STFT(
        n_fft=N_FFT, hop_length=DEGRAM_HOP, output="power", learn_window=True, learn_kernels=True
    )


def _cqt() -> nn.Module:
    return adaspec.CQT(
        sample_rate=SAMPLE_RATE, hop_length=DEGRAM_HOP, n_bins=84, output="magnitude", learn_kernels=True
    )


def _cwt() -> nn.Module:
    return adaspec.CWT(
        SAMPLE_RATE, "morlet", f_min=50.0, n_bins=64, hop_length=DEGRAM_HOP, output="magnitude",
        learn_wavelets=True,
    )  # fmt: skip


def rows() -> list[Row]:
    """Every row; each reference comes before the rows measured against it."""
    mel40 = "MelSpectrogram 40 mels, hop 160 (learn_filters)"
    mel64 = "MelSpectrogram 64 mels, hop 160 (learn_filters)"
    mel64b = "MelSpectrogram 64 mels, hop 128 (learn_filters)"
    return [
        Row(mel40, _mel(40, LEAF_HOP)),
        Row("LEAF 40 filters (all learnable)", _leaf(40), mel40, TARGETS["LEAF"]),
        Row(mel64, _mel(64, LEAF_HOP)),
        Row("LEAF 64 filters (all learnable)", _leaf(64), mel64, TARGETS["LEAF"]),
        Row(mel64b, _mel(64, DEGRAM_HOP)),
        Row("DEGram 64 filters (filters + attention learnable)", _degram, mel64b, TARGETS["DEGram"]),
        Row(
            "torch.stft -> power -> learnable mel matmul (peer)", lambda: TorchStftMel(64, DEGRAM_HOP), mel64b
        ),
        Row("STFT n_fft 512, power (learn_window + learn_kernels)", _stft, mel64b),
        Row("CQT 84 bins from 32.7 Hz, magnitude (learn_kernels)", _cqt, mel64b),
        Row("CWT Morlet 64 bins from 50 Hz, magnitude (learn_wavelets)", _cwt, mel64b),
    ]


def signal(device: torch.device) -> torch.Tensor:
    """The test batch on ``device``: ``BATCH`` signals of three tones plus white noise (see
    ``_timing.tones_and_noise``)."""
    return timing.tones_and_noise(BATCH, SECONDS, SAMPLE_RATE).to(device)


def synchronizing(step: Callable[[], None], device: torch.device) -> Callable[[], None]:
    """``step`` followed by waiting for the device (a no-op on the CPU), so that the time is the work's."""
    if device.type != "cuda":
        return step

    def synchronized() -> None:
        step()
        torch.cuda.synchronize(device)

    return synchronized


def peak_memory_mib(
    step: Callable[[], None], reset: Callable[[], None], device: torch.device
) -> float | None:
    """Peak device memory allocated during one step above what was allocated before it (CUDA only)."""
    if device.type != "cuda":
        return None
    reset()
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    step()
    torch.cuda.synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - before) / 2**20


def run(device: torch.device, *, quick: bool = False, rounds: int | None = None) -> str:
    """Time every row interleaved on ``device`` and return the markdown report."""
    start = time.perf_counter()
    torch.manual_seed(0)
    x = signal(device)
    table_rows = rows()
    impls, peaks = [], {}
    for row in table_rows:
        module = row.make().to(device)
        step, reset = timing.projected_step(module, x)
        step = synchronizing(step, device)
        peaks[row.name] = peak_memory_mib(step, reset, device)
        impls.append(timing.Timed(row.name, step, reset))
    budget = (6.0, 5, 15) if quick else (60.0, 20, 100)
    n_rounds, _ = timing.measure(impls, rounds, budget, warmup_calls=1 if quick else 3)
    return render(device, table_rows, impls, peaks, n_rounds, time.perf_counter() - start)


def render(
    device: torch.device,
    table_rows: Sequence[Row],
    impls: Sequence[timing.Timed],
    peaks: dict[str, float | None],
    n_rounds: int,
    elapsed: float,
) -> str:
    """The markdown report: the device, the table, the ratios against the CPU targets."""
    medians = {impl.name: timing.median_ms(impl.samples) for impl in impls}
    table, verdicts = [], []
    for row, impl in zip(table_rows, impls, strict=True):
        low, high = timing.iqr_ms(impl.samples)
        ratio_text = "(ref)"
        if row.reference is not None:
            ratio = medians[row.name] / medians[row.reference]
            ratio_text = f"{ratio:.2f}x"
            if row.target is not None:
                within = "within" if ratio <= row.target else "above"
                verdicts.append(
                    f"- {row.name}: {ratio:.2f}x its mel, {within} the CPU target <= {row.target:g}x"
                )
        peak = peaks[row.name]
        peak_text = "-" if peak is None else f"{peak:.0f}"
        table.append([row.name, f"{medians[row.name]:.2f}", f"{low:.2f} - {high:.2f}", ratio_text, peak_text])
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else timing.cpu_model()
    lines = [
        f"# Front-ends forward + backward on {device.type} ({name})",
        "",
        f"- **torch**: {torch.__version__}; threads {torch.get_num_threads()}",
        f"- Batch {BATCH} x {SECONDS:g} s at {SAMPLE_RATE} Hz, fp32, {n_rounds} interleaved rounds",
        "",
        timing.markdown_table(
            ["Case (fwd+bwd)", "median ms", "IQR ms", "ratio vs its mel", "peak MiB"], table, "lrrrr"
        ),
        "",
        *verdicts,
        "",
        f"Total benchmark wall time: {elapsed:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the markdown report (and writes it with ``--out``)."""
    parser = timing.benchmark_parser(__doc__)
    parser.add_argument("--device", default="cuda", help="torch device to run on (default cuda)")
    args = timing.parse_benchmark_args(parser, argv)
    try:
        device = torch.device(args.device)
    except RuntimeError as err:
        parser.error(f"--device: {err}")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here (use --device cpu for a dry run)")
    with timing.torch_threads(args.threads):
        report = run(device, quick=args.quick, rounds=args.rounds)
    return timing.emit_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
