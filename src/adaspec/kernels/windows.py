"""Analysis windows: any ``scipy.signal.get_window`` spec or a tensor, centred in ``n_fft``."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal
import torch

WindowSpec = str | float | tuple | torch.Tensor | np.ndarray


def get_window(window: WindowSpec, win_length: int, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Build a periodic ("fftbins") analysis window of ``win_length`` samples.

    Args:
        window: a ``scipy.signal.get_window`` spec such as ``"hann"``, ``("kaiser", 8.0)`` or
            ``("gaussian", 100)``, or a 1-D tensor/array of exactly ``win_length`` samples.
        win_length: number of samples.
        dtype: dtype of the result (default: ``torch.get_default_dtype()``). The window is built in
            float64 and cast once.

    Returns:
        A 1-D tensor of length ``win_length``.

    Raises:
        ValueError: naming ``window`` for an unknown spec or a tensor of the wrong shape.
    """
    dtype = dtype or torch.get_default_dtype()
    if isinstance(window, (torch.Tensor, np.ndarray)):
        values = torch.as_tensor(window).detach()
        if values.ndim != 1 or values.shape[0] != win_length:
            raise ValueError(
                f"window given as an array must be 1-D with win_length={win_length} samples, "
                f"got shape {tuple(values.shape)}"
            )
        if values.is_complex() or not values.is_floating_point():
            values = values.to(torch.float64)
        return values.to(dtype).clone()
    try:
        values = scipy.signal.get_window(_as_scipy_spec(window), win_length, fftbins=True)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"window={window!r} is not a scipy.signal.get_window spec (e.g. 'hann', 'hamming', "
            f"('kaiser', 8.0), ('gaussian', 100)) nor a tensor: {err}"
        ) from None
    return torch.from_numpy(np.asarray(values, dtype=np.float64)).to(dtype)


def pad_center(window: torch.Tensor, size: int) -> torch.Tensor:
    """Zero-pad a window symmetrically to ``size`` samples (extra sample on the right, as librosa).

    Differentiable with respect to ``window``.
    """
    extra = size - window.shape[-1]
    if extra < 0:
        raise ValueError(f"window of length {window.shape[-1]} does not fit in n_fft={size}")
    left = extra // 2
    return torch.nn.functional.pad(window, (left, extra - left))


def _as_scipy_spec(window: Any) -> Any:
    """scipy expects tuples for parameterised windows; accept lists from YAML configs too."""
    return tuple(window) if isinstance(window, list) else window
