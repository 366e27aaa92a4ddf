"""Non-persistent buffers derived from a front-end's constructor settings (tables such as a resampler's
gains or precomputed frequency-domain kernels), kept right when the module is built on the meta device.

Such buffers are not in the state dict, so ``load_state_dict`` cannot restore them: after
``module.to_empty(device=...)`` they would hold uninitialised memory, and after
``load_state_dict(..., assign=True)`` of a module built under ``with torch.device("meta")`` they would stay
on the meta device. A :class:`DerivedTables` module rebuilds them in both cases (and nowhere else, so a
module built normally pays nothing).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def rebuild_meta_tables(module: DerivedTables, incompatible_keys: object) -> None:
    """``load_state_dict`` post-hook (a module-level function, so that the module still pickles): tables
    still on the meta device (``assign=True`` gave the parameters real values) are built on the device of
    the parameters."""
    if not module._tables_on_meta():
        return
    devices = [p.device for p in module.parameters(recurse=False) if not p.is_meta]
    if devices:
        module._rebuild_tables(devices[0])


class DerivedTables(nn.Module):
    """A module whose non-persistent buffers all derive from its constructor settings (see the module
    docstring). Subclasses implement :meth:`_derived_tables`."""

    def __init__(self) -> None:
        super().__init__()
        self.register_load_state_dict_post_hook(rebuild_meta_tables)

    def _derived_tables(self) -> dict[str, torch.Tensor]:
        """Fresh CPU values of the non-persistent buffers, by name (``None`` ones left out), at least as
        precise as the buffers' dtype (they are rounded to it)."""
        raise NotImplementedError

    def _rebuild_tables(self, device: torch.device | None = None) -> None:
        """Build the non-persistent buffers anew from the constructor settings, each in its current dtype,
        on ``device`` (default: each buffer's current one). Called when they are materialised from the meta
        device (by ``to_empty``), by ``load_state_dict`` for tables left on the meta device, and by
        ``reset_parameters``."""
        for name, value in self._derived_tables().items():
            current = self._buffers[name]
            if current is not None:
                target = current.device if device is None else device
                self._buffers[name] = value.to(device=target, dtype=current.dtype)

    def _tables_on_meta(self) -> bool:
        """Whether any non-persistent buffer is on the meta device (has no values)."""
        tables = (self._buffers.get(name) for name in self._non_persistent_buffers_set)
        return any(table is not None and table.is_meta for table in tables)

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> DerivedTables:
        """``nn.Module._apply`` (``to``, ``to_empty``, ...), rebuilding the tables where it takes them off
        the meta device: ``to_empty`` leaves them uninitialised and no state dict holds them."""
        materialising = self._tables_on_meta()
        result = super()._apply(fn, recurse)
        if materialising and not self._tables_on_meta():
            self._rebuild_tables()
        return result
