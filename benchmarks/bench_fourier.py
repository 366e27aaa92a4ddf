"""Benchmark adaspec's Fourier front-ends (STFT, mel) against torch.stft, librosa and nnAudio on CPU.

Every implementation of a case is checked to compute the same thing (outputs, and window/filter gradients
where two implementations share the parameter) before it is timed. Timing is interleaved: each round runs
every implementation once, in a rotating order, and the median per implementation is reported with its
ratio to the case's reference, measured in the same run. Peak memory is the resident-set growth of one
call in a fresh subprocess (see ``_timing.peak_rss_growth_mib``).

Usage::

    python benchmarks/bench_fourier.py                 # configs A and B, memory, bf16 row
    python benchmarks/bench_fourier.py --quick         # config A, few rounds, no memory, no bf16 row
    python benchmarks/bench_fourier.py --config B --rounds 20 --out fourier.md

From Python (e.g. ``examples/fourier_demo.py``)::

    sys.path.insert(0, "benchmarks"); import bench_fourier; print(bench_fourier.run(quick=True))
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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

Forward = Callable[[torch.Tensor], torch.Tensor]

FORWARD_TOLERANCE = 1e-3  # max abs diff <= this x max|reference|, fp32 implementations
BF16_TOLERANCE = 3e-2  # the autocast row: bf16 inputs to the GEMM carry 8 significant bits
GRAD_TOLERANCE = 1e-3
CONTENTION_PROBE = 0.9  # parallel-probe value above which the report warns about a busy machine


# -------------------------------------------------------------------------------------------- configs


@dataclass(frozen=True)
class Config:
    """A batch of signals and the STFT settings shared by every implementation."""

    key: str
    batch: int
    seconds: float
    sample_rate: int
    n_fft: int
    hop: int
    n_mels: int = 128

    @property
    def n_samples(self) -> int:
        """Samples per signal."""
        return round(self.seconds * self.sample_rate)

    @property
    def n_frames(self) -> int:
        """Frames per signal with ``center=True``."""
        return 1 + self.n_samples // self.hop

    def describe(self) -> str:
        """One line for the report."""
        return (
            f"batch {self.batch} x {self.seconds:g} s at {self.sample_rate} Hz ({self.n_samples} samples), "
            f"n_fft {self.n_fft}, hop {self.hop}, periodic Hann, center=True, pad_mode reflect: "
            f"{self.n_fft // 2 + 1} bins x {self.n_frames} frames per signal"
        )

    def signal(self, seed: int = 0) -> torch.Tensor:
        """A reproducible float32 ``(batch, samples)`` test batch: three tones plus white noise per signal."""
        return timing.tones_and_noise(self.batch, self.seconds, self.sample_rate, seed)


CONFIGS = {
    "A": Config("A", batch=16, seconds=3.0, sample_rate=22050, n_fft=2048, hop=512),
    "B": Config("B", batch=64, seconds=1.0, sample_rate=16000, n_fft=512, hop=128),
}


# ----------------------------------------------------------------------------------- implementations


@dataclass
class Built:
    """An implementation ready to run: ``forward(x)`` and the tensors it trains."""

    forward: Forward
    params: list[torch.Tensor] = field(default_factory=list)
    #: named gradients comparable across implementations (e.g. ``"window"``), read after a backward
    grads: Callable[[], dict[str, torch.Tensor]] | None = None


@dataclass(frozen=True)
class ImplSpec:
    """One implementation of a case; ``make(config)`` builds it."""

    name: str
    role: str  # "reference", "peer" or "ours"
    make: Callable[[Config], Built]
    tolerance: float = FORWARD_TOLERANCE
    slow: bool = False  # a single timed call, no warm-up, no memory subprocess (bf16 without native bf16)

    @property
    def nnaudio(self) -> bool:
        """Whether this is one of nnAudio's implementations (left out where nnAudio is not installed)."""
        return self.name.startswith("nnAudio")


@dataclass(frozen=True)
class Case:
    """A benchmark case: a forward-only or forward+backward comparison of several implementations."""

    key: str
    title: str
    train: bool
    impls: tuple[ImplSpec, ...]
    note: str = ""

    @property
    def reference(self) -> ImplSpec:
        """The implementation ratios are taken against."""
        return next(i for i in self.impls if i.role == "reference")


def _quiet() -> contextlib.ExitStack:
    """Silence warnings and prints from constructors (nnAudio, librosa's empty-filter warnings)."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    return stack


def _trainable(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p for p in module.parameters() if p.requires_grad]


def _torch_stft(c: Config, window: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.stft(
        x,
        c.n_fft,
        hop_length=c.hop,
        win_length=c.n_fft,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )


def make_torch_stft_abs(c: Config) -> Built:
    """``torch.stft(...).abs()`` with a fixed periodic Hann window."""
    window = torch.hann_window(c.n_fft)
    return Built(lambda x: _torch_stft(c, window, x).abs())


def make_torch_stft_abs_grad_window(c: Config) -> Built:
    """``torch.stft(...).abs()`` with a Hann window tensor that requires grad."""
    window = torch.hann_window(c.n_fft).requires_grad_(True)
    return Built(lambda x: _torch_stft(c, window, x).abs(), [window], lambda: {"window": window.grad})


def make_librosa_stft_abs(c: Config) -> Built:
    """``np.abs(librosa.stft(...))`` on the numpy batch (numpy's pocketfft, single-threaded)."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        spectrum = librosa.stft(
            x.numpy(), n_fft=c.n_fft, hop_length=c.hop, window="hann", center=True, pad_mode="reflect"
        )
        return torch.from_numpy(np.abs(spectrum))

    return Built(forward)


def _nnaudio_stft(c: Config, trainable: bool) -> torch.nn.Module:
    with _quiet():
        return nn_features.STFT(
            n_fft=c.n_fft,
            hop_length=c.hop,
            window="hann",
            freq_scale="no",
            center=True,
            pad_mode="reflect",
            sr=c.sample_rate,
            trainable=trainable,
            output_format="Magnitude",
            verbose=False,
        )


def make_nnaudio_stft(c: Config) -> Built:
    """nnAudio STFT, fixed kernels (conv1d)."""
    return Built(_nnaudio_stft(c, trainable=False))


def make_nnaudio_stft_trainable(c: Config) -> Built:
    """nnAudio STFT with trainable (windowed) kernels."""
    module = _nnaudio_stft(c, trainable=True)
    return Built(module, _trainable(module))


def _adaspec_stft(c: Config, **flags: bool) -> torch.nn.Module:
    return adaspec.STFT(
        n_fft=c.n_fft,
        hop_length=c.hop,
        window="hann",
        center=True,
        pad_mode="reflect",
        output="magnitude",
        sample_rate=c.sample_rate,
        **flags,
    )


def make_ours_stft(c: Config) -> Built:
    """adaspec STFT, nothing learnable (FFT path)."""
    return Built(_adaspec_stft(c))


def make_ours_stft_window(c: Config) -> Built:
    """adaspec STFT with a learnable window (FFT path, hand-written backward)."""
    module = _adaspec_stft(c, learn_window=True)
    return Built(module, _trainable(module), lambda: {"window": module.window.grad})


def make_ours_stft_kernels(c: Config) -> Built:
    """adaspec STFT with learnable window and kernels (dense GEMM path)."""
    module = _adaspec_stft(c, learn_window=True, learn_kernels=True)
    return Built(module, _trainable(module))


def make_ours_stft_kernels_bf16(c: Config) -> Built:
    """As :func:`make_ours_stft_kernels`, forward under ``torch.autocast("cpu", dtype=torch.bfloat16)``."""
    module = _adaspec_stft(c, learn_window=True, learn_kernels=True)

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return module(x)

    return Built(forward, _trainable(module))


def make_nnaudio_mel(c: Config) -> Built:
    """nnAudio MelSpectrogram(trainable_mel=True, trainable_STFT=True); slaney mel scale and norm."""
    with _quiet():
        module = nn_features.MelSpectrogram(
            sr=c.sample_rate,
            n_fft=c.n_fft,
            hop_length=c.hop,
            n_mels=c.n_mels,
            window="hann",
            center=True,
            pad_mode="reflect",
            power=2.0,
            htk=False,
            norm=1,
            trainable_mel=True,
            trainable_STFT=True,
            verbose=False,
        )
    return Built(module, _trainable(module))


def make_torch_mel(c: Config) -> Built:
    """``filters @ torch.stft(...).abs().pow(2)`` (torchaudio's recipe) with a grad window and filters."""
    window = torch.hann_window(c.n_fft).requires_grad_(True)
    with _quiet():
        basis = librosa.filters.mel(
            sr=c.sample_rate, n_fft=c.n_fft, n_mels=c.n_mels, htk=False, norm="slaney"
        )
    filters = torch.from_numpy(basis).to(torch.float32).requires_grad_(True)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(filters, _torch_stft(c, window, x).abs().pow(2))

    return Built(forward, [window, filters], lambda: {"window": window.grad, "mel filters": filters.grad})


def make_ours_mel(c: Config) -> Built:
    """adaspec MelSpectrogram with learnable window and filters (slaney scale and norm, as nnAudio's)."""
    with _quiet():
        module = adaspec.MelSpectrogram(
            sample_rate=c.sample_rate,
            n_fft=c.n_fft,
            hop_length=c.hop,
            n_mels=c.n_mels,
            window="hann",
            center=True,
            pad_mode="reflect",
            power=2.0,
            norm="slaney",
            mel_scale="slaney",
            learn_window=True,
            learn_filters=True,
        )
    return Built(
        module,
        _trainable(module),
        lambda: {"window": module.stft.window.grad, "mel filters": module.filters.grad},
    )


CASES = (
    Case(
        "stft-fwd",
        "fixed STFT magnitude, forward (no_grad)",
        train=False,
        impls=(
            ImplSpec("torch.stft + abs", "reference", make_torch_stft_abs),
            ImplSpec("librosa.stft + np.abs", "peer", make_librosa_stft_abs),
            ImplSpec("nnAudio STFT (trainable=False)", "peer", make_nnaudio_stft),
            ImplSpec("adaspec STFT", "ours", make_ours_stft),
        ),
    ),
    Case(
        "stft-window",
        "learnable-window STFT magnitude, forward+backward",
        train=True,
        impls=(
            ImplSpec("nnAudio STFT (trainable=True)", "reference", make_nnaudio_stft_trainable),
            ImplSpec("torch.stft(grad window) + abs", "peer", make_torch_stft_abs_grad_window),
            ImplSpec("adaspec STFT (learn_window)", "ours", make_ours_stft_window),
        ),
        note="nnAudio cannot train the window alone: its trainable STFT trains the windowed kernels.",
    ),
    Case(
        "stft-kernels",
        "learnable-kernel STFT magnitude, forward+backward",
        train=True,
        impls=(
            ImplSpec("nnAudio STFT (trainable=True)", "reference", make_nnaudio_stft_trainable),
            ImplSpec("adaspec STFT (learn_kernels + learn_window)", "ours", make_ours_stft_kernels),
            ImplSpec(
                "adaspec STFT (learn_kernels + learn_window), autocast bf16",
                "ours",
                make_ours_stft_kernels_bf16,
                tolerance=BF16_TOLERANCE,
                slow=True,
            ),
        ),
        note=(
            "adaspec trains the window as well as the kernels here (a superset of nnAudio's windowed "
            "kernels). The bf16 row runs the GEMMs in bfloat16 under CPU autocast; it is timed once "
            "(no warm-up, no memory run) because this CPU has no native bf16 and one call takes a minute."
        ),
    ),
    Case(
        "mel",
        "learnable window + mel (128 mels), forward+backward",
        train=True,
        impls=(
            ImplSpec("nnAudio MelSpectrogram (trainable_mel, trainable_STFT)", "reference", make_nnaudio_mel),
            ImplSpec("torch.stft(grad window) -> power -> learnable mel matmul", "peer", make_torch_mel),
            ImplSpec("adaspec MelSpectrogram (learn_window, learn_filters)", "ours", make_ours_mel),
        ),
        note="All use the slaney mel scale with slaney (area) normalisation, as nnAudio's defaults.",
    ),
)
CASES_BY_KEY = {case.key: case for case in CASES}


# ----------------------------------------------------------------------------------------- execution


def make_step(case: Case, built: Built, x: torch.Tensor) -> tuple[Callable[[], None], Callable[[], None]]:
    """The timed call (forward under no_grad, or forward + ``sum().backward()``) and its untimed reset
    (gradients set to None, as ``zero_grad(set_to_none=True)`` between steps)."""

    def reset() -> None:
        for p in built.params:
            p.grad = None

    if case.train:

        def step() -> None:
            built.forward(x).sum().backward()

    else:

        def step() -> None:
            with torch.no_grad():
                built.forward(x)

    return step, reset


def check_agreement(case: Case, builts: Sequence[Built], x: torch.Tensor) -> list[str]:
    """Assert every implementation's output (and shared gradients) match the reference's; return notes.

    Checked on the first two signals of the batch (the same computation as the full batch, and cheap for
    the slow bf16 row).
    """
    sample = x[:2]
    outputs, grads = [], []
    for built in builts:
        for p in built.params:
            p.grad = None
        if case.train:
            out = built.forward(sample)
            out.sum().backward()
            grads.append(built.grads() if built.grads else {})
        else:
            with torch.no_grad():
                out = built.forward(sample)
            grads.append({})
        outputs.append(out.detach())
        for p in built.params:
            p.grad = None
    ref_index = case.impls.index(case.reference)
    notes = []
    for spec, out in zip(case.impls, outputs, strict=True):
        error = timing.assert_close(f"{case.key}/{spec.name}", out, outputs[ref_index], spec.tolerance)
        notes.append(f"{spec.name}: output max diff {error:.1e} x max")
    for key in sorted({k for g in grads for k in g}):
        holders = [(spec, g[key]) for spec, g in zip(case.impls, grads, strict=True) if key in g]
        for spec, grad in holders[1:]:
            error = timing.assert_close(
                f"{case.key}/{spec.name} d/d{key}", grad, holders[0][1], GRAD_TOLERANCE
            )
            notes.append(f"{spec.name}: {key} gradient max diff {error:.1e} x max vs {holders[0][0].name}")
    return notes


@dataclass
class Row:
    """Results of one implementation in one case."""

    spec: ImplSpec
    samples: list[float]
    memory_mib: float | None = None

    @property
    def median_ms(self) -> float:
        return timing.median_ms(self.samples)


@dataclass
class CaseResult:
    """Results of one case in one config."""

    config: Config
    case: Case
    rows: list[Row]
    checks: list[str]
    probes: tuple[float, float] = (float("nan"), float("nan"))  # parallel probe before / after timing

    def row(self, role: str, index: int = 0) -> Row:
        """The ``index``-th row with ``role``."""
        return [r for r in self.rows if r.spec.role == role][index]

    @property
    def reference(self) -> Row:
        return self.row("reference")


@dataclass(frozen=True)
class Settings:
    """How hard to measure."""

    rounds: int | None  # fixed rounds, or None to fit ``budget_s`` per case
    budget_s: float
    min_rounds: int
    max_rounds: int
    warmup: int
    memory: bool
    bf16: bool
    threads: int


def log(message: str) -> None:
    """Progress on stderr (stdout carries the report)."""
    print(message, file=sys.stderr, flush=True)


def runnable(case: Case, bf16: bool) -> Case:
    """``case`` with the implementations this run times: the bf16 row only with ``bf16``, nnAudio's only
    where it is installed. When that leaves out the reference (nnAudio), the first peer, else the first of
    ours, becomes the reference, and the note says so (the targets against nnAudio are then not judged)."""
    specs = [s for s in case.impls if (bf16 or not s.slow) and (nn_features is not None or not s.nnaudio)]
    note = case.note
    if not any(s.role == "reference" for s in specs):
        promoted = next((s for s in specs if s.role == "peer"), next(s for s in specs if not s.slow))
        specs = [dataclasses.replace(s, role="reference") if s is promoted else s for s in specs]
        note = f"nnAudio is not installed: its rows are left out and {promoted.name} is the reference."
    return Case(case.key, case.title, case.train, tuple(specs), note)


def run_case(config: Config, case: Case, settings: Settings) -> CaseResult:
    """Check, time (interleaved) and optionally measure memory of every implementation of ``case``."""
    original = case
    case = runnable(case, settings.bf16)
    specs = list(case.impls)
    torch.manual_seed(0)
    x = config.signal()
    builts = [spec.make(config) for spec in specs]
    checks = check_agreement(case, builts, x)
    impls = []
    for spec, built in zip(specs, builts, strict=True):
        step, reset = make_step(case, built, x)
        impls.append(
            timing.Timed(
                spec.name,
                step,
                reset,
                max_rounds=1 if spec.slow else None,
                warmup=0 if spec.slow else None,
            )
        )
    probe = timing.parallel_probe if settings.threads > 1 else lambda: float("nan")
    probe_before = probe()
    estimates = timing.warm_up(impls, settings.warmup)
    rounds = settings.rounds or timing.choose_rounds(
        estimates, impls, settings.budget_s, settings.min_rounds, settings.max_rounds
    )
    costs = ", ".join(f"{name} ~{seconds * 1e3:.0f} ms" for name, seconds in estimates.items())
    log(f"[{config.key}] {case.key}: {rounds} rounds (last warm-up call: {costs})")
    timing.interleaved(impls, rounds)
    probes = (probe_before, probe())
    rows = [Row(spec, list(impl.samples)) for spec, impl in zip(specs, impls, strict=True)]
    del builts, impls
    if settings.memory:
        for row in rows:
            if row.spec.slow:
                continue
            index = [spec.name for spec in original.impls].index(row.spec.name)
            argv = [
                str(Path(__file__).resolve()),
                "--threads",
                str(settings.threads),
                "--memory-worker",
                config.key,
                case.key,
                str(index),
            ]
            row.memory_mib = timing.memory_in_subprocess(argv)
        log(f"[{config.key}] {case.key}: memory {[r.memory_mib for r in rows]}")
    return CaseResult(config, case, rows, checks, probes)


def memory_worker(config_key: str, case_key: str, index: int) -> None:
    """Subprocess entry: build one implementation and report the peak RSS growth of one call."""
    config, case = CONFIGS[config_key], CASES_BY_KEY[case_key]
    torch.manual_seed(0)
    x = config.signal()
    built = case.impls[index].make(config)
    step, reset = make_step(case, built, x)
    timing.report_memory(timing.peak_rss_growth_mib(step, reset))


# -------------------------------------------------------------------------------------------- report

#: (config, case, description, passes(result) -> (ok, measured text))
TARGETS: tuple[tuple[str, str, str, Callable[[CaseResult], tuple[bool, str]]], ...] = (
    (
        "A",
        "stft-fwd",
        "fixed STFT magnitude forward: adaspec <= 0.8x torch.stft + abs",
        lambda r: (
            (q := r.row("ours").median_ms / r.reference.median_ms) <= 0.8,
            f"{q:.2f}x",
        ),
    ),
    (
        "A",
        "stft-window",
        "learnable-window STFT fwd+bwd: adaspec >= 8x faster than nnAudio trainable STFT",
        lambda r: (
            (s := r.reference.median_ms / r.row("ours").median_ms) >= 8.0,
            f"{s:.1f}x faster",
        ),
    ),
    (
        "A",
        "mel",
        "learnable window + mel fwd+bwd: adaspec >= 4x faster than nnAudio MelSpectrogram (trainable)",
        lambda r: (
            (s := r.reference.median_ms / r.row("ours").median_ms) >= 4.0,
            f"{s:.1f}x faster",
        ),
    ),
    (
        "A",
        "stft-kernels",
        "learnable-kernel STFT fwd+bwd (fp32): adaspec no slower than nnAudio trainable STFT (<= 1.0x)",
        lambda r: (
            (q := r.row("ours").median_ms / r.reference.median_ms) <= 1.0,
            f"{q:.2f}x",
        ),
    ),
)


def _fmt_ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _fmt_ratio(value: float) -> str:
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


def render_config(results: Sequence[CaseResult]) -> str:
    """The markdown table of one config."""
    rows = []
    for result in results:
        ref_ms = result.reference.median_ms
        for index, row in enumerate(result.rows):
            median = row.median_ms
            low, high = timing.iqr_ms(row.samples)
            role = {"reference": " (ref)", "ours": " **(ours)**"}.get(row.spec.role, "")
            rows.append(
                [
                    result.case.title if index == 0 else "",
                    row.spec.name + role,
                    _fmt_ms(median),
                    f"{_fmt_ms(low)} - {_fmt_ms(high)}" if len(row.samples) > 1 else "-",
                    str(len(row.samples)),
                    _fmt_ratio(median / ref_ms),
                    _fmt_ratio(ref_ms / median),
                    "n/m" if row.memory_mib is None else f"{row.memory_mib:,.0f}",
                ]
            )
    headers = [
        "Case",
        "Implementation",
        "median ms",
        "IQR ms",
        "n",
        "time / ref",
        "speed-up vs ref",
        "peak MiB",
    ]
    return timing.markdown_table(headers, rows, "llrrrrrr")


def render(results: Sequence[CaseResult], settings: Settings, elapsed_s: float) -> str:
    """The full markdown report: machine facts, one table per config, notes, targets."""
    lines = ["# adaspec Fourier front-ends vs torch.stft, librosa and nnAudio (CPU)", ""]
    facts = timing.machine_facts(["torch", "numpy", "librosa", "nnAudio", "adaspec"])
    lines += [f"- **{label}**: {value}" for label, value in facts]
    rounds = f"{settings.rounds}" if settings.rounds else f"fitted to ~{settings.budget_s:g} s per case"
    lines += [
        "",
        f"Timing: {settings.warmup} warm-up call(s) each, then interleaved rounds ({rounds}; every "
        "implementation once per round, rotating order); median and inter-quartile range per "
        "implementation; `time / ref` = median / reference median (< 1 is faster), "
        "`speed-up vs ref` = reference median / median. fp32 throughout unless stated.",
        "Peak MiB: resident-set growth of one call (after one warm-up call) in a fresh subprocess"
        + ("." if settings.memory else " (not measured in this run).")
        + " n/m = not measured.",
        "Every implementation's output was checked against the reference before timing "
        f"(max abs diff <= {FORWARD_TOLERANCE:g} x max, {BF16_TOLERANCE:g} for bf16), and shared window / "
        "mel-filter gradients against each other.",
        "Parallel probe: time of a 4M-element multiply on all torch threads / on one thread, before and "
        "after each case (about 1/threads when idle; near or above 1: cores busy elsewhere).",
    ]
    if nn_features is None:
        lines.append("nnAudio is not installed: its rows are left out and the targets against it not judged.")
    for key in dict.fromkeys(r.config.key for r in results):
        config_results = [r for r in results if r.config.key == key]
        lines += ["", f"## Config {key}: {config_results[0].config.describe()}", ""]
        lines.append(render_config(config_results))
        notes = [f"{r.case.title}: {r.case.note}" for r in config_results if r.case.note]
        probes = ", ".join(f"{r.case.key} {r.probes[0]:.2f} / {r.probes[1]:.2f}" for r in config_results)
        if settings.threads > 1:
            notes.append(f"parallel probe before / after each case: {probes}")
        if settings.threads > 1 and max(max(r.probes) for r in config_results) > CONTENTION_PROBE:
            notes.append(
                f"**warning**: a probe above {CONTENTION_PROBE} means another process held a core while "
                "this ran; parallel regions then wait for a descheduled thread, which penalises "
                "implementations made of many elementwise ops (adaspec, torch.stft) more than those "
                "made of a few large convolutions or GEMMs. Rerun on an idle machine or with --threads 1."
            )
        if notes:
            lines += ["", *[f"- {n}" for n in notes]]
    target_lines = []
    for config_key, case_key, text, judge in TARGETS:
        match = [r for r in results if r.config.key == config_key and r.case.key == case_key]
        if match and match[0].reference.spec.name != CASES_BY_KEY[case_key].reference.name:
            target_lines.append(f"- not judged: {text} (its reference, nnAudio, is not installed)")
        elif match:
            ok, measured = judge(match[0])
            target_lines.append(f"- {'PASS' if ok else 'FAIL'}: {text} (measured {measured})")
    if target_lines:
        lines += ["", "## Targets (config A)", "", *target_lines]
    skipped = [] if settings.bf16 else ["bf16 autocast row skipped (--quick / --no-bf16)."]
    lines += ["", *skipped, f"Total benchmark wall time: {elapsed_s:.0f} s."]
    return "\n".join(lines) + "\n"


def run(
    configs: Sequence[str] | None = None,
    rounds: int | None = None,
    memory: bool | None = None,
    *,
    quick: bool = False,
    bf16: bool | None = None,
    cases: Sequence[str] | None = None,
    threads: int | None = None,
) -> str:
    """Run the benchmark and return the markdown report.

    Args:
        configs: config keys (``"A"``, ``"B"``); default both, or ``A`` only when ``quick``.
        rounds: interleaved rounds per case; default fitted to a time budget per case.
        memory: measure per-call peak memory in subprocesses; default ``not quick``.
        quick: few rounds and a small budget (well under a minute for config A).
        bf16: include the bf16 autocast row (about a minute per call on CPUs without native bf16);
            default ``not quick``.
        cases: case keys to run (default all): ``stft-fwd``, ``stft-window``, ``stft-kernels``, ``mel``.
        threads: torch intra-op threads for the run (default: torch's current setting); restored after.
    """
    configs = list(configs or (["A"] if quick else ["A", "B"]))
    settings = Settings(
        rounds=rounds,
        budget_s=3.0 if quick else 15.0,
        min_rounds=3 if quick else 7,
        max_rounds=10 if quick else 30,
        warmup=1 if quick else 2,
        memory=not quick if memory is None else memory,
        bf16=not quick if bf16 is None else bf16,
        threads=threads or torch.get_num_threads(),
    )
    unknown = [k for k in configs if k not in CONFIGS] + [k for k in cases or () if k not in CASES_BY_KEY]
    if unknown:
        raise ValueError(f"unknown config or case: {unknown}")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        start = time.perf_counter()
        results = [
            run_case(CONFIGS[key], case, settings)
            for key in configs
            for case in CASES
            if cases is None or case.key in cases
        ]
        return render(results, settings, time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous_threads)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the markdown report (and writes it with ``--out``)."""
    parser = timing.benchmark_parser(__doc__, quick_help="config A, few rounds, no memory, no bf16 row")
    parser.add_argument(
        "--config", choices=["A", "B", "all"], default=None, help="default: all (A with --quick)"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--no-bf16", action="store_true", help="skip the (slow) bf16 autocast row")
    parser.add_argument("--case", action="append", choices=sorted(CASES_BY_KEY), help="run only these cases")
    parser.add_argument(
        "--memory-worker", nargs=3, metavar=("CONFIG", "CASE", "INDEX"), help=argparse.SUPPRESS
    )
    args = timing.parse_benchmark_args(parser, argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.memory_worker:
        config_key, case_key, index = args.memory_worker
        memory_worker(config_key, case_key, int(index))
        return 0
    configs = None if args.config is None else ["A", "B"] if args.config == "all" else [args.config]
    report = run(
        configs,
        args.rounds,
        memory=False if args.no_memory else None,
        quick=args.quick,
        bf16=False if args.no_bf16 else None,
        cases=args.case,
        threads=args.threads,
    )
    return timing.emit_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
