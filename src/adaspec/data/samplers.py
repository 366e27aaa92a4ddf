"""Samplers whose order depends only on (seed, epoch), so a resumed run sees the same batches.

Both are distributed-aware: given ``num_replicas`` processes and this one's ``rank``, each process gets a
disjoint share, and the shares together cover every item.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

from .._validation import check_non_negative_int, check_positive_int


def check_rank(num_replicas: int, rank: int) -> tuple[int, int]:
    """Validate a process count and a rank.

    Raises:
        ValueError: ``num_replicas`` < 1 or ``rank`` outside ``[0, num_replicas)``.
    """
    num_replicas = check_positive_int("num_replicas", num_replicas)
    rank = check_non_negative_int("rank", rank)
    if rank >= num_replicas:
        raise ValueError(f"rank must be in [0, num_replicas={num_replicas}), got {rank}")
    return num_replicas, rank


class EpochShuffleSampler(Sampler[tuple[int, int]]):
    """A fresh permutation per epoch, drawn from ``default_rng([seed, epoch])``.

    Yields ``(index, epoch)`` pairs: the dataset reads the epoch from the key it is given, so the
    crop and augmentation of an item do not depend on worker processes or on shared state. Lightning
    calls :meth:`set_epoch` at the start of every epoch.

    With ``num_replicas`` > 1 (distributed training) the permutation is padded with its own first items to
    a multiple of ``num_replicas`` (as ``torch.utils.data.DistributedSampler`` does, so every process runs
    the same number of steps) and process ``rank`` takes every ``num_replicas``-th item from ``rank`` on.

    Args:
        n_items: dataset length.
        seed: base seed.
        epoch: first epoch (set it to the resumed epoch when the iterator is created before
            :meth:`set_epoch` is called).
        num_replicas: number of processes sharing the epoch.
        rank: this process's index among them.
    """

    def __init__(self, n_items: int, seed: int, epoch: int = 0, num_replicas: int = 1, rank: int = 0) -> None:
        self.n_items = check_non_negative_int("n_items", n_items)
        self.seed = check_non_negative_int("seed", seed)
        self.epoch = check_non_negative_int("epoch", epoch)
        self.num_replicas, self.rank = check_rank(num_replicas, rank)

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch``."""
        self.epoch = check_non_negative_int("epoch", epoch)

    def __len__(self) -> int:
        return -(-self.n_items // self.num_replicas)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n_items)
        if self.num_replicas > 1 and self.n_items:
            padded = len(self) * self.num_replicas
            order = np.resize(order, padded)[self.rank :: self.num_replicas]
        return iter([(int(i), epoch) for i in order])
