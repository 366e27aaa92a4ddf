"""``adaspec search``: Optuna TPE search with median pruning over any config keys, on a shared study.

Layout of ``<runs_dir>/search-<study>/``: ``optuna.db`` (the default SQLite storage), ``study.json`` (the
storage and creation identity of the study whose trials the folder holds: a search of a study of that name
in another storage is refused), ``trial-NNNN/``
(one ordinary run directory per trial, named by its Optuna trial number), ``best_config.yaml`` (the base
config with the best trial's parameters, ready for ``adaspec train``), ``trials.csv`` and ``search.md``.

``trials`` is the study's budget, not this worker's: every worker (on any machine, same command and
storage) takes trials until the study holds ``trials`` completed, pruned or running ones, then waits for
the running ones. Failed trials (a crash, a killed worker whose heartbeat stopped) do not count, so the
budget is still reached. Running the command again continues the study.

SIGTERM stops a worker with status 143: in training after the current batch, elsewhere at once; either way
its trial ends failed at once, as a Ctrl-C leaves it. A trial stopped part-way (Ctrl-C, SIGTERM, or a
worker killed or lost) is resumed by the next worker that takes a trial: a new trial with the same
parameters continues the stopped one's run folder from its ``last.ckpt`` (its earlier epochs' accuracies
are reported to the pruner again), instead of training it from scratch. Trials that failed with an error
are not resumed.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import logging
import math
import os
import signal
import socket
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from .._atomic import write_text_atomic
from .._interrupts import handler_installed
from ..config import (
    config_differences,
    experiment_differences,
    resolve_config,
    save_config,
    summarize_differences,
)
from ..errors import ConfigError, UserError, one_line
from ..training.callbacks import SIGTERM_EXIT_STATUS
from ..training.catalog import list_items
from ..training.run_dir import RunPaths, check_run_name
from ..training.train import train
from .pruning import PruningCallback
from .space import Dimension, apply_params, check_single_process, load_space
from .storage import DEFAULT_HEARTBEAT_SECONDS, StudyLock, check_persistent, display_url, open_storage
from .study_record import DEFAULT_DATABASE, check_study_folder, read_study_record, record_study

log = logging.getLogger(__name__)

BEST_CONFIG_FILE = "best_config.yaml"
TRIALS_CSV_FILE = "trials.csv"
MARKDOWN_FILE = "search.md"
# Trials that use up the budget: finished with a score, or still running (or queued) somewhere.
COUNTED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
# A worker whose trials keep failing stops instead of looping (failed trials do not use up the budget).
MAX_FAILURES_IN_A_ROW = 3
# How often a worker with nothing left to start checks the trials other workers are running.
WAIT_SECONDS = 2


@dataclass(frozen=True)
class SearchSettings:
    """How a search samples and prunes.

    Attributes:
        startup_trials: trials completed before the median pruner prunes anything (also TPE's random
            start-up trials).
        warmup_epochs: epochs of each trial that are never pruned.
        sampler_seed: seed of the TPE sampler (``None``: random; give workers of one study different
            seeds or none, or they propose the same parameters); a continued study mixes in its trial count.
        heartbeat_seconds: a running trial's liveness interval; one silent for twice as long is failed.
        progress_bar: show training's progress bar in the trials (``None``: the config's
            ``trainer.progress_bar``); not part of the study's config nor of ``best_config.yaml``.
    """

    startup_trials: int = 5
    warmup_epochs: int = 0
    sampler_seed: int | None = None
    heartbeat_seconds: int = DEFAULT_HEARTBEAT_SECONDS
    progress_bar: bool | None = None


@dataclass
class SearchResult:
    """The study as this worker left it."""

    study_name: str
    storage: str
    out_dir: Path
    trials: list[FrozenTrial]
    ran: int
    best: FrozenTrial | None
    files: dict[str, Path] = field(default_factory=dict)

    def count(self, state: TrialState) -> int:
        """Trials of the study in ``state``."""
        return sum(trial.state == state for trial in self.trials)


def default_storage(out_dir: Path) -> str:
    """The SQLite URL of ``out_dir/optuna.db`` (absolute, so every worker names the same file)."""
    return f"sqlite:///{(out_dir / DEFAULT_DATABASE).resolve()}"


def _check_positive(option: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{option} must be a whole number >= 1, got {value!r}")
    return value


def _search_folder(study_name: Any) -> str:
    """``search-<study_name>``, the study's folder name.

    Raises:
        UserError: naming ``--study`` when the name is not a string, is empty, or makes no valid folder name.
    """
    if not isinstance(study_name, str) or not study_name:
        raise UserError(
            f"--study must be a non-empty name (leave it out to name the study after the config file), "
            f"got {study_name!r}"
        )
    try:
        return check_run_name(f"search-{study_name}")
    except UserError as err:
        raise UserError(f"--study {study_name!r}: {err}") from None


def _sampler(settings: SearchSettings, existing: int = 0) -> optuna.samplers.TPESampler:
    """TPE seeded with ``sampler_seed`` for a new study; for one continued with ``existing`` trials, with a
    seed mixed from both (``seed + existing`` would equal another worker's ``seed + 1``)."""
    seed = settings.sampler_seed
    if seed is not None and existing:
        seed = int(np.random.SeedSequence([seed, existing]).generate_state(1)[0])
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=settings.startup_trials)


def _create_study(storage: optuna.storages.RDBStorage, name: str, settings: SearchSettings) -> optuna.Study:
    """Create the study, or load it to continue it. A seeded sampler continuing a study is seeded from
    ``sampler_seed`` and the study's trial count: the same seed would draw the first trials' parameters
    again."""
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=settings.startup_trials, n_warmup_steps=settings.warmup_epochs
    )
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=_sampler(settings),
        pruner=pruner,
        direction="maximize",
        load_if_exists=True,
    )
    existing = len(study.get_trials(deepcopy=False))
    if existing and settings.sampler_seed is not None:
        study.sampler = _sampler(settings, existing)
    return study


BASE_CONFIG_ATTR = "adaspec_base_config"
SPACE_ATTR = "adaspec_space"
# Trial user attributes: the run folder, the stopped trial a trial resumes, and the error a trial failed with.
RUN_DIR_ATTR = "run_dir"
RESUMES_ATTR = "resumes_trial"
ERROR_ATTR = "error"
RESUMABLE_ATTR = "resumable"  # set when a trial starts training: only such a trial is ever resumed


class _WithoutTraceback(logging.Filter):
    """Drops the traceback Optuna logs with a failed trial (its message, one line, names the error) unless
    adaspec logs at DEBUG (``--debug``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not logging.getLogger("adaspec").isEnabledFor(logging.DEBUG):
            record.exc_info = record.exc_text = None
        return True


def _trial_errors_in_one_line() -> None:
    """Put :class:`_WithoutTraceback` on the handlers of Optuna's logger (once)."""
    for handler in logging.getLogger("optuna").handlers:
        if not any(isinstance(f, _WithoutTraceback) for f in handler.filters):
            handler.addFilter(_WithoutTraceback())


def check_same_base(study: optuna.Study, base: Mapping[str, Any], space: Sequence[Dimension]) -> None:
    """Record the base config and the search space in a new study; refuse to continue a study with another
    one of either (its trials and ``best_config.yaml`` would mix two experiments). Keys of
    :data:`~adaspec.config.MACHINE_KEYS` may differ.

    Raises:
        UserError: naming the first differing keys.
    """
    current = json.loads(json.dumps(dict(base)))
    searched = {d.key: json.loads(json.dumps(dataclasses.asdict(d), default=str)) for d in space}
    stored, stored_space = study.user_attrs.get(BASE_CONFIG_ATTR), study.user_attrs.get(SPACE_ATTR)
    if stored is None:  # a new study, or one begun before the base config was recorded
        study.set_user_attr(BASE_CONFIG_ATTR, current)
        study.set_user_attr(SPACE_ATTR, searched)
        return
    differences = experiment_differences(stored, current)
    what = "base config"
    if not differences and stored_space is not None:
        differences, what = (
            config_differences(_as_written(stored_space), _as_written(searched)),
            "search space",
        )
    if differences:
        shown = summarize_differences(differences)
        raise UserError(
            f"study {study.study_name!r} was started with another {what} ({shown}); continue it with that "
            "one, or start another study with --study"
        )


def _as_written(space: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded search space as its file writes it, for messages: each dimension's fields without its key
    and without those left unset (``None``), so a dimension added or removed shows as ``{'kind': ...}``."""
    return {
        key: {field: value for field, value in dimension.items() if field != "key" and value is not None}
        if isinstance(dimension, Mapping)
        else dimension
        for key, dimension in space.items()
    }


def resumable_trial(study: optuna.Study, out_dir: Path) -> FrozenTrial | None:
    """The earliest trial that stopped part-way and can go on: one that started training and failed
    without an error (interrupted, or its worker was killed or lost), with a ``last.ckpt`` in its run folder
    under ``out_dir`` (on this machine), and not already taken up by another trial.

    Args:
        study: the study.
        out_dir: the search folder, ``<runs_dir>/search-<study>``.

    Returns:
        The stopped trial, or ``None``.
    """
    trials = study.get_trials(deepcopy=False)
    taken = {trial.user_attrs.get(RESUMES_ATTR) for trial in trials}
    for trial in trials:
        stopped = trial.state == TrialState.FAIL and trial.user_attrs.get(RESUMABLE_ATTR)
        if not stopped or trial.number in taken or ERROR_ATTR in trial.user_attrs:
            continue
        folder = run_folder(trial, out_dir)
        if folder is not None and RunPaths(folder).last.is_file():
            return trial
    return None


def run_folder(trial: FrozenTrial | optuna.Trial, out_dir: Path) -> Path | None:
    """The trial's run folder under ``out_dir`` (workers may name ``out_dir`` by other paths), or ``None``
    for a trial that never recorded one."""
    recorded = trial.user_attrs.get(RUN_DIR_ATTR)
    return None if not recorded else out_dir / Path(recorded).name


class _Sigterm:
    """The search's SIGTERM handler: stops the worker with status 143 outside training as training does.

    In a trial's ``train`` outside fitting (its data scan, its evaluation) and between trials it raises
    ``SystemExit(143)`` at once, so that the trial ends failed (and resumable) as one stopped in training
    does, instead of staying running until its heartbeat goes stale. Lightning calls it from its own
    handler while it fits: it then only notes the signal, and Lightning stops after the current batch.
    While Optuna creates, sets up or ends a trial (:meth:`deferred`) the signal is only noted, and the
    search stops once that is done.
    """

    def __init__(self) -> None:
        self.requested = False
        self._deferred = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if not self._deferred and signal.getsignal(signal.SIGTERM) is self:  # not Lightning's handler
            raise SystemExit(SIGTERM_EXIT_STATUS)

    def stop_if_requested(self) -> None:
        """Raise ``SystemExit(143)`` once a SIGTERM has come."""
        if self.requested:
            raise SystemExit(SIGTERM_EXIT_STATUS)

    @contextlib.contextmanager
    def deferred(self, deferred: bool = True) -> Iterator[None]:
        """Within the block, a SIGTERM is only noted (``deferred=False``: it stops at once again)."""
        previous, self._deferred = self._deferred, deferred
        try:
            yield
        finally:
            self._deferred = previous

    def installed(self) -> contextlib.AbstractContextManager[None]:
        """The handler of SIGTERM within the block (see :func:`~adaspec._interrupts.handler_installed`)."""
        return handler_installed(signal.SIGTERM, self)


class _Objective:
    """One trial: draw the parameters (or take those of the stopped trial it resumes), train its run with
    the pruning callback, return the best validation file accuracy. Releases the budget lock once Optuna
    has created the trial."""

    def __init__(
        self,
        base: Mapping[str, Any],
        space: Sequence[Dimension],
        out_dir: Path,
        lock: StudyLock,
        progress_bar: bool | None = None,
        sigterm: _Sigterm | None = None,
    ) -> None:
        self.base = base
        self.space = space
        self.out_dir = out_dir
        self.lock = lock
        self.progress_bar = progress_bar
        self.sigterm = sigterm or _Sigterm()
        self.started = 0  # trials this worker has started
        self.stopped: int | None = None  # the trial a SIGTERM or an exit stopped

    def _new_run(self, trial: optuna.Trial, params: Mapping[str, Any]) -> str:
        """Name ``trial-NNNN``, recorded on the trial."""
        name = check_run_name(f"trial-{trial.number:04d}")
        folder = self.out_dir / name
        trial.set_user_attr(RUN_DIR_ATTR, str(folder))
        log.info("trial %d: %s", trial.number, ", ".join(f"{k}={v}" for k, v in params.items()))
        # Trial numbers are never reused within a study, and the search folder's study record says that its
        # trials are of this storage (checked at the start): a folder of that name is from a study of this
        # name deleted from this storage.
        if (folder / "config.yaml").is_file():
            log.warning("%s holds a run of an earlier study of that name; replacing it", folder)
        return name

    def _resumed_run(self, trial: optuna.Trial, resumes: int) -> tuple[str, set[int]]:
        """The stopped trial's run name, and its epochs, whose accuracies are reported to ``trial`` again
        (so that the pruner compares whole histories)."""
        (stopped,) = [t for t in trial.study.get_trials(deepcopy=False) if t.number == resumes]
        name = run_folder(stopped, self.out_dir).name
        log.info("trial %d resumes stopped trial %d in %s", trial.number, resumes, self.out_dir / name)
        for step, value in sorted(stopped.intermediate_values.items()):
            trial.report(value, step=step)
        return name, set(stopped.intermediate_values)

    @staticmethod
    def _trial_failure(err: Exception, resumes: int | None) -> Exception:
        """The error a failed trial ends with: a ``RuntimeError`` (the trial fails and the worker goes on)
        for a problem of this trial alone, a stopped trial's folder or a config its parameters make that
        the checks or the data refuse (alone or together); ``err`` itself otherwise (a ``UserError`` stops
        the search: every trial would meet it)."""
        if resumes is not None and isinstance(err, UserError) and not isinstance(err, ConfigError):
            detail = err.__cause__ if isinstance(err.__cause__, UserError) else err
            return RuntimeError(
                f"stopped trial {resumes} cannot be resumed ({detail}); a new trial takes its place"
            )
        if isinstance(err, ConfigError):
            return RuntimeError(f"{err} (with this trial's parameters)")
        return err

    def _next_step(self, trial: optuna.Trial) -> str:
        """What the next search does with the stopped ``trial``: resume it, if it left a checkpoint."""
        folder = run_folder(trial, self.out_dir)
        if trial.user_attrs.get(RESUMABLE_ATTR) and folder is not None and RunPaths(folder).last.is_file():
            return "the next search resumes it"
        return "it left no checkpoint: the next search starts a new trial in its place"

    def __call__(self, trial: optuna.Trial) -> float:
        self.lock.release()  # the trial exists (state RUNNING): other workers may count it and go on
        self.started += 1
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        resumes = trial.user_attrs.get(RESUMES_ATTR)
        try:
            return self._train(trial, resumes)
        except optuna.TrialPruned:
            raise
        except SystemExit:  # SIGTERM (Lightning's SIGTERMException, or :class:`_Sigterm`): Optuna would leave
            # the trial running until its heartbeat goes stale; fail it now, resumable, as a Ctrl-C does
            trial.study.tell(trial, state=TrialState.FAIL)
            self.stopped = trial.number
            log.warning("trial %d stopped part-way; %s", trial.number, self._next_step(trial))
            raise
        except Exception as err:  # not KeyboardInterrupt: an interrupted trial stays resumable
            failure = self._trial_failure(err, resumes)
            trial.set_user_attr(ERROR_ATTR, f"{type(failure).__name__}: {one_line(failure, limit=2000)}")
            if failure is err:
                raise
            raise failure from err

    def _train(self, trial: optuna.Trial, resumes: int | None) -> float:
        params = {dimension.key: dimension.suggest(trial) for dimension in self.space}
        config = apply_params(self.base, params)
        if self.progress_bar is not None:  # a display setting of this command, not of the study's config
            config["trainer"]["progress_bar"] = self.progress_bar
        if resumes is None:
            name, reported = self._new_run(trial, params), set()
        else:
            name, reported = self._resumed_run(trial, resumes)
            if reported and trial.should_prune():  # the trials finished since then are better
                raise optuna.TrialPruned(f"pruned after epoch {max(reported)}, before resuming")
        pruning = PruningCallback(trial, reported=reported)
        trial.set_user_attr(RESUMABLE_ATTR, True)  # from here on, a stop leaves a run to continue
        self.sigterm.stop_if_requested()  # one that came while Optuna made the trial or it was set up
        with self.sigterm.deferred(False):  # data scan and evaluation: at once; training: Lightning's way
            result = train(
                config, name=name, runs_dir=self.out_dir, overwrite=resumes is None, callbacks=[pruning]
            )
        best = (result.best or {}).get("val/acc_file", math.nan)
        trial.set_user_attr("best_epoch", (result.best or {}).get("epoch"))
        if pruning.pruned_at is not None:
            raise optuna.TrialPruned(f"pruned after epoch {pruning.pruned_at}")
        if math.isnan(best):
            raise RuntimeError(f"trial {trial.number} produced no validation accuracy")
        return float(best)


def run_search(
    config: Mapping[str, Any],
    trials: int,
    study_name: str,
    runs_dir: str | Path = "runs",
    storage: str | None = None,
    space: str | Path | None = None,
    timeout: float | None = None,
    settings: SearchSettings | None = None,
) -> SearchResult:
    """Take trials of the study until it holds ``trials`` counted ones (or ``timeout`` seconds pass), then
    write the best config and the trial table.

    Args:
        config: base config (resolved or a mapping to resolve); every trial is it plus drawn parameters.
        trials: the study's budget of completed + pruned + running trials.
        study_name: the Optuna study name (also the folder ``search-<study_name>``).
        runs_dir: parent of the search folder.
        storage: an SQLAlchemy URL; default the SQLite file ``search-<study_name>/optuna.db`` (an SQLite
            file's missing parent folders are created).
        space: a YAML/JSON search-space file; default :data:`~adaspec.studies.space.DEFAULT_SPACE`.
        timeout: stop taking new trials after this many seconds.
        settings: sampler and pruner settings.

    Returns:
        The study's trials, how many this worker ran, and the best trial.

    Raises:
        UserError: a bad space, budget, study name or storage URL, or a search folder that holds the
            trials of a study of that name in another storage (see :func:`~.study_record.check_study_folder`).
    """
    settings = settings or SearchSettings()
    folder = _search_folder(study_name)
    trials = _check_positive("--trials", trials)
    if timeout is not None and not timeout > 0:  # NaN too (it compares false with everything)
        raise UserError(f"--timeout must be > 0 seconds, got {timeout}")
    base = resolve_config(config)
    check_single_process(base)  # before a study or a trial is made
    dimensions = load_space(space, base)
    list_items(base["data"])  # a missing or empty dataset stops here, before a study or trial is made
    out_dir = Path(runs_dir) / folder
    if storage is not None and not storage.strip():
        raise UserError("--storage is empty: give a database URL, or leave it out for the SQLite file")
    url = storage or default_storage(out_dir)
    check_persistent(url)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    _trial_errors_in_one_line()
    quiet = not logging.getLogger("adaspec").isEnabledFor(logging.INFO)  # -q: Optuna's notes go too
    # Optuna's note on loading a study ("Using an existing study ...") is left out: a study of another
    # config is refused just after it, in one line; the note below says how many trials it holds.
    optuna.logging.set_verbosity(logging.WARNING)
    check_study_folder(url, study_name, out_dir, read_study_record(out_dir))  # before the lock's file
    lock = StudyLock(url, study_name)
    with lock.held():
        opened = open_storage(url, settings.heartbeat_seconds)
        record = read_study_record(out_dir)  # again: another worker may have written it meanwhile
        check_study_folder(url, study_name, out_dir, record, opened)
        study = _create_study(opened, study_name, settings)
        check_same_base(study, base, dimensions)
        record_study(opened, study, url, out_dir, record)
    optuna.logging.set_verbosity(logging.WARNING if quiet else logging.INFO)
    held = len(study.get_trials(deepcopy=False))
    if held:
        log.info("continuing study %r, which holds %d trial(s)", study_name, held)
    objective = _Objective(base, dimensions, out_dir, lock, settings.progress_bar)
    out_dir.mkdir(parents=True, exist_ok=True)
    log.info("study %r in %s: budget %d trials", study_name, display_url(url), trials)
    try:
        with objective.sigterm.installed():
            ran = _take_trials(study, objective, lock, trials, timeout, settings)
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C, SIGTERM
        if objective.sigterm.requested and objective.stopped is None:
            log.warning("search stopped by SIGTERM between trials; the same command goes on with the study")
        _finish(study, url, out_dir, base, objective.started)  # the trials so far are still reported
        raise
    except _TooManyFailures as stop:
        _finish(study, url, out_dir, base, stop.ran)  # the trials and their errors are still reported
        raise UserError(
            f"{stop} (see the log above, or the error column of {out_dir / TRIALS_CSV_FILE}); stopping this "
            "worker"
        ) from None
    return _finish(study, url, out_dir, base, ran)


def _take_trials(
    study: optuna.Study,
    objective: _Objective,
    lock: StudyLock,
    trials: int,
    timeout: float | None,
    settings: SearchSettings,
) -> int:
    """The worker's loop: take a trial while the study holds fewer than ``trials`` counted ones (resuming a
    stopped one first), then wait for the running ones. Returns how many trials this worker ran.

    Raises:
        _TooManyFailures: after :data:`MAX_FAILURES_IN_A_ROW` failed trials in a row.
    """
    ran = failures = 0
    start = time.monotonic()
    while timeout is None or time.monotonic() - start < timeout:
        lock.acquire()
        try:
            optuna.storages.fail_stale_trials(study)  # trials of killed workers end as failed
            active = study.get_trials(deepcopy=False, states=COUNTED_STATES)
            counted = len(active)
            running = sum(trial.state == TrialState.RUNNING for trial in active)
            finished: list[FrozenTrial] = []
            if counted < trials:
                stopped = resumable_trial(study, objective.out_dir)
                if stopped is not None:  # taken by the trial ``optimize`` starts now, under the lock
                    study.enqueue_trial(
                        stopped.params,
                        user_attrs={
                            RESUMES_ATTR: stopped.number,
                            RUN_DIR_ATTR: stopped.user_attrs[RUN_DIR_ATTR],
                        },
                    )
                with objective.sigterm.deferred():  # the objective itself stops at once
                    study.optimize(
                        objective,
                        n_trials=1,
                        catch=(RuntimeError,),
                        callbacks=[lambda _, trial, sink=finished: sink.append(trial)],
                        gc_after_trial=True,
                    )
                objective.sigterm.stop_if_requested()  # one that came while Optuna ended the trial
        finally:
            lock.release()
        if counted >= trials:
            if not running:
                break
            # The budget is taken, but other workers still run trials: wait for them, so that a trial whose
            # worker died (it goes stale) is failed and replaced here, and the report below is complete.
            time.sleep(min(settings.heartbeat_seconds, WAIT_SECONDS))
            continue
        ran += 1
        failures = failures + 1 if finished and finished[-1].state == TrialState.FAIL else 0
        if failures >= MAX_FAILURES_IN_A_ROW:
            raise _TooManyFailures(ran, failures)
    return ran


class _TooManyFailures(Exception):
    """A worker's trials failed :data:`MAX_FAILURES_IN_A_ROW` times in a row."""

    def __init__(self, ran: int, failures: int) -> None:
        super().__init__(f"{failures} trials in a row failed")
        self.ran = ran


def _finish(study: optuna.Study, url: str, out_dir: Path, base: Mapping[str, Any], ran: int) -> SearchResult:
    all_trials = study.get_trials(deepcopy=False)
    completed = [t for t in all_trials if t.state == TrialState.COMPLETE]
    best = max(completed, key=lambda t: (t.value, -t.number)) if completed else None
    result = SearchResult(study.study_name, display_url(url), out_dir, all_trials, ran, best)
    if best is not None:
        result.files["best config"] = save_config(apply_params(base, best.params), out_dir / BEST_CONFIG_FILE)
    result.files["trials"] = write_trials_csv(out_dir / TRIALS_CSV_FILE, all_trials)
    markdown = out_dir / MARKDOWN_FILE
    write_text_atomic(markdown, format_search(result) + "\n")
    result.files["summary"] = markdown
    return result


def _ranked(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """Completed trials best first, then pruned ones by their last reported accuracy."""

    def score(trial: FrozenTrial) -> float:
        if trial.state == TrialState.COMPLETE and trial.value is not None:
            return trial.value
        values = trial.intermediate_values
        return values[max(values)] if values else -math.inf

    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    return sorted(finished, key=lambda t: (t.state != TrialState.COMPLETE, -score(t), t.number))


def _format_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def format_trials_table(trials: Sequence[FrozenTrial], top: int = 10) -> str:
    """Markdown table of the ``top`` finished trials: number, state, accuracy, epochs, parameters."""
    ranked = _ranked(trials)[:top]
    keys = sorted({key for trial in ranked for key in trial.params})
    header = ["trial", "state", "val acc (file)", "epochs", *keys]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for trial in ranked:
        values = trial.intermediate_values
        accuracy = (
            trial.value if trial.state == TrialState.COMPLETE else values[max(values)] if values else None
        )
        cells = [
            str(trial.number),
            trial.state.name.lower(),
            "-" if accuracy is None else f"{accuracy:.4f}",
            str(len(values)),
            *(_format_value(trial.params.get(key, "-")) for key in keys),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_search(result: SearchResult) -> str:
    """Human summary: the counts, the best trial and its config file, the table of top trials."""
    counts = ", ".join(
        f"{result.count(state)} {state.name.lower()}"
        for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
    )
    lines = [
        f"# Search {result.study_name!r}",
        "",
        f"- storage: {result.storage}",
        f"- trials: {len(result.trials)} ({counts}); this worker ran {result.ran}",
    ]
    if result.best is None:
        lines.append("- best: no completed trial yet")
    else:
        params = ", ".join(f"{k}={_format_value(v)}" for k, v in result.best.params.items())
        folder = run_folder(result.best, result.out_dir)
        where = f" in {folder}" if folder is not None else ""  # a resumed trial's is the stopped one's
        lines.append(
            f"- best: trial {result.best.number}{where}, val file accuracy {result.best.value:.4f} ({params})"
        )
        if "best config" in result.files:
            lines.append(f"- best config: {result.files['best config']} (train it with `adaspec train`)")
    lines += ["", format_trials_table(result.trials)]
    return "\n".join(lines)


def write_trials_csv(path: Path, trials: Sequence[FrozenTrial]) -> Path:
    """Every trial of the study: number, state, value, best epoch, run folder, the stopped trial it resumes,
    worker, the error it failed with, and parameters; written atomically (workers rewrite it as they
    finish)."""
    keys = sorted({key for trial in trials for key in trial.params})
    fixed = ["number", "state", "value", "epochs", "best_epoch", "run_dir", "resumes", "worker", "error"]
    columns = [*fixed, *keys]
    handle = io.StringIO()
    writer = csv.DictWriter(handle, fieldnames=columns)
    writer.writeheader()
    for trial in sorted(trials, key=lambda t: t.number):
        writer.writerow(
            {
                "number": trial.number,
                "state": trial.state.name.lower(),
                "value": "" if trial.value is None else trial.value,
                "epochs": len(trial.intermediate_values),
                "best_epoch": trial.user_attrs.get("best_epoch", ""),
                "run_dir": trial.user_attrs.get(RUN_DIR_ATTR, ""),
                "resumes": trial.user_attrs.get(RESUMES_ATTR, ""),
                "worker": trial.user_attrs.get("worker", ""),
                "error": trial.user_attrs.get(ERROR_ATTR, ""),
                **{key: trial.params.get(key, "") for key in keys},
            }
        )
    return write_text_atomic(path, handle.getvalue())
