"""DDP on CPU: two gloo processes train a tiny run; evaluation scores every file exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adaspec.training import evaluate_run
from tests.datasets import tiny_overrides


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the DDP test uses gloo on Linux")
def test_ddp_two_processes_gather_every_file_once(tone_dataset: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    overrides = tiny_overrides(
        tone_dataset,
        **{
            "trainer.accelerator": "cpu",
            "trainer.devices": 2,
            "trainer.strategy": "ddp",
            "eval.max_parts_per_batch": 4,  # several validation batches, split over the two processes
        },
    )
    config = tmp_path / "ddp.yaml"
    config.write_text("seed: 0\n")
    command = [sys.executable, "-m", "adaspec.cli", "-q", "train", str(config), *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_PORT": str(29500 + os.getpid() % 1000)}
    done = subprocess.run(
        [*command, "--runs-dir", str(runs)], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count(": best epoch") == 1  # reported by process 0 only
    # -q: no "Initializing distributed" line from each process, and no warning per epoch-level metric
    # asking for sync_dist (the training ones now are the mean over the processes)
    assert "Initializing distributed" not in done.stderr and "sync_dist" not in done.stderr, done.stderr
    metrics = json.loads((runs / "ddp" / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 2
    # 18 training files shared by 2 processes: 9 each, one batch of 8 per epoch (a last batch of 1 is
    # dropped); a single process would have taken 3 steps per epoch.
    assert metrics["epochs"][-1]["step"] == 2
    best = metrics["best"]

    single = evaluate_run(runs / "ddp" / "checkpoints" / "best.ckpt", split="val", out=tmp_path / "eval")
    assert best["val/n_files"] == len(single.result.file_ids) == 6  # 30 files x 0.2: none lost or doubled
    assert best["val/acc_file"] == pytest.approx(single.result.file.accuracy, abs=1e-6)


def test_other_processes_wait_for_process_0_to_extend_the_saved_config(
    tone_dataset: Path, tmp_path: Path
) -> None:
    """Under torchrun every process starts at once: while process 0 writes the larger trainer.max_epochs,
    the others see the old config.yaml; they wait for it instead of refusing 'another config'."""
    import threading
    import time

    from adaspec.config import resolve_config, save_config
    from adaspec.errors import UserError
    from adaspec.training.run_dir import existing_run_dir

    shorter = resolve_config(None, tiny_overrides(tone_dataset, **{"trainer.max_epochs": 2}))
    longer = {**shorter, "trainer": {**shorter["trainer"], "max_epochs": 3}}
    saved = save_config(shorter, tmp_path / "run" / "config.yaml")
    writer = threading.Timer(1.0, lambda: save_config(longer, saved))  # process 0, a moment later
    writer.start()
    start = time.monotonic()
    paths, resume = existing_run_dir(tmp_path, "run", longer, wait_seconds=20)
    writer.join()
    assert paths.config == saved and resume is None and 0.9 < time.monotonic() - start < 10
    save_config(shorter, saved)  # process 0 never extends it (it failed): refused after the wait
    with pytest.raises(UserError, match=r"another config \(trainer.max_epochs: 2 -> 3\)"):
        existing_run_dir(tmp_path, "run", longer, wait_seconds=1)


def test_other_processes_of_an_overwrite_wait_for_process_0_s_config_and_start_afresh(
    tone_dataset: Path, tmp_path: Path
) -> None:
    """Process 0 replaces an overwritten run only once its checks pass: until then the others see the old
    folder, whose config and last.ckpt are not theirs to use."""
    import threading
    import time

    from adaspec.config import resolve_config, save_config
    from adaspec.training.run_dir import existing_run_dir

    old = resolve_config(None, tiny_overrides(tone_dataset))
    new = {**old, "seed": 1}
    saved = save_config(old, tmp_path / "run" / "config.yaml")
    (tmp_path / "run" / "checkpoints").mkdir()
    (tmp_path / "run" / "checkpoints" / "last.ckpt").write_bytes(b"the old run's weights")
    assert existing_run_dir(tmp_path, "run", old, wait_seconds=1, overwrite=True)[1] is None
    writer = threading.Timer(1.0, lambda: save_config(new, saved))  # process 0, once its checks passed
    writer.start()
    start = time.monotonic()
    paths, resume = existing_run_dir(tmp_path, "run", new, wait_seconds=20, overwrite=True)
    writer.join()
    assert paths.config == saved and resume is None and 0.9 < time.monotonic() - start < 10
