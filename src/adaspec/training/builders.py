"""Turn a resolved config into modules: front-ends, the classifier, the optimizer and its schedule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..config import merge
from ..config.schema import LOG_OUTPUT_FRONTENDS
from ..errors import ConfigError
from ..frontends.registry import build_frontend, takes_spectrogram
from ..models import Classifier, SpecMasking, build_backbone
from ..models.adapters import adapter_channels

# The model setting that does the work of a front-end that takes a spectrogram (a classifier cannot start
# with one).
_SPECTROGRAM_INPUT_SETTINGS = {"amplitude_to_db": " with model.compression=db"}


def build_frontends(config: Mapping[str, Any]) -> list[nn.Module]:
    """The front-end(s) of a config: one, or three for ``model.adapter=per_channel``.

    Each per-channel front-end is built from ``frontend`` merged with ``model.channel_overrides[i]``;
    without overrides the three start identical and learn independently (seed 001's "3 STFT" trials).
    """
    section = dict(config["frontend"])
    if config["model"]["adapter"] != "per_channel":
        return [_build_one(section)]
    overrides = config["model"]["channel_overrides"] or [{}, {}, {}]
    return [_build_one(merge(section, override)) for override in overrides]


def _build_one(section: Mapping[str, Any]) -> nn.Module:
    params = dict(section)
    name = params.pop("name")
    try:
        return build_frontend(name, **params)
    except ValueError as err:
        raise ConfigError("frontend", str(err)) from None


def frontend_output_is_power(frontend: nn.Module) -> bool:
    """Whether a front-end returns power (|X|^2) rather than magnitude, to pick 10 or 20 log10."""
    if getattr(frontend, "output", None) == "power":
        return True
    return getattr(frontend, "power", None) == 2.0


def build_classifier(config: Mapping[str, Any], num_classes: int) -> Classifier:
    """The full model of a config: front-end(s), compression, adapter, input norm, masking, backbone."""
    model_cfg = config["model"]
    name = config["frontend"]["name"]
    if takes_spectrogram(name):
        raise ConfigError(
            "frontend.name",
            f"{name!r} takes a spectrogram, not a waveform, so it cannot start a classifier; use a "
            f"waveform front-end (stft, mel, ...){_SPECTROGRAM_INPUT_SETTINGS.get(name, '')} instead",
        )
    if name in LOG_OUTPUT_FRONTENDS and model_cfg["compression"] != "none":
        raise ConfigError(
            "model.compression", f"front-end {name!r} already returns log values; set model.compression=none"
        )
    frontends = build_frontends(config)
    powers = [frontend_output_is_power(frontend) for frontend in frontends]
    if model_cfg["compression"] == "db" and len(set(powers)) > 1:  # one dB rule (10 or 20 log10) for all
        kinds = ", ".join("power" if power else "magnitude" for power in powers)
        raise ConfigError(
            "model.channel_overrides",
            f"the channels' front-ends return {kinds}: with model.compression=db they must all return power "
            "or all magnitude",
        )
    backbone_kwargs: dict[str, Any] = {}
    if model_cfg["backbone"] == "small_cnn":
        backbone_kwargs = {"image_size": model_cfg["image_size"], "hidden": model_cfg["hidden"]}
    backbone = build_backbone(
        model_cfg["backbone"],
        num_classes=num_classes,
        in_channels=adapter_channels(model_cfg["adapter"]),
        dropout=model_cfg["dropout"],
        **backbone_kwargs,
    )
    augment = config["augment"]
    masking = None
    if augment["enabled"] and (augment["time_mask_width"] > 0 or augment["freq_mask_width"] > 0):
        masking = SpecMasking(
            time_mask_width=augment["time_mask_width"],
            freq_mask_width=augment["freq_mask_width"],
            time_masks=augment["time_masks"],
            freq_masks=augment["freq_masks"],
        )
    return Classifier(
        frontends if model_cfg["adapter"] == "per_channel" else frontends[0],
        backbone,
        adapter=model_cfg["adapter"],
        compression=model_cfg["compression"],
        power=powers[0],
        input_norm=model_cfg["input_norm"],
        masking=masking,
    )


def build_optimizer(model: Classifier, optim_cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
    """AdamW, Adam or SGD with momentum over two parameter groups.

    The front-end group uses ``optim.frontend_lr`` (default ``optim.lr``) and no weight decay: decay would
    pull a learned window or DFT kernel toward zero rather than toward its analytic start.
    """
    lr = optim_cfg["lr"]
    groups = [
        {"params": list(model.backbone_parameters()), "lr": lr, "weight_decay": optim_cfg["weight_decay"]},
        {
            "params": list(model.frontend_parameters()),
            "lr": optim_cfg["frontend_lr"] or lr,
            "weight_decay": 0.0,
        },
    ]
    groups = [g for g in groups if g["params"]]
    name = optim_cfg["name"]
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    return torch.optim.SGD(groups, lr=lr, momentum=optim_cfg["momentum"])


def build_scheduler(optimizer: torch.optim.Optimizer, sched_cfg: Mapping[str, Any]) -> Any:
    """Exponential decay of every group's learning rate by ``sched.gamma`` per epoch (seed 001)."""
    return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=sched_cfg["gamma"])
