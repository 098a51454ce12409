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
    workload: Dict[str, object] = None  # profile and the sizes that set how much work a timing is of

    def differs_from(self, other: "Run") -> List[str]:
        """The workload settings on which this run and `other` differ (ratios between them mislead)."""
        mine, theirs = self.workload or {}, other.workload or {}
        return [f"{key} {mine.get(key)} vs {theirs.get(key)}" for key in sorted(set(mine) | set(theirs)) if mine.get(key) != theirs.get(key)]


WORKLOAD_SETTINGS = ("training_steps", "transfer_image_size", "transfer_epochs", "mnist_epochs", "flowers_images_per_class",
                     "mnist_train_limit", "architecture", "flowers_dir", "mnist_path", "hub_module")


def from_record(doc: dict, source: str) -> Run:
    values = {}
    for task, entry in sorted(doc["tasks"].items()):
        for key, value in sorted(entry["timings"].items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values[f"{task}: {key}"] = float(value)
    prov = doc["provenance"]
    workload = {"profile": prov["profile"], **{k: prov["settings"].get(k) for k in WORKLOAD_SETTINGS if k in prov["settings"]}}
    return Run(doc["device_label"], source, "record", values, _machine(prov["device"], prov["profile"], prov["versions"]), workload)


def from_benchmark(doc: dict, source: str) -> Run:
    info = doc.get("machine_info", {})
    hw5 = info.get("hw5", {})
    label = hw5.get("device_label") or info.get("node") or Path(source).stem
    values = {f"{_group(b)}: {b['name']}": float(b["stats"]["mean"]) for b in doc["benchmarks"]}
    versions = hw5.get("versions", {})
    sizes = {f"{_group(b)}: {b['name']} images": (b.get("extra_info") or {}).get("images") for b in doc["benchmarks"]}
    workload = {"profile": hw5.get("profile", "unknown"), **{k: v for k, v in sizes.items() if v is not None}}
    return Run(label, source, "benchmark", values, _machine(hw5.get("device", {}), hw5.get("profile", "unknown"), versions), workload)


def _group(bench: dict) -> str:
    """The task a benchmark times: its checks file without test_ (checks/test_mnist.py -> mnist)."""
    module = Path(str(bench.get("fullname", "")).split("::")[0]).stem
    return module[len("test_"):] if module.startswith("test_") else (module or "benchmarks")


def _machine(device: dict, profile: str, versions: Optional[dict] = None) -> str:
    cpu = device.get("cpu", {})
    gpu = device.get("gpu", "unavailable")
    gpu_text = gpu if isinstance(gpu, str) else ", ".join(g.get("name", "?") for g in gpu)
    jetson = device.get("jetson")
    parts = [jetson if jetson and jetson != "none" else f"{cpu.get('model', 'CPU')} {cpu.get('cores', '?')} cores",
             f"GPU: {gpu_text}"]
    if jetson and jetson != "none":
        parts.append(f"power mode {device.get('power_mode', 'unavailable')}, clocks {device.get('clocks', 'unavailable')}")
    parts.append(f"TensorFlow {(versions or {}).get('tensorflow', 'unavailable')}")
    parts.append(f"profile {profile}")
    return "; ".join(parts)


def load(path) -> Run:
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise HomeworkError(f"{path}: not found") from None
    except OSError as exc:
        raise HomeworkError(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        raise HomeworkError(f"{path}: not valid JSON ({exc})") from exc
    if isinstance(doc, dict) and "benchmarks" in doc:
        if not isinstance(doc["benchmarks"], list) or not all("name" in b and "stats" in b for b in doc["benchmarks"]):
            raise HomeworkError(f"{path}: 'benchmarks' entries need 'name' and 'stats' (a pytest-benchmark --benchmark-save file?)")
        return from_benchmark(doc, str(path))
    return from_record(run_record.from_doc(doc, str(path)), str(path))


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


@dataclass(frozen=True)
class Table:
    """One task's rows, formatted: metric name, then a cell per run, then a ratio per run other than the baseline."""
    task: str
    header: List[str]
    rows: List[List[str]]


def mixed_workloads(runs: Sequence[Run], baseline: int = 0) -> Dict[int, List[str]]:
    """Runs whose workload differs from the baseline's (index -> the differences)."""
    return {i: run.differs_from(runs[baseline]) for i, run in enumerate(runs) if i != baseline and run.differs_from(runs[baseline])}


def tables(runs: Sequence[Run], baseline: int = 0, mixed: bool = False) -> List[Table]:
    """Times in seconds (lower is faster), *_per_s are rates (higher is faster); one table per task.
    Ratios between runs of different workloads (profile, sizes) are refused unless `mixed`, and then marked."""
    differ = mixed_workloads(runs, baseline)
    if differ and not mixed:
        i, what = next(iter(differ.items()))
        raise HomeworkError(f"{runs[i].source}: another workload than {runs[baseline].source} ({'; '.join(what[:3])}): "
                            "ratios between them would mislead; pass --mixed to show them, marked")
    base = runs[baseline].label
    others = [i for i in range(len(runs)) if i != baseline]
    header = ["metric"] + [r.label for r in runs] + [f"{runs[i].label} / {base}" + (" (different workload)" if i in differ else "")
                                                     for i in others]
    grouped: Dict[str, List[List[str]]] = {}
    for row in rows(runs, baseline):
        group, _, name = row.metric.partition(": ")
        grouped.setdefault(group, []).append([name] + [_fmt(v) for v in row.values] + [_ratio(row.ratios[i]) for i in others])
    return [Table(group, header, lines) for group, lines in grouped.items()]


def markdown(runs: Sequence[Run], baseline: int = 0, mixed: bool = False) -> str:
    """One Markdown table per task (see tables)."""
    blocks = []
    for table in tables(runs, baseline, mixed):
        sep = "|---" + "|---:" * (len(table.header) - 1) + "|"
        lines = [f"#### {table.task}", "", "| " + " | ".join(table.header) + " |", sep]
        blocks.append("\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in table.rows]))
    return "\n\n".join(blocks)


def _fmt(value: Optional[float]) -> str:
    if value is None:
        return "—"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"


def _ratio(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.2f}x"
