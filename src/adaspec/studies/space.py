"""Search spaces of ``adaspec search``: one entry per config key, checked before any trial runs.

A space is a YAML mapping from dotted config keys to distributions::

    optim.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
    optim.name: {type: categorical, choices: [adamw, sgd]}
    eval.n_parts: {type: int, low: 4, high: 16}
    augment.enabled: {type: bool}
    sched.gamma: {type: float, low: 0.8, high: 1.0, step: 0.05}

``float`` and ``int`` take ``low``, ``high`` and optionally ``log`` (not with ``step``) or ``step``;
``categorical`` takes ``choices``; ``bool`` is ``categorical`` over ``[false, true]``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from ..config import get_dotted, load_config_file, resolve_config, set_dotted
from ..config.schema import LOG_OUTPUT_FRONTENDS
from ..errors import ConfigError, UserError
from ..training.train import check_machine_settings

TYPES = ("float", "int", "categorical", "bool")
_FIELDS = {
    "float": {"type", "low", "high", "log", "step"},
    "int": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices"},
    "bool": {"type"},
}

# Seed 001's search (optimizer, learning rate, number of parts, augmentation, decay gamma).
DEFAULT_SPACE: dict[str, dict[str, Any]] = {
    "optim.lr": {"type": "float", "low": 1.0e-4, "high": 0.1, "log": True},
    "optim.name": {"type": "categorical", "choices": ["adamw", "sgd"]},
    "eval.n_parts": {"type": "int", "low": 4, "high": 16},
    "augment.enabled": {"type": "bool"},
    "sched.gamma": {"type": "float", "low": 0.8, "high": 1.0},
}


@dataclass(frozen=True)
class Dimension:
    """One searched config key.

    Attributes:
        key: dotted config key, e.g. ``"optim.lr"``.
        kind: one of :data:`TYPES`.
        low: lower bound (numeric kinds).
        high: upper bound (numeric kinds).
        log: sample on a log scale.
        step: grid step (numeric kinds), or ``None``.
        choices: the values of a categorical (``bool``: ``(False, True)``).
    """

    key: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: optuna.Trial) -> Any:
        """Draw this key's value for ``trial``."""
        if self.kind == "float":
            return trial.suggest_float(self.key, self.low, self.high, log=self.log, step=self.step)
        if self.kind == "int":
            return trial.suggest_int(self.key, self.low, self.high, log=self.log, step=self.step or 1)
        return trial.suggest_categorical(self.key, list(self.choices))

    def examples(self) -> list[Any]:
        """Values that span the dimension (bounds or every choice), for checking it against the config."""
        return [self.low, self.high] if self.kind in ("float", "int") else list(self.choices)


def _number(key: str, field: str, value: Any, kind: str) -> float | int:
    ok = isinstance(value, int) if kind == "int" else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok:
        raise UserError(
            f"search space {key}: {field} must be {'an integer' if kind == 'int' else 'a number'}"
        )
    return int(value) if kind == "int" else float(value)


def _first_repeat(choices: Sequence[Any]) -> int | None:
    """Index of the first choice that repeats an earlier one (same type and value: ``1`` does not repeat
    ``true``, nor ``1.0``), or ``None``."""
    for index, choice in enumerate(choices):
        if any(type(earlier) is type(choice) and earlier == choice for earlier in choices[:index]):
            return index
    return None


def parse_dimension(key: str, spec: Any) -> Dimension:
    """Check one entry of a space.

    Raises:
        UserError: naming the key and the problem (unknown type or field, missing bound, ``low > high``,
            ``log`` with ``low <= 0``, ``log`` with ``step``, empty ``choices`` or a choice given twice).
    """
    if not isinstance(spec, Mapping):
        raise UserError(f"search space {key}: expected a mapping like {{type: float, low: ..., high: ...}}")
    kind = spec.get("type")
    if kind not in TYPES:
        raise UserError(f"search space {key}: type must be one of {', '.join(TYPES)}, got {kind!r}")
    unknown = sorted(set(spec) - _FIELDS[kind])
    if unknown:
        allowed = ", ".join(sorted(_FIELDS[kind]))
        raise UserError(
            f"search space {key}: unknown field {unknown[0]!r} for type {kind} (allowed: {allowed})"
        )
    if kind == "bool":
        return Dimension(key, "categorical", choices=(False, True))
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise UserError(f"search space {key}: choices must be a non-empty list")
        repeat = _first_repeat(choices)
        if repeat is not None:
            raise UserError(
                f"search space {key}: the choice {choices[repeat]!r} is given twice; give each choice once"
            )
        return Dimension(key, kind, choices=tuple(choices))
    for field in ("low", "high"):
        if field not in spec:
            raise UserError(f"search space {key}: {field} is missing")
    low = _number(key, "low", spec["low"], kind)
    high = _number(key, "high", spec["high"], kind)
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise UserError(f"search space {key}: log must be true or false")
    step = None if spec.get("step") is None else _number(key, "step", spec["step"], kind)
    if low > high:
        raise UserError(f"search space {key}: low ({low}) is greater than high ({high})")
    if log and low <= 0:
        raise UserError(f"search space {key}: log scale needs low > 0, got low = {low}")
    if log and step is not None:
        raise UserError(f"search space {key}: log and step cannot be combined")
    if step is not None and step <= 0:
        raise UserError(f"search space {key}: step must be > 0, got {step}")
    return Dimension(key, kind, low=low, high=high, log=log, step=step)


def apply_params(base: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved config of ``base`` with ``params`` (dotted key -> value) set.

    Raises:
        ConfigError: a key the config does not have, or a value it does not accept (naming the key).
    """
    config = copy.deepcopy(dict(base))
    for key, value in params.items():
        config = set_dotted(config, key, value)
    if "frontend.name" in params and "model.compression" not in params:
        switched = (base["frontend"]["name"], config["frontend"]["name"])
        if any(name in LOG_OUTPUT_FRONTENDS for name in switched):
            # to or from a front-end that returns log values: the base's compression was set by that front-end
            # (or would be wrong after it), so resolve_config chooses the default for the new one
            del config["model"]["compression"]
    return resolve_config(config)


def check_single_process(config: Mapping[str, Any], where: str = "the config") -> None:
    """Refuse device settings this machine cannot honour, and any that make a trial a run of several
    processes: Lightning would start the others by running the search command again, and they would wait
    for the trial that waits for them.

    Raises:
        ConfigError: on ``trainer``.
    """
    processes = check_machine_settings(config, launcher=False)  # several processes are refused below
    if processes > 1:
        raise ConfigError(
            "trainer",
            f"{where} makes each trial a run of {processes} processes; a search trains every trial in one "
            "process: start several search workers on the study instead (one per device)",
        )


def parse_space(entries: Mapping[str, Any], base: Mapping[str, Any]) -> list[Dimension]:
    """Check a whole space, including that every key and every value it can draw fit ``base``, and that no
    two choices of a key make the same config (``trainer.precision: [32, 32-true]``).

    Raises:
        UserError: an empty space, a bad entry, a key/value the config does not accept, or two choices of
            one config.
    """
    if not isinstance(entries, Mapping) or not entries:
        raise UserError("search space: expected a non-empty mapping of config keys to distributions")
    dimensions = [parse_dimension(str(key), spec) for key, spec in entries.items()]
    for dimension in dimensions:
        made: list[tuple[Any, dict[str, Any]]] = []  # (choice, its config) of a categorical
        for value in dimension.examples():
            try:
                config = apply_params(base, {dimension.key: value})
                if dimension.key.startswith("trainer."):  # a device setting this machine cannot honour
                    check_single_process(config, where=f"{dimension.key}={value!r}")
            except ConfigError as err:
                raise UserError(f"search space: {err}") from None
            if dimension.kind == "categorical":
                _check_new_config(dimension.key, value, config, made)
    return dimensions


def _check_new_config(
    key: str, choice: Any, config: dict[str, Any], made: list[tuple[Any, dict[str, Any]]]
) -> None:
    """Append ``(choice, config)`` to ``made``, the configs the earlier choices of ``key`` make.

    Raises:
        UserError: naming both choices when an earlier choice made the same config.
    """
    for earlier, other in made:
        if other == config:
            raise UserError(
                f"search space {key}: the choices {earlier!r} and {choice!r} make the same config "
                f"({key}={get_dotted(config, key)!r}); give each choice once"
            )
    made.append((choice, config))


def load_space(path: str | Path | None, base: Mapping[str, Any]) -> list[Dimension]:
    """The space in the YAML/JSON file ``path`` (or :data:`DEFAULT_SPACE`), checked against ``base``.

    Raises:
        UserError: the file is missing or unreadable, or the space is invalid.
    """
    entries = DEFAULT_SPACE if path is None else load_config_file(path, "search space", "dotted config keys")
    return parse_space(entries, base)
