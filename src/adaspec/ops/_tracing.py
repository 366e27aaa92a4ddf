"""Keeping data-dependent ops out of ``torch.compile`` graphs without importing ``torch._dynamo``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch

Function = TypeVar("Function", bound=Callable)


def untraced(fn: Function) -> Function:
    """``fn`` run eagerly inside a ``torch.compile``'d model: a graph break around it, no tracing into it.

    For ops that plan from tensor values (band layouts, block lengths): traced, their plan would be baked
    into the graph and every optimiser step would recompile it. Unlike decorating with
    ``torch.compiler.disable``, this imports nothing at definition time (``torch._dynamo`` takes about a
    second to import); outside compilation it is a plain call.

    Args:
        fn: the function to keep out of graphs.

    Returns:
        A wrapper with ``fn``'s signature and docstring.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if torch.compiler.is_compiling():
            return torch.compiler.disable(fn)(*args, **kwargs)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
