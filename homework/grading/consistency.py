"""Claims in an answer against what the run record measured: a cited accuracy or speed-up
that no measurement of this run supports is flagged (flags inform the grader; they do not
change the score)."""
from __future__ import annotations

from typing import Dict, List, Optional

from . import measured
from .measured import Measured
from .numbers import numbers, show

PERCENT_TOLERANCE = 2.0  # percentage points
RATIO_TOLERANCE = 0.25  # relative


def flags(question_id: int, answer: str, record: dict, values: Optional[Dict[int, List[Measured]]] = None) -> List[str]:
    """`values`: measured.values(record), when the caller checks several answers against one record."""
    on_record = (values if values is not None else measured.values(record)).get(question_id)
    if on_record is None:
        return []
    found = []
    cited = numbers(answer)
    for unit, tolerance_ok, name in (("%", lambda c, m: abs(c - m) <= PERCENT_TOLERANCE, "%"),
                                     ("x", lambda c, m: abs(c - m) <= RATIO_TOLERANCE * m, "x")):
        options = [m for m in on_record if m.unit == unit]
        for claim in (n for n in cited if n.unit == unit):
            if any(tolerance_ok(claim.value, m.value) for m in options):
                continue
            if options:
                said = ", ".join(f"{show(round(m.value, 1))}{name} ({m.label})" for m in options[:4])
                found.append(f"claims {show(claim.value)}{name} but the record measured {said}")
            elif unit == "x" and question_id in (11, 12):
                found.append(f"claims a {show(claim.value)}x ratio but the record has no GPU leg to compare "
                             f"({_gpu_skip_reason(record)})")
    return list(dict.fromkeys(found))


def _gpu_skip_reason(record: dict) -> str:
    task = record.get("tasks", {}).get("retrain_cpu_vs_gpu")
    if not task:
        return "the CPU vs GPU check did not run"
    return task["details"]["legs"].get("gpu", {}).get("skipped", "GPU leg missing")
