"""Writing a file so that readers, and other processes writing it too, only ever see a whole file."""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, line endings as given) to ``path`` through a temporary file of this process in
    the same folder, then rename it over ``path``: a reader sees the old file or the new one, never half of
    one, and two processes writing the same file at once (search workers writing the study's reports)
    leave one of their files whole. If writing fails, ``path`` is untouched and the temporary file removed.

    Args:
        path: the file to write (its folder must exist).
        text: its new content.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
