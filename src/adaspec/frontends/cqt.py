"""Constant-Q and variable-Q transforms (librosa.cqt / librosa.vqt conventions) with learnable kernels."""

from __future__ import annotations

import math
from typing import NoReturn

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._validation import (
    check_choice,
    check_dtype,
    check_flag,
    check_positive_int,
    check_positive_number,
    is_real_number,
)
from ..kernels.cqt import (
    CQT_NORMS,
    cqt_frequencies,
    cqt_lengths,
    kernel_support,
    next_power_of_two,
    resolve_gamma,
)
from ..kernels.cqt_levels import (
    OctaveLevel,
    centred_in,
    composed_time_kernels,
    cqt_level_time_kernels,
    kernel_half_width,
    plan_octave_levels,
    two_sided_spectral_kernels,
)
from ..kernels.resampling import soxr_hq_response
from ..kernels.windows import WindowSpec
from ..ops import (
    OUTPUTS,
    banded_product,
    dense_transform,
    frame_signal,
    interleaved_weights,
    normalize_pad_mode,
    octave_rates,
    onnx_fft,
    parts_output,
)
from ..ops._tracing import is_tracing, require_static_length
from ._device import built_on_default_device, reset_to_initial
from ._kernel_check import equals_rounded, kernel_key, recheck_kernels
from ._tables import DerivedTables, rebuild_meta_tables
from ._waveform import check_waveform, over_signals
from .registry import register_frontend

ALGORITHMS = ("multirate", "direct")
C1_HZ = 32.70319566257483  # librosa's default f_min (note C1)
#: ``"direct"``: samples (at a level's rate) beyond a level's frames within which librosa's decimation,
#: cut at the signal's ends, still changes them (the low-pass's ringing): closer frames are edge frames.
EDGE_MARGIN = 32
#: ``"direct"``: L1 fraction of each composed kernel that its full-rate frame may leave out.
DIRECT_KERNEL_TAIL = 1e-3


@register_frontend("vqt")
class VQT(DerivedTables):
    """Variable-Q transform ``(..., time) -> (..., n_bins, frames)``, equal to ``librosa.vqt`` (and with
    ``gamma=0`` to ``librosa.cqt``) for the same parameters, with ``tuning=0``.

    Bin ``k`` has centre ``f_min * 2 ** (k / bins_per_octave)``, quality ``Q = filter_scale / alpha``
    (``alpha = (2 ** (2 / b) - 1) / (2 ** (2 / b) + 1)``) and a window of ``L = Q * sample_rate /
    (f + gamma / alpha)`` samples; its atom ``w[n] exp(2i pi f n / sample_rate)`` is divided by its
    ``norm``-norm. Frames are centred on multiples of ``hop_length`` (padding with ``pad_mode``), as
    librosa does; with ``scale=True`` (librosa's default) every bin is divided by ``sqrt(L)`` so white
    noise gives the same expected energy in every bin; ``scale=False`` gives ``L`` times the
    correlation with the L1-normalised atom instead.

    Algorithms (both compute the same transform, to about 1e-3 of the largest value; they differ in speed):
        ``"multirate"`` (default; fastest): librosa's scheme. The top octave is computed at the lowest
        rate ``sample_rate / 2**e`` that holds it, each lower octave after one more anti-aliased halving
        of the signal (while ``hop_length`` at that rate is even), from short frames and the same short
        kernels. The decimation is a zero-phase FFT low-pass with the gain of librosa's soxr 'HQ'
        resampler (measured once per factor, :func:`adaspec.kernels.soxr_hq_response`), so in float64
        the results agree with librosa.vqt (``sparsity=0``) to about 1e-6 of the largest value on every
        frame; only after an early decimation by 4 or more, which soxr does in stages that ring
        differently at the signal's start, the first frames differ by up to about 4e-3 (7e-3 with a
        strong offset).
        ``"direct"``: one kernel per bin at the full rate (nnAudio's CQT1992): the rfft of frames times
        frequency-domain kernels cut to the band that holds all but ``sparsity`` of each row's L1 mass.
        The kernels are the multirate ones composed with their decimation, which gives librosa's
        transform away from the signal's ends. The low-pass spreads a kernel beyond its level's frame,
        so the frames are as long as the longest filter or, where a level's frames are short (large
        ``gamma``), long enough to hold all but ``DIRECT_KERNEL_TAIL`` (1e-3) of each kernel's L1 norm
        (VQT with ``gamma=50`` at 48 kHz from 55 Hz: 16384 samples instead of 1024; librosa's ERB
        ``gamma`` at 16 kHz, hop 128: 4096 instead of 2048; the CQTs measured keep their length). That
        cut leaves "direct" within about 1e-3 of "multirate" for VQTs (1e-4 would cost frames twice as
        long for 1e-5), 1e-6 for CQTs. The full-rate frames are zero-padded whatever ``pad_mode`` (it
        acts in the edge frames). Such a kernel is not
        one-sided on the full-rate grid (for windows that do not
        vanish at their ends, such as Hamming or a boxcar, by a few 1e-3 of its mass), so the product
        weighs the spectrum's real and imaginary parts separately (the spectrum and its conjugate), which
        costs the same as a complex product. Near the ends it
        cannot: librosa low-passes each octave's signal as if zero outside the signal, cuts the result
        to the signal's span (``round(time / factor)`` samples) and pads it at its own rate, which no
        full-rate filtering of the padded signal reproduces (the low-pass ringing cut off before the
        start and after the end; reflections at a lower rate). So in each level's edge frames (those
        within half its frame plus ``EDGE_MARGIN`` samples of an end, at its rate; see
        :meth:`edge_frames`) the level's own kernels are applied to the decimated, padded signal, as
        ``"multirate"`` does (trained kernels: the full-rate ones applied to that signal zero-stuffed back
        to the full rate, computed at the level's rate). This costs the decimation
        chain (about 10 % more time) and matches librosa as closely as ``"multirate"`` does on every
        frame, for every ``pad_mode``.
        With ``learn_kernels`` (or kernels changed by training) both apply their time-domain kernels
        with one matrix product per rate (nnAudio's trainable CQT), ``"direct"`` at the full rate except
        for the edge frames; the multirate one stays fast. ``torch.compile`` and ``torch.export`` cannot
        read the kernels, so ``"direct"`` traces the path of the last check (made when the module is
        built, at every eager forward, by ``load_state_dict`` and by :meth:`kernels_changed`; with none
        since ``learn_kernels`` was switched off, the time-domain kernels, right for any kernels); a
        compiled module does not see in-place edits of fixed kernels: call :meth:`kernels_changed` after
        them.

    Args:
        sample_rate: sampling rate in Hz.
        hop_length: samples between frames.
        f_min: centre of the lowest bin in Hz (default C1, 32.70 Hz).
        n_bins: number of bins.
        bins_per_octave: bins per octave.
        gamma: bandwidth offset in Hz (0 = constant Q); ``None`` is librosa.vqt's ERB-based default.
        filter_scale: multiplies Q (longer filters for > 1).
        norm: norm of each atom: 1 (librosa's default), 2, ``math.inf`` or ``None``.
        window: ``scipy.signal.get_window`` spec of the atoms (not a tensor: atoms differ in length).
        scale: divide by ``sqrt(L)`` (librosa's ``scale=True``).
        pad_mode: padding of the centred frames (``"constant"`` as librosa.cqt, ``"reflect"``, ...).
        output: ``"complex"``, ``"magnitude"`` or ``"power"``.
        algorithm: ``"multirate"`` or ``"direct"``.
        sparsity: ``"direct"`` only: L1 mass of each frequency-domain kernel row that may be cut off.
        learn_kernels: train the time-domain kernels ``kernel_real`` / ``kernel_imag``.
        dtype: parameter dtype (built in float64).

    Raises:
        ValueError: for a bad parameter, or bins whose filters reach past Nyquist (the message says how
            many bins fit); in ``forward`` for an input shorter than the longest filter.
    """

    @built_on_default_device
    def __init__(
        self,
        sample_rate: float = 22050.0,
        hop_length: int = 512,
        f_min: float = C1_HZ,
        n_bins: int = 84,
        bins_per_octave: int = 12,
        gamma: float | None = None,
        filter_scale: float = 1.0,
        norm: float | None = 1,
        window: WindowSpec = "hann",
        scale: bool = True,
        pad_mode: str = "constant",
        output: str = "complex",
        algorithm: str = "multirate",
        sparsity: float = 1e-3,
        learn_kernels: bool = False,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        check_positive_number("sample_rate", sample_rate, meaning=" (Hz)")
        if isinstance(window, (torch.Tensor, np.ndarray)):
            raise ValueError("window must be a scipy.signal.get_window spec such as 'hann', not an array")
        if not is_real_number(sparsity) or not 0.0 <= sparsity < 1.0:
            raise ValueError(f"sparsity must be a number in [0, 1), got {sparsity!r}")
        self.sample_rate = float(sample_rate)
        self.hop_length = check_positive_int("hop_length", hop_length)
        self.bins_per_octave = check_positive_int("bins_per_octave", bins_per_octave)
        self.norm = check_choice("norm", norm, CQT_NORMS)
        self.scale = check_flag("scale", scale)
        self.pad_mode = normalize_pad_mode(pad_mode)
        self.output = check_choice("output", output, OUTPUTS)
        self.algorithm = check_choice("algorithm", algorithm, ALGORITHMS)
        self.sparsity = float(sparsity)
        self.window = window
        self.gamma = resolve_gamma(gamma, self.bins_per_octave)
        self._frequencies = cqt_frequencies(n_bins, f_min, self.bins_per_octave)
        self.f_min = float(f_min)
        lengths, reach = cqt_lengths(
            self._frequencies,
            self.sample_rate,
            bins_per_octave=self.bins_per_octave,
            filter_scale=filter_scale,
            gamma=self.gamma,
            window=window,
        )
        _check_below_nyquist(self._frequencies, reach, self.sample_rate, self.gamma)
        self.filter_scale = float(filter_scale)
        self._lengths_at_rate = lengths
        self.min_length = math.ceil(float(lengths.max()))
        self._levels = plan_octave_levels(
            lengths, self.bins_per_octave, self.hop_length, self.sample_rate, float(reach.max())
        )
        # soxr's 'HQ' low-pass gains of the decimation chain (constants of compiled and exported graphs)
        for name, table in self._response_tables().items():
            self.register_buffer(name, table, persistent=False)
        composed = None
        if self.algorithm == "direct":  # one frame length at the full rate, holding every composed kernel
            composed = [self._composed_kernels(level) for level in self._levels]
            self.n_fft = self._direct_frame_length(composed)
        else:
            self.n_fft = max(level.n_fft for level in self._levels)
        dtype = check_dtype(dtype)
        exact = self._exact_time_kernels(composed)
        del composed
        self.kernel_real = nn.Parameter(torch.from_numpy(exact.real).to(dtype))
        self.kernel_imag = nn.Parameter(torch.from_numpy(exact.imag).to(dtype))
        if self.algorithm == "direct":
            for name, table in self._direct_tables(exact).items():
                self.register_buffer(name, table.to(dtype), persistent=False)
        del exact
        self.learn_kernels = learn_kernels
        # Built from the analytic kernels just now: the verdict holds for them.
        self._kernel_check = kernel_key(self.kernel_real, self.kernel_imag)
        self._kernels_exact = True
        self.register_load_state_dict_post_hook(recheck_kernels)

    # ------------------------------------------------------------------------------------------ design

    def _level_kernels(self, level: OctaveLevel) -> np.ndarray:
        return cqt_level_time_kernels(
            level,
            self._frequencies,
            self._lengths_at_rate,
            self.sample_rate,
            self.bins_per_octave,
            window=self.window,
            norm=self.norm,
            scale=self.scale,
        )

    def _composed_kernels(self, level: OctaveLevel) -> np.ndarray:
        """A level's direct kernels: composed with the last decimation step feeding it (the steps before it
        are flat up to its Nyquist frequency)."""
        if level.factor == 1:
            return self._level_kernels(level)
        last_step = level.factor if level.factor == self._levels[0].factor else 2
        return composed_time_kernels(level, self._level_kernels(level), soxr_hq_response(last_step))

    def _direct_frame_length(self, composed: list[np.ndarray]) -> int:
        """``"direct"``'s full-rate frame: a power of two holding every level's frames and all but
        ``DIRECT_KERNEL_TAIL`` of each of the ``composed`` kernels' L1 norm (longer than the frames only
        where the decimation low-pass's spread matters: short level frames, as large ``gamma`` gives)."""
        spans = max(level.n_fft * level.factor for level in self._levels)
        width = max(kernel_half_width(times, DIRECT_KERNEL_TAIL) for times in composed)
        return max(spans, next_power_of_two(2 * width))

    def _exact_time_kernels(self, composed: list[np.ndarray] | None = None) -> np.ndarray:
        """``(n_bins, n_fft)`` complex128 time-domain kernels: for ``"direct"`` at the full rate, each
        level's composed with the decimation feeding it (so both algorithms compute the same transform;
        ``composed``: those kernels per level, if already computed); for ``"multirate"`` each level's at
        its own rate, centred in ``n_fft``."""
        kernels = np.zeros((self.n_bins, self.n_fft), dtype=np.complex128)
        for index, level in enumerate(self._levels):
            rows = slice(level.start, level.stop)
            if self.algorithm == "direct":
                times = composed[index] if composed is not None else self._composed_kernels(level)
                kernels[rows] = centred_in(times, self.n_fft)
            else:
                left = (self.n_fft - level.n_fft) // 2
                columns = slice(left, left + level.n_fft)
                kernels[rows, columns] = self._level_kernels(level)
        return kernels

    def _response_tables(self) -> dict[str, torch.Tensor | None]:
        """The decimation chain's soxr 'HQ' gains (float64; ``None`` where a step does not decimate)."""
        first, halving = self._levels[0].factor, (2 if len(self._levels) > 1 else 1)
        return {
            name: torch.tensor(soxr_hq_response(factor)) if factor > 1 else None
            for name, factor in (("_first_response", first), ("_halving_response", halving))
        }

    def _direct_tables(self, exact: np.ndarray) -> dict[str, torch.Tensor]:
        """``"direct"``'s float64 tables from its analytic full-rate kernels ``exact``: the spectral blocks
        (:meth:`_spectral_blocks`), then per level its kernels at its own rate (applied in the edge frames)
        and what they differ by from ``exact`` taken at that rate (their low-pass's transition band
        aliased), which is added to trained kernels' samples there."""
        tables = self._spectral_blocks(exact)
        for index, level in enumerate(self._levels):
            at_rate = self._level_kernels(level)
            tables[f"_edge_kernels_{index}"] = torch.from_numpy(np.concatenate([at_rate.real, at_rate.imag]))
            rows, step = slice(level.start, level.stop), level.factor
            difference = centred_in(at_rate, self.n_fft // step) - exact[rows, ::step] * step
            tables[f"_edge_correction_{index}"] = torch.from_numpy(
                np.concatenate([difference.real, difference.imag])
            )
        return tables

    def _spectral_blocks(self, times: np.ndarray) -> dict[str, torch.Tensor]:
        """Banded frequency-domain kernels of the direct algorithm, one block per level, lowest first: the
        weights of ``rfft(frame)``'s real and imaginary parts (see
        :func:`~adaspec.kernels.two_sided_spectral_kernels`), interleaved as the view of a complex
        spectrum as reals is, cut to the band holding all but ``sparsity`` of each row's L1 mass (float64;
        sets ``_block_lows``, the first bin of each)."""
        real_weights, imag_weights = two_sided_spectral_kernels(times)
        low, high = kernel_support(np.abs(real_weights) + np.abs(imag_weights), self.sparsity)
        blocks, lows = {}, []
        for index, level in enumerate(reversed(self._levels)):
            rows = slice(level.start, level.stop)
            first, last = int(low[rows].min()), int(high[rows].max())
            weights = interleaved_weights(real_weights[rows, first:last], imag_weights[rows, first:last])
            blocks[f"_spectral_block_{index}"] = weights
            lows.append(first)
        self._block_lows = lows
        return blocks

    def _derived_tables(self) -> dict[str, torch.Tensor]:
        """All non-persistent buffers, built anew from the constructor settings (float64, on the CPU): the
        decimation gains and, for ``"direct"``, the tables of :meth:`_direct_tables`. Used where the
        buffers must be rebuilt (see :class:`~adaspec.frontends._tables.DerivedTables`)."""
        tables = {name: table for name, table in self._response_tables().items() if table is not None}
        if self.algorithm == "direct":
            tables.update(self._direct_tables(self._exact_time_kernels()))
        return tables

    def reset_parameters(self) -> None:
        """Give the kernels their analytic values again and rebuild the derived tables (PyTorch's
        convention, e.g. for FSDP's initialisation of a model built on the meta device and materialised
        with ``to_empty``)."""
        reset_to_initial(self)
        rebuild_meta_tables(self, None)
        self.kernels_changed()

    # ------------------------------------------------------------------------------------- properties

    @property
    def learn_kernels(self) -> bool:
        """Whether the time-domain kernels are trained: ``True`` while ``kernel_real`` or ``kernel_imag``
        requires grad (also when only one does: the direct algorithm then takes its time-domain path, as the
        spectral fast path gives the kernels no gradient); setting it sets both."""
        return self.kernel_real.requires_grad or self.kernel_imag.requires_grad

    @learn_kernels.setter
    def learn_kernels(self, value: bool) -> None:
        flag = check_flag("learn_kernels", value)
        if self.learn_kernels and not flag:
            self._kernel_check = ()  # trained kernels: no verdict until the next eager check
        self.kernel_real.requires_grad_(flag)
        self.kernel_imag.requires_grad_(flag)

    @property
    def n_bins(self) -> int:
        """Number of frequency bins (rows) in the output."""
        return len(self._frequencies)

    @property
    def frequencies(self) -> torch.Tensor:
        """Centre frequency of every output bin in Hz (float64)."""
        return torch.from_numpy(self._frequencies.copy())

    @property
    def lengths(self) -> torch.Tensor:
        """Filter length of every bin in samples at ``sample_rate`` (float64, fractional)."""
        return torch.from_numpy(self._lengths_at_rate.copy())

    def kernels_changed(self) -> None:
        """Check again whether the kernels are the analytic ones (needed only after ``.data`` edits)."""
        self._kernel_check = ()
        if not is_tracing():
            self.uses_spectral_kernels()

    def uses_spectral_kernels(self) -> bool:
        """Whether the next forward takes the direct FFT path with banded frequency-domain kernels."""
        if self.algorithm != "direct" or self.learn_kernels:
            return False
        if is_tracing():  # no values to read: the last verdict, if one stands (see the class note)
            return self._kernels_exact and bool(self._kernel_check)
        key = kernel_key(self.kernel_real, self.kernel_imag)
        if key != self._kernel_check:
            exact = torch.from_numpy(self._exact_time_kernels())
            self._kernels_exact = equals_rounded(self.kernel_real, exact.real) and equals_rounded(
                self.kernel_imag, exact.imag
            )
            self._kernel_check = key
        return self._kernels_exact

    # ---------------------------------------------------------------------------------------- forward

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Transform ``(..., time)`` signals into ``(..., n_bins, frames)``, ``1 + time // hop_length``
        frames (librosa.cqt sometimes gives one more, centred past the signal's end, where its early
        downsampling rounds the length up; the frames in common match). Computed in float32 (float64 for
        float64 input) even under autocast."""
        length = waveform.shape[-1] if isinstance(waveform, torch.Tensor) and waveform.ndim else 0
        require_static_length(length, f"{type(self).__name__}'s octave decimation and FFT sizes")
        # the message only when it is raised: no f-string of a symbolic length while compiling
        too_short = self._too_short(length) if length < self.min_length else ""
        check_waveform(waveform, self.min_length, too_short)
        n_frames = 1 + length // self.hop_length
        return over_signals(lambda signals: self._transform(signals, n_frames), waveform)

    def _too_short(self, length: int) -> str:
        return (
            f"input of {length} samples is shorter than the longest filter ({self.min_length} samples, "
            f"for f_min={self.f_min:g} Hz at sample_rate={self.sample_rate:g}); use at least "
            f"{self.min_length} samples or raise f_min"
        )

    def _transform(self, signal: torch.Tensor, n_frames: int) -> torch.Tensor:
        """``(batch, time)`` signals to ``(batch, n_bins, n_frames)`` coefficients in the output form."""
        if self.algorithm == "multirate":
            real, imag = self._multirate(signal, n_frames)
        else:
            real, imag = self._direct(signal)
        return parts_output(real, imag, self.output)

    def _frames(
        self, signal: torch.Tensor, n_fft: int, hop_length: int, pad_mode: str | None = None
    ) -> torch.Tensor:
        """Frames centred on multiples of ``hop_length`` (a strided view of the signal padded with
        ``pad_mode``, by default the module's)."""
        pad_mode = self.pad_mode if pad_mode is None else pad_mode
        if pad_mode != "constant":
            return frame_signal(signal, n_fft, hop_length, center=True, pad_mode=pad_mode)
        # Zero padding by concatenation: F.pad would first zero-fill the whole padded copy.
        zeros = signal.new_zeros(signal.shape[0], n_fft // 2)
        padded = torch.cat([zeros, signal, zeros], dim=-1)
        return frame_signal(padded, n_fft, hop_length, center=False, pad_mode=pad_mode)

    def _full_rate_frames(self, signal: torch.Tensor) -> torch.Tensor:
        """``"direct"``'s frames, zero-padded whatever ``pad_mode``: they serve the frames away from the
        ends (``pad_mode`` acts in the edge frames, at each level's rate), whose kernels reach past the
        signal only through the decimation low-pass, which takes the signal as zero outside it. (Reflect
        padding at the full rate also refused signals shorter than half these frames.)"""
        return self._frames(signal, self.n_fft, self.hop_length, pad_mode="constant")

    def _octave_signals(self, signal: torch.Tensor) -> list[torch.Tensor]:
        """The signal at every level's rate, highest rate first (librosa's decimation chain)."""
        first, last = self._levels[0].factor, self._levels[-1].factor
        halvings = last.bit_length() - first.bit_length()
        return octave_rates(signal, first, halvings, self._first_response, self._halving_response)

    def _level_frames(self, signals: list[torch.Tensor], level: OctaveLevel, n_fft: int) -> torch.Tensor:
        """Frames of ``n_fft`` samples of the signal at the level's rate, padded at that rate."""
        level_signal = signals[(level.factor // self._levels[0].factor).bit_length() - 1]
        return self._frames(level_signal, n_fft, self.hop_length // level.factor)

    def _kernels_at_rate(self, level: OctaveLevel) -> torch.Tensor:
        """``(2 rows, size)`` real and imaginary time-domain kernels of a level at its own rate:
        ``level.n_fft`` samples for ``"multirate"``.

        For ``"direct"`` (``n_fft // factor`` samples), the full-rate kernels at every ``factor``-th
        sample times ``factor`` (applied to the decimated signal: the full-rate kernels applied to that
        signal zero-stuffed back to the full rate), plus what the level kernels differ by from the analytic
        full-rate ones taken so: the level kernels themselves at initialisation, as in ``"multirate"``,
        and any training of the full-rate kernels followed.
        """
        if self.algorithm != "direct":
            left = (self.n_fft - level.n_fft) // 2
            rows, columns = slice(level.start, level.stop), slice(left, left + level.n_fft)
            return torch.cat([self.kernel_real[rows, columns], self.kernel_imag[rows, columns]])
        rows, step = slice(level.start, level.stop), level.factor
        kernels = torch.cat([self.kernel_real[rows, ::step], self.kernel_imag[rows, ::step]]) * step
        return kernels + getattr(self, f"_edge_correction_{self._levels.index(level)}").to(kernels.dtype)

    def _multirate(self, signal: torch.Tensor, n_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Every level at its own rate, one matrix product per level, lowest bins first."""
        signals = self._octave_signals(signal)
        products = []
        for level in reversed(self._levels):
            frames = self._level_frames(signals, level, level.n_fft)[:, :n_frames]
            products.append(dense_transform(frames, self._kernels_at_rate(level).to(frames.dtype)))
        return _split_parts(products, self._levels)

    def edge_frames(self, length: int) -> list[tuple[int, int]]:
        """``"direct"``: per level (highest first), how many frames at the start and at the end of a signal
        of ``length`` samples are taken from the decimated signal (see the class docstring)."""
        n_frames = 1 + length // self.hop_length
        counts = []
        for level in self._levels:
            reach = level.factor * (level.n_fft // 2 + EDGE_MARGIN)  # full-rate samples around a centre
            head = min(n_frames, -(-reach // self.hop_length))  # frames t with t * hop < reach
            first_tail = (length - 1 - reach) // self.hop_length + 1  # t * hop + reach > length - 1
            counts.append((head, n_frames - min(n_frames, max(head, first_tail))))
        return counts

    def _direct(self, signal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Full-rate frames and kernels, except each level's frames near the signal's ends, taken at the
        level's rate from the decimated signal padded there (as librosa does)."""
        length = signal.shape[-1]
        n_frames = 1 + length // self.hop_length
        spectral = self.uses_spectral_kernels()
        if spectral:
            spectrum = self._direct_spectral(signal, n_frames)
        else:
            frames = self._full_rate_frames(signal)
        signals = self._octave_signals(signal)
        products = []
        edges = reversed(self.edge_frames(length))
        for (index, level), (head, tail) in zip(reversed(list(enumerate(self._levels))), edges, strict=True):
            rows, middle = slice(level.start, level.stop), slice(head, n_frames - tail)
            if spectral:
                parts = [torch.cat([spectrum.real[:, rows, middle], spectrum.imag[:, rows, middle]], dim=1)]
            else:
                kernels = torch.cat([self.kernel_real[rows], self.kernel_imag[rows]]).to(frames.dtype)
                parts = [dense_transform(frames[:, middle], kernels)]
            if head or tail:  # the analytic kernels are the level's own there, as in "multirate"
                if spectral:
                    kernels = getattr(self, f"_edge_kernels_{index}")
                else:
                    kernels = self._kernels_at_rate(level)
                level_frames = self._level_frames(signals, level, kernels.shape[-1])
                kernels = kernels.to(level_frames.dtype)
                ends = (level_frames[:, :head], level_frames[:, n_frames - tail : n_frames])
                parts = [dense_transform(ends[0], kernels), *parts, dense_transform(ends[1], kernels)]
            products.append(torch.cat(parts, dim=-1))
        return _split_parts(products, self._levels)

    def _direct_spectral(self, signal: torch.Tensor, n_frames: int) -> torch.Tensor:
        frames = self._full_rate_frames(signal)
        spectrum = onnx_fft.rfft(frames[:, :n_frames])
        blocks = [(low, getattr(self, f"_spectral_block_{i}")) for i, low in enumerate(self._block_lows)]
        return banded_product(spectrum, blocks).transpose(-1, -2)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:  # type: ignore[override]
        """Direct kernels saved with shorter frames (before the frames held the low-pass's spread) are
        centred in the current ones: the same products, so a trained model loads as it was. Those frames
        spanned every level's frames at the full rate; anything shorter (e.g. ``"multirate"``'s kernels, at
        each level's own rate) is refused as a size mismatch, not padded into a different transform."""
        if self.algorithm == "direct":
            spans = max(level.n_fft * level.factor for level in self._levels)
            for name in ("kernel_real", "kernel_imag"):
                saved = state_dict.get(prefix + name)
                if (
                    isinstance(saved, torch.Tensor)
                    and saved.ndim == 2
                    and spans <= saved.shape[-1] < self.n_fft
                ):
                    shift = self.n_fft // 2 - saved.shape[-1] // 2
                    state_dict[prefix + name] = F.pad(saved, (shift, self.n_fft - saved.shape[-1] - shift))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        sparsity = f"sparsity={self.sparsity:g}, " if self.algorithm == "direct" else ""
        return (
            f"sample_rate={self.sample_rate:g}, hop_length={self.hop_length}, f_min={self.f_min:g}, "
            f"n_bins={self.n_bins}, bins_per_octave={self.bins_per_octave}, gamma={self.gamma:g}, "
            f"filter_scale={self.filter_scale:g}, norm={self.norm!r}, window={self.window!r}, "
            f"scale={self.scale}, pad_mode={self.pad_mode!r}, output={self.output!r}, "
            f"algorithm={self.algorithm!r}, {sparsity}learn_kernels={self.learn_kernels}"
        )


@register_frontend("cqt")
class CQT(VQT):
    """Constant-Q transform ``(..., time) -> (..., n_bins, frames)``: :class:`VQT` with ``gamma=0``,
    equal to ``librosa.cqt`` (``tuning=0``) for the same parameters. See :class:`VQT` for the arguments,
    the algorithms and the normalisation."""

    def __init__(
        self,
        sample_rate: float = 22050.0,
        hop_length: int = 512,
        f_min: float = C1_HZ,
        n_bins: int = 84,
        bins_per_octave: int = 12,
        filter_scale: float = 1.0,
        norm: float | None = 1,
        window: WindowSpec = "hann",
        scale: bool = True,
        pad_mode: str = "constant",
        output: str = "complex",
        algorithm: str = "multirate",
        sparsity: float = 1e-3,
        learn_kernels: bool = False,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            sample_rate=sample_rate,
            hop_length=hop_length,
            f_min=f_min,
            n_bins=n_bins,
            bins_per_octave=bins_per_octave,
            gamma=0.0,
            filter_scale=filter_scale,
            norm=norm,
            window=window,
            scale=scale,
            pad_mode=pad_mode,
            output=output,
            algorithm=algorithm,
            sparsity=sparsity,
            learn_kernels=learn_kernels,
            dtype=dtype,
        )


def _split_parts(
    products: list[torch.Tensor], levels: list[OctaveLevel]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and imaginary ``(batch, n_bins, frames)`` parts from per-level ``(batch, 2 rows, frames)``
    products (real rows first), lowest level first."""
    reals, imags = [], []
    for product, level in zip(products, reversed(levels), strict=True):
        real, imag = torch.split(product, level.stop - level.start, dim=1)
        reals.append(real)
        imags.append(imag)
    return torch.cat(reals, dim=1), torch.cat(imags, dim=1)


def _check_below_nyquist(
    frequencies: np.ndarray, reach: np.ndarray, sample_rate: float, gamma: float = 0.0
) -> None:
    """Raise if a filter's pass band reaches past Nyquist, saying how many bins fit (or, where no bin fits,
    whether ``gamma`` or ``f_min`` itself is too large)."""
    nyquist = sample_rate / 2.0
    if reach.max() <= nyquist:
        return
    if reach[0] > nyquist:
        _refuse_lowest_bin(frequencies[0], reach[0], sample_rate, gamma)
    raise ValueError(
        f"n_bins={len(frequencies)} from f_min={frequencies[0]:g} Hz puts the top bin at "
        f"{frequencies[-1]:.1f} Hz, whose filter reaches {reach.max():.1f} Hz, above the Nyquist frequency "
        f"{nyquist:g} Hz (sample_rate / 2); at most {int(np.sum(reach <= nyquist))} bins fit from this "
        "f_min (or lower f_min)"
    )


def _refuse_lowest_bin(f_min: float, reach: float, sample_rate: float, gamma: float) -> NoReturn:
    """Raise for a lowest bin whose filter reaches ``reach`` Hz, past Nyquist: blaming ``gamma`` where the
    filter would fit without its widening by ``gamma / 2``, else ``f_min``.

    Args:
        f_min: the lowest bin's centre in Hz.
        reach: the upper edge of its pass band in Hz.
        sample_rate: sampling rate in Hz.
        gamma: bandwidth offset in Hz.

    Raises:
        ValueError: always.
    """
    nyquist = sample_rate / 2.0
    if gamma > 0 and reach - gamma / 2.0 <= nyquist:
        raise ValueError(
            f"gamma={gamma:g} Hz is too large for sample_rate={sample_rate:g}: it widens every filter by "
            f"gamma / 2, which takes even the lowest bin's filter ({f_min:g} Hz) past the Nyquist "
            f"frequency {nyquist:g} Hz"
        )
    # below Nyquist, the filter's width takes it past: a larger filter_scale narrows every filter
    remedy = "lower f_min" if f_min >= nyquist else "lower f_min, or raise filter_scale (narrower filters)"
    raise ValueError(
        f"f_min={f_min:g} Hz is too high for sample_rate={sample_rate:g}: the lowest bin's filter reaches "
        f"{reach:.1f} Hz, above the Nyquist frequency {nyquist:g} Hz (sample_rate / 2), so no bin fits; "
        f"{remedy}"
    )
