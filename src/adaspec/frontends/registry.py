"""Front-ends by name: configs say ``frontend: {name: mel, n_mels: 64}`` and get a module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

_REGISTRY: dict[str, type[nn.Module]] = {}
_SPECTROGRAM_INPUT: set[str] = set()  # registered names whose module takes a spectrogram, not a waveform
ModuleType = TypeVar("ModuleType", bound=type[nn.Module])


def register_frontend(name: str, *, takes_spectrogram: bool = False) -> Callable[[ModuleType], ModuleType]:
    """Class decorator that makes a front-end available to :func:`build_frontend` under ``name``;
    ``takes_spectrogram`` marks a transform of spectrograms (it cannot start a classifier)."""

    def decorate(cls: ModuleType) -> ModuleType:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"front-end name {name!r} is already registered to {_REGISTRY[name].__name__}")
        _REGISTRY[name] = cls
        if takes_spectrogram:
            _SPECTROGRAM_INPUT.add(name)
        return cls

    return decorate


def takes_spectrogram(name: str) -> bool:
    """Whether the front-end registered under ``name`` takes a spectrogram rather than a waveform."""
    return name in _SPECTROGRAM_INPUT  # filled only by register_frontend


def available_frontends(*, waveform_only: bool = False) -> list[str]:
    """Sorted names accepted by :func:`build_frontend`; with ``waveform_only``, those taking a waveform."""
    return sorted(name for name in _REGISTRY if not (waveform_only and takes_spectrogram(name)))


def frontend_class(name: str, *, waveform_only: bool = False) -> type[nn.Module]:
    """The class registered under ``name``.

    Args:
        name: a registered name.
        waveform_only: list only the front-ends that take a waveform when ``name`` is unknown (for a
            caller that refuses the others, e.g. a training config).

    Raises:
        ValueError: naming the unknown front-end and listing the known ones.
    """
    if not isinstance(name, str) or name not in _REGISTRY:  # a list from a config: not a TypeError
        known = ", ".join(available_frontends(waveform_only=waveform_only))
        raise ValueError(f"frontend name {name!r} is unknown; available: {known}")
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
