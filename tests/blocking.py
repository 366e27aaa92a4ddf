"""Import blocker for subprocess tests: ``python -c "import tests.blocking; ..."`` with the environment
variable ``ADASPEC_BLOCK`` (comma-separated top-level module names) makes importing any of those modules
raise ``ModuleNotFoundError``, as if the package were not installed."""

from __future__ import annotations

import importlib.abc
import os
import sys

BLOCKED = frozenset(filter(None, os.environ.get("ADASPEC_BLOCK", "").split(",")))


class _Blocker(importlib.abc.MetaPathFinder):
    """Refuses the blocked modules and their submodules; leaves every other import to the next finder."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None


sys.meta_path.insert(0, _Blocker())
