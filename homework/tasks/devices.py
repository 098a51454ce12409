"""CPU vs GPU (questions 11 and 12): the same retrain in two subprocesses, one with the GPU
hidden (CUDA_VISIBLE_DEVICES=-1) and one with it visible, each with an empty bottleneck
folder so both the bottleneck pass and the training are timed. With no GPU anywhere the GPU
leg is skipped and says why; it is never estimated. A GPU the driver sees but TensorFlow does
not (the usual broken CUDA set-up on a Jetson) is an error naming the cause."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

from ..data import trees
from ..errors import HomeworkError
from ..settings import Settings, write_handoff
from .result import TaskResult

PHASES = ("graph_load_s", "bottleneck_s", "training_s")
TF_LOG_HINTS = ("cuda", "gpu", "dlopen", "libcu", "libnv", "driver", "cannot", "could not")


class GpuNotVisibleError(HomeworkError):
    """The driver shows a GPU, TensorFlow does not: the GPU leg cannot be measured."""


def gpu_leg_plan(tf_gpus: int, driver: List[str], tf_log: str, cuda_build: bool) -> Tuple[str, str]:
    """("run", ""), ("skip", reason) or ("fail", reason) for the GPU leg; one line each."""
    if tf_gpus:
        return "run", ""
    if not driver:
        return "skip", ("no GPU on this machine (no nvidia-smi, tegrastats, /dev/nvhost-* or /proc/driver/nvidia, "
                        "and TensorFlow lists none): GPU leg not run")
    said = [" ".join(line.split()) for line in tf_log.splitlines() if any(h in line.lower() for h in TF_LOG_HINTS)]
    cause = "; ".join(said)[:600] if said else "it printed nothing about it"
    build = "" if cuda_build else "this TensorFlow build has no CUDA support (install NVIDIA's TensorFlow for the device); "
    return "fail", (f"GPU visible to the driver ({'; '.join(driver)}) but not to TensorFlow: {build}"
                    f"TensorFlow said: {cause}")


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
            "--report_json", str(report), "--settings-json", str(work / "settings.json"),
        ]
        write_handoff(work / "settings.json", settings, {}, "cpu-vs-gpu-leg")  # the very settings of this run
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


def plan_here() -> Tuple[str, str]:
    from .. import device
    from ..compat import NATIVE_LOG, gpus, tf

    return gpu_leg_plan(len(gpus), device.driver_gpu_evidence(), NATIVE_LOG, bool(tf.test.is_built_with_cuda()))


def cpu_vs_gpu(settings: Settings, architecture: str = "") -> TaskResult:
    plan, reason = plan_here()
    if plan == "fail":
        raise GpuNotVisibleError(reason)
    architecture = architecture or settings.architecture
    source = trees.flowers(settings)
    legs = {"cpu": _leg(settings, architecture, source.root, hide_gpu=True)}
    if plan == "run":
        legs["gpu"] = _leg(settings, architecture, source.root, hide_gpu=False)
    else:
        legs["gpu"] = {"skipped": reason}
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
