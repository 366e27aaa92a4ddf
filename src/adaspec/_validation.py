"""Parameter checks shared by every layer: each failure is a ValueError naming the parameter."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch


def is_real_number(value: Any) -> bool:
    """Whether ``value`` is a real number (Python or NumPy int or float, not a bool or a tensor)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_finite_number(value: Any) -> bool:
    """Whether ``value`` is a real number (see :func:`is_real_number`) that is neither NaN nor infinite."""
    # compared, not math.isfinite: a symbolic float (torch.compile with dynamic=True) then still traces
    return is_real_number(value) and -math.inf < value < math.inf


def check_positive_number(name: str, value: Any, *, meaning: str = "") -> float:
    """Return ``value`` as a float if it is a finite real number > 0.

    Args:
        name: the parameter's name, for the message.
        value: the value to check.
        meaning: optional explanation appended to the message, e.g. ``" (2 = power, 1 = magnitude)"``.

    Raises:
        ValueError: naming ``name`` when ``value`` is not a finite number > 0 (NaN and infinity included).
    """
    if not is_finite_number(value) or not value > 0:
        raise ValueError(f"{name} must be a finite positive number{meaning}, got {value!r}")
    return float(value)


def check_finite_number(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite real number.

    Raises:
        ValueError: naming ``name`` when ``value`` is not a finite real number.
    """
    if not is_finite_number(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_flag(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (Python or NumPy): strings such as ``"no"`` would otherwise read
    as ``True``.

    Raises:
        ValueError: naming ``name`` when ``value`` is not ``True`` or ``False``.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_kwargs(name: str, value: Any) -> dict[str, Any]:
    """A copy of a dict of keyword arguments for an inner module (``None``: empty).

    Raises:
        ValueError: naming ``name`` when ``value`` is not a mapping with string keys.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise ValueError(f"{name} must be a dict of keyword arguments (or None), got {value!r}")
    return dict(value)


def check_dtype(value: Any) -> torch.dtype:
    """Resolve a parameter ``dtype`` argument: ``None`` gives torch's default dtype.

    Raises:
        ValueError: when ``value`` is not ``None`` or a real floating-point ``torch.dtype``.
    """
    if value is None:
        return torch.get_default_dtype()
    if not isinstance(value, torch.dtype) or not value.is_floating_point:
        raise ValueError(
            f"dtype must be None or a real floating-point torch.dtype (e.g. torch.float64), got {value!r}"
        )
    return value


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a positive integer.

    Raises:
        ValueError: naming ``name`` when ``value`` is not an integer >= 1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return the one of ``choices`` that ``value`` equals (``2.0`` gives the choice ``2``). A bool matches
    only a bool choice and a number only a number: ``1 == True`` in Python, but ``normalized=1`` is a typo
    for something, not ``True``.

    Raises:
        ValueError: naming ``name`` and listing the allowed values.
    """
    allowed = tuple(choices)
    for choice in allowed:
        if _is_bool(value) == _is_bool(choice) and _equals(value, choice):
            return choice
    listed = ", ".join(repr(c) for c in allowed)
    raise ValueError(f"{name} must be one of {listed}; got {value!r}")


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _equals(value: Any, choice: Any) -> bool:
    try:
        return bool(value == choice)
    except (TypeError, ValueError, RuntimeError):  # arrays and tensors have no single truth value
        return False


def check_frequency_range(
    f_min: float, f_max: float | None, sample_rate: float, *, f_min_name: str = "f_min"
) -> tuple[float, float]:
    """Validate ``0 <= f_min < f_max <= sample_rate / 2`` (finite numbers) and resolve ``f_max=None`` to
    Nyquist.

    Returns:
        ``(f_min, f_max)`` as floats.

    Raises:
        ValueError: naming the offending bound and the allowed range.
    """
    sample_rate = check_positive_number("sample_rate", sample_rate)
    f_min = check_finite_number(f_min_name, f_min)
    nyquist = sample_rate / 2.0
    f_max = nyquist if f_max is None else check_finite_number("f_max", f_max)
    if not 0.0 <= f_min < nyquist:
        raise ValueError(f"{f_min_name} must be in [0, {nyquist:g}) Hz (Nyquist), got {f_min!r}")
    if f_max > nyquist * (1 + 1e-12):
        raise ValueError(
            f"f_max must not exceed the Nyquist frequency {nyquist:g} Hz (sample_rate / 2), got {f_max!r}"
        )
    if f_max <= f_min:
        raise ValueError(f"f_max must be greater than {f_min_name} ({f_min!r} Hz), got {f_max!r}")
    return float(f_min), f_max


def check_non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer >= 0.

    Raises:
        ValueError: naming ``name`` when ``value`` is not an integer >= 0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def check_probability(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a number in ``[0, 1)`` (a dropout probability).

    Raises:
        ValueError: naming ``name`` when ``value`` is not a real number in ``[0, 1)``.
    """
    if not is_real_number(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)
