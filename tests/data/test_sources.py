"""Class folders, manifest CSVs and the ESC-50 layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaspec.config.loading import default_config
from adaspec.data import AUDIO_EXTENSIONS, AudioItem, read_esc50, read_manifest, scan_class_folders
from tests.data.audio_files import write_tone


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_class_folders_recursive_case_insensitive_sorted(tmp_path):
    expected = [
        _touch(tmp_path / "cat" / "b.WAV"),
        _touch(tmp_path / "cat" / "sub" / "deep" / "a.flac"),
        _touch(tmp_path / "dog" / "a.Ogg"),
        _touch(tmp_path / "dog" / "z.mp3"),
    ]
    _touch(tmp_path / "cat" / "notes.txt")
    _touch(tmp_path / "cat" / ".hidden.wav")
    _touch(tmp_path / "cat" / ".cache" / "c.wav")
    _touch(tmp_path / ".trash" / "d.wav")
    _touch(tmp_path / "loose.wav")  # not in a class folder
    (tmp_path / "empty_class").mkdir()
    items = scan_class_folders(tmp_path)
    assert [item.path for item in items] == sorted(expected)
    assert [item.label for item in items] == ["cat", "cat", "dog", "dog"]
    assert all(item.split is None and item.group is None for item in items)


def test_class_folders_extensions_filter(tmp_path):
    _touch(tmp_path / "a" / "x.wav")
    keep = _touch(tmp_path / "a" / "y.flac")
    assert [item.path for item in scan_class_folders(tmp_path, extensions=(".FLAC",))] == [keep]


def test_class_folders_find_every_format_libsndfile_reads_by_default(tmp_path):
    names = ["a.wav", "b.flac", "c.ogg", "d.oga", "e.opus", "f.mp3", "g.aiff", "h.AIF", "i.aifc", "j.caf"]
    names += ["k.w64", "l.rf64"]
    files = [_touch(tmp_path / "cls" / name) for name in names]
    _touch(tmp_path / "cls" / "m.txt")
    assert [item.path for item in scan_class_folders(tmp_path)] == sorted(files)


def test_the_config_default_extensions_are_the_scanners():
    assert default_config()["data"]["extensions"] == list(AUDIO_EXTENSIONS)


def test_class_folders_errors_name_the_root(tmp_path):
    with pytest.raises(ValueError, match="does not exist") as info:
        scan_class_folders(tmp_path / "missing")
    assert "missing" in str(info.value)
    with pytest.raises(ValueError, match="no class folders"):
        scan_class_folders(tmp_path)
    _touch(tmp_path / "a" / "x.txt")
    with pytest.raises(ValueError, match="no audio files") as info:
        scan_class_folders(tmp_path)
    assert str(tmp_path) in str(info.value)


def _csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_manifest_resolves_paths_and_reads_optional_columns(tmp_path):
    absolute = tmp_path / "elsewhere" / "c.wav"
    csv_path = _csv(
        tmp_path / "lists" / "m.csv",
        f"extra,path,label,split,group\n1,a.wav,cat,train,g1\n2,sub/b.wav,dog,,\n3,{absolute},dog,test,g2\n",
    )
    items = read_manifest(csv_path)
    assert items == [
        AudioItem(tmp_path / "lists" / "a.wav", "cat", "train", "g1"),
        AudioItem(tmp_path / "lists" / "sub" / "b.wav", "dog", None, None),
        AudioItem(absolute, "dog", "test", "g2"),
    ]
    assert read_manifest(csv_path, root=tmp_path / "audio")[0].path == tmp_path / "audio" / "a.wav"


def test_manifest_minimal_columns_and_bom(tmp_path):
    csv_path = tmp_path / "m.csv"
    csv_path.write_bytes("\ufeffpath,label\nx.wav,a\n".encode())
    assert read_manifest(csv_path) == [AudioItem(tmp_path / "x.wav", "a")]


def test_manifest_bad_split_names_line_and_value(tmp_path):
    csv_path = _csv(tmp_path / "m.csv", "path,label,split\na.wav,x,train\nb.wav,y,training\n")
    with pytest.raises(
        ValueError, match=r"line 3: split must be one of train, val, test or empty; got 'training'"
    ):
        read_manifest(csv_path)


def test_manifest_missing_column_is_named(tmp_path):
    csv_path = _csv(tmp_path / "m.csv", "path,class\na.wav,x\n")
    with pytest.raises(ValueError, match="missing required column 'label'"):
        read_manifest(csv_path)


def test_manifest_empty_cells_and_no_rows(tmp_path):
    with pytest.raises(ValueError, match="line 2: empty label"):
        read_manifest(_csv(tmp_path / "a.csv", "path,label\na.wav,\n"))
    with pytest.raises(ValueError, match="line 3: empty path"):
        read_manifest(_csv(tmp_path / "b.csv", "path,label\na.wav,x\n,y\n"))
    with pytest.raises(ValueError, match="no rows"):
        read_manifest(_csv(tmp_path / "c.csv", "path,label\n"))
    with pytest.raises(ValueError, match="does not exist"):
        read_manifest(tmp_path / "missing.csv")


def _esc50(root: Path) -> Path:
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for fold in range(1, 6):
        for clip, (target, category) in enumerate([(0, "dog"), (1, "rooster")]):
            rows.append(f"{fold}-{100 + clip}-A-{target}.wav,{fold},{target},{category},True,{100 + clip},A")
    return _csv(root / "meta" / "esc50.csv", "\n".join(rows) + "\n")


def test_esc50_folds_labels_groups(tmp_path):
    _esc50(tmp_path)
    items = read_esc50(tmp_path, val_fold=2, test_fold=3)
    assert len(items) == 10
    assert items[0] == AudioItem(tmp_path / "audio" / "1-100-A-0.wav", "dog", "train", "100")
    splits = {item.path.name.split("-")[0]: item.split for item in items}
    assert splits == {"1": "train", "2": "val", "3": "test", "4": "train", "5": "train"}
    assert {item.label for item in items} == {"dog", "rooster"}
    assert {item.group for item in items} == {"100", "101"}
    default = read_esc50(tmp_path)
    assert {item.split for item in default if item.path.name.startswith("4-")} == {"val"}
    assert {item.split for item in default if item.path.name.startswith("5-")} == {"test"}


@pytest.mark.parametrize(
    ("val_fold", "test_fold", "match"),
    [
        (0, 5, "val_fold"),
        (4, 6, "test_fold"),
        (3, 3, "must differ"),
        ("4", 5, "val_fold"),
        (True, 5, "val_fold"),
    ],
)
def test_esc50_fold_errors(tmp_path, val_fold, test_fold, match):
    _esc50(tmp_path)
    with pytest.raises(ValueError, match=match):
        read_esc50(tmp_path, val_fold=val_fold, test_fold=test_fold)


def test_esc50_bad_metadata(tmp_path):
    with pytest.raises(ValueError, match=r"esc50\.csv' does not exist"):
        read_esc50(tmp_path)
    _csv(tmp_path / "meta" / "esc50.csv", "filename,fold,category,src_file\na.wav,seven,dog,1\n")
    with pytest.raises(ValueError, match="line 2: fold must be an integer"):
        read_esc50(tmp_path)


def test_manifest_file_listed_twice_is_refused(tmp_path):
    """Listed twice, a file could be split into training and test, or carry two labels."""
    csv_path = _csv(tmp_path / "m.csv", "path,label\na.wav,x\nb.wav,y\n./a.wav,y\n")
    with pytest.raises(ValueError, match=r"m.csv line 4: './a.wav' is listed twice \(first on line 2\)"):
        read_manifest(csv_path)
    spelt_absolute = _csv(tmp_path / "n.csv", f"path,label\na.wav,x\n{tmp_path / 'a.wav'},x\n")
    with pytest.raises(ValueError, match=r"n.csv line 3: .* is listed twice \(first on line 2\)"):
        read_manifest(spelt_absolute)


@pytest.mark.parametrize(
    ("content", "byte"),
    [
        ("path,label\nété.wav,flute\n".encode("latin-1"), "e9"),  # another encoding
        (None, None),  # a binary file given as the manifest: a WAV
    ],
)
def test_manifest_that_is_not_utf8_is_named(tmp_path, content, byte):
    csv_path = tmp_path / "m.csv"
    if content is None:
        write_tone(csv_path.with_suffix(".wav"), subtype="PCM_16").rename(csv_path)
        content = csv_path.read_bytes()
    with pytest.raises(UnicodeDecodeError) as oracle:
        content.decode("utf-8")
    byte = byte or content[oracle.value.start : oracle.value.start + 1].hex()
    expected = f"manifest CSV {str(csv_path)!r} is not UTF-8 text (it has byte 0x{byte} where UTF-8 cannot)"
    csv_path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        read_manifest(csv_path)
    assert str(info.value).startswith(expected)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "esc50.csv").write_bytes(content)
    with pytest.raises(ValueError, match=r"ESC-50 metadata CSV '.*esc50\.csv' is not UTF-8 text"):
        read_esc50(tmp_path)


def test_manifest_spreadsheet_export_crlf_quotes_and_rows_of_empty_cells(tmp_path):
    """A spreadsheet saves CRLF lines, quotes cells holding commas and often adds rows of empty cells
    below the data: those rows are skipped like blank lines."""
    csv_path = tmp_path / "m.csv"
    csv_path.write_bytes(
        b'\xef\xbb\xbfpath,label,split,group\r\n"a, b.wav","dog, small",train,\r\nc.wav,cat,,g\r\n'
        b",,,\r\n , , , \r\n\r\n"
    )
    assert read_manifest(csv_path) == [
        AudioItem(tmp_path / "a, b.wav", "dog, small", "train", None),
        AudioItem(tmp_path / "c.wav", "cat", None, "g"),
    ]


def test_manifest_column_names_and_split_values_in_any_case(tmp_path):
    csv_path = _csv(tmp_path / "m.csv", "Path, LABEL ,Split,Group\na.wav,x,Train,g1\nb.wav,y,TEST,\n")
    assert read_manifest(csv_path) == [
        AudioItem(tmp_path / "a.wav", "x", "train", "g1"),
        AudioItem(tmp_path / "b.wav", "y", "test", None),
    ]


def test_manifest_column_read_twice_is_refused(tmp_path):
    """Which of two ``label`` columns would be the label? Unnamed or unread columns may repeat."""
    with pytest.raises(ValueError, match=r"m\.csv: column 'label' appears 2 times in the header"):
        read_manifest(_csv(tmp_path / "m.csv", "path,label,Label\na.wav,x,y\n"))
    with pytest.raises(ValueError, match=r"n\.csv: column 'split' appears 2 times in the header"):
        read_manifest(_csv(tmp_path / "n.csv", "path,label,split,split\na.wav,x,train,test\n"))
    trailing = _csv(tmp_path / "o.csv", "path,label,note,note,,\na.wav,x,1,2,,\n")
    assert read_manifest(trailing) == [AudioItem(tmp_path / "a.wav", "x")]


def test_manifest_same_file_through_a_link_is_refused(tmp_path):
    """A link to a listed file (or a folder link on the way) names the same audio twice."""
    target = _touch(tmp_path / "audio" / "a.wav")
    (tmp_path / "alias.wav").symlink_to(target)
    (tmp_path / "mirror").symlink_to(tmp_path / "audio")
    for name, second in [("m.csv", "alias.wav"), ("n.csv", "mirror/a.wav")]:
        csv_path = _csv(tmp_path / name, f"path,label\naudio/a.wav,x\n{second},y\n")
        with pytest.raises(ValueError) as info:
            read_manifest(csv_path)
        assert str(info.value) == (
            f"{csv_path} line 3: {second!r} is listed twice (first on line 2); "
            f"'audio/a.wav' and {second!r} are both {str(target)!r}"
        )


def test_manifest_separated_by_semicolons_says_so(tmp_path):
    for separator in (";", "\t"):
        csv_path = _csv(tmp_path / "m.csv", f"path{separator}label\na.wav{separator}x\n")
        with pytest.raises(ValueError, match=r"missing required column 'path'.*separated by commas"):
            read_manifest(csv_path)


def test_class_folders_file_found_twice_through_links_is_refused(tmp_path):
    """A class folder linked to another (``kitty -> cat``) put every file in two classes."""
    target = _touch(tmp_path / "cat" / "a.wav")
    _touch(tmp_path / "dog" / "b.wav")
    (tmp_path / "kitty").symlink_to(tmp_path / "cat")
    with pytest.raises(ValueError) as info:
        scan_class_folders(tmp_path)
    assert str(info.value) == (
        f"{str(target)!r} and {str(tmp_path / 'kitty' / 'a.wav')!r} are both {str(target)!r} (in classes "
        "'cat' and 'kitty'): a file may be found once only; remove the symbolic link that leads to it twice"
    )
    (tmp_path / "kitty").unlink()
    (tmp_path / "dog" / "alias.wav").symlink_to(tmp_path / "dog" / "b.wav")
    with pytest.raises(ValueError, match=r"alias.wav' .* \(in class 'dog'\)"):
        scan_class_folders(tmp_path)


def test_class_folders_may_be_links_to_audio_kept_elsewhere(tmp_path):
    store = _touch(tmp_path / "store" / "cats" / "a.wav")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "cat").symlink_to(store.parent)
    items = scan_class_folders(tmp_path / "root")
    assert items == [AudioItem(tmp_path / "root" / "cat" / "a.wav", "cat")]
