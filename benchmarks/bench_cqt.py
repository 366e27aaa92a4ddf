"""Benchmark adaspec's CQT (both algorithms) against librosa.cqt and nnAudio on CPU, forward only.

Config A: 16 signals x 3 s at 22.05 kHz (white noise plus three tones each), 84 bins at 12 per octave from
32.70 Hz, hop 512, magnitude output, fp32. librosa runs ``np.abs(librosa.cqt(...))`` (``tuning=0``) on one
signal after the other (it takes a single signal), which is also the reference for the errors. Every row
reports its largest magnitude error relative to ``max|C|`` of librosa, against ``librosa.cqt`` as timed
(``sparsity=0.01``) and against ``sparsity=0``, over all frames and over the interior frames (those whose
longest filter does not reach past the signal's ends). Timing is interleaved (see ``_timing``); ratios are
medians measured in the same run.

Usage::

    python benchmarks/bench_cqt.py                    # about a minute
    python benchmarks/bench_cqt.py --quick            # a few seconds per row
    python benchmarks/bench_cqt.py --threads 1 --out cqt.md
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

import _timing as timing

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import librosa

    import adaspec

    try:  # a peer: its rows are left out, with a note, where it is not installed
        from nnAudio import features as nn_features
    except ImportError:
        nn_features = None

BATCH, SECONDS, SAMPLE_RATE, HOP, N_BINS, BINS_PER_OCTAVE, F_MIN = 16, 3.0, 22050, 512, 84, 12, 32.70
LIBROSA_RATIO = 20.0  # adaspec CQT (default algorithm) >= 20x faster than librosa.cqt looped over the batch
NNAUDIO_RATIO = 2.0  # ... and >= 2x faster than nnAudio's CQT1992v2
MATCH_TOLERANCE = 1e-2  # max magnitude error vs librosa.cqt, relative to max|C|

Forward = Callable[[], np.ndarray]


@dataclass(frozen=True)
class Row:
    """One implementation: ``make(x)`` returns a no-grad forward giving ``(BATCH, N_BINS, frames)``."""

    name: str
    make: Callable[[torch.Tensor], Forward]
    max_rounds: int | None = None


def _quiet() -> contextlib.ExitStack:
    """Silence warnings and prints from constructors (nnAudio prints its kernel sizes)."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    return stack


def librosa_cqt(x: np.ndarray, sparsity: float = 0.01) -> np.ndarray:
    return np.stack(
        [
            np.abs(
                librosa.cqt(
                    signal,
                    sr=SAMPLE_RATE,
                    hop_length=HOP,
                    fmin=F_MIN,
                    n_bins=N_BINS,
                    bins_per_octave=BINS_PER_OCTAVE,
                    tuning=0.0,
                    sparsity=sparsity,
                )
            )
            for signal in x
        ]
    )


def _adaspec(algorithm: str) -> Callable[[torch.Tensor], Forward]:
    def make(x: torch.Tensor) -> Forward:
        module = adaspec.CQT(
            sample_rate=SAMPLE_RATE,
            hop_length=HOP,
            f_min=F_MIN,
            n_bins=N_BINS,
            bins_per_octave=BINS_PER_OCTAVE,
            output="magnitude",
            algorithm=algorithm,
        )

        def forward() -> np.ndarray:
            with torch.no_grad():
                return module(x).numpy()

        return forward

    return make


def _nnaudio(name: str) -> Callable[[torch.Tensor], Forward]:
    def make(x: torch.Tensor) -> Forward:
        with _quiet():
            module = getattr(nn_features, name)(
                sr=SAMPLE_RATE,
                hop_length=HOP,
                fmin=F_MIN,
                n_bins=N_BINS,
                bins_per_octave=BINS_PER_OCTAVE,
                output_format="Magnitude",
                verbose=False,
            )

        def forward() -> np.ndarray:
            with torch.no_grad():
                return module(x).numpy()

        return forward

    return make


def _librosa(x: torch.Tensor) -> Forward:
    signals = x.numpy()
    return lambda: librosa_cqt(signals)


MULTIRATE = Row("adaspec CQT, multirate (default)", _adaspec("multirate"))
DIRECT = Row("adaspec CQT, direct", _adaspec("direct"), max_rounds=8)
NNAUDIO_1992 = Row("nnAudio CQT1992v2", _nnaudio("CQT1992v2"), max_rounds=8)
NNAUDIO_2010 = Row("nnAudio CQT2010v2", _nnaudio("CQT2010v2"))
LIBROSA = Row("librosa.cqt, looped over the batch (ref)", _librosa, max_rounds=6)
NNAUDIO_ROWS = (NNAUDIO_1992, NNAUDIO_2010)
ROWS: tuple[Row, ...] = tuple(
    row
    for row in (MULTIRATE, DIRECT, NNAUDIO_1992, NNAUDIO_2010, LIBROSA)
    if nn_features is not None or row not in NNAUDIO_ROWS
)
NNAUDIO_NOTE = "nnAudio is not installed: its rows and the target against it are left out."


def signal(seed: int = 0) -> torch.Tensor:
    """The test batch: ``BATCH`` signals of three tones from 50 Hz up plus white noise (see
    ``_timing.tones_and_noise``)."""
    return timing.tones_and_noise(BATCH, SECONDS, SAMPLE_RATE, seed, lowest=50.0)


def errors(output: np.ndarray, sparse: np.ndarray, exact: np.ndarray) -> list[float]:
    """Max magnitude errors relative to ``max|C|``: vs sparse and exact librosa, all and interior frames."""
    longest = librosa.filters.wavelet_lengths(
        freqs=librosa.cqt_frequencies(N_BINS, fmin=F_MIN, bins_per_octave=BINS_PER_OCTAVE), sr=SAMPLE_RATE
    )[0].max()
    centres = np.arange(sparse.shape[-1]) * HOP
    interior = (centres >= longest / 2) & (centres <= round(SECONDS * SAMPLE_RATE) - 1 - longest / 2)
    frames = min(output.shape[-1], sparse.shape[-1])
    result = []
    for reference in (sparse, exact):
        difference = np.abs(output[..., :frames] - reference[..., :frames]) / np.abs(reference).max()
        result += [float(difference.max()), float(difference[..., interior[:frames]].max())]
    return result


def run(*, quick: bool = False, rounds: int | None = None, threads: int | None = None) -> str:
    """Check the errors, time every row interleaved and return the markdown report.

    Args:
        quick: small time budget and few rounds.
        rounds: interleaved rounds (default: fitted to the budget).
        threads: torch intra-op threads for the run (default: torch's current setting); restored after.
    """
    with timing.torch_threads(threads):
        start = time.perf_counter()
        x = signal()
        sparse, exact = librosa_cqt(x.numpy()), librosa_cqt(x.numpy(), sparsity=0.0)
        impls, measured = [], []
        for row in ROWS:
            forward = row.make(x)
            measured.append(errors(forward(), sparse, exact))
            impls.append(timing.Timed(row.name, forward, max_rounds=row.max_rounds))
        budget = (10.0, 3, 6) if quick else (60.0, 10, 30)
        n_rounds, probes = timing.measure(impls, rounds, budget)
        return render(impls, measured, n_rounds, probes, time.perf_counter() - start)


def render(
    impls: Sequence[timing.Timed],
    measured: Sequence[list[float]],
    rounds: int,
    probes: tuple[float, float],
    elapsed: float,
) -> str:
    """The markdown report: machine facts, the table, the verdicts."""
    medians = {impl.name: timing.median_ms(impl.samples) for impl in impls}
    librosa_ms, nnaudio_ms = medians[LIBROSA.name], medians.get(NNAUDIO_1992.name)
    table = []
    for row, impl, errs in zip(ROWS, impls, measured, strict=True):
        low, high = timing.iqr_ms(impl.samples)
        median = medians[row.name]
        table.append(
            [
                row.name,
                f"{median:.1f}",
                f"{low:.1f} - {high:.1f}",
                str(len(impl.samples)),
                f"{librosa_ms / median:.1f}x",
                "n/a" if nnaudio_ms is None else f"{nnaudio_ms / median:.2f}x",
                *(f"{e:.1e}" for e in errs),
            ]
        )
    headers = [
        "Implementation (forward)",
        "median ms",
        "IQR ms",
        "runs",
        "speed-up vs librosa",
        "speed-up vs nnAudio 1992",
        "err vs librosa",
        "err (interior)",
        "err vs sparsity=0",
        "err vs sparsity=0 (interior)",
    ]
    verdicts = []
    for row, errs in zip(ROWS[:2], measured[:2], strict=True):
        faster_librosa = librosa_ms / medians[row.name]
        if row is MULTIRATE:  # the speed targets apply to the default algorithm
            verdicts.append(
                _verdict(
                    faster_librosa >= LIBROSA_RATIO,
                    f"{row.name}: {faster_librosa:.1f}x faster than librosa (target >= {LIBROSA_RATIO:g}x)",
                )
            )
            if nnaudio_ms is None:
                verdicts.append(f"- not judged: {row.name} against nnAudio (not installed)")
            else:
                faster_nnaudio = nnaudio_ms / medians[row.name]
                verdicts.append(
                    _verdict(
                        faster_nnaudio >= NNAUDIO_RATIO,
                        f"{row.name}: {faster_nnaudio:.2f}x faster than nnAudio "
                        f"(target >= {NNAUDIO_RATIO:g}x)",
                    )
                )
        verdicts.append(
            _verdict(
                errs[0] <= MATCH_TOLERANCE,
                f"{row.name}: error {errs[0]:.1e} x max|C| on all frames (target <= {MATCH_TOLERANCE:g})",
            )
        )
    setup = (
        f"Config A: {BATCH} x {SECONDS:g} s at {SAMPLE_RATE} Hz, {N_BINS} bins at {BINS_PER_OCTAVE} per "
        f"octave from {F_MIN:g} Hz, hop {HOP}, magnitude, fp32. {rounds} interleaved rounds (slow rows "
        f"capped); {timing.probe_note(probes)}. Errors: max magnitude difference / max|C| of librosa.cqt "
        "(sparsity 0.01 as timed, and 0)."
    )
    return timing.render_report(
        "adaspec CQT vs librosa and nnAudio, forward (CPU)",
        ["torch", "numpy", "librosa", "nnAudio", "adaspec"],
        setup,
        timing.markdown_table(headers, table, "lrrrrrrrrr"),
        [verdicts, [] if nn_features is not None else [NNAUDIO_NOTE]],
        elapsed,
    )


def _verdict(ok: bool, text: str) -> str:
    return f"- {'PASS' if ok else 'FAIL'}: {text}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the markdown report (and writes it with ``--out``)."""
    return timing.run_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
