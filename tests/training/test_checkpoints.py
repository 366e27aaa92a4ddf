"""Checkpoints: safe loading, clear errors for files and configs that do not fit."""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from adaspec.config import resolve_config
from adaspec.errors import UserError
from adaspec.training import TrainResult, load_classifier, read_checkpoint, resolve_checkpoint
from tests.datasets import tiny_overrides


def test_run_dir_resolves_to_best(trained_run: TrainResult) -> None:
    path, run = resolve_checkpoint(trained_run.paths.root)
    assert path == trained_run.paths.best
    assert run is not None and run.root == trained_run.paths.root
    assert resolve_checkpoint(trained_run.paths.last)[0] == trained_run.paths.last


def test_loaded_model_is_in_eval_mode_with_classes(trained_run: TrainResult) -> None:
    loaded = load_classifier(trained_run.paths.root)
    assert not loaded.model.training
    assert loaded.class_names == ["high", "low", "noise"]
    state = torch.load(trained_run.paths.best, weights_only=True)["state_dict"]
    torch.testing.assert_close(loaded.model.frontend.window, state["model.frontends.0.window"])


def test_another_frontend_gives_a_clear_error(trained_run: TrainResult, tone_dataset: Path) -> None:
    other = resolve_config(None, [*tiny_overrides(tone_dataset), "frontend={name: mel, n_mels: 32}"])
    with pytest.raises(UserError) as info:
        load_classifier(trained_run.paths.best, config=other)
    message = str(info.value)
    assert "does not fit this model" in message
    assert "frontend" in message
    assert "\n" not in message


def test_checkpoint_of_another_size_names_the_tensor(trained_run: TrainResult, tone_dataset: Path) -> None:
    other = resolve_config(None, tiny_overrides(tone_dataset, **{"frontend.n_fft": 512}))
    with pytest.raises(UserError, match=r"shape .*window"):
        load_classifier(trained_run.paths.best, config=other)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "an empty file, not a checkpoint"),
        (b"not a checkpoint", "not an adaspec checkpoint"),
        (b"PK\x03\x04broken zip", "not an adaspec checkpoint"),
    ],
)
def test_non_checkpoint_files_are_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "model.ckpt"
    path.write_bytes(content)
    for lazy in (False, True):
        with pytest.raises(UserError, match=f"^{path}: {reason}"):
            read_checkpoint(path, lazy=lazy)


def _other_file(folder: Path, kind: str) -> Path:
    """A file of another kind that users pass by mistake: audio, a config, an image, JSON."""
    path = folder / f"file.{kind}"
    if kind == "wav":
        sf.write(path, np.zeros(800, dtype=np.float32), 8000)
    elif kind == "yaml":
        path.write_text("data:\n  root: data\n", encoding="utf-8")
    elif kind == "png":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    else:
        path.write_text(json.dumps({"epochs": [], "best": None}), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["wav", "yaml", "png", "json"])
def test_other_files_are_not_checkpoints(tmp_path: Path, kind: str) -> None:
    path = _other_file(tmp_path, kind)
    with pytest.raises(UserError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not an adaspec checkpoint")
    assert "\n" not in message
    assert "weights_only" not in message
    with pytest.raises(UserError, match="not an adaspec checkpoint"):
        load_classifier(path)


def test_plain_torch_file_is_not_an_adaspec_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(UserError, match="not an adaspec checkpoint"):
        read_checkpoint(path)


def test_missing_target(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such run directory"):
        resolve_checkpoint(tmp_path / "nothing")
    with pytest.raises(UserError, match=r"no checkpoints/best\.ckpt"):
        resolve_checkpoint(tmp_path)


def test_a_target_that_is_not_a_file_says_what_it_is(tmp_path: Path) -> None:
    (tmp_path / "gone.ckpt").symlink_to(tmp_path / "nowhere.ckpt")
    with pytest.raises(UserError, match=r"gone\.ckpt: a broken link; give a run directory or a checkpoint"):
        resolve_checkpoint(tmp_path / "gone.ckpt")
    with pytest.raises(UserError, match=r"^/dev/null: not a regular file \(a device, pipe or socket\)"):
        resolve_checkpoint("/dev/null")


def test_a_truncated_checkpoint_is_called_so(trained_run: TrainResult, tmp_path: Path) -> None:
    """A checkpoint cut short (a full disk) is adaspec's own file, damaged; a zip of something else is
    not a checkpoint at all."""
    cut = tmp_path / "last.ckpt"
    cut.write_bytes(trained_run.paths.last.read_bytes()[:1000])
    for lazy in (False, True):
        with pytest.raises(UserError, match=r"last\.ckpt: a damaged or truncated checkpoint \(") as info:
            read_checkpoint(cut, lazy=lazy)
        assert "\n" not in str(info.value)
    other_zip = tmp_path / "notes.ckpt"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(UserError, match="not an adaspec checkpoint"):
        read_checkpoint(other_zip)


def test_a_lazy_read_falls_back_to_reading_where_files_cannot_be_mapped(
    trained_run: TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = torch.load

    def no_mmap(*args: object, mmap: bool | None = None, **kwargs: object) -> object:
        if mmap:
            raise OSError(19, "No such device")  # ENODEV: what mmap says on such a mount
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", no_mmap)
    checkpoint = read_checkpoint(trained_run.paths.last, lazy=True)
    assert "hyper_parameters" in checkpoint


def test_a_broken_best_checkpoint_is_not_replaced_by_the_last(
    trained_run: TrainResult, tmp_path: Path
) -> None:
    """evaluate/export/predict of a run used last.ckpt silently when best.ckpt was a broken link."""
    run = Path(shutil.copytree(trained_run.paths.root, tmp_path / "run"))
    best = run / "checkpoints" / "best.ckpt"
    best.unlink()
    best.symlink_to(tmp_path / "elsewhere.ckpt")
    with pytest.raises(UserError, match=r"best\.ckpt: a broken link; restore it, or give a checkpoint file"):
        resolve_checkpoint(run)
    best.unlink()  # no best at all (a run before its first validation): the last one is used
    assert resolve_checkpoint(run)[0] == run / "checkpoints" / "last.ckpt"


def _flip_bytes_of_largest_entry(source: Path, target: Path) -> str:
    """Copy ``source`` to ``target`` with 16 bytes inverted inside its largest zip entry (a tensor's data).

    Returns:
        The entry's name.
    """
    with zipfile.ZipFile(source) as archive:
        entry = max(archive.infolist(), key=lambda info: info.file_size)
    data = bytearray(source.read_bytes())
    name_length, extra_length = (
        int.from_bytes(data[entry.header_offset + i : entry.header_offset + i + 2], "little")
        for i in (26, 28)
    )
    start = entry.header_offset + 30 + name_length + extra_length + entry.file_size // 2
    data[start : start + 16] = bytes(255 - byte for byte in data[start : start + 16])
    target.write_bytes(bytes(data))
    return entry.filename


def test_a_checkpoint_with_flipped_bits_is_called_damaged(trained_run: TrainResult, tmp_path: Path) -> None:
    """torch.load does not check the zip's CRCs: the damaged weights loaded silently."""
    damaged = tmp_path / "best.ckpt"
    entry = _flip_bytes_of_largest_entry(trained_run.paths.best, damaged)
    with pytest.raises(
        UserError, match=rf"best\.ckpt: a damaged checkpoint \(its entry {entry} fails its CRC"
    ):
        load_classifier(damaged)


def test_a_checkpoint_holding_python_objects_is_another_program_s(tmp_path: Path) -> None:
    """It was called "a damaged or truncated checkpoint", with torch's long advice (and its ANSI codes)."""
    path = tmp_path / "model.ckpt"
    torch.save({"model": torch.nn.Linear(2, 2)}, path)
    with pytest.raises(UserError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not an adaspec checkpoint")
    assert "holds a torch.nn.modules.linear.Linear" in message and "damaged" not in message


@pytest.mark.parametrize(
    ("hyper_parameters", "reason"),
    [
        ({"config": "cfg.yaml", "class_names": "ab"}, "config, class_names or state_dict are not adaspec's"),
        (
            {"config": {"data": {}}, "class_names": ["a", "b"]},
            "its config is not one this adaspec version builds",
        ),
        (
            {"config": {"trainer": {"gpus": 1}}, "class_names": ["a"]},
            "its config is not one this adaspec version builds",
        ),
    ],
)
def test_another_program_s_hyper_parameters_are_named_with_the_path(
    tmp_path: Path, hyper_parameters: dict, reason: str
) -> None:
    """Other programs' Lightning checkpoints gave a config error or a TypeError without the file's name."""
    path = tmp_path / "other.ckpt"
    torch.save({"hyper_parameters": hyper_parameters, "state_dict": {}}, path)
    with pytest.raises(UserError) as info:
        load_classifier(path)
    assert str(info.value).startswith(f"{path}: ") and reason in str(info.value)


def test_a_checkpoint_of_another_config_in_a_run_directory_is_named_in_a_warning(
    trained_run: TrainResult, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A best.ckpt copied in from another run was evaluated silently, its reports written into this run."""
    with caplog.at_level(logging.WARNING, logger="adaspec.training.checkpoints"):
        load_classifier(trained_run.paths.root)
    assert not caplog.records  # its own checkpoint: nothing to say
    copy = Path(shutil.copytree(trained_run.paths.root, tmp_path / "copy"))
    config = yaml.safe_load((copy / "config.yaml").read_text(encoding="utf-8"))
    config["optim"]["lr"] = 0.123
    (copy / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="adaspec.training.checkpoints"):
        loaded = load_classifier(copy)
    assert loaded.config["optim"]["lr"] != 0.123  # the checkpoint's own config builds the model
    (record,) = caplog.records
    assert "was trained with another config than" in record.getMessage()
    assert "optim.lr" in record.getMessage() and "-> 0.123" not in record.getMessage()
