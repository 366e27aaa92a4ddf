"""Front-ends by name: configs say ``frontend: {name: mel, n_mels: 64}`` and get a module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

_REGISTRY: dict[str, type[nn.Module]] = {}
ModuleType = TypeVar("ModuleType", bound=type[nn.Module])


def register_frontend(name: str) -> Callable[[ModuleType], ModuleType]:
    """Class decorator that makes a front-end available to :func:`build_frontend` under ``name``."""

    def decorate(cls: ModuleType) -> ModuleType:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"front-end name {name!r} is already registered to {_REGISTRY[name].__name__}")
        _REGISTRY[name] = cls
        return cls

    return decorate


def available_frontends() -> list[str]:
    """Sorted names accepted by :func:`build_frontend`."""
    return sorted(_REGISTRY)


def frontend_class(name: str) -> type[nn.Module]:
    """The class registered under ``name``.

    Raises:
        ValueError: naming the unknown front-end and listing the known ones.
    """
    if not isinstance(name, str) or name not in _REGISTRY:  # a list from a config: not a TypeError
        raise ValueError(f"frontend name {name!r} is unknown; available: {', '.join(available_frontends())}")
    return _REGISTRY[name]


def build_frontend(name: str, **params: Any) -> nn.Module:
    """Instantiate the front-end registered under ``name`` with ``params``.

    Raises:
        ValueError: for an unknown name or a parameter the front-end does not take.
    """
    cls = frontend_class(name)
    try:
        return cls(**params)
    except TypeError as err:
        raise ValueError(f"frontend {name!r}: {err}") from None
