"""Waveform augmentation (gain, Gaussian noise at a random SNR, circular shift, polarity) with
audiomentations, made reproducible from a numpy Generator."""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from audiomentations import AddGaussianSNR, Compose, Gain, PolarityInversion, Shift

from .._validation import check_positive_int
from ..config.schema import GAIN_DB_LIMIT

WaveformAugmentFn = Callable[[np.ndarray, np.random.Generator], np.ndarray]

DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "gain_db": (-6.0, 6.0),
    "gain_p": 0.5,
    "noise_snr_db": (10.0, 40.0),
    "noise_p": 0.5,
    "shift_max": 0.2,
    "shift_p": 0.5,
    "polarity_p": 0.5,
}
# Spectrogram masking options live in the same config section but are applied by another layer.
SPECTROGRAM_KEYS = ("time_mask_width", "time_masks", "freq_mask_width", "freq_masks")


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"augment.{key} must be a finite number, got {value!r}")
    return float(value)


def _probability(key: str, value: Any) -> float:
    p = _number(key, value)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"augment.{key} must be a probability in [0, 1], got {value!r}")
    return p


def _range(key: str, value: Any) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"augment.{key} must be a [low, high] pair of numbers, got {value!r}")
    low, high = _number(key, value[0]), _number(key, value[1])
    if low > high:
        raise ValueError(f"augment.{key} must have low <= high, got {value!r}")
    return low, high


class WaveformAugment:
    """A seeded audiomentations pipeline: ``augment(wave, rng) -> wave``.

    audiomentations draws from the global ``random`` and ``np.random`` streams; each call seeds both from
    ``rng`` and restores their previous states afterwards, so the output depends only on ``rng`` and the
    caller's global streams are left as they were. (Not thread-safe: the global states are shared.)
    Picklable, for DataLoader workers.
    """

    def __init__(self, compose: Compose, sample_rate: int) -> None:
        self.compose = compose
        self.sample_rate = sample_rate

    def __call__(self, wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment a 1-D waveform; returns a new float32 array of the same length."""
        py_seed, np_seed = (int(s) for s in rng.integers(0, 2**32, size=2))
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            random.seed(py_seed)
            np.random.seed(np_seed)
            out = self.compose(samples=np.array(wave, dtype=np.float32), sample_rate=self.sample_rate)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        return np.ascontiguousarray(out, dtype=np.float32)


def build_waveform_augment(config: Mapping[str, Any] | None, sample_rate: int) -> WaveformAugmentFn | None:
    """Build the waveform augmentation from the ``augment`` config section.

    Keys (all optional): ``enabled`` (default false), ``gain_db`` ``[low, high]`` and ``gain_p``,
    ``noise_snr_db`` ``[low, high]`` and ``noise_p`` (Gaussian noise at a random SNR), ``shift_max``
    (largest circular shift as a fraction of the length) and ``shift_p``, ``polarity_p``. The spectrogram
    masking keys ``time_mask_width, time_masks, freq_mask_width, freq_masks`` are accepted and ignored.

    Args:
        config: the section (``None`` means disabled).
        sample_rate: sampling rate of the waveforms in Hz.

    Returns:
        ``augment(wave, rng)``, or ``None`` when not enabled.

    Raises:
        ValueError: naming ``augment.<key>`` for an unknown key or a bad value.
    """
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise ValueError(f"augment must be a mapping of options, got {config!r}")
    allowed = (*DEFAULTS, *SPECTROGRAM_KEYS)
    for key in config:
        if key not in allowed:
            raise ValueError(f"augment.{key} is not a known option; allowed: {', '.join(allowed)}")
    options = {**DEFAULTS, **{k: v for k, v in config.items() if k in DEFAULTS}}
    if not isinstance(options["enabled"], bool):
        raise ValueError(f"augment.enabled must be true or false, got {options['enabled']!r}")
    sample_rate = check_positive_int("sample_rate", sample_rate)
    gain_low, gain_high = _range("gain_db", options["gain_db"])
    if max(abs(gain_low), abs(gain_high)) > GAIN_DB_LIMIT:
        raise ValueError(
            f"augment.gain_db must lie within +-{GAIN_DB_LIMIT:g} dB (a gain of 120 dB scales by 1e6), "
            f"got {options['gain_db']!r}"
        )
    snr_low, snr_high = _range("noise_snr_db", options["noise_snr_db"])
    shift_max = _number("shift_max", options["shift_max"])
    if not 0.0 <= shift_max <= 1.0:
        raise ValueError(f"augment.shift_max must be a fraction of the length in [0, 1], got {shift_max!r}")
    probabilities = {
        key: _probability(key, options[key]) for key in ("gain_p", "noise_p", "shift_p", "polarity_p")
    }
    if not options["enabled"]:
        return None
    transforms = [
        Gain(min_gain_db=gain_low, max_gain_db=gain_high, p=probabilities["gain_p"]),
        AddGaussianSNR(min_snr_db=snr_low, max_snr_db=snr_high, p=probabilities["noise_p"]),
        Shift(
            min_shift=-shift_max,
            max_shift=shift_max,
            shift_unit="fraction",
            rollover=True,
            p=probabilities["shift_p"],
        ),
        PolarityInversion(p=probabilities["polarity_p"]),
    ]
    return WaveformAugment(Compose(transforms), sample_rate)
