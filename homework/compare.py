"""Side by side across devices: run records or saved pytest-benchmark files, one column per
device, ratios to a chosen baseline device."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from . import record as run_record
from .errors import HomeworkError


@dataclass(frozen=True)
class Run:
    label: str
    source: str
    kind: str  # "record" or "benchmark"
    values: Dict[str, float]  # metric -> seconds (or images/s for *_per_s)
    machine: str


def from_record(doc: dict, source: str) -> Run:
    values = {}
    for task, entry in sorted(doc["tasks"].items()):
        for key, value in sorted(entry["timings"].items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values[f"{task}: {key}"] = float(value)
    device = doc["provenance"]["device"]
    return Run(doc["device_label"], source, "record", values, _machine(device, doc["provenance"]["profile"]))


def from_benchmark(doc: dict, source: str) -> Run:
    info = doc.get("machine_info", {})
    hw5 = info.get("hw5", {})
    label = hw5.get("device_label") or info.get("node") or Path(source).stem
    values = {b["name"]: float(b["stats"]["mean"]) for b in doc["benchmarks"]}
    return Run(label, source, "benchmark", values, _machine(hw5.get("device", {}), hw5.get("profile", "unknown")))


def _machine(device: dict, profile: str) -> str:
    cpu = device.get("cpu", {})
    gpu = device.get("gpu", "unavailable")
    gpu_text = gpu if isinstance(gpu, str) else ", ".join(g.get("name", "?") for g in gpu)
    jetson = device.get("jetson")
    parts = [jetson if jetson and jetson != "none" else f"{cpu.get('model', 'CPU')} {cpu.get('cores', '?')} cores",
             f"GPU: {gpu_text}", f"profile {profile}"]
    return "; ".join(parts)


def load(path) -> Run:
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise HomeworkError(f"{path}: not found") from None
    except ValueError as exc:
        raise HomeworkError(f"{path}: not valid JSON ({exc})") from exc
    if isinstance(doc, dict) and "benchmarks" in doc:
        if not isinstance(doc["benchmarks"], list) or not all("name" in b and "stats" in b for b in doc["benchmarks"]):
            raise HomeworkError(f"{path}: 'benchmarks' entries need 'name' and 'stats' (a pytest-benchmark --benchmark-save file?)")
        return from_benchmark(doc, str(path))
    return from_record(run_record.validate(doc, str(path)), str(path))


@dataclass(frozen=True)
class Row:
    metric: str
    values: List[Optional[float]]
    ratios: List[Optional[float]]  # value / baseline value


def rows(runs: Sequence[Run], baseline: int = 0) -> List[Row]:
    metrics = sorted({m for run in runs for m in run.values})
    out = []
    for metric in metrics:
        values = [run.values.get(metric) for run in runs]
        base = values[baseline]
        ratios = [v / base if v is not None and base else None for v in values]
        out.append(Row(metric, values, ratios))
    return out


def baseline_index(runs: Sequence[Run], label: Optional[str]) -> int:
    if label is None:
        return 0
    for i, run in enumerate(runs):
        if run.label == label:
            return i
    raise HomeworkError(f"--baseline {label}: no such device among {', '.join(r.label for r in runs)}")


def markdown(runs: Sequence[Run], baseline: int = 0) -> str:
    """The comparison as a Markdown table; times in seconds (lower is faster), *_per_s are rates (higher is faster)."""
    base = runs[baseline].label
    head = "| metric | " + " | ".join(r.label for r in runs) + " | " + " | ".join(f"{r.label} / {base}" for i, r in enumerate(runs) if i != baseline) + " |"
    sep = "|---" * (1 + len(runs) + len(runs) - 1) + "|"
    lines = [head, sep]
    for row in rows(runs, baseline):
        cells = [_fmt(v) for v in row.values] + [_ratio(r) for i, r in enumerate(row.ratios) if i != baseline]
        lines.append(f"| {row.metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: Optional[float]) -> str:
    if value is None:
        return "—"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"


def _ratio(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.2f}x"
