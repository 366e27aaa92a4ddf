"""The front-ends need only torch, numpy and scipy: every one runs forward and backward in a process where
the ``cli`` extra's packages (and the test oracles) cannot be imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaspec.cli import CLI_EXTRA_MODULES
from tests.helpers import run_blocked

ROOT = Path(__file__).resolve().parents[1]
#: The cli extra, the test-only oracles and peers, and what they pull in.
NOT_CORE = sorted({*CLI_EXTRA_MODULES, "librosa", "numba", "nnAudio", "pandas", "psycopg", "pywt", "sklearn"})

SCRIPT = """
import sys
import tests.blocking
import torch
import adaspec, adaspec.ops, adaspec.kernels
from tests.helpers import LEARNABLE_NAMES, build_learnable

for name in LEARNABLE_NAMES:
    module = build_learnable(name)
    shape = {"pcen": (2, 8, 30), "amplitude_to_db": (2, 24, 30)}.get(name, (2, 4000))
    out = module(torch.rand(shape, requires_grad=True))
    (out.abs() if out.is_complex() else out).sum().backward()
leaked = sorted(name for name in tests.blocking.BLOCKED if name in sys.modules)
assert not leaked, leaked
print("ran", len(LEARNABLE_NAMES))
"""


def test_every_front_end_runs_without_the_cli_extra() -> None:
    result = run_blocked(SCRIPT, NOT_CORE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ran ")


def test_the_blocker_blocks() -> None:
    """The check above means something: a blocked module really cannot be imported."""
    result = run_blocked("import tests.blocking, yaml", ["yaml"])
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


def test_core_requirements_are_torch_numpy_and_scipy() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {requirement.split(">")[0].split("=")[0].strip() for requirement in project["dependencies"]}
    assert names == {"torch", "numpy", "scipy"}
    extra = {requirement.split(">")[0].strip() for requirement in project["optional-dependencies"]["cli"]}
    assert set(CLI_EXTRA_MODULES.values()) <= extra
