"""The statistics the tasks record and the verdicts recompute: standard errors of accuracies,
paired differences, "above chance", and the compact per-image record of right and wrong.
NumPy only: the verdicts that use it run where TensorFlow is not installed (Gradescope)."""
from __future__ import annotations

import math
from typing import List, Sequence

import numpy as np

ABOVE_CHANCE_SE = 4.0  # "it learned": this many standard errors (at chance) above chance


def spread(values) -> float:
    """Sample standard deviation (0 for a single value)."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def above_chance_floor(classes: int, n: int, k: float = ABOVE_CHANCE_SE) -> float:
    """The accuracy on n test images that a classifier guessing among `classes` reaches with
    probability well under 1e-4: chance plus k binomial standard errors at chance."""
    chance = 1.0 / classes
    return chance + k * binomial_se(chance, n)


def binomial_se(accuracy: float, n: int) -> float:
    """Standard error of an accuracy measured on n independent test images."""
    return math.sqrt(max(accuracy * (1 - accuracy), 0.0) / n) if n else float("inf")


def paired_se(a_correct: Sequence[float], b_correct: Sequence[float]) -> float:
    """Standard error of mean(b) - mean(a) when both were scored on the same images
    (per-image differences; tighter than two independent binomial errors)."""
    diff = np.asarray(b_correct, np.float64) - np.asarray(a_correct, np.float64)
    return float(np.std(diff, ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else float("inf")


def seed_se(differences: Sequence[float]) -> float:
    """Standard error of the mean of per-seed paired differences."""
    return spread(differences) / math.sqrt(len(differences)) if len(differences) > 1 else float("inf")


def pack_correct(correct: Sequence[bool]) -> str:
    """Right (1) or wrong (0) per test image, in test-set order, as hex of the packed bits:
    10,000 images in 2,500 characters, so a record can carry every seed of every model."""
    return np.packbits(np.asarray(correct, bool)).tobytes().hex()


def unpack_correct(packed: str, count: int) -> List[int]:
    """The inverse of pack_correct; ValueError when `packed` cannot hold exactly `count` images."""
    raw = bytes.fromhex(packed)
    if len(raw) != (count + 7) // 8:
        raise ValueError(f"{len(raw) * 8} bits packed for {count} test images")
    bits = np.unpackbits(np.frombuffer(raw, np.uint8))
    if bits[count:].any():
        raise ValueError(f"bits set past the {count} test images")
    return bits[:count].astype(int).tolist()
