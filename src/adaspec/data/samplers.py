"""Samplers whose order depends only on (seed, epoch), so a resumed run sees the same batches."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class EpochShuffleSampler(Sampler[tuple[int, int]]):
    """A fresh permutation per epoch, drawn from ``default_rng([seed, epoch])``.

    Yields ``(index, epoch)`` pairs: the dataset reads the epoch from the key it is given, so the
    crop and augmentation of an item do not depend on worker processes or on shared state. Lightning
    calls :meth:`set_epoch` at the start of every epoch.

    Args:
        n_items: dataset length.
        seed: base seed.
        epoch: first epoch (set it to the resumed epoch when the iterator is created before
            :meth:`set_epoch` is called).
    """

    def __init__(self, n_items: int, seed: int, epoch: int = 0) -> None:
        self.n_items = int(n_items)
        self.seed = int(seed)
        self.epoch = int(epoch)

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch``."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n_items

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n_items)
        return iter([(int(i), epoch) for i in order])
