"""Empty batches for the waveform front-ends: FFT libraries reject a batch of no signals (MKL raises an
opaque DFTI error), while torch's own layers return an empty result."""

from __future__ import annotations

from collections.abc import Callable

import torch


def map_signals(transform: Callable[[torch.Tensor], torch.Tensor], signals: torch.Tensor) -> torch.Tensor:
    """``transform(signals)`` for ``(batch, time)`` signals, also when ``batch`` is 0.

    An empty batch is transformed with one silent signal appended, whose result is then dropped: the output
    has the shape the batch implies, ``(0, ...)``, stays connected to ``signals`` and the module's
    parameters, and a backward gives them zero gradients (a sum over no examples).

    Args:
        transform: maps ``(batch, time)`` signals to ``(batch, ...)`` results.
        signals: ``(batch, time)`` tensor.

    Returns:
        ``transform``'s result, of ``batch`` rows.
    """
    if signals.shape[0] > 0:
        return transform(signals)
    silent = signals.new_zeros(1, signals.shape[-1])
    return transform(torch.cat([signals, silent]))[:0]
