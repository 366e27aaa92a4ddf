"""Short-time Fourier transform with a learnable window and learnable Fourier kernels."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice, check_dtype, check_flag, check_positive_int, check_positive_number
from ..kernels import FREQ_SCALES, dft_kernels, fourier_frequencies, get_window, pad_center
from ..kernels.windows import WindowSpec
from ..ops import OUTPUTS, dense_fourier, frame_signal, normalize_pad_mode, parts_output, windowed_fft
from ..ops._tracing import is_exporting_onnx, is_tracing
from ._device import built_on_default_device, reset_to_initial
from ._flags import parameter_flag
from ._kernel_check import equals_rounded, kernel_key, recheck_kernels
from ._waveform import check_waveform, over_signals
from .registry import register_frontend

NORMALIZATIONS = (False, True, "window", "frame_length")
#: Under ONNX export, fixed DFT kernels up to this n_fft take the dense product instead of the FFT (which
#: exports as matrix products too, see :mod:`adaspec.ops.onnx_fft`). In onnxruntime, 64 x 1 s at 16 kHz,
#: hop n_fft / 4, 2 threads: 49 / 77 / 128 ms dense against 57 / 59 / 63 ms FFT for n_fft 512 / 1024 / 2048.
ONNX_DENSE_MAX_N_FFT = 512


@register_frontend("stft")
class STFT(nn.Module):
    """Short-time Fourier transform ``(..., time) -> (..., freq, frames)`` whose window and DFT kernels
    can be trained.

    The window (``win_length`` samples, centred in ``n_fft``) and the real and imaginary kernels
    (``(n_bins, n_fft)`` each) are parameters; ``learn_window`` / ``learn_kernels`` set their
    ``requires_grad`` and may be flipped at any time. While the kernels are exactly the DFT and
    ``freq_scale="full"``, frames are transformed by FFT with a one-inverse-FFT backward; otherwise by a
    single dense matrix product. Both give the same result for the same parameters.

    Args:
        n_fft: frame (FFT) length in samples.
        win_length: window length (default ``n_fft``), zero-padded to ``n_fft`` in the centre.
        hop_length: samples between frames (default ``win_length // 4``, librosa's choice).
        window: ``scipy.signal.get_window`` spec (``"hann"``, ``("kaiser", 8.0)``, ...) or a tensor of
            ``win_length`` samples.
        center: pad ``n_fft // 2`` samples on both sides so frame ``t`` is centred at ``t * hop_length``.
        pad_mode: ``"reflect"``, ``"constant"``, ``"replicate"`` (``"edge"``) or ``"circular"`` (``"wrap"``).
        normalized: ``False``; ``True`` or ``"window"`` divides by ``sqrt(sum(window**2))`` (torchaudio's
            Spectrogram); ``"frame_length"`` divides by ``sqrt(n_fft)`` (``torch.stft(normalized=True)``).
        onesided: keep the ``n_fft // 2 + 1`` non-negative bins (``freq_scale="full"`` only).
        output: ``"complex"``, ``"magnitude"`` or ``"power"``.
        sample_rate: sampling rate in Hz; sets the frequencies of ``"linear"``/``"log"`` bins.
        freq_scale: ``"full"`` (FFT bins), ``"linear"`` or ``"log"`` (``n_bins`` bins from ``f_min`` to
            ``f_max`` inclusive, nnAudio's option; nnAudio leaves ``f_max`` out).
        n_bins: number of bins for ``"linear"``/``"log"`` (default ``n_fft // 2 + 1``).
        f_min: lowest bin frequency for ``"linear"``/``"log"`` in Hz.
        f_max: highest bin frequency for ``"linear"``/``"log"`` in Hz (default Nyquist).
        learn_window: train the window.
        learn_kernels: train the real and imaginary Fourier kernels.
        dtype: dtype of the parameters (built in float64); float64 gives float64-exact transforms.

    Note:
        The FFT path is used while the kernels equal the DFT. That is re-checked whenever the kernels'
        autograd version changes (optimizer steps, ``load_state_dict``, in-place edits under
        ``torch.no_grad``); edits through ``.data`` bypass that counter, so call
        :meth:`kernels_changed` after them. ``torch.compile`` and ``torch.export`` cannot read the
        kernels, so they take the verdict of the last check: made when the module is built, at every
        eager forward, by ``load_state_dict`` and by :meth:`kernels_changed` (a compiled module
        recompiles when the verdict changes); after ``learn_kernels`` is switched off and no check has
        been made since, they take the dense path, which is right for any kernels. A compiled module does
        not see in-place edits of fixed kernels: call :meth:`kernels_changed` after them.
    """

    learn_window = parameter_flag("window")

    @built_on_default_device
    def __init__(
        self,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        window: WindowSpec = "hann",
        center: bool = True,
        pad_mode: str = "reflect",
        normalized: bool | str = False,
        onesided: bool = True,
        output: str = "complex",
        sample_rate: float = 16000.0,
        freq_scale: str = "full",
        n_bins: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        learn_window: bool = False,
        learn_kernels: bool = False,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.n_fft = check_positive_int("n_fft", n_fft)
        self.win_length = check_positive_int("win_length", n_fft if win_length is None else win_length)
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length must be <= n_fft ({n_fft}), got {win_length}")
        self.hop_length = check_positive_int(
            "hop_length", max(self.win_length // 4, 1) if hop_length is None else hop_length
        )
        self.center = check_flag("center", center)
        self.pad_mode = normalize_pad_mode(pad_mode)
        self.normalized = check_choice("normalized", normalized, NORMALIZATIONS)
        self.onesided = check_flag("onesided", onesided)
        self.output = check_choice("output", output, OUTPUTS)
        self.freq_scale = check_choice("freq_scale", freq_scale, FREQ_SCALES)
        if freq_scale == "full":
            for name, value, default in (
                ("n_bins", n_bins, None),
                ("f_min", f_min, 0.0),
                ("f_max", f_max, None),
            ):
                if value != default:
                    raise ValueError(
                        f"{name} applies to freq_scale='linear' or 'log' only; got freq_scale='full' and "
                        f"{name}={value!r}"
                    )
        elif not self.onesided:
            raise ValueError(
                f"onesided=False applies to freq_scale='full' only; freq_scale={self.freq_scale!r} gives "
                "n_bins frequencies from f_min to f_max"
            )
        self.sample_rate = check_positive_number("sample_rate", sample_rate)
        frequencies = fourier_frequencies(
            self.n_fft,
            self.sample_rate,
            freq_scale=self.freq_scale,
            onesided=self.onesided,
            n_bins=n_bins,
            f_min=f_min,
            f_max=f_max,
        )
        self._frequencies = frequencies
        dtype = check_dtype(dtype)
        real, imag = dft_kernels(self.n_fft, frequencies, self.sample_rate, dtype=dtype)
        self.window = nn.Parameter(get_window(window, self.win_length, dtype=dtype))
        self.kernel_real = nn.Parameter(real)
        self.kernel_imag = nn.Parameter(imag)
        self.learn_window = learn_window
        self.learn_kernels = learn_kernels
        self._kernels_are_dft = True  # built as the DFT; the key records what this verdict was made on
        self._dft_check: tuple = kernel_key(self.kernel_real, self.kernel_imag)
        self.register_load_state_dict_post_hook(recheck_kernels)

    @property
    def learn_kernels(self) -> bool:
        """Whether the Fourier kernels are trained: ``True`` while ``kernel_real`` or ``kernel_imag`` requires
        grad (also when only one does, e.g. the other frozen by hand: the forward then takes the dense path,
        the FFT path has no gradient for the kernels); setting it sets both."""
        return self.kernel_real.requires_grad or self.kernel_imag.requires_grad

    @learn_kernels.setter
    def learn_kernels(self, value: bool) -> None:
        flag = check_flag("learn_kernels", value)
        if self.learn_kernels and not flag:
            self._dft_check = ()  # trained kernels: no verdict until the next eager check
        self.kernel_real.requires_grad_(flag)
        self.kernel_imag.requires_grad_(flag)

    @property
    def frequencies(self) -> torch.Tensor:
        """Centre frequency of every output bin in Hz (float64). With ``onesided=False`` the bins past the
        middle are the negative frequencies, in ``numpy.fft.fftfreq``'s order (their kernels are built from
        the equivalent ``k * sample_rate / n_fft``, which lies above Nyquist)."""
        frequencies = self._frequencies.copy()
        if self.freq_scale == "full" and not self.onesided:
            frequencies[(self.n_fft + 1) // 2 :] -= self.sample_rate
        return torch.from_numpy(frequencies)

    @property
    def n_bins(self) -> int:
        """Number of frequency bins in the output."""
        return self.kernel_real.shape[0]

    def kernels_changed(self) -> None:
        """Check again whether the kernels are the DFT (needed only after edits through ``.data``)."""
        self._dft_check = ()
        if not is_tracing():
            self.uses_fft()

    def uses_fft(self) -> bool:
        """Whether the next forward takes the FFT path (fixed DFT kernels on the full FFT grid)."""
        if self.freq_scale != "full" or self.learn_kernels:
            return False
        if is_tracing():  # no values to read: the last verdict, if one stands (see the class note)
            return self._kernels_are_dft and bool(self._dft_check)
        key = kernel_key(self.kernel_real, self.kernel_imag)
        if key != self._dft_check:
            real, imag = dft_kernels(self.n_fft, self._frequencies, self.sample_rate, dtype=torch.float64)
            self._kernels_are_dft = equals_rounded(self.kernel_real, real) and equals_rounded(
                self.kernel_imag, imag
            )
            self._dft_check = key
        return self._kernels_are_dft

    def analysis_window(self) -> torch.Tensor:
        """The ``n_fft``-sample window applied to each frame, normalisation included (differentiable)."""
        window = pad_center(self.window, self.n_fft)
        if self.normalized in (True, "window"):
            window = window / window.square().sum().sqrt()
        elif self.normalized == "frame_length":
            window = window / math.sqrt(self.n_fft)
        return window

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Transform ``(..., time)`` real signals into ``(..., freq, frames)`` spectra, float32 (float64 for
        float64 input) also for half-precision input. Under ``torch.autocast`` the dense product of learnable
        kernels runs in the autocast dtype (see :func:`adaspec.ops.dense_transform`)."""
        check_waveform(waveform)
        return over_signals(self._transform, waveform, autocast=True)

    def _transform(self, signals: torch.Tensor) -> torch.Tensor:
        """``(batch, time)`` signals to ``(batch, freq, frames)`` spectra."""
        frames = frame_signal(
            signals, self.n_fft, self.hop_length, center=self.center, pad_mode=self.pad_mode
        )
        window = self.analysis_window().to(frames.dtype)
        onnx_dense = self.n_fft <= ONNX_DENSE_MAX_N_FFT and is_exporting_onnx()
        if self.uses_fft() and not onnx_dense:
            result = windowed_fft(frames, window, onesided=self.onesided, output=self.output)
            return result.transpose(-1, -2)
        real_kernels = self.kernel_real.to(frames.dtype)
        imag_kernels = self.kernel_imag.to(frames.dtype)
        real, imag = dense_fourier(frames, real_kernels, imag_kernels, window)
        return parts_output(real, imag, self.output)

    def reset_parameters(self) -> None:
        """Give the window and the DFT kernels their initial values again (PyTorch's convention, e.g. for
        FSDP's initialisation of a model built on the meta device and materialised with ``to_empty``)."""
        reset_to_initial(self)
        self.kernels_changed()

    def extra_repr(self) -> str:
        bins = ""
        if self.freq_scale != "full":
            bins = f"f_min={self._frequencies[0]:g}, f_max={self._frequencies[-1]:g}, "
        return (
            f"n_fft={self.n_fft}, win_length={self.win_length}, hop_length={self.hop_length}, "
            f"center={self.center}, pad_mode={self.pad_mode!r}, normalized={self.normalized!r}, "
            f"onesided={self.onesided}, output={self.output!r}, sample_rate={self.sample_rate:g}, "
            f"freq_scale={self.freq_scale!r}, n_bins={self.n_bins}, {bins}"
            f"learn_window={self.learn_window}, learn_kernels={self.learn_kernels}"
        )
