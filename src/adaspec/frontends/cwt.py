"""Continuous wavelet transform (complex Morlet, real Morlet, Ricker) as pywt.cwt computes it, with
learnable Morlet centre frequencies and bandwidths per scale."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_dtype, check_flag, check_positive_int, check_positive_number
from ..kernels.wavelets import (
    DEFAULT_PRECISION,
    PARAMETRIC_WAVELETS,
    central_frequency,
    default_parameters,
    frequencies_to_scales,
    layout_filters,
    log_frequencies,
    normalize_wavelet,
    pywt_morlet_parameters,
    scales_to_frequencies,
    wavelet_layout,
)
from ..ops import OUTPUTS, parts_output
from ..ops._tracing import is_exporting, is_tracing, require_static_length
from ..ops.convolution import FilterSpectra
from ._device import built_on_default_device, reset_to_initial
from ._kernel_check import kernel_key, recheck_kernels
from ._waveform import check_waveform, over_signals
from .registry import register_frontend

DEFAULT_F_MIN = 32.70  # C1, as librosa's CQT
DEFAULT_N_BINS = 84
_MAX_LOGIT = 40.0  # sigmoid(40) = 1 - 4e-18: a wavelet centred exactly at Nyquist
#: Fixed wavelets' spectra are kept between calls up to this many values (256 MB in complex64).
MAX_CACHED_ELEMENTS = 1 << 25


@register_frontend("cwt")
class CWT(nn.Module):
    """Continuous wavelet transform ``(..., time) -> (..., n_bins, frames)``, equal to ``pywt.cwt``.

    Row ``i`` holds ``pywt.cwt(x, scales, wavelet)[0][i, ::hop_length]``: the transform at samples
    ``0, hop_length, ...`` (``1 + (time - 1) // hop_length`` frames), the signal zero outside its samples
    (linear convolution), the wavelets discretised as pywt does (see :mod:`adaspec.kernels.wavelets`).
    Only those hop-spaced outputs are computed: one FFT of the zero-padded signal, the wavelets' spectra,
    and per wavelet a fold of the product onto ``N / hop_length`` bins and one small inverse FFT (see
    :mod:`adaspec.ops.convolution`).

    Wavelets: ``"morlet"`` (complex, pywt ``"cmorB-C"``, default ``B = 1.5, C = 1``), ``"real_morlet"``
    (pywt ``"morl"``: ``B = 2, C = 5 / (2 pi)``) and ``"ricker"`` (pywt ``"mexh"``); pywt's names are
    accepted too, with pywt's meaning (its bare ``"cmor"`` is ``"cmor1.0-0.5"``). Scales are either given
    or ``n_bins`` log-spaced frequencies from ``f_min`` to ``f_max``, mapped as ``pywt.scale2frequency``:
    ``scale = central / (frequency * dt)`` with pywt's numerical central frequency (1.0 for
    ``"cmor1.5-1.0"``, 0.8125 for ``"morl"``, 0.25 for ``"mexh"``); rows run from the first scale given, or
    from ``f_min`` up.

    With ``learn_wavelets`` each scale's Morlet centre frequency ``C_i`` and bandwidth ``B_i`` are trained
    (flippable after construction). They are reparameterised: ``C_i = (scale_i / 2) sigmoid(center_logits_i)``
    keeps the wavelet's centre ``C_i / (scale_i dt)`` between 0 and Nyquist, ``B_i = exp(log_bandwidth_i)``
    keeps the bandwidth positive (a wavelet centred exactly at Nyquist, as the top row with the default
    ``f_max`` is for ``"morlet"``, sits on the bound and its centre gets no gradient). The Ricker wavelet has
    no such parameters.

    Args:
        sample_rate: sampling rate in Hz.
        wavelet: ``"morlet"``, ``"real_morlet"`` or ``"ricker"`` (or pywt's ``"cmor"``, ``"cmorB-C"`` such
            as ``"cmor1.5-1.0"``, ``"morl"``, ``"mexh"``).
        scales: explicit scales in samples (then leave ``f_min``, ``f_max`` and ``n_bins`` unset).
        f_min: lowest frequency in Hz (default 32.70).
        f_max: highest frequency in Hz (default Nyquist).
        n_bins: number of log-spaced frequencies (default 84).
        hop_length: samples between output frames.
        output: ``"complex"`` (the coefficients; a complex tensor, with zero imaginary part for the real
            wavelets), ``"magnitude"`` or ``"power"`` (of a real wavelet's coefficients these oscillate at
            the row's frequency; the complex Morlet gives a smooth envelope).
        bandwidth: Morlet bandwidth ``B`` (default 1.5 for ``"morlet"``, 1 for ``"cmor"``, 2 for
            ``"real_morlet"``).
        center: Morlet centre frequency ``C`` in cycles per unit of wavelet time (default 1, 0.5 for
            ``"cmor"``, ``5 / 2 pi`` for ``"real_morlet"``).
        precision: the wavelet is sampled at ``2^precision`` points: pywt.cwt's ``precision`` (12 since
            PyWavelets 1.9; older versions use 10).
        learn_wavelets: train the Morlet centre frequencies and bandwidths.
        cache_spectra: while the wavelets are fixed, keep their spectra from one call to the next with the
            same input length, dtype and device (about ``n_bins x (time + longest wavelet)`` values, up to
            :data:`MAX_CACHED_ELEMENTS`; rebuilt when the parameters or ``hop_length`` change, e.g. on
            ``load_state_dict``; after edits through ``.data``, which bypass that check, call
            :meth:`kernels_changed`); most of a call's work otherwise. ``torch.compile`` builds them (or
            finds them kept) while tracing and its graph reads them from the module: a compiled module does
            not see in-place edits of fixed wavelets' parameters, call :meth:`kernels_changed` after them
            (``load_state_dict`` does). ``torch.export`` builds them in the exported program instead (no
            cache: it cannot read the parameters).
        dtype: parameter dtype.
    """

    @built_on_default_device
    def __init__(
        self,
        sample_rate: float = 16000.0,
        wavelet: str = "morlet",
        scales: Sequence[float] | None = None,
        f_min: float | None = None,
        f_max: float | None = None,
        n_bins: int | None = None,
        hop_length: int = 512,
        output: str = "magnitude",
        bandwidth: float | None = None,
        center: float | None = None,
        precision: int = DEFAULT_PRECISION,
        learn_wavelets: bool = False,
        cache_spectra: bool = True,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.cache_spectra = check_flag("cache_spectra", cache_spectra)
        self._spectra: FilterSpectra | None = None
        self._spectra_key: tuple | None = None
        self._traced_spectra: dict[tuple, FilterSpectra] = {}  # what compiled graphs read (see _hold_spectra)
        self.sample_rate = check_positive_number("sample_rate", sample_rate)
        spelled = pywt_morlet_parameters(wavelet)
        if spelled is not None:  # pywt's "cmorB-C"
            if bandwidth is not None or center is not None:
                raise ValueError(
                    f"wavelet={wavelet!r} names its bandwidth and center; give them there or as "
                    "bandwidth/center with wavelet='morlet', not both"
                )
            wavelet, (bandwidth, center) = "morlet", spelled
        defaults = default_parameters(wavelet) or (None, None)  # pywt's bare "cmor" is cmor1.0-0.5
        self.wavelet = normalize_wavelet(wavelet)
        self.hop_length = check_positive_int("hop_length", hop_length)
        self.output = check_choice("output", output, OUTPUTS)
        self.precision = check_positive_int("precision", precision)
        parametric = self.wavelet in PARAMETRIC_WAVELETS
        if not parametric and (bandwidth is not None or center is not None):
            raise ValueError(f"bandwidth and center apply to the Morlet wavelets, not wavelet={wavelet!r}")
        bandwidth = defaults[0] if bandwidth is None else _positive("bandwidth", bandwidth)
        center = defaults[1] if center is None else _positive("center", center)
        self.central_frequency = central_frequency(self.wavelet, bandwidth, center, self.precision)
        scales = self._resolve_scales(scales, f_min, f_max, n_bins)
        self._scales = scales
        self._frequencies = scales_to_frequencies(scales, self.central_frequency, self.sample_rate)
        self._check_nyquist(center)
        self._layout = wavelet_layout(scales, self.precision)  # where each scale reads its taps (NumPy, once)
        self._lengths = list(self._layout.lengths)
        dtype = check_dtype(dtype)
        if parametric:
            # C_i / (scale_i / 2) in (0, 1]: centre at most Nyquist. _check_nyquist allows 1e-12 of rounding
            # (a scale computed for Nyquist, 1.4999999999999998 for C = 0.75), which gave a NaN logit.
            ratio = np.minimum(center / (scales / 2.0), 1.0)
            with np.errstate(divide="ignore"):  # a centre exactly at Nyquist gets the largest logit
                logits = np.minimum(np.log(ratio) - np.log1p(-ratio), _MAX_LOGIT)
            self.center_logits = nn.Parameter(torch.from_numpy(logits).to(dtype))
            self.log_bandwidth = nn.Parameter(torch.full((scales.size,), math.log(bandwidth), dtype=dtype))
        else:
            self.center_logits = nn.Parameter(torch.empty(0, dtype=dtype), requires_grad=False)
            self.log_bandwidth = nn.Parameter(torch.empty(0, dtype=dtype), requires_grad=False)
        self.learn_wavelets = learn_wavelets
        self.register_load_state_dict_post_hook(recheck_kernels)

    def _resolve_scales(
        self,
        scales: Sequence[float] | None,
        f_min: float | None,
        f_max: float | None,
        n_bins: int | None,
    ) -> np.ndarray:
        if scales is None:
            frequencies = log_frequencies(
                DEFAULT_F_MIN if f_min is None else f_min,
                f_max,
                DEFAULT_N_BINS if n_bins is None else n_bins,
                self.sample_rate,
            )
            return frequencies_to_scales(frequencies, self.central_frequency, self.sample_rate)
        pairs = (("f_min", f_min), ("f_max", f_max), ("n_bins", n_bins))
        given = [name for name, value in pairs if value is not None]
        if given:
            raise ValueError(f"give either scales or f_min/f_max/n_bins, not both (got scales and {given})")
        try:
            if isinstance(scales, (str, bytes)) or np.asarray(scales).dtype.kind not in "iuf":
                raise TypeError  # numpy reads "4" as 4.0 and True as 1.0
            if isinstance(scales, (list, tuple)) and any(
                isinstance(value, (bool, np.bool_)) for value in np.asarray(scales, dtype=object).ravel()
            ):
                raise TypeError  # [True, 10.0] is a float array to numpy
            values = np.asarray(scales, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"scales must be a list of positive numbers, got {scales!r}") from None
        if values.size == 0 or not np.all(np.isfinite(values)) or not np.all(values > 0):
            raise ValueError(f"scales must be a non-empty list of positive numbers, got {values.tolist()!r}")
        return values

    def _check_nyquist(self, center: float | None) -> None:
        """Refuse scales whose frequency (pywt's or the Morlet's own centre) is above Nyquist."""
        nyquist = self.sample_rate / 2.0
        central = max(self.central_frequency, center or 0.0)
        smallest = float(self._scales.min())
        if central / smallest > 0.5 * (1 + 1e-12):
            raise ValueError(
                f"scales must be >= {2 * central:g} samples for wavelet={self.wavelet!r} (frequency "
                f"{central:g} / scale at most 0.5 cycles per sample, the Nyquist frequency {nyquist:g} Hz); "
                f"got scale {smallest:g}, i.e. {central * self.sample_rate / smallest:g} Hz"
            )

    @property
    def learn_wavelets(self) -> bool:
        """Whether the Morlet centre frequencies and bandwidths are trained."""
        return self.center_logits.requires_grad

    @learn_wavelets.setter
    def learn_wavelets(self, value: bool) -> None:
        flag = check_flag("learn_wavelets", value)
        if flag and self.wavelet not in PARAMETRIC_WAVELETS:
            raise ValueError(
                f"learn_wavelets needs a Morlet wavelet ({', '.join(PARAMETRIC_WAVELETS)}); "
                f"{self.wavelet!r} has no centre frequency or bandwidth to learn"
            )
        self.center_logits.requires_grad_(flag)
        self.log_bandwidth.requires_grad_(flag)

    def kernels_changed(self) -> None:
        """Drop the kept wavelet spectra and rebuild in place those compiled graphs read, which need no new
        trace (needed only after edits of the parameters through ``.data``, or in place between compiled
        calls)."""
        self._spectra, self._spectra_key = None, None
        with torch.no_grad(), torch.inference_mode(False):
            for key, spectra in self._traced_spectra.items():
                self._refill(spectra, *key)

    def _refill(
        self, spectra: FilterSpectra, length: int, hop_length: int, dtype: torch.dtype, device: torch.device
    ) -> None:
        """Overwrite kept ``spectra`` with those of the current parameters (same shapes, same tensors)."""
        fresh = self._built_spectra(length, dtype, device, hop_length=hop_length)
        fresh.hold()
        for kept, new in zip(spectra.chunks or [], fresh.chunks or [], strict=True):
            kept.copy_(new)

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> CWT:
        """``nn.Module._apply`` (``to``, ``double``, ...), dropping the spectra kept for the old parameters
        (compiled graphs, which guard on the parameters, are traced again)."""
        result = super()._apply(fn, recurse)
        self._spectra, self._spectra_key = None, None
        self._traced_spectra = {}
        return result

    @property
    def n_bins(self) -> int:
        """Number of scales (output rows)."""
        return int(self._scales.size)

    @property
    def scales(self) -> torch.Tensor:
        """The scale of every row in samples (float64, on the parameters' device)."""
        return torch.from_numpy(self._scales.copy()).to(self.center_logits.device)

    @property
    def frequencies(self) -> torch.Tensor:
        """Frequency of every row in Hz (float64): ``central_frequency / (scale * dt)``, pywt's convention,
        for the wavelet the module was built with (see :attr:`center_frequencies` once it learns)."""
        return torch.from_numpy(self._frequencies.copy())

    @property
    def center(self) -> torch.Tensor | None:
        """Morlet centre frequencies ``C_i`` per scale (differentiable); ``None`` for the Ricker."""
        if self.wavelet not in PARAMETRIC_WAVELETS:
            return None
        return (self.scales / 2.0) * torch.sigmoid(self.center_logits.to(torch.float64))

    @property
    def bandwidth(self) -> torch.Tensor | None:
        """Morlet bandwidths ``B_i`` per scale (differentiable); ``None`` for the Ricker."""
        if self.wavelet not in PARAMETRIC_WAVELETS:
            return None
        return torch.exp(self.log_bandwidth.to(torch.float64))

    @property
    def center_frequencies(self) -> torch.Tensor:
        """Centre of each row's wavelet in Hz: ``C_i / (scale_i dt)`` for the Morlets (differentiable;
        ``5 / 2 pi`` rather than pywt's 0.8125 for an untrained ``"real_morlet"``), :attr:`frequencies`
        for the Ricker."""
        center = self.center
        if center is None:
            return self.frequencies
        return center * (self.sample_rate / self.scales)

    @property
    def max_kernel_length(self) -> int:
        """Samples spanned by the longest wavelet: inputs must be at least this long."""
        return max(self._lengths)

    def kernels(self, dtype: torch.dtype | None = None) -> tuple[torch.Tensor, int]:
        """The discrete filters of every scale and their shared output offset (differentiable; see
        :func:`adaspec.kernels.wavelet_filters`).

        Args:
            dtype: real dtype of the filters (complex counterpart for the complex Morlet); default float64.
        """
        return layout_filters(self.wavelet, self._layout, self.bandwidth, self.center, dtype=dtype)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Transform ``(..., time)`` real signals into ``(..., n_bins, frames)`` wavelet coefficients."""
        length = waveform.shape[-1] if isinstance(waveform, torch.Tensor) and waveform.ndim else 0
        require_static_length(length, "CWT's wavelet spectra (one FFT of the whole signal)")
        longest = self.max_kernel_length
        check_waveform(waveform, longest, self._too_short(length) if length < longest else "")
        return over_signals(lambda signals: self._output(self._coefficients(signals)), waveform)

    def _too_short(self, length: int) -> str:
        """The message for an input of ``length`` samples, shorter than the longest wavelet (built only
        then: ``torch.compile`` cannot trace its NumPy indexing)."""
        index = int(np.argmax(self._lengths))
        return (
            f"waveform of {length} samples is shorter than the longest wavelet: {self.max_kernel_length} "
            f"samples at scale {self._scales[index]:g} ({self._frequencies[index]:g} Hz); use a longer "
            "input, a higher f_min or smaller scales"
        )

    def _coefficients(self, signals: torch.Tensor) -> torch.Tensor:
        """``(batch, time)`` signals to ``(batch, n_bins, frames)`` coefficients (real for real wavelets)."""
        spectra = self._filter_spectra(signals.shape[-1], signals.dtype, signals.device)
        return spectra.apply(signals)

    def _output(self, coefficients: torch.Tensor) -> torch.Tensor:
        """The coefficients in the requested output form."""
        if self.output == "complex":
            result = (
                coefficients
                if coefficients.is_complex()
                else torch.complex(coefficients, torch.zeros_like(coefficients))
            )
        elif coefficients.is_complex():
            result = parts_output(coefficients.real, coefficients.imag, self.output)
        else:
            result = coefficients.square() if self.output == "power" else coefficients.abs()
        return result

    def _filter_spectra(self, length: int, dtype: torch.dtype, device: torch.device) -> FilterSpectra:
        """The wavelets' spectra for inputs of ``length`` samples: the kept ones while the wavelets are
        fixed (also under ``torch.compile``, which reads them from the module), else built anew."""
        if is_exporting():  # no values to key a cache on: the spectra are built in the exported graph
            return self._built_spectra(length, dtype, device, taps_dtype=dtype)  # ONNX: no complex casts
        if not is_tracing():
            return self._kept_spectra(length, dtype, device)
        if self._held_when_traced(length, dtype, device):
            return self._traced_spectra[(length, self.hop_length, dtype, device)]  # read, not built
        return self._built_spectra(length, dtype, device)  # learnable: built in the graph, gradients flow

    def _held_when_traced(self, length: int, dtype: torch.dtype, device: torch.device) -> bool:
        """Traced: whether fixed wavelets' spectra are kept for this (static) length, built eagerly now if
        need be (learnable wavelets build them in the graph; a symbolic length is specialised, as
        ``operator.index`` makes Dynamo do)."""
        return self._wavelets_fixed() and _hold_spectra(self, operator.index(length), dtype, device)

    def _wavelets_fixed(self) -> bool:
        """Whether no wavelet parameter trains (then the spectra may be kept)."""
        return not (self.center_logits.requires_grad or self.log_bandwidth.requires_grad)

    def _built_spectra(
        self,
        length: int,
        dtype: torch.dtype,
        device: torch.device,
        taps_dtype: torch.dtype | None = None,
        hop_length: int | None = None,
    ) -> FilterSpectra:
        """The spectra built from the current parameters, nothing precomputed (differentiable)."""
        taps, offset = self.kernels(taps_dtype)
        hop_length = self.hop_length if hop_length is None else hop_length
        return FilterSpectra(taps.to(device), offset, length, hop_length, dtype=dtype, keep=False)

    def _kept_spectra(self, length: int, dtype: torch.dtype, device: torch.device) -> FilterSpectra:
        """Eagerly: the kept spectra while the wavelets are fixed and nothing they depend on changed, else
        built anew (and kept when allowed and small enough)."""
        parameters = (self.center_logits, self.log_bandwidth)
        fixed = self._wavelets_fixed()
        key = (
            length,
            self.hop_length,
            dtype,
            device,
            torch.is_inference_mode_enabled(),  # inference tensors cannot enter a later autograd graph
            # Parameters made under torch.inference_mode have no version counter (reading it raised, so a
            # CWT built there failed at its first call): their key is new at every call, never cached.
            *kernel_key(*parameters),
        )
        if fixed and self.cache_spectra and key == self._spectra_key and self._spectra is not None:
            return self._spectra
        self._spectra, self._spectra_key = None, None  # free the old spectra before building new ones
        spectra = self._built_spectra(length, dtype, device)
        if fixed and self.cache_spectra and spectra.n_elements <= MAX_CACHED_ELEMENTS:
            spectra.hold()
            self._spectra, self._spectra_key = spectra, key
        return spectra

    def reset_parameters(self) -> None:
        """Give the wavelet parameters their initial values again (PyTorch's convention, e.g. for FSDP's
        initialisation of a model built on the meta device and materialised with ``to_empty``)."""
        reset_to_initial(self)
        self.kernels_changed()

    def extra_repr(self) -> str:
        return (
            f"sample_rate={self.sample_rate:g}, wavelet={self.wavelet!r}, n_bins={self.n_bins}, "
            f"f_min={self._frequencies.min():g}, f_max={self._frequencies.max():g}, "
            f"hop_length={self.hop_length}, output={self.output!r}, learn_wavelets={self.learn_wavelets}"
        )


def _positive(name: str, value: float) -> float:
    return check_positive_number(name, value)


def _hold_spectra(module: CWT, length: int, dtype: torch.dtype, device: torch.device) -> bool:
    """Whether ``module`` keeps its fixed wavelets' spectra for inputs of ``length`` samples (building them
    now if needed). ``torch.compile`` runs this eagerly while tracing, not in the graph, which then reads the
    spectra from ``module._traced_spectra`` (one entry per traced length, dtype and device, so that graphs
    for several lengths do not evict each other's); built outside inference mode, they serve calls in and
    out of it."""
    if not module.cache_spectra:
        return False
    with torch.inference_mode(False):
        spectra = module._kept_spectra(length, dtype, device)
    if spectra.chunks is None:
        return False
    module._traced_spectra[(length, module.hop_length, dtype, device)] = spectra
    return True


# What ``torch.compiler.assume_constant_result`` does (Dynamo then runs the function eagerly while tracing),
# without its import of ``torch._dynamo`` (1.5 s) at the import of this module; test_cwt_compile checks that
# compiled graphs still read the kept spectra.
_hold_spectra._dynamo_marked_constant = True  # type: ignore[attr-defined]
