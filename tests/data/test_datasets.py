"""Datasets: waves from files or cache, reproducible crops, parts grouped by length into batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
from torch.utils.data import DataLoader

from adaspec.data import (
    AudioItem,
    CropDataset,
    GroupedPartsBatchSampler,
    PartsDataset,
    WaveSource,
    build_waveform_augment,
    collate_parts,
)
from tests.data.audio_files import write, write_tone


def _ramp_source(lengths: list[int]) -> WaveSource:
    """Cached waves where sample k of wave i is ``1000 * i + k`` (so a crop tells where it came from)."""
    waves = [1000.0 * i + np.arange(n, dtype=np.float32) for i, n in enumerate(lengths)]
    items = [AudioItem(Path(f"/nowhere/{i}.wav"), "a") for i in range(len(lengths))]
    return WaveSource(items, 16000, waves=waves)


def test_wave_source_decodes_or_serves_the_cache(tmp_path):
    path = write_tone(tmp_path / "a.wav", sample_rate=22050, subtype="FLOAT")
    item = AudioItem(path, "a")
    decoded = WaveSource([item], 16000)[0]
    expected = soxr.resample(sf.read(path, dtype="float32")[0], 22050, 16000, quality="HQ")
    np.testing.assert_allclose(decoded, expected, atol=1e-6)
    cached = np.zeros(3, dtype=np.float32)
    assert WaveSource([item], 16000, waves=[cached])[0] is cached
    assert len(WaveSource([item, item], 16000)) == 2


def test_wave_source_errors():
    with pytest.raises(ValueError, match=r"waves must be aligned with items \(1\)"):
        WaveSource([AudioItem(Path("/x.wav"), "a")], 16000, waves=[])
    with pytest.raises(ValueError, match="sample_rate"):
        WaveSource([], -1)
    with pytest.raises(IndexError):
        _ramp_source([5])[1]


@pytest.mark.parametrize(
    ("rate", "frames"), [(16000, 4000), (44100, 3001), (22050, 1103), (8000, 777), (48000, 30)]
)
def test_header_length_equals_decoded_length(tmp_path, rate, frames):
    path = write(tmp_path / "a.flac", np.zeros((frames, 2)), rate)
    source = WaveSource([AudioItem(path, "a")], 16000)
    assert source.n_samples(0) == source[0].size


def test_crop_dataset_shapes_and_slices():
    dataset = CropDataset(_ramp_source([50, 8, 3]), labels=[2, 0, 1], clip_samples=8, seed=0)
    for i, label in enumerate([2, 0, 1]):
        clip, got = dataset[i]
        assert clip.dtype == torch.float32 and clip.shape == (8,) and got == label
    clip = dataset[0][0].numpy()
    np.testing.assert_array_equal(clip, clip[0] + np.arange(8))
    np.testing.assert_array_equal(dataset[1][0].numpy(), 1000 + np.arange(8))
    np.testing.assert_array_equal(dataset[2][0].numpy(), [2000, 2001, 2002, 0, 0, 0, 0, 0])


def test_crop_offset_comes_from_seed_epoch_index():
    dataset = CropDataset(_ramp_source([100] * 4), labels=[0] * 4, clip_samples=10, seed=5)
    dataset.set_epoch(3)
    for i in range(4):
        expected = int(np.random.default_rng([5, 3, i]).integers(0, 91))
        assert dataset[i][0][0].item() == 1000 * i + expected


def test_crops_depend_only_on_seed_epoch_index():
    def crops(seed, epoch, order):
        dataset = CropDataset(_ramp_source([400] * 6), labels=[0] * 6, clip_samples=16, seed=seed)
        dataset.set_epoch(epoch)
        return {i: dataset[i][0][0].item() for i in order}

    base = crops(0, 0, range(6))
    assert base == crops(0, 0, reversed(range(6)))
    assert base != crops(0, 1, range(6))
    assert base != crops(1, 0, range(6))


def test_epoch_in_the_key_overrides_set_epoch():
    dataset = CropDataset(_ramp_source([300] * 3), labels=[0] * 3, clip_samples=16, seed=1)
    dataset.set_epoch(4)
    at_four = dataset[2][0]
    dataset.set_epoch(0)
    torch.testing.assert_close(dataset[(2, 4)][0], at_four, rtol=0, atol=0)
    assert dataset[(2, 4)][1] == 0
    with pytest.raises(ValueError, match="epoch"):
        dataset[(2, -1)]


def test_crops_same_with_or_without_workers(tmp_path):
    items = [AudioItem(write_tone(tmp_path / f"{i}.wav", seconds=0.1 + 0.05 * i), "a") for i in range(4)]
    augment = build_waveform_augment({"enabled": True, "noise_p": 1.0, "gain_p": 1.0}, 16000)
    dataset = CropDataset(
        WaveSource(items, 16000), labels=[0, 1, 0, 1], clip_samples=1000, seed=3, augment=augment
    )
    dataset.set_epoch(2)
    serial = torch.cat([clip for clip, _ in DataLoader(dataset, batch_size=2)])
    parallel = torch.cat([clip for clip, _ in DataLoader(dataset, batch_size=2, num_workers=2)])
    torch.testing.assert_close(serial, parallel, rtol=0, atol=0)


def test_augmentation_is_reproducible_per_epoch():
    augment = build_waveform_augment({"enabled": True, "noise_p": 1.0}, 16000)
    dataset = CropDataset(_ramp_source([300, 300]), labels=[0, 1], clip_samples=64, seed=0, augment=augment)
    first = dataset[1][0]
    torch.testing.assert_close(first, dataset[1][0], rtol=0, atol=0)
    dataset.set_epoch(1)
    assert not torch.equal(first, dataset[1][0])


def test_crop_dataset_errors():
    source = _ramp_source([10, 10])
    with pytest.raises(ValueError, match=r"labels must have one entry per item \(2\)"):
        CropDataset(source, [0], 4, seed=0)
    with pytest.raises(ValueError, match="clip_samples"):
        CropDataset(source, [0, 0], 0, seed=0)
    with pytest.raises(ValueError, match="seed"):
        CropDataset(source, [0, 0], 4, seed=-1)
    with pytest.raises(ValueError, match="epoch"):
        CropDataset(source, [0, 0], 4, seed=0).set_epoch(-1)


def test_parts_dataset_items():
    dataset = PartsDataset(_ramp_source([10, 4]), labels=[3, 4], n_parts=3, min_length=6)
    parts, label, index = dataset[0]
    assert parts.dtype == torch.float32 and (label, index) == (3, 0)
    np.testing.assert_array_equal(parts.numpy(), [[0, 1, 2], [3, 4, 5], [7, 8, 9]])
    parts, label, index = dataset[1]
    np.testing.assert_array_equal(parts.numpy(), [[1000, 1001], [1002, 1003], [0, 0]])
    assert [dataset.part_length(i) for i in range(2)] == [3, 2]


def test_part_length_from_header_matches_the_parts(tmp_path):
    rates_frames = [(16000, 16000), (44100, 22051), (22050, 5000), (8000, 100)]
    items = [
        AudioItem(write(tmp_path / f"{k}.wav", np.zeros((n, 1)), r), "a")
        for k, (r, n) in enumerate(rates_frames)
    ]
    dataset = PartsDataset(WaveSource(items, 16000), labels=[0] * 4, n_parts=4, min_length=1000)
    for i, (rate, frames) in enumerate(rates_frames):
        resampled = int(frames / (rate / 16000) + 0.5)  # libsoxr's output length
        assert dataset.part_length(i) == max(resampled, 1000) // 4 == dataset[i][0].shape[1]


def test_batch_sampler_groups_equal_part_lengths():
    lengths = [
        40,
        12,
        40,
        41,
        12,
        40,
        40,
        40,
        9,
    ]  # part lengths with n_parts=4: 10, 3, 10, 10, 3, 10, 10, 10, 2
    dataset = PartsDataset(_ramp_source(lengths), labels=[0] * 9, n_parts=4, min_length=1)
    sampler = GroupedPartsBatchSampler(dataset, max_parts=8)
    batches = list(sampler)
    assert batches == [[8], [1, 4], [0, 2], [3, 5], [6, 7]]
    assert len(sampler) == 5 and list(sampler) == batches
    for batch in batches:
        assert len({dataset.part_length(i) for i in batch}) == 1 and 4 * len(batch) <= 8


def test_batch_sampler_at_least_one_file():
    dataset = PartsDataset(_ramp_source([20, 20, 20]), labels=[0] * 3, n_parts=5, min_length=1)
    assert list(GroupedPartsBatchSampler(dataset, max_parts=2)) == [[0], [1], [2]]
    with pytest.raises(ValueError, match="max_parts"):
        GroupedPartsBatchSampler(dataset, max_parts=0)


def test_collate_and_loader_end_to_end():
    dataset = PartsDataset(_ramp_source([40, 12, 40, 41]), labels=[5, 6, 7, 8], n_parts=4, min_length=1)
    loader = DataLoader(dataset, batch_sampler=GroupedPartsBatchSampler(dataset, 8), collate_fn=collate_parts)
    batches = list(loader)
    assert len(batches) == 3
    parts, labels, file_index, n_parts = batches[1]
    assert parts.shape == (8, 10) and parts.dtype == torch.float32
    assert labels.tolist() == [5, 7] and file_index.tolist() == [0, 2] and n_parts.tolist() == [4, 4]
    assert labels.dtype == file_index.dtype == n_parts.dtype == torch.long
    np.testing.assert_array_equal(parts[4].numpy(), 2000 + np.arange(10))


def test_collate_refuses_mixed_lengths():
    with pytest.raises(ValueError, match=r"mixes part lengths \[2, 3\]"):
        collate_parts([(torch.zeros(2, 3), 0, 0), (torch.zeros(2, 2), 0, 1)])
    with pytest.raises(ValueError, match="empty batch"):
        collate_parts([])
