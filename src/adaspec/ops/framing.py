"""Padding and framing of waveforms: the one place where signals are cut into frames."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import check_choice, check_positive_int

PAD_MODES = ("constant", "reflect", "replicate", "circular")
_NUMPY_PAD_NAMES = {"edge": "replicate", "wrap": "circular"}


def normalize_pad_mode(pad_mode: str) -> str:
    """Map numpy/librosa names (``"edge"``, ``"wrap"``) to torch's and reject unknown modes."""
    if isinstance(pad_mode, str):  # an unhashable value (a list from a config) is refused below
        pad_mode = _NUMPY_PAD_NAMES.get(pad_mode, pad_mode)
    return check_choice("pad_mode", pad_mode, PAD_MODES)


def frame_signal(
    waveform: torch.Tensor, frame_length: int, hop_length: int, *, center: bool, pad_mode: str
) -> torch.Tensor:
    """Cut ``(..., time)`` signals (typically ``(batch, time)``) into overlapping frames.

    With ``center=True`` the signal is padded by ``frame_length // 2`` on both sides first, so frame ``t``
    is centred on sample ``t * hop_length`` (torch.stft and librosa convention).

    Args:
        waveform: ``(..., time)`` real tensor, usually ``(batch, time)``.
        frame_length: samples per frame (``n_fft``).
        hop_length: samples between frame starts.
        center: pad so that frames are centred on multiples of ``hop_length``.
        pad_mode: one of ``PAD_MODES`` (or a numpy name, ``"edge"`` or ``"wrap"``).

    Returns:
        A ``(..., n_frames, frame_length)`` strided view (no copy) of the (padded) signal.

    Raises:
        ValueError: for a 0-d waveform, a non-positive frame or hop length, an unknown padding mode, or a
            signal too short for the padding mode or for a single frame.
    """
    frame_length = check_positive_int("frame_length", frame_length)
    hop_length = check_positive_int("hop_length", hop_length)
    pad_mode = normalize_pad_mode(pad_mode)
    if waveform.ndim == 0:
        raise ValueError("waveform must have shape (..., time), got a 0-d tensor")
    length = waveform.shape[-1]
    if center:
        pad = frame_length // 2
        if pad_mode == "reflect" and length <= pad:
            raise ValueError(
                f"input of {length} samples is too short for pad_mode='reflect' with n_fft={frame_length}: "
                f"reflect padding needs more than n_fft // 2 = {pad} samples; use a longer input, "
                "pad_mode='constant', or center=False"
            )
        if pad_mode == "circular" and length < pad:
            raise ValueError(
                f"input of {length} samples is too short for pad_mode='circular' with n_fft={frame_length}: "
                f"it needs at least n_fft // 2 = {pad} samples"
            )
        if length == 0:
            raise ValueError("input has 0 samples")
        if waveform.ndim == 2:
            waveform = F.pad(waveform.unsqueeze(1), (pad, pad), mode=pad_mode).squeeze(1)
        else:  # F.pad pads the last axis of (batch, channel, time): unsqueeze(1) would pad a 1-D one across
            leading = waveform.shape[:-1]
            rows = F.pad(waveform.reshape(-1, 1, length), (pad, pad), mode=pad_mode)
            waveform = rows.reshape(*leading, length + 2 * pad)
    elif length < frame_length:
        raise ValueError(
            f"input of {length} samples is shorter than n_fft={frame_length} with center=False; no frame fits"
        )
    return waveform.unfold(-1, frame_length, hop_length)


def frame_count(length: int, frame_length: int, hop_length: int, *, center: bool) -> int:
    """Number of frames ``frame_signal`` returns for a signal of ``length`` samples.

    Raises:
        ValueError: for non-positive lengths, or (``center=False``) a signal shorter than one frame.
    """
    length = check_positive_int("length", length)
    frame_length = check_positive_int("frame_length", frame_length)
    hop_length = check_positive_int("hop_length", hop_length)
    if not center and length < frame_length:
        raise ValueError(f"a signal of {length} samples holds no frame of {frame_length} with center=False")
    padded = length + 2 * (frame_length // 2) if center else length
    return 1 + (padded - frame_length) // hop_length
