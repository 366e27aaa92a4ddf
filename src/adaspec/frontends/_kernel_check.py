"""Telling whether a front-end's trainable kernels still equal their closed form (so that it may take its
fast path), shared by STFT and CQT/VQT: what a verdict is keyed on, the comparison, and the
``load_state_dict`` hook that checks again."""

from __future__ import annotations

import torch
from torch import nn

_ROUNDINGS = (torch.float64, torch.float32, torch.bfloat16, torch.float16)


def kernel_key(*kernels: torch.Tensor) -> tuple:
    """What a verdict on ``kernels`` holds for: their autograd versions, storages, dtypes and devices.

    Args:
        kernels: the kernel parameters.

    Returns:
        A tuple that changes whenever any kernel is edited in place (outside ``.data``), replaced or moved.
        Kernels made under ``torch.inference_mode`` have no version counter: their key is new at every
        call (equal to no earlier one), so that each call checks them again.
    """
    return tuple((_version(p), p.data_ptr(), p.dtype, p.device) for p in kernels)


def _version(kernel: torch.Tensor) -> int | object:
    """The kernel's autograd version, or a new object for an inference tensor (which has none)."""
    return object() if kernel.is_inference() else kernel._version


def equals_rounded(parameter: torch.Tensor, exact: torch.Tensor) -> bool:
    """Whether ``parameter`` is exactly ``exact`` as rounded to some float dtype (e.g. built in float32,
    then moved to float64 with ``.to``).

    Args:
        parameter: the kernel.
        exact: its closed form, in any dtype and on any device.

    Returns:
        ``True`` if equal after one of the roundings; ``False`` on the meta device (no values).
    """
    values = parameter.detach()
    if values.device.type == "meta":  # no values to compare: the dense path, right for any kernels
        return False
    exact = exact.to(values.device)
    return any(torch.equal(values, exact.to(dtype).to(values.dtype)) for dtype in _ROUNDINGS)


def recheck_kernels(module: nn.Module, incompatible_keys: object) -> None:
    """``load_state_dict`` post-hook calling ``module.kernels_changed()`` (a module-level function, so that
    the module still pickles)."""
    module.kernels_changed()
