"""The ``adaspec`` command line: ``train``, ``evaluate``, ``predict``, ``export``, ``data instruments``,
``compare``, ``search`` and ``spectrogram``.

User errors (a bad config key, a missing file, an unusable checkpoint) print one line and exit with code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from ._lightning_logs import quiet_lightning_logs
from ._seeds import MAX_SEED
from .errors import UserError, install_hint, one_line, shown_path

log = logging.getLogger("adaspec")

EXIT_USER_ERROR = 2

#: Top-level modules of the ``cli`` extra (``pip install "adaspec[cli]"``) -> their pip package. The
#: front-ends need none of them; the command's layers (data, training, studies, plots) do.
CLI_EXTRA_MODULES = {
    "audiomentations": "audiomentations",
    "fluidsynth": "pyfluidsynth",
    "lightning": "lightning",
    "matplotlib": "matplotlib",
    "optuna": "optuna",
    "soundfile": "soundfile",
    "soxr": "soxr",
    "sqlalchemy": "optuna",
    "tensorboard": "tensorboard",
    "tqdm": "tqdm",
    "yaml": "pyyaml",
}


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a bad value is a one-line usage error, exit 2)."""
    return _bounded_int(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _bounded_int(text, 0)


def _bounded_int(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= {least}, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be an integer >= {least}, got {value}")
    return value


def path_argument(text: str) -> Path:
    """argparse type of a file or folder: a non-empty path (``Path("")`` would silently be ``.``).

    Args:
        text: the argument as typed.

    Returns:
        The path.
    """
    if not text:
        raise argparse.ArgumentTypeError("must not be empty (write . for the current folder)")
    return Path(text)


def seed_argument(text: str) -> int:
    """argparse type: a random seed, an integer in ``0..2**32 - 1``."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer in 0..{MAX_SEED}, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2), like every other user error of the tool."""

    #: The arguments being parsed (set by :func:`parse_arguments`), for the hint on file names.
    arguments: Sequence[str] = ()

    def error(self, message: str) -> NoReturn:
        dashed = next(
            (text for text in self.arguments if text.startswith("-") and os.path.lexists(text)), None
        )
        hint = ""
        if dashed is not None:  # argparse took the file name for an option
            hint = f"; to name the file {dashed}, write ./{dashed} or put -- before it"
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}{hint} (see --help)\n")


def _add_train(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a classifier from a config file",
        description="Train (or resume) RUNS_DIR/<name>/ from a YAML/JSON config and dotted key=value "
        "overrides, e.g. `adaspec train configs/gtzan_genre.yaml data.root=/data/genres_original "
        "frontend.learn_window=true optim.lr=0.01 --name lw`.",
    )
    parser.add_argument("config", type=path_argument, help="YAML or JSON config file")
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", default=[], help="dotted config overrides"
    )
    parser.add_argument("--name", help="run name (default: the config file's stem)")
    parser.add_argument(
        "--runs-dir",
        type=path_argument,
        default=Path("runs"),
        help="parent of run directories (default: runs)",
    )
    parser.add_argument("--overwrite", action="store_true", help="delete an existing run of that name")
    parser.add_argument("--strict", action="store_true", help="refuse the dataset if any file is unreadable")


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="evaluate a trained run on a split (segment and file level)",
        description="Split each file into eval.n_parts parts, vote, and report accuracy, macro-F1, a "
        "per-class table and a confusion matrix; writes predictions.csv and evaluation_test.json (for "
        "another split: predictions_<split>.csv, evaluation_<split>.json) into the run directory, or into "
        "RUN_DIR/evaluations/NAME-HASH/ for another dataset, or into --out.",
    )
    parser.add_argument(
        "target", type=path_argument, metavar="RUN_DIR|CKPT", help="run directory or checkpoint"
    )
    parser.add_argument(
        "--data", type=path_argument, help="another dataset root (same layout) or a manifest CSV"
    )
    parser.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test", "all"),
        help="split to score (default: test)",
    )
    parser.add_argument(
        "--out",
        type=path_argument,
        help="where to write reports (default: the run folder; RUN/evaluations/NAME-HASH/ for other data)",
    )
    parser.add_argument("--strict", action="store_true", help="refuse the data if any file is unreadable")
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", default=[], help="data.* or eval.* overrides"
    )


def _add_predict(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "predict",
        help="label audio files with a trained run",
        description="Predict the label and top-k probabilities of each file (folders are walked), with a "
        "run, a checkpoint or a model file written by `adaspec export` (.onnx runs in onnxruntime).",
    )
    parser.add_argument(
        "target",
        type=path_argument,
        metavar="RUN_DIR|CKPT|MODEL",
        help="run directory, checkpoint, .onnx or .pt2",
    )
    parser.add_argument("paths", nargs="+", type=path_argument, metavar="PATH", help="audio files or folders")
    parser.add_argument(
        "--top-k", type=positive_int, default=3, help="probabilities to show per file (default: 3)"
    )
    parser.add_argument(
        "--format", default="table", choices=("table", "csv", "json"), help="output format (default: table)"
    )
    parser.epilog = "exit status: 0 all files predicted, 1 some files failed, 2 none could be read"


def _add_export(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export",
        help="export a trained classifier to ONNX or torch.export (.pt2)",
        description="Write the run's classifier (waveforms (batch, clip samples) -> logits) as an ONNX model "
        "or a torch.export program, with its class names, sample rate and crop length inside, and check its "
        "logits against PyTorch's (in onnxruntime for ONNX).",
    )
    parser.add_argument(
        "target", type=path_argument, metavar="RUN_DIR|CKPT", help="run directory or checkpoint"
    )
    parser.add_argument(
        "--format",
        choices=("onnx", "pt2"),
        help="default: from --output's extension (.onnx, .pt2), else onnx",
    )
    parser.add_argument(
        "--output",
        type=path_argument,
        help="file to write (default: model.onnx or model.pt2 in the run directory)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")


def _render_rate(text: str) -> int:
    """argparse type of ``data instruments --sample-rate``: an integer in FluidSynth's 8000..96000 Hz."""
    value = _bounded_int(text, 1)
    if not 8000 <= value <= 96000:
        raise argparse.ArgumentTypeError(f"must be in 8000..96000 Hz (FluidSynth's range), got {value}")
    return value


def _add_data(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("data", help="build datasets", description="Build datasets.")
    kinds = parser.add_subparsers(dest="dataset", required=True, metavar="DATASET", parser_class=_Parser)
    render = kinds.add_parser(
        "instruments",
        help="render an 11-family instrument dataset from General-MIDI SoundFonts",
        description="Render 4 s notes (3 s held, then released) of the GM programs of 11 instrument "
        "families with FluidSynth into class folders plus manifest.csv, split by SoundFont lineage "
        "(default: Fluid fonts train, TimGM6mb validates, sf_GMbank tests).",
    )
    render.add_argument(
        "--soundfont",
        dest="soundfonts",
        action="append",
        type=path_argument,
        metavar="PATH",
        help="an sf2/sf3 file (repeat; default: the four Debian fonts of the default dataset)",
    )
    render.add_argument("--out", type=path_argument, required=True, help="output folder")
    render.add_argument(
        "--pitches",
        default="36:96:3",
        help="MIDI notes 0..127: start:stop[:step] (stop included when on the step), one note, or a,b,c "
        "(default: 36:96:3)",
    )
    render.add_argument(
        "--velocities",
        default="50,80,110",
        help="MIDI velocities 1..127, same syntax as --pitches: a,b,c, one velocity, or start:stop[:step] "
        "(default: 50,80,110)",
    )
    render.add_argument(
        "--sample-rate", type=_render_rate, default=16000, help="8000..96000 Hz (default: 16000)"
    )
    render.add_argument(
        "--format",
        dest="audio_format",
        default="flac",
        choices=("flac", "wav"),
        help="audio file format (default: flac)",
    )
    render.add_argument(
        "--workers",
        type=positive_int,
        help="processes rendering (font, program) jobs in parallel, capped at the CPUs available and the "
        "number of jobs (default: one per CPU)",
    )
    render.add_argument(
        "--split",
        dest="splits",
        action="append",
        default=[],
        metavar="FONT_OR_LINEAGE=SPLIT",
        help="assign a font stem or lineage to train/val/test (repeat)",
    )


def _add_compare(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare",
        help="train and compare front-end variants over seeds",
        description="Train every variant x seed with the same data, backbone and budget, evaluate each best "
        "checkpoint on val and test, and write results.md, results.csv and plots. Finished runs are reused "
        "(a run folder holding another config is refused unless --overwrite); a run that fails is logged and "
        "left out (exit code 1) and is retried by the next call.",
    )
    parser.add_argument("config", type=path_argument, help="YAML or JSON config file (the shared setup)")
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", default=[], help="dotted config overrides"
    )
    parser.add_argument(
        "--variants",
        help="comma-separated variants, or 'all' (default: the seven STFT trials, mel, mel_learn)",
    )
    parser.add_argument(
        "--seeds", type=int, default=3, help="seeds per variant, 0..N-1, N <= 1000 (default: 3)"
    )
    parser.add_argument(
        "--budget", type=int, metavar="EPOCHS", help="epochs per run (default trainer.max_epochs)"
    )
    parser.add_argument(
        "--out", type=path_argument, help="study folder (default: runs/compare-<config stem>)"
    )
    parser.add_argument(
        "--reference",
        metavar="VARIANT",
        help="variant the others are compared with seed by seed (default: stft if present, else the first)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: write the tables and plots from the runs that have finished",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="retrain the runs whose folder holds another config (deleting them); runs of this config are "
        "reused",
    )


def _add_search(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "search",
        help="search hyper-parameters with Optuna (TPE, median pruning) on a shared study",
        description="Run trials (each an ordinary run directory) until the study holds --trials completed, "
        "pruned or running trials; then write best_config.yaml and a table of the top trials. Start the "
        "same command on several machines with a PostgreSQL --storage to share one study; run it again to "
        "continue it.",
    )
    parser.add_argument(
        "config", type=path_argument, help="YAML or JSON config file (the base of every trial)"
    )
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", default=[], help="dotted config overrides"
    )
    parser.add_argument("--trials", type=int, required=True, help="the study's trial budget (all workers)")
    parser.add_argument("--study", help="study name (default: the config file's stem)")
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="database URL, e.g. postgresql://user:pw@host/db (default: sqlite file in the search folder)",
    )
    parser.add_argument(
        "--space", type=path_argument, metavar="SPACE.yaml", help="search space (default: seed 001's)"
    )
    parser.add_argument("--timeout", type=float, metavar="S", help="stop starting trials after S seconds")
    parser.add_argument(
        "--runs-dir",
        type=path_argument,
        default=Path("runs"),
        help="parent of search-<study>/ (default: runs)",
    )
    parser.add_argument(
        "--startup-trials", type=int, default=5, help="trials before pruning starts (default: 5)"
    )
    parser.add_argument(
        "--warmup-epochs", type=int, default=0, help="epochs of a trial never pruned (default: 0)"
    )
    parser.add_argument(
        "--sampler-seed",
        type=seed_argument,
        help=f"TPE seed, 0..{MAX_SEED} (one worker only; default random)",
    )
    parser.add_argument(
        "--heartbeat",
        type=int,
        default=60,
        metavar="S",
        help="liveness interval of running trials (default: 60)",
    )


def _add_spectrogram(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "spectrogram",
        help="write one spectrogram PNG per audio file",
        description="Decode each audio file (folders are walked recursively), transform it with a front-end "
        "(stft, mel, cqt, cwt or any registered one, display defaults), convert to dB and write "
        "OUT/<path relative to its input folder>.png. Unreadable files are reported and skipped.",
    )
    parser.add_argument(
        "inputs", nargs="+", type=path_argument, metavar="INPUT", help="audio files or folders"
    )
    parser.add_argument(
        "--frontend",
        default="stft",
        help="stft, mel, cqt, cwt or any other registered front-end (default: stft)",
    )
    parser.add_argument("--out", type=path_argument, help="output folder (default: images_<frontend>)")
    parser.add_argument(
        "--size",
        metavar="WxH",
        help="image size in pixels (default: a pixel per frame and row; 800x400 with --axes)",
    )
    parser.add_argument(
        "--axes", action="store_true", help="draw time (s) and frequency (Hz) axes, a colour bar"
    )
    parser.add_argument("--cmap", default="gray", help="matplotlib colour map (default: gray)")
    parser.add_argument("--sample-rate", type=int, default=22050, help="decode at this rate (default: 22050)")
    parser.epilog = "exit status: 0 all files written, 1 some files failed, 2 none could be written"


def build_parser() -> argparse.ArgumentParser:
    """The full ``adaspec`` argument parser."""
    parser = _Parser(
        prog="adaspec",
        description="Learnable time-frequency front-ends: train, evaluate and apply audio classifiers, "
        "render the SoundFont instrument dataset, compare front-ends.",
    )
    _add_global_flags(parser, default=False)
    parser.add_argument("--version", action="version", version=f"adaspec {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    _add_train(commands)
    _add_evaluate(commands)
    _add_predict(commands)
    _add_export(commands)
    _add_data(commands)
    _add_compare(commands)
    _add_search(commands)
    _add_spectrogram(commands)
    # `adaspec train ... --debug` works like `adaspec --debug train`
    for command in _leaf_parsers(parser):
        _add_global_flags(command, default=argparse.SUPPRESS)
    return parser


def _add_global_flags(parser: argparse.ArgumentParser, default: bool | str) -> None:
    """``--debug`` and ``-q``; on a command's parser with ``default=SUPPRESS``, so that a flag given before
    the command is not reset when it is not repeated after it."""
    debug, quiet = "show tracebacks and debug logs", "only warnings and errors"
    parser.add_argument("--debug", action="store_true", default=default, help=debug)
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help=quiet)


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of every (sub)command that has no subcommands of its own."""
    groups = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if not groups:
        return [parser]
    return [leaf for group in groups for child in group.choices.values() for leaf in _leaf_parsers(child)]


def _quiet_overrides(args: argparse.Namespace) -> list[str]:
    """``-q`` hides the training progress bar too (an explicit ``trainer.progress_bar=true`` wins)."""
    return ["trainer.progress_bar=false"] if args.quiet else []


def _strict_overrides(args: argparse.Namespace) -> list[str]:
    """The overrides with ``--strict`` as ``data.strict=true``.

    Args:
        args: parsed ``train`` or ``evaluate`` arguments.

    Returns:
        ``args.overrides``, then ``data.strict=true`` when ``--strict`` is given.

    Raises:
        UserError: for ``--strict`` with an override of ``data.strict`` to anything but ``true``.
    """
    if not args.strict:
        return list(args.overrides)
    from .config import parse_override

    for text in args.overrides:
        key, value = parse_override(text)
        if key == "data.strict" and value is not True:
            raise UserError(f"--strict conflicts with {text.strip()}; give one of them")
    return [*args.overrides, "data.strict=true"]


def _check_data_option(data: Path | None, overrides: Sequence[str]) -> None:
    """Refuse ``evaluate --data`` with an override of the key it sets (``data.root`` for a folder,
    ``data.manifest`` for a CSV): the override silently replaced ``--data``.

    Args:
        data: the ``--data`` option, if given.
        overrides: the ``KEY=VALUE`` overrides.

    Raises:
        UserError: naming both.
    """
    if data is None:
        return
    from .config import parse_override

    key = "data.manifest" if data.suffix.lower() == ".csv" else "data.root"
    for text in overrides:
        if parse_override(text)[0] == key:
            raise UserError(f"--data {data} conflicts with {text.strip()}: both set {key}; give one of them")


def _check_rereadable(config_path: Path, config: Mapping[str, Any]) -> None:
    """Refuse a config read from a pipe for a run of several processes: Lightning starts the others with
    the same command line, and they cannot read the pipe again."""
    from .training.train import check_machine_settings

    if not config_path.is_file() and check_machine_settings(config) > 1:
        raise UserError(
            f"the config {config_path} is not a file, and the other processes of a distributed run read it "
            "again: save it to a file"
        )


def _run(args: argparse.Namespace) -> int:
    if args.command == "train":
        from .config import resolve_config
        from .training import train
        from .training.train import process_rank

        config = resolve_config(args.config, [*_quiet_overrides(args), *_strict_overrides(args)])
        _check_rereadable(args.config, config)
        result = train(config, name=_run_name(args), runs_dir=args.runs_dir, overwrite=args.overwrite)
        if process_rank() != 0:  # a DDP worker process: process 0 reports the run
            return 0
        best = result.best or {}
        print(
            f"run {result.paths.root}: best epoch {best.get('epoch', '-')}, "
            f"val file accuracy {best.get('val/acc_file', float('nan')):.4f}, "
            f"val segment accuracy {best.get('val/acc_segment', float('nan')):.4f}"
        )
        return 0
    if args.command == "data":
        return _run_data(args)
    if args.command == "compare":
        return _run_compare(args)
    if args.command == "search":
        return _run_search(args)
    if args.command == "spectrogram":
        return _run_spectrogram(args)
    if args.command == "export":
        from .training.export import export_run

        result = export_run(args.target, fmt=args.format, output=args.output, overwrite=args.overwrite)
        print(result.format_summary())
        return 0
    if args.command == "evaluate":
        from .training import evaluate_run

        _check_data_option(args.data, args.overrides)
        report = evaluate_run(
            args.target, data=args.data, split=args.split, overrides=_strict_overrides(args), out=args.out
        )
        print(report.format())
        return 0
    from .training import predict_paths

    output = predict_paths(args.target, args.paths, top_k=args.top_k, fmt=args.format)
    if not output.rows:
        raise UserError(f"no audio file under {', '.join(map(str, args.paths))}")
    print(output.text)
    if output.n_failed == 0:
        return 0
    return 1 if output.n_ok else EXIT_USER_ERROR


def _run_name(args: argparse.Namespace) -> str:
    """``--name``, else the config file's name (which must then make a valid run name)."""
    return args.name or _name_from_config(args.config, "", "--name")


def _name_from_config(config: Path, prefix: str, option: str) -> str:
    """The config file's stem as a name, checked as the folder ``prefix + stem`` (the error says where the
    name came from and which ``option`` gives another)."""
    from .training.run_dir import check_run_name

    if not config.is_file():  # a pipe (adaspec train <(...)): /dev/fd/63 would name every run "63"
        raise UserError(f"the config {config} is not a file, so it cannot name the output: give {option}")
    try:
        check_run_name(prefix + config.stem)
    except UserError as err:
        raise UserError(f"{err}; it comes from the config file's name: give one with {option}") from None
    return config.stem


def _parse_split_options(texts: Sequence[str]) -> dict[str, str]:
    """Parse ``--split FONT_OR_LINEAGE=SPLIT`` options (a font stem may itself hold ``=``).

    Args:
        texts: the option values, in order.

    Returns:
        Font stem or lineage -> ``"train"``, ``"val"`` or ``"test"``.

    Raises:
        UserError: for a value of another form, or one name given two different splits.
    """
    splits: dict[str, str] = {}
    for text in texts:
        name, sep, split = text.rpartition("=")
        if not sep or not name or split not in ("train", "val", "test"):
            raise UserError(f"--split {text!r} must look like FONT_OR_LINEAGE=train|val|test")
        if splits.get(name, split) != split:
            raise UserError(f"--split gives {name!r} two splits, {splits[name]} and {split}; give one")
        splits[name] = split
    return splits


def _run_data(args: argparse.Namespace) -> int:
    from .data.instruments import DEFAULT_SOUNDFONTS, render_instruments

    summary = render_instruments(
        args.soundfonts or list(DEFAULT_SOUNDFONTS),
        args.out,
        pitches=args.pitches,
        velocities=args.velocities,
        sample_rate=args.sample_rate,
        audio_format=args.audio_format,
        workers=args.workers,
        splits=_parse_split_options(args.splits) or None,
        progress=not args.quiet,
    )
    print(summary.format())
    return 0


def _run_compare(args: argparse.Namespace) -> int:
    from .config import resolve_config
    from .studies.compare import format_results, run_comparison
    from .studies.variants import parse_variants
    from .training.train import process_rank

    if args.seeds < 1:
        raise UserError(f"--seeds must be a positive integer, got {args.seeds}")
    if args.budget is not None and args.budget < 1:
        raise UserError(f"--budget must be a positive number of epochs, got {args.budget}")
    config = resolve_config(args.config, [*_quiet_overrides(args), *args.overrides])
    _check_rereadable(args.config, config)
    variants = parse_variants(args.variants)
    out = args.out or Path("runs") / f"compare-{_name_from_config(args.config, 'compare-', '--out')}"
    result = run_comparison(
        config,
        out,
        variants=variants,
        seeds=args.seeds,
        epochs=args.budget,
        reference=args.reference,
        train_missing=not args.report_only,
        overwrite=args.overwrite,
    )
    if process_rank() == 0:  # a distributed study runs this command in every process
        print(format_results(result))
        print(f"\nwrote {out / 'results.md'}, {out / 'results.csv'} and the plots in {out}")
    return 1 if result.failed else 0


def _run_search(args: argparse.Namespace) -> int:
    from .config import resolve_config
    from .studies.search import SearchSettings, format_search, run_search

    for option, value, least in (
        ("--startup-trials", args.startup_trials, 0),
        ("--warmup-epochs", args.warmup_epochs, 0),
        ("--heartbeat", args.heartbeat, 1),
    ):
        if value < least:
            raise UserError(f"{option} must be >= {least}, got {value}")
    config = resolve_config(args.config, args.overrides)
    _check_rereadable(args.config, config)
    explicit_bar = any(text.split("=", 1)[0].strip() == "trainer.progress_bar" for text in args.overrides)
    settings = SearchSettings(
        startup_trials=args.startup_trials,
        warmup_epochs=args.warmup_epochs,
        sampler_seed=args.sampler_seed,
        heartbeat_seconds=args.heartbeat,
        progress_bar=False if args.quiet and not explicit_bar else None,  # kept out of best_config.yaml
    )
    result = run_search(
        config,
        trials=args.trials,
        study_name=_name_from_config(args.config, "search-", "--study") if args.study is None else args.study,
        runs_dir=args.runs_dir,
        storage=args.storage,
        space=args.space,
        timeout=args.timeout,
        settings=settings,
    )
    print(format_search(result))
    return 0


def _run_spectrogram(args: argparse.Namespace) -> int:
    from .plots.images import parse_size, write_spectrogram_images

    if args.sample_rate < 1:
        raise UserError(f"--sample-rate must be a positive integer, got {args.sample_rate}")
    out = args.out or Path(f"images_{args.frontend}")
    report = write_spectrogram_images(
        args.inputs,
        out,
        args.frontend,
        sample_rate=args.sample_rate,
        size=None if args.size is None else parse_size(args.size),
        cmap=args.cmap,
        axes=args.axes,
    )
    for path, reason in report.failed:
        print(f"{path}: {reason}", file=sys.stderr)
    total = len(report.written) + len(report.failed)
    print(f"wrote {len(report.written)} of {total} images to {out}")
    if not report.failed:
        return 0
    return 1 if report.written else EXIT_USER_ERROR


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
    *,
    shown: set[str] | None = None,
) -> None:
    """Python warnings (adaspec's and its libraries') as one log line, without the file and source line
    Python prints (``--debug`` keeps Python's form); a text already in ``shown`` (those of this command) is
    not repeated (Python repeats a warning raised from several places, e.g. a front-end built to check the
    config and again for the model)."""
    text = one_line(str(message), limit=None)
    if shown is not None:
        if text in shown:
            return
        shown.add(text)
    log.warning("warning: %s", text)


@contextlib.contextmanager
def _configured_logging(debug: bool, quiet: bool) -> Iterator[None]:
    """adaspec's log lines on standard error for one command; the ``adaspec`` logger's handlers, level and
    propagation are restored afterwards, since ``main()`` may run many times in one process (a handler left
    behind wrote to whatever ``sys.stderr`` was during that call, e.g. a capture that has since closed)."""
    handlers, level_before, propagate = log.handlers[:], log.level, log.propagate
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if debug else "%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    try:
        with quiet_lightning_logs(quiet and not debug):  # Lightning's INFO lines too
            yield
    finally:
        log.handlers[:] = handlers
        log.setLevel(level_before)  # (clears logging's cache of enabled levels, as assigning would not)
        log.propagate = propagate


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line; ``KEY=VALUE`` overrides may also follow options
    (``adaspec evaluate RUN --split val eval.n_parts=3``), which argparse alone refuses."""
    parser = build_parser()
    _Parser.arguments = tuple(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        overrides = [text for text in extra if "=" in text and not text.startswith("-")]
        if not hasattr(args, "overrides") or len(overrides) != len(extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *overrides]
    return args


def _check_output_folders(args: argparse.Namespace) -> None:
    """Refuse output folder options that name an existing file or a folder that cannot be made (under a
    file, or in a folder this user cannot write), before any work is done; ``--output`` (a file) is
    checked for its folder. Nothing is created here."""
    for option in ("out", "runs_dir", "output"):
        path = getattr(args, option, None)
        if not isinstance(path, Path):
            continue
        flag = "--" + option.replace("_", "-")
        if option != "output" and path.exists() and not path.is_dir():
            raise UserError(f"{flag} {path} is a file; it must be a folder (existing or new)")
        folder = path.parent if option == "output" else path
        existing = next(
            parent for parent in (folder, *folder.parents) if parent.exists() or parent == parent.parent
        )
        if not existing.is_dir():
            raise UserError(f"{flag} {path}: {existing} is a file, so the folder {folder} cannot be made")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise UserError(
                f"{flag} {path}: {existing} is not writable, so the folder {folder} cannot be made"
            )
    if getattr(args, "name", None) == "":
        raise UserError("--name must not be empty")
    _check_utf8_outputs(args)


#: The output option of each command whose path TensorBoard (a run's logs) or the exporters
#: (onnxruntime, torch.export) must encode as UTF-8 -> (option, who writes there).
_UTF8_OUTPUTS = {
    "train": ("runs_dir", "TensorBoard"),
    "search": ("runs_dir", "TensorBoard"),
    "compare": ("out", "TensorBoard"),
    "export": ("output", "the exporter"),
}


def _check_utf8_outputs(args: argparse.Namespace) -> None:
    """Refuse an output path that is not valid UTF-8 where TensorBoard or an exporter would write: they
    failed after the data was read with an encoding error naming no path, or (``torch.export``) aborted.

    Args:
        args: the parsed command line.

    Raises:
        UserError: naming the option and the path, its odd bytes as ``\\xNN``.
    """
    if args.command not in _UTF8_OUTPUTS:
        return
    option, writer = _UTF8_OUTPUTS[args.command]
    flag, path = "--" + option.replace("_", "-"), getattr(args, option)
    if path is None and args.command == "export":  # the default output: in the run directory
        flag, path = "RUN_DIR|CKPT", args.target
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(
            f"{flag} {shown_path(path)} is not valid UTF-8, which {writer} cannot write to; rename it or "
            "choose another"
        ) from None


def _is_misconfiguration(err: BaseException) -> bool:
    """Lightning's MisconfigurationException (an unavailable accelerator, an unknown strategy), recognised
    by name so that this module need not import Lightning."""
    return any(cls.__name__ == "MisconfigurationException" for cls in type(err).__mro__)


def _user_message(err: Exception) -> str | None:
    """The one line for an error that is the user's to fix, or ``None`` for one that is a bug."""
    if isinstance(err, ModuleNotFoundError):
        package = CLI_EXTRA_MODULES.get((err.name or "").partition(".")[0])
        if package is None:
            return None
        return f"the adaspec command needs {package}, which is not installed: {install_hint('cli')}"
    if isinstance(err, ValueError) or _is_misconfiguration(err):
        return one_line(err, limit=None)
    if isinstance(err, OSError) and err.filename is not None:  # a path the system refused: full, missing...
        return one_line(f"{err.filename}: {err.strerror or type(err).__name__}", limit=None)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``adaspec`` console script; returns the exit code.

    User errors (:class:`~adaspec.errors.UserError`, and the ``ValueError`` with which every adaspec layer
    names a bad parameter, Lightning's misconfiguration errors, and ``OSError`` on a path: a folder that
    cannot be made, a full disk) print one line and return 2; ``--debug`` raises them instead."""
    args = parse_arguments(argv)
    with _configured_logging(args.debug, args.quiet):
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    """:func:`main` after parsing and logging set-up."""
    try:
        with warnings.catch_warnings():  # restored on return: main() may run many times in one process
            if not args.debug:
                warnings.showwarning = functools.partial(_show_warning, shown=set())
            _check_output_folders(args)
            return _run(args)
    except BrokenPipeError:  # the reader went away (`adaspec predict ... | head`): nothing more to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("adaspec: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        message = _user_message(err)
        if message is None or args.debug:
            raise
        print(f"adaspec: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
