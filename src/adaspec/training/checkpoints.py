"""Load a trained classifier from a run directory or a ``.ckpt`` file, safely (``weights_only=True``)."""

from __future__ import annotations

import logging
import os
import pickle
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import config_differences, load_config_file, resolve_config
from ..errors import UserError, not_a_file_reason, one_line
from ..models import Classifier
from .builders import build_classifier
from .run_dir import RunPaths, training_differences
from .workdir import WORKDIR_KEY, rebase_data_paths, recorded_folders, training_folder

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """A classifier in eval mode with the config and classes it was trained with."""

    model: Classifier
    config: dict[str, Any]
    class_names: list[str]
    checkpoint: Path
    run: RunPaths | None
    #: The training epoch (from 0, as ``metrics.json`` counts) and optimiser step the checkpoint was saved at;
    #: None for a model that does not say (an exported file from before they were recorded).
    epoch: int | None = None
    step: int | None = None
    #: The folder the run's relative data paths were found from, already joined to ``config``'s (see
    #: :mod:`~adaspec.training.workdir`); None when they are absolute or found from the current folder.
    data_folder: Path | None = None
    #: The recorded training folders also tried for relative data paths (see
    #: :func:`~adaspec.training.workdir.recorded_folders`), for the message when they are found nowhere.
    searched_folders: tuple[str, ...] = ()

    def origin(self) -> dict[str, Any]:
        """What reports record of where the model came from: the resolved checkpoint path, epoch and step."""
        return {"checkpoint": str(self.checkpoint.resolve()), "epoch": self.epoch, "step": self.step}


def resolve_checkpoint(target: str | Path) -> tuple[Path, RunPaths | None]:
    """A run directory means its ``checkpoints/best.ckpt`` (``last.ckpt`` if there is no best yet).

    Returns:
        The checkpoint path and, when it lies in a run directory, that run's paths.

    Raises:
        UserError: when nothing loadable is there.
    """
    target = Path(target)
    if target.is_dir():
        paths = RunPaths(target)
        for candidate in (paths.best, paths.last):
            reason = not_a_file_reason(candidate)
            if reason is None:
                return candidate, paths
            if reason != "no such file":  # a broken link, a device: not silently the next candidate
                raise UserError(f"{candidate}: {reason}; restore it, or give a checkpoint file")
        raise UserError(f"{target}: no checkpoints/best.ckpt or checkpoints/last.ckpt in this run directory")
    if target.is_file():
        run_root = target.parent.parent
        paths = RunPaths(run_root) if (run_root / "config.yaml").is_file() else None
        return target, paths
    reason = not_a_file_reason(target)
    if reason == "no such file":
        raise UserError(f"{target}: no such run directory or checkpoint file")
    raise UserError(f"{target}: {reason}; give a run directory or a checkpoint file")


NOT_A_CHECKPOINT = "not an adaspec checkpoint (a run directory or a .ckpt file written by adaspec train)"


def _starts_like_torch_save(path: str | Path) -> bool:
    """Whether the file begins as ``torch.save`` writes: a zip whose first entry is ``<name>/data.pkl``."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(30 + 256)
    except OSError:
        return False
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        return False
    name_length = int.from_bytes(header[26:28], "little")
    return header[30 : 30 + name_length].endswith(b"/data.pkl")


def read_checkpoint(path: str | Path, lazy: bool = False) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` with a one-line error for files that are not checkpoints.

    Args:
        path: the checkpoint file.
        lazy: map the tensors from the file instead of reading them (for a check of the file: a truncated
            zip fails to open either way, and the entries' CRCs are checked either way, streamed); only for
            zip checkpoints, which ``torch.save`` writes.

    Raises:
        UserError: unreadable file, not a torch checkpoint, or one without adaspec's hyper-parameters.
    """
    mapped = lazy and zipfile.is_zipfile(path)
    if _starts_like_torch_save(path):  # also when resuming, or a run trains on from damaged weights
        _check_crcs(path)
    try:
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=mapped)
        except OSError:
            if not mapped:
                raise
            # a file system that cannot map files (some FUSE mounts): read it instead
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as err:  # missing file, permission denied
        reason = err.strerror or type(err).__name__
        raise UserError(f"{path}: cannot be read as an adaspec checkpoint ({reason})") from err
    except pickle.UnpicklingError as err:
        unsafe = _unsafe_global(err)
        if unsafe is None:
            raise _unreadable(path, err) from err
        raise UserError(
            f"{path}: {NOT_A_CHECKPOINT}; it holds a {unsafe}, which adaspec never saves"
        ) from err
    except Exception as err:  # torch.load fails in many ways on other files (IndexError on a .wav, ...)
        raise _unreadable(path, err) from err
    _check_hyper_parameters(path, checkpoint)
    return checkpoint


def saved_at(path: str | Path) -> tuple[int, int] | None:
    """The epoch and optimiser step a checkpoint was saved at.

    Args:
        path: the checkpoint file.

    Returns:
        ``(epoch, step)``, or None for a file that is not a readable adaspec checkpoint.
    """
    try:
        checkpoint = read_checkpoint(path, lazy=True)
    except UserError:
        return None
    return int(checkpoint.get("epoch", -1)), int(checkpoint.get("global_step", -1))


def _unreadable(path: str | Path, err: Exception) -> UserError:
    """The one-line error for a file ``torch.load`` could not read: empty, damaged, or another kind.

    Args:
        path: the file.
        err: what ``torch.load`` raised.

    Returns:
        The error to raise.
    """
    if _is_empty(path):  # a save that never wrote (a full disk, a killed copy)
        return UserError(f"{path}: an empty file, not a checkpoint")
    if _starts_like_torch_save(path):  # but unreadable: cut short (a full disk) or damaged
        return UserError(f"{path}: a damaged or truncated checkpoint ({one_line(err)})")
    return UserError(f"{path}: {NOT_A_CHECKPOINT}")


def _unsafe_global(err: pickle.UnpicklingError) -> str | None:
    """The Python object a ``weights_only`` load refused (e.g. ``torch.nn.modules.linear.Linear``), or None
    when the error is another one (a damaged pickle).

    Args:
        err: the error ``torch.load(..., weights_only=True)`` raised.

    Returns:
        The refused global's dotted name, or None.
    """
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(err))
    return found.group(1) if found else None


def _check_crcs(path: str | Path) -> None:
    """Refuse a checkpoint whose zip entries fail their CRC-32 (flipped bits: ``torch.load`` does not check).

    Args:
        path: a file that starts as ``torch.save`` writes.

    Raises:
        UserError: an entry's bytes differ from its recorded CRC.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (OSError, zipfile.BadZipFile, EOFError):  # truncated or unreadable: torch.load says how
        return
    if bad is not None:
        raise UserError(f"{path}: a damaged checkpoint (its entry {bad} fails its CRC check)")


def _check_hyper_parameters(path: str | Path, checkpoint: Any) -> None:
    """Refuse a checkpoint without adaspec's ``config`` (a mapping) and ``class_names`` (strings).

    Args:
        path: the checkpoint file, for the message.
        checkpoint: what ``torch.load`` returned.

    Raises:
        UserError: the hyper-parameters are missing or of another program.
    """
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    if not isinstance(hparams, dict) or "config" not in hparams or "class_names" not in hparams:
        raise UserError(f"{path}: {NOT_A_CHECKPOINT}; it has no config/class_names in its hyper-parameters")
    names = hparams["class_names"]
    valid_names = isinstance(names, list | tuple) and all(isinstance(name, str) for name in names)
    if not isinstance(hparams["config"], Mapping) or not valid_names or "state_dict" not in checkpoint:
        raise UserError(
            f"{path}: {NOT_A_CHECKPOINT}; its config, class_names or state_dict are not adaspec's"
        )


def _is_empty(path: str | Path) -> bool:
    try:
        return os.path.getsize(path) == 0
    except OSError:
        return False


def load_classifier(target: str | Path, config: Mapping[str, Any] | None = None) -> LoadedModel:
    """Rebuild the classifier of a checkpoint and load its weights.

    Args:
        target: run directory or checkpoint file.
        config: build the model from this config instead of the checkpoint's own (e.g. a run directory's
            ``config.yaml``); it must describe the same network.

    Raises:
        UserError: the checkpoint does not fit the config (the differing keys and tensors are named).
    """
    path, run = resolve_checkpoint(target)
    checkpoint = read_checkpoint(path)
    hyper_parameters = checkpoint["hyper_parameters"]
    saved_config = hyper_parameters["config"]
    if config is None and run is not None:
        _warn_if_foreign(path, run, saved_config)
    class_names = list(hyper_parameters["class_names"])
    chosen = dict(config if config is not None else saved_config)
    data_folder, searched = None, ()
    if isinstance(chosen.get("data"), Mapping):  # evaluable from any folder
        run_root = run.root if run is not None else None
        recorded = hyper_parameters.get(WORKDIR_KEY)
        data_folder = training_folder(chosen["data"], run_root, recorded)
        chosen["data"] = rebase_data_paths(chosen["data"], data_folder)
        searched = tuple(recorded_folders(run_root, recorded))
    use_config, model = _build_model(path, chosen, len(class_names))
    state = {
        key.removeprefix("model."): value
        for key, value in checkpoint["state_dict"].items()
        if key.startswith("model.")
    }
    problems = _state_problems(model, state)
    if problems:
        differences = config_differences(saved_config, use_config)
        hint = f"; config differs: {'; '.join(differences[:3])}" if differences else ""
        raise UserError(f"{path} does not fit this model: {problems}{hint}")
    model.load_state_dict(state)
    model.eval()
    return LoadedModel(
        model=model,
        config=use_config,
        class_names=class_names,
        checkpoint=path,
        run=run,
        epoch=checkpoint.get("epoch"),
        step=checkpoint.get("global_step"),
        data_folder=data_folder,
        searched_folders=searched,
    )


def _warn_if_foreign(path: Path, run: RunPaths, saved_config: Mapping[str, Any]) -> None:
    """Warn when a run directory's checkpoint was trained with another config than the run's
    ``config.yaml`` (a checkpoint copied in from another run): the model is the checkpoint's, and reports
    written into the run directory would describe it."""
    if not run.config.is_file():
        return
    try:
        differences = training_differences(load_config_file(run.config), saved_config)
    except UserError:  # an unreadable config.yaml: the checkpoint's own config is used, as always
        return
    if differences:
        log.warning(
            "%s was trained with another config than %s (%s: the run's value -> the checkpoint's); using the "
            "checkpoint's",
            path,
            run.config,
            "; ".join(differences[:3]),
        )


def _build_model(path: Path, config: Mapping[str, Any], n_classes: int) -> tuple[dict[str, Any], Classifier]:
    """The resolved config and the untrained classifier it describes.

    Args:
        path: the checkpoint, for the message.
        config: the config to build from.
        n_classes: the number of classes.

    Returns:
        The resolved config and the classifier.

    Raises:
        UserError: the config is not one this adaspec builds (another program's, or another version's).
    """
    try:
        # trained with it: the front-end took its clips then (no need to run it on one again)
        use_config = resolve_config(config, try_clip=False)
        return use_config, build_classifier(use_config, n_classes)
    except (ValueError, TypeError, KeyError) as err:  # UserError and ConfigError are ValueErrors
        reason = one_line(err)
        raise UserError(f"{path}: its config is not one this adaspec version builds ({reason})") from err


def _state_problems(model: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> str:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [
        f"{key} {tuple(state[key].shape)} vs {tuple(expected[key].shape)}"
        for key in sorted(set(state) & set(expected))
        if state[key].shape != expected[key].shape
    ]
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing[:3])}" + (" ..." if len(missing) > 3 else ""))
    if unexpected:
        parts.append(f"unexpected {', '.join(unexpected[:3])}" + (" ..." if len(unexpected) > 3 else ""))
    if shapes:
        parts.append(f"shape {', '.join(shapes[:3])}" + (" ..." if len(shapes) > 3 else ""))
    return "; ".join(parts)
