"""Benchmark LEAF (all learnable) against a learnable MelSpectrogram on CPU (forward + backward).

Config B of ``bench_fourier``: 64 signals x 1 s at 16 kHz, fp32. LEAF: 25 ms window, 10 ms hop (160
samples), Gabor filters, pooling and PCEN all learnable. The reference is adaspec's MelSpectrogram with
n_fft 512, hop 160, the same number of bands and ``learn_filters=True`` (window fixed); a MelSpectrogram
with n_fft 400 (LEAF's 25 ms window) is timed too. Both 40 and 64 bands are run. A step is ``zero_grad``,
forward, a fixed random projection of the output summed to a scalar, backward. Timing is interleaved (see
``_timing``); ratios are medians measured in the same run. Extra rows time LEAF with its parameters nudged
(untimed) before every step, so that each step plans its bands afresh as in training; LEAF's two halves
alone (Gabor energies + pooling without PCEN, and PCEN on a spectrogram of LEAF's output shape); the band
FFTs alone (the four FFTs per group of bands a step makes, on fixed data: the floor of the band-wise
algorithm); LEAF computed the way its paper does (stride-1 convolution with 401-tap filters, a few
rounds only); and, where SpeechBrain is installed (``make bench-peers``), SpeechBrain's LEAF
(``speechbrain.lobes.features.Leaf``, the most used PyTorch port; see ``_speechbrain.py``), a few rounds
only. The report also gives the accuracy of LEAF's Gabor energies + pooling against direct
stride-1 computations (float64, 0.25 s).

Target: LEAF forward+backward <= 3 x MelSpectrogram forward+backward (EfficientLEAF reports about 10 x for
the original LEAF).

Usage::

    python benchmarks/bench_leaf.py                     # about two minutes
    python benchmarks/bench_leaf.py --quick             # a few seconds per row
    python benchmarks/bench_leaf.py --threads 1 --out leaf.md
    python benchmarks/bench_leaf.py --batch 16 --bands 40  # a training-sized batch (target not judged)
    python benchmarks/bench_leaf.py --hop 128              # config B's STFT hop for both (not judged)
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

import _timing as timing
import adaspec
from _speechbrain import load_leaf_class, speechbrain_leaf
from adaspec.kernels import gabor_impulse_responses, gaussian_lowpass
from adaspec.ops import gabor_pooled_energy
from adaspec.ops.gabor_plan import make_plan

TARGET_RATIO = 3.0  # LEAF fwd+bwd <= 3 x learnable MelSpectrogram fwd+bwd
BATCH, SECONDS, SAMPLE_RATE, HOP = 64, 1.0, 16000, 160
WINDOW_MS = 25.0  # LEAF's filter and pooling window (401 samples at 16 kHz)
BAND_COUNTS = (40, 64)


class GaborPooling(nn.Module):
    """LEAF without PCEN: the Gabor energies and pooling of a :class:`adaspec.LEAF` (its parameters)."""

    def __init__(self, leaf: adaspec.LEAF) -> None:
        super().__init__()
        self.leaf = leaf

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        leaf = self.leaf
        return gabor_pooled_energy(
            waveform, leaf.centers, leaf.filter_widths, leaf.pooling_widths, leaf.hop_length
        )


class DirectLEAF(nn.Module):
    """LEAF computed as in its paper: stride-1 convolution with the 401-tap complex Gabor filters, squared
    modulus, 401-tap Gaussian pooling with stride ``hop``, PCEN (the parameters of an ``adaspec.LEAF``)."""

    def __init__(self, leaf: adaspec.LEAF) -> None:
        super().__init__()
        self.leaf = leaf

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        leaf, n = self.leaf, self.leaf.window_length
        impulse = torch.flip(leaf.impulse_responses(n), [-1])  # conv1d correlates
        kernels = torch.cat([impulse.real, impulse.imag])[:, None]
        filtered = nn.functional.conv1d(waveform[:, None], kernels, padding=n // 2)
        energy = filtered[:, : leaf.n_filters] ** 2 + filtered[:, leaf.n_filters :] ** 2
        pooling = gaussian_lowpass(leaf.pooling_widths, n)[:, None]
        pooled = nn.functional.conv1d(
            energy, pooling, stride=leaf.hop_length, padding=n // 2, groups=leaf.n_filters
        )
        return leaf.pcen(pooled)


class _BandFFTs(torch.autograd.Function):
    """The four FFTs per group of bands of :func:`adaspec.ops.gabor_pooled_energy` on fixed data and nothing
    else: forward an inverse complex FFT and a real FFT of each group, backward an inverse real FFT and a
    complex FFT. The output is a zero of the frames' shape."""

    @staticmethod
    def forward(ctx, anchor: torch.Tensor, signals: list, powers: list, frames: torch.Size) -> torch.Tensor:
        for signal, power in zip(signals, powers, strict=True):
            torch.fft.ifft(signal)
            torch.fft.rfft(power)
        ctx.signals, ctx.powers = signals, powers
        return anchor.new_zeros(frames)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple:
        for signal, power in zip(ctx.signals, ctx.powers, strict=True):
            torch.fft.irfft(signal[..., : power.shape[-1] // 2 + 1], n=power.shape[-1])
            torch.fft.fft(signal)
        return torch.zeros(()), None, None, None


class BandFFTsOnly(nn.Module):
    """Only the band FFTs a :class:`adaspec.LEAF` step makes (its band plan, fixed random data): the floor
    of the band-wise algorithm, without any of its element-wise work, pooling or PCEN."""

    def __init__(self, leaf: adaspec.LEAF, batch: int = BATCH) -> None:
        super().__init__()
        samples = round(SECONDS * SAMPLE_RATE)
        params = (leaf.centers, leaf.filter_widths, leaf.pooling_widths)
        groups = make_plan(samples, leaf.hop_length, *params).groups  # filters transformed together
        generator = torch.Generator().manual_seed(3)
        self.signals = [
            torch.randn(g.count, batch, g.band, dtype=torch.complex64, generator=generator) for g in groups
        ]
        self.powers = [torch.randn(g.count, batch, g.band, generator=generator) for g in groups]
        self.frames = torch.Size((batch, leaf.n_filters, 1 + samples // leaf.hop_length))
        self.anchor = nn.Parameter(torch.zeros(()))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return _BandFFTs.apply(self.anchor, self.signals, self.powers, self.frames)


class PCENOnEnergies(nn.Module):
    """LEAF's PCEN alone, on fixed energies of LEAF's output shape (the waveform input is ignored)."""

    def __init__(self, bands: int, batch: int = BATCH, hop: int = HOP) -> None:
        super().__init__()
        self.pcen = adaspec.LEAF(SAMPLE_RATE, n_filters=bands).pcen
        frames = 1 + round(SECONDS * SAMPLE_RATE) // hop
        generator = torch.Generator().manual_seed(2)
        self.register_buffer("energy", torch.rand(batch, bands, frames, generator=generator) * 10)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.pcen(self.energy)


def direct_energies(leaf: adaspec.LEAF, x: torch.Tensor, filter_taps: int, pool_taps: int) -> torch.Tensor:
    """LEAF's Gabor energies + pooling by stride-1 convolution with filters of ``filter_taps`` taps and
    pooling windows of ``pool_taps`` taps (odd), the signal zero outside its samples, every frame of
    ``1 + time // hop``. In the dtype of ``x``."""
    half, reach, hop = filter_taps // 2, pool_taps // 2, leaf.hop_length
    dtype = x.dtype
    centers, widths, pools = (
        p.detach().to(dtype) for p in (leaf.centers, leaf.filter_widths, leaf.pooling_widths)
    )
    impulse = torch.flip(gabor_impulse_responses(centers, widths, 2 * half + 1), [-1])  # conv1d correlates
    kernels = torch.cat([impulse.real, impulse.imag])[:, None]
    padded = nn.functional.pad(x, (half + reach, half + reach + hop))[:, None]
    filtered = nn.functional.conv1d(padded, kernels)
    energy = filtered[:, : leaf.n_filters] ** 2 + filtered[:, leaf.n_filters :] ** 2  # sample n at n + reach
    offsets = torch.arange(-reach, reach + 1, dtype=dtype)
    pooling = torch.exp(-0.5 * (offsets / pools[:, None]) ** 2)[:, None]
    pooled = nn.functional.conv1d(energy, pooling, groups=leaf.n_filters)  # index n: centred on sample n
    return pooled[..., ::hop][..., : 1 + x.shape[-1] // hop]


def accuracy(bands: int, x: torch.Tensor, hop: int = HOP) -> tuple[float, float]:
    """Largest error over channels, relative to each channel's maximum, of LEAF's fast Gabor energies +
    pooling (float64) against direct computations: with the filters and pooling windows cut at 8 standard
    deviations (the same maths: the fast path's numerical accuracy) and at LEAF's 401 taps (LEAF's own
    truncated filters: the difference is the truncation, which adaspec's LEAF does not make)."""
    leaf = adaspec.LEAF(
        SAMPLE_RATE, n_filters=bands, window_len_ms=WINDOW_MS, hop_length=hop, dtype=torch.float64
    )
    with torch.no_grad():
        fast = GaborPooling(leaf)(x)
        wide = 2 * math.ceil(8 * leaf.filter_widths.max().item()) + 1
        pool = 2 * math.ceil(8 * leaf.pooling_widths.max().item()) + 1
        errors = []
        for taps in ((wide, pool), (leaf.window_length, leaf.window_length)):
            reference = direct_energies(leaf, x, *taps)
            errors.append(((fast - reference).abs().amax(-1) / reference.abs().amax(-1)).max().item())
    return errors[0], errors[1]


@dataclass(frozen=True)
class Row:
    """One front-end to time; ``reference`` names the row its ratio is taken against."""

    name: str
    make: Callable[[], nn.Module]
    reference: str | None = None
    target: bool = False
    max_rounds: int | None = None  # cap for very slow rows
    moving: bool = False  # nudge the parameters (untimed) before every step, as training does


def _mel(bands: int, n_fft: int, hop: int = HOP) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        return adaspec.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=n_fft, hop_length=hop, n_mels=bands, learn_filters=True
        )

    return make


def _leaf(bands: int, hop: int = HOP) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        return adaspec.LEAF(SAMPLE_RATE, n_filters=bands, window_len_ms=WINDOW_MS, hop_length=hop)

    return make


def rows_for(bands: int, batch: int = BATCH, hop: int = HOP) -> list[Row]:
    """The rows of one band count for ``batch`` signals at ``hop``: the reference first."""
    ref = f"MelSpectrogram n_fft 512, {bands} mels (learn_filters)"
    return [
        Row(ref, _mel(bands, 512, hop)),
        Row(f"MelSpectrogram n_fft 400, {bands} mels (learn_filters)", _mel(bands, 400, hop), reference=ref),
        Row(
            f"LEAF {bands} filters (filters + pooling + PCEN learnable)",
            _leaf(bands, hop),
            ref,
            target=batch == BATCH and hop == HOP,  # the target is judged at the defaults only
        ),
        Row(
            f"  LEAF {bands}, parameters moved before every step (as in training)",
            _leaf(bands, hop),
            ref,
            moving=True,
        ),
        Row(f"  LEAF {bands}: Gabor energies + pooling only", lambda: GaborPooling(_leaf(bands, hop)()), ref),
        Row(f"  LEAF {bands}: PCEN only", lambda: PCENOnEnergies(bands, batch, hop), ref),
        Row(
            f"  LEAF {bands}: its band FFTs only (the algorithm's floor)",
            lambda: BandFFTsOnly(_leaf(bands, hop)(), batch),
            ref,
        ),
        Row(
            f"  LEAF {bands} as a direct stride-1 convolution (LEAF's algorithm)",
            lambda: DirectLEAF(_leaf(bands, hop)()),
            ref,
            max_rounds=5,
        ),
        *peer_rows(bands, ref, hop),
    ]


def peer_rows(bands: int, reference: str, hop: int = HOP) -> list[Row]:
    """SpeechBrain's Leaf with ``bands`` filters, if SpeechBrain can be loaded (else no row)."""
    if load_leaf_class()[0] is None:
        return []
    return [
        Row(
            f"SpeechBrain Leaf {bands} filters (peer; every part learnable)",
            lambda: speechbrain_leaf(bands, SAMPLE_RATE, WINDOW_MS, 1000.0 * hop / SAMPLE_RATE),
            reference,
            max_rounds=5,
        )
    ]


def _nudging(module: nn.Module, reset: Callable[[], None]) -> Callable[[], None]:
    """``reset`` that also moves every trainable parameter by about 1e-3 (untimed), about what an
    optimiser step at learning rate 1e-3 does to LEAF's logits: the Gabor centres move by about a DFT bin,
    so each timed step sees a new band plan (its layout is cached only while the parameters stay put, as
    in inference or in the other rows)."""
    generator = torch.Generator().manual_seed(4)
    trainable = [p for p in module.parameters() if p.requires_grad]

    def nudged_reset() -> None:
        with torch.no_grad():
            for parameter in trainable:
                parameter.add_(torch.randn(parameter.shape, generator=generator), alpha=1e-3)
        reset()

    return nudged_reset


def signal(seed: int = 0, batch: int = BATCH) -> torch.Tensor:
    """The test batch: ``batch`` signals of three tones plus white noise (see ``_timing.tones_and_noise``)."""
    return timing.tones_and_noise(batch, SECONDS, SAMPLE_RATE, seed)


def run(
    *,
    quick: bool = False,
    rounds: int | None = None,
    threads: int | None = None,
    bands: Sequence[int] = BAND_COUNTS,
    batch: int = BATCH,
    hop: int = HOP,
) -> str:
    """Time every row interleaved and return the markdown report.

    Args:
        quick: small time budget and few rounds.
        rounds: interleaved rounds (default: fitted to the budget).
        threads: torch intra-op threads for the run (default: torch's current setting); restored after.
        bands: band counts to run (40 and 64 by default).
        batch: signals per step (config B: 64; the target is judged only there).
        hop: samples between frames of LEAF and the mels (default 160, LEAF's 10 ms; the target is judged
            only there).
    """
    with timing.torch_threads(threads):
        start = time.perf_counter()
        torch.manual_seed(0)
        x = signal(batch=batch)
        rows = [row for count in bands for row in rows_for(count, batch, hop)]
        impls = []
        for row in rows:
            module = row.make()
            step, reset = timing.projected_step(module, x)
            if row.moving:
                reset = _nudging(module, reset)
            cap = None if row.max_rounds is None else (2 if quick else row.max_rounds)
            impls.append(timing.Timed(row.name, step, reset, max_rounds=cap, warmup=1 if cap else None))
        budget = (6.0, 5, 15) if quick else (90.0, 15, 60)
        n_rounds, probes = timing.measure(impls, rounds, budget, warmup_calls=1 if quick else 3)
        errors = {count: accuracy(count, x[:1, : SAMPLE_RATE // 4].double(), hop) for count in bands}
        return render(rows, impls, n_rounds, probes, errors, time.perf_counter() - start, batch, hop)


def render(
    rows: Sequence[Row],
    impls: Sequence[timing.Timed],
    rounds: int,
    probes: tuple[float, float],
    errors: dict[int, tuple[float, float]],
    elapsed: float,
    batch: int = BATCH,
    hop: int = HOP,
) -> str:
    """The markdown report: machine facts, the table, the verdicts."""
    medians = {impl.name: timing.median_ms(impl.samples) for impl in impls}
    table, verdicts = [], []
    for row, impl in zip(rows, impls, strict=True):
        median = medians[row.name]
        low, high = timing.iqr_ms(impl.samples)
        ratio_text, target, verdict = "(ref)", "-", "-"
        if row.reference is not None:
            ratio = median / medians[row.reference]
            ratio_text = f"{ratio:.2f}x"
            if row.target:
                target, verdict = f"<= {TARGET_RATIO:g}x", "PASS" if ratio <= TARGET_RATIO else "FAIL"
                alt = [r.name for r in rows if r.reference == row.reference and "n_fft 400" in r.name]
                alt_text = f"; {median / medians[alt[0]]:.2f}x the n_fft 400 mel" if alt else ""
                verdicts.append(
                    f"- {verdict}: {row.name} fwd+bwd {ratio:.2f}x the n_fft 512 MelSpectrogram "
                    f"(target {target}){alt_text}"
                )
        table.append([row.name, f"{median:.1f}", f"{low:.1f} - {high:.1f}", ratio_text, target, verdict])
    headers = ["Case (fwd+bwd)", "median ms", "IQR ms", "ratio vs mel 512", "target", "PASS/FAIL"]
    setup = (
        f"Batch {batch} x {SECONDS:g} s at {SAMPLE_RATE} Hz, hop {hop}, fp32. LEAF: {WINDOW_MS:g} ms window "
        "(401 samples), filters + pooling + PCEN learnable. Mel: periodic Hann, learnable filterbank, fixed "
        f"window. {rounds} interleaved rounds; {timing.probe_note(probes)}."
    )
    accuracy = [
        "Accuracy of LEAF's Gabor energies + pooling (float64, first 0.25 s of the first signal; largest "
        "error over channels relative to the channel's maximum) against a direct stride-1 computation:",
        "",
        *(
            f"- {count} filters: {same:.1e} with the filters and pooling windows cut at 8 standard "
            f"deviations (the same maths); {cut:.1e} with LEAF's 401-tap filters and windows (their "
            "truncation, which adaspec's LEAF does not make)"
            for count, (same, cut) in errors.items()
        ),
    ]
    judged = verdicts or [
        f"- The <= {TARGET_RATIO:g}x target is judged at batch {BATCH} and hop {HOP} only, not here."
    ]
    return timing.render_report(
        "LEAF vs learnable MelSpectrogram, forward + backward (CPU)",
        ["torch", "numpy", "adaspec"],
        setup,
        timing.markdown_table(headers, table, "lrrrll"),
        [judged, accuracy],
        elapsed,
        extra_facts=[("SpeechBrain Leaf", load_leaf_class()[1])],
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the markdown report (and writes it with ``--out``)."""
    parser = timing.benchmark_parser(__doc__)
    parser.add_argument(
        "--bands", type=int, action="append", choices=BAND_COUNTS, help="band counts (default: 40 and 64)"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=BATCH,
        help=f"signals per step (default {BATCH}, config B; the target is judged only there)",
    )
    parser.add_argument(
        "--hop",
        type=int,
        default=HOP,
        help=f"samples between frames of LEAF and the mels (default {HOP}; the target is judged only there)",
    )
    args = timing.parse_benchmark_args(parser, argv)
    if args.batch < 1:
        parser.error(f"--batch must be a positive number of signals, got {args.batch}")
    if args.hop < 1:
        parser.error(f"--hop must be a positive number of samples, got {args.hop}")
    report = run(
        quick=args.quick,
        rounds=args.rounds,
        threads=args.threads,
        bands=tuple(dict.fromkeys(args.bands)) if args.bands else BAND_COUNTS,  # a repeat runs once
        batch=args.batch,
        hop=args.hop,
    )
    return timing.emit_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
