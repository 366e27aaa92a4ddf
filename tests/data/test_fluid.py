"""adaspec.data.fluid: loading pyfluidsynth leaves the command's own output alone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from adaspec.data.fluid import INSTALL_HINT, fluidsynth_available

needs_fluidsynth = pytest.mark.skipif(
    not fluidsynth_available(), reason=f"FluidSynth missing: {INSTALL_HINT}"
)

_LOAD_AND_SAY_DONE = """
from adaspec.data.fluid import fluidsynth_module
fluidsynth_module()
print("done")
"""


@needs_fluidsynth
def test_loading_pyfluidsynth_under_ci_prints_nothing_on_stdout() -> None:
    """pyfluidsynth prints where it found libfluidsynth when $CI is set (as on GitHub Actions): that line
    must not reach stdout, where a command's table or JSON goes."""
    environment = {**os.environ, "CI": "true"}
    command = [sys.executable, "-c", _LOAD_AND_SAY_DONE]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
