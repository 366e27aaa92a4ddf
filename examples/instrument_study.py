"""`make study`: the front-end study on real recorded instruments, sized for a 2-core CPU (about 3 hours).

1. Makes sure FluidSynth and the four SoundFonts of the default dataset are installed (as root it runs
   apt-get; otherwise it prints the exact command and stops).
2. Renders the instrument-family dataset at one velocity (`adaspec data instruments --velocities 80`):
   11 families, 81 GM programs, pitches 36..96 every 3 semitones; the Fluid lineage (FluidR3_GM,
   MuseScore_General_Lite) trains, TimGM6mb validates, sf_GMbank tests.
3. Runs `adaspec compare configs/instruments_cpu.yaml` (seed 002's small CNN, 5 epochs): every available
   variant, seed by seed up to `--seeds` (so that an early stop leaves whole seeds: every variant's seed 0
   first), then one table of every finished run (`--report-only`), with each variant's difference from the
   fixed STFT seed by seed.

Run again, it reuses the rendered data and every finished run (an interrupted run resumes).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from adaspec.config import resolve_config
from adaspec.data.instruments import APT_PACKAGES, DEFAULT_SOUNDFONTS, render_instruments
from adaspec.errors import UserError
from adaspec.studies import available_variants, format_results, run_comparison
from instrument_demo import ensure_system_packages

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "instruments_cpu.yaml"
log = logging.getLogger("adaspec.study")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked before anything is installed or rendered (a bad value exits with code 2
    and one line)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("data/instruments_v80"), help="dataset folder")
    parser.add_argument("--out", type=Path, default=Path("runs/compare-instruments_cpu"), help="study folder")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of every variant")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Install, render, compare seed by seed, tabulate every finished run; returns the exit code (2 with
    one line on a user error)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    ensure_system_packages(DEFAULT_SOUNDFONTS, APT_PACKAGES)
    manifest = args.data / "manifest.csv"
    try:
        if not manifest.is_file():
            log.info(render_instruments(None, args.data, velocities="80").format())
        config = resolve_config(CONFIG, [f"data.manifest={manifest}"])
        every = available_variants()
        for count in range(1, args.seeds + 1):  # seed by seed, so that an early stop leaves whole seeds
            run_comparison(config, args.out, variants=every, seeds=count)
        result = run_comparison(config, args.out, variants=every, seeds=args.seeds, train_missing=False)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_results(result))
    hours = (time.perf_counter() - started) / 3600
    print(f"\nstudy files: {args.out} (results.md, results.csv, plots); this call took {hours:.2f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
