"""Evaluation: metrics, voting over a file's parts, per-file predictions."""

from .evaluate import EvaluationResult, evaluate_parts
from .metrics import (
    ClassificationReport,
    accuracy,
    classification_report,
    confusion_matrix,
    macro_f1,
    per_class_report,
)
from .predictions import FORMATS, format_predictions, top_k, write_predictions_csv
from .voting import VOTES, majority_vote, mean_file_probs, mean_probability_vote, vote, vote_files

__all__ = [
    "FORMATS",
    "VOTES",
    "ClassificationReport",
    "EvaluationResult",
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "evaluate_parts",
    "format_predictions",
    "macro_f1",
    "majority_vote",
    "mean_file_probs",
    "mean_probability_vote",
    "per_class_report",
    "top_k",
    "vote",
    "vote_files",
    "write_predictions_csv",
]
