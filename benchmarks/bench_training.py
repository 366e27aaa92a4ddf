"""Benchmark the front-end's share of a ResNet-18 training step and the data loader's throughput (CPU).

Target (batch 16, 3 s at 22.05 kHz, mel front-end with a learnable window and filterbank): the front-end's
forward + backward takes <= 10 % of a training step (zero_grad, forward, cross-entropy, backward, AdamW
step). The share is estimated twice in one run: (1) the front-end's forward + backward timed on its own,
interleaved round by round with the full step, median / median; (2) ``torch.profiler`` over full steps,
with every module of the classifier wrapped in a ``record_function`` scope and each backward node
attributed to the scope whose forward created it (by autograd sequence number).

The data loader (``AudioDataModule.train_dataloader()``, 2 workers) reads a class-folder dataset of
44.1 kHz stereo WAV files (generated, or ``--data DIR``), so every clip is decoded, mixed to mono and soxr
resampled to 22.05 kHz (``data.cache=false``, the worst case) or cropped from memory (``data.cache=true``),
with and without waveform augmentation; its clips/s is compared with the training step's clips/s. A last
row trains on the loader's batches, workers and torch threads sharing the cores.

Usage::

    python benchmarks/bench_training.py                      # full run (< 5 min on 2 cores)
    python benchmarks/bench_training.py --quick              # small dataset, few rounds (< 1 min)
    python benchmarks/bench_training.py --learn-kernels      # also train the Fourier kernels (dense path)
    python benchmarks/bench_training.py --data /tmp/wavs --threads 1 --out training.md

From Python::

    sys.path.insert(0, "benchmarks"); import bench_training; print(bench_training.run(quick=True))
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile, record_function

import _timing as timing

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from adaspec.config.loading import resolve_config
    from adaspec.training.builders import build_classifier, build_optimizer
    from adaspec.training.catalog import Catalog, SplitData
    from adaspec.training.datamodule import AudioDataModule

SAMPLE_RATE = 22050
CLIP_SECONDS = 3.0
BATCH_SIZE = 16
SHARE_TARGET = 0.10  # front-end forward + backward / training step
CONTENTION_PROBE = 0.9  # parallel-probe value above which the report warns about a busy machine
SCOPE = "adaspec::"  # prefix of this benchmark's record_function scopes
EVALUATE = "autograd::engine::evaluate_function: "  # prefix of the profiler's backward-node events


def log(message: str) -> None:
    """Progress on stderr (stdout carries the report)."""
    print(message, file=sys.stderr, flush=True)


# -------------------------------------------------------------------------------------------- dataset


@dataclass(frozen=True)
class DatasetSpec:
    """A generated class-folder dataset of multi-channel WAV files."""

    classes: int
    files_per_class: int
    seconds: float
    sample_rate: int = 44100
    channels: int = 2

    def describe(self) -> str:
        return (
            f"{self.classes} classes x {self.files_per_class} files x {self.seconds:g} s, "
            f"{self.sample_rate} Hz, {self.channels} channels, 16-bit PCM WAV"
        )


FULL_DATA = DatasetSpec(classes=8, files_per_class=8, seconds=30.0)  # 64 clips: 4 batches per epoch
QUICK_DATA = DatasetSpec(classes=4, files_per_class=8, seconds=10.0)  # 32 clips: 2 batches per epoch


def write_dataset(root: Path, spec: DatasetSpec, seed: int = 0) -> Path:
    """Write ``root/class_<c>/class_<c>_<i>.wav``: per class a harmonic tone (pitch by class, jittered per
    file) with a different gain on each channel, plus noise. Returns ``root``."""
    rng = np.random.default_rng(seed)
    n = round(spec.seconds * spec.sample_rate)
    t = np.arange(n) / spec.sample_rate
    for c in range(spec.classes):
        folder = root / f"class_{c:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(spec.files_per_class):
            f0 = 110.0 * 2 ** (c / 2) * rng.uniform(0.97, 1.03)
            phase = 2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi)
            tone = (np.sin(phase) + 0.4 * np.sin(2 * phase)).astype(np.float32)
            gains = rng.uniform(0.2, 0.4, spec.channels).astype(np.float32)
            noise = rng.standard_normal((n, spec.channels), dtype=np.float32)
            wave = tone[:, None] * gains[None, :] + 0.02 * noise
            sf.write(folder / f"class_{c:02d}_{i:02d}.wav", wave, spec.sample_rate, subtype="PCM_16")
    return root


def dataset_summary(root: Path) -> str:
    """Class, file and length facts of an existing class-folder dataset of WAV files."""
    files = sorted(root.glob("*/*.wav"))
    if not files:
        return f"{root} (no */*.wav files at the top level of the class folders)"
    infos = [sf.info(str(f)) for f in files]
    rates = sorted({i.samplerate for i in infos})
    channels = sorted({i.channels for i in infos})
    seconds = statistics.median(i.duration for i in infos)
    classes = len({f.parent.name for f in files})
    return (
        f"{root}: {classes} classes, {len(files)} WAV files, median {seconds:.1f} s, "
        f"{'/'.join(map(str, rates))} Hz, {'/'.join(map(str, channels))} channel(s)"
    )


# --------------------------------------------------------------------------------------------- config


def make_config(
    root: Path, *, learn_kernels: bool, cache: bool = True, augment: bool = False, workers: int = 2
) -> dict[str, Any]:
    """The run config of the target: mel front-end with learnable window and filters, ResNet-18."""
    frontend = (
        "{name: mel, n_fft: 2048, hop_length: 512, n_mels: 128, learn_window: true, "
        f"learn_kernels: {str(learn_kernels).lower()}, learn_filters: true}}"
    )
    return resolve_config(
        None,
        [
            f"data.root={json.dumps(str(root))}",
            f"data.sample_rate={SAMPLE_RATE}",
            f"data.clip_seconds={CLIP_SECONDS}",
            f"data.batch_size={BATCH_SIZE}",
            f"data.num_workers={workers}",
            f"data.cache={str(cache).lower()}",
            "data.fractions={train: 1.0}",  # every file in the training split
            f"frontend={frontend}",
            "model.backbone=resnet18",
            "model.adapter=repeat",
            "model.compression=db",
            f"augment.enabled={str(augment).lower()}",
        ],
    )


def without_cache(catalog: Catalog) -> Catalog:
    """The same files without decoded waveforms: loaders then decode every clip in their workers."""
    splits = {name: SplitData(split.items, split.labels, None) for name, split in catalog.splits.items()}
    return Catalog(catalog.class_names, splits, catalog.bad)


# ------------------------------------------------------------------------------ step and its profile


class Scoped(nn.Module):
    """Runs ``inner`` inside a ``record_function`` scope ``adaspec::<label>`` (negligible cost without an
    active profiler), so the profiler can attribute the forward ops, and through them the backward
    nodes, to the classifier's stages."""

    def __init__(self, label: str, inner: nn.Module) -> None:
        super().__init__()
        self.label = label
        self.inner = inner

    def forward(self, *args: Any) -> Any:
        with record_function(SCOPE + self.label):
            return self.inner(*args)


STAGES = ("frontend", "compression", "adapter", "input_norm", "backbone", "loss")


def instrument(model: nn.Module) -> None:
    """Wrap the classifier's modules in :class:`Scoped` (in place; parameters are the same objects)."""
    for index, frontend in enumerate(model.frontends):
        model.frontends[index] = Scoped("frontend", frontend)
    for label in ("compression", "adapter", "input_norm", "masking", "backbone"):
        module = getattr(model, label)
        if module is not None:
            setattr(model, label, Scoped(label, module))


def make_train_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, waves: torch.Tensor, labels: torch.Tensor
) -> Callable[[], torch.Tensor]:
    """One training step on a fixed batch: zero_grad, forward, cross-entropy, backward, optimizer step."""
    loss_fn = nn.CrossEntropyLoss()

    def step() -> torch.Tensor:
        with record_function(SCOPE + "train_step"):
            optimizer.zero_grad(set_to_none=True)
            logits = model(waves)
            with record_function(SCOPE + "loss"):
                loss = loss_fn(logits, labels)
            with record_function(SCOPE + "backward"):
                loss.backward()
            with record_function(SCOPE + "optimizer"):
                optimizer.step()
        return loss

    return step


def make_frontend_step(
    frontend: nn.Module, waves: torch.Tensor
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(call, reset): the front-end's forward plus the backward of ``(output * g).sum()`` with a fixed
    random ``g`` (a dense output gradient, as in the full step) w.r.t. its trainable parameters; reset
    drops their gradients, as ``zero_grad(set_to_none=True)`` does."""
    params = [p for p in frontend.parameters() if p.requires_grad]
    with torch.no_grad():
        weight = torch.randn_like(frontend(waves))

    def call() -> None:
        (frontend(waves) * weight).sum().backward()

    def reset() -> None:
        for p in params:
            p.grad = None

    return call, reset


def _walk(event: Any) -> Iterator[Any]:
    """``event`` and all its descendants in the profiler's CPU call tree."""
    stack = [event]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.cpu_children)


@dataclass
class Breakdown:
    """Per-step profiler times in milliseconds (averaged over the profiled steps)."""

    steps: int
    step_ms: float
    forward_ms: dict[str, float]
    backward_ms: dict[str, float]
    accumulate_ms: float  # AccumulateGrad nodes (no sequence number: not attributable to a stage)
    backward_other_ms: float  # backward scope minus its nodes: autograd engine overhead
    optimizer_ms: float
    frontend_ops: list[tuple[str, float]]  # (pass: op, self ms) inside the front-end, largest first

    @property
    def frontend_ms(self) -> float:
        return self.forward_ms.get("frontend", 0.0) + self.backward_ms.get("frontend", 0.0)

    @property
    def share(self) -> float:
        return self.frontend_ms / self.step_ms


def attribute(events: Sequence[Any], steps: int) -> Breakdown:
    """Split the profiled steps' time into stages.

    Forward: the inclusive time of each stage's scopes. Backward: each ``evaluate_function`` node event
    goes to the stage whose forward ops carried its sequence number (an op that creates no node records
    the next number, which may belong to the next stage's first op, so the chronologically last owner
    wins).
    """
    per_step = 1e-3 / steps  # profiler microseconds -> milliseconds per step
    by_name: dict[str, list[Any]] = defaultdict(list)
    for event in events:
        by_name[event.name].append(event)

    def total_ms(name: str) -> float:
        return sum(e.cpu_time_total for e in by_name.get(SCOPE + name, [])) * per_step

    forward_ms = {stage: total_ms(stage) for stage in STAGES if SCOPE + stage in by_name}
    seen: list[tuple[float, int, str]] = []
    frontend_self: dict[str, float] = defaultdict(float)
    for stage in forward_ms:
        for scope in by_name[SCOPE + stage]:
            for node in _walk(scope):
                if node.sequence_nr >= 0:
                    seen.append((node.time_range.start, node.sequence_nr, stage))
                if stage == "frontend":
                    frontend_self[f"fwd: {node.name}"] += node.self_cpu_time_total * per_step
    owner = {seq: stage for _, seq, stage in sorted(seen)}
    backward_ms: dict[str, float] = defaultdict(float)
    accumulate_ms = nodes_ms = 0.0
    for scope in by_name.get(SCOPE + "backward", []):
        for node in scope.cpu_children:
            if not node.name.startswith(EVALUATE):
                continue
            ms = node.cpu_time_total * per_step
            nodes_ms += ms
            stage = owner.get(node.sequence_nr)
            if "AccumulateGrad" in node.name or stage is None:
                accumulate_ms += ms
                continue
            backward_ms[stage] += ms
            if stage == "frontend":
                for sub in _walk(node):
                    frontend_self[f"bwd: {sub.name.removeprefix(EVALUATE)}"] += (
                        sub.self_cpu_time_total * per_step
                    )
    ops = sorted(frontend_self.items(), key=lambda kv: -kv[1])
    return Breakdown(
        steps=steps,
        step_ms=total_ms("train_step"),
        forward_ms=forward_ms,
        backward_ms=dict(backward_ms),
        accumulate_ms=accumulate_ms,
        backward_other_ms=total_ms("backward") - nodes_ms,
        optimizer_ms=total_ms("optimizer"),
        frontend_ops=ops,
    )


def profile_steps(step: Callable[[], object], steps: int) -> Breakdown:
    """Profile ``steps`` training steps on the CPU and attribute their time (see :func:`attribute`)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    return attribute(list(prof.events()), steps)


# --------------------------------------------------------------------------------------------- loader


@dataclass
class LoaderCase:
    """One data-loader configuration, timed one epoch per call."""

    name: str
    cache: bool
    augment: bool
    loader: Any = None
    clips: list[int] = field(default_factory=list)
    samples: list[float] = field(default_factory=list)

    @property
    def clips_per_s(self) -> float:
        return statistics.median(self.clips) / statistics.median(self.samples)


def epoch_runner(case: LoaderCase) -> Callable[[], None]:
    """A call that iterates one epoch of ``case.loader`` (a fresh permutation each time)."""
    epochs = iter(range(1_000_000))

    def run_epoch() -> None:
        case.loader.sampler.set_epoch(next(epochs))
        case.clips.append(sum(len(labels) for _, labels in case.loader))

    return run_epoch


def shutdown(loader: Any) -> None:
    """Stop a loader's persistent worker processes now (rather than at garbage collection)."""
    iterator = getattr(loader, "_iterator", None)
    if iterator is not None:
        iterator._shutdown_workers()
        loader._iterator = None


@dataclass
class EndToEnd:
    """Training on the loader's batches: clips, wall seconds, and seconds spent waiting for batches."""

    name: str
    clips: int
    seconds: float
    wait_seconds: float

    @property
    def clips_per_s(self) -> float:
        return self.clips / self.seconds


def end_to_end(
    name: str, loader: Any, model: nn.Module, optimizer: torch.optim.Optimizer, epochs: int
) -> EndToEnd:
    """Train ``epochs`` epochs on ``loader`` (workers already started), timing the waits for batches."""
    loss_fn = nn.CrossEntropyLoss()
    clips, wait = 0, 0.0
    start = time.perf_counter()
    for epoch in range(epochs):
        loader.sampler.set_epoch(1000 + epoch)
        batches = iter(loader)
        while True:
            before = time.perf_counter()
            batch = next(batches, None)
            wait += time.perf_counter() - before
            if batch is None:
                break
            waves, labels = batch
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(waves), labels).backward()
            optimizer.step()
            clips += len(labels)
    return EndToEnd(name, clips, time.perf_counter() - start, wait)


# ---------------------------------------------------------------------------------------------- run


@dataclass(frozen=True)
class Settings:
    """How hard to measure."""

    quick: bool
    threads: int
    learn_kernels: bool
    workers: int
    warmup: int
    rounds: int | None  # fixed interleaved rounds for the step timing, or None to fit ``budget_s``
    budget_s: float
    min_rounds: int
    max_rounds: int
    profile_steps: int
    loader_epochs: int
    e2e_epochs: int  # 0: no end-to-end row
    dataset: DatasetSpec
    data_dir: Path | None


@dataclass
class Results:
    """Everything the report shows."""

    settings: Settings
    data_note: str
    clips_per_epoch: int
    scan_s: float
    feature_shape: tuple[int, ...]
    step: timing.Timed
    frontend: timing.Timed
    breakdown: Breakdown
    loaders: list[LoaderCase]
    e2e: list[EndToEnd]
    probes: tuple[float, float]
    elapsed_s: float = 0.0

    @property
    def step_ms(self) -> float:
        return timing.median_ms(self.step.samples)

    @property
    def frontend_ms(self) -> float:
        return timing.median_ms(self.frontend.samples)

    @property
    def step_clips_per_s(self) -> float:
        return BATCH_SIZE / (self.step_ms * 1e-3)


LOADER_CASES = (
    ("decode on the fly (cache false)", False, False),
    ("cached waveforms (cache true)", True, False),
    ("decode on the fly + augmentation", False, True),
    ("cached waveforms + augmentation", True, True),
)


def _measure(settings: Settings, root: Path, data_note: str) -> Results:
    # ---- scan the dataset once (decoding every file: the cache fill), shared by every loader
    cached_config = make_config(root, learn_kernels=settings.learn_kernels, workers=settings.workers)
    start = time.perf_counter()
    scanned = AudioDataModule(cached_config)
    scanned.setup()
    scan_s = time.perf_counter() - start
    catalogs = {True: scanned.catalog, False: without_cache(scanned.catalog)}
    class_names = scanned.class_names
    clips_per_epoch = len(scanned.split("train").items)
    log(f"scanned {clips_per_epoch} files in {scan_s:.1f} s ({len(class_names)} classes)")

    # ---- training step vs the front-end alone, interleaved
    torch.manual_seed(0)
    model = build_classifier(cached_config, num_classes=len(class_names))
    model.train()
    instrument(model)
    optimizer = build_optimizer(model, cached_config["optim"])
    waves = 0.1 * torch.randn(BATCH_SIZE, round(CLIP_SECONDS * SAMPLE_RATE))
    labels = torch.randint(0, len(class_names), (BATCH_SIZE,))
    with torch.no_grad():
        feature_shape = tuple(model.features(waves).shape)
    step = timing.Timed("training step", make_train_step(model, optimizer, waves, labels))
    frontend_call, frontend_reset = make_frontend_step(model.frontend, waves)
    frontend = timing.Timed("front-end fwd+bwd", frontend_call, frontend_reset)
    impls = [step, frontend]
    probe = timing.parallel_probe if settings.threads > 1 else lambda: float("nan")
    probe_before = probe()
    estimates = timing.warm_up(impls, settings.warmup)
    rounds = settings.rounds or timing.choose_rounds(
        estimates, impls, settings.budget_s, settings.min_rounds, settings.max_rounds
    )
    costs = ", ".join(f"{name} ~{seconds * 1e3:.0f} ms" for name, seconds in estimates.items())
    log(f"step timing: {rounds} rounds (last warm-up call: {costs})")
    timing.interleaved(impls, rounds)
    log(f"profiling {settings.profile_steps} step(s)")
    breakdown = profile_steps(step.call, settings.profile_steps)
    probes = (probe_before, probe())

    # ---- data loaders, one epoch per call, interleaved
    loaders = []
    for name, cache, augment in LOADER_CASES:
        config = make_config(
            root, learn_kernels=settings.learn_kernels, cache=cache, augment=augment, workers=settings.workers
        )
        case = LoaderCase(name, cache, augment)
        case.loader = AudioDataModule(config, catalog=catalogs[cache]).train_dataloader()
        loaders.append(case)
    timed = [timing.Timed(case.name, epoch_runner(case)) for case in loaders]
    timing.warm_up(timed, 1)  # starts the persistent workers
    for case in loaders:
        case.clips.clear()
    log(f"loader timing: {settings.loader_epochs} epochs of {clips_per_epoch} clips per loader")
    timing.interleaved(timed, settings.loader_epochs)
    for case, impl in zip(loaders, timed, strict=True):
        case.samples = list(impl.samples)
    # training fed by the worst-case loader (decoding and augmentation in the workers) and by the
    # default one (data.cache true, no augmentation)
    e2e_cases = [loaders[2], loaders[1]] if settings.e2e_epochs else []
    for case in loaders:
        if all(case is not kept for kept in e2e_cases):
            shutdown(case.loader)

    # ---- training fed by the loader
    e2e = []
    for case in e2e_cases:
        log(f"end-to-end: {settings.e2e_epochs} epoch(s) of training on '{case.name}'")
        e2e.append(end_to_end(case.name, case.loader, model, optimizer, settings.e2e_epochs))
        shutdown(case.loader)
    for case in loaders:
        case.loader = None
    gc.collect()
    return Results(
        settings=settings,
        data_note=data_note,
        clips_per_epoch=clips_per_epoch,
        scan_s=scan_s,
        feature_shape=feature_shape,
        step=step,
        frontend=frontend,
        breakdown=breakdown,
        loaders=loaders,
        e2e=e2e,
        probes=probes,
    )


def run(
    quick: bool = False,
    *,
    threads: int | None = None,
    learn_kernels: bool = False,
    data_dir: str | Path | None = None,
    rounds: int | None = None,
    e2e: bool | None = None,
    workers: int = 2,
) -> str:
    """Run the benchmark and return the markdown report.

    Args:
        quick: a small dataset and few rounds (under a minute on 2 cores).
        threads: torch intra-op threads of the training process (default: torch's current setting).
        learn_kernels: also train the Fourier kernels (the STFT then takes its dense matrix path).
        data_dir: a class-folder dataset to read (written there first when the folder does not exist);
            default: generated in a temporary folder and deleted afterwards.
        rounds: interleaved rounds of the step timing (default: fitted to a time budget).
        e2e: include the end-to-end training row (default ``not quick``).
        workers: data-loader worker processes.
    """
    spec = QUICK_DATA if quick else FULL_DATA
    settings = Settings(
        quick=quick,
        threads=threads or torch.get_num_threads(),
        learn_kernels=learn_kernels,
        workers=workers,
        warmup=1 if quick else 2,
        rounds=rounds,
        budget_s=10.0 if quick else 30.0,
        min_rounds=2 if quick else 5,
        max_rounds=3 if quick else 30,
        profile_steps=2 if quick else 5,
        loader_epochs=3 if quick else 8,
        e2e_epochs=(0 if quick else 2) if e2e is None else (2 if e2e else 0),
        dataset=spec,
        data_dir=None if data_dir is None else Path(data_dir),
    )
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="adaspec-bench-") as tmp:
            root = settings.data_dir or Path(tmp) / "data"
            if not root.exists():
                log(f"writing {spec.describe()} to {root}")
                write_start = time.perf_counter()
                write_dataset(root, spec)
                os.sync()  # flush the files now: background writeback would steal CPU from the timing
                log(f"dataset written in {time.perf_counter() - write_start:.1f} s")
                note = f"generated: {spec.describe()}" + (f" (kept in {root})" if settings.data_dir else "")
            else:
                note = dataset_summary(root)
            results = _measure(settings, root, note)
    finally:
        torch.set_num_threads(previous_threads)
    results.elapsed_s = time.perf_counter() - start
    return render(results)


# -------------------------------------------------------------------------------------------- report


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def render(r: Results) -> str:
    """The markdown report: machine facts, the target table, then the details behind it."""
    s = r.settings
    b = r.breakdown
    share = r.frontend_ms / r.step_ms
    step_rate = r.step_clips_per_s
    learned = "window, filterbank and Fourier kernels" if s.learn_kernels else "window and filterbank"
    lines = ["# adaspec training step: front-end share and data-loader throughput (CPU)", ""]
    facts = timing.machine_facts(
        ["torch", "numpy", "soundfile", "soxr", "audiomentations", "lightning", "adaspec"]
    )
    lines += [f"- **{label}**: {value}" for label, value in facts]
    lines += [
        f"- **model**: ResNet-18 (repeat adapter, dB compression, input BatchNorm), AdamW; batch "
        f"{BATCH_SIZE} x {CLIP_SECONDS:g} s at {SAMPLE_RATE} Hz ({round(CLIP_SECONDS * SAMPLE_RATE)} "
        f"samples); mel front-end n_fft 2048, hop 512, 128 mels, learnable {learned}; backbone input "
        f"{tuple(r.feature_shape)}",
        f"- **dataset**: {r.data_note}; every file in the training split: {r.clips_per_epoch} clips "
        f"per epoch (one random {CLIP_SECONDS:g} s crop per file)",
        "",
        "## Targets",
        "",
    ]
    rows = [
        [
            "front-end share of a training step: front-end fwd+bwd timed alone / full step "
            "(medians, interleaved)",
            f"{share:.1%} ({_ms(r.frontend_ms)} / {_ms(r.step_ms)} ms)",
            f"<= {SHARE_TARGET:.0%}",
            _verdict(share <= SHARE_TARGET),
        ],
        [
            f"front-end share of a training step: torch.profiler attribution ({b.steps} step(s))",
            f"{b.share:.1%} ({_ms(b.frontend_ms)} / {_ms(b.step_ms)} ms)",
            f"<= {SHARE_TARGET:.0%}",
            _verdict(b.share <= SHARE_TARGET),
        ],
        [
            "training step rate (random batch in memory)",
            f"{_rate(step_rate)} clips/s ({r.step_ms / 1e3:.2f} s per step of {BATCH_SIZE})",
            "-",
            "reference",
        ],
    ]
    for case in r.loaders:
        rate = case.clips_per_s
        rows.append(
            [
                f"data loader, {s.workers} workers, {case.name}",
                f"{_rate(rate)} clips/s ({rate / step_rate:.1f}x the step rate)",
                f">= {_rate(step_rate)} clips/s",
                "PASS (keeps up)" if rate >= step_rate else "**FAIL** (does not keep up)",
            ]
        )
    for e in r.e2e:
        rows.append(
            [
                f"training fed by the loader ({e.name}; workers and torch threads share the cores)",
                f"{_rate(e.clips_per_s)} clips/s ({e.clips_per_s / step_rate:.2f}x the step rate; "
                f"{e.wait_seconds / e.seconds:.0%} of the time waiting for batches)",
                "-",
                "info",
            ]
        )
    lines.append(timing.markdown_table(["Case", "Measured", "Target", "Result"], rows, "llll"))

    lines += ["", "## Step timing", ""]
    timed_rows = []
    for impl in (r.step, r.frontend):
        low, high = timing.iqr_ms(impl.samples)
        median = timing.median_ms(impl.samples)
        timed_rows.append(
            [
                impl.name,
                _ms(median),
                f"{_ms(low)} - {_ms(high)}" if len(impl.samples) > 1 else "-",
                str(len(impl.samples)),
                f"{median / r.step_ms:.1%}",
            ]
        )
    lines.append(timing.markdown_table(["Call", "median ms", "IQR ms", "n", "of step"], timed_rows, "lrrrr"))
    lines += [
        "",
        f"{s.warmup} warm-up call(s) each, then interleaved rounds (both calls once per round, rotating "
        f"order); torch threads {s.threads}. The front-end call is its forward plus the backward of "
        "(output * g).sum() with a fixed random g w.r.t. its trainable parameters (the input needs no "
        "gradient, as in training); gradients are dropped before every call.",
    ]

    lines += ["", f"## Where a training step goes (torch.profiler, mean of {b.steps} step(s))", ""]
    breakdown_rows = []
    for stage in STAGES:
        if stage not in b.forward_ms:
            continue
        fwd, bwd = b.forward_ms[stage], b.backward_ms.get(stage, 0.0)
        breakdown_rows.append([stage, _ms(fwd), _ms(bwd), _ms(fwd + bwd), f"{(fwd + bwd) / b.step_ms:.1%}"])
    for label, ms in (
        ("gradient accumulation (AccumulateGrad, all parameters)", b.accumulate_ms),
        ("autograd engine overhead", b.backward_other_ms),
        ("optimizer step (AdamW)", b.optimizer_ms),
    ):
        breakdown_rows.append([label, "", "", _ms(ms), f"{ms / b.step_ms:.1%}"])
    accounted = (
        sum(b.forward_ms.values())
        + sum(b.backward_ms.values())
        + b.accumulate_ms
        + b.backward_other_ms
        + b.optimizer_ms
    )
    other = b.step_ms - accounted
    breakdown_rows.append(
        ["other (zero_grad, Python between stages)", "", "", _ms(other), f"{other / b.step_ms:.1%}"]
    )
    breakdown_rows.append(["**training step**", "", "", _ms(b.step_ms), "100%"])
    lines.append(
        timing.markdown_table(
            ["Stage", "forward ms", "backward ms", "total ms", "of step"], breakdown_rows, "lrrrr"
        )
    )
    top = [f"{name} {_ms(ms)} ms" for name, ms in b.frontend_ops[:8] if ms >= 0.05]
    lines += [
        "",
        "Forward: inclusive time of each stage's record_function scope. Backward: each autograd node goes to "
        "the stage whose forward created it (matched by sequence number). Profiler overhead inflates "
        "stages made of many small ops.",
        f"Front-end self time by op (ms per step): {'; '.join(top)}.",
    ]

    lines += ["", f"## Data loader ({s.workers} workers, batch {BATCH_SIZE}, interleaved epochs)", ""]
    loader_rows = []
    for case in r.loaders:
        low, high = timing.iqr_ms(case.samples)
        loader_rows.append(
            [
                case.name,
                _ms(timing.median_ms(case.samples)),
                f"{_ms(low)} - {_ms(high)}",
                str(len(case.samples)),
                _rate(case.clips_per_s),
                f"{case.clips_per_s / step_rate:.1f}x",
            ]
        )
    lines.append(
        timing.markdown_table(
            ["Loader", "median ms / epoch", "IQR ms", "epochs", "clips/s", "vs step rate"],
            loader_rows,
            "lrrrrr",
        )
    )
    lines += [
        "",
        f"One warm-up epoch per loader (starts its persistent workers), then {s.loader_epochs} epochs each, "
        "one loader per turn in rotating order; the training process is idle meanwhile, so the workers "
        "have the cores to themselves. An epoch includes refilling the prefetch queue at its start. "
        f"Decoding on the fly reads the whole file for every clip; the cache is filled once at setup "
        f"(here {r.clips_per_epoch} files decoded and resampled in {r.scan_s:.1f} s in the main process, "
        f"{r.clips_per_epoch / r.scan_s:.1f} files/s).",
    ]
    for e in r.e2e:
        lines.append(
            f"Training fed by the loader ({e.name}): {e.clips} clips in {e.seconds:.1f} s over "
            f"{s.e2e_epochs} epoch(s), {e.wait_seconds:.1f} s of it waiting in next(loader)."
        )
    notes = []
    if s.threads > 1:
        notes.append(f"parallel probe before / after the step timing: {r.probes[0]:.2f} / {r.probes[1]:.2f}")
        if max(r.probes) > CONTENTION_PROBE:
            notes.append(
                f"**warning**: a probe above {CONTENTION_PROBE} means another process held a core while "
                "this ran; rerun on an idle machine or with --threads 1."
            )
    lines += ["", *[f"- {n}" for n in notes], f"Total benchmark wall time: {r.elapsed_s:.0f} s."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the markdown report (and writes it with ``--out``)."""
    parser = timing.benchmark_parser(__doc__, quick_help="small dataset, few rounds, no end-to-end row")
    parser.add_argument(
        "--learn-kernels", action="store_true", help="also train the Fourier kernels (dense path)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="class-folder dataset to read (generated there if DIR does not exist; default: a temp dir)",
    )
    parser.add_argument("--workers", type=int, default=2, help="data-loader workers (default 2)")
    parser.add_argument("--no-e2e", action="store_true", help="skip training fed by the loader")
    args = timing.parse_benchmark_args(parser, argv)
    if args.workers < 0:
        parser.error("--workers must be >= 0")
    report = run(
        args.quick,
        threads=args.threads,
        learn_kernels=args.learn_kernels,
        data_dir=args.data,
        rounds=args.rounds,
        e2e=False if args.no_e2e else None,
        workers=args.workers,
    )
    return timing.emit_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
