"""The config schema: every key a run accepts, its type, default and allowed values.

The key paths are a public contract (scripts, docs and search spaces use them): ``seed``, ``data.root``,
``data.sample_rate``, ``data.clip_seconds``, ``data.batch_size``, ``data.num_workers``, ``eval.n_parts``,
``frontend.name``, ``model.backbone``, ``model.adapter``, ``optim.name``, ``optim.lr``, ``sched.gamma``,
``augment.enabled``, ``trainer.max_epochs``, ``trainer.devices``, ``trainer.strategy``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .._seeds import MAX_SEED

# The front-end section is free-form (validated against the registered class), so it has no entry here.
FRONTEND_SECTION = "frontend"
#: Registered front-ends whose output is already logarithmic (or otherwise compressed): a classifier adds no
#: compression after them, and ``model.compression`` defaults to ``none`` with them.
LOG_OUTPUT_FRONTENDS = ("mfcc", "amplitude_to_db", "degram", "leaf")


@dataclass(frozen=True)
class Key:
    """One config leaf.

    Args:
        types: accepted Python types (``float`` also accepts ``int``; ``bool`` is never an ``int``).
        default: value when the config does not set the key.
        choices: allowed values, if the key is an enumeration.
        nullable: whether ``null`` is allowed.
        check: extra predicate on the (non-null) value, with ``rule`` describing it.
        rule: human description of ``check``, e.g. ``"> 0"``.
        doc: one line for the documentation.
        aliases: other accepted spellings, each replaced by the value of ``choices`` it names (an alias is
            matched by type too: ``32.0`` or ``true`` is not the alias ``32``).
    """

    types: tuple[type, ...]
    default: Any
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    check: Callable[[Any], bool] | None = None
    rule: str = ""
    doc: str = ""
    aliases: Mapping[Any, Any] | None = None


def _positive(value: Any) -> bool:
    return value > 0


def _non_negative(value: Any) -> bool:
    return value >= 0


def _seed(value: Any) -> bool:
    return 0 <= value <= MAX_SEED


def _probability(value: Any) -> bool:
    return 0.0 <= value <= 1.0


def _range_pair(value: Any) -> bool:
    return (
        len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        and value[0] <= value[1]
    )


#: Largest gain, in dB either way, that ``augment.gain_db`` may draw: 120 dB scales a waveform by 1e6;
#: past about 770 dB a float32 waveform overflows to inf and training turns to NaN.
GAIN_DB_LIMIT = 120.0


def _gain_pair(value: Any) -> bool:
    return _range_pair(value) and all(-GAIN_DB_LIMIT <= v <= GAIN_DB_LIMIT for v in value)


def _devices(value: Any) -> bool:
    if isinstance(value, str):
        return value == "auto" or value.lstrip("-").isdigit()
    if isinstance(value, list):
        return all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    return value == -1 or value >= 1


#: Lightning's other names of a precision (its ints, their strings and ``bf16``), each replaced by the name
#: Lightning documents and converts it to, so that ``32`` and ``32-true`` are one config.
PRECISION_ALIASES: dict[Any, str] = {
    16: "16-mixed",
    32: "32-true",
    64: "64-true",
    "16": "16-mixed",
    "32": "32-true",
    "64": "64-true",
    "bf16": "bf16-mixed",
}

SCHEMA: dict[str, Any] = {
    "seed": Key((int,), 0, check=_seed, rule=f"in 0..{MAX_SEED}", doc="seed for splits, crops, init"),
    "data": {
        "source": Key(
            (str,),
            "folders",
            choices=("folders", "manifest", "esc50"),
            doc="class folders root/<label>/**, a CSV manifest, or the ESC-50 layout",
        ),
        "root": Key(
            (str,), None, nullable=True, doc="dataset root (folders, esc50) or base of manifest paths"
        ),
        "manifest": Key((str,), None, nullable=True, doc="CSV with path,label[,split][,group]"),
        "extensions": Key(
            (list,),
            ["wav", "flac", "ogg", "oga", "opus", "mp3", "aiff", "aif", "aifc", "caf", "w64", "rf64"],
            doc="audio file extensions to scan",
        ),
        "sample_rate": Key(
            (int,), 22050, check=_positive, rule="> 0", doc="resample every file to this rate"
        ),
        "clip_seconds": Key((float,), 3.0, check=_positive, rule="> 0", doc="training crop length"),
        "fractions": Key(
            (dict,), {"train": 0.8, "val": 0.1, "test": 0.1}, doc="split fractions for files without a split"
        ),
        "split_lists": Key(
            (dict,), None, nullable=True, doc="{train: file, val: file, test: file} explicit split lists"
        ),
        "val_fold": Key((int,), 4, doc="ESC-50 validation fold"),
        "test_fold": Key((int,), 5, doc="ESC-50 test fold"),
        "batch_size": Key((int,), 16, check=_positive, rule="> 0", doc="training clips per batch"),
        "num_workers": Key((int,), 2, check=_non_negative, rule=">= 0", doc="data-loader worker processes"),
        "strict": Key((bool,), False, doc="refuse the dataset if any file is unreadable"),
        "cache": Key((bool,), True, doc="keep decoded, resampled audio in memory"),
    },
    "eval": {
        "n_parts": Key((int,), 12, check=_positive, rule="> 0", doc="equal parts per file for voting"),
        "vote": Key((str,), "mean", choices=("mean", "majority"), doc="vote rule of the headline metric"),
        "max_parts_per_batch": Key((int,), 64, check=_positive, rule="> 0", doc="evaluation batch size"),
    },
    "model": {
        "backbone": Key((str,), "resnet18", choices=("resnet18", "resnet34", "small_cnn")),
        "adapter": Key(
            (str,),
            "repeat",
            choices=("repeat", "stem", "per_channel"),
            doc="repeat to 3 channels, 1-channel stem, or one front-end per channel",
        ),
        "dropout": Key((float,), 0.0, check=lambda v: 0.0 <= v < 1.0, rule="in [0, 1)"),
        "compression": Key(
            (str,),
            "db",
            choices=("db", "log", "none"),
            doc="applied to the front-end output (default: db; none for a front-end of LOG_OUTPUT_FRONTENDS)",
        ),
        "input_norm": Key((bool,), True, doc="BatchNorm2d on the backbone input"),
        "image_size": Key(
            (int,), 100, check=lambda v: v >= 4, rule=">= 4 (two 2x2 poolings)", doc="small_cnn input size"
        ),
        "hidden": Key((int,), 512, check=_positive, rule="> 0", doc="small_cnn hidden width"),
        "channel_overrides": Key(
            (list,), None, nullable=True, doc="per_channel: 3 dicts of front-end parameters, one per channel"
        ),
    },
    "optim": {
        "name": Key((str,), "adamw", choices=("adamw", "adam", "sgd")),
        "lr": Key((float,), 1e-3, check=_positive, rule="> 0"),
        "frontend_lr": Key(
            (float,),
            None,
            nullable=True,
            check=_positive,
            rule="> 0",
            doc="separate learning rate for front-end parameters",
        ),
        "weight_decay": Key((float,), 0.01, check=_non_negative, rule=">= 0"),
        "momentum": Key((float,), 0.9, check=lambda v: 0.0 <= v < 1.0, rule="in [0, 1)", doc="sgd only"),
    },
    "sched": {
        "gamma": Key(
            (float,),
            1.0,
            check=lambda v: 0.0 < v <= 1.0,
            rule="in (0, 1]",
            doc="exponential learning-rate decay per epoch (1 = constant)",
        ),
    },
    "augment": {
        "enabled": Key((bool,), False),
        "gain_db": Key(
            (list,), [-6.0, 6.0], check=_gain_pair, rule=f"[low, high] within +-{GAIN_DB_LIMIT:g} dB"
        ),
        "gain_p": Key((float,), 0.5, check=_probability, rule="in [0, 1]"),
        "noise_snr_db": Key((list,), [10.0, 40.0], check=_range_pair, rule="[low, high]"),
        "noise_p": Key((float,), 0.5, check=_probability, rule="in [0, 1]"),
        "shift_max": Key((float,), 0.2, check=_probability, rule="in [0, 1]", doc="fraction of the crop"),
        "shift_p": Key((float,), 0.5, check=_probability, rule="in [0, 1]"),
        "polarity_p": Key((float,), 0.5, check=_probability, rule="in [0, 1]"),
        "time_mask_width": Key((int,), 0, check=_non_negative, rule=">= 0", doc="frames; 0 = off"),
        "time_masks": Key((int,), 1, check=_non_negative, rule=">= 0"),
        "freq_mask_width": Key((int,), 0, check=_non_negative, rule=">= 0", doc="bins; 0 = off"),
        "freq_masks": Key((int,), 1, check=_non_negative, rule=">= 0"),
    },
    "trainer": {
        "max_epochs": Key((int,), 30, check=_positive, rule="> 0"),
        "accelerator": Key((str,), "auto"),
        "devices": Key((int, str, list), 1, check=_devices, rule="a positive count, -1, 'auto' or a list"),
        "num_nodes": Key((int,), 1, check=_positive, rule="> 0"),
        "strategy": Key((str,), "auto"),
        "precision": Key(
            (str, int),
            "32-true",
            choices=("32-true", "16-mixed", "bf16-mixed", "64-true", "bf16-true", "16-true"),
            aliases=PRECISION_ALIASES,
        ),
        "deterministic": Key((bool,), False),
        "early_stopping_patience": Key((int,), None, nullable=True, check=_positive, rule="> 0"),
        "gradient_clip_val": Key((float,), None, nullable=True, check=_positive, rule="> 0"),
        "limit_train_batches": Key((int, float), None, nullable=True, check=_positive, rule="> 0"),
        "limit_val_batches": Key((int, float), None, nullable=True, check=_positive, rule="> 0"),
        "log_every_n_steps": Key((int,), 10, check=_positive, rule="> 0"),
        "progress_bar": Key((bool,), True),
    },
}
