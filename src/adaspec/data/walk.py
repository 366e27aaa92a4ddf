"""Audio files named on a command line: files as given, folders walked recursively."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .audio import AUDIO_EXTENSIONS


def is_file_or_broken_link(path: Path) -> bool:
    """Whether a walk should list ``path``: a file, or a link to nothing (listed so that it is reported as
    unreadable with its path instead of silently left out)."""
    return path.is_file() or (path.is_symlink() and not path.exists())


def find_audio_files(
    inputs: Sequence[Path], extensions: Iterable[str] = AUDIO_EXTENSIONS
) -> list[tuple[Path, Path]]:
    """Expand files and folders into audio files.

    Args:
        inputs: files (kept as given, even when missing, so that they are reported) and folders (walked
            recursively for files with one of ``extensions``, sorted, hidden files and the files in hidden
            folders such as ``.Trashes`` skipped, broken links kept so that they are reported).
        extensions: file extensions without the dot, any case.

    Returns:
        ``(file, path relative to its input)`` pairs in input order (a file given directly is relative to
        its own folder), so that outputs can mirror each input folder's structure.
    """
    suffixes = {f".{ext.lower()}" for ext in extensions}
    found: list[tuple[Path, Path]] = []
    for root in inputs:
        if root.is_dir():
            files = sorted(
                p
                for p in root.rglob("*")
                if p.suffix.lower() in suffixes
                and not any(part.startswith(".") for part in p.relative_to(root).parts)
                and is_file_or_broken_link(p)
            )
            found += [(p, p.relative_to(root)) for p in files]
        else:
            found.append((root, Path(root.name)))
    return found
