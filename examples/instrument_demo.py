"""`make demo`: the front-end study on real recorded instruments, reduced to fit about 15 minutes on 2 cores.

1. Makes sure FluidSynth and three General-MIDI SoundFonts are installed (as root it runs apt-get; otherwise
   it prints the exact command and stops).
2. Renders a reduced instrument-family dataset (`adaspec data instruments`): 11 families, every GM program
   of them, pitches 36..96 every octave, velocity 100, from FluidR3_GM (train), TimGM6mb (validation) and
   sf_GMbank (test): train and test share no recording.
3. Runs a reduced `adaspec compare`: 4 front-end variants x 1 seed x 3 epochs of a ResNet-18, and prints the
   result table. The full study is `adaspec compare configs/instruments.yaml --seeds 3` on the full grid.
"""

from __future__ import annotations

import argparse
import ctypes.util
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from adaspec.config import resolve_config
from adaspec.data.instruments import render_instruments
from adaspec.errors import UserError
from adaspec.studies import parse_variants
from adaspec.studies.compare import format_results, run_comparison

FONTS = {
    "train": Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    "val": Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    "test": Path("/usr/share/sounds/sf2/sf_GMbank.sf2"),
}
APT = ["fluidsynth", "libfluidsynth3", "fluid-soundfont-gm", "timgm6mb-soundfont", "csound-soundfont"]
VARIANTS = ["stft", "stft_window", "stft_kernels", "mel"]
CONFIG = Path(__file__).resolve().parent.parent / "configs" / "instruments.yaml"
log = logging.getLogger("adaspec.demo")


def missing_system_parts(fonts: Iterable[Path]) -> list[str]:
    """What is not installed yet: the FluidSynth library and any of ``fonts``."""
    missing = [] if ctypes.util.find_library("fluidsynth") else ["libfluidsynth"]
    return missing + [str(path) for path in fonts if not path.is_file()]


def ensure_system_packages(fonts: Iterable[Path] = FONTS.values(), packages: Sequence[str] = APT) -> None:
    """Install FluidSynth and the SoundFonts with apt-get when root; otherwise say how and exit.

    Args:
        fonts: the SoundFont files that must exist afterwards.
        packages: the Debian packages that provide them and FluidSynth.
    """
    fonts = list(fonts)
    missing = missing_system_parts(fonts)
    if not missing:
        return
    command = f"apt-get update && apt-get install -y --no-install-recommends {' '.join(packages)}"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"missing {', '.join(missing)}; install them with:\n  sudo sh -c '{command}'")
    log.warning("installing %s", " ".join(packages))
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True, env=environment
    )
    still = missing_system_parts(fonts)
    if still:
        sys.exit(f"still missing after apt-get: {', '.join(still)}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked before anything is installed or rendered (a bad value exits with code 2
    and one line)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("demo_output"), help="data and study go here")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variants")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per variant")
    args = parser.parse_args(argv)
    for name in ("epochs", "seeds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    try:
        args.variants = parse_variants(args.variants)
    except UserError as err:
        parser.error(str(err))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Install, render, compare, print; returns the exit code (2 with one line on a user error)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    ensure_system_packages()
    data_dir = args.out / "instruments"
    manifest = data_dir / "manifest.csv"
    try:
        if not manifest.is_file():
            summary = render_instruments(
                [FONTS["train"], FONTS["val"], FONTS["test"]], data_dir, pitches="36:96:12", velocities="100"
            )
            log.info(summary.format())
        config = resolve_config(
            CONFIG, [f"data.manifest={manifest}", "data.num_workers=0", "trainer.progress_bar=false"]
        )
        result = run_comparison(
            config, args.out / "study", variants=args.variants, seeds=args.seeds, epochs=args.epochs
        )
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_results(result))
    minutes = (time.perf_counter() - started) / 60
    print(
        f"\nstudy files: {args.out / 'study'} (results.md, results.csv, plots); demo took {minutes:.1f} min"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
