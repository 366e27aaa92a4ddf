"""The wheel ships every data file the package reads: an editable install (as ``make test`` uses) finds
files that ``[tool.setuptools.package-data]`` forgets, and a ``pip install`` would then lack them."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "adaspec"
IGNORED_SUFFIXES = {".py", ".pyc"}


def test_every_data_file_in_the_package_is_declared_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = config["tool"]["setuptools"]["package-data"]
    data_files = [
        path
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in IGNORED_SUFFIXES and "__pycache__" not in path.parts
    ]
    assert data_files, "the package ships data files (the soxr response tables at least)"
    for path in data_files:
        package = ".".join(path.parent.relative_to(PACKAGE.parent).parts)
        patterns = declared.get(package, [])
        assert any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns), (
            f"{path.relative_to(ROOT)} is not in [tool.setuptools.package-data] {package!r}"
        )
