"""Studies over many runs: ``compare`` (front-end variants x seeds on one dataset and budget) and
``search`` (Optuna trials over config keys on a shared study)."""

from .compare import ComparisonResult, format_results, run_comparison, run_config
from .search import SearchResult, SearchSettings, format_search, run_search
from .space import DEFAULT_SPACE, Dimension, load_space, parse_space
from .summary import RunSummary
from .variants import (
    DEFAULT_VARIANTS,
    VARIANTS,
    Variant,
    available_variants,
    get_variant,
    parse_variants,
    variant_config,
)

__all__ = [
    "DEFAULT_SPACE",
    "DEFAULT_VARIANTS",
    "VARIANTS",
    "ComparisonResult",
    "Dimension",
    "RunSummary",
    "SearchResult",
    "SearchSettings",
    "Variant",
    "available_variants",
    "format_results",
    "format_search",
    "get_variant",
    "load_space",
    "parse_space",
    "parse_variants",
    "run_comparison",
    "run_config",
    "run_search",
    "variant_config",
]
