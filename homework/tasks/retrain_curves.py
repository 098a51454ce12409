"""What the training curves show: when a run plateaued, and whether it was stable."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def steps_to_plateau(steps: Sequence[int], accuracy: Sequence[float], window: int = 5, tolerance: float = 0.01) -> int:
    """First evaluated step whose smoothed validation accuracy is within `tolerance` of the
    best smoothed value the run reached."""
    if not accuracy:
        return 0
    values = np.asarray(accuracy, np.float64)
    smooth = np.convolve(values, np.ones(window) / window, mode="valid") if len(values) >= window else values
    offset = len(values) - len(smooth)
    best = np.nanmax(smooth) if np.isfinite(smooth).any() else 0.0
    reached = np.flatnonzero(smooth >= best - tolerance)
    return int(steps[int(reached[0]) + offset]) if len(reached) else int(steps[-1])


def stability(cross_entropy: Sequence[float], accuracy: Sequence[float]) -> dict:
    """Evidence of divergence or oscillation. Diverged: the loss became NaN or ended above
    where it started. Oscillating: in the second half the training loss varies by more than
    half its mean (validation accuracy on small sampled batches is too noisy to judge by)."""
    loss = np.asarray(cross_entropy, np.float64)
    nan_loss = bool(np.isnan(loss).any())
    late = loss[len(loss) // 2 :]
    late_accuracy = np.asarray(accuracy[len(accuracy) // 2 :], np.float64)
    late_accuracy = late_accuracy[np.isfinite(late_accuracy)]  # NaN when there is no validation set
    variation = float(np.std(late) / np.mean(late)) if len(late) and not nan_loss and np.mean(late) > 0 else float("nan")
    return {
        "nan_loss": nan_loss,
        "diverged": bool(nan_loss or (len(loss) > 1 and loss[-1] > loss[0])),
        "loss_variation_second_half": variation,
        "oscillating": bool(nan_loss or variation > 0.5),
        "validation_swing_second_half": float(np.nanmax(late_accuracy) - np.nanmin(late_accuracy)) if len(late_accuracy) else 0.0,
    }
