"""Writing a file so that readers, and other processes writing it too, only ever see a whole file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

#: Name of :func:`replaced_atomically`'s temporary file for ``name``, in the same folder: hidden, one per
#: process, and ending in ``.tmp`` (no audio, CSV or model extension, so no scan takes it for an output).
_TEMPORARY = ".{name}.{pid}.tmp"


@contextlib.contextmanager
def replaced_atomically(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary file of this process in ``path``'s folder to write, then rename it over ``path``:
    a reader sees the old file or the new one, never half of one, and two processes writing the same file
    at once (search workers writing the study's reports) leave one of their files whole. If the block
    fails (an error, Ctrl-C), ``path`` is untouched and the temporary file removed.

    Args:
        path: the file to write (its folder must exist).

    Yields:
        The temporary file's path.
    """
    path = Path(path)
    tmp = path.with_name(_TEMPORARY.format(name=path.name, pid=os.getpid()))
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        _name_the_target(err, tmp, path)
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _name_the_target(err: OSError, tmp: Path, path: Path) -> None:
    """An error about the temporary file (an unwritable folder, a full disk) names ``path``, the file the user
    asked for, instead of the temporary name."""
    if err.filename is not None and os.fspath(err.filename) == os.fspath(tmp):
        err.filename = os.fspath(path)
        if err.filename2 is not None and os.fspath(err.filename2) == os.fspath(path):
            err.filename2 = None


def temporary_glob(pattern: str) -> str:
    """The glob pattern of the temporary files :func:`replaced_atomically` writes for files whose names
    match ``pattern``: to find those that a killed process (SIGKILL, a power cut) left behind.

    Args:
        pattern: a file name or glob pattern, e.g. ``"*.flac"``.

    Returns:
        The pattern of their temporary files, e.g. ``".*.flac.*.tmp"``.
    """
    return _TEMPORARY.format(name=pattern, pid="*")


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, line endings as given) to ``path`` through :func:`replaced_atomically`.

    Args:
        path: the file to write (its folder must exist).
        text: its new content.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    with replaced_atomically(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
    return Path(path)
