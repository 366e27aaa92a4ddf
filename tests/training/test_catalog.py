"""The dataset catalog: unreadable files are dropped before the split, untrainable datasets are refused."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from adaspec.config import resolve_config
from adaspec.errors import UserError
from adaspec.training.catalog import Catalog, build_catalog, check_class_count
from tests.data.audio_files import write_tone
from tests.datasets import tiny_overrides

FRACTIONS = "{train: 0.8, val: 0.1, test: 0.1}"
RATE = 8000


def _dataset(root: Path, per_class: dict[str, int]) -> Path:
    """``root/<label>/<label>_<i>.wav``: short valid tones."""
    for label, count in per_class.items():
        for index in range(count):
            write_tone(root / label / f"{label}_{index}.wav", seconds=0.1, sample_rate=RATE)
    return root


def _add_corrupt(folder: Path) -> list[str]:
    """Write one file of each unusable kind into ``folder``; returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "text.wav").write_text("this is not audio\n")
    sf.write(folder / "zero.wav", np.zeros(0, dtype=np.float32), RATE)
    wave = np.full(800, 0.1, dtype=np.float32)
    sf.write(folder / "whole.wav", wave, RATE, subtype="PCM_16")
    data = (folder / "whole.wav").read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 2])
    (folder / "whole.wav").unlink()
    for name, value in (("nan.wav", np.nan), ("inf.wav", np.inf)):
        bad = wave.copy()
        bad[10:20] = value
        sf.write(folder / name, bad, RATE, subtype="FLOAT")
    return ["empty.wav", "text.wav", "zero.wav", "truncated.wav", "nan.wav", "inf.wav"]


def _data_cfg(root: Path, fractions: str = FRACTIONS, **extra: Any) -> dict[str, Any]:
    config = resolve_config(None, tiny_overrides(root, **{"data.fractions": fractions, **extra}))
    return config["data"]


def _splits(catalog: Catalog, root: Path) -> dict[str, str]:
    """``{path relative to root: split}`` of every file in the catalog."""
    return {
        item.path.relative_to(root).as_posix(): name
        for name, split in catalog.splits.items()
        for item in split.items
    }


def test_corrupt_files_do_not_change_the_split(tmp_path: Path) -> None:
    clean = _dataset(tmp_path / "clean", {"a": 5, "b": 5, "c": 5})
    messy = _dataset(tmp_path / "messy", {"a": 5, "b": 5, "c": 5})
    for label in "abc":
        _add_corrupt(messy / label)
    expected = _splits(build_catalog(_data_cfg(clean), seed=7), clean)
    catalog = build_catalog(_data_cfg(messy), seed=7)
    assert len(catalog.bad) == 18
    assert _splits(catalog, messy) == expected
    # 5 good files per class at 0.8 / 0.1 / 0.1 -> 4 / 0.5 / 0.5 -> 4 / 1 / 0, then test takes one of train
    per_class = Counter((Path(path).parent.name, split) for path, split in expected.items())
    assert per_class == {
        (label, split): n for label in "abc" for split, n in (("train", 3), ("val", 1), ("test", 1))
    }
    assert sorted(catalog.splits["test"].labels) == [0, 1, 2]


def test_skipped_files_are_summed_up_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """One warning per file, then one count (a second summary repeated it in other words)."""
    root = _dataset(tmp_path / "data", {"a": 5, "b": 5})
    corrupt = _add_corrupt(root / "a")
    with caplog.at_level(logging.WARNING):
        build_catalog(_data_cfg(root), seed=0)
    summaries = [
        record.getMessage() for record in caplog.records if record.getMessage().startswith("skipped")
    ]
    assert summaries == [f"skipped {len(corrupt)} of {10 + len(corrupt)} audio files that cannot be used"]


def test_evaluation_sees_the_training_split(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data", {"a": 6, "b": 6})
    _add_corrupt(root / "a")
    training = _splits(build_catalog(_data_cfg(root), seed=3), root)
    test_only = build_catalog(_data_cfg(root), seed=3, class_names=["a", "b"], splits=("test",))
    assert set(test_only.splits) == {"test"}
    assert _splits(test_only, root) == {path: split for path, split in training.items() if split == "test"}


def test_explicit_splits_are_kept_and_only_free_files_are_split(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data", {"a": 4, "b": 4})
    _add_corrupt(root / "a")
    rows = ["path,label,split", "a/a_0.wav,a,test", "a/empty.wav,a,test", "b/b_0.wav,b,val", "a/nan.wav,a,"]
    rows += [f"{label}/{label}_{i}.wav,{label}," for label in "ab" for i in range(1, 4)]
    manifest = tmp_path / "data" / "m.csv"
    manifest.write_text("\n".join(rows) + "\n")
    extra = {"data.source": "manifest", "data.manifest": str(manifest), "data.root": "null"}
    catalog = build_catalog(_data_cfg(root, **extra), seed=0)
    splits = _splits(catalog, root)
    assert splits["a/a_0.wav"] == "test" and splits["b/b_0.wav"] == "val"
    assert {item.path.name for item, _ in catalog.bad} == {"empty.wav", "nan.wav"}
    # the 3 free files of each class: 2.4 / 0.3 / 0.3 -> one per split
    for label in "ab":
        free = [
            split
            for path, split in splits.items()
            if path.startswith(f"{label}/") and not path.endswith("_0.wav")
        ]
        assert sorted(free) == ["test", "train", "val"]


@pytest.mark.parametrize("count", [1, 2])
def test_a_class_too_small_for_every_split_is_refused(tmp_path: Path, count: int) -> None:
    root = _dataset(tmp_path / "data", {"a": 5, "b": 5, "small": count})
    with pytest.raises(UserError) as caught:
        build_catalog(_data_cfg(root), seed=0)
    message = str(caught.value)
    assert "\n" not in message
    assert f"class 'small' has {count} file{'s' if count > 1 else ''};" in message
    assert "at least 3 files per class" in message


def test_the_message_counts_usable_files_and_mentions_the_skipped_ones(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data", {"a": 5, "b": 2})
    _add_corrupt(root / "b")
    with pytest.raises(UserError, match=r"class 'b' has 2 files;.*\(6 unreadable file\(s\) were skipped\)$"):
        build_catalog(_data_cfg(root), seed=0)


def test_two_files_are_enough_without_a_test_split(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data", {"a": 5, "b": 2})
    catalog = build_catalog(_data_cfg(root, fractions="{train: 0.5, val: 0.5}"), seed=0)
    per_class = Counter((label, name) for name, split in catalog.splits.items() for label in split.labels)
    assert per_class[(1, "train")] == 1 and per_class[(1, "val")] == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_files_give_one_to_each_split(tmp_path: Path, seed: int) -> None:
    root = _dataset(tmp_path / "data", {"a": 5, "three": 3})
    catalog = build_catalog(_data_cfg(root), seed=seed)
    assert catalog.class_names == ["a", "three"]
    for name in ("train", "val", "test"):
        assert catalog.splits[name].labels.count(1) == 1


def test_a_single_class_is_refused(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data", {"only": 10})
    with pytest.raises(
        UserError, match=r"1 class with usable files \('only'\); a classifier needs at least 2"
    ):
        build_catalog(_data_cfg(root), seed=0)


def test_a_class_whose_other_files_are_unreadable_leaves_one_class(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data", {"a": 5})
    _add_corrupt(root / "b")
    with pytest.raises(UserError, match=r"\('a'\); a classifier needs at least 2 classes"):
        build_catalog(_data_cfg(root), seed=0)


def test_a_class_without_training_file_is_refused(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data", {"a": 3, "b": 2})
    rows = ["path,label,split", "a/a_0.wav,a,train", "a/a_1.wav,a,val", "a/a_2.wav,a,test"]
    rows += ["b/b_0.wav,b,val", "b/b_1.wav,b,test"]
    manifest = tmp_path / "m.csv"
    manifest.write_text("\n".join(rows) + "\n")
    extra = {"data.source": "manifest", "data.manifest": str(manifest), "data.root": str(root)}
    with pytest.raises(
        UserError, match=r"class 'b' has no file in split 'train' \(2 usable files: val 1, test 1\)"
    ):
        build_catalog(_data_cfg(root, **extra), seed=0)


def test_a_train_fraction_of_zero_is_refused_per_class(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data", {"a": 4, "b": 4})
    with pytest.raises(UserError, match=r"class 'a' has no file in split 'train'.*at least 1 training file"):
        build_catalog(_data_cfg(root, fractions="{val: 0.5, test: 0.5}"), seed=0)


def test_evaluating_a_model_accepts_small_classes(tmp_path: Path) -> None:
    # with the classes fixed by a checkpoint the data only has to be scored, not trained on
    root = _dataset(tmp_path / "data", {"a": 1, "b": 2})
    catalog = build_catalog(_data_cfg(root), seed=0, class_names=["a", "b", "c"])
    assert sorted(label for split in catalog.splits.values() for label in split.labels) == [0, 1, 1]


@pytest.mark.parametrize("split", ["test", "val", "train"])
def test_a_label_the_model_does_not_know_is_refused_whichever_split_its_files_fall_in(
    tmp_path: Path, split: str
) -> None:
    # One file of "weird" goes to the training split: evaluating "test" ignored the label before.
    root = _dataset(tmp_path / "data", {"a": 8, "weird": 1})
    with pytest.raises(UserError, match=r"^labels weird are not among the model's classes \(a, b\)$"):
        build_catalog(_data_cfg(root), seed=0, class_names=["a", "b"], splits=(split,))


def test_evaluating_a_subset_of_the_model_classes_says_how_many_it_holds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The summary line read "3 classes" (the model's) for data holding 2 of them.
    root = _dataset(tmp_path / "data", {"a": 2, "b": 2})
    with caplog.at_level(logging.INFO, logger="adaspec"):
        build_catalog(_data_cfg(root), seed=0, class_names=["a", "b", "c"])
    summary = [record.getMessage() for record in caplog.records if record.getMessage().startswith("data: ")]
    assert len(summary) == 1 and summary[0].endswith(" files, 2 of the model's 3 classes")


def test_the_summary_line_says_file_and_class_for_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # It read "data: test 1 files, 1 of the model's 2 classes".
    root = _dataset(tmp_path / "data", {"a": 1})
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,split\na/a_0.wav,a,test\n")
    extra = {"data.source": "manifest", "data.manifest": str(manifest)}
    with caplog.at_level(logging.INFO, logger="adaspec"):
        build_catalog(_data_cfg(root, **extra), seed=0, class_names=["a", "b"], splits=("test",))
        build_catalog(_data_cfg(root, **extra), seed=0, class_names=["a"], splits=("test",))
    summary = [record.getMessage() for record in caplog.records if record.getMessage().startswith("data: ")]
    assert summary == [
        "data: test 1 file, 1 of the model's 2 classes",
        "data: test 1 file, 1 of the model's 1 class",
    ]


def test_no_usable_class_says_classes() -> None:
    with pytest.raises(UserError, match=r"the dataset has 0 classes with usable files \(none\)"):
        check_class_count([])


def test_a_class_without_a_usable_file_is_named(tmp_path, caplog) -> None:
    import logging

    from adaspec.config import resolve_config
    from adaspec.training.catalog import build_catalog
    from tests.datasets import make_tone_dataset

    root = make_tone_dataset(tmp_path / "data", files_per_class=5, seconds=0.3)
    for wav in (root / "noise").iterdir():
        wav.write_bytes(b"not audio")
    (root / "low" / "gone.wav").symlink_to(tmp_path / "missing.wav")  # a broken link is reported too
    config = resolve_config(None, [f"data.root={root}", "data.sample_rate=8000", "data.clip_seconds=0.25"])
    with caplog.at_level(logging.WARNING):
        catalog = build_catalog(config["data"], seed=0)
    assert catalog.class_names == ["high", "low"]
    messages = [record.getMessage() for record in caplog.records]
    assert any("class noise: none of its files can be used" in m for m in messages)
    assert any("gone.wav" in m for m in messages)
    assert str(root / "low" / "gone.wav") in {str(item.path) for item, _ in catalog.bad}
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # evaluation, with the model's classes, says it too
        build_catalog(config["data"], seed=0, class_names=["high", "low", "noise"])
    assert any("class noise: none of its files can be used" in r.getMessage() for r in caplog.records)
