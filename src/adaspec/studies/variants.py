"""The front-end variants of ``adaspec compare``: seed 001's seven STFT trials (section 0.4.2) plus others.

A :class:`Variant` turns the base config into the overrides of one trial. Every variant keeps the base's
data, backbone, optimizer and budget; only the ``frontend`` section (replaced whole, so no learn flag of the
base leaks in), ``model.adapter`` and ``model.channel_overrides`` change. The analysis parameters (``n_fft``,
``hop_length``, ``win_length``, ``window``, ``center``, ...) come from the base's ``frontend`` section.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import resolve_config, set_dotted
from ..errors import UserError
from ..frontends.registry import available_frontends
from ..kernels import cqt_frequencies, cqt_lengths, relative_bandwidth

# Keys an STFT and a mel spectrogram share; taken from a base front-end of another kind where present.
SHARED_KEYS = ("n_fft", "win_length", "hop_length", "window", "center", "pad_mode", "normalized")
# Learn flags of every kind: dropped from a copied base section, so the variant alone decides what learns.
LEARN_FLAGS = ("learn_window", "learn_kernels", "learn_filters")
DEFAULT_N_MELS = 128

Overrides = dict[str, Any]


@dataclass(frozen=True)
class Variant:
    """One trial of the study.

    Attributes:
        name: the name on the command line and in the tables (also the run folder).
        description: one line for ``results.md``.
        frontend: the registered front-end it needs (the variant is available only when it is registered).
        build: base resolved config -> overrides: ``"frontend"`` maps to the whole new front-end section,
            other keys are dotted paths.
    """

    name: str
    description: str
    frontend: str
    build: Callable[[Mapping[str, Any]], Overrides]

    @property
    def available(self) -> bool:
        """Whether the front-end it needs is registered."""
        return self.frontend in available_frontends()


def _base_section(base: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The base's front-end section for front-end ``name``: all of it when the base already is ``name``,
    else only the shared analysis keys; learn flags and ``sample_rate`` (refilled) are dropped."""
    section = dict(base.get("frontend") or {})
    if section.get("name") == name:
        kept = {k: copy.deepcopy(v) for k, v in section.items() if k not in (*LEARN_FLAGS, "sample_rate")}
    else:
        kept = {k: copy.deepcopy(section[k]) for k in SHARED_KEYS if k in section}
    kept["name"] = name
    return kept


def _stft(
    learn_window: bool, learn_kernels: bool, per_channel: bool
) -> Callable[[Mapping[str, Any]], Overrides]:
    def build(base: Mapping[str, Any]) -> Overrides:
        section = _base_section(base, "stft")
        section.update(output="magnitude", learn_window=learn_window, learn_kernels=learn_kernels)
        return {
            "frontend": section,
            "model.adapter": "per_channel" if per_channel else "repeat",
            "model.channel_overrides": None,
        }

    return build


def _mel(learn: bool) -> Callable[[Mapping[str, Any]], Overrides]:
    def build(base: Mapping[str, Any]) -> Overrides:
        section = _base_section(base, "mel")
        # At most one band per 4 FFT bins, so no triangle is empty (128 bands need n_fft >= 1024).
        section.setdefault("n_mels", min(DEFAULT_N_MELS, max(8, int(section.get("n_fft", 400)) // 8)))
        section.update(learn_window=learn, learn_kernels=False, learn_filters=learn)
        return {"frontend": section, "model.adapter": "repeat", "model.channel_overrides": None}

    return build


def _hop_section(base: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A new section for front-end ``name`` that keeps only the base's ``hop_length`` (frame rate)."""
    section: dict[str, Any] = {"name": name}
    if "hop_length" in base["frontend"]:
        section["hop_length"] = copy.deepcopy(base["frontend"]["hop_length"])
    return section


def _compressed(base: Mapping[str, Any], section: dict[str, Any]) -> Overrides:
    """Overrides for a fixed magnitude front-end: repeated to 3 channels, compressed as the base says (dB
    where the base has no compression)."""
    compression = base["model"]["compression"]
    return {
        "frontend": section,
        "model.adapter": "repeat",
        "model.channel_overrides": None,
        "model.compression": "db" if compression == "none" else compression,
    }


def _degram(base: Mapping[str, Any]) -> Overrides:
    """DEGram on the base's analysis (STFT power -> SincGram -> log -> TF attention -> z-score), learning
    its band-pass filters; its output is already logarithmic and normalised, so no compression follows."""
    section = _base_section(base, "degram")
    section.setdefault("n_filters", min(64, max(8, int(section.get("n_fft", 400)) // 8)))
    section.update(learn_filters=True, learn_window=False, learn_kernels=False)
    return {
        "frontend": section,
        "model.adapter": "repeat",
        "model.channel_overrides": None,
        "model.compression": "none",
    }


def _leaf(base: Mapping[str, Any]) -> Overrides:
    """LEAF on the waveform at the base's hop, every part learnable; its PCEN output needs no compression."""
    section = _hop_section(base, "leaf")
    section.update(n_filters=64, learn_filters=True, learn_pooling=True, learn_pcen=True)
    return {
        "frontend": section,
        "model.adapter": "repeat",
        "model.channel_overrides": None,
        "model.compression": "none",
    }


def _cwt(base: Mapping[str, Any]) -> Overrides:
    """A complex Morlet CWT (pywt's ``cmor1.5-1.0``) on semitones from C1 (32.70 Hz, whose wavelet spans
    16 / 32.70 ~ 0.49 s) up to at most 0.9 x Nyquist (A7, 7040 Hz, at 16 kHz: 94 rows), magnitude at the
    base's hop; a base without compression gets dB."""
    f_min, nyquist = 32.70, base["data"]["sample_rate"] / 2.0
    n_bins = math.floor(12.0 * math.log2(0.9 * nyquist / f_min)) + 1
    section = _hop_section(base, "cwt")
    section.update(
        wavelet="morlet",
        f_min=f_min,
        f_max=f_min * 2.0 ** ((n_bins - 1) / 12.0),
        n_bins=n_bins,
        output="magnitude",
        learn_wavelets=False,
    )
    return _compressed(base, section)


def _cqt(base: Mapping[str, Any]) -> Overrides:
    """A fixed constant-Q magnitude (librosa.cqt's conventions) at 12 bins per octave and the base's hop:
    from C1 (32.70 Hz, whose filter spans 0.53 s) up to 7 octaves, fewer where the filters would pass
    Nyquist (84 rows at 16 kHz, C1 to B7). When the shortest input (an evaluation part, at least
    ``clip_seconds / n_parts``) cannot hold C1's filter, ``f_min`` moves up to the first semitone whose
    filter fits. A base without compression gets dB."""
    sample_rate, bins_per_octave = float(base["data"]["sample_rate"]), 12
    shortest = base["data"]["clip_seconds"] / base["eval"]["n_parts"]
    quality = 1.0 / relative_bandwidth(bins_per_octave)
    semitones = max(0, math.ceil(bins_per_octave * math.log2(quality / shortest / 32.70)))
    f_min = 32.70 * 2.0 ** (semitones / bins_per_octave)
    frequencies = cqt_frequencies(7 * bins_per_octave, f_min, bins_per_octave)
    _, reach = cqt_lengths(frequencies, sample_rate, bins_per_octave=bins_per_octave)
    section = _hop_section(base, "cqt")
    section.update(
        f_min=f_min,
        n_bins=int((reach <= sample_rate / 2).sum()),
        bins_per_octave=bins_per_octave,
        output="magnitude",
        learn_kernels=False,
    )
    return _compressed(base, section)


def _stft_variant(name: str, text: str, window: bool, kernels: bool, per_channel: bool = False) -> Variant:
    return Variant(name, text, "stft", _stft(window, kernels, per_channel))


_ALL: tuple[Variant, ...] = (
    _stft_variant("stft", "fixed STFT magnitude (no learning)", False, False),
    _stft_variant("stft_window", "STFT, learnable window", True, False),
    _stft_variant("stft_kernels", "STFT, learnable DFT kernels", False, True),
    _stft_variant("stft_both", "STFT, learnable window and DFT kernels", True, True),
    _stft_variant("stft3_window", "3 STFTs (one per channel), learnable windows", True, False, True),
    _stft_variant("stft3_kernels", "3 STFTs (one per channel), learnable DFT kernels", False, True, True),
    _stft_variant("stft3_both", "3 STFTs (one per channel), learnable windows and kernels", True, True, True),
    Variant("mel", "fixed mel spectrogram", "mel", _mel(learn=False)),
    Variant("mel_learn", "mel spectrogram, learnable window and filterbank", "mel", _mel(learn=True)),
    Variant("cqt", "constant-Q transform: 12 bins per octave from C1, magnitude", "cqt", _cqt),
    Variant("cwt", "continuous wavelet transform: complex Morlet, 12 bins per octave", "cwt", _cwt),
    Variant("degram", "DEGram: learnable SincGram + time-frequency attention + z-score", "degram", _degram),
    Variant("leaf", "LEAF: learnable Gabor filters, Gaussian pooling and PCEN", "leaf", _leaf),
)
VARIANTS: dict[str, Variant] = {variant.name: variant for variant in _ALL}

# Seed 001's seven STFT trials plus fixed and learnable mel.
DEFAULT_VARIANTS: tuple[str, ...] = (
    "stft",
    "stft_window",
    "stft_kernels",
    "stft_both",
    "stft3_window",
    "stft3_kernels",
    "stft3_both",
    "mel",
    "mel_learn",
)


def available_variants() -> list[str]:
    """Names of the variants whose front-end is registered, in table order."""
    return [variant.name for variant in _ALL if variant.available]


def get_variant(name: str) -> Variant:
    """The variant called ``name``.

    Raises:
        UserError: unknown, or its front-end is not registered; the available variants are listed.
    """
    allowed = ", ".join(available_variants())
    if name not in VARIANTS:
        raise UserError(f"--variants: unknown variant {name!r}; available: {allowed}")
    variant = VARIANTS[name]
    if not variant.available:
        raise UserError(
            f"--variants: variant {name!r} needs the front-end {variant.frontend!r} (not registered); "
            f"available: {allowed}"
        )
    return variant


def parse_variants(text: str | Sequence[str] | None) -> list[str]:
    """``"stft,mel"`` (or a list) -> checked names in the given order; ``None``/``"default"`` gives
    :data:`DEFAULT_VARIANTS`, ``"all"`` every available variant.

    Raises:
        UserError: an empty list, a repeated name, an unknown/unavailable variant, or something other than
            names.
    """
    if text is None:
        return list(DEFAULT_VARIANTS)
    if not isinstance(text, (str, Sequence)):
        raise UserError(f"--variants: must be comma-separated names or a list of names, got {text!r}")
    parts = text.split(",") if isinstance(text, str) else list(text)
    wrong = [part for part in parts if not isinstance(part, str)]
    if wrong:
        raise UserError(f"--variants: a variant must be a name (a string), got {wrong[0]!r}")
    names = [part.strip() for part in parts if part.strip()]
    if names == ["default"]:
        return list(DEFAULT_VARIANTS)
    if names == ["all"]:
        return available_variants()
    if not names:
        raise UserError(f"--variants: no variant given; available: {', '.join(available_variants())}")
    groups = [name for name in names if name in ("all", "default")]
    if groups:  # only alone: 'all,stft' would otherwise read as an unknown variant 'all'
        raise UserError(f"--variants: {groups[0]!r} stands alone; name the variants instead")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserError(f"--variants: {', '.join(repeated)} given more than once")
    for name in names:
        get_variant(name)
    return names


def variant_config(base: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The resolved config of variant ``name`` on top of the resolved ``base``.

    Raises:
        UserError: an unknown variant; ConfigError when the base does not fit it (naming the key).
    """
    overrides = get_variant(name).build(base)
    config = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if key == "frontend":
            config["frontend"] = value
        else:
            config = set_dotted(config, key, value)
    return resolve_config(config)
