"""The report's figures as PNG with fixed metadata (same record, same bytes): files beside
report.md, inline in report.html."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

from . import files

_PNG_METADATA = {"Software": None}  # no matplotlib version stamp: bytes depend on the data only


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "hw5", "font.size": 9})
    return plt


def png(fig, dpi: int = 100) -> bytes:
    """Lay out, encode and close the figure."""
    import io

    import matplotlib.pyplot as plt

    try:
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata=_PNG_METADATA)
        return buffer.getvalue()
    finally:
        plt.close(fig)


def save(fig, path: Path) -> Path:
    """Lay out, write atomically and close the figure."""
    files.write_bytes(path, png(fig))
    return path


def _stand_in(task: dict) -> str:
    return " (stand-in data/module)" if task["stand_in"] else ""


def learning_rate_curves(task: dict):
    plt = pyplot()
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(9, 3.4))
    for run in task["details"]["runs"]:
        rate = run["provenance"]["learning_rate"]
        curves = run["details"]["curves"]
        acc.plot(curves["step"], curves["validation_accuracy"], label=f"lr {rate:g}")
        loss.plot(curves["step"], curves["cross_entropy"], label=f"lr {rate:g}")
    acc.set(xlabel="step", ylabel="validation accuracy", title="Validation accuracy" + _stand_in(task))
    loss.set(xlabel="step", ylabel="cross-entropy", yscale="log", title="Training cross-entropy")
    acc.legend()
    return fig


def transfer_curves(task: dict):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name in ("frozen", "fine_tuned"):
        history = task["details"][name]["history"]
        epochs = list(range(1, len(history["val_accuracy"]) + 1))
        ax.plot(epochs, history["val_accuracy"], marker="o", label=f"{name.replace('_', '-')} (validation)")
        ax.plot(epochs, history["accuracy"], linestyle="--", label=f"{name.replace('_', '-')} (train)")
    ax.set(xlabel="epoch", ylabel="accuracy", title="Frozen vs fine-tuned" + _stand_in(task))
    ax.legend()
    return fig


def cpu_gpu_bars(task: dict):
    plt = pyplot()
    phases = ("graph_load", "bottleneck", "training")
    fig, ax = plt.subplots(figsize=(5, 3.4))
    width = 0.38
    for offset, leg in ((-width / 2, "cpu"), (width / 2, "gpu")):
        data = task["details"]["legs"].get(leg, {})
        values = [data.get(f"{p}_s", 0.0) for p in phases]
        bars = ax.bar([i + offset for i in range(len(phases))], values, width, label=leg.upper())
        if "skipped" in data:
            for bar in bars:
                ax.annotate("skipped", (bar.get_x() + bar.get_width() / 2, 0), ha="center", va="bottom", rotation=90)
    ax.set_xticks(range(len(phases)), [p.replace("_", " ") for p in phases])
    ax.set(ylabel="seconds", title="CPU vs GPU by phase" + _stand_in(task))
    ax.legend()
    return fig


PLOTS = {
    "learning_rates": ("retrain_learning_rates", learning_rate_curves),
    "transfer": ("transfer", transfer_curves),
    "cpu_gpu": ("retrain_cpu_vs_gpu", cpu_gpu_bars),
}


def draw_all(record: dict, dpi: int = 100) -> Dict[str, bytes]:
    """Every plot whose task is in the record; name -> PNG bytes. A task entry that cannot be drawn
    (hand-edited, from an older harness) is one line naming it, never a traceback."""
    drawn = {}
    for name, (task, draw) in PLOTS.items():
        if task not in record["tasks"]:
            continue
        try:
            drawn[name] = png(draw(record["tasks"][task]), dpi)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, ZeroDivisionError) as exc:
            from .errors import HomeworkError

            raise HomeworkError(f"record {record.get('device_label', '?')}: tasks.{task} cannot be plotted "
                                f"({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from None
    return drawn


def make_all(record: dict, folder: Path) -> Dict[str, Path]:
    """Every plot whose task is in the record, written atomically into `folder`; name -> path."""
    made = {}
    for name, data in draw_all(record).items():
        made[name] = Path(folder) / f"{name}.png"
        files.write_bytes(made[name], data)
    return made
