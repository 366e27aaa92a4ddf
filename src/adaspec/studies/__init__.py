"""Studies over many runs: ``compare`` (front-end variants x seeds on one dataset and budget)."""

from .compare import ComparisonResult, format_results, run_comparison, run_config
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
    "DEFAULT_VARIANTS",
    "VARIANTS",
    "ComparisonResult",
    "RunSummary",
    "Variant",
    "available_variants",
    "format_results",
    "get_variant",
    "parse_variants",
    "run_comparison",
    "run_config",
    "variant_config",
]
