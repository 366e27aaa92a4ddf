"""``adaspec evaluate``: split-and-vote scores of a trained run on a dataset split."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._interrupts import ctrl_c_deferred, stop_if_requested
from ..config import MACHINE_KEYS, parse_override, resolve_config, set_dotted
from ..data import AudioItem
from ..errors import ConfigError, UserError, plural
from ..evaluation import EvaluationResult, write_predictions_csv
from ..plots.confusion import save_confusion_matrix
from .catalog import Catalog, SplitData, build_catalog
from .checkpoints import LoadedModel, load_classifier
from .datamodule import AudioDataModule
from .run_dir import RunPaths, write_json
from .split_file import listing, read_split_file, same_listing, warn_missing
from .votes import PartsAccumulator
from .workdir import check_relative_data_found

log = logging.getLogger(__name__)

# Overrides that change what is evaluated, not the network: anything else would not fit the weights.
EVALUATION_SECTIONS = ("data", "eval")
#: The splits ``evaluate`` scores (``all``: every file of the dataset).
SPLITS = ("train", "val", "test", "all")


@dataclass
class EvaluationReport:
    """Scores of one split plus the files written for it."""

    split: str
    checkpoint: Path
    result: EvaluationResult
    written: dict[str, Path]

    def format(self) -> str:
        """Human summary: headline scores, the per-class file-level table and the written files."""
        result = self.result
        lines = [
            f"{self.split}: {len(result.file_ids)} {plural(len(result.file_ids), 'file')}, checkpoint "
            f"{self.checkpoint}",
            f"segment level: accuracy {result.segment.accuracy:.4f}, macro-F1 {result.segment.macro_f1:.4f}",
        ]
        for rule, report in result.files.items():
            lines.append(
                f"file level ({rule} vote): accuracy {report.accuracy:.4f}, macro-F1 {report.macro_f1:.4f}"
            )
        lines += ["", f"per class, file level ({result.rule} vote):", result.file.format_table()]
        lines += [f"wrote {kind}: {path}" for kind, path in self.written.items()]
        return "\n".join(lines)


#: ``data.*`` keys a trained model fixes, and why (files are resampled to the model's rate on reading).
FIXED_BY_THE_MODEL = {"data.sample_rate": "its front-end runs at this rate; every file is resampled to it"}


def evaluation_config(
    loaded: LoadedModel, data: Path | None = None, overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """The checkpoint's config with another dataset and ``data.*`` / ``eval.*`` overrides applied.

    Args:
        loaded: the trained model.
        data: a dataset root of the same layout, or a manifest CSV.
        overrides: ``key=value`` strings restricted to the data and eval sections.

    Raises:
        ConfigError: an override outside ``data``/``eval`` (it would change the network).
    """
    config = copy.deepcopy(loaded.config)
    trained = config["data"]
    own_manifest = trained["source"] == "manifest" and _same_path(data, trained["manifest"])
    if data is not None and not own_manifest:  # (the training manifest keeps its data.root)
        if data.suffix.lower() != ".csv" and data.is_file():
            raise UserError(f"--data {data} is a file; give a dataset folder, or a manifest .csv")
        if data.suffix.lower() == ".csv":
            config = set_dotted(config, "data.source", "manifest")
            config = set_dotted(config, "data.manifest", str(data))
            config = set_dotted(config, "data.root", None)
        else:
            config = set_dotted(config, "data.root", str(data))
    for text in overrides:
        key, value = parse_override(text)
        if key.split(".")[0] not in EVALUATION_SECTIONS:
            raise ConfigError(key, "evaluate only accepts data.* and eval.* overrides (the model is fixed)")
        if key in FIXED_BY_THE_MODEL and value != config[key.split(".")[0]][key.split(".")[1]]:
            raise ConfigError(key, f"is fixed by the trained model ({FIXED_BY_THE_MODEL[key]}); drop it")
        config = set_dotted(config, key, value)
    return resolve_config(config)


def _merged_catalog(catalog: Catalog) -> Catalog:
    merged = SplitData([], [], [] if all(s.waves is not None for s in catalog.splits.values()) else None)
    for split in catalog.splits.values():
        merged.items += split.items
        merged.labels += split.labels
        if merged.waves is not None and split.waves is not None:
            merged.waves += split.waves
    return Catalog(catalog.class_names, {"all": merged}, catalog.bad)


def recorded_splits(loaded: LoadedModel, config: Mapping[str, Any]) -> list[AudioItem] | None:
    """The training run's files and splits (its ``splits.csv``) when ``config`` lists and splits the
    dataset as training did; ``None`` otherwise (another dataset, other fractions, no run folder, or a run
    trained before the file was written), and the dataset is then split afresh."""
    if loaded.run is None or not same_listing(config, loaded.config):
        return None
    if not loaded.run.splits.is_file():
        warn_missing(loaded.run.splits)
        return None
    return read_split_file(loaded.run.splits, base=loaded.data_folder)


def listed_paths(loaded: LoadedModel, config: Mapping[str, Any], items: Sequence[AudioItem]) -> list[str]:
    """The items' paths as the run's ``splits.csv`` lists them, so that a predictions file joins with it by
    path: :func:`recorded_splits` joins its relative paths to the training folder (to find them from any
    folder); paths of files not read from it are kept as listed."""
    folder, run = loaded.data_folder, loaded.run
    if folder is None or run is None or not run.splits.is_file() or not same_listing(config, loaded.config):
        return [str(item.path) for item in items]
    typed = {str(folder / row.path): str(row.path) for row in read_split_file(loaded.run.splits)}
    return [typed.get(str(item.path), str(item.path)) for item in items]


def score_split(
    loaded: LoadedModel, config: dict[str, Any], split: str
) -> tuple[EvaluationResult, SplitData]:
    """Run the model over every file of ``split`` (``"all"`` = every file) and vote.

    Returns:
        The evaluation and the split's files (file id = position in ``SplitData.items``).
    """
    catalog = build_catalog(
        config["data"],
        config["seed"],
        class_names=loaded.class_names,
        splits=() if split == "all" else (split,),
        assigned=recorded_splits(loaded, config),
    )
    if split == "all":
        catalog = _merged_catalog(catalog)
    data = AudioDataModule(config, class_names=loaded.class_names, catalog=catalog)
    files = data.split(split)
    data.check_part_lengths(split, loaded.model.frontends)  # the model's own (none built anew)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = loaded.model.to(device).eval()
    parts_seen = PartsAccumulator()
    with torch.inference_mode():
        for parts, labels, file_index, n_parts in data.eval_dataloader(split):
            stop_if_requested()  # a Ctrl-C within evaluate_run stops between batches
            probs = torch.softmax(model(parts.to(device)).float(), dim=1).cpu().numpy()
            parts_seen.add(
                probs, file_index.repeat_interleave(n_parts).numpy(), file_index.numpy(), labels.numpy()
            )
    return parts_seen.evaluate(loaded.class_names, config["eval"]["vote"]), files


def _same_path(a: str | os.PathLike[str] | None, b: str | os.PathLike[str] | None) -> bool:
    return a is not None and b is not None and os.path.realpath(a) == os.path.realpath(b)


def score_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings an evaluation's scores depend on besides the model and the files: the crop length and
    the ``eval`` keys (but ``eval.max_parts_per_batch``, which changes only memory use)."""
    machine = {key.partition(".")[2] for key in MACHINE_KEYS if key.startswith("eval.")}
    evaluation = {key: value for key, value in config["eval"].items() if key not in machine}
    return {"clip_seconds": config["data"]["clip_seconds"], **evaluation}


def default_out_dir(loaded: LoadedModel, config: Mapping[str, Any]) -> Path:
    """Where ``evaluate`` writes without ``--out``: the run directory for the run's own dataset, split and
    scoring settings; ``<run>/evaluations/<dataset name>-<8 hex digits>/`` for another dataset or listing
    or other ``eval.*`` settings (the digits hash its resolved path and listing keys, and the settings
    when they differ from the run's, so that two datasets of one name do not share a folder and the run's
    own evaluation is kept). For a checkpoint outside a run,
    ``<its folder>/evaluations/<checkpoint name>-<dataset name>-<8 hex digits>/``, so that evaluating it on
    another dataset, or another checkpoint of that folder, does not replace the reports."""
    settings = score_settings(config)
    own_settings = settings == score_settings(loaded.config)
    if loaded.run is None:
        folder = f"{loaded.checkpoint.stem}-{_dataset_folder(config, settings, own_settings)}"
        return loaded.checkpoint.parent / "evaluations" / folder
    if same_listing(config, loaded.config) and own_settings:
        return loaded.run.root
    return loaded.run.others_evaluations / _dataset_folder(config, settings, own_settings)


def _dataset_folder(config: Mapping[str, Any], settings: Mapping[str, Any], own_settings: bool) -> str:
    """``<dataset name>-<8 hex digits>``: the digits hash the dataset's resolved path and listing keys, and
    the scoring ``settings`` unless they are the run's (``own_settings``)."""
    data = config["data"]
    source = Path(data["manifest"] if data["source"] == "manifest" else data["root"]).resolve()
    described = {**listing(config), **({} if own_settings else {"settings": settings})}
    resolved = json.dumps(described, sort_keys=True, default=str)  # one dataset and scoring, one folder
    digest = hashlib.sha1(resolved.encode()).hexdigest()[:8]
    name = source.stem if data["source"] == "manifest" else source.name
    return f"{name or 'root'}-{digest}"


def _check_arguments(split: str, overrides: Sequence[str]) -> None:
    """Refuse a ``split`` other than :data:`SPLITS`, and ``overrides`` that are not a list of strings.

    Args:
        split: the split asked for.
        overrides: the ``key=value`` overrides.

    Raises:
        ValueError: naming the parameter and what it allows.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if isinstance(overrides, str) or not all(isinstance(text, str) for text in overrides):
        raise ValueError(f"overrides must be a list of 'key=value' strings, got {overrides!r}")


def _check_finite(loaded: LoadedModel, result: EvaluationResult, files: SplitData, split: str) -> None:
    """Refuse an evaluation whose probabilities are not finite (a model whose weights went NaN).

    Args:
        loaded: the model, for the message.
        result: the evaluation.
        files: the split's files (file id = position), for the message.
        split: the split's name, for the message.

    Raises:
        UserError: naming the checkpoint, how many files are affected and the first of them.
    """
    finite = np.isfinite(result.file_probs).all(axis=1)
    if finite.all():
        return
    first = files.items[result.file_ids[int(np.argmin(finite))]].path
    raise UserError(
        f"{loaded.checkpoint}: the model's output is not finite (NaN or inf) on {int((~finite).sum())} of "
        f"{finite.size} {plural(finite.size, 'file')} of split {split} (e.g. {first}); no report was written"
    )


def _warn_absent_classes(result: EvaluationResult, split: str) -> None:
    """Warn when some of the model's classes have no file in the evaluated split: their F1 of 0 still
    counts in the macro-F1 (e.g. a dataset with a subset of the run's classes).

    Args:
        result: the evaluation.
        split: the split's name, for the message.
    """
    support = np.asarray(result.file.confusion).sum(axis=1)
    absent = [name for name, count in zip(result.file.class_names, support, strict=True) if count == 0]
    if absent:
        log.warning(
            "%s: no file of class %s; macro-F1 still averages over all %d of the model's classes (F1 0 for "
            "those)",
            split,
            ", ".join(absent),
            len(support),
        )


def evaluate_run(
    target: str | Path,
    data: str | Path | None = None,
    split: str = "test",
    overrides: Sequence[str] = (),
    out: str | Path | None = None,
) -> EvaluationReport:
    """Evaluate a run directory or checkpoint and write its reports.

    Writes into ``out`` (default: see :func:`default_out_dir`): ``evaluation_<split>.json`` (segment and
    file-level reports, with the checkpoint and the dataset), ``confusion_matrix_<split>.png`` and
    ``predictions.csv`` (``predictions_<split>.csv`` for splits other than test).

    Args:
        target: run directory or checkpoint file.
        data: another dataset root of the same layout, or a manifest CSV (default: the run's dataset).
        split: one of :data:`SPLITS`.
        overrides: ``data.*`` / ``eval.*`` ``key=value`` strings.
        out: the folder for the reports (default: :func:`default_out_dir`).

    Returns:
        The :class:`EvaluationReport`.

    Raises:
        ValueError: a ``split`` or ``overrides`` of the wrong kind (before the checkpoint is read).
        UserError: unusable checkpoint, data or override.
        KeyboardInterrupt: on Ctrl-C, after the current batch (see
            :func:`~adaspec._interrupts.ctrl_c_deferred`).
    """
    _check_arguments(split, overrides)
    with ctrl_c_deferred():
        return _evaluate_and_write(target, Path(data) if data is not None else None, split, overrides, out)


def _evaluate_and_write(
    target: str | Path, data_path: Path | None, split: str, overrides: Sequence[str], out: str | Path | None
) -> EvaluationReport:
    """:func:`evaluate_run` after its argument checks. A Ctrl-C before the reports are written stops
    there, with none written; one while they are written stops once all are."""
    loaded = load_classifier(target)
    config = evaluation_config(loaded, data_path, overrides)
    if data_path is None and loaded.data_folder is None:
        check_relative_data_found(config["data"], list(loaded.searched_folders))
    result, files = score_split(loaded, config, split)
    stop_if_requested()  # pressed after the last batch: no report is written
    _check_finite(loaded, result, files, split)  # before writing: the run's earlier reports stay
    _warn_absent_classes(result, split)
    out_dir = Path(out) if out is not None else default_out_dir(loaded, config)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = RunPaths(out_dir)
    predictions = written.predictions(split)
    ids = result.file_ids
    write_predictions_csv(
        predictions,
        listed_paths(loaded, config, [files.items[i] for i in ids]),
        result.file_probs,
        loaded.class_names,
        true_labels=[files.items[i].label for i in ids],
        predicted=result.file_predictions[result.rule],  # the votes the report scores (eval.vote)
    )
    confusion = save_confusion_matrix(
        result.file.confusion,
        loaded.class_names,
        written.evaluation_confusion(split),
        title=f"{split}, file level ({result.rule} vote), accuracy {result.file.accuracy:.3f}",
    )
    report_path = written.evaluation(split)
    data_cfg = config["data"]
    source = data_cfg["manifest"] if data_cfg["source"] == "manifest" else data_cfg["root"]
    settings = score_settings(config)
    write_json(
        report_path,
        {
            "split": split,
            **loaded.origin(),
            "data": str(Path(source).resolve()),
            "settings": settings,
            **result.to_dict(),
        },
    )
    return EvaluationReport(
        split=split,
        checkpoint=loaded.checkpoint,
        result=result,
        written={"report": report_path, "predictions": predictions, "confusion matrix": confusion},
    )
