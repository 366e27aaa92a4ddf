"""Where the audio items come from: class folders, a manifest CSV, or the ESC-50 layout."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import not_a_file_reason
from .audio import AUDIO_EXTENSIONS
from .walk import is_file_or_broken_link

logger = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "val", "test")
ESC50_FOLDS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class AudioItem:
    """One labelled audio file.

    Attributes:
        path: the file.
        label: its class name.
        split: ``"train"``, ``"val"``, ``"test"`` or ``None`` (not assigned yet).
        group: items sharing a group (same recording, speaker, source file) always share a split.
    """

    path: Path
    label: str
    split: str | None = None
    group: str | None = None


def _normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    if isinstance(extensions, str):
        extensions = (extensions,)
    normalised = frozenset(str(ext).lower().lstrip(".") for ext in extensions)
    if not normalised or "" in normalised:
        raise ValueError(f"extensions must be non-empty names like 'wav', got {extensions!r}")
    return normalised


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def scan_class_folders(
    root: str | os.PathLike[str], extensions: Iterable[str] = AUDIO_EXTENSIONS
) -> list[AudioItem]:
    """List ``root/<label>/**/*.<ext>``: every sub-folder of ``root`` is a class.

    Extensions match case-insensitively; hidden files and folders (name starting with ``.``) are skipped.
    Class folders may be symbolic links (to audio kept elsewhere), but no file may be reached twice.

    Args:
        root: folder holding one sub-folder per class.
        extensions: file extensions to accept, without the dot.

    Returns:
        Items sorted by path, ``split`` and ``group`` unset.

    Raises:
        ValueError: if ``root`` is missing, has no class folder, no audio file is found, or a file is found
            twice through symbolic links (a class folder linked to another one, a link to a listed file).
    """
    root = Path(root)
    exts = _normalise_extensions(extensions)
    if not root.is_dir():
        raise ValueError(f"root {str(root)!r} does not exist or is not a folder")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise ValueError(f"root {str(root)!r} has no class folders; expected root/<label>/<file>")
    items: list[AudioItem] = []
    for class_dir in class_dirs:
        found = [
            AudioItem(path=p, label=class_dir.name)
            for p in class_dir.rglob("*")
            if p.suffix.lower().lstrip(".") in exts
            and not _is_hidden(p.relative_to(class_dir))
            and is_file_or_broken_link(p)  # a broken link is reported by the scan, not dropped here
        ]
        if not found:
            logger.warning("class folder %s has no audio files; skipped", class_dir)
        items.extend(found)
    if not items:
        listed = ", ".join(sorted(exts))
        raise ValueError(
            f"root {str(root)!r} has no audio files with extensions {listed} in its class folders"
        )
    items.sort(key=lambda item: item.path)
    _refuse_files_found_twice(items)
    return items


def _refuse_files_found_twice(items: list[AudioItem]) -> None:
    """Refuse a file reached twice through symbolic links (a class folder linked to another, a linked
    file): it would carry two labels, or land in two splits (test audio in training).

    Raises:
        ValueError: naming both paths and the file they lead to.
    """
    first_found: dict[str, AudioItem] = {}
    for item in items:
        real = os.path.realpath(item.path)
        earlier = first_found.setdefault(real, item)
        if earlier is not item:
            labels = (
                f"class {earlier.label!r}"
                if earlier.label == item.label
                else f"classes {earlier.label!r} and {item.label!r}"
            )
            raise ValueError(
                f"{str(earlier.path)!r} and {str(item.path)!r} are both {real!r} (in {labels}): a file may "
                "be found once only; remove the symbolic link that leads to it twice"
            )


def not_utf8_error(path: Path, err: UnicodeDecodeError, what: str) -> ValueError:
    """The error for a text file that is not UTF-8 (another encoding, or a binary file), naming it."""
    byte = err.object[err.start : err.start + 1].hex()
    return ValueError(
        f"{what} {str(path)!r} is not UTF-8 text (it has byte 0x{byte} where UTF-8 cannot); save it as UTF-8"
    )


def _rows(
    csv_path: Path, required: tuple[str, ...], what: str, optional: tuple[str, ...] = ()
) -> Iterator[tuple[str, dict[str, str | None]]]:
    """Yield ``("<file> line <n>", row)`` for each data row, after checking the required columns.

    Column names match whatever their case and surrounding spaces (``Path`` is ``path``); a column
    that is read (``required`` or ``optional``) may appear once only. Rows whose cells are all empty (the
    ``,,`` rows a spreadsheet exports below the data) are skipped like blank lines. ``what`` names the
    file in the error when it is not UTF-8 (``"manifest CSV"``).

    Raises:
        ValueError: naming the file when it is missing, not a file, not UTF-8, lacks a column or has a
            column read twice.
    """
    reason = not_a_file_reason(csv_path)
    if reason is not None:
        problem = "does not exist" if reason == "no such file" else f"is unusable: {reason}"
        raise ValueError(f"CSV file {str(csv_path)!r} {problem}")
    try:
        yield from _decoded_rows(csv_path, required, optional)
    except UnicodeDecodeError as err:
        raise not_utf8_error(csv_path, err, what) from None


def _is_empty_row(row: dict[str, str | None]) -> bool:
    cells = [v for value in row.values() for v in (value if isinstance(value, list) else [value])]
    return not any(isinstance(cell, str) and cell.strip() for cell in cells)


def _decoded_rows(
    csv_path: Path, required: tuple[str, ...], optional: tuple[str, ...]
) -> Iterator[tuple[str, dict[str, str | None]]]:
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, skipinitialspace=True)
        fields = [name.strip().lower() for name in (reader.fieldnames or [])]
        reader.fieldnames = fields
        for column in required:
            if column not in fields:
                hint = ""
                if len(fields) == 1 and any(sep in fields[0] for sep in ";\t"):
                    hint = " (columns must be separated by commas, not semicolons or tabs)"
                raise ValueError(
                    f"{csv_path}: missing required column {column!r}; found columns {fields}{hint}"
                )
        for column in (*required, *optional):
            if fields.count(column) > 1:
                raise ValueError(
                    f"{csv_path}: column {column!r} appears {fields.count(column)} times in the header; "
                    f"keep one (found columns {fields})"
                )
        for row in reader:
            if not _is_empty_row(row):
                yield f"{csv_path} line {reader.line_num}", row


def _cell(row: dict[str, str | None], column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def read_manifest(
    csv_path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> list[AudioItem]:
    """Read a manifest CSV with a header row.

    Columns ``path`` and ``label`` are required; ``split`` (``train``/``val``/``test`` in any case, or
    empty) and ``group`` are optional; other columns are ignored. Column names match in any case. Rows of
    empty cells are skipped. A file listed twice is refused, however spelt (``./a.wav``, ``b/../a.wav``,
    a symbolic link to it).

    Args:
        csv_path: the CSV file.
        root: folder that relative paths are resolved against (default: the CSV's folder).

    Returns:
        Items in file order.

    Raises:
        ValueError: on a missing file or column, a file that is not UTF-8 text, an empty path or label,
            an unknown split or a file listed twice, naming the line (the header is line 1).
    """
    csv_path = Path(csv_path)
    base = Path(root) if root is not None else csv_path.parent
    items: list[AudioItem] = []
    first_listed: dict[str, tuple[str, str]] = {}  # real path -> (where, text) first listed
    for where, row in _rows(csv_path, ("path", "label"), "manifest CSV", ("split", "group")):
        path, label = _cell(row, "path"), _cell(row, "label")
        if not path:
            raise ValueError(f"{where}: empty path")
        if not label:
            raise ValueError(f"{where}: empty label for {path!r}")
        split = _cell(row, "split").lower() or None
        if split is not None and split not in SPLITS:
            raise ValueError(f"{where}: split must be one of {', '.join(SPLITS)} or empty; got {split!r}")
        file = Path(path) if Path(path).is_absolute() else base / path
        # the file itself, whatever the spelling: ``./a.wav``, ``sub/../a.wav`` or a link to it
        real = os.path.realpath(file)
        earlier = first_listed.setdefault(real, (where, path))
        if earlier[0] != where:  # it could land in two splits (test audio in training) or two classes
            line = earlier[0].rpartition(" ")[2]
            same = "" if earlier[1] == path else f"; {earlier[1]!r} and {path!r} are both {real!r}"
            raise ValueError(f"{where}: {path!r} is listed twice (first on line {line}){same}")
        items.append(
            AudioItem(
                path=file,
                label=label,
                split=split,
                group=_cell(row, "group") or None,
            )
        )
    if not items:
        raise ValueError(f"manifest {str(csv_path)!r} has no rows")
    return items


def _check_fold(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in ESC50_FOLDS:
        raise ValueError(f"{name} must be an ESC-50 fold in 1..5, got {value!r}")
    return value


def read_esc50(root: str | os.PathLike[str], val_fold: int = 4, test_fold: int = 5) -> list[AudioItem]:
    """Read the ESC-50 layout: ``root/meta/esc50.csv`` and ``root/audio/<filename>``.

    The label is the ``category`` column; the group is ``src_file`` (clips cut from one recording stay
    together); the split is ``"val"`` for ``val_fold``, ``"test"`` for ``test_fold`` and ``"train"`` else.

    Returns:
        Items in CSV order.

    Raises:
        ValueError: if a fold is outside 1..5, the folds are equal, or the metadata is missing or malformed.
    """
    val_fold = _check_fold("val_fold", val_fold)
    test_fold = _check_fold("test_fold", test_fold)
    if val_fold == test_fold:
        raise ValueError(f"val_fold and test_fold must differ, both are {val_fold}")
    root = Path(root)
    meta = root / "meta" / "esc50.csv"
    items: list[AudioItem] = []
    for where, row in _rows(meta, ("filename", "fold", "category", "src_file"), "ESC-50 metadata CSV"):
        fold_text = _cell(row, "fold")
        try:
            fold = int(fold_text)
        except ValueError:
            raise ValueError(f"{where}: fold must be an integer in 1..5, got {fold_text!r}") from None
        if fold not in ESC50_FOLDS:
            raise ValueError(f"{where}: fold must be in 1..5, got {fold}")
        filename, category = _cell(row, "filename"), _cell(row, "category")
        if not filename or not category:
            raise ValueError(f"{where}: empty filename or category")
        split = "val" if fold == val_fold else "test" if fold == test_fold else "train"
        items.append(
            AudioItem(
                path=root / "audio" / filename,
                label=category,
                split=split,
                group=_cell(row, "src_file") or None,
            )
        )
    if not items:
        raise ValueError(f"{meta} has no rows")
    return items
