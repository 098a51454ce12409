"""CPU vs GPU (questions 11 and 12): the same retrain in two subprocesses, one with the GPU
hidden (CUDA_VISIBLE_DEVICES=-1) and one with it visible, each with an empty bottleneck
folder so both the bottleneck pass and the training are timed. With no GPU the GPU leg is
skipped and says why; it is never estimated."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..data import trees
from ..errors import HomeworkError
from ..settings import Settings
from .result import TaskResult

PHASES = ("graph_load_s", "bottleneck_s", "training_s")


def _leg(settings: Settings, architecture: str, image_dir: Path, hide_gpu: bool) -> dict:
    from ..compat import env_without_gpu

    with tempfile.TemporaryDirectory(prefix="hw5-leg-") as work:
        work = Path(work)
        report = work / "report.json"
        command = [
            sys.executable, "-m", "homework.cli", "retrain",
            "--image_dir", str(image_dir), "--architecture", architecture,
            "--how_many_training_steps", str(settings.training_steps),
            "--bottleneck_dir", str(work / "bottlenecks"), "--output_graph", str(work / "g.pb"),
            "--output_labels", str(work / "l.txt"), "--summaries_dir", str(work / "logs"),
            "--report_json", str(report), "--profile", settings.profile, "--cache-dir", str(settings.cache_dir),
            "--seed", str(settings.seed),
        ]
        if settings.hub_module:
            command += ["--hub-module", settings.hub_module]
        started = time.perf_counter()
        done = subprocess.run(command, env=env_without_gpu() if hide_gpu else None, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise HomeworkError(f"retrain subprocess ({'CPU' if hide_gpu else 'GPU'} leg) failed: {last}")
        data = json.loads(report.read_text())
    timings = data["result"]["timings"]
    return {"gpus_visible": data["gpus_visible"], "wall_s": wall, "stand_in": data["result"]["stand_in"],
            **{k: timings[k] for k in PHASES}, "steps_per_s": timings["steps_per_s"]}


def cpu_vs_gpu(settings: Settings, architecture: str = "") -> TaskResult:
    from ..compat import gpus

    architecture = architecture or settings.architecture
    source = trees.flowers(settings)
    legs = {"cpu": _leg(settings, architecture, source.root, hide_gpu=True)}
    if gpus:
        legs["gpu"] = _leg(settings, architecture, source.root, hide_gpu=False)
    else:
        legs["gpu"] = {"skipped": "no GPU visible to TensorFlow (tf.config.list_physical_devices('GPU') is empty): GPU leg not run"}
    metrics = {"gpu_ran": "skipped" not in legs["gpu"], "cpu_leg_saw_gpus": legs["cpu"]["gpus_visible"]}
    if metrics["gpu_ran"]:
        for phase in PHASES[1:]:
            metrics[f"cpu_over_gpu_{phase[:-2]}"] = legs["cpu"][phase] / legs["gpu"][phase] if legs["gpu"][phase] else float("nan")
    return TaskResult.of(
        "retrain_cpu_vs_gpu",
        inputs=[source, *[{"stand_in": leg["stand_in"]} for leg in legs.values() if "stand_in" in leg]],
        provenance={"architecture": architecture, "data": source.identity, "steps": settings.training_steps, "hide_gpu": "CUDA_VISIBLE_DEVICES=-1"},
        metrics=metrics,
        timings={f"{leg}_{k}": v for leg, values in legs.items() for k, v in values.items() if k.endswith("_s")},
        details={"legs": legs},
    )
