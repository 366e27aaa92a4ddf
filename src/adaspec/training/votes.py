"""Collects part probabilities over an evaluation pass and scores them by voting."""

from __future__ import annotations

import numpy as np

from ..evaluation import EvaluationResult, evaluate_parts


class PartsAccumulator:
    """Part probabilities, their file ids and each file's label, gathered batch by batch."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything collected so far."""
        self._probs: list[np.ndarray] = []
        self._part_files: list[np.ndarray] = []
        self.file_labels: dict[int, int] = {}

    def add(self, probs: np.ndarray, part_files: np.ndarray, files: np.ndarray, labels: np.ndarray) -> None:
        """Add one batch: ``probs (n_parts, C)``, ``part_files (n_parts,)`` and per-file ids and labels."""
        self._probs.append(np.asarray(probs, dtype=np.float64))
        self._part_files.append(np.asarray(part_files, dtype=np.int64))
        self.file_labels.update({int(f): int(label) for f, label in zip(files, labels, strict=True)})

    def merge(self, others: list[PartsAccumulator]) -> None:
        """Add what other accumulators collected (the shares of other processes)."""
        for other in others:
            self._probs.extend(other._probs)
            self._part_files.extend(other._part_files)
            self.file_labels.update(other.file_labels)

    def __len__(self) -> int:
        return len(self.file_labels)

    def evaluate(self, class_names: list[str], rule: str) -> EvaluationResult:
        """Segment-level and voted file-level reports of everything collected."""
        return evaluate_parts(
            np.concatenate(self._probs),
            np.concatenate(self._part_files),
            class_names,
            file_labels=self.file_labels,
            rule=rule,
        )
