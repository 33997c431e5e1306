"""The decision rule, in one place: a character is predicted alive (1) when P(alive) reaches
the model's threshold, dead (0) otherwise."""

from __future__ import annotations

from typing import Any

import numpy as np


def alive_labels(probability: Any, threshold: float) -> np.ndarray:
    """1 where ``probability >= threshold``, else 0 (int64), for any array-like."""
    return (np.asarray(probability, dtype=float) >= threshold).astype("int64")
