"""Keeping data-dependent ops out of ``torch.compile`` graphs without importing ``torch._dynamo``, and
telling when ``torch.export`` is tracing (parameters are then fake tensors without values)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch

Function = TypeVar("Function", bound=Callable)


def is_exporting() -> bool:
    """Whether ``torch.export`` is tracing the caller (tensors then have shapes but no values).

    Returns:
        ``torch.compiler.is_exporting()`` where torch has it (2.5 and later), else ``False``.
    """
    check = getattr(torch.compiler, "is_exporting", None)
    return bool(check()) if check is not None else False


def is_exporting_onnx() -> bool:
    """Whether ``torch.onnx.export`` is tracing the caller (a case of :func:`is_exporting`): ops then pick
    forms onnxruntime computes exactly and fast (FFTs as matrix products, see :mod:`adaspec.ops.onnx_fft`).

    Returns:
        ``torch.onnx.is_in_onnx_export()`` while exporting, else ``False`` (without importing
        ``torch.onnx`` first).
    """
    if not is_exporting():
        return False
    import torch.onnx

    return bool(torch.onnx.is_in_onnx_export())


def require_static_length(length: int | torch.SymInt, what: str) -> None:
    """Refuse a dynamic signal length under ``torch.export`` for ``what``, which plans from the length
    (FFT sizes, band layouts, block lengths): exported with a dynamic time axis it would guard on the
    length, or give a program that fails at other lengths. Outside export (also under ``torch.compile``,
    which specialises instead) this does nothing.

    Args:
        length: the time axis' size.
        what: the computation, for the message (e.g. ``"LEAF's band layout"``).

    Raises:
        ValueError: the length is symbolic while exporting.
    """
    if is_exporting() and isinstance(length, torch.SymInt):
        raise ValueError(
            f"{what} is planned from the signal length, so the time axis cannot be dynamic when exported: "
            "leave it out of dynamic_shapes (the batch axis may be dynamic) and export at the length to run"
        )


def is_tracing() -> bool:
    """Whether ``torch.compile`` or ``torch.export`` is tracing the caller: values may not be read, and
    caches keyed on storage (``data_ptr``) must not be used.

    Returns:
        ``True`` while compiling or exporting.
    """
    return torch.compiler.is_compiling() or is_exporting()


def untraced(fn: Function) -> Function:
    """``fn`` run eagerly inside a ``torch.compile``'d model: a graph break around it, no tracing into it.

    For ops that plan from tensor values (band layouts, block lengths): traced, their plan would be baked
    into the graph and every optimiser step would recompile it. Unlike decorating with
    ``torch.compiler.disable``, this imports nothing at definition time (``torch._dynamo`` takes about a
    second to import); outside compilation it is a plain call. Under ``torch.export``, which allows no
    graph break, ``fn`` is traced: it must then plan without reading values (see :func:`is_exporting`).

    Args:
        fn: the function to keep out of graphs.

    Returns:
        A wrapper with ``fn``'s signature and docstring.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if torch.compiler.is_compiling() and not is_exporting():
            return torch.compiler.disable(fn)(*args, **kwargs)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def tensor_cache(maxsize: int) -> Callable[[Function], Function]:
    """``functools.lru_cache(maxsize)`` for functions that build tensors, bypassed under ``torch.export``:
    tensors built while exporting are fake (shapes without values) and must not outlive the export.

    Args:
        maxsize: how many results to keep.

    Returns:
        The decorator.
    """

    def decorate(fn: Function) -> Function:
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def wrapper(*args):
            return fn(*args) if is_exporting() else cached(*args)

        wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
