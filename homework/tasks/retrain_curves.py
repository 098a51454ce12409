"""What the training curves show: when a run plateaued, whether it was stable, and the
homework's learning-rate facts (questions 8 and 9) read off the curves of a sweep.

The facts are read from curves measured on the whole validation set at every evaluation
(`validation_cross_entropy_full`, `validation_accuracy_full`), smoothed over several
evaluations, never from one point: the codelab's logged validation accuracy is on a
sampled batch and too noisy to judge by.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import numpy as np

WINDOW = 5  # evaluations in the moving average
PLATEAU_SHARE = 0.1  # a plateau is reached when 90% of the loss drop to the final level is made
SLOWER_MARGIN = 1.4  # "needs more steps": at least 1.4x the steps (plain gradient descent predicts 2x for half the rate)
BLOW_UP = 3.0  # "loss blew up": median late validation loss over 3x the reference rate's
SWING = 3.0  # "accuracy oscillates": mean distance from its own moving average over 3x the reference's, plus two images


def smooth(values: Sequence[float], window: int = WINDOW) -> np.ndarray:
    """Trailing moving average; shorter curves are returned as they are."""
    values = np.asarray(values, np.float64)
    if len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def _aligned_steps(steps: Sequence[int], smoothed: np.ndarray) -> np.ndarray:
    return np.asarray(steps)[len(steps) - len(smoothed):]


def plateau_target(cross_entropy: Sequence[float]) -> float:
    """The validation loss a run counts as its plateau: its final smoothed level plus 10% of
    the drop it made from the start."""
    loss = smooth(cross_entropy)
    if not len(loss) or not np.isfinite(loss).all():
        return float("nan")
    start, final = float(loss[0]), float(loss[-1])
    return final + PLATEAU_SHARE * max(start - final, 0.0)


def steps_to_reach(steps: Sequence[int], cross_entropy: Sequence[float], target: float) -> Optional[int]:
    """First evaluated step whose smoothed validation loss is at or below `target`; None if never."""
    loss = smooth(cross_entropy)
    if not math.isfinite(target) or not len(loss):
        return None
    reached = np.flatnonzero(np.isfinite(loss) & (loss <= target))
    return int(_aligned_steps(steps, loss)[reached[0]]) if len(reached) else None


def steps_to_plateau(steps: Sequence[int], cross_entropy: Sequence[float]) -> Optional[int]:
    """Steps a run took to reach its own plateau (see plateau_target); None when its loss is not finite."""
    return steps_to_reach(steps, cross_entropy, plateau_target(cross_entropy))


def stability(cross_entropy: Sequence[float], accuracy: Sequence[float]) -> dict:
    """One run's evidence of divergence or oscillation, on its own. Diverged: the loss became
    NaN or its smoothed value ended above where it started. Oscillating: in the second half the
    training loss varies by more than half its mean."""
    loss = np.asarray(cross_entropy, np.float64)
    nan_loss = bool(np.isnan(loss).any())
    smoothed = smooth(loss)
    late = loss[len(loss) // 2:]
    late_accuracy = np.asarray(accuracy[len(accuracy) // 2:], np.float64)
    late_accuracy = late_accuracy[np.isfinite(late_accuracy)]  # NaN when there is no validation set
    variation = float(np.std(late) / np.mean(late)) if len(late) and not nan_loss and np.mean(late) > 0 else float("nan")
    return {
        "nan_loss": nan_loss,
        "diverged": bool(nan_loss or (len(smoothed) > 1 and smoothed[-1] > smoothed[0])),
        "loss_variation_second_half": variation,
        "oscillating": bool(nan_loss or variation > 0.5),
        "validation_swing_second_half": float(np.nanmax(late_accuracy) - np.nanmin(late_accuracy)) if len(late_accuracy) else 0.0,
    }


def _late(values: Sequence[float]) -> np.ndarray:
    values = np.asarray(values, np.float64)
    return values[len(values) // 2:]


def accuracy_swing(accuracy: Sequence[float]) -> float:
    """Mean distance of validation accuracy from its centred moving average, second half: the
    back-and-forth, not the progress (a curve still rising steadily scores near zero)."""
    late = _late(accuracy)
    if len(late) < WINDOW:
        return float("nan")
    trend = np.convolve(late, np.ones(WINDOW) / WINDOW, mode="valid")
    edge = WINDOW // 2
    return float(np.mean(np.abs(late[edge:len(late) - edge] - trend)))


def learning_rate_facts(curves: Dict[str, dict], low: str = "0.005", reference: str = "0.01", high: str = "1",
                        validation_images: int = 0) -> dict:
    """The homework's learning-rate facts from a sweep's curves (rate label -> curves):
    `low` needs more steps than `reference` to reach the reference's plateau, and `high` shows
    instability in the recorded curves (NaN or rising loss, a loss blown up against the
    reference's, or a validation accuracy that swings about its own trend over 3x as much as
    the reference's plus two images). Each fact comes with the numbers it was read from."""
    facts: dict = {"reference_rate": reference}
    ref = curves.get(reference)
    if ref is None:
        return facts
    target = plateau_target(ref["validation_cross_entropy_full"])
    reach = {rate: steps_to_reach(c["step"], c["validation_cross_entropy_full"], target) for rate, c in curves.items()}
    facts["plateau_target_cross_entropy"] = target
    facts["steps_to_reference_plateau"] = reach
    total = int(ref["step"][-1]) + 1 if len(ref["step"]) else 0
    if low in curves and reach[reference]:
        low_steps = reach[low] if reach[low] is not None else float("inf")  # never within the run: more steps than it had
        facts["slower_ratio"] = low_steps / reach[reference] if math.isfinite(low_steps) else None
        facts["slower"] = bool(low_steps >= SLOWER_MARGIN * reach[reference])
        facts["slower_note"] = (f"{low} reached the {reference} plateau after {reach[low]} steps, {reference} after {reach[reference]}"
                                if reach[low] is not None else f"{low} did not reach the {reference} plateau in {total} steps; {reference} after {reach[reference]}")
    if high in curves:
        h = curves[high]
        loss, ref_loss = h["validation_cross_entropy_full"], ref["validation_cross_entropy_full"]
        smoothed = smooth(loss)
        nan_loss = bool(np.isnan(np.asarray(loss, np.float64)).any())
        two_images = 2.0 / validation_images if validation_images else 0.0
        late, ref_late = _late(loss), _late(ref_loss)
        blow_up = float(np.median(late) / np.median(ref_late)) if not nan_loss and np.median(ref_late) > 0 else float("inf")
        swing, ref_swing = accuracy_swing(h["validation_accuracy_full"]), accuracy_swing(ref["validation_accuracy_full"])
        evidence = {
            "nan_loss": nan_loss,
            "loss_rose": bool(nan_loss or (len(smoothed) > 1 and smoothed[-1] > smoothed[0])),
            "loss_blew_up": bool(nan_loss or blow_up > BLOW_UP),
            "accuracy_oscillates": bool(math.isfinite(swing) and swing > SWING * ref_swing + two_images),
        }
        facts["unstable_evidence"] = evidence
        facts["unstable"] = any(evidence.values())
        facts["late_loss_ratio"] = blow_up
        facts["accuracy_swing"] = {high: swing, reference: ref_swing}
    return facts
