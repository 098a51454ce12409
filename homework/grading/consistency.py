"""Claims in an answer against what the run record measured: a cited accuracy or speed-up
that no measurement of this run supports is flagged (flags inform the grader; they do not
change the score)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from .numbers import numbers, show

PERCENT_TOLERANCE = 2.0  # percentage points
RATIO_TOLERANCE = 0.25  # relative


@dataclass(frozen=True)
class Measured:
    label: str
    value: float
    unit: str  # "%" or "x"


def measured_values(record: dict) -> Dict[int, List[Measured]]:
    """Per question (8-12), the record's numbers an answer may cite."""
    tasks = record.get("tasks", {})
    out: Dict[int, List[Measured]] = {}
    sweep = tasks.get("retrain_learning_rates")
    if sweep:
        rates = []
        for rate, m in sweep["details"]["rates"].items():
            rates += [Measured(f"test accuracy at learning rate {rate}", 100 * m["final_test_accuracy"], "%"),
                      Measured(f"validation accuracy at learning rate {rate}", 100 * m["final_validation_accuracy"], "%"),
                      Measured(f"train accuracy at learning rate {rate}", 100 * m["final_train_accuracy"], "%")]
        plateaus = {rate: m["steps_to_plateau"] for rate, m in sweep["details"]["rates"].items()}
        low, mid = plateaus.get("0.005"), plateaus.get("0.01")
        if low and mid:
            rates.append(Measured("steps to plateau at 0.005 / at 0.01", low / mid, "x"))
        out[8] = out[9] = rates
    own = tasks.get("retrain_own_images")
    if own:
        out[10] = [Measured(f"test accuracy with {row['images_per_class']} images per class", 100 * row["final_test_accuracy"], "%")
                   for row in own["details"]["rows"]]
    speed = _cpu_gpu_ratios(tasks.get("retrain_cpu_vs_gpu"))
    out[11] = speed
    inception = tasks.get("retrain_inception")
    out[12] = list(speed)
    if inception and sweep:
        mobilenet_rate = sweep["timings"]["bottleneck_images_per_s"]
        out[12].append(Measured("MobileNet / Inception v3 bottleneck throughput",
                                mobilenet_rate / inception["timings"]["bottleneck_images_per_s"], "x"))
    return out


def _cpu_gpu_ratios(task: Optional[dict]) -> List[Measured]:
    if not task or not task["metrics"].get("gpu_ran"):
        return []
    cpu, gpu = task["details"]["legs"]["cpu"], task["details"]["legs"]["gpu"]
    return [Measured(f"CPU / GPU time, {phase}", cpu[f"{phase}_s"] / gpu[f"{phase}_s"], "x")
            for phase in ("graph_load", "bottleneck", "training", "wall") if gpu.get(f"{phase}_s")]


def flags(question_id: int, answer: str, record: dict) -> List[str]:
    measured = measured_values(record).get(question_id)
    if measured is None:
        return []
    found = []
    cited = numbers(answer)
    for unit, tolerance_ok, name in (("%", lambda c, m: abs(c - m) <= PERCENT_TOLERANCE, "%"),
                                     ("x", lambda c, m: abs(c - m) <= RATIO_TOLERANCE * m, "x")):
        options = [m for m in measured if m.unit == unit]
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
