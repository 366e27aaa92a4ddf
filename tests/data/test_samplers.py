"""Distributed sharding of the training sampler and the evaluation batch sampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adaspec.data import EpochShuffleSampler, GroupedPartsBatchSampler, PartsDataset, WaveSource
from adaspec.data.sources import AudioItem


@pytest.mark.parametrize("n_items, replicas", [(10, 1), (10, 2), (11, 2), (7, 3), (2, 4)])
def test_shards_cover_every_item_with_equal_lengths(n_items: int, replicas: int) -> None:
    shards = [
        list(EpochShuffleSampler(n_items, seed=3, epoch=5, num_replicas=replicas, rank=rank))
        for rank in range(replicas)
    ]
    lengths = {len(shard) for shard in shards}
    assert lengths == {-(-n_items // replicas)}  # ceil: every process runs the same number of steps
    indices = [index for shard in shards for index, _ in shard]
    assert sorted(set(indices)) == list(range(n_items))
    assert len(indices) - n_items == (-n_items) % replicas  # only the padding repeats items
    assert all(epoch == 5 for shard in shards for _, epoch in shard)


def test_one_replica_is_the_seeded_permutation() -> None:
    sampler = EpochShuffleSampler(9, seed=1, epoch=2)
    expected = np.random.default_rng([1, 2]).permutation(9).tolist()
    assert [index for index, _ in sampler] == expected


@pytest.mark.parametrize("replicas, rank", [(0, 0), (2, 2), (2, -1)])
def test_bad_rank_raises(replicas: int, rank: int) -> None:
    with pytest.raises(ValueError, match=r"rank|num_replicas"):
        EpochShuffleSampler(4, seed=0, num_replicas=replicas, rank=rank)


def _parts_dataset(lengths: list[int], n_parts: int = 2) -> PartsDataset:
    items = [AudioItem(path=Path(f"f{i}.wav"), label="a") for i in range(len(lengths))]
    waves = [np.zeros(length, dtype=np.float32) for length in lengths]
    source = WaveSource(items, 8000, waves=waves)
    return PartsDataset(source, [0] * len(lengths), n_parts, min_length=4)


@pytest.mark.parametrize("replicas", [1, 2, 3])
def test_eval_shards_hold_every_file_exactly_once(replicas: int) -> None:
    dataset = _parts_dataset([8, 8, 8, 12, 12, 16, 8])
    shards = [
        list(GroupedPartsBatchSampler(dataset, max_parts=4, num_replicas=replicas, rank=rank))
        for rank in range(replicas)
    ]
    files = sorted(i for shard in shards for batch in shard for i in batch)
    assert files == list(range(len(dataset)))
    assert all(shard for shard in shards)  # every process has at least one batch to take part in gathers
    for shard in shards:
        for batch in shard:
            assert len({dataset.part_length(i) for i in batch}) == 1


def test_fewer_batches_than_replicas_are_split_into_files() -> None:
    dataset = _parts_dataset([8, 8, 8])
    shards = [list(GroupedPartsBatchSampler(dataset, 64, num_replicas=3, rank=r)) for r in range(3)]
    assert shards == [[[0]], [[1]], [[2]]]


def test_fewer_files_than_replicas_raises() -> None:
    with pytest.raises(ValueError, match="at least one file per process"):
        GroupedPartsBatchSampler(_parts_dataset([8]), 64, num_replicas=2, rank=1)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_items": -1}, "n_items"),
        ({"n_items": 2.5}, "n_items"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),  # was truncated to 1 silently
        ({"seed": "3"}, "seed"),
        ({"epoch": -2}, "epoch"),
    ],
)
def test_bad_sampler_arguments_are_named(kwargs: dict, name: str) -> None:
    arguments = {"n_items": 4, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=rf"^{name} must be a non-negative integer, got "):
        EpochShuffleSampler(**arguments)
    sampler = EpochShuffleSampler(4, seed=0)
    with pytest.raises(ValueError, match=r"^epoch must be a non-negative integer, got 1\.5"):
        sampler.set_epoch(1.5)
