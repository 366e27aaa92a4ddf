"""Errors that the command line reports as one line (exit code 2) instead of a traceback."""

from __future__ import annotations

import os
from pathlib import Path


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
