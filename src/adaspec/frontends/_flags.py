"""Learnability flags as properties: ``module.learn_window = True`` works before or after construction."""

from __future__ import annotations

from torch import nn

from .._validation import check_flag


def parameter_flag(parameter: str, name: str | None = None) -> property:
    """A bool property mirroring ``requires_grad`` of the parameter named ``parameter``; ``name`` is the
    flag's own name for error messages (default ``learn_<parameter>``)."""
    flag = name or f"learn_{parameter}"

    def getter(self: nn.Module) -> bool:
        return getattr(self, parameter).requires_grad

    def setter(self: nn.Module, value: bool) -> None:
        getattr(self, parameter).requires_grad_(check_flag(flag, value))

    return property(getter, setter, doc=f"Whether ``{parameter}`` is trained (its ``requires_grad``).")


def delegated_flag(child: str, flag: str, name: str | None = None) -> property:
    """A property forwarding ``flag`` to the sub-module named ``child``; ``name`` is the property's own
    name for error messages (default ``flag``)."""

    def getter(self: nn.Module) -> bool:
        return getattr(getattr(self, child), flag)

    def setter(self: nn.Module, value: bool) -> None:
        setattr(getattr(self, child), flag, check_flag(name or flag, value))

    return property(getter, setter, doc=f"Forwarded to ``self.{child}.{flag}``.")
