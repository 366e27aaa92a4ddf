"""Batches of no signals: FFT libraries reject them (MKL raises an opaque DFTI error, also through
``torch.fft``), while torch's own layers return an empty result. Every operation here that transforms the
last axis of ``(..., time)`` signals, and every waveform front-end, goes through :func:`map_signals`."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def map_signals(transform: Callable[[torch.Tensor], torch.Tensor], signals: torch.Tensor) -> torch.Tensor:
    """``transform(signals)`` for ``(..., time)`` signals, also when the leading axes hold none.

    ``transform`` must map ``(batch, time)`` signals to ``(batch, ...)`` results, each row its own
    signal's (and keep any other leading axes the same way when the batch is not empty). An empty batch is
    flattened to ``(0, time)`` and transformed with one silent signal appended, whose result is then dropped:
    the output has the shape the batch implies, ``(*leading, ...)``, stays connected to ``signals`` and
    to the transform's parameters, and a backward gives them zero gradients (a sum over no examples).

    Args:
        transform: maps ``(batch, time)`` signals to ``(batch, ...)`` results.
        signals: ``(..., time)`` tensor with at least one leading axis.

    Returns:
        ``transform``'s result, ``(*leading, ...)``.
    """
    leading = signals.shape[:-1]
    if math.prod(leading) > 0:
        return transform(signals)
    rows = signals.reshape(0, signals.shape[-1])
    silent = signals.new_zeros(1, signals.shape[-1])
    result = transform(torch.cat([rows, silent]))[:0]
    return result.reshape(*leading, *result.shape[1:])
