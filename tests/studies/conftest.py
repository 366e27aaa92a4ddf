"""Fixtures of the search tests: a tiny base config with a search space, and a PostgreSQL URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaspec.config import resolve_config, save_config
from tests.datasets import tiny_overrides
from tests.studies.postgres import postgres_url  # noqa: F401  (a fixture)

# Learning rates from hopeless (1e-6: the tiny model stays at chance) to good (0.01-0.1), so the median
# pruner has something to prune.
SPACE = """\
optim.lr: {type: float, low: 1.0e-6, high: 0.1, log: true}
eval.n_parts: {type: int, low: 2, high: 3}
"""


@pytest.fixture
def search_files(tone_dataset: Path, tmp_path: Path) -> tuple[Path, Path]:
    """``(config, space)`` files: the tiny tone-dataset run (2 epochs) and :data:`SPACE`."""
    config = save_config(resolve_config(None, tiny_overrides(tone_dataset)), tmp_path / "tiny.yaml")
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    return config, space
