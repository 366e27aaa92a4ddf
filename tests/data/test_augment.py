"""Waveform augmentation: config checks, closed-form single transforms, determinism, global RNGs."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from adaspec.data import build_waveform_augment

SR = 16000
ALL_OFF = {"enabled": True, "gain_p": 0.0, "noise_p": 0.0, "shift_p": 0.0, "polarity_p": 0.0}


def _wave(n: int = 4000) -> np.ndarray:
    t = np.arange(n) / SR
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize("config", [None, {}, {"enabled": False}, {"enabled": False, "gain_p": 1.0}])
def test_disabled_gives_none(config):
    assert build_waveform_augment(config, SR) is None


def test_spectrogram_keys_are_accepted():
    config = {"enabled": True, "time_mask_width": 20, "time_masks": 2, "freq_mask_width": 8, "freq_masks": 2}
    assert build_waveform_augment(config, SR) is not None


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"enabled": True, "gain": 3}, r"augment\.gain is not a known option"),
        ({"enabled": "yes"}, r"augment\.enabled"),
        ({"enabled": True, "gain_db": [6, -6]}, r"augment\.gain_db must have low <= high"),
        ({"enabled": True, "gain_db": 6}, r"augment\.gain_db must be a \[low, high\]"),
        ({"enabled": True, "gain_db": [0, 800]}, r"augment\.gain_db must lie within \+-120 dB"),
        ({"enabled": False, "gain_db": [-121, 0]}, r"augment\.gain_db must lie within \+-120 dB"),
        ({"enabled": True, "noise_snr_db": [10, "x"]}, r"augment\.noise_snr_db"),
        ({"enabled": True, "noise_p": 1.5}, r"augment\.noise_p must be a probability"),
        ({"enabled": True, "shift_max": 2.0}, r"augment\.shift_max"),
        ({"enabled": False, "polarity_p": -1}, r"augment\.polarity_p"),
    ],
)
def test_bad_config_names_the_key(config, match):
    with pytest.raises(ValueError, match=match):
        build_waveform_augment(config, SR)


def test_bad_sample_rate():
    with pytest.raises(ValueError, match="sample_rate"):
        build_waveform_augment({"enabled": True}, 0)


def test_all_off_is_identity():
    wave = _wave()
    out = build_waveform_augment(ALL_OFF, SR)(wave, np.random.default_rng(0))
    np.testing.assert_array_equal(out, wave)


def test_gain_is_the_decibel_factor():
    augment = build_waveform_augment({**ALL_OFF, "gain_p": 1.0, "gain_db": [6.0, 6.0]}, SR)
    wave = _wave()
    np.testing.assert_allclose(augment(wave, np.random.default_rng(0)), wave * 10 ** (6 / 20), rtol=1e-6)


def test_polarity_flips_the_sign():
    augment = build_waveform_augment({**ALL_OFF, "polarity_p": 1.0}, SR)
    wave = _wave()
    np.testing.assert_array_equal(augment(wave, np.random.default_rng(0)), -wave)


def test_noise_has_the_requested_snr():
    augment = build_waveform_augment({**ALL_OFF, "noise_p": 1.0, "noise_snr_db": [20.0, 20.0]}, SR)
    wave = _wave(32000)
    noise = augment(wave, np.random.default_rng(0)) - wave
    snr = 20 * np.log10(np.sqrt(np.mean(wave**2)) / np.sqrt(np.mean(noise**2)))
    assert snr == pytest.approx(20.0, abs=0.2)


def test_shift_is_a_rotation_except_the_faded_seam():
    augment = build_waveform_augment({**ALL_OFF, "shift_p": 1.0, "shift_max": 0.25}, SR)
    wave = np.random.default_rng(1).standard_normal(4000).astype(np.float32)
    out = augment(wave, np.random.default_rng(3))
    index = np.arange(wave.size)

    def matches(shift: int) -> bool:  # the old start/end now meet at index shift, with a short fade there
        seam = shift % wave.size
        far = np.minimum(np.abs(index - seam), wave.size - np.abs(index - seam)) > 0.01 * SR
        return np.allclose(np.roll(wave, shift)[far], out[far])

    shifts = [shift for shift in range(-1000, 1001) if matches(shift)]
    assert len(shifts) == 1 and shifts[0] != 0


def test_same_generator_seed_same_output_and_float32():
    augment = build_waveform_augment({"enabled": True, "gain_p": 1.0, "noise_p": 1.0, "shift_p": 1.0}, SR)
    wave = _wave().astype(np.float64)
    first = augment(wave, np.random.default_rng(42))
    np.testing.assert_array_equal(first, augment(wave, np.random.default_rng(42)))
    assert not np.array_equal(first, augment(wave, np.random.default_rng(43)))
    assert first.dtype == np.float32 and first.shape == wave.shape and np.isfinite(first).all()


def test_global_random_streams_are_untouched():
    augment = build_waveform_augment({"enabled": True, "noise_p": 1.0}, SR)
    random.seed(5)
    np.random.seed(5)
    expected = (random.random(), np.random.random())
    random.seed(5)
    np.random.seed(5)
    augment(_wave(), np.random.default_rng(0))
    assert (random.random(), np.random.random()) == expected


def test_output_does_not_depend_on_global_state():
    augment = build_waveform_augment({"enabled": True, "noise_p": 1.0}, SR)
    random.seed(1)
    np.random.seed(1)
    first = augment(_wave(), np.random.default_rng(9))
    random.seed(2)
    np.random.seed(2)
    np.testing.assert_array_equal(first, augment(_wave(), np.random.default_rng(9)))


def test_picklable_for_dataloader_workers():
    augment = build_waveform_augment({"enabled": True, "noise_p": 1.0}, SR)
    again = pickle.loads(pickle.dumps(augment))
    np.testing.assert_array_equal(
        augment(_wave(), np.random.default_rng(4)), again(_wave(), np.random.default_rng(4))
    )
