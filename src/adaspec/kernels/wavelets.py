"""Continuous wavelets (complex Morlet, real Morlet, Ricker) discretised per scale exactly as ``pywt.cwt``.

Wavelets, on the support ``[-8, 8]`` (pywt's bounds for all three):

- ``"morlet"`` (pywt ``"cmorB-C"``): ``psi(x) = exp(-x^2 / B) exp(2 pi i C x) / sqrt(pi B)``, complex, with
  bandwidth ``B`` and centre frequency ``C`` (cycles per unit of ``x``).
- ``"real_morlet"`` (pywt ``"morl"``): ``psi(x) = exp(-x^2 / B) cos(2 pi C x)``, real; pywt's is ``B = 2``,
  ``C = 5 / (2 pi)``, i.e. ``exp(-x^2 / 2) cos(5 x)``.
- ``"ricker"`` (pywt ``"mexh"``, the Mexican hat):
  ``psi(x) = 2 / (sqrt(3) pi^(1/4)) (1 - x^2) exp(-x^2 / 2)``.

Discretisation (pywt's, mirrored so that the transforms agree to rounding): ``psi`` is sampled at
``2^precision`` points ``x_j`` of the support (step ``dx``) and integrated by a cumulative sum,
``I_j = dx sum_{i <= j} psi(x_i)`` (conjugated for complex wavelets). At scale ``s`` the kernel keeps
``L = len(arange(16 s + 1))`` values ``g_k = I[floor(k / (s dx))]`` (``k < L``), reversed, and the
coefficients are ``W[t] = -sqrt(s) (D * x)[t + L // 2]`` where ``D = diff([0, g_reversed, 0])`` (``L + 1``
taps) and ``*`` is linear convolution with ``x`` zero outside its samples. Differencing the integral
averages ``psi`` over each sample, and the floor makes the sampling positions jitter by up to ``dx`` (in
``x``; ``s dx`` samples): at large scales pywt's kernels deviate from the analytic wavelet by far more than
1e-4 (its "zipper" effect), so the analytic wavelet would not reproduce pywt's numbers.

Scales and frequencies: ``frequency = central_frequency / (scale * dt)`` as ``pywt.scale2frequency``, with
pywt's numerical central frequency (the peak of the FFT of the sampled ``psi``, on a ``1 / 16`` grid:
0.8125 for ``"morl"``, 0.25 for ``"mexh"``, ``C`` rounded to sixteenths for ``"cmorB-C"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from .._validation import (
    check_choice,
    check_finite_number,
    check_frequency_range,
    check_positive_int,
    check_positive_number,
)

WAVELETS = ("morlet", "real_morlet", "ricker")
#: pywt's names (and one common one) for the same wavelets.
WAVELET_ALIASES = {"cmor": "morlet", "morl": "real_morlet", "mexh": "ricker", "mexican_hat": "ricker"}
#: Wavelets with a bandwidth ``B`` and a centre frequency ``C``; the Ricker wavelet has neither.
PARAMETRIC_WAVELETS = ("morlet", "real_morlet")
#: ``(bandwidth, center)`` used when none is given: pywt's ``"cmor1.5-1.0"`` and ``"morl"``.
DEFAULT_PARAMETERS = {"morlet": (1.5, 1.0), "real_morlet": (2.0, 5.0 / (2.0 * math.pi))}
#: ``(bandwidth, center)`` of pywt's names that differ from their wavelet's defaults: pywt's bare ``"cmor"``
#: (deprecated there) is ``"cmor1.0-0.5"``, not ``"morlet"``'s ``"cmor1.5-1.0"``.
ALIAS_PARAMETERS = {"cmor": (1.0, 0.5)}
SUPPORT = (-8.0, 8.0)
#: pywt.cwt's default ``precision`` (2^12 samples of the wavelet) since PyWavelets 1.9 (before: 10, fixed).
DEFAULT_PRECISION = 12


def normalize_wavelet(wavelet: str) -> str:
    """Map pywt's names (``"cmor"``, ``"morl"``, ``"mexh"``) to ours and reject unknown wavelets."""
    if isinstance(wavelet, str):  # an unhashable value (a list from a config) is refused below
        wavelet = WAVELET_ALIASES.get(wavelet, wavelet)
    return check_choice("wavelet", wavelet, WAVELETS)


_NUMBER = r"\d+(?:\.\d*)?"  # not ".5": pywt reads "cmor.5-1" as B = 5
_PYWT_MORLET = re.compile(rf"cmor(?P<bandwidth>{_NUMBER})-(?P<center>{_NUMBER})")


def pywt_morlet_parameters(wavelet: Any) -> tuple[float, float] | None:
    """``(B, C)`` of pywt's complex Morlet name ``"cmorB-C"`` (e.g. ``"cmor1.5-1.0"``); ``None`` for any
    other value."""
    match = _PYWT_MORLET.fullmatch(wavelet) if isinstance(wavelet, str) else None
    return None if match is None else (float(match["bandwidth"]), float(match["center"]))


def default_parameters(wavelet: str) -> tuple[float, float] | None:
    """``(B, C)`` a wavelet name stands for when none is given (pywt's for its names, see
    :data:`ALIAS_PARAMETERS`); ``None`` for the Ricker.

    Raises:
        ValueError: for an unknown wavelet.
    """
    if isinstance(wavelet, str) and wavelet in ALIAS_PARAMETERS:
        return ALIAS_PARAMETERS[wavelet]
    return DEFAULT_PARAMETERS.get(normalize_wavelet(wavelet))


def is_complex_wavelet(wavelet: str) -> bool:
    """Whether ``wavelet`` is complex-valued (its coefficients are complex)."""
    return normalize_wavelet(wavelet) == "morlet"


#: Largest ``precision``: ``2^20`` points (8 MB) is far beyond pywt's 10 or 12.
MAX_PRECISION = 20


def wavelet_grid(precision: int = DEFAULT_PRECISION) -> np.ndarray:
    """The ``2^precision`` float64 points of the support where ``psi`` is sampled (``pywt`` ``wavefun``).

    Raises:
        ValueError: unless ``precision`` is an integer from 1 to :data:`MAX_PRECISION`.
    """
    precision = check_positive_int("precision", precision)
    if precision > MAX_PRECISION:
        raise ValueError(
            f"precision must be at most {MAX_PRECISION} (2^precision points; pywt uses 10 or 12), "
            f"got {precision}"
        )
    return np.linspace(*SUPPORT, 2**precision)


def wavelet_function(
    wavelet: str,
    x: torch.Tensor,
    bandwidth: torch.Tensor | float | None = None,
    center: torch.Tensor | float | None = None,
) -> torch.Tensor:
    """``psi(x)`` of a wavelet (see the module docstring), differentiable in ``bandwidth`` and ``center``.

    Args:
        wavelet: one of :data:`WAVELETS` (or a pywt name).
        x: real points, any shape broadcastable against the parameters.
        bandwidth: ``B`` of the Morlets (default: the name's, see :func:`default_parameters`); ignored for
            the Ricker.
        center: ``C`` of the Morlets in cycles per unit of ``x``; ignored for the Ricker.

    Returns:
        Complex values for ``"morlet"``, real otherwise, in ``x``'s (promoted) dtype.
    """
    defaults = default_parameters(wavelet)
    wavelet = normalize_wavelet(wavelet)
    if defaults is None:  # the Ricker
        return 2.0 / (math.sqrt(3.0) * math.pi**0.25) * (1.0 - x**2) * torch.exp(-0.5 * x**2)
    default_bandwidth, default_center = defaults
    bandwidth = default_bandwidth if bandwidth is None else bandwidth
    center = default_center if center is None else center
    envelope = torch.exp(-(x**2) / bandwidth)
    phase = (2.0 * math.pi) * center * x
    if wavelet == "real_morlet":
        return envelope * torch.cos(phase)
    envelope = envelope / torch.sqrt(math.pi * torch.as_tensor(bandwidth, dtype=x.dtype, device=x.device))
    return torch.complex(envelope * torch.cos(phase), envelope * torch.sin(phase))


def central_frequency(
    wavelet: str,
    bandwidth: float | None = None,
    center: float | None = None,
    precision: int = DEFAULT_PRECISION,
) -> float:
    """pywt's ``central_frequency``: the peak of ``|FFT(psi)|`` over the sampled support, in cycles per
    unit of ``x`` (a multiple of 1 / 16).

    Args:
        wavelet: one of :data:`WAVELETS`.
        bandwidth, center: the Morlet's ``B`` and ``C`` (defaults: :data:`DEFAULT_PARAMETERS`).
        precision: ``psi`` is sampled at ``2^precision`` points.

    Returns:
        The central frequency.

    Raises:
        ValueError: for an unknown wavelet, a ``bandwidth`` that is not a positive number, a ``center``
            that is not a finite number, or a bad ``precision``.
    """
    if bandwidth is not None:
        bandwidth = check_positive_number("bandwidth", bandwidth)
    if center is not None:
        center = check_finite_number("center", center)
    x = wavelet_grid(precision)
    psi = wavelet_function(wavelet, torch.from_numpy(x), bandwidth, center).numpy()
    spectrum = np.abs(np.fft.fft(psi)[1:])
    index = int(np.argmax(spectrum)) + 2
    if index > len(psi) / 2:
        index = len(psi) - index + 2
    return (index - 1) / float(x[-1] - x[0])


def log_frequencies(f_min: float, f_max: float | None, n_bins: int, sample_rate: float) -> np.ndarray:
    """``n_bins`` log-spaced frequencies (Hz) from ``f_min`` to ``f_max`` inclusive (float64).

    Raises:
        ValueError: if ``n_bins`` is not positive, or unless ``0 < f_min < f_max <= sample_rate / 2``
            (``f_max=None`` is Nyquist); ``n_bins=1`` gives ``[f_min]``.
    """
    n_bins = check_positive_int("n_bins", n_bins)
    f_min, f_max = check_frequency_range(f_min, f_max, sample_rate)
    if f_min <= 0:
        raise ValueError(f"f_min must be > 0 Hz for log-spaced scales, got {f_min!r}")
    return np.geomspace(f_min, f_max, n_bins) if n_bins > 1 else np.array([f_min])


def frequencies_to_scales(
    frequencies: np.ndarray | Sequence[float], central: float, sample_rate: float
) -> np.ndarray:
    """Scales whose frequency (``central / (scale * dt)``, ``dt = 1 / sample_rate``) is ``frequencies``."""
    return central * sample_rate / np.asarray(frequencies, dtype=np.float64)


def scales_to_frequencies(
    scales: np.ndarray | Sequence[float], central: float, sample_rate: float
) -> np.ndarray:
    """Frequencies (Hz) of ``scales``: ``central / (scale * dt)`` (``pywt.scale2frequency / dt``)."""
    return central * sample_rate / np.asarray(scales, dtype=np.float64)


def kernel_length(scale: float, precision: int = DEFAULT_PRECISION) -> int:
    """Samples the wavelet spans at ``scale`` (pywt's integrated-wavelet length, about ``16 scale + 1``);
    its filter has one tap more."""
    return len(_sample_indices(scale, wavelet_grid(precision)))


def _sample_indices(scale: float, x: np.ndarray) -> np.ndarray:
    """pywt's indices into the integrated wavelet at ``scale`` (before reversal)."""
    step = x[1] - x[0]
    j = (np.arange(scale * (x[-1] - x[0]) + 1) / (scale * step)).astype(int)
    return j[j < x.size]


class WaveletLayout(NamedTuple):
    """Where :func:`wavelet_filters` reads each scale's taps, which depends on the scales and the precision
    only (built once in NumPy; the taps themselves are torch operations on the wavelet parameters).

    Attributes:
        grid: ``(2^precision,)`` float64 sample positions ``x_j`` of the wavelet's support.
        columns: ``(n_scales, max_length + 1)`` int64 indices into the integrated wavelet, reversed and
            centred on the shared offset; index ``2^precision`` reads a zero appended to the integral.
        weights: ``(n_scales, 1)`` float64 factors ``-sqrt(scale) dx``.
        offset: the shared output offset ``max_length // 2``.
        lengths: samples each scale's wavelet spans (:func:`kernel_length`).
    """

    grid: torch.Tensor
    columns: torch.Tensor
    weights: torch.Tensor
    offset: int
    lengths: tuple[int, ...]


def wavelet_layout(scales: Sequence[float] | np.ndarray, precision: int = DEFAULT_PRECISION) -> WaveletLayout:
    """The :class:`WaveletLayout` of ``scales`` (see :func:`wavelet_filters`).

    Args:
        scales: ``(n,)`` positive scales (in samples).
        precision: the wavelet is sampled at ``2^precision`` points.

    Returns:
        The layout, on the CPU.

    Raises:
        ValueError: for no scales or a scale that is not positive.
    """
    scales = np.asarray(scales, dtype=np.float64).reshape(-1)
    if scales.size == 0 or not np.all(scales > 0):
        raise ValueError(f"scales must be a non-empty list of positive numbers, got {scales.tolist()!r}")
    x = wavelet_grid(precision)
    indices = [_sample_indices(float(s), x) for s in scales]
    longest = max(len(j) for j in indices)
    offset = longest // 2
    # Row c reads I[j_c] reversed, starting at column offset - len(j_c) // 2 so that every filter is
    # centred on the shared offset; other columns read index x.size, a zero appended to I.
    columns = np.full((scales.size, longest + 1), x.size, dtype=np.int64)
    for row, j in enumerate(indices):
        start = offset - len(j) // 2
        columns[row, start : start + len(j)] = j[::-1]
    weights = -np.sqrt(scales) * (x[1] - x[0])
    lengths = tuple(len(j) for j in indices)
    return WaveletLayout(
        torch.from_numpy(x), torch.from_numpy(columns), torch.from_numpy(weights[:, None]), offset, lengths
    )


def wavelet_filters(
    wavelet: str,
    scales: Sequence[float] | np.ndarray,
    bandwidth: torch.Tensor | float | None = None,
    center: torch.Tensor | float | None = None,
    *,
    precision: int = DEFAULT_PRECISION,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, int]:
    """pywt's discrete CWT filters: ``W[c, t] = sum_m taps[c, m] x[t + offset - m]`` equals
    ``pywt.cwt(x, scales, ...)[0][c, t]`` (``x`` zero outside its samples).

    Each scale's ``length + 1`` taps (see :func:`kernel_length`) are placed so that all scales share one
    output offset. Built in float64 (parameters are promoted), differentiable in ``bandwidth`` and
    ``center``.

    Args:
        wavelet: one of :data:`WAVELETS`.
        scales: ``(n,)`` positive scales (in samples).
        bandwidth: Morlet bandwidth ``B``, one per scale or shared (default: the name's, see
            :func:`default_parameters`).
        center: Morlet centre frequency ``C``, one per scale or shared.
        precision: the wavelet is sampled at ``2^precision`` points (pywt.cwt's ``precision``).
        dtype: real dtype of the result (its complex counterpart for ``"morlet"``); default float64.

    Returns:
        ``(taps, offset)``: ``(n, max_length + 1)`` taps, zero around each scale's filter, and the shared
        offset ``max_length // 2``.
    """
    defaults = default_parameters(wavelet) or (None, None)
    bandwidth = defaults[0] if bandwidth is None else bandwidth
    center = defaults[1] if center is None else center
    wavelet = normalize_wavelet(wavelet)
    return layout_filters(wavelet, wavelet_layout(scales, precision), bandwidth, center, dtype=dtype)


def layout_filters(
    wavelet: str,
    layout: WaveletLayout,
    bandwidth: torch.Tensor | float | None = None,
    center: torch.Tensor | float | None = None,
    *,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, int]:
    """:func:`wavelet_filters` from a precomputed :func:`wavelet_layout`: torch operations only (no NumPy),
    so that ``torch.compile`` traces them, on the parameters' device.

    Args:
        wavelet: one of :data:`WAVELETS` (normalised, see :func:`normalize_wavelet`).
        layout: the scales' layout.
        bandwidth, center, dtype: as for :func:`wavelet_filters`.

    Returns:
        ``(taps, offset)`` as :func:`wavelet_filters`.
    """
    n_scales = layout.columns.shape[0]
    grid = layout.grid
    if wavelet in PARAMETRIC_WAVELETS:
        default_bandwidth, default_center = DEFAULT_PARAMETERS[wavelet]
        bandwidth = _per_scale(bandwidth, default_bandwidth, n_scales)
        center = _per_scale(center, default_center, n_scales)
        grid = grid.to(bandwidth.device)
        psi = wavelet_function(wavelet, grid, bandwidth[:, None], center[:, None])
    else:
        psi = wavelet_function(wavelet, grid)[None, :].expand(n_scales, -1)
    columns, weights = layout.columns.to(psi.device), layout.weights.to(psi.device)
    real_dtype = _REAL_PARTS.get(dtype or torch.float64, dtype or torch.float64)  # not .to_real(): traced
    if not psi.is_complex():
        return _taps(psi, columns, weights).to(real_dtype), layout.offset
    # pywt conjugates the integrated wavelet. The parts are built and cast apart, so that every op is real
    # and the filters export to ONNX (which has no complex cumsum, gather or cast).
    parts = (_taps(psi.real, columns, weights), -_taps(psi.imag, columns, weights))
    return torch.complex(*(part.to(real_dtype) for part in parts)), layout.offset


#: The real dtype of each complex one (``dtype.to_real()``, which ``torch.compile`` cannot trace).
_REAL_PARTS = {
    torch.complex32: torch.float16,
    torch.complex64: torch.float32,
    torch.complex128: torch.float64,
}


def _taps(psi: torch.Tensor, columns: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """pywt's filter taps from one real part of the sampled wavelet ``psi`` (``(n, points)``): its running
    integral read at ``columns`` (index ``points`` reads a zero), differenced and scaled by ``weights``
    (``-sqrt(scale)`` times the grid step)."""
    integral = torch.nn.functional.pad(torch.cumsum(psi, dim=-1), (0, 1))
    samples = torch.gather(integral, 1, columns)
    return torch.diff(samples, dim=-1, prepend=torch.zeros_like(samples[:, :1])) * weights


def _per_scale(value: torch.Tensor | float | None, default: float, n: int) -> torch.Tensor:
    """A float64 ``(n,)`` tensor from a per-scale tensor, a number or ``None`` (the default)."""
    if value is None:
        value = default
    if isinstance(value, torch.Tensor):
        return value.to(torch.float64).expand(n) if value.ndim == 0 else value.to(torch.float64)
    return torch.full((n,), float(value), dtype=torch.float64)
