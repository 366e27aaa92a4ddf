"""Resuming loses nothing: a checkpoint write that fails keeps the previous one, a damaged ``last.ckpt`` is
refused, and an edited ``splits.csv`` is refused instead of silently dropping files."""

from __future__ import annotations

import contextlib
import csv
import errno
import importlib
import os
import shutil
import tempfile
from pathlib import Path

import lightning as L
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from adaspec.cli import main
from adaspec.config import resolve_config, save_config
from adaspec.data import AudioItem
from adaspec.errors import UserError
from adaspec.training import TrainResult, train
from adaspec.training.datamodule import AudioDataModule
from adaspec.training.split_file import read_split_file, write_split_file
from tests.datasets import tiny_overrides
from tests.training.test_checkpoints import _flip_bytes_of_largest_entry
from tests.training.test_resume import Crash, CrashAtStep
from tests.training.test_run_safety import _config, _copy_of

# the module (adaspec.training.train is the function of that name)
train_module = importlib.import_module("adaspec.training.train")


def _epoch(path: Path) -> int:
    return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])


class FailSavesFrom(L.Callback):
    """From the end of training epoch ``epoch`` on, every ``torch.save`` raises ``error``."""

    def __init__(self, epoch: int, monkeypatch: pytest.MonkeyPatch, error: OSError) -> None:
        self.epoch = epoch
        self.monkeypatch = monkeypatch
        self.error = error

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:

            def failing_save(*args: object, **kwargs: object) -> None:
                raise self.error

            self.monkeypatch.setattr(torch, "save", failing_save)


def test_a_full_disk_while_saving_is_one_line_and_the_run_resumes(
    tone_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkpoint write that failed for want of space ended in a traceback (an ``OSError`` without a
    file name), not the CLI's one line naming the checkpoint."""
    config = _config(tone_dataset)
    config["trainer"]["max_epochs"] = 2
    saved = tmp_path / "config.yaml"
    save_config(config, saved)
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    real_build = train_module.build_trainer

    def build_with_full_disk(config, paths, callbacks=(), *args, **kwargs):
        return real_build(config, paths, [*callbacks, FailSavesFrom(1, monkeypatch, full)], *args, **kwargs)

    monkeypatch.setattr(train_module, "build_trainer", build_with_full_disk)
    args = ["-q", "train", str(saved), "--runs-dir", str(tmp_path / "runs"), "--name", "full"]
    assert main(args) == 2
    error = capsys.readouterr().err.strip().splitlines()
    run = tmp_path / "runs" / "full"
    assert len(error) == 1, error
    assert error[0].startswith(f"adaspec: error: {run / 'checkpoints'}"), error[0]
    assert "No space left on device" in error[0]
    monkeypatch.undo()

    assert _epoch(run / "checkpoints" / "last.ckpt") == 0  # the last complete epoch, readable
    assert not [p.name for p in (run / "checkpoints").iterdir() if not p.name.endswith(".ckpt")]
    assert train(config, name="full", runs_dir=tmp_path / "runs").resumed
    assert _epoch(run / "checkpoints" / "last.ckpt") == 1


def test_a_checkpoint_write_cut_short_keeps_the_previous_last_checkpoint(
    tone_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lightning wrote checkpoints to the system's temporary folder and moved them into the run: where that
    is another file system (a tmpfs ``/tmp``), the move copies over ``last.ckpt`` in place, and a full disk
    (or a kill) during the copy left neither the old checkpoint nor the new one."""
    config = _config(tone_dataset)
    config["trainer"]["max_epochs"] = 2
    temporary = os.path.realpath(tempfile.gettempdir())
    real_rename, real_copyfile = os.rename, shutil.copyfile

    def rename_across_devices(src: str, dst: str, *args: object, **kwargs: object) -> None:
        if os.path.realpath(os.path.dirname(src)) == temporary and str(dst).endswith(".ckpt"):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), src, None, dst)
        real_rename(src, dst, *args, **kwargs)

    def copy_onto_a_full_disk(src: str, dst: str, *args: object, **kwargs: object) -> str:
        if str(dst).endswith("last.ckpt") and _epoch(Path(src)) == 1:
            Path(dst).write_bytes(Path(src).read_bytes()[:1000])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), dst)
        return real_copyfile(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename_across_devices)
    monkeypatch.setattr(shutil, "copyfile", copy_onto_a_full_disk)
    with contextlib.suppress(OSError):  # (written beside last.ckpt, the checkpoint is not copied at all)
        train(config, name="cut", runs_dir=tmp_path)
    monkeypatch.undo()
    last = tmp_path / "cut" / "checkpoints" / "last.ckpt"
    assert _epoch(last) in (0, 1)  # a whole checkpoint, of the old epoch or of the new one
    assert train(config, name="cut", runs_dir=tmp_path).resumed
    assert _epoch(last) == 1


def test_resuming_from_a_last_checkpoint_with_flipped_bits_is_refused(
    trained_run: TrainResult, tmp_path: Path
) -> None:
    """``torch.load`` does not check the zip's CRCs: the run resumed from the damaged weights silently."""
    config, root = _copy_of(trained_run, tmp_path)
    last = root / "checkpoints" / "last.ckpt"
    entry = _flip_bytes_of_largest_entry(trained_run.paths.last, last)
    with pytest.raises(
        UserError, match=rf"cannot resume .*last\.ckpt: a damaged checkpoint \(its entry {entry}"
    ):
        train(config, name=root.name, runs_dir=tmp_path)


def test_resuming_after_the_run_s_config_yaml_was_edited_is_one_line(
    trained_run: TrainResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the run's ``config.yaml`` edited to the new config, the checkpoint's weights did not fit the
    new model: a traceback of Lightning's state-dict errors (other settings resumed silently)."""
    config, root = _copy_of(trained_run, tmp_path)
    config["model"]["hidden"] = 2 * config["model"]["hidden"]
    save_config(config, root / "config.yaml")
    saved = tmp_path / "mine.yaml"
    save_config(config, saved)
    assert main(["-q", "train", str(saved), "--runs-dir", str(tmp_path), "--name", root.name]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1, error
    assert error[0].startswith(f"adaspec: error: cannot resume {root}: {root / 'checkpoints' / 'last.ckpt'}")
    assert "was trained with another config (model.hidden: 32 -> 64)" in error[0]


def _logged_steps(run: Path) -> dict[str, list[int]]:
    """The steps of every scalar TensorBoard shows for a run (earlier sessions' purged events left out)."""
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    return {tag: [event.step for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_tensorboard_curves_of_a_resumed_run_are_those_of_an_uninterrupted_one(
    tone_dataset: Path, tmp_path: Path
) -> None:
    """The steps an interrupted epoch had logged after the last checkpoint stayed in TensorBoard, and the
    resumed run logged them again: every curve went back and drew those steps twice."""
    overrides = {"trainer.max_epochs": 2, "trainer.log_every_n_steps": 1}
    config = resolve_config(None, tiny_overrides(tone_dataset, **overrides))
    whole = train(config, name="whole", runs_dir=tmp_path)
    with pytest.raises(Crash):  # three steps per epoch: in the middle of the second epoch
        train(config, name="cut", runs_dir=tmp_path, callbacks=[CrashAtStep(5)])
    resumed = train(config, name="cut", runs_dir=tmp_path)
    assert resumed.resumed
    assert _logged_steps(resumed.paths.root) == _logged_steps(whole.paths.root)


def _split_file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "splits.csv"
    path.write_text("path,label,split,group\n" + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def test_a_split_file_with_an_unknown_split_is_refused(tmp_path: Path) -> None:
    """A mistyped split (``trian``) made its files a split of their own, which training never uses."""
    path = _split_file(tmp_path, ["a.wav,x,train,", "b.wav,x,trian,"])
    with pytest.raises(UserError, match=r"splits\.csv line 3: split 'trian' is not one of train, val, test"):
        read_split_file(path)


def test_a_split_file_listing_a_file_twice_is_refused(tmp_path: Path) -> None:
    """A file in two splits (training and test) was trained on and then scored as unseen."""
    path = _split_file(tmp_path, ["a.wav,x,train,", "b.wav,x,val,", "a.wav,x,test,"])
    with pytest.raises(UserError, match=r"splits\.csv line 4: a\.wav is listed again \(first on line 2\)"):
        read_split_file(path)
    good = _split_file(tmp_path, ["a.wav,x,train,", "b.wav,x,val,g1"])
    assert read_split_file(good) == [
        AudioItem(Path("a.wav"), "x", "train", None),
        AudioItem(Path("b.wav"), "x", "val", "g1"),
    ]


def test_a_split_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    """It ended in ``UnicodeDecodeError``, which does not name the file."""
    path = tmp_path / "splits.csv"
    path.write_bytes(b"path,label,split,group\n\xff\xfe.wav,x,train,\n")
    with pytest.raises(UserError, match=r"splits\.csv: not a split file \(not UTF-8 text"):
        read_split_file(path)


def test_a_split_file_write_that_fails_leaves_the_old_file(
    trained_run: TrainResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``splits.csv`` was written in place: a run stopped (or a disk full) while it was rewritten (a resumed
    run whose file was deleted) left half of it, which the next resume took for the whole split."""
    config, run = _copy_of(trained_run, tmp_path)
    splits = run / "splits.csv"
    before = splits.read_bytes()
    catalog = AudioDataModule(config)
    catalog.setup()
    real_writer = csv.writer

    class FullAfterTwoRows:
        def __init__(self, handle: object) -> None:
            self.writer, self.rows = real_writer(handle), 0

        def writerow(self, row: list[str]) -> None:
            if self.rows == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.rows += 1
            self.writer.writerow(row)

    monkeypatch.setattr(csv, "writer", FullAfterTwoRows)
    with pytest.raises(OSError, match="No space left"):
        write_split_file(splits, catalog.catalog)
    assert splits.read_bytes() == before
    assert sorted(path.name for path in run.iterdir() if path.name.startswith(".")) == []


def test_resuming_removes_the_files_of_checkpoint_writes_cut_short(
    trained_run: TrainResult, tmp_path: Path
) -> None:
    """A kill during a checkpoint write left ``.last.ckpt.<pid>.tmp`` (a checkpoint's size) for good."""
    config, root = _copy_of(trained_run, tmp_path)
    left = root / "checkpoints" / ".last.ckpt.4242.tmp"
    left.write_bytes(b"half a checkpoint")
    config["trainer"]["max_epochs"] += 1  # trained further, from last.ckpt
    assert train(config, name=root.name, runs_dir=tmp_path).resumed
    assert not left.exists()
    assert sorted(p.name for p in (root / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
