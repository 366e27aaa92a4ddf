"""Figures (matplotlib with the Agg backend; install the ``plots`` extra)."""

from .spectrogram import save_spectrogram

__all__ = ["save_spectrogram"]
