"""``adaspec train``: one run from a resolved config into ``runs/<name>/``."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins.environments import LightningEnvironment
from lightning.fabric.plugins.io import TorchCheckpointIO
from lightning.fabric.utilities.rank_zero import rank_zero_only as fabric_rank_zero_only
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from torch import nn

from .._atomic import replaced_atomically
from .._lightning_logs import apply_quiet
from ..config import summarize_differences
from ..data import AudioItem
from ..errors import ConfigError, UserError, one_line
from ..plots.frontend import frontend_state
from .builders import build_frontends
from .callbacks import (
    HEADLINE,
    EpochEvaluation,
    InterruptWatch,
    RngState,
    RunArtifacts,
    StayStopped,
    early_stop_epoch,
)
from .catalog import build_catalog, list_items
from .checkpoints import read_checkpoint, saved_at
from .datamodule import AudioDataModule
from .module import ClassifierModule
from .run_dir import (
    RunPaths,
    RunPlan,
    check_run_name,
    existing_run_dir,
    make_run_dir,
    plan_run_dir,
    remove_checkpoint_temporaries,
    training_differences,
)
from .run_lock import run_locked
from .split_file import read_split_file, warn_missing, write_split_file
from .workdir import record_workdir

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a finished run reports: its directory and best validation row of ``metrics.json``.

    ``best_evaluation`` is the best epoch's whole validation when this session made it as
    :func:`~adaspec.training.evaluate.score_split` scores ``best.ckpt`` (see :func:`scored_as_evaluate`);
    ``None`` otherwise. A caller checks its epoch and step against ``best.ckpt``'s before using it.
    """

    paths: RunPaths
    best: dict[str, float] | None
    resumed: bool
    best_evaluation: EpochEvaluation | None = None


def scored_as_evaluate(trainer: L.Trainer, config: Mapping[str, Any]) -> bool:
    """Whether validation during fit scored as ``score_split`` does: one process, every val batch, float32
    weights without autocast, on the device ``score_split`` picks (see :func:`_reproducible_on`)."""
    limit = config["trainer"]["limit_val_batches"]
    whole = limit is None or (isinstance(limit, float) and limit == 1.0)
    one_process = trainer.world_size == 1
    return one_process and whole and trainer.precision == "32-true" and _reproducible_on(trainer)


def _reproducible_on(trainer: L.Trainer) -> bool:
    """Whether the trainer ran on the device ``score_split`` picks (the current CUDA device when there is
    one, else the CPU) in a way that gives the same numbers again: a GPU only under deterministic
    algorithms (``trainer.deterministic``), else cuDNN may pick other kernels from call to call."""
    device = trainer.strategy.root_device
    if not torch.cuda.is_available():
        return device.type == "cpu"
    same_gpu = device.type == "cuda" and device.index == torch.cuda.current_device()
    return same_gpu and torch.are_deterministic_algorithms_enabled()


def process_rank() -> int:
    """This process's global rank in a distributed run, from the environment the launcher (Lightning,
    torchrun, SLURM) sets; 0 when not distributed."""
    return int(rank_zero_only.rank)


def quiet_lightning() -> None:
    """Silence Lightning's hints that do not apply to this CPU-first tool."""
    for pattern in (
        ".*does not have many workers.*",
        ".*GPU available but not used.*",
        ".*Checkpoint directory .* exists and is not empty.*",
        ".*predict_dataloader.*",
        ".*LeafSpec.*",
        ".*is deprecated.*tensorboardX.*",
        ".*smaller than the logging interval.*",
    ):
        warnings.filterwarnings("ignore", message=pattern)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    apply_quiet()  # under adaspec -q, Lightning's INFO lines too (importing Lightning set them to INFO)


#: ``trainer`` keys that say which devices a run uses, checked by :func:`check_machine_settings`.
MACHINE_SETTINGS = ("accelerator", "devices", "num_nodes", "strategy", "precision")


def check_machine_settings(config: Mapping[str, Any], *, launcher: bool = True) -> int:
    """Build a bare Lightning Trainer from the ``trainer`` section's device settings, so that one this
    machine cannot honour (no GPU, an accelerator package that is not installed, an unknown strategy)
    stops the run before its folder is made or its data decoded.

    Args:
        config: the resolved config.
        launcher: also refuse ``num_nodes > 1`` without a launcher or the node variables (a caller that
            refuses several processes anyway says that instead).

    Returns:
        The number of training processes those settings make.

    Raises:
        ConfigError: on ``trainer``, with Lightning's reason and the settings.
    """
    quiet_lightning()  # its start-up lines ("GPU available: ...") are not for this bare Trainer
    settings = {key: config["trainer"][key] for key in MACHINE_SETTINGS}
    ranks = (rank_zero_only.rank, fabric_rank_zero_only.rank)
    try:
        trainer = L.Trainer(
            **settings,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
    except Exception as err:  # Lightning's MisconfigurationException, ValueError, ModuleNotFoundError
        reason = one_line(err, limit=None)
        shown = ", ".join(f"trainer.{key}={value}" for key, value in settings.items())
        raise ConfigError("trainer", f"{reason} ({shown})") from None
    finally:  # a DDP strategy sets the process's global rank; the run's own Trainer sets it again
        rank_zero_only.rank, fabric_rank_zero_only.rank = ranks
    if launcher and trainer.num_nodes > 1 and not _launched_on_nodes(trainer):
        raise ConfigError(
            "trainer",
            f"num_nodes={trainer.num_nodes} needs a launcher that starts this command on every node "
            "(torchrun, SLURM's srun, ...) or NODE_RANK (with MASTER_ADDR and MASTER_PORT) set on each; "
            "without one the run would wait for nodes that never come",
        )
    return trainer.world_size


#: Variables by which a run started by hand on several nodes (Lightning's default cluster environment) knows
#: which node it is; see Lightning's "run on an on-prem cluster" guide.
_NODE_VARIABLES = ("NODE_RANK", "GROUP_RANK")


def _launched_on_nodes(trainer: L.Trainer) -> bool:
    """Whether a multi-node run was started by a cluster or launcher Lightning detects (SLURM, torchrun,
    LSF, Kubeflow, MPI) or by hand with the node variables set."""
    environment = trainer._accelerator_connector.cluster_environment
    return not isinstance(environment, LightningEnvironment) or any(
        name in os.environ for name in _NODE_VARIABLES
    )


class RunCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint`` that keeps its best score when the run folder was moved or copied
    with its checkpoints (or is reached by another path, as by search workers that mount a shared folder
    differently). Lightning then drops the best score ("the dirpath has changed"), and the first epoch
    after resuming replaced ``best.ckpt`` whatever its score; here the saved paths are re-rooted in the
    current folder instead. Checkpoints keep ``ModelCheckpoint``'s state key."""

    @property
    def state_key(self) -> str:
        return super().state_key.replace(type(self).__qualname__, ModelCheckpoint.__qualname__, 1)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict.get("dirpath")
        if saved is not None and self.dirpath is not None and saved != self.dirpath:
            log.debug("checkpoints moved from %s to %s", saved, self.dirpath)
            state_dict = {
                **state_dict,
                "dirpath": self.dirpath,
                **{key: self._here(state_dict.get(key)) for key in _CHECKPOINT_PATH_KEYS},
                "best_k_models": {self._here(k): v for k, v in state_dict.get("best_k_models", {}).items()},
            }
        super().load_state_dict(state_dict)

    def _here(self, path: str | None) -> str | None:
        """``path``'s file name in this callback's folder."""
        return os.path.join(self.dirpath, os.path.basename(path)) if path else path


_CHECKPOINT_PATH_KEYS = ("best_model_path", "kth_best_model_path", "last_model_path")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, but each file is written beside its final name, synced, and renamed
    over it, so that ``last.ckpt`` is always a whole checkpoint of the old epoch or of the new one.

    Lightning writes into the system's temporary folder and moves the file into the run: where that is
    another file system (a tmpfs ``/tmp``), the move copies over the old file in place, and a full disk or a
    kill during the copy left a truncated ``last.ckpt`` and nothing to resume from. A failed write also
    raised an ``OSError`` without a file name; it names the checkpoint here.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        """Write ``checkpoint`` to ``path`` atomically.

        Args:
            checkpoint: what Lightning saves.
            path: the checkpoint file.
            storage_options: not supported (Lightning's ``TypeError``).

        Raises:
            OSError: the file could not be written (a full disk, a read-only folder), naming ``path``.
        """
        if storage_options is not None:  # Lightning's own TypeError
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with replaced_atomically(target) as tmp, open(tmp, "wb") as handle:
                torch.save(checkpoint, handle)  # straight to the file: no second copy in memory
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            if err.filename is not None:
                raise
            raise OSError(err.errno, err.strerror or one_line(err), str(target)) from err


def use_atomic_checkpoints(trainer: L.Trainer) -> None:
    """Make ``trainer`` write checkpoints with :class:`AtomicCheckpointIO` where it would use Lightning's
    plain ``TorchCheckpointIO`` (other strategies, e.g. XLA's, keep their own writer)."""
    if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:
        trainer.strategy.checkpoint_io = AtomicCheckpointIO()


def checkpoint_callbacks(paths: RunPaths) -> list[ModelCheckpoint]:
    """``best.ckpt`` (highest ``val/acc_file``) and ``last.ckpt`` (written at the end of every epoch).

    ``save_last=True`` is not used: with a monitor, Lightning writes ``last`` only in epochs where the
    monitored value improved, which left ``last.ckpt`` epochs behind. ``best`` comes first, so that
    ``last.ckpt`` holds its state after the epoch's comparison; a run stopped between the two saves
    resumes from ``best.ckpt``, a whole checkpoint of the later epoch (see :func:`resume_checkpoint`).
    """
    common: dict[str, Any] = {
        "dirpath": paths.checkpoints,
        "save_top_k": 1,
        "auto_insert_metric_name": False,
        "enable_version_counter": False,
        "save_on_train_epoch_end": True,
    }
    return [
        RunCheckpoint(filename="best", monitor=HEADLINE, mode="max", **common),
        RunCheckpoint(filename="last", monitor=None, **common),
    ]


def build_trainer(
    config: Mapping[str, Any], paths: RunPaths, callbacks: Sequence[L.Callback] = (), resume_step: int = 0
) -> L.Trainer:
    """A Lightning Trainer with the run's checkpoints, TensorBoard logger and the ``trainer`` section.

    Args:
        config: the resolved config.
        paths: the run directory.
        callbacks: callbacks run before the run's own.
        resume_step: the optimiser step the run resumes from (0 for a fresh run): TensorBoard hides what
            earlier sessions logged from that step on (an interrupted epoch, or a failed start), which the
            run logs again, so that the curves continue as one.

    Returns:
        The trainer.
    """
    trainer_cfg = config["trainer"]
    all_callbacks: list[L.Callback] = [*callbacks, RngState(), *checkpoint_callbacks(paths)]
    if trainer_cfg["early_stopping_patience"]:
        all_callbacks.append(
            EarlyStopping(
                monitor=HEADLINE,
                mode="max",
                patience=trainer_cfg["early_stopping_patience"],
                check_on_train_epoch_end=True,
            )
        )
        all_callbacks.append(StayStopped())
    optional = {
        key: trainer_cfg[key]
        for key in ("gradient_clip_val", "limit_train_batches", "limit_val_batches")
        if trainer_cfg[key] is not None
    }
    trainer = L.Trainer(
        default_root_dir=paths.root,
        max_epochs=trainer_cfg["max_epochs"],
        accelerator=trainer_cfg["accelerator"],
        devices=trainer_cfg["devices"],
        num_nodes=trainer_cfg["num_nodes"],
        strategy=trainer_cfg["strategy"],
        precision=trainer_cfg["precision"],
        deterministic=trainer_cfg["deterministic"],
        log_every_n_steps=trainer_cfg["log_every_n_steps"],
        enable_progress_bar=trainer_cfg["progress_bar"],
        enable_model_summary=False,
        num_sanity_val_steps=0,
        # The data module's samplers shard the data themselves (files stay whole in evaluation).
        use_distributed_sampler=False,
        logger=TensorBoardLogger(
            save_dir=paths.root,
            name="tensorboard",
            version="",
            default_hp_metric=False,
            purge_step=resume_step,
        ),
        callbacks=all_callbacks,
        **optional,
    )
    use_atomic_checkpoints(trainer)
    return trainer


def train(
    config: Mapping[str, Any],
    name: str,
    runs_dir: str | Path = "runs",
    overwrite: bool = False,
    callbacks: Sequence[L.Callback] = (),
) -> TrainResult:
    """Train (or resume) the run ``runs_dir/name`` described by a resolved config.

    Args:
        config: output of :func:`~adaspec.config.resolve_config`.
        name: run name (one path component).
        runs_dir: parent directory of runs.
        overwrite: replace an existing run of that name, once every check of the new run has passed.
        callbacks: extra Lightning callbacks (tests use one to interrupt a run).

    Returns:
        The run's paths, its best validation metrics and whether it resumed.

    Raises:
        UserError: for config, data or run-directory problems.
    """
    quiet_lightning()
    check_machine_settings(config)
    # One process trains a run at a time (DDP: process 0 holds the lock for all; the others start later).
    name = check_run_name(name)
    lock = run_locked(runs_dir, name) if process_rank() == 0 else contextlib.nullcontext()
    with lock:
        return _train_locked(config, name, runs_dir, overwrite, callbacks)


def _train_locked(
    config: Mapping[str, Any],
    name: str,
    runs_dir: str | Path,
    overwrite: bool,
    callbacks: Sequence[L.Callback],
) -> TrainResult:
    """:func:`train` once the run's lock is held (see :mod:`~adaspec.training.run_lock`)."""
    plan = plan_run(runs_dir, name, config, overwrite)
    paths, resume = plan.paths, plan.resume
    L.seed_everything(config["seed"], workers=True, verbose=False)
    data, recorded, resume_step = run_data(config, paths, resume)
    class_names = data.class_names
    data.split("train")
    data.split("val")
    module = ClassifierModule(config, class_names, workdir=record_workdir(paths.root))
    frontends = build_frontends(config)
    data.check_part_lengths("val", frontends)  # else it would fail at the end of the first epoch
    initial = frontend_state(nn.ModuleList(frontends))
    artifacts = RunArtifacts(paths, class_names, initial)
    watch = InterruptWatch()
    trainer = build_trainer(config, paths, [*callbacks, artifacts, watch], resume_step)
    # Checked before Lightning's launcher starts the other processes, so that it is said once, not by each.
    data.check_files_per_process("val", trainer.world_size)
    if process_rank() == 0:  # every check passed: only now is an old run replaced
        make_run_dir(plan, config)
        remove_checkpoint_temporaries(paths)  # the run's lock is held: no other process writes them
        if not recorded:
            write_split_file(paths.splits, data.catalog)
    fit_reraising_interrupt(trainer, watch, module, data, resume)
    if resume is not None and trainer.global_step == resume_step and early_stop_epoch(trainer) is None:
        log.info(
            "%s had already reached trainer.max_epochs=%d: nothing was trained (a larger value trains it "
            "further)",
            paths.root,
            config["trainer"]["max_epochs"],
        )
    held = artifacts.best_evaluation() if scored_as_evaluate(trainer, config) else None
    return TrainResult(paths=paths, best=artifacts.best(), resumed=resume is not None, best_evaluation=held)


def plan_run(runs_dir: str | Path, name: str, config: Mapping[str, Any], overwrite: bool) -> RunPlan:
    """How the run folder is used (see :func:`~adaspec.training.run_dir.plan_run_dir`); nothing in it
    changes until :func:`~adaspec.training.run_dir.make_run_dir`, after every check of the run."""
    if process_rank() == 0:
        plan = plan_run_dir(runs_dir, name, config, overwrite=overwrite)
    else:  # a DDP worker: process 0 prepares the directory (under Lightning's launcher, before this starts)
        paths, resume = existing_run_dir(runs_dir, name, config, overwrite=overwrite)
        plan = RunPlan(paths, resume)
    return dataclasses.replace(plan, resume=resume_checkpoint(plan.paths, plan.resume))


def resume_checkpoint(paths: RunPaths, last: Path | None) -> Path | None:
    """The checkpoint a run resumes from: ``last``, first replaced by a copy of ``best.ckpt`` where that was
    saved at a later epoch.

    At an epoch's end ``best.ckpt`` is written before ``last.ckpt`` (see :func:`checkpoint_callbacks`), so a
    run stopped between the two saves leaves ``best.ckpt`` a whole checkpoint of an epoch that ``last.ckpt``
    lacks. Resumed from ``last.ckpt``, that epoch was trained again, and where it scored lower the second
    time (GPU nondeterminism, another number of processes), ``best.ckpt`` kept weights of an epoch that
    ``metrics.json`` no longer held. An unreadable ``best.ckpt`` is left to training, as before.

    Args:
        paths: the run directory.
        last: the run's ``last.ckpt`` (None for a fresh run).

    Returns:
        The checkpoint to resume from (None for a fresh run).
    """
    if last is None or not paths.best.is_file():
        return last
    best_at, last_at = saved_at(paths.best), saved_at(last)
    if best_at is None or last_at is None or best_at <= last_at:
        return last
    if process_rank() != 0:  # process 0 makes last.ckpt a copy of it (perhaps not yet): the same state
        return paths.best
    log.warning(
        "%s was saved at epoch %d, %s at epoch %d (the run stopped between the two saves); resuming from a "
        "copy of %s",
        paths.best,
        best_at[0],
        last.name,
        last_at[0],
        paths.best.name,
    )
    with replaced_atomically(last) as tmp:  # else a run stopped so in its last epoch, which trains no
        shutil.copyfile(paths.best, tmp)  # more, would leave last.ckpt behind and say so every time
    return last


def run_data(
    config: Mapping[str, Any], paths: RunPaths, resume: Path | None
) -> tuple[AudioDataModule, bool, int]:
    """The run's data: a resumed run's recorded split, checked against the classes it was trained with.

    Returns:
        The data module (its catalog built), whether its split was read from ``splits.csv``, and the
        optimiser step the run resumes from (0 for a fresh run).

    Raises:
        UserError: an unreadable checkpoint, a dataset without the run's classes, or a data problem.
    """
    if resume is None:
        data = AudioDataModule(config)
        data.setup()
        return data, False, 0
    trained, step = check_resumable(paths, resume, config)
    log.info("resuming %s from %s", paths.root, resume)
    recorded = recorded_split(paths, config)
    catalog = None if recorded is None else build_catalog(config["data"], config["seed"], assigned=recorded)
    data = AudioDataModule(config, catalog=catalog)
    check_same_classes(paths, trained, data.class_names)
    return data, recorded is not None, step


def check_resumable(paths: RunPaths, checkpoint: Path, config: Mapping[str, Any]) -> tuple[list[str], int]:
    """Refuse to resume from a checkpoint that cannot be read (e.g. cut short by a full disk, or damaged),
    or that was trained with another config than ``config`` (the run folder's ``config.yaml`` was edited):
    its weights would not fit the model (a traceback), or it would go on with other settings.

    Args:
        paths: the run directory.
        checkpoint: the checkpoint to resume from.
        config: the resolved config the run resumes with (a larger ``trainer.max_epochs`` and other
            machine-only keys may differ).

    Returns:
        The class names the run was trained with and the optimiser step it was saved at.

    Raises:
        UserError: naming the checkpoint and the remedies.
    """
    remedy = "start the run afresh with --overwrite"
    try:
        saved = read_checkpoint(checkpoint, lazy=True)  # Lightning reads it whole next
    except UserError as err:
        raise UserError(f"cannot resume {paths.root}: {err}; restore the file, or {remedy}") from err
    differences = training_differences(saved["hyper_parameters"]["config"], config)
    if differences:
        raise UserError(
            f"cannot resume {paths.root}: {checkpoint} was trained with another config "
            f"({summarize_differences(differences)}); restore the run's config.yaml, or {remedy}"
        )
    return [str(name) for name in saved["hyper_parameters"]["class_names"]], int(saved.get("global_step", 0))


def check_same_classes(paths: RunPaths, trained: Sequence[str], found: Sequence[str]) -> None:
    """Refuse to resume on a dataset whose usable classes are not those the run was trained with (the model
    has one output per class), before the model is built.

    Raises:
        UserError: naming the classes gone from the dataset and the new ones, and the remedies.
    """
    gone = sorted(set(trained) - set(found))
    new = sorted(set(found) - set(trained))
    if not gone and not new:
        return
    changes = []
    if gone:
        changes.append(f"no usable file of {_classes(gone)} any more")
    if new:
        changes.append(f"new {_classes(new)}")
    restore = "the dataset the run was trained on" if new else "their files"
    raise UserError(
        f"cannot resume {paths.root}: it was trained with {_classes(trained)}, but the dataset has "
        f"{' and '.join(changes)}; restore {restore}, or start the run afresh with --overwrite"
    )


def _classes(names: Sequence[str]) -> str:
    """``class 'a'`` or ``classes 'a', 'b'``."""
    return ("class " if len(names) == 1 else "classes ") + ", ".join(repr(name) for name in names)


def recorded_split(paths: RunPaths, config: Mapping[str, Any]) -> list[AudioItem] | None:
    """The files and splits a resumed run was trained on (its ``splits.csv``), so that a dataset changed
    since is not split afresh (files would move between training and evaluation splits); files added since
    are left out, with a warning. ``None`` for a run without the file (it lists the dataset afresh, with a
    warning).
    """
    if not paths.splits.is_file():
        warn_missing(paths.splits)
        return None
    recorded = read_split_file(paths.splits)
    known = {str(item.path) for item in recorded}
    added = [item for item in list_items(config["data"]) if str(item.path) not in known]
    if added and process_rank() == 0:  # said once, not by every process of a distributed run
        log.warning(
            "resuming with the files and splits of %s: %d file(s) not in it (added to the dataset since, or "
            "unusable when the run started; e.g. %s) are not used; train a new run to use them",
            paths.splits,
            len(added),
            added[0].path,
        )
    return recorded


def fit_reraising_interrupt(
    trainer: L.Trainer,
    watch: InterruptWatch,
    module: L.LightningModule,
    data: L.LightningDataModule,
    resume: Path | None,
) -> None:
    """``trainer.fit``, raising ``KeyboardInterrupt`` again when Lightning caught a Ctrl-C.

    A Ctrl-C stops the run after the current batch (a second one at once; see :class:`InterruptWatch`);
    one that came after the last batch still raises ``KeyboardInterrupt`` once the complete run is saved,
    so that a caller (a search) stops too.
    Lightning saves nothing on an interrupt and exits with ``SystemExit(1)`` after its shutdown, so
    ``last.ckpt`` stays at the last completed epoch, from which the same command resumes. Lightning
    also ignores SIGINT from then on; the previous handler is restored.

    Raises:
        KeyboardInterrupt: the run was interrupted.
    """
    try:
        with watch.handling_ctrl_c():
            trainer.fit(module, datamodule=data, ckpt_path=resume, weights_only=True)
    except SystemExit:
        if watch.caught is None:
            raise
    if watch.caught is not None:
        log.warning("training interrupted; the same command resumes it from its last completed epoch")
        raise watch.caught
    if watch.stop_requested:  # pressed after the last batch: the run is complete, but the caller stops
        log.warning("training finished before the Ctrl-C took effect; stopping there")
        raise KeyboardInterrupt
