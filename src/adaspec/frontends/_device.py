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
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

Init = TypeVar("Init", bound=Callable[..., None])


def built_on_default_device(init: Init) -> Init:
    """Decorate a front-end's ``__init__``: run it with the CPU as the default device, then move the module
    to the default device in force at the call (nothing to do when that is the CPU). The arguments are
    kept (the outermost decorated constructor's) for :func:`reset_to_initial`."""

    @functools.wraps(init)
    def wrapper(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        device = torch.get_default_device()
        if device.type == "cpu":
            init(self, *args, **kwargs)
        else:
            with torch.device("cpu"):
                init(self, *args, **kwargs)
            self.to(device)
        owner = next(cls for cls in type(self).__mro__ if cls.__dict__.get("__init__") is wrapper)
        self._constructed_with = (owner, _snapshot(args), _snapshot(kwargs))

    return wrapper  # type: ignore[return-value]


def _snapshot(value: Any) -> Any:
    """``value`` as it is now: tensors detached and copied, arrays copied, dicts, lists and tuples rebuilt
    (the caller may change its own objects later, and a tensor computed from a parameter, not a leaf of
    autograd's graph, cannot be deep-copied with the module); anything else as it is."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if type(value) in (list, tuple):  # not named tuples, whose constructors differ
        return type(value)(_snapshot(item) for item in value)
    return value


def reset_to_initial(module: nn.Module) -> None:
    """Give every parameter and buffer of ``module`` (its sub-modules' included, non-persistent buffers
    too) the value the constructor gave it, in place: on their current device and dtype (a no-op for those
    on the meta device). The values are those of a twin built on the CPU from the recorded constructor
    arguments (so random initialisations, e.g. of ``nn.Linear`` layers, are drawn anew); a subclass's own
    extra tensors, which that constructor does not make, are left as they are.

    Args:
        module: a front-end built through a :func:`built_on_default_device` constructor.

    Raises:
        RuntimeError: for a module without recorded arguments (e.g. unpickled from an older version).
    """
    recorded = getattr(module, "_constructed_with", None)
    if recorded is None:
        raise RuntimeError(
            f"{type(module).__name__}.reset_parameters needs the constructor's arguments, which this module "
            "does not record (built by an older version of adaspec?); build it anew instead"
        )
    owner, args, kwargs = recorded
    twin = type(module).__new__(type(module))
    with torch.device("cpu"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the constructor's warnings were given when the module was built
        owner.__init__(twin, *args, **kwargs)
    targets = dict(module.named_parameters())
    targets.update(module.named_buffers())
    with torch.no_grad():
        for name, value in [*twin.named_parameters(), *twin.named_buffers()]:
            target = targets.get(name)
            if target is None:
                continue
            if target.shape != value.shape:
                raise RuntimeError(
                    f"{type(module).__name__}.reset_parameters: {name} has shape {tuple(target.shape)}, the "
                    f"constructor makes {tuple(value.shape)}"
                )
            target.copy_(value)
