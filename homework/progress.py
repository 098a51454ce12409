"""A one-line progress display: done/total, rate and time left, overwriting itself on stderr.

Shown only when stdout is a terminal, so CI logs and captured output stay short. Used by
the bottleneck pass (images), the transfer-learning epochs (images, through
tasks.common.TrainingProgress) and class grading (submissions). Importing this module does
not import TensorFlow.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Optional


def on_terminal() -> bool:
    """Whether progress is shown by default: stdout is a terminal (not a pipe, file or capture)."""
    return sys.stdout.isatty()


class Progress:
    """One self-overwriting line on stderr (done/total, rate, time left), only when stdout
    is a terminal: CI logs and captured output stay short."""

    def __init__(self, what: str, total: int, stream=None, enabled: Optional[bool] = None, every_s: float = 0.5,
                 unit: str = "images", rate_unit: Optional[str] = None):
        self.what, self.total, self.every_s = what, total, every_s
        self.unit = unit
        self.rate_unit = rate_unit or ("img/s" if unit == "images" else f"{unit}/s")
        self.stream = stream or sys.stderr
        self.enabled = on_terminal() if enabled is None else enabled
        self.done, self.started, self.shown = 0, time.perf_counter(), float("-inf")
        self._open = False  # a line is on screen and not yet ended

    def advance(self, count: int) -> None:
        self.done += count
        now = time.perf_counter()
        if self.enabled and (now - self.shown >= self.every_s or self.done >= self.total):
            self.shown = now
            self.stream.write("\r" + self.line(now - self.started))
            self.stream.flush()
            self._open = True

    def advance_to(self, done: int) -> None:
        """Advance to an absolute count (never backwards)."""
        if done > self.done:
            self.advance(done - self.done)

    def line(self, elapsed: float) -> str:
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate else float("nan")
        left_text = f"{left:.0f} s left" if math.isfinite(left) else "time left unknown"
        return f"{self.what}: {self.done}/{self.total} {self.unit}, {rate:.1f} {self.rate_unit}, {left_text}   "

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
