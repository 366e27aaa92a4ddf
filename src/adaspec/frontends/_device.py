"""Building a front-end on the default device (``torch.set_default_device`` or a ``with torch.device(...)``
block), as torch's own layers are.

The kernels are designed in NumPy and wrapped with ``torch.from_numpy``, which always gives CPU tensors,
while ``torch.full``, ``torch.tensor`` and ``nn.Linear`` follow the default device: built inside
``with torch.device("cuda")`` a module held tensors on both devices (its forward then failed), and some
constructors failed outright (``"meta"``). A front-end is therefore built on the CPU and then moved, whole,
to the default device.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

Init = TypeVar("Init", bound=Callable[..., None])


def built_on_default_device(init: Init) -> Init:
    """Decorate a front-end's ``__init__``: run it with the CPU as the default device, then move the module
    to the default device in force at the call (nothing to do when that is the CPU)."""

    @functools.wraps(init)
    def wrapper(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        device = torch.get_default_device()
        if device.type == "cpu":
            init(self, *args, **kwargs)
            return
        with torch.device("cpu"):
            init(self, *args, **kwargs)
        self.to(device)

    return wrapper  # type: ignore[return-value]
