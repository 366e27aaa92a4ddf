"""adaspec.training.run_dir.check_run_name: names a run folder (and its lock file beside it) can have."""

from __future__ import annotations

import os

import pytest

from adaspec.errors import UserError
from adaspec.training.run_dir import MAX_NAME_LENGTH, check_run_name


def test_a_name_of_the_longest_length_is_taken() -> None:
    name = "r" * MAX_NAME_LENGTH
    assert check_run_name(name) == name


def test_a_longer_name_is_refused_with_its_length_before_any_file_is_made() -> None:
    """300 characters: the lock file '.<name>.lock' failed with 'File name too long' and the whole name."""
    with pytest.raises(
        UserError, match=rf"^run name x{{20}}\.\.\. is 300 characters long; at most {MAX_NAME_LENGTH}$"
    ):
        check_run_name("x" * 300)


def test_a_name_that_is_not_utf8_is_shown_with_escaped_bytes() -> None:
    name = os.fsdecode(b"bad\xff")
    with pytest.raises(UserError, match=r"run name 'bad\\xff' must be ASCII letters"):
        check_run_name(name)
