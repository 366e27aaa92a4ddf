"""Run configuration: schema, YAML/JSON loading, dotted overrides, validation."""

from .loading import (
    MACHINE_KEYS,
    clip_samples,
    config_differences,
    default_config,
    experiment_differences,
    get_dotted,
    load_config_file,
    merge,
    parse_override,
    resolve_config,
    save_config,
    set_dotted,
    summarize_differences,
    validate_config,
    validate_frontend_section,
)
from .schema import SCHEMA, Key

__all__ = [
    "MACHINE_KEYS",
    "SCHEMA",
    "Key",
    "clip_samples",
    "config_differences",
    "default_config",
    "experiment_differences",
    "get_dotted",
    "load_config_file",
    "merge",
    "parse_override",
    "resolve_config",
    "save_config",
    "set_dotted",
    "summarize_differences",
    "validate_config",
    "validate_frontend_section",
]
