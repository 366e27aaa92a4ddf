"""The run's loaders when a file changes or goes away after the scan (``data.cache=false`` decodes every
file again each epoch): the loop stops with the file's own one-line error, with or without workers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from adaspec.config import resolve_config
from adaspec.data import AudioDecodeError
from adaspec.training.datamodule import AudioDataModule
from tests.datasets import make_tone_dataset, tiny_overrides


def _error_of(loader: Iterable[object]) -> AudioDecodeError:
    """The error that stops a loop over ``loader``, without its traceback (which would keep the loader
    and its workers alive until the garbage collector finds them)."""
    try:
        for _ in loader:
            pass
    except AudioDecodeError as err:
        return err.with_traceback(None)
    pytest.fail("the loader went through every file")


def _data_module(root: Path, num_workers: int) -> AudioDataModule:
    """A scanned data module of a tone dataset that decodes its files when loading."""
    make_tone_dataset(root, files_per_class=5, seconds=0.5)
    overrides = tiny_overrides(root, **{"data.cache": False, "data.num_workers": num_workers})
    data = AudioDataModule(resolve_config(None, overrides))
    data.setup()
    return data


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("split", ["train", "val"])
def test_a_file_gone_after_the_scan_stops_the_loader_naming_it(
    tmp_path: Path, num_workers: int, split: str
) -> None:
    # With workers PyTorch raised the worker's AudioDecodeError again as a RuntimeError holding its
    # traceback (it rebuilds an exception from one message), which the command line printed as a crash.
    data = _data_module(tmp_path / "data", num_workers)
    loader = data.train_dataloader() if split == "train" else data.eval_dataloader(split)
    gone = data.split(split).items[0].path
    gone.unlink()
    error = _error_of(loader)
    assert error.path == gone
    assert re.fullmatch(r"file not found \(it could be used when the dataset was scanned.*\)", error.reason)


def test_loaders_yield_the_batches_of_their_datasets(tmp_path: Path) -> None:
    data = _data_module(tmp_path / "data", num_workers=2)
    waves, labels = next(iter(data.train_dataloader()))
    assert waves.shape == (8, 4000) and labels.shape == (8,)
    parts, labels, file_index, n_parts = next(iter(data.eval_dataloader("val")))
    assert parts.shape == (2 * len(labels), 2000) and n_parts.tolist() == [2] * len(labels)
    assert file_index.tolist() == sorted(file_index.tolist())
