"""Lightning's own loggers, which ``adaspec -q`` quiets as well as adaspec's (kept free of heavy imports:
the command line reads this before it imports Lightning)."""

from __future__ import annotations

#: Lightning's top loggers; importing Lightning sets each to INFO with a handler of its own.
LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")
