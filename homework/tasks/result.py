"""The one result type every task returns, and the one rule for the stand-in flag.

The record, the report, the grader and `hw5 compare` read this shape alone:
common keys (metrics, timings, provenance) plus `details`, the task's own tables
(model summaries, sweeps, phases, curves, legs, per-rate runs, checks).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable


@dataclass(frozen=True)
class TaskResult:
    task: str
    stand_in: bool  # True when any input it read (data or module) was generated or a stand-in
    provenance: Dict[str, Any]
    metrics: Dict[str, Any]
    timings: Dict[str, Any]  # seconds (keys *_s) and rates (keys *_per_s)
    details: Dict[str, Any] = field(default_factory=dict)
    artifacts: Dict[str, str] = field(default_factory=dict)  # name -> path of a file the task wrote

    @classmethod
    def of(cls, task: str, inputs: Iterable[Any], **fields: Any) -> "TaskResult":
        """A result whose stand-in flag follows from the inputs it read: anything with a
        `stand_in` attribute or key (data sources, modules, extractors, other results)."""
        return cls(task=task, stand_in=uses_stand_in(inputs), **fields)


def uses_stand_in(inputs: Iterable[Any]) -> bool:
    flags = []
    for item in inputs:
        flag = item.get("stand_in") if isinstance(item, dict) else getattr(item, "stand_in", None)
        if flag is None:
            raise TypeError(f"{type(item).__name__} does not say whether it is a stand-in")
        flags.append(bool(flag))
    if not flags:
        raise ValueError("a task result needs the inputs it read to say whether it is a stand-in")
    return any(flags)
