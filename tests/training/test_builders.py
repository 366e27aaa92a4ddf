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


def test_per_channel_front_ends_of_power_and_magnitude_are_refused_under_db() -> None:
    # All three channels took the first front-end's dB rule: a magnitude channel after a power one was
    # compressed with 10 log10 instead of 20 log10, so its dB range was halved.
    from adaspec.training.builders import build_classifier

    channels = "model.channel_overrides=[{output: power}, {output: magnitude}, {output: power}]"
    base = ["data.root=/data", "frontend.name=stft", "frontend.n_fft=256", "model.adapter=per_channel"]
    config = resolve_config(None, [*base, channels])
    with pytest.raises(ConfigError, match=r"model.channel_overrides.*return power, magnitude, power: with"):
        build_classifier(config, num_classes=3)
    same = resolve_config(None, [*base, "model.channel_overrides=[{}, {n_fft: 512}, {hop_length: 64}]"])
    assert build_classifier(same, num_classes=3) is not None  # three complex outputs: one dB rule
    mixed_log = resolve_config(None, [*base, channels, "model.compression=log"])
    assert build_classifier(mixed_log, num_classes=3) is not None  # log needs no dB rule
