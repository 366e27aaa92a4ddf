"""torch Datasets: random training crops, and whole files cut into parts for split-and-vote evaluation."""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .._validation import check_positive_int
from .audio import audio_frames, load_audio, resampled_length
from .augment import WaveformAugmentFn
from .cropping import fit_length, part_length, random_crop, split_parts
from .samplers import check_rank
from .sources import AudioItem


def _check_non_negative(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _index(i: int, size: int) -> int:
    i = operator.index(i)
    if not -size <= i < size:
        raise IndexError(f"index {i} is out of range for {size} items")
    return i % size


class WaveSource:
    """Waveforms of a list of items: from a cache (``waves``) or decoded on demand.

    Args:
        items: the items.
        sample_rate: rate of the waveforms in Hz.
        waves: decoded waveforms aligned with ``items`` (e.g. ``ScanResult.waves``), or ``None``.
    """

    def __init__(
        self, items: Sequence[AudioItem], sample_rate: int, waves: Sequence[np.ndarray] | None = None
    ) -> None:
        self.items = list(items)
        self.sample_rate = check_positive_int("sample_rate", sample_rate)
        if waves is not None and len(waves) != len(self.items):
            raise ValueError(f"waves must be aligned with items ({len(self.items)}), got {len(waves)} waves")
        self.waves = None if waves is None else list(waves)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> np.ndarray:
        i = _index(i, len(self))
        if self.waves is not None:
            return self.waves[i]
        return load_audio(self.items[i].path, self.sample_rate)

    def n_samples(self, i: int) -> int:
        """Length of wave ``i`` in samples: from the cache, else from the file header (no decoding)."""
        i = _index(i, len(self))
        if self.waves is not None:
            return len(self.waves[i])
        frames, rate = audio_frames(self.items[i].path)
        return resampled_length(frames, rate, self.sample_rate)


def _check_labels(labels: Sequence[int], source: WaveSource) -> list[int]:
    if len(labels) != len(source):
        raise ValueError(f"labels must have one entry per item ({len(source)}), got {len(labels)}")
    return [int(label) for label in labels]


class CropDataset(Dataset):
    """Random fixed-length crops for training: ``dataset[i] -> (FloatTensor (clip_samples,), label)``.

    The crop offset and the augmentation draw from ``np.random.default_rng([seed, epoch, i])``, so an item
    depends only on ``(seed, epoch, i)``, never on worker count or order. The epoch is either set with
    :meth:`set_epoch` (before the DataLoader starts its workers; persistent workers keep the old one) or
    carried in the key: ``dataset[(i, epoch)]``, as yielded by ``EpochShuffleSampler``. Waves shorter
    than ``clip_samples`` are padded with trailing zeros.

    Args:
        source: the waveforms.
        labels: class index per item.
        clip_samples: crop length in samples.
        seed: base seed.
        augment: optional ``augment(wave, rng) -> wave`` (see :func:`build_waveform_augment`).
    """

    def __init__(
        self,
        source: WaveSource,
        labels: Sequence[int],
        clip_samples: int,
        seed: int,
        augment: WaveformAugmentFn | None = None,
    ) -> None:
        self.source = source
        self.labels = _check_labels(labels, source)
        self.clip_samples = check_positive_int("clip_samples", clip_samples)
        self.seed = _check_non_negative("seed", seed)
        self.augment = augment
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose crops and augmentations :meth:`__getitem__` returns."""
        self.epoch = _check_non_negative("epoch", epoch)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        """Item ``i`` of the current epoch, or of ``epoch`` for a key ``(i, epoch)``."""
        if isinstance(key, tuple):
            i, epoch = key
            epoch = _check_non_negative("epoch", epoch)
        else:
            i, epoch = key, self.epoch
        i = _index(i, len(self))
        rng = np.random.default_rng([self.seed, epoch, i])
        clip = random_crop(self.source[i], self.clip_samples, rng)
        if self.augment is not None:
            clip = self.augment(clip, rng)
        return torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32)), self.labels[i]


class PartsDataset(Dataset):
    """Whole files cut into equal parts: ``dataset[i] -> (FloatTensor (n_parts, part_len), label, i)``.

    See :func:`split_parts` (short files are padded to ``min_length`` with trailing zeros). The wave is
    first fitted to the length the header announces, so :meth:`part_length` (used to group files into
    batches) always matches the parts returned.

    Args:
        source: the waveforms.
        labels: class index per item.
        n_parts: parts per file.
        min_length: shortest wave in samples before cutting (e.g. the training clip length).
    """

    def __init__(self, source: WaveSource, labels: Sequence[int], n_parts: int, min_length: int) -> None:
        self.source = source
        self.labels = _check_labels(labels, source)
        self.n_parts = check_positive_int("n_parts", n_parts)
        self.min_length = check_positive_int("min_length", min_length)
        self._n_samples: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.source)

    def _length(self, i: int) -> int:
        if i not in self._n_samples:
            self._n_samples[i] = self.source.n_samples(i)
        return self._n_samples[i]

    def part_length(self, i: int) -> int:
        """Samples per part of file ``i``, from the cache or the file header (no decoding)."""
        i = _index(i, len(self))
        return part_length(self._length(i), self.n_parts, self.min_length)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        i = _index(i, len(self))
        wave = self.source[i]
        expected = self._length(i)
        if len(wave) != expected:  # a header that misjudges the length (e.g. some MP3s)
            wave = fit_length(wave, expected)
        parts = split_parts(wave, self.n_parts, self.min_length)
        return torch.from_numpy(np.ascontiguousarray(parts, dtype=np.float32)), self.labels[i], i


class GroupedPartsBatchSampler(Sampler[list[int]]):
    """Batches of file indices whose parts have equal length, for :func:`collate_parts`.

    Files are ordered by ``(part_length, index)`` and cut into batches of at most ``max_parts`` parts
    (``max_parts // n_parts`` files, at least one), never mixing part lengths. Deterministic.

    With ``num_replicas`` > 1 (distributed evaluation) process ``rank`` takes every ``num_replicas``-th
    batch from ``rank`` on: whole files only, each file in exactly one process, none padded or repeated.
    When there are fewer batches than processes, batches are split into single files first.

    Args:
        dataset: the parts dataset.
        max_parts: largest number of parts in a batch.
        num_replicas: number of processes sharing the evaluation.
        rank: this process's index among them.

    Raises:
        ValueError: ``max_parts`` < 1, a bad rank, or fewer files than processes (a process without a
            batch would not take part in gathering the results).
    """

    def __init__(self, dataset: PartsDataset, max_parts: int, num_replicas: int = 1, rank: int = 0) -> None:
        self.max_parts = check_positive_int("max_parts", max_parts)
        self.num_replicas, self.rank = check_rank(num_replicas, rank)
        if len(dataset) < self.num_replicas:
            raise ValueError(
                f"evaluation needs at least one file per process: {len(dataset)} files, "
                f"num_replicas={self.num_replicas}"
            )
        files_per_batch = max(1, self.max_parts // dataset.n_parts)
        order = sorted(range(len(dataset)), key=lambda i: (dataset.part_length(i), i))
        batches: list[list[int]] = []
        current: list[int] = []
        for i in order:
            if current and (
                len(current) == files_per_batch or dataset.part_length(current[0]) != dataset.part_length(i)
            ):
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        if len(batches) < self.num_replicas:
            batches = [[i] for batch in batches for i in batch]
        self.batches = batches[self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            yield list(batch)

    def __len__(self) -> int:
        return len(self.batches)


def collate_parts(
    batch: Sequence[tuple[torch.Tensor, int, int]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Concatenate the parts of several files of equal part length.

    Returns:
        ``parts (sum of n_parts, part_len)`` float, ``labels (n_files,)``, ``file_index (n_files,)`` and
        ``n_parts (n_files,)``, the last three long.

    Raises:
        ValueError: on an empty batch or files with different part lengths.
    """
    if not batch:
        raise ValueError("batch must hold at least one file, got an empty batch")
    lengths = {parts.shape[-1] for parts, _, _ in batch}
    if len(lengths) != 1:
        raise ValueError(
            f"batch mixes part lengths {sorted(lengths)}; group files with GroupedPartsBatchSampler"
        )
    parts = torch.cat([p for p, _, _ in batch], dim=0)
    labels = torch.tensor([label for _, label, _ in batch], dtype=torch.long)
    file_index = torch.tensor([index for _, _, index in batch], dtype=torch.long)
    n_parts = torch.tensor([p.shape[0] for p, _, _ in batch], dtype=torch.long)
    return parts, labels, file_index, n_parts
