"""Building a run's modules from its config: front-ends a classifier cannot start with."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaspec.config import resolve_config
from adaspec.errors import ConfigError
from adaspec.training import train
from tests.datasets import tiny_overrides


def test_a_spectrogram_input_frontend_is_refused_before_the_run_folder(
    tone_dataset: Path, tmp_path: Path
) -> None:
    # amplitude_to_db passed every check and failed at the first training step, after the run folder was
    # made, with "spectrogram must have shape (batch, freq, frames), got shape (8, 4000)".
    overrides = tiny_overrides(
        tone_dataset, **{"frontend.name": "amplitude_to_db", "model.compression": "none"}
    )
    overrides = [
        o for o in overrides if not o.startswith(("frontend.n_fft", "frontend.hop", "frontend.output"))
    ]
    with pytest.raises(
        ConfigError, match=r"frontend.name.*'amplitude_to_db' takes a spectrogram, not a waveform"
    ):
        train(resolve_config(None, overrides), name="db", runs_dir=tmp_path)
    assert not (tmp_path / "db").exists()
