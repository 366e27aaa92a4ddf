"""Per-channel energy normalisation (PCEN) and its first-order smoother, without a loop over frames.

The smoother ``M[t] = (1 - s) M[t - 1] + s E[t]`` is a linear recurrence ``y[t] = a y[t - 1] + u[t]``
(``a = 1 - s``, ``u = s E``). It is solved exactly in blocks: inside a block on the CPU, when the block is
short enough for ``a^(-k)`` to stay below ``exp(_CUMSUM_RANGE)``, as ``y[i] = a^i cumsum(a^(-k) u[k])[i]``
(three passes); otherwise (on other devices, where choosing the block would wait for the device, and under
``torch.compile`` and ``torch.export``, where the decay has no value to read) by doubling (a Hillis-Steele
scan: ``log2(block)`` vectorised passes ``y[i] += a^d y[i - d]``). The values at block ends then obey the same
recurrence with decay ``a^block``, solved the same way (recursively), and are carried into each block as
``a^(i + 1) y_end[previous block]``. Every power of ``a`` is bounded (``exp(k log a)`` with ``k >= 0`` in the
scan, at most ``exp(_CUMSUM_RANGE)`` in the cumulative sum), so nothing overflows however long the input (an
unblocked cumulative-sum trick with ``a^(-t)`` would overflow after a few thousand frames), and for
non-negative inputs the sums are of non-negative terms (no cancellation): the result equals the sequential
recursion to float rounding. The backward solves the adjoint recurrence the same way, and the compression has
a hand-written backward, so that a training step makes few passes over the spectrogram. With
``create_graph=True`` both backwards run out of place instead, differentiable to any order. A program
exported with a dynamic number of frames cannot choose blocks: it runs one doubling scan over the whole
sequence with a fixed number of levels (:data:`_EXPORT_LEVELS`), which is exact for any length up to
``2^levels``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .._validation import check_choice, check_positive_int, check_positive_number, is_real_number
from ._tracing import is_tracing

INITIAL_STATES = ("librosa", "first_frame")
_BLOCK = 128  # frames per block: the scan inside costs log2(_BLOCK) passes; 128 holds 1.28 s at hop 10 ms
#: Largest ``k |log a|`` the cumulative-sum solver lets its factors ``a^(-k)`` reach (e^16 ~ 9e6): rounding
#: then stays within about ``block`` units of the last place of the inputs' scale.
_CUMSUM_RANGE = 16.0
_MIN_CUMSUM_BLOCK = 8  # shorter blocks (decays near 0) use the scan: many tiny blocks cost more levels
#: Doubling levels of the smoother in a program exported with a dynamic number of frames: offsets 1 to
#: 2^23, so any length up to 2^24 frames (46 hours at 10 ms) is solved exactly.
_EXPORT_LEVELS = 24

Param = float | torch.Tensor


def smoothing_coefficient(time_constant: float, sample_rate: float, hop_length: int) -> float:
    """librosa's smoothing coefficient ``b`` for a time constant in seconds.

    ``t_frames = time_constant * sample_rate / hop_length`` and ``b = (sqrt(1 + 4 t^2) - 1) / (2 t^2)``,
    as ``librosa.pcen(time_constant=...)``.

    Raises:
        ValueError: naming a non-positive ``time_constant`` or ``sample_rate`` or a bad ``hop_length``.
    """
    time_constant = check_positive_number("time_constant", time_constant, meaning=" of seconds")
    sample_rate = check_positive_number("sample_rate", sample_rate)
    hop_length = check_positive_int("hop_length", hop_length)
    t_frames = time_constant * sample_rate / float(hop_length)
    # Written as 2 / (1 + sqrt(1 + 4 t^2)), the same value: librosa's form cancels for short time constants
    # (more than 1 below about 1e-7 frames) and overflows for long ones.
    return 2.0 / (1.0 + math.hypot(1.0, 2.0 * t_frames))


def linear_recurrence(
    inputs: torch.Tensor,
    log_decay: torch.Tensor,
    initial: torch.Tensor,
    scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Solve ``y[t] = exp(log_decay) y[t - 1] + scale inputs[t]`` along the last axis, ``y[-1] = initial``.

    Differentiable in every tensor argument, with a hand-written backward: the adjoint recurrence
    ``l[t] = g[t] + exp(log_decay) l[t + 1]`` solved the same loop-free way, then one product per
    argument (no graph through the blocks).

    Args:
        inputs: ``(..., channels, frames)``.
        log_decay: ``log`` of the decay (finite, <= 0), a scalar tensor or one value per channel
            ``(channels,)``.
        initial: ``y[-1]``, broadcastable to ``(..., channels)``.
        scale: optional factor of the inputs, shaped like ``log_decay`` (default 1).

    Returns:
        ``y`` with the shape of ``inputs``.
    """
    return _LinearRecurrence.apply(inputs, log_decay, initial.to(inputs.dtype), scale)


class _LinearRecurrence(torch.autograd.Function):
    """:func:`linear_recurrence` with its adjoint as the backward.

    Double backward (``create_graph=True``) is supported, to any order: the adjoint recurrence is solved by
    this Function again and the products are formed out of place, so autograd differentiates the backward.
    Without ``create_graph`` (grad mode off in the backward) the backward is the faster in-place one."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        inputs: torch.Tensor,
        log_decay: torch.Tensor,
        initial: torch.Tensor,
        scale: torch.Tensor | None,
    ) -> torch.Tensor:
        result = _solve(inputs, log_decay, initial, scale)
        ctx.save_for_backward(inputs, log_decay, initial, scale, result)
        return result

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple:
        inputs, log_decay, initial, scale, result = ctx.saved_tensors
        if inputs.shape[-1] == 0:  # no frames: nothing depends on any argument
            arguments = (inputs, log_decay, initial, scale)
            return tuple(
                torch.zeros_like(tensor) if need else None
                for tensor, need in zip(arguments, ctx.needs_input_grad, strict=True)
            )
        if torch.is_grad_enabled():  # create_graph=True: a backward that autograd can differentiate
            return _recurrence_backward_graph(
                ctx.needs_input_grad, grad, inputs, log_decay, initial, scale, result
            )
        zero = grad.new_zeros(())
        adjoint = _solve(grad.flip(-1), log_decay, zero, None, owned=True).flip(-1)  # l[t] = g[t] + a l[t+1]
        decay = log_decay.exp().reshape(-1, 1)
        grad_inputs = grad_log_decay = grad_initial = grad_scale = None
        if ctx.needs_input_grad[1]:
            # d y[t] / d a = y[t - 1] + a d y[t - 1] / d a, so dL/da = sum_t l[t] y[t - 1].
            shifted = (adjoint[..., 1:] * result[..., :-1]).sum(dim=-1) + adjoint[..., 0] * initial
            grad_log_decay = _per_channel_sum(shifted * decay[:, 0], log_decay)
        if ctx.needs_input_grad[2]:
            grad_initial = (adjoint[..., 0] * decay[:, 0]).sum_to_size(initial.shape)
        if ctx.needs_input_grad[3]:
            grad_scale = _per_channel_sum((adjoint * inputs).sum(dim=-1), scale)
        if ctx.needs_input_grad[0]:  # last: the adjoint (a new tensor) is scaled in place
            grad_inputs = adjoint if scale is None else adjoint.mul_(scale.reshape(-1, 1))
        return grad_inputs, grad_log_decay, grad_initial, grad_scale


def _recurrence_backward_graph(
    needs: tuple[bool, ...],
    grad: torch.Tensor,
    inputs: torch.Tensor,
    log_decay: torch.Tensor,
    initial: torch.Tensor,
    scale: torch.Tensor | None,
    result: torch.Tensor,
) -> tuple[torch.Tensor | None, ...]:
    """:class:`_LinearRecurrence`'s backward built from differentiable operations (for ``create_graph``):
    the adjoint recurrence is :class:`_LinearRecurrence` itself, every product is out of place."""
    zero = grad.new_zeros(())
    adjoint = _LinearRecurrence.apply(grad.flip(-1), log_decay, zero, None).flip(-1)
    decay = log_decay.exp().reshape(-1)
    grad_inputs = grad_log_decay = grad_initial = grad_scale = None
    if needs[1]:
        shifted = (adjoint[..., 1:] * result[..., :-1]).sum(dim=-1) + adjoint[..., 0] * initial
        grad_log_decay = _per_channel_sum(shifted * decay, log_decay)
    if needs[2]:
        grad_initial = (adjoint[..., 0] * decay).sum_to_size(initial.shape)
    if needs[3]:
        grad_scale = _per_channel_sum((adjoint * inputs).sum(dim=-1), scale)
    if needs[0]:
        grad_inputs = adjoint if scale is None else adjoint * scale.reshape(-1, 1)
    return grad_inputs, grad_log_decay, grad_initial, grad_scale


def _per_channel_sum(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Sum ``(..., channels)`` values to ``like``'s shape: ``(channels,)``, ``(1,)`` or ``()``."""
    per_channel = values.reshape(-1, values.shape[-1]).sum(dim=0)
    return per_channel.reshape(like.shape) if like.numel() > 1 else per_channel.sum().reshape(like.shape)


def _solve(
    inputs: torch.Tensor,
    log_decay: torch.Tensor,
    initial: torch.Tensor,
    scale: torch.Tensor | None,
    owned: bool = False,
) -> torch.Tensor:
    """The forward of :func:`linear_recurrence` (see the module docstring); ``owned``: ``inputs`` is a
    contiguous temporary of the caller's that may be overwritten (saves allocations, whose page faults cost
    as much as a pass here)."""
    n_frames = inputs.shape[-1]
    if isinstance(n_frames, torch.SymInt):  # torch.export with a dynamic number of frames: no blocks
        return _any_length_solve(inputs, log_decay, initial, scale)
    if n_frames == 0:
        return torch.zeros_like(inputs)
    block, solve_block = _block_solver(log_decay, n_frames, inputs.device)
    n_blocks = -(-n_frames // block)
    log_decay = log_decay.reshape(-1, 1, 1)  # (channels or 1, 1, 1)
    u = inputs if scale is None else inputs * scale.reshape(-1, 1)
    owned = owned or scale is not None
    if n_blocks * block > n_frames:
        u, owned = F.pad(u, (0, n_blocks * block - n_frames)), True
    local = solve_block(u.reshape(*inputs.shape[:-1], n_blocks, block), log_decay, owned)
    initial = initial.to(inputs.dtype).expand(inputs.shape[:-1])
    if n_blocks == 1:
        previous = initial[..., None]
    else:
        ends = _solve(local[..., -1], log_decay.reshape(-1) * block, initial, None)
        previous = torch.cat([initial[..., None], ends[..., :-1]], dim=-1)
    lag = torch.arange(1, block + 1, device=inputs.device, dtype=inputs.dtype)
    carry = torch.exp(lag * log_decay.reshape(-1, 1))  # (channels or 1, block): a^(i + 1)
    result = local.addcmul_(previous[..., None], carry[:, None, :])
    return result.reshape(*inputs.shape[:-1], n_blocks * block)[..., :n_frames]


def _any_length_solve(
    inputs: torch.Tensor, log_decay: torch.Tensor, initial: torch.Tensor, scale: torch.Tensor | None
) -> torch.Tensor:
    """:func:`_solve` for a number of frames that has no value (``torch.export`` with a dynamic time axis):
    the doubling scan over the whole sequence with :data:`_EXPORT_LEVELS` levels whatever the length, each
    shifting by ``torch.roll`` and a mask (padding would grow with the offsets), then the initial state
    carried in as ``a^(t + 1) y[-1]``."""
    n_frames = inputs.shape[-1]
    log_decay = log_decay.reshape(-1, 1)  # (channels or 1, 1)
    result = inputs if scale is None else inputs * scale.reshape(-1, 1)
    position = torch.arange(n_frames, device=inputs.device)
    for level in range(_EXPORT_LEVELS):
        offset = 1 << level
        shifted = torch.roll(result, offset, dims=-1) * (position >= offset)
        result = result + torch.exp(log_decay * offset) * shifted
    carry = torch.exp((position + 1).to(inputs.dtype) * log_decay)  # (channels or 1, frames): a^(t + 1)
    initial = initial.to(inputs.dtype).expand(inputs.shape[:-1])
    return result + initial[..., None] * carry


def _block_solver(
    log_decay: torch.Tensor, n_frames: int, device: torch.device
) -> tuple[int, Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor]]:
    """The block length and in-block solver of :func:`_solve` (see the module docstring)."""
    block = min(n_frames, _BLOCK)
    # Traced (torch.compile, torch.export): the decay has no value to read, and a block length chosen from it
    # would be baked into the graph (recompiled whenever training moved the decay across a length).
    if device.type == "cpu" and not is_tracing():
        largest = float(log_decay.detach().abs().max())
        span = _BLOCK if largest == 0.0 else _CUMSUM_RANGE / largest  # nan or inf: not finite, scan
        if math.isfinite(span) and span >= min(block, _MIN_CUMSUM_BLOCK):
            return min(block, int(span)), _cumsum_scan
    return block, _scan


def _cumsum_scan(u: torch.Tensor, log_decay: torch.Tensor, owned: bool = False) -> torch.Tensor:
    """:func:`_scan`'s result as ``y[i] = a^i sum_{k <= i} a^(-k) u[k]``; the caller keeps
    ``(block - 1) |log a| <= _CUMSUM_RANGE``. ``owned``: ``u`` may be overwritten (and is returned)."""
    lag = torch.arange(u.shape[-1], device=u.device, dtype=u.dtype)
    powers = lag * log_decay  # (channels or 1, 1, block): k log a <= 0
    scaled = u.mul_(torch.exp(-powers)) if owned else u * torch.exp(-powers)
    return scaled.cumsum_(dim=-1).mul_(torch.exp(powers))


def _scan(u: torch.Tensor, log_decay: torch.Tensor, owned: bool = False) -> torch.Tensor:
    """``y[i] = a y[i - 1] + u[i]`` along the last axis from ``y[-1] = 0`` by doubling (Hillis-Steele): after
    the step with offset ``d``, ``y[i]`` sums ``a^k u[i - k]`` for ``k < 2 d``. ``log_decay``:
    ``(channels or 1, 1, 1)``, aligned with ``u``'s third-last axis (``owned`` is unused: the scan works in
    two buffers of its own)."""
    if is_tracing():  # out= ops in an exported graph refuse to run while its parameters require grad
        return _functional_scan(u, log_decay)
    result, other = u.clone(), torch.empty_like(u)
    offset = 1
    while offset < u.shape[-1]:
        factor = torch.exp(log_decay * offset)
        torch.addcmul(result[..., offset:], result[..., :-offset], factor, out=other[..., offset:])
        other[..., :offset] = result[..., :offset]
        result, other = other, result
        offset *= 2
    return result


def _functional_scan(u: torch.Tensor, log_decay: torch.Tensor) -> torch.Tensor:
    """:func:`_scan` built from new tensors only (for ``torch.export``)."""
    result, offset = u, 1
    while offset < u.shape[-1]:
        shifted = torch.addcmul(result[..., offset:], result[..., :-offset], torch.exp(log_decay * offset))
        result = torch.cat([result[..., :offset], shifted], dim=-1)
        offset *= 2
    return result


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
    if is_real_number(s) and not 0.0 < s < 1.0:
        raise ValueError(f"s must be in (0, 1), got {s!r}")
    s_t = _channel_param(s, energy)
    if log_decay is None:
        log_decay = torch.log1p(-s_t)
    log_decay = log_decay.to(energy.dtype).reshape(-1)
    if initial_state == "librosa":
        initial = torch.ones((), dtype=energy.dtype, device=energy.device)
    else:  # M[-1] = E[0]; with no frames there is none (a sum over none: zeros, still connected)
        initial = energy[..., 0] if energy.shape[-1] else energy.sum(dim=-1)
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
        eps: floor added to the smoother (> 0; raised to the dtype's smallest normal number, so that a
            silent smoother gives 0 rather than 0 / 0).
        initial_state: smoother initial condition, see :func:`exponential_smoothing`.
        log_decay: optional ``log(1 - s)``, see :func:`exponential_smoothing`.

    Returns:
        Tensor of the input's shape.

    Raises:
        ValueError: naming a number parameter outside its range or an unknown ``initial_state``.
    """
    if is_real_number(alpha) and not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be >= 0, got {alpha!r}")
    for name, value in (("delta", delta), ("r", r)):
        if is_real_number(value) and not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be > 0, got {value!r}")
    # An eps below the smallest normal number rounds to 0 (1e-50 in float32): 0 / 0 on a silent smoother.
    eps = max(
        check_positive_number("eps", eps),
        torch.finfo(torch.promote_types(spectrogram.dtype, torch.float32)).tiny,
    )
    smoother = exponential_smoothing(spectrogram, s, initial_state=initial_state, log_decay=log_decay)
    alpha_t, delta_t, r_t = (_channel_param(p, spectrogram)[..., None] for p in (alpha, delta, r))
    return _Compression.apply(spectrogram, smoother, alpha_t, delta_t, r_t, float(eps))


class _Compression(torch.autograd.Function):
    """``delta^r expm1(r log1p(E exp(-alpha log(eps + M)) / delta))`` with a hand-written backward (about
    half the passes over the spectrogram that autograd makes).

    With ``A = g (out + delta^r)`` and ``G = A r / (1 + ratio)`` (``g`` the output gradient):
    ``dE = G w``, ``dM = -alpha G ratio / (eps + M)``, ``d alpha = -sum G ratio log(eps + M)``,
    ``d delta = (r sum g out - sum G ratio) / delta``, ``d r = log(delta) sum g out + sum A log1p(ratio)``.

    Double backward (``create_graph=True``) is supported: the backward then recomputes the forward's
    intermediates from the saved inputs and forms the same formulas out of place, so autograd differentiates
    them (to any order). Without ``create_graph`` (grad mode off in the backward) it is the in-place one.
    """

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        energy: torch.Tensor,
        smoother: torch.Tensor,
        alpha: torch.Tensor,
        delta: torch.Tensor,
        r: torch.Tensor,
        eps: float,
    ) -> torch.Tensor:
        floored = smoother + eps
        log_floored = torch.log(floored)
        # weight = (eps + M)^(-alpha) / delta
        weight = torch.addcmul(-torch.log(delta), alpha, log_floored, value=-1.0).exp_()
        ratio = energy * weight
        log_ratio = torch.log1p(ratio)
        power = torch.pow(delta, r)
        out = torch.mul(log_ratio, r).expm1_().mul_(power)
        ctx.save_for_backward(
            alpha, delta, r, floored, log_floored, weight, ratio, log_ratio, out, energy, smoother
        )
        ctx.eps = eps
        return out

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple:
        alpha, delta, r, floored, log_floored, weight, ratio, log_ratio, out, energy, smoother = (
            ctx.saved_tensors
        )
        needs = ctx.needs_input_grad
        if torch.is_grad_enabled():  # create_graph=True: a backward that autograd can differentiate
            return _compression_backward_graph(needs, grad, energy, smoother, alpha, delta, r, ctx.eps)
        # New tensors are updated in place where they are not needed again: each allocation of a
        # spectrogram-sized tensor costs page faults comparable to a pass over it.
        shifted = torch.add(out, torch.pow(delta, r)).mul_(grad)  # A = g (out + delta^r)
        grad_ratio = ratio.add(1.0)
        torch.div(shifted, grad_ratio, out=grad_ratio).mul_(r)  # G
        grad_energy = grad_ratio * weight if needs[0] else None
        weighted = grad_ratio.mul_(ratio)  # G ratio
        grad_smoother = torch.mul(weighted, -alpha).div_(floored) if needs[1] else None
        grad_alpha = grad_delta = grad_r = None
        if needs[2]:
            grad_alpha = -(weighted * log_floored).sum_to_size(alpha.shape)
        if needs[3] or needs[4]:
            grad_out = grad * out
            if needs[3]:  # (r sum g out - sum G ratio) / delta
                grad_delta = _sum_product(r, grad_out, delta) - weighted.sum_to_size(delta.shape)
                grad_delta = (grad_delta / delta).sum_to_size(delta.shape)
            if needs[4]:  # log(delta) sum g out + sum A log1p(ratio)
                grad_r = _sum_product(torch.log(delta), grad_out, r)
                grad_r = grad_r + shifted.mul_(log_ratio).sum_to_size(r.shape)
        return grad_energy, grad_smoother, grad_alpha, grad_delta, grad_r, None


def _compression_backward_graph(
    needs: tuple[bool, ...],
    grad: torch.Tensor,
    energy: torch.Tensor,
    smoother: torch.Tensor,
    alpha: torch.Tensor,
    delta: torch.Tensor,
    r: torch.Tensor,
    eps: float,
) -> tuple[torch.Tensor | None, ...]:
    """:class:`_Compression`'s backward built from differentiable operations (for ``create_graph``): the
    forward's intermediates recomputed from the inputs, then its formulas out of place."""
    floored = smoother + eps
    log_floored = torch.log(floored)
    log_delta = torch.log(delta)
    weight = torch.exp(-log_delta - alpha * log_floored)
    ratio = energy * weight
    log_ratio = torch.log1p(ratio)
    power = torch.pow(delta, r)
    out = torch.expm1(r * log_ratio) * power
    shifted = grad * (out + power)  # A
    scaled = shifted * r / (1.0 + ratio)  # G
    weighted = scaled * ratio
    grad_energy = scaled * weight if needs[0] else None
    grad_smoother = -alpha * weighted / floored if needs[1] else None
    grad_alpha = -(weighted * log_floored).sum_to_size(alpha.shape) if needs[2] else None
    grad_delta = grad_r = None
    if needs[3] or needs[4]:
        grad_out = grad * out
        if needs[3]:
            grad_delta = ((r * grad_out - weighted) / delta).sum_to_size(delta.shape)
        if needs[4]:
            grad_r = (log_delta * grad_out + shifted * log_ratio).sum_to_size(r.shape)
    return grad_energy, grad_smoother, grad_alpha, grad_delta, grad_r, None


def _sum_product(factor: torch.Tensor, values: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``factor * values`` summed to ``target``'s shape; sums ``values`` first where ``factor`` is constant
    over the summed axes (one full-size product fewer)."""
    if factor.numel() == 1 or factor.shape == target.shape:
        return factor * values.sum_to_size(target.shape)
    return (factor * values).sum_to_size(target.shape)


def _channel_param(value: Param, like: torch.Tensor) -> torch.Tensor:
    """``value`` as a tensor of ``like``'s dtype and device: scalar ``()`` or per channel ``(channels,)``."""
    tensor = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    per_channel = tensor.ndim == 1 and tensor.shape[0] != 1
    # compared one by one: ``in`` a tuple holding a symbolic size is False under torch.compile(dynamic=True)
    if tensor.ndim > 1 or (per_channel and tensor.shape[0] != like.shape[-2]):
        raise ValueError(
            f"PCEN parameters must be scalars or have one value per channel ({like.shape[-2]}), "
            f"got shape {tuple(tensor.shape)}"
        )
    return tensor
