"""Per-channel energy normalisation (PCEN) and its first-order smoother, without a loop over frames.

The smoother ``M[t] = (1 - s) M[t - 1] + s E[t]`` is a linear recurrence ``y[t] = a y[t - 1] + u[t]``
(``a = 1 - s``, ``u = s E``). It is solved exactly in blocks of ``_BLOCK`` frames: inside a block,
``y = L u`` with the lower-triangular Toeplitz matrix ``L[i, j] = a^(i - j)`` (one GEMM for all rows of a
channel); the values at block ends then obey the same recurrence with decay ``a^_BLOCK``, solved the same
way (recursively), and are carried into each block as ``a^(i + 1) y_end[previous block]``. Every power of
``a`` is ``exp(k log a)`` with ``k >= 0``, so nothing overflows however long the input (a cumulative-sum
trick with ``a^(-t)`` would overflow after a few thousand frames), and the sums are of non-negative terms
(no cancellation): the result equals the sequential recursion to float rounding.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from .._validation import check_choice, check_positive_int

INITIAL_STATES = ("librosa", "first_frame")
_BLOCK = 16  # frames per Toeplitz block: cost per frame and channel is O(_BLOCK); 16 measured fastest

Param = float | torch.Tensor


def smoothing_coefficient(time_constant: float, sample_rate: float, hop_length: int) -> float:
    """librosa's smoothing coefficient ``b`` for a time constant in seconds.

    ``t_frames = time_constant * sample_rate / hop_length`` and ``b = (sqrt(1 + 4 t^2) - 1) / (2 t^2)``,
    as ``librosa.pcen(time_constant=...)``.

    Raises:
        ValueError: naming a non-positive ``time_constant`` or ``sample_rate`` or a bad ``hop_length``.
    """
    if not _is_number(time_constant) or not time_constant > 0:
        raise ValueError(f"time_constant must be a positive number of seconds, got {time_constant!r}")
    if not _is_number(sample_rate) or not sample_rate > 0:
        raise ValueError(f"sample_rate must be a positive number, got {sample_rate!r}")
    hop_length = check_positive_int("hop_length", hop_length)
    t_frames = time_constant * sample_rate / float(hop_length)
    return (math.sqrt(1.0 + 4.0 * t_frames**2) - 1.0) / (2.0 * t_frames**2)


def linear_recurrence(
    inputs: torch.Tensor,
    log_decay: torch.Tensor,
    initial: torch.Tensor,
    scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Solve ``y[t] = exp(log_decay) y[t - 1] + scale inputs[t]`` along the last axis, ``y[-1] = initial``.

    Args:
        inputs: ``(..., channels, frames)``.
        log_decay: ``log`` of the decay (finite, <= 0), a scalar tensor or one value per channel
            ``(channels,)``.
        initial: ``y[-1]``, broadcastable to ``(..., channels)``.
        scale: optional factor of the inputs, shaped like ``log_decay`` (default 1).

    Returns:
        ``y`` with the shape of ``inputs``.
    """
    n_frames = inputs.shape[-1]
    block = min(n_frames, _BLOCK)
    n_blocks = -(-n_frames // block)
    padded = F.pad(inputs, (0, n_blocks * block - n_frames)) if n_blocks * block > n_frames else inputs
    u = padded.reshape(*inputs.shape[:-1], n_blocks, block)
    log_decay = log_decay.reshape(-1, 1, 1)  # (channels or 1, 1, 1)
    lag = torch.arange(block, device=inputs.device, dtype=inputs.dtype)
    diff = lag[:, None] - lag[None, :]
    causal = (diff >= 0).to(inputs.dtype)
    # [c, i, j] = a^(i - j) for i >= j, else 0 (log_decay must be finite: 0 < s < 1).
    toeplitz = torch.exp(diff.clamp(min=0) * log_decay) * causal
    if scale is not None:
        toeplitz = toeplitz * scale.reshape(-1, 1, 1)
    local = _per_channel_matmul(u, toeplitz.transpose(-1, -2))
    initial = initial.to(inputs.dtype).expand(inputs.shape[:-1])
    if n_blocks == 1:
        previous = initial[..., None]
    else:
        ends = linear_recurrence(local[..., -1], log_decay.reshape(-1) * block, initial)
        previous = torch.cat([initial[..., None], ends[..., :-1]], dim=-1)
    carry = torch.exp((lag + 1) * log_decay.reshape(-1, 1))  # (channels or 1, block): a^(i + 1)
    result = torch.addcmul(local, previous[..., None], carry[:, None, :])
    return result.reshape(*inputs.shape[:-1], n_blocks * block)[..., :n_frames]


def exponential_smoothing(
    energy: torch.Tensor,
    s: Param,
    *,
    initial_state: str = "librosa",
    log_decay: torch.Tensor | None = None,
) -> torch.Tensor:
    """PCEN's smoother ``M[t] = (1 - s) M[t - 1] + s E[t]`` along the last axis.

    Args:
        energy: ``(..., channels, frames)`` non-negative tensor.
        s: smoothing coefficient in ``(0, 1)``: a number, a scalar tensor or one value per channel.
        initial_state: ``"librosa"``: ``M[-1] = 1``, the state ``scipy.signal.lfilter_zi`` gives and
            ``librosa.pcen`` uses (``zi = 1 - s`` for every channel, whatever the input);
            ``"first_frame"``: ``M[-1] = E[0]`` so that ``M[0] = E[0]`` (LEAF's choice).
        log_decay: optional ``log(1 - s)`` computed more accurately by the caller (e.g. from a logit).

    Returns:
        ``M`` with the shape of ``energy``.

    Raises:
        ValueError: for an unknown ``initial_state``, a number ``s`` outside ``(0, 1)`` or fewer than two
            dimensions.
    """
    check_choice("initial_state", initial_state, INITIAL_STATES)
    if energy.ndim < 2:
        raise ValueError(f"energy must have shape (..., channels, frames), got {tuple(energy.shape)}")
    if _is_number(s) and not 0.0 < s < 1.0:
        raise ValueError(f"s must be in (0, 1), got {s!r}")
    s_t = _channel_param(s, energy)
    if log_decay is None:
        log_decay = torch.log1p(-s_t)
    log_decay = log_decay.to(energy.dtype).reshape(-1)
    if initial_state == "librosa":
        initial = torch.ones((), dtype=energy.dtype, device=energy.device)
    else:
        initial = energy[..., 0]
    return linear_recurrence(energy, log_decay, initial, scale=s_t.reshape(-1))


def pcen(
    spectrogram: torch.Tensor,
    alpha: Param = 0.98,
    delta: Param = 2.0,
    r: Param = 0.5,
    s: Param = 0.025,
    *,
    eps: float = 1e-6,
    initial_state: str = "librosa",
    log_decay: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-channel energy normalisation ``(E / (eps + M)^alpha + delta)^r - delta^r``.

    With numbers ``alpha=gain, delta=bias, r=power, s=b`` and ``initial_state="librosa"`` this is
    ``librosa.pcen(E, gain=..., bias=..., power=..., b=..., eps=...)`` along the last axis, evaluated the
    same stable way: ``delta^r * expm1(r * log1p(E * exp(-alpha * log(eps + M)) / delta))``.

    Args:
        spectrogram: ``(..., channels, frames)`` non-negative tensor (e.g. a mel power spectrogram).
        alpha: gain exponent (>= 0); number, scalar tensor or ``(channels,)`` tensor, as all four.
        delta: bias (> 0).
        r: root exponent (> 0).
        s: smoothing coefficient in ``(0, 1)``.
        eps: floor added to the smoother (> 0).
        initial_state: smoother initial condition, see :func:`exponential_smoothing`.
        log_decay: optional ``log(1 - s)``, see :func:`exponential_smoothing`.

    Returns:
        Tensor of the input's shape.

    Raises:
        ValueError: naming a number parameter outside its range or an unknown ``initial_state``.
    """
    if _is_number(alpha) and not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha!r}")
    for name, value in (("delta", delta), ("r", r)):
        if _is_number(value) and not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    if not _is_number(eps) or not eps > 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    smoother = exponential_smoothing(spectrogram, s, initial_state=initial_state, log_decay=log_decay)
    alpha_t, delta_t, r_t = (_channel_param(p, spectrogram)[..., None] for p in (alpha, delta, r))
    ratio = spectrogram * torch.exp(-alpha_t * torch.log(smoother + eps) - torch.log(delta_t))
    return torch.pow(delta_t, r_t) * torch.expm1(r_t * torch.log1p(ratio))


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _channel_param(value: Param, like: torch.Tensor) -> torch.Tensor:
    """``value`` as a tensor of ``like``'s dtype and device: scalar ``()`` or per channel ``(channels,)``."""
    tensor = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if tensor.ndim > 1 or (tensor.ndim == 1 and tensor.shape[0] not in (1, like.shape[-2])):
        raise ValueError(
            f"PCEN parameters must be scalars or have one value per channel ({like.shape[-2]}), "
            f"got shape {tuple(tensor.shape)}"
        )
    return tensor


def _per_channel_matmul(u: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """``u[..., c, :, :] @ matrices[c]`` (or ``@ matrices[0]`` for every channel) as few large GEMMs."""
    if matrices.shape[0] == 1:
        return u @ matrices[0]
    channels_first = u.movedim(-3, 0)
    flat = channels_first.reshape(channels_first.shape[0], -1, u.shape[-1])
    product = torch.bmm(flat, matrices).reshape(channels_first.shape)
    return product.movedim(0, -3)
