"""What machine this is: CPU, GPU (or none), Jetson model, and a short label for it.
Whatever cannot be read is reported as unavailable, never guessed."""
from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, List, Optional

UNAVAILABLE = "unavailable"


def driver_gpu_evidence(root: str = "/", run: Optional[Callable] = None, which: Optional[Callable] = None) -> List[str]:
    """What says the machine has an NVIDIA GPU, whatever TensorFlow sees: nvidia-smi, tegrastats,
    the Tegra GPU device nodes, the desktop driver's /proc entry. Empty on a machine without one.
    `root`, `run` and `which` stand in for the machine in hw5 doctor's tests."""
    run, which = run or _run, which or shutil.which
    found = []
    smi = run(["nvidia-smi", "-L"])
    if smi:
        found.append(f"nvidia-smi lists {smi.splitlines()[0].strip()}")
    if which("tegrastats"):
        found.append(f"tegrastats at {which('tegrastats')}")
    nodes = sorted(glob.glob(os.path.join(root, "dev/nvhost-*")))
    if nodes:
        found.append(f"{len(nodes)} /dev/nvhost-* device nodes")
    if glob.glob(os.path.join(root, "proc/driver/nvidia/gpus/*")):
        found.append("/proc/driver/nvidia/gpus")
    return found


def _read(path: str) -> Optional[str]:
    try:
        return Path(path).read_text(errors="replace").replace("\x00", "").strip() or None
    except OSError:
        return None


def _run(command: List[str], timeout: float = 5) -> Optional[str]:
    if not shutil.which(command[0]):
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for key in ("model name", "Model", "Hardware", "cpu model"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.processor() or platform.machine() or UNAVAILABLE


def jetson_model(root: str = "/") -> Optional[str]:
    model = _read(os.path.join(root, "proc/device-tree/model"))
    return model if model and "jetson" in model.lower() else None


def nvidia_smi_gpus() -> List[Dict[str, str]]:
    out = _run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"])
    gpus = []
    for line in (out or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "memory_mb": parts[1], "driver": parts[2]})
    return gpus


def jetson_power_mode() -> str:
    """nvpmodel's current mode, e.g. 'MAXN (0)'."""
    out = _run(["nvpmodel", "-q"])
    if not out:
        return UNAVAILABLE
    name = re.search(r"Power Mode:\s*(.+)", out)
    number = re.search(r"^\s*(\d+)\s*$", out, re.MULTILINE)
    return f"{name.group(1).strip() if name else out.splitlines()[0]}" + (f" ({number.group(1)})" if number else "")


def jetson_clocks() -> str:
    """Whether jetson_clocks pinned the clocks (its --show needs root; unreadable otherwise)."""
    out = _run(["jetson_clocks", "--show"])
    if not out:
        return UNAVAILABLE
    gpu = re.search(r"^GPU\s+MinFreq=(\d+)\s+MaxFreq=(\d+)\s+CurrentFreq=(\d+)", out, re.MULTILINE)
    if not gpu:
        return " ".join(out.split())[:200]
    low, high, now = map(int, gpu.groups())
    return f"{'pinned at maximum' if low == high == now else 'dynamic'} (GPU {now / 1e6:.0f} MHz of {high / 1e6:.0f})"


@lru_cache(maxsize=1)
def describe() -> dict:
    """The device block of the run record."""
    from .compat import gpus, tf

    jetson = jetson_model()
    smi = nvidia_smi_gpus()
    gpu_list = []
    for index, gpu in enumerate(gpus):
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except Exception:
            details = {}
        info = smi[index] if index < len(smi) else {}
        gpu_list.append(
            {
                "name": info.get("name") or details.get("device_name") or jetson or UNAVAILABLE,
                "memory_mb": info.get("memory_mb", "shared with CPU" if jetson else UNAVAILABLE),
                "driver": info.get("driver", UNAVAILABLE),
                "compute_capability": ".".join(map(str, details["compute_capability"])) if details.get("compute_capability") else UNAVAILABLE,
            }
        )
    build = tf.sysconfig.get_build_info()
    return {
        "cpu": {"model": cpu_model(), "cores": os.cpu_count() or 0, "machine": platform.machine()},
        "gpu": gpu_list or "none",
        "jetson": jetson or "none",
        "l4t": (_read("/etc/nv_tegra_release") or "none").splitlines()[0],
        "power_mode": jetson_power_mode() if jetson else "none (not a Jetson)",
        "clocks": jetson_clocks() if jetson else "none (not a Jetson)",
        "cuda_build": str(build.get("cuda_version", "none")),
        "cudnn_build": str(build.get("cudnn_version", "none")),
    }


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def label_for(settings) -> str:
    """The device label a run goes by: the setting, or one read off the hardware."""
    return settings.device_label or default_label()


def default_label() -> str:
    """jetson-orin-nano, rtx-2080, cpu-epyc-2c ..."""
    jetson = jetson_model()
    if jetson:
        name = re.sub(r"\b(nvidia|developer kit|module|board)\b", " ", jetson.lower())
        return slug(name)
    gpus = nvidia_smi_gpus()
    if gpus:
        return slug(re.sub(r"\b(nvidia|geforce|tesla|quadro)\b", " ", gpus[0]["name"].lower()))
    model = cpu_model().lower()
    model = re.sub(r"\(r\)|\(tm\)|@.*$|\b(cpu|processor|amd|intel|\d+-core)\b", " ", model)
    words = [w for w in re.split(r"\s+", model) if w][:2]
    return slug("-".join(["cpu"] + words + [f"{os.cpu_count() or 0}c"]))
