"""Audio data: decoding and resampling, item sources and splits, validation scan, cropping, augmentation,
and torch Datasets."""

from .audio import (
    AUDIO_EXTENSIONS,
    AudioDecodeError,
    audio_duration,
    audio_frames,
    load_audio,
    resampled_length,
)
from .augment import WaveformAugment, build_waveform_augment
from .cropping import fit_length, part_bounds, part_length, random_crop, split_parts
from .datasets import CropDataset, GroupedPartsBatchSampler, PartsDataset, WaveSource, collate_parts
from .samplers import EpochShuffleSampler
from .scan import DataError, ScanResult, scan_items
from .sources import SPLITS, AudioItem, read_esc50, read_manifest, scan_class_folders
from .splits import allocate_counts, apply_split_lists, assign_splits

__all__ = [
    "AUDIO_EXTENSIONS",
    "SPLITS",
    "AudioDecodeError",
    "AudioItem",
    "CropDataset",
    "DataError",
    "EpochShuffleSampler",
    "GroupedPartsBatchSampler",
    "PartsDataset",
    "ScanResult",
    "WaveSource",
    "WaveformAugment",
    "allocate_counts",
    "apply_split_lists",
    "assign_splits",
    "audio_duration",
    "audio_frames",
    "build_waveform_augment",
    "collate_parts",
    "fit_length",
    "load_audio",
    "part_bounds",
    "part_length",
    "random_crop",
    "read_esc50",
    "read_manifest",
    "resampled_length",
    "scan_class_folders",
    "scan_items",
    "split_parts",
]
