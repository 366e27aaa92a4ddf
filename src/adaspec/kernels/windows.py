"""Analysis windows: any ``scipy.signal.get_window`` spec or a tensor, centred in ``n_fft``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.signal
import torch

from .._validation import check_dtype, check_positive_int, is_real_number

WindowSpec = str | float | tuple | torch.Tensor | np.ndarray


def get_window(window: WindowSpec, win_length: int, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Build a periodic ("fftbins") analysis window of ``win_length`` samples.

    Args:
        window: a ``scipy.signal.get_window`` spec such as ``"hann"``, ``("kaiser", 8.0)`` or
            ``("gaussian", 100)``, or a 1-D tensor/array of exactly ``win_length`` samples.
        win_length: number of samples.
        dtype: real floating-point dtype of the result (default: ``torch.get_default_dtype()``). The
            window is built in float64 and cast once.

    Returns:
        A 1-D tensor of length ``win_length``.

    Raises:
        ValueError: naming ``window`` for an unknown spec, a bool, a spec with a NaN, infinite or bool
            parameter, or an array of the wrong shape, complex or bool, on the meta device, or with NaN,
            infinite or only zero values; naming ``win_length`` when it is not a positive integer and
            ``dtype`` when it is not a real floating-point dtype.
    """
    win_length = check_positive_int("win_length", win_length)
    dtype = check_dtype(dtype)
    if isinstance(window, (torch.Tensor, np.ndarray)):
        values = torch.as_tensor(window).detach()
        if values.ndim != 1 or values.shape[0] != win_length:
            raise ValueError(
                f"window given as an array must be 1-D with win_length={win_length} samples, "
                f"got shape {tuple(values.shape)}"
            )
        if values.is_complex() or values.dtype == torch.bool:
            raise ValueError(f"window given as an array must be real numbers, got {values.dtype}")
        if values.is_meta:
            raise ValueError("window given as an array must hold values, got a tensor on the meta device")
        values = values.to("cpu", torch.float64)  # the kernels are designed on the CPU
    else:
        spec = _as_scipy_spec(window)
        if spec == ():
            raise ValueError(f"window={window!r} is empty: give a name such as 'hann' or ('kaiser', 8.0)")
        if _is_bool(spec) or (isinstance(spec, tuple) and any(_is_bool(p) for p in spec)):
            # scipy reads a number as a Kaiser beta: True would be ("kaiser", 1.0)
            raise ValueError(f"window={window!r}: True and False are not window specs nor parameters")
        if isinstance(spec, tuple) and any(is_real_number(p) and not math.isfinite(p) for p in spec[1:]):
            raise ValueError(f"window={window!r} has a NaN or infinite parameter")
        try:
            values = scipy.signal.get_window(spec, win_length, fftbins=True)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"window={window!r} is not a scipy.signal.get_window spec (e.g. 'hann', 'hamming', "
                f"('kaiser', 8.0), ('gaussian', 100)) nor a tensor: {err}"
            ) from None
        values = torch.from_numpy(np.asarray(values, dtype=np.float64))
    given = "the window array" if isinstance(window, (torch.Tensor, np.ndarray)) else f"window={window!r}"
    if not torch.isfinite(values).all():
        raise ValueError(f"window must have finite values; {given} has NaN or infinite ones")
    if not values.any():
        raise ValueError(f"window must not be all zeros; {given} has {win_length} zeros")
    return values.to(dtype).clone()


def pad_center(window: torch.Tensor, size: int) -> torch.Tensor:
    """Zero-pad a window symmetrically to ``size`` samples (extra sample on the right, as librosa).

    Differentiable with respect to ``window``.
    """
    extra = size - window.shape[-1]
    if extra < 0:
        raise ValueError(f"window of length {window.shape[-1]} does not fit in n_fft={size}")
    left = extra // 2
    return torch.nn.functional.pad(window, (left, extra - left))


def _is_bool(value: Any) -> bool:
    """Whether ``value`` is a Python or NumPy bool."""
    return isinstance(value, (bool, np.bool_))


def _as_scipy_spec(window: Any) -> Any:
    """scipy expects tuples for parameterised windows; accept lists from YAML configs too."""
    return tuple(window) if isinstance(window, list) else window
