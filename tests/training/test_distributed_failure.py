"""DDP on CPU: a file that goes away during training in one process ends the whole run promptly, with that
process's one-line error (Lightning's launcher stops the others: no wait for the process group's timeout)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.datasets import tiny_overrides

#: Runs ``adaspec`` where the first file that process ``ADASPEC_TEST_BAD_RANK`` loads after the process
#: group started goes away just before (Lightning's launcher runs this script again for the other process).
VANISHING_RUN = """
import os
import sys
from pathlib import Path

import torch.distributed as dist

import adaspec.data.datasets as datasets
from adaspec.cli import main

load_audio = datasets.load_audio


def vanishing_load(path, *args, **kwargs):
    if dist.is_initialized() and dist.get_rank() == int(os.environ["ADASPEC_TEST_BAD_RANK"]):
        Path(path).unlink(missing_ok=True)
    return load_audio(path, *args, **kwargs)


datasets.load_audio = vanishing_load
sys.exit(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the DDP test uses gloo on Linux")
@pytest.mark.parametrize("bad_rank", [0, 1])
def test_a_file_gone_in_one_process_ends_the_run_with_its_error(
    tone_dataset: Path, tmp_path: Path, bad_rank: int
) -> None:
    data = tmp_path / "data"
    subprocess.run(["cp", "-r", str(tone_dataset), str(data)], check=True)  # files go away here
    script = tmp_path / "vanishing_run.py"
    script.write_text(VANISHING_RUN)
    config = tmp_path / "ddp.yaml"
    config.write_text("seed: 0\n")
    overrides = tiny_overrides(
        data,
        **{
            "trainer.accelerator": "cpu",
            "trainer.devices": 2,
            "trainer.strategy": "ddp",
            "data.cache": "false",
        },
    )
    command = [sys.executable, str(script), "-q", "train", str(config), *overrides]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MASTER_PORT": str(30500 + 2 * (os.getpid() % 500) + bad_rank),
        "ADASPEC_TEST_BAD_RANK": str(bad_rank),
    }
    start = time.monotonic()
    done = subprocess.run(
        [*command, "--runs-dir", str(tmp_path / "runs")], capture_output=True, text=True, timeout=120, env=env
    )
    seconds = time.monotonic() - start
    assert done.returncode != 0, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("adaspec: error: ")]
    assert any("went away since" in line for line in errors), done.stderr[-3000:]
    assert seconds < 60, seconds  # not the process group's timeout
