"""Errors that the command line reports as one line (exit code 2) instead of a traceback."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def shown_path(path: os.PathLike[str] | str) -> str:
    """``path`` for a message: a name that is not valid UTF-8 with its odd bytes as ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


class UserError(ValueError):
    """A problem with what the user asked for: a config key, a path, a data file, a checkpoint."""


class FileProblem(UserError):
    """A file that cannot be used, reported as ``"path: reason"``.

    Attributes:
        path: the file.
        reason: what is wrong with it, in words.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep (path, reason) through pickling (DataLoader and render workers)
        return type(self), (self.path, self.reason)


class ConfigError(UserError):
    """A config key that is unknown, of the wrong type or out of range.

    Args:
        key: dotted key path, e.g. ``"optim.lr"``.
        message: what is wrong and what is allowed.
    """

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"config key '{key}': {message}" if key else f"config: {message}")


def not_a_file_reason(path: str | os.PathLike[str], allow_pipe: bool = False) -> str | None:
    """Why ``path`` cannot be read as a file, in words, or ``None`` when it can.

    Args:
        path: the path.
        allow_pipe: accept a named pipe (``<(command)`` in a shell) as well as a regular file.

    Returns:
        ``"no such file"``, ``"a broken link"``, ``"is a folder"``, ``"not a regular file (a device or
        socket)"`` or ``None``.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a broken link" if path.is_symlink() else "no such file"
    except OSError as err:
        return err.strerror or str(err)
    if stat.S_ISREG(mode) or (allow_pipe and stat.S_ISFIFO(mode)):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder"
    return "not a regular file (a device, pipe or socket)"


def one_line(err: BaseException | str, limit: int | None = 300) -> str:
    """An exception's message (or a text) on one line (whitespace runs collapsed), at most ``limit``
    characters (``None``: all), or the exception's type name when it has no message."""
    text = " ".join(str(err).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text or type(err).__name__


def plural(count: int, noun: str) -> str:
    """``noun`` as it follows the number ``count``: ``plural(1, "file")`` is ``"file"``, ``plural(0,
    "class")`` is ``"classes"``."""
    if count == 1:
        return noun
    return f"{noun}es" if noun.endswith(("s", "x", "ch", "sh")) else f"{noun}s"


def install_hint(extra: str) -> str:
    """How to install one of adaspec's optional extras, from the package index or from a clone.

    Args:
        extra: the extra's name in ``pyproject.toml`` (``cli``, ``plots``, ``onnx``, ...).
    """
    return f"pip install 'adaspec[{extra}]' (or '.[{extra}]' in a clone)"
