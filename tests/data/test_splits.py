"""Stratified, group-aware, deterministic splits, and explicit split lists."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from adaspec.data import SPLITS, AudioItem, allocate_counts, apply_split_lists, assign_splits

FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


def _items(per_label: dict[str, int], group_size: int = 1) -> list[AudioItem]:
    items = []
    for label, count in per_label.items():
        for k in range(count):
            group = f"{label}-{k // group_size}" if group_size > 1 else None
            items.append(AudioItem(Path(f"/data/{label}/{k}.wav"), label, group=group))
    return items


def _counts(items: list[AudioItem]) -> dict[tuple[str, str], int]:
    return dict(Counter((item.label, item.split) for item in items))


@pytest.mark.parametrize(
    ("n", "fractions", "expected"),
    [
        (10, FRACTIONS, {"train": 8, "val": 1, "test": 1}),
        # 4.2 / 1.4 / 1.4: floors 4, 1, 1; one left, remainders tie (0.4) -> the first in SPLITS order (val)
        (7, {"train": 0.6, "val": 0.2, "test": 0.2}, {"train": 4, "val": 2, "test": 1}),
        # 2.4 / 0.3 / 0.3 -> 3, 0, 0 -> at least one each, taken from the largest
        (3, FRACTIONS, {"train": 1, "val": 1, "test": 1}),
        # fewer units than positive splits: no minimum
        (2, FRACTIONS, {"train": 2, "val": 0, "test": 0}),
        (5, {"train": 1.0, "test": 0.0}, {"train": 5, "test": 0}),
        (0, FRACTIONS, {"train": 0, "val": 0, "test": 0}),
    ],
)
def test_allocate_counts_largest_remainder(n, fractions, expected):
    assert allocate_counts(n, fractions) == expected


def test_allocate_counts_sum_to_n_units_when_the_fractions_sum_off_by_the_tolerance():
    """Fractions within 1e-6 of 1 leave more units than splits for a large label: all are handed out."""
    fractions = {"train": 0.7999995, "val": 0.1, "test": 0.1}
    counts = allocate_counts(10_000_000, fractions)
    assert sum(counts.values()) == 10_000_000
    assert all(abs(counts[key] - 10_000_000 * value) <= 5 for key, value in fractions.items())


def test_stratified_counts_per_label():
    items = assign_splits(_items({"a": 10, "b": 7, "c": 3}), {"train": 0.6, "val": 0.2, "test": 0.2}, seed=1)
    assert _counts(items) == {
        ("a", "train"): 6, ("a", "val"): 2, ("a", "test"): 2,
        ("b", "train"): 4, ("b", "val"): 2, ("b", "test"): 1,
        ("c", "train"): 1, ("c", "val"): 1, ("c", "test"): 1,
    }  # fmt: skip


def test_order_kept_and_deterministic():
    items = _items({"a": 20, "b": 20})
    first = assign_splits(items, FRACTIONS, seed=3)
    assert [item.path for item in first] == [item.path for item in items]
    assert first == assign_splits(items, FRACTIONS, seed=3)
    assert [i.split for i in first] != [i.split for i in assign_splits(items, FRACTIONS, seed=4)]


def test_a_label_split_does_not_depend_on_other_labels():
    alone = assign_splits(_items({"a": 20}), FRACTIONS, seed=0)
    together = assign_splits(_items({"a": 20, "b": 9}), FRACTIONS, seed=0)
    assert [i.split for i in alone] == [i.split for i in together if i.label == "a"]


def test_groups_never_straddle_splits():
    items = assign_splits(_items({"a": 30, "b": 30}, group_size=3), FRACTIONS, seed=0)
    by_group: dict[str, set[str]] = {}
    for item in items:
        by_group.setdefault(item.group, set()).add(item.split)
    assert all(len(splits) == 1 for splits in by_group.values())
    # 10 groups per label -> 8 / 1 / 1 groups -> 24 / 3 / 3 items
    assert _counts(items)[("a", "train")] == 24 and _counts(items)[("b", "val")] == 3


def test_group_label_is_its_majority_label():
    # one group with labels a, a, b counts as a unit of label a: with 1 unit, it goes to train
    items = [AudioItem(Path(f"/{k}.wav"), label, group="g") for k, label in enumerate("aab")]
    assert {item.split for item in assign_splits(items, FRACTIONS, seed=0)} == {"train"}


def test_preset_splits_are_kept_and_groups_follow_them():
    items = _items({"a": 10})
    items[0] = AudioItem(items[0].path, "a", split="test")
    items[1] = AudioItem(items[1].path, "a", split="val", group="g")
    items[2] = AudioItem(items[2].path, "a", group="g")
    result = assign_splits(items, FRACTIONS, seed=0)
    assert result[0].split == "test" and result[1].split == "val" and result[2].split == "val"
    # the 7 free units: 5.6 / 0.7 / 0.7 -> floors 5 / 0 / 0, the two left go to val and test -> 5 / 1 / 1
    assert Counter(item.split for item in result[3:]) == {"train": 5, "val": 1, "test": 1}


@pytest.mark.parametrize(
    "fractions",
    [
        {"train": 0.8, "val": 0.1},
        {"train": 0.8, "val": 0.3, "test": -0.1},
        {"train": 0.9, "dev": 0.1},
        {"train": "all"},
        {"train": float("nan")},
        {},
        [0.8, 0.1, 0.1],
    ],
)
def test_bad_fractions_are_named(fractions):
    with pytest.raises(ValueError, match="fractions"):
        assign_splits(_items({"a": 3}), fractions, seed=0)


@pytest.mark.parametrize("seed", [-1, 1.5, None, True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        assign_splits(_items({"a": 3}), FRACTIONS, seed=seed)


def _lists(tmp_path: Path, **texts: str) -> dict[str, Path]:
    paths = {}
    for split, text in texts.items():
        paths[split] = tmp_path / f"{split}.txt"
        paths[split].write_text(text)
    return paths


def test_split_lists_assign_and_drop(tmp_path, caplog):
    items = [AudioItem(tmp_path / "a" / f"{k}.wav", "a") for k in range(4)]
    lists = _lists(
        tmp_path,
        train="# training files\na/0.wav\n\n  a/1.wav  \n",
        test=f"{tmp_path / 'a' / '3.wav'}\n",
    )
    with caplog.at_level("INFO", logger="adaspec.data.splits"):
        result = apply_split_lists(items, lists, root=tmp_path)
    assert [(item.path.name, item.split) for item in result] == [
        ("0.wav", "train"),
        ("1.wav", "train"),
        ("3.wav", "test"),
    ]
    assert "1 of 4 items are in no split list" in caplog.text
    assert set(SPLITS) >= {item.split for item in result}


def test_split_list_unknown_path_names_file_and_line(tmp_path):
    items = [AudioItem(tmp_path / "a.wav", "a")]
    lists = _lists(tmp_path, val="a.wav\n# note\nb.wav\n")
    with pytest.raises(ValueError, match=r"val\.txt line 3: 'b\.wav' is not among"):
        apply_split_lists(items, lists, root=tmp_path)


def test_split_list_errors(tmp_path):
    items = [AudioItem(tmp_path / "a.wav", "a")]
    with pytest.raises(ValueError, match="lists has unknown split 'dev'"):
        apply_split_lists(items, {"dev": tmp_path / "x.txt"}, root=tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        apply_split_lists(items, {"train": tmp_path / "missing.txt"}, root=tmp_path)
    lists = _lists(tmp_path, train="a.wav\n", test="./a.wav\n")
    with pytest.raises(ValueError, match="already listed for split 'train'"):
        apply_split_lists(items, lists, root=tmp_path)


@pytest.mark.parametrize(("count", "has"), [(1, "1 file;"), (2, "2 files;")])
def test_require_every_split_refuses_a_small_label(count, has):
    with pytest.raises(ValueError, match=rf"class 'b' has {has} .* need at least 3 files per class"):
        assign_splits(_items({"a": 10, "b": count}), FRACTIONS, seed=0, require_every_split=True)
    # without the flag the few files all go to train, as before
    loose = assign_splits(_items({"a": 10, "b": count}), FRACTIONS, seed=0)
    assert {item.split for item in loose if item.label == "b"} == {"train"}


def test_require_every_split_counts_groups():
    # 6 files in 2 groups of 3: only 2 units for 3 splits
    with pytest.raises(ValueError, match=r"class 'a' has 6 files in 2 groups .* at least 3 groups"):
        assign_splits(_items({"a": 6}, group_size=3), FRACTIONS, seed=0, require_every_split=True)


def test_require_every_split_gives_three_units_one_split_each():
    for seed in range(5):
        items = assign_splits(_items({"a": 3, "b": 4}), FRACTIONS, seed=seed, require_every_split=True)
        assert sorted(item.split for item in items if item.label == "a") == ["test", "train", "val"]


def test_require_every_split_leaves_labels_with_preset_splits_alone():
    # the user placed some of 'a' explicitly: its one free file is dealt as usual
    items = [AudioItem(Path("/a/0.wav"), "a", split="val"), AudioItem(Path("/a/1.wav"), "a")]
    assert [i.split for i in assign_splits(items, FRACTIONS, seed=0, require_every_split=True)] == [
        "val",
        "train",
    ]
    # a zero fraction does not count as a split to fill
    two = assign_splits(
        _items({"a": 2}), {"train": 0.5, "val": 0.5, "test": 0.0}, seed=0, require_every_split=True
    )
    assert sorted(item.split for item in two) == ["train", "val"]


def test_split_list_that_is_not_utf8_is_named(tmp_path):
    items = [AudioItem(tmp_path / "é.wav", "a")]
    list_file = tmp_path / "train.txt"
    list_file.write_bytes("é.wav\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"split list '.*train\.txt' is not UTF-8 text \(it has byte 0xe9 "):
        apply_split_lists(items, {"train": list_file}, root=tmp_path)


def test_split_does_not_depend_on_the_order_of_the_items():
    """A manifest written in another row order (a script listing files with os.listdir, a sorted
    spreadsheet) gives every file the same split under the same seed, groups included."""
    items = _items({"a": 30, "b": 17}) + _items({"c": 24}, group_size=3)
    reordered = items[::-1][::2] + items[::-1][1::2]
    assert sorted(map(str, (i.path for i in reordered))) == sorted(map(str, (i.path for i in items)))
    for seed in (0, 7):
        first = {item.path: item.split for item in assign_splits(items, FRACTIONS, seed=seed)}
        second = {item.path: item.split for item in assign_splits(reordered, FRACTIONS, seed=seed)}
        assert second == first


def test_split_list_with_a_byte_order_mark(tmp_path):
    """Windows editors may start a UTF-8 file with a byte-order mark: it is not part of the first path."""
    items = [AudioItem(tmp_path / "a.wav", "a"), AudioItem(tmp_path / "b.wav", "a")]
    list_file = tmp_path / "train.txt"
    list_file.write_bytes(b"\xef\xbb\xbfa.wav\r\nb.wav\r\n")
    result = apply_split_lists(items, {"train": list_file}, root=tmp_path)
    assert [(item.path.name, item.split) for item in result] == [("a.wav", "train"), ("b.wav", "train")]


def test_groups_spread_over_splits_by_given_splits_are_warned_once(tmp_path, caplog):
    """A manifest's split column that puts one recording's files in training and test leaks it."""
    items = [
        AudioItem(tmp_path / "a1.wav", "a", split="train", group="rec1"),
        AudioItem(tmp_path / "a2.wav", "a", split="test", group="rec1"),
        AudioItem(tmp_path / "a3.wav", "a", group="rec1"),
        AudioItem(tmp_path / "b1.wav", "b", split="train", group="rec2"),
        AudioItem(tmp_path / "b2.wav", "b", split="train", group="rec2"),
        AudioItem(tmp_path / "b3.wav", "b", split="val"),
    ]
    with caplog.at_level("WARNING", logger="adaspec.data.splits"):
        result = assign_splits(items, FRACTIONS, seed=0)
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert warnings == [
        "1 group is spread over several splits by the given splits ('rec1': train, test): files of one group "
        "(one recording, speaker or source file) in training and evaluation make the scores optimistic"
    ]
    assert [item.split for item in result] == ["train", "test", "train", "train", "train", "val"]
    caplog.clear()
    consistent = [item for item in items if item.group != "rec1"]
    with caplog.at_level("WARNING", logger="adaspec.data.splits"):
        assign_splits(consistent, FRACTIONS, seed=0)
    assert not caplog.records
