"""Read a YAML/JSON config, apply dotted ``key=value`` overrides, fill defaults and validate.

Every problem raises :class:`~adaspec.errors.ConfigError` naming the dotted key and what is allowed.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import numbers
import re
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from .._atomic import write_text_atomic
from ..errors import ConfigError, UserError, not_a_file_reason, one_line
from ..frontends.registry import build_frontend, frontend_class
from .schema import FRONTEND_SECTION, LOG_OUTPUT_FRONTENDS, SCHEMA, Key


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's numbers and booleans (PyYAML follows YAML 1.1): floats without
    a dot, ``1e-3`` and ``5E+2``, as most people write a learning rate, are numbers; ``yes``, ``no``,
    ``on`` and ``off`` are text, not booleans (a bool key then says it wants ``true`` or ``false``). A key
    given twice in one mapping is an error, as YAML requires (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        """PyYAML's mapping, refusing a key that occurs twice in ``node`` (``<<`` merge keys may be
        overridden).

        Raises:
            DuplicateKeyError: naming the key and both lines.
        """
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, Hashable):
                    continue
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise DuplicateKeyError(
                        f"the key {key!r} is given twice in one mapping (lines {seen[key]} and {line})"
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


class DuplicateKeyError(ValueError):
    """A key given twice in one YAML mapping or JSON object."""


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict, refusing a key given twice (``json`` keeps the last silently).

    Raises:
        DuplicateKeyError: naming the key.
    """
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise DuplicateKeyError(f"the key {key!r} is given twice in one object")
        data[key] = value
    return data


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)
_BOOL = "tag:yaml.org,2002:bool"
_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL]
    for first, resolvers in _YamlLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_yaml(text: str) -> Any:
    """Parse YAML text safely, reading ``1e-3`` as a float (see :class:`_YamlLoader`).

    Raises:
        yaml.YAMLError: for text that is not YAML.
        DuplicateKeyError: for a key given twice in one mapping.
    """
    return yaml.load(text, Loader=_YamlLoader)  # a SafeLoader: no Python objects


def default_config() -> dict[str, Any]:
    """Every schema key at its default (``frontend`` defaults to ``{name: stft}``)."""

    def fill(node: Mapping[str, Any]) -> dict[str, Any]:
        return {k: fill(v) if isinstance(v, Mapping) else copy.deepcopy(v.default) for k, v in node.items()}

    config = fill(SCHEMA)
    config[FRONTEND_SECTION] = {"name": "stft"}
    return config


#: Config formats that are not read, by suffix.
_OTHER_FORMATS = {".toml": "TOML", ".ini": "INI", ".cfg": "INI"}


def load_config_file(path: str | Path, what: str = "config", entries: str = "sections") -> dict[str, Any]:
    """Parse a YAML (or JSON, which YAML reads too) file into a mapping.

    Args:
        path: the file.
        what: what the file holds, for messages (``"config"``, ``"search space"``).
        entries: what its mapping holds, for messages (``"sections"``, ``"dotted config keys"``).

    Raises:
        UserError: when the file is missing, unparsable or not a mapping.
    """
    path = Path(path)
    reason = not_a_file_reason(path, allow_pipe=True)  # a pipe: adaspec train <(make-config)
    if reason == "is a folder":
        raise UserError(f"{path}: is a folder; give a YAML or JSON {what} file")
    if reason == "no such file":
        raise UserError(f"{path}: {what} file not found")
    if reason is not None:
        raise UserError(f"{path}: {reason}; give a YAML or JSON {what} file")
    if path.suffix.lower() in _OTHER_FORMATS:  # YAML would fail on it with a line that says nothing
        kind = _OTHER_FORMATS[path.suffix.lower()]
        raise UserError(f"{path}: {kind} {what} files are not read; give a YAML or JSON {what} file")
    try:
        text = path.read_text(encoding="utf-8")
        data = (
            json.loads(text, object_pairs_hook=_json_object)
            if path.suffix.lower() == ".json"
            else load_yaml(text)
        )
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError, DuplicateKeyError) as err:
        reason = str(err).replace("\n", " ")
        raise UserError(f"{path}: cannot parse {what}: {reason}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: a {what} must be a mapping of {entries}, got {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``"optim.lr=0.01"`` into ``("optim.lr", 0.01)``; the value is parsed as YAML.

    Raises:
        ConfigError: when there is no ``=`` or no key, or the value is a mapping with a key given twice.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(key or text, f"override {text!r} must look like key.path=value")
    try:
        value = load_yaml(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    except DuplicateKeyError as err:
        raise ConfigError(key, str(err)) from None
    return key, value


def merge(base: dict[str, Any], update: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Recursively merge ``update`` into a copy of ``base`` (sections merge, other values replace).

    Mapping-valued keys of the schema (``data.fractions``, ``data.split_lists``) are replaced whole.

    The front-end section is replaced as a whole when ``update`` names a different front-end, so
    parameters of the old one do not leak into the new one.
    """
    merged = copy.deepcopy(base)
    for key, value in update.items():
        old = merged.get(key)
        path = f"{prefix}{key}"
        switches_frontend = (
            path == FRONTEND_SECTION
            and isinstance(value, Mapping)
            and isinstance(old, Mapping)
            and "name" in value
            and value["name"] != old.get("name")
        )
        is_leaf = isinstance(_schema_node(path), Key)
        if isinstance(value, Mapping) and isinstance(old, dict) and not switches_frontend and not is_leaf:
            merged[key] = merge(old, value, prefix=f"{path}.")
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _schema_node(path: str) -> Any:
    node: Any = SCHEMA
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def set_dotted(config: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Return a copy of ``config`` with the dotted ``key`` set to ``value``."""
    parts = key.split(".")
    update: dict[str, Any] = {parts[-1]: value}
    for part in reversed(parts[:-1]):
        update = {part: update}
    return merge(config, update)


def get_dotted(config: Mapping[str, Any], key: str) -> Any:
    """Value at a dotted key path.

    Raises:
        ConfigError: when the path does not exist.
    """
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(key, "no such key")
        node = node[part]
    return node


def resolve_config(
    source: str | Path | Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
    *,
    try_clip: bool = True,
) -> dict[str, Any]:
    """Defaults, then the file (or mapping), then the overrides; validated and completed.

    Args:
        source: a config file path, an already-parsed mapping, or ``None`` for the defaults.
        overrides: ``"dotted.key=value"`` strings, applied in order.
        try_clip: run the front-end once on a clip of zeros (see :func:`validate_frontend_section`); a
            config a checkpoint was trained with has passed that already.

    Returns:
        The resolved config: every key present, front-end ``sample_rate`` filled from ``data.sample_rate``.

    Raises:
        ConfigError: naming the first bad key.
    """
    loaded = load_config_file(source) if isinstance(source, (str, Path)) else dict(source or {})
    config = merge(default_config(), loaded)
    given = _given_compression(loaded)
    for text in overrides:
        key, value = parse_override(text)
        config = set_dotted(config, key, value)
        if key == "model.compression" or (key == "model" and _given_compression({"model": value})):
            given = True
    frontend = config.get(FRONTEND_SECTION)
    if not given and isinstance(frontend, Mapping) and frontend.get("name") in LOG_OUTPUT_FRONTENDS:
        # model.compression's default (db) depends on the front-end: none for one that returns log values
        config["model"]["compression"] = "none"
    return validate_config(config, try_clip=try_clip)


def _given_compression(loaded: Mapping[str, Any]) -> bool:
    """Whether a config file (or mapping) sets ``model.compression`` itself."""
    model = loaded.get("model")
    return isinstance(model, Mapping) and "compression" in model


def clip_samples(data_cfg: Mapping[str, Any]) -> int:
    """Samples in one training crop (also the length every evaluated file is padded to)."""
    return max(1, round(data_cfg["clip_seconds"] * data_cfg["sample_rate"]))


def validate_config(config: Mapping[str, Any], try_clip: bool = True) -> dict[str, Any]:
    """Check every key against the schema and the front-end against its class (and, with ``try_clip``, on
    a clip of zeros); return a completed copy."""
    resolved = copy.deepcopy(dict(config))
    _check_node(resolved, SCHEMA, prefix="")
    _check_cross_keys(resolved)
    data = resolved["data"]
    clip = clip_samples(data)
    resolved[FRONTEND_SECTION] = validate_frontend_section(
        resolved.get(FRONTEND_SECTION), data["sample_rate"], FRONTEND_SECTION, clip, try_clip
    )
    overrides = resolved["model"]["channel_overrides"]
    if overrides is not None:
        if resolved["model"]["adapter"] != "per_channel":
            raise ConfigError("model.channel_overrides", "only applies with model.adapter=per_channel")
        if len(overrides) != 3 or not all(isinstance(o, dict) for o in overrides):
            raise ConfigError("model.channel_overrides", "must be a list of 3 mappings, one per channel")
        for index, override in enumerate(overrides):
            channel = merge(resolved[FRONTEND_SECTION], override)
            where = f"model.channel_overrides.{index}"
            validate_frontend_section(channel, data["sample_rate"], where, clip, try_clip)
    return resolved


def _check_node(node: dict[str, Any], schema: Mapping[str, Any], prefix: str) -> None:
    allowed = sorted(set(schema) | ({FRONTEND_SECTION} if not prefix else set()))
    for key in node:
        if key not in schema and not (not prefix and key == FRONTEND_SECTION):
            where = f"under '{prefix[:-1]}'" if prefix else "at the top level"
            raise ConfigError(f"{prefix}{key}", f"unknown key; allowed {where}: {', '.join(allowed)}")
    for key, spec in schema.items():
        path = f"{prefix}{key}"
        if isinstance(spec, Mapping):
            section = node.get(key)
            if not isinstance(section, dict):
                raise ConfigError(path, f"must be a mapping of {', '.join(sorted(spec))}")
            _check_node(section, spec, prefix=f"{path}.")
        else:
            node[key] = check_value(path, node.get(key, spec.default), spec)


def check_value(path: str, value: Any, spec: Key) -> Any:
    """Validate one leaf value against its :class:`Key`; return it normalised (ints become floats where
    a float is expected, an alias becomes the value it names).

    Raises:
        ConfigError: naming ``path``, the value and what is allowed.
    """
    if value is None:
        if spec.nullable:
            return None
        raise ConfigError(path, f"must not be null; expected {_type_names(spec)}")
    value = unalias(value, spec)
    if not _type_ok(value, spec.types):
        hint = ""
        if spec.choices is not None:
            hint = f"; allowed: {_allowed(spec)}"
        elif str in spec.types and isinstance(value, (int, float)) and not isinstance(value, bool):
            hint = "; YAML read it as a number: quote it to keep it as text (e.g. key='1e3')"
        raise ConfigError(path, f"expected {_type_names(spec)}, got {value!r} ({type(value).__name__}){hint}")
    if float in spec.types and int not in spec.types and isinstance(value, numbers.Integral):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):  # YAML's .inf passes "> 0"
        raise ConfigError(path, f"got {value!r}; must be a finite number ({spec.rule or 'any'})")
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(path, f"got {value!r}; allowed: {_allowed(spec)}")
    if spec.check is not None and not spec.check(value):
        raise ConfigError(path, f"got {value!r}; must be {spec.rule}")
    return value


def unalias(value: Any, spec: Key) -> Any:
    """``value``, or the value it names when it is one of ``spec.aliases`` (matched by type too, so that
    ``32.0`` or ``True`` is not the alias ``32``)."""
    for alias, name in (spec.aliases or {}).items():
        if type(alias) is type(value) and alias == value:
            return name
    return value


def _allowed(spec: Key) -> str:
    """``spec.choices`` for a message, then its aliases with the choice each names."""
    allowed = ", ".join(map(str, spec.choices or ()))
    if spec.aliases:
        names = dict.fromkeys(f"{alias} (= {name})" for alias, name in spec.aliases.items())
        allowed += f", or {', '.join(names)}"
    return allowed


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    for kind in types:
        if kind is float and isinstance(value, (int, float)):
            return True
        if kind is not bool and isinstance(value, kind):
            return True
    return False


def _type_names(spec: Key) -> str:
    names = " or ".join(t.__name__.replace("dict", "mapping") for t in spec.types)
    return f"{names} or null" if spec.nullable else names


def _check_cross_keys(config: dict[str, Any]) -> None:
    data = config["data"]
    # An empty path would read the current folder (the CLI refuses empty path arguments too).
    paths = {"data.root": data["root"], "data.manifest": data["manifest"]}
    paths.update({f"data.split_lists.{split}": path for split, path in (data["split_lists"] or {}).items()})
    for key, path in paths.items():
        if isinstance(path, str) and not path.strip():
            hint = " (write . for the current folder)" if key == "data.root" else ""
            raise ConfigError(key, f"must not be empty{hint}, got {path!r}")
    if data["source"] in ("folders", "esc50") and data["root"] is None:
        raise ConfigError("data.root", f"is required with data.source={data['source']}")
    if data["source"] == "manifest" and data["manifest"] is None:
        raise ConfigError("data.manifest", "is required with data.source=manifest")
    if data["source"] == "esc50":
        for key in ("val_fold", "test_fold"):
            if not 1 <= data[key] <= 5:
                raise ConfigError(f"data.{key}", f"ESC-50 folds are 1..5, got {data[key]!r}")
        if data["val_fold"] == data["test_fold"]:
            raise ConfigError("data.test_fold", "must differ from data.val_fold")
    fractions = data["fractions"]
    for split, fraction in fractions.items():
        if split not in ("train", "val", "test"):
            raise ConfigError(f"data.fractions.{split}", "unknown split; allowed: train, val, test")
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or fraction < 0:
            raise ConfigError(f"data.fractions.{split}", f"must be a number >= 0, got {fraction!r}")
    if abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise ConfigError("data.fractions", f"must sum to 1, got {sum(fractions.values()):g}")
    extensions = data["extensions"]
    if not extensions or not all(isinstance(e, str) and e for e in extensions):
        raise ConfigError(
            "data.extensions", f"must be a non-empty list of names like wav, got {extensions!r}"
        )


def validate_frontend_section(
    section: Any, sample_rate: int, path: str, clip_length: int | None = None, try_clip: bool = True
) -> dict[str, Any]:
    """Check a front-end mapping against its registered class by building it once.

    Fills ``sample_rate`` from ``data.sample_rate`` when the class takes one and the section omits it.

    Args:
        section: the front-end mapping (``name`` and parameters).
        sample_rate: ``data.sample_rate``.
        path: the section's dotted key, for messages.
        clip_length: samples per training clip; an ``n_fft`` or ``win_length`` longer than that is refused
            before anything is built (the frames could not fit a clip, and the kernels could be huge).
        try_clip: with ``clip_length``, run the built front-end once on a clip of zeros (the verdict is
            kept per section and length, for the process): an input it refuses as too short (e.g. a CQT
            filter or a wavelet longer than a clip), or one too large for memory, is reported against
            ``data.clip_seconds``.

    Raises:
        ConfigError: unknown name, unknown parameter, a mismatching sample rate, a frame longer than a
            clip, a front-end too large to build, or any value the front-end refuses (its ValueError names
            the parameter).
    """
    if not isinstance(section, dict) or "name" not in section:
        raise ConfigError(f"{path}.name", "the front-end section needs a registered name, e.g. name: stft")
    params = dict(section)
    name = params.pop("name")
    if not isinstance(name, str):
        raise ConfigError(f"{path}.name", f"must be a string, got {name!r}")
    try:
        cls = frontend_class(name, waveform_only=True)
    except ValueError as err:
        raise ConfigError(f"{path}.name", str(err)) from None
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "dtype")]
    for key in params:
        if key not in accepted:
            raise ConfigError(f"{path}.{key}", f"not a parameter of {name!r}; allowed: {', '.join(accepted)}")
    if "sample_rate" in accepted:
        given = params.get("sample_rate")
        if given is None:
            params["sample_rate"] = sample_rate
        elif given != sample_rate:
            raise ConfigError(
                f"{path}.sample_rate", f"{given!r} differs from data.sample_rate ({sample_rate}); drop it"
            )
    for key in ("n_fft", "win_length"):
        value = params.get(key)
        if clip_length is not None and isinstance(value, int) and value > clip_length:
            raise ConfigError(
                f"{path}.{key}",
                f"{value} is longer than a clip ({clip_length} samples = data.clip_seconds x sample_rate)",
            )
    try:
        frontend = build_frontend(name, **params)
    except MemoryError as err:
        raise ConfigError(path, f"{name}: too large to build here ({err})") from None
    except (ValueError, TypeError) as err:
        message = str(err)
        first_word = message.split(" ", 1)[0]
        key = f"{path}.{first_word}" if first_word in params else path
        raise ConfigError(key, f"{name}: {message}") from None
    if clip_length is not None and try_clip:
        problem = _clip_problem(frontend, name, params, clip_length)
        if problem is not None:
            what, reason = problem
            message = f"a clip of {clip_length} samples {what} {path} ({name}): {reason}"
            raise ConfigError("data.clip_seconds", message)
    return {"name": name, **params}


_CLIP_PROBLEMS: dict[tuple[str, str, int], tuple[str, str] | None] = {}


def _clip_problem(
    frontend: torch.nn.Module, name: str, params: Mapping[str, Any], clip_length: int
) -> tuple[str, str] | None:
    """Why ``frontend`` cannot take a clip of zeros, as ``("is too short for", reason)`` or ``("needs more
    memory than there is for", reason)``, or ``None``; kept per (name, parameters, length), so that a
    search or a study resolving one config many times runs the front-end once."""
    key = (name, json.dumps(params, sort_keys=True, default=str), clip_length)
    if key not in _CLIP_PROBLEMS:
        problem = None
        try:
            with torch.no_grad():
                frontend(torch.zeros(1, clip_length))
        except ValueError as err:
            problem = ("is too short for", str(err))
        except (MemoryError, RuntimeError) as err:
            if not isinstance(err, MemoryError) and "alloc" not in str(err).lower():
                raise
            problem = ("needs more memory than there is for", one_line(err))
        if len(_CLIP_PROBLEMS) >= 256:
            _CLIP_PROBLEMS.clear()
        _CLIP_PROBLEMS[key] = problem
    return _CLIP_PROBLEMS[key]


def save_config(config: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``config`` as YAML (keys in schema order), atomically: a reader (another process of a
    distributed run) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, yaml.safe_dump(dict(config), sort_keys=False))


#: Config keys that only say how a machine runs a training, not what it computes: a run resumes, and the
#: workers of one search study run, whatever their values.
MACHINE_KEYS = (
    "data.num_workers",
    "data.cache",
    "eval.max_parts_per_batch",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.num_nodes",
    "trainer.strategy",
    "trainer.progress_bar",
)


def experiment_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """:func:`config_differences` but for the keys of :data:`MACHINE_KEYS`."""
    return config_differences(old, new, ignored=MACHINE_KEYS)


def config_differences(
    old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "", ignored: Collection[str] = ()
) -> list[str]:
    """Dotted keys whose values differ between two configs, as ``"key: old -> new"`` lines; the dotted keys
    in ``ignored`` are not compared, and an alias of a value (``trainer.precision: 32``) is that value."""
    lines: list[str] = []
    for key in sorted(set(old) | set(new), key=str):
        a, b, path = old.get(key), new.get(key), f"{prefix}{key}"
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            lines += config_differences(a, b, prefix=f"{path}.", ignored=ignored)
        elif path not in ignored and _comparable(path, a) != _comparable(path, b):
            lines.append(f"{path}: {a!r} -> {b!r}")
    return lines


def _comparable(path: str, value: Any) -> Any:
    """``value`` of the config key ``path`` as compared: an alias as the value it names (a run saved with
    ``trainer.precision: 32`` or ``'32'`` is the run of ``32-true``)."""
    spec = _schema_node(path)
    return unalias(value, spec) if isinstance(spec, Key) else value


def summarize_differences(lines: Sequence[str], shown: int = 3) -> str:
    """The first ``shown`` lines of :func:`config_differences` joined by ``"; "`` (`` ...`` if more)."""
    return "; ".join(lines[:shown]) + (" ..." if len(lines) > shown else "")
