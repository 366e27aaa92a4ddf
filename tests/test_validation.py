"""The shared parameter checks: NaN, infinity, strings and bools are refused with a ValueError naming the
parameter; NumPy scalars count as numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from adaspec._validation import (
    check_choice,
    check_dtype,
    check_finite_number,
    check_flag,
    check_frequency_range,
    check_kwargs,
    check_positive_number,
    is_real_number,
)


@pytest.mark.parametrize("value", [1, 2.5, np.int64(3), np.float32(0.5)])
def test_positive_numbers_are_accepted_as_floats(value) -> None:
    result = check_positive_number("x", value)
    assert isinstance(result, float) and result == float(value)


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, "2", True, None, torch.tensor(1.0)])
def test_non_positive_or_non_finite_or_non_numbers_are_refused(value) -> None:
    with pytest.raises(ValueError, match=r"^x must be a finite positive number"):
        check_positive_number("x", value)


def test_finite_number_and_is_real_number() -> None:
    assert check_finite_number("f", -3) == -3.0
    for value in (math.nan, -math.inf, "1", False):
        with pytest.raises(ValueError, match=r"^f must be a finite number"):
            check_finite_number("f", value)
    assert is_real_number(np.float64(1.0)) and not is_real_number(np.bool_(True))


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_flags_accept_bools(value) -> None:
    assert check_flag("center", value) is bool(value)


@pytest.mark.parametrize("value", ["no", "False", 1, 0, None])
def test_flags_refuse_everything_else(value) -> None:
    """``bool("no")`` is True: a string must not silently turn a flag on."""
    with pytest.raises(ValueError, match=r"^center must be True or False"):
        check_flag("center", value)


def test_dtype() -> None:
    assert check_dtype(None) == torch.get_default_dtype()
    assert check_dtype(torch.float64) == torch.float64
    for value in ("float32", torch.complex64, torch.int64, np.float32):
        with pytest.raises(ValueError, match=r"^dtype must be None or a real floating-point torch.dtype"):
            check_dtype(value)


@pytest.mark.parametrize(
    ("f_min", "f_max", "sample_rate", "name"),
    [
        (0.0, math.nan, 16000, "f_max"),
        (math.nan, None, 16000, "f_min"),
        ("20", None, 16000, "f_min"),
        (0.0, "8000", 16000, "f_max"),
        (0.0, None, 0, "sample_rate"),
        (0.0, None, math.inf, "sample_rate"),
        (0.0, 9000.0, 16000, "f_max"),
        (100.0, 50.0, 16000, "f_max"),
    ],
)
def test_frequency_range_names_the_bad_bound(f_min, f_max, sample_rate, name) -> None:
    with pytest.raises(ValueError, match=f"^{name} must"):
        check_frequency_range(f_min, f_max, sample_rate)


def test_frequency_range_resolves_nyquist() -> None:
    assert check_frequency_range(np.float32(20.0), None, np.int64(16000)) == (20.0, 8000.0)


def test_a_choice_is_matched_by_value_and_kind() -> None:
    """The matched choice comes back (``2.0`` is the choice ``2``); bools and numbers never match each
    other although Python says ``1 == True``; arrays compare as no choice instead of failing."""
    assert check_choice("norm", 2.0, (None, 1, 2)) == 2 and type(check_choice("norm", 2.0, (1, 2))) is int
    assert check_choice("mode", np.str_("window"), (False, "window")) == "window"
    assert check_choice("flag", np.True_, (False, True)) is True
    for value, choices in ((1, (False, True)), (True, (1, 2)), (np.zeros(2), (1, 2)), ("2", (1, 2))):
        with pytest.raises(ValueError, match=r"^x must be one of"):
            check_choice("x", value, choices)


def test_keyword_arguments_are_a_dict_of_names() -> None:
    assert check_kwargs("kw", None) == {} and check_kwargs("kw", {"a": 1}) == {"a": 1}
    for value in ("a", [("a", 1)], {1: 2}):
        with pytest.raises(ValueError, match=r"^kw must be a dict of keyword arguments"):
            check_kwargs("kw", value)
