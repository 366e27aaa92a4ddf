"""Zero padding at the end of the last axis that also exports to ONNX for complex tensors."""

from __future__ import annotations

import torch

from ._tracing import is_exporting


def pad_end(tensor: torch.Tensor, amount: int) -> torch.Tensor:
    """``tensor`` with ``amount`` zeros appended along its last axis.

    Under ``torch.export`` a complex tensor is padded through its real view: the ONNX exporter has no complex
    ``pad`` (it stores complex tensors as real pairs), and a zero-length pad adds no node at all.

    Args:
        tensor: real or complex ``(..., n)`` tensor.
        amount: zeros to append, ``>= 0``.

    Returns:
        ``(..., n + amount)``: a new tensor, or ``tensor`` itself when ``amount`` is 0.
    """
    if amount == 0:
        return tensor
    if tensor.is_complex() and is_exporting():
        return torch.view_as_complex(torch.nn.functional.pad(torch.view_as_real(tensor), (0, 0, 0, amount)))
    return torch.nn.functional.pad(tensor, (0, amount))
