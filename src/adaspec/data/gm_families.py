"""General-MIDI programs grouped into the 11 NSynth instrument families, and the sample lineages and
default splits of the SoundFonts that Debian packages ship.

Programs are 0-based (GM program number minus one), bank 0 only. Left out on purpose: 47 (timpani), 55
(orchestra hit), 87 (same samples as 38 in several fonts), 88-103 (pads, FX), 113 and 115-127
(percussion, sound effects), and the ambiguous 15, 22, 31, 46, 50, 51, 104, 106, 107, 109-112, 114.

Fonts of one lineage share byte-identical recordings for most programs, so the default dataset splits
by lineage, never by file: the Fluid lineage trains, TimGM6mb validates, sf_GMbank tests.
"""

from __future__ import annotations

import os
from pathlib import Path

FAMILIES: tuple[str, ...] = (
    "bass",
    "brass",
    "flute",
    "guitar",
    "keyboard",
    "mallet",
    "organ",
    "reed",
    "string",
    "synth_lead",
    "vocal",
)
"""Family labels in NSynth order (label ids 0..10)."""

FAMILY_PROGRAMS: dict[str, tuple[int, ...]] = {
    "bass": (32, 33, 34, 35, 36, 37, 38, 39),
    "brass": (56, 57, 58, 59, 60, 61, 62, 63),
    "flute": (72, 73, 74, 75, 76, 77, 78, 79),
    "guitar": (24, 25, 26, 27, 28, 29, 30, 105),
    "keyboard": (0, 1, 2, 3, 4, 5, 6, 7),
    "mallet": (8, 9, 10, 11, 12, 13, 14, 108),
    "organ": (16, 17, 18, 19, 20, 21, 23),
    "reed": (64, 65, 66, 67, 68, 69, 70, 71),
    "string": (40, 41, 42, 43, 44, 45, 48, 49),
    "synth_lead": (80, 81, 82, 83, 84, 86),
    "vocal": (52, 53, 54, 85),
}
"""Family -> its 0-based GM programs (bank 0), 81 programs in all."""

PROGRAM_FAMILY: dict[int, str] = {
    program: family for family, programs in FAMILY_PROGRAMS.items() for program in programs
}
"""0-based GM program -> family, for the programs of :data:`FAMILY_PROGRAMS` only."""

FONT_LINEAGES: dict[str, str] = {
    "FluidR3_GM": "Fluid",
    "MuseScore_General_Lite": "Fluid",
    "FluidR3Mono_GM": "Fluid",
    "TimGM6mb": "small-GM",
    "sf_GMbank": "small-GM",
}
"""SoundFont file stem -> sample lineage, for the fonts of the Debian packages."""

FONT_PACKAGES: dict[str, str] = {
    "FluidR3_GM": "fluid-soundfont-gm",
    "MuseScore_General_Lite": "musescore-general-soundfont-small",
    "FluidR3Mono_GM": "fluidr3mono-gm-soundfont",
    "TimGM6mb": "timgm6mb-soundfont",
    "sf_GMbank": "csound-soundfont",
}
"""SoundFont file stem -> the Debian package that installs it."""

DEFAULT_SPLITS: dict[str, str] = {
    "FluidR3_GM": "train",
    "MuseScore_General_Lite": "train",
    "FluidR3Mono_GM": "train",
    "TimGM6mb": "val",
    "sf_GMbank": "test",
}
"""SoundFont file stem -> split of the default dataset (train on Fluid, validate and test on small-GM)."""


def lineage_of(path: str | os.PathLike[str]) -> str:
    """The sample lineage of a SoundFont: from :data:`FONT_LINEAGES`, else the file's own stem.

    Args:
        path: a SoundFont path or file name (only the stem is used).

    Returns:
        ``"Fluid"``, ``"small-GM"`` or, for an unknown font, its stem (a lineage of its own).
    """
    stem = Path(path).stem
    return FONT_LINEAGES.get(stem, stem)


def default_split(path: str | os.PathLike[str]) -> str | None:
    """The default-dataset split of a SoundFont, from :data:`DEFAULT_SPLITS` by file stem.

    Returns:
        ``"train"``, ``"val"``, ``"test"``, or ``None`` for a font the default dataset does not know.
    """
    return DEFAULT_SPLITS.get(Path(path).stem)
