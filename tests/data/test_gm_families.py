"""The GM-program -> NSynth-family table, font lineages and default splits, against the project's data
notes (gm_families.md, copied here by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaspec.data.gm_families import (
    DEFAULT_SPLITS,
    FAMILIES,
    FAMILY_PROGRAMS,
    FONT_LINEAGES,
    FONT_PACKAGES,
    PROGRAM_FAMILY,
    default_split,
    lineage_of,
)

# The table of gm_families.md, "| family | programs |".
EXPECTED = {
    "bass": "32 33 34 35 36 37 38 39",
    "brass": "56 57 58 59 60 61 62 63",
    "flute": "72 73 74 75 76 77 78 79",
    "guitar": "24 25 26 27 28 29 30 105",
    "keyboard": "0 1 2 3 4 5 6 7",
    "mallet": "8 9 10 11 12 13 14 108",
    "organ": "16 17 18 19 20 21 23",
    "reed": "64 65 66 67 68 69 70 71",
    "string": "40 41 42 43 44 45 48 49",
    "synth_lead": "80 81 82 83 84 86",
    "vocal": "52 53 54 85",
}
EXCLUDED = [47, 55, 87, *range(88, 104), 113, *range(115, 128)]
AMBIGUOUS = [46, 110, 50, 51, 22, 109, 111, 31, 104, 106, 107, 15, 112, 114, 91]


def test_families_in_nsynth_order():
    assert FAMILIES == (
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
    assert tuple(FAMILY_PROGRAMS) == FAMILIES


def test_family_programs_match_the_data_notes():
    assert {family: tuple(map(int, text.split())) for family, text in EXPECTED.items()} == FAMILY_PROGRAMS


def test_no_program_in_two_families_and_the_inverse_table():
    flat = [p for programs in FAMILY_PROGRAMS.values() for p in programs]
    assert len(flat) == len(set(flat)) == 81
    assert {p: f for f, programs in FAMILY_PROGRAMS.items() for p in programs} == PROGRAM_FAMILY


def test_excluded_and_ambiguous_programs_are_absent():
    assert not set(EXCLUDED) & set(PROGRAM_FAMILY)
    assert not set(AMBIGUOUS) & set(PROGRAM_FAMILY)
    assert set(EXCLUDED) | set(AMBIGUOUS) | set(PROGRAM_FAMILY) == set(range(128))


def test_lineages_and_default_splits():
    assert FONT_LINEAGES == {
        "FluidR3_GM": "Fluid",
        "MuseScore_General_Lite": "Fluid",
        "FluidR3Mono_GM": "Fluid",
        "TimGM6mb": "small-GM",
        "sf_GMbank": "small-GM",
    }
    assert DEFAULT_SPLITS == {
        "FluidR3_GM": "train",
        "MuseScore_General_Lite": "train",
        "FluidR3Mono_GM": "train",
        "TimGM6mb": "val",
        "sf_GMbank": "test",
    }
    assert set(FONT_PACKAGES) == set(FONT_LINEAGES)
    # No lineage reaches train and an evaluation split.
    for lineage in set(FONT_LINEAGES.values()):
        splits = {DEFAULT_SPLITS[stem] for stem, lin in FONT_LINEAGES.items() if lin == lineage}
        assert splits == {"train"} or "train" not in splits


@pytest.mark.parametrize(
    ("path", "lineage", "split"),
    [
        ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "Fluid", "train"),
        (Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"), "Fluid", "train"),
        ("FluidR3Mono_GM.sf3", "Fluid", "train"),
        ("/x/TimGM6mb.sf2", "small-GM", "val"),
        ("sf_GMbank.sf2", "small-GM", "test"),
        ("/fonts/MyPiano.sf2", "MyPiano", None),
    ],
)
def test_lineage_of_and_default_split(path, lineage, split):
    assert lineage_of(path) == lineage
    assert default_split(path) == split
