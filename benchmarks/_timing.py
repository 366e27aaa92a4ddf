"""Reusable pieces for adaspec's CPU benchmarks: interleaved timing, per-call peak memory measured in a
fresh subprocess, output agreement checks, machine facts, markdown tables and the shared command line.

The machines these run on are shared and noisy, so absolute times drift between runs; ratios of
implementations timed in the same run, interleaved round by round, are what these helpers are built for.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

MEMORY_MARKER = "PEAK_RSS_GROWTH_MIB="
#: glibc settings for memory subprocesses: a fixed mmap threshold turns off glibc's dynamic threshold, so
#: every large buffer is mapped and unmapped on its own and the resident set follows live allocations
#: instead of keeping a warm-up call's freed memory in the heap (which would hide the measured call's).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}


# --------------------------------------------------------------------------------------------- timing


@dataclass
class Timed:
    """One implementation to time: ``call`` is timed; ``reset`` runs untimed before every call."""

    name: str
    call: Callable[[], object]
    reset: Callable[[], None] | None = None
    max_rounds: int | None = None  # cap for very slow implementations (None: the case's rounds)
    warmup: int | None = None  # warm-up calls for this implementation (None: the shared default)
    samples: list[float] = field(default_factory=list)

    def run_once(self) -> float:
        """Run ``reset`` then one timed ``call``; return and record the seconds the call took."""
        if self.reset is not None:
            self.reset()
        start = time.perf_counter()
        self.call()
        elapsed = time.perf_counter() - start
        self.samples.append(elapsed)
        return elapsed


def warm_up(impls: Sequence[Timed], calls: int = 2) -> dict[str, float]:
    """Call every implementation ``calls`` times (its own ``warmup`` if set); return the last call's
    seconds per implementation (a cost estimate used to choose the number of rounds)."""
    last: dict[str, float] = {}
    for impl in impls:
        n = calls if impl.warmup is None else impl.warmup
        for _ in range(n):
            last[impl.name] = impl.run_once()
        impl.samples.clear()
    return last


def choose_rounds(
    estimates: dict[str, float],
    impls: Sequence[Timed],
    budget_s: float,
    min_rounds: int,
    max_rounds: int,
) -> int:
    """Rounds that fit ``budget_s`` given per-call estimates (capped implementations count only for
    their own cap), clamped to ``[min_rounds, max_rounds]``."""
    capped = sum(estimates.get(i.name, 0.0) * i.max_rounds for i in impls if i.max_rounds is not None)
    per_round = sum(estimates.get(i.name, 0.0) for i in impls if i.max_rounds is None)
    if per_round <= 0:
        return max_rounds
    rounds = int((budget_s - capped) / per_round)
    return max(min_rounds, min(max_rounds, rounds))


def interleaved(impls: Sequence[Timed], rounds: int) -> None:
    """Time ``rounds`` rounds; in each, every implementation runs once, in an order rotated by one each
    round, so drift and noise on a shared machine hit all implementations alike. Samples accumulate in
    each ``Timed.samples``."""
    for r in range(rounds):
        gc.collect()
        order = list(impls[r % len(impls) :]) + list(impls[: r % len(impls)])
        for impl in order:
            if impl.max_rounds is not None and len(impl.samples) >= impl.max_rounds:
                continue
            impl.run_once()


def median_ms(samples: Sequence[float]) -> float:
    """Median of samples in seconds, in milliseconds."""
    return statistics.median(samples) * 1e3


def iqr_ms(samples: Sequence[float]) -> tuple[float, float]:
    """25th and 75th percentiles of samples in seconds, in milliseconds."""
    low, high = np.percentile(np.asarray(samples) * 1e3, [25, 75])
    return float(low), float(high)


def parallel_probe(repeats: int = 15) -> float:
    """Time of a 4M-element multiply with torch's current thread count divided by its time on one thread.

    On an idle multi-core machine this is about ``1 / threads`` or a bit more; near or above 1 the other
    cores are busy (another tenant), and every parallel region then waits for a descheduled thread,
    which inflates implementations made of many small ops far more than those made of a few big ones.
    """
    threads = torch.get_num_threads()
    a, b = torch.randn(4_194_304), torch.randn(4_194_304)
    out = torch.empty_like(a)

    def median_s(n_threads: int) -> float:
        torch.set_num_threads(n_threads)
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mul(a, b, out=out)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    try:
        single = median_s(1)
        multi = median_s(threads)
    finally:
        torch.set_num_threads(threads)
    return multi / single


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` torch intra-op threads (``None``: the current setting); the previous
    setting is restored afterwards. Yields the thread count in force."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or previous)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def measure(
    impls: Sequence[Timed], rounds: int | None, budget: tuple[float, int, int], warmup_calls: int = 1
) -> tuple[int, tuple[float, float]]:
    """Warm up, fit the number of rounds to ``budget`` (seconds, fewest, most) unless ``rounds`` is given,
    and time ``impls`` interleaved, between two parallel probes (``nan`` on one thread).

    Returns:
        The rounds run and the probes before and after.
    """
    probe = parallel_probe if torch.get_num_threads() > 1 else lambda: float("nan")
    before = probe()
    estimates = warm_up(impls, warmup_calls)
    n_rounds = rounds or choose_rounds(estimates, impls, *budget)
    interleaved(impls, n_rounds)
    return n_rounds, (before, probe())


def projected_step(
    module: torch.nn.Module,
    x: torch.Tensor,
    output: Callable[[torch.Tensor], torch.Tensor] = lambda y: y,
) -> tuple[Callable[[], None], Callable[[], None]]:
    """A training step (forward, ``output`` of it times a fixed random projection, summed, backward) and
    its untimed reset (gradients of the trainable parameters set to ``None``)."""
    with torch.no_grad():
        reference = output(module(x))
    projection = torch.randn(reference.shape, generator=torch.Generator().manual_seed(1))
    projection = projection.to(reference.device, reference.dtype)
    trainable = [p for p in module.parameters() if p.requires_grad]

    def step() -> None:
        (output(module(x)) * projection).sum().backward()

    def reset() -> None:
        for p in trainable:
            p.grad = None

    return step, reset


def tones_and_noise(
    batch: int, seconds: float, sample_rate: int, seed: int = 0, lowest: float = 100.0
) -> torch.Tensor:
    """A reproducible float32 ``(batch, samples)`` test batch: three tones per signal, uniform in ``lowest``
    to ``lowest + 4000`` Hz, at 0.3 each, plus white noise at 0.1 (computed in float64)."""
    generator = torch.Generator().manual_seed(seed)
    n = round(seconds * sample_rate)
    t = torch.arange(n, dtype=torch.float64) / sample_rate
    freqs = torch.rand(batch, 3, 1, generator=generator, dtype=torch.float64) * 4000 + lowest
    tones = torch.sin(2 * torch.pi * freqs * t).sum(dim=1)
    noise = torch.randn(batch, n, generator=generator, dtype=torch.float64)
    return (0.3 * tones + 0.1 * noise).to(torch.float32)


def load_average() -> str:
    """The 1/5/15-minute load averages (``"n/a"`` where unsupported)."""
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


# --------------------------------------------------------------------------------------------- memory


def _status_kib(field_name: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` style field of /proc/self/status in KiB (None off Linux)."""
    try:
        with open("/proc/self/status") as status:
            match = re.search(rf"^{field_name}:\s+(\d+)\s+kB", status.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_peak_rss() -> bool:
    """Reset the process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0); False if impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def peak_rss_growth_mib(call: Callable[[], object], reset: Callable[[], None] | None = None) -> float:
    """Peak resident-set growth of one ``call``, in MiB: the working memory the call needs.

    Call this in a fresh process after building the module and input. It makes one warm-up call first
    (lazy one-time initialisation is not per-call working memory), runs ``reset`` (e.g. drop gradients, as
    ``zero_grad(set_to_none=True)`` would between steps), then resets the kernel's peak-RSS counter to the
    current RSS and reads the peak after the measured call. Where the counter cannot be reset, the growth
    of ``ru_maxrss`` is returned instead, which is a lower bound. Run the process with
    :data:`MALLOC_ENV` so freed memory is returned to the system and not reused silently.
    """
    if reset is not None:
        reset()
    call()
    if reset is not None:
        reset()
    gc.collect()
    if _reset_peak_rss():
        before = _status_kib("VmRSS")
        call()
        after = _status_kib("VmHWM")
        if before is not None and after is not None:
            return (after - before) / 1024.0
    before_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    call()
    after_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (after_max - before_max) / 1024.0


def report_memory(mib: float) -> None:
    """Print the marker line :func:`memory_in_subprocess` parses (used by the worker process)."""
    print(f"{MEMORY_MARKER}{mib:.3f}", flush=True)


def memory_in_subprocess(argv: Sequence[str], timeout_s: float = 600.0) -> float | None:
    """Run ``python *argv`` in a fresh process with :data:`MALLOC_ENV` and return the MiB it reported via
    :func:`report_memory`, or ``None`` if it failed (its stderr tail is echoed to our stderr)."""
    env = {**os.environ, **MALLOC_ENV}
    try:
        done = subprocess.run(
            [sys.executable, *argv], capture_output=True, text=True, env=env, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        print(f"memory subprocess timed out: {' '.join(argv)}", file=sys.stderr)
        return None
    for line in done.stdout.splitlines():
        if line.startswith(MEMORY_MARKER):
            return float(line[len(MEMORY_MARKER) :])
    print(
        f"memory subprocess failed ({done.returncode}): {' '.join(argv)}\n{done.stderr[-2000:]}",
        file=sys.stderr,
    )
    return None


# ------------------------------------------------------------------------------------------ agreement


def as_tensor(value: object) -> torch.Tensor:
    """A float64 CPU tensor from a tensor or array (complex values are not expected here)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64)
    return torch.from_numpy(np.asarray(value)).to(torch.float64)


def assert_close(name: str, got: object, expected: object, rel_tol: float) -> float:
    """Assert ``max|got - expected| <= rel_tol * max|expected|`` (same shape); return the relative error.

    Raises:
        AssertionError: naming the implementation, on a shape mismatch or a larger error.
    """
    got_t, expected_t = as_tensor(got), as_tensor(expected)
    if got_t.shape != expected_t.shape:
        raise AssertionError(f"{name}: shape {tuple(got_t.shape)} != reference {tuple(expected_t.shape)}")
    scale = expected_t.abs().max().item()
    error = (got_t - expected_t).abs().max().item() / (scale if scale > 0 else 1.0)
    if not error <= rel_tol:
        raise AssertionError(f"{name}: max abs diff is {error:.3g} x max|reference| (> {rel_tol:g})")
    return error


# ------------------------------------------------------------------------------------ facts and output


def cpu_model() -> str:
    """The CPU model name (from /proc/cpuinfo on Linux, else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """CPU feature flags from /proc/cpuinfo (empty off Linux)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def package_version(name: str) -> str:
    """``module.__version__`` or ``"not installed"``."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def machine_facts(packages: Iterable[str]) -> list[tuple[str, str]]:
    """(label, value) pairs describing the machine and the versions of ``packages``."""
    flags = cpu_flags()
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    facts = [
        ("CPU", f"{cpu_model()} ({os.cpu_count()} logical cores; {', '.join(simd) or 'no AVX2'})"),
        ("torch threads", str(torch.get_num_threads())),
        ("load average (1/5/15 min) at start", load_average()),
        ("torch CPU capability", torch.backends.cpu.get_cpu_capability()),
        ("python", platform.python_version()),
    ]
    facts += [(name, package_version(name)) for name in packages]
    return facts


def probe_note(probes: tuple[float, float]) -> str:
    """The sentence that reports the parallel probe taken before and after the timing (see
    :func:`parallel_probe`)."""
    return (
        f"parallel probe before / after: {probes[0]:.2f} / {probes[1]:.2f} (multi- / single-thread time of a "
        "4M-element multiply; near or above 1: cores busy elsewhere; nan with one thread)"
    )


def render_report(
    title: str,
    packages: Iterable[str],
    setup: str,
    table: str,
    sections: Iterable[Sequence[str]] = (),
    elapsed: float = 0.0,
    extra_facts: Iterable[tuple[str, str]] = (),
) -> str:
    """A benchmark's markdown report: ``# title``, the machine facts (with the versions of ``packages`` and
    ``extra_facts``), the ``setup`` paragraph, the ``table``, each non-empty section of lines (verdicts,
    notes) and the total wall time.

    Returns:
        The report, ending in a newline.
    """
    facts = [*machine_facts(packages), *extra_facts]
    lines = [f"# {title}", "", *(f"- **{label}**: {value}" for label, value in facts)]
    lines += ["", setup, "", table, ""]
    for section in sections:
        if section:
            lines += [*section, ""]
    lines.append(f"Total benchmark wall time: {elapsed:.0f} s.")
    return "\n".join(lines) + "\n"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]], align: str | None = None) -> str:
    """A GitHub markdown table; ``align`` is one character per column: ``l`` or ``r``."""
    align = align or "l" * len(headers)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def benchmark_parser(doc: str, quick_help: str = "small time budget, few rounds") -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes: ``--quick``, ``--rounds``, ``--threads``
    and ``--out``; scripts add their own before parsing with :func:`parse_benchmark_args`."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default: fitted)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown report here")
    return parser


def parse_benchmark_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, refusing ``--rounds`` or ``--threads`` below 1."""
    args = parser.parse_args(argv)
    for name in ("threads", "rounds"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1")
    return args


def run_main(run: Callable[..., str], doc: str, argv: Sequence[str] | None) -> int:
    """Entry point of a benchmark with only the common options: parse them, call
    ``run(quick=..., rounds=..., threads=...)`` and print its report (also writing it with ``--out``).

    Returns:
        The exit code, 0.
    """
    args = parse_benchmark_args(benchmark_parser(doc), argv)
    return emit_report(run(quick=args.quick, rounds=args.rounds, threads=args.threads), args.out)


def emit_report(report: str, out: Path | None) -> int:
    """Print the markdown report, also write it to ``out`` when given; returns exit code 0."""
    print(report)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report)
    return 0
