"""Lightning data module: random crops for training, split-and-vote batches for evaluation."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.seed import pl_worker_init_function
from torch.utils.data import Dataset, get_worker_info
from torch.utils.data.dataloader import default_collate

from ..config import clip_samples
from ..data import (
    CropDataset,
    GroupedPartsBatchSampler,
    PartsDataset,
    WaveSource,
    build_waveform_augment,
    collate_parts,
)
from ..data.samplers import EpochShuffleSampler
from ..errors import ConfigError, FileProblem, UserError, plural
from .catalog import Catalog, SplitData, build_catalog
from .worker_start import WorkerSafeDataLoader


def init_worker(worker_id: int, rank: int = 0) -> None:
    """``worker_init_fn`` of the run's loaders: seeds the worker as Lightning's own ``worker_init_fn`` does
    (a loader with a ``worker_init_fn`` does not get Lightning's). The loaders are
    :class:`~.worker_start.WorkerSafeDataLoader`, whose workers leave Ctrl-C and SIGTERM sent to the whole
    process group (a terminal, ``timeout``) to the main process, which stops after the current batch and
    shuts its workers down.
    """
    if int(os.environ.get("PL_SEED_WORKERS", 0)):
        pl_worker_init_function(worker_id, rank=rank)


@dataclass(frozen=True)
class LoadFailure:
    """A file that a loader worker could not read, sent to the main process in place of its batch.

    PyTorch raises a worker's exception again in the main process by calling its class with one message
    holding the worker's traceback; a :class:`~adaspec.errors.FileProblem` needs a path and a reason, so
    it arrived as a ``RuntimeError`` with that traceback instead of one line naming the file.
    """

    error: FileProblem


class FileCheckedDataset(Dataset):
    """A dataset of the run whose items read a file that may have changed or gone since the scan (with
    ``data.cache=false`` files are decoded again every epoch): such a file's error says so, and in a
    loader worker it becomes a :class:`LoadFailure` for :class:`FileCheckedCollate` to pass on.

    Args:
        dataset: the dataset (``CropDataset`` or ``PartsDataset``); its attributes stay reachable.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, key: Any) -> Any:
        try:
            return self.dataset[key]
        except FileProblem as err:
            note = "it could be used when the dataset was scanned: it changed or went away since"
            error = type(err)(err.path, f"{err.reason} ({note})")
            if get_worker_info() is None:
                raise error from None
            return LoadFailure(error)


class FileCheckedCollate:
    """A loader's ``collate_fn`` that passes a batch's first :class:`LoadFailure` on instead of collating.

    Args:
        collate: the collate function of the batches that load.
    """

    def __init__(self, collate: Callable[[list[Any]], Any] = default_collate) -> None:
        self.collate = collate

    def __call__(self, batch: list[Any]) -> Any:
        for item in batch:
            if isinstance(item, LoadFailure):
                return item
        return self.collate(batch)


def _raising_failures(batches: Iterator[Any]) -> Iterator[Any]:
    """The batches, raising the error of a :class:`LoadFailure` in their place."""
    for batch in batches:
        if isinstance(batch, LoadFailure):
            break
        yield batch
    else:
        return
    # The error's traceback holds this frame: drop the loader's iterator first, so that it shuts its
    # workers down now rather than whenever the garbage collector finds the cycle.
    error = batch.error
    del batch, batches
    raise error


class RunDataLoader(WorkerSafeDataLoader):
    """The run's loaders: a file that a worker cannot read stops the loop with the file's own error
    (:class:`~adaspec.errors.FileProblem`, one line at the command line), as it does without workers.
    Give it a :class:`FileCheckedDataset` and a :class:`FileCheckedCollate`."""

    def __iter__(self) -> Iterator[Any]:
        return _raising_failures(super().__iter__())


class AudioDataModule(L.LightningDataModule):
    """Data of one run, built from the resolved config.

    Training batches are ``(waves (B, clip), labels (B,))``: one random crop of ``data.clip_seconds`` per
    file per epoch, augmented when ``augment.enabled``. Evaluation batches come from
    :func:`~adaspec.data.collate_parts`: every file cut into ``eval.n_parts`` equal parts. Under a
    distributed strategy each process loads its own share (the trainer is built with
    ``use_distributed_sampler=False``: these samplers split the data themselves, keeping files whole).

    Args:
        config: the resolved run config.
        class_names: fixed classes (evaluation of a trained model); ``None`` derives them from the data.
        splits: splits to load (all when empty).
        catalog: an already scanned catalog to reuse instead of scanning again.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        class_names: list[str] | None = None,
        splits: tuple[str, ...] = (),
        catalog: Catalog | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self._class_names = class_names
        self._splits = splits
        self.catalog = catalog

    def setup(self, stage: str | None = None) -> None:
        """Scan the dataset once (later calls reuse the result)."""
        if self.catalog is None:
            self.catalog = build_catalog(
                self.config["data"], self.config["seed"], class_names=self._class_names, splits=self._splits
            )

    @property
    def class_names(self) -> list[str]:
        """Sorted class names (scans the dataset on first use)."""
        self.setup()
        assert self.catalog is not None
        return self.catalog.class_names

    def split(self, name: str) -> SplitData:
        """The files of one split.

        Raises:
            UserError: when the split has no file.
        """
        self.setup()
        assert self.catalog is not None
        if name not in self.catalog.splits or not self.catalog.splits[name].items:
            raise UserError(f"the dataset has no file in split {name!r}")
        return self.catalog.splits[name]

    @property
    def sample_rate(self) -> int:
        return int(self.config["data"]["sample_rate"])

    @property
    def clip_samples(self) -> int:
        return clip_samples(self.config["data"])

    def _generator(self) -> torch.Generator:
        # Loaders draw their worker base seed from this generator instead of torch's global RNG, so the
        # model's random stream (dropout, masking) does not depend on when loaders are (re)created.
        return torch.Generator().manual_seed(int(self.config["seed"]))

    def _worker_init(self) -> functools.partial[None]:
        return functools.partial(init_worker, rank=self._replicas()[1])

    def _replicas(self) -> tuple[int, int]:
        """``(world_size, global_rank)`` of the attached trainer; ``(1, 0)`` without one."""
        if self.trainer is None:
            return 1, 0
        return int(self.trainer.world_size), int(self.trainer.global_rank)

    def _source(self, split: SplitData) -> WaveSource:
        return WaveSource(split.items, self.sample_rate, waves=split.waves)

    def train_dataloader(self) -> RunDataLoader:
        split = self.split("train")
        data_cfg = self.config["data"]
        augment = build_waveform_augment(self.config["augment"], self.sample_rate)
        dataset = CropDataset(
            self._source(split), split.labels, self.clip_samples, seed=self.config["seed"], augment=augment
        )
        # Lightning creates the first iterator (and its workers prefetch) before it calls set_epoch, so the
        # sampler must start at the epoch about to run: the one Lightning will pass to set_epoch.
        first_epoch = (
            self.trainer.fit_loop.epoch_progress.current.processed if self.trainer is not None else 0
        )
        world_size, rank = self._replicas()
        sampler = EpochShuffleSampler(
            len(dataset), seed=self.config["seed"], epoch=first_epoch, num_replicas=world_size, rank=rank
        )
        batch_size = data_cfg["batch_size"]
        return RunDataLoader(
            FileCheckedDataset(dataset),
            batch_size=batch_size,
            sampler=sampler,
            collate_fn=FileCheckedCollate(),
            num_workers=data_cfg["num_workers"],
            persistent_workers=data_cfg["num_workers"] > 0,
            worker_init_fn=self._worker_init(),
            generator=self._generator(),
            # A last batch of one example breaks BatchNorm in training mode.
            drop_last=len(sampler) % batch_size == 1 and len(sampler) > batch_size,
        )

    def check_files_per_process(self, name: str, world_size: int) -> None:
        """Refuse a split with fewer files than processes (each evaluates whole files).

        Raises:
            UserError: naming the split and both counts.
        """
        count = len(self.split(name).items)
        if count < world_size:
            raise UserError(
                f"split {name!r} has {count} {plural(count, 'file')}, fewer than the {world_size} training "
                f"{plural(world_size, 'process')}"
            )

    def check_part_lengths(self, name: str, frontends: Sequence[torch.nn.Module]) -> None:
        """Refuse an ``eval.n_parts`` that cuts a file of split ``name`` into parts too short for a front-end
        (the shortest file gives the shortest parts; files shorter than a clip are padded to one), before
        training starts instead of at its first validation. File lengths come from the cache or the
        headers; nothing is decoded.

        Raises:
            ConfigError: on ``eval.n_parts``, naming the file, its part length and the front-end's reason.
        """
        split = self.split(name)
        n_parts = self.config["eval"]["n_parts"]
        dataset = PartsDataset(self._source(split), split.labels, n_parts, min_length=self.clip_samples)
        if not len(dataset):
            return
        shortest = min(range(len(dataset)), key=dataset.part_length)
        length = dataset.part_length(shortest)
        for frontend in frontends:
            try:
                with torch.no_grad():
                    frontend(torch.zeros(1, length))
            except ValueError as err:
                where = f"{split.items[shortest].path} ({name} split)"
                raise ConfigError(
                    "eval.n_parts",
                    f"{n_parts} parts of {where} are {length} samples each, too short for the front-end "
                    f"({err}); use fewer parts, or longer clips (data.clip_seconds; shorter files are padded "
                    "to a clip)",
                ) from None

    def eval_dataloader(self, name: str) -> RunDataLoader:
        """Split-and-vote loader of split ``name``: batches of whole files with equal part length (in
        distributed runs, this process's share of the files; the module gathers the shares).

        Raises:
            UserError: the split has no file, or fewer files than processes.
        """
        split = self.split(name)
        dataset = PartsDataset(
            self._source(split), split.labels, self.config["eval"]["n_parts"], min_length=self.clip_samples
        )
        world_size, rank = self._replicas()
        self.check_files_per_process(name, world_size)
        sampler = GroupedPartsBatchSampler(
            dataset, max_parts=self.config["eval"]["max_parts_per_batch"], num_replicas=world_size, rank=rank
        )
        return RunDataLoader(
            FileCheckedDataset(dataset),
            batch_sampler=sampler,
            collate_fn=FileCheckedCollate(collate_parts),
            num_workers=self.config["data"]["num_workers"],
            worker_init_fn=self._worker_init(),
            generator=self._generator(),
        )

    def val_dataloader(self) -> RunDataLoader:
        return self.eval_dataloader("val")

    def test_dataloader(self) -> RunDataLoader:
        return self.eval_dataloader("test")
