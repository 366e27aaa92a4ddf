"""`make synthetic-demo`: train and evaluate classifiers on a synthetic instrument dataset with adaspec's
CLI stack.

Writes 4 x 40 synthetic notes (see ``synthetic_instruments.py``), then trains ResNet-18 classifiers with a
fixed STFT, a learnable window, learnable window + DFT kernels, and a mel front-end, evaluates each run's
best checkpoint on the test split (split-and-vote), and prints a result table. Runs go to
``demo_output/runs/<variant>/``; running the demo again reuses finished runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adaspec.config import resolve_config
from adaspec.training import evaluate_run, train
from synthetic_instruments import write_dataset

BASE = [
    "data.sample_rate=16000",
    "data.clip_seconds=1.0",
    "data.batch_size=16",
    "data.num_workers=0",
    "data.fractions={train: 0.6, val: 0.2, test: 0.2}",
    "eval.n_parts=2",
    "model.backbone=resnet18",
    "model.adapter=repeat",
    "optim.name=adamw",
    "optim.lr=0.002",
    "sched.gamma=0.95",
    "augment.enabled=true",
    "trainer.progress_bar=false",
]
STFT = ["frontend={name: stft, n_fft: 512, hop_length: 160, output: magnitude}"]
VARIANTS = {
    "stft_fixed": STFT,
    "stft_learn_window": [*STFT, "frontend.learn_window=true"],
    "stft_learn_window_kernels": [*STFT, "frontend.learn_window=true", "frontend.learn_kernels=true"],
    "mel_fixed": ["frontend={name: mel, n_fft: 512, hop_length: 160, n_mels: 64}"],
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked before any data is written (a bad value exits with code 2 and one line)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo_output"), help="data and runs go here")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per variant")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    names = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if unknown or not names:
        what = f"unknown variant {', '.join(map(repr, unknown))}" if unknown else "no variant given"
        parser.error(f"--variants: {what}; choose from {', '.join(VARIANTS)}")
    args.variants = list(dict.fromkeys(names))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Render the data, train every variant, evaluate on the test split and print the table."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    data_root = write_dataset(args.out / "synthetic_instruments")
    rows = []
    for name in args.variants:
        config = resolve_config(
            None, [f"data.root={data_root}", *BASE, *VARIANTS[name], f"trainer.max_epochs={args.epochs}"]
        )
        start = time.perf_counter()
        result = train(config, name=name, runs_dir=args.out / "runs")
        seconds = time.perf_counter() - start
        report = evaluate_run(result.paths.root, split="test").result
        best = result.best or {}
        val = best.get("val/acc_file", float("nan"))
        rows.append((name, val, report.file.accuracy, report.file.macro_f1, seconds))
        print(f"{name}: done in {seconds:.0f} s", flush=True)
    print("\n| variant | best val acc (file) | test acc (file) | test macro-F1 | train time |")
    print("|---|---|---|---|---|")
    for name, val, test, f1, seconds in rows:
        print(f"| {name} | {val:.3f} | {test:.3f} | {f1:.3f} | {seconds:.0f} s |")
    runs = args.out / "runs"
    print(f"\nruns, TensorBoard logs and figures: {runs}  (view with: tensorboard --logdir {runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
