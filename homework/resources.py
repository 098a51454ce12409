"""Resource use while a check runs: process-tree RSS everywhere, tegrastats on a Jetson (GPU
load GR3D_FREQ, RAM, power rails), nvidia-smi on a PC. Summarised for the run record;
a source that is not there is named as unavailable. And release_memory, which hands freed heap
back to the system between heavy steps."""
from __future__ import annotations

import gc
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

INTERVAL_S = 0.5
_TEGRA_RAM = re.compile(r"\bRAM (\d+)/(\d+)MB")
_TEGRA_GPU = re.compile(r"\bGR3D_FREQ (\d+)%")
_TEGRA_POWER = re.compile(r"\b(VDD_IN|POM_5V_IN|VDD_CPU_GPU_CV|VDD_GPU_SOC|POM_5V_GPU|VDD_GPU)\s+(\d+)(?:mW)?/(\d+)")


def parse_tegrastats(line: str) -> Dict[str, float]:
    """One tegrastats line -> ram_used_mb, gpu_load_pct and <rail>_mw (current, not average)."""
    sample: Dict[str, float] = {}
    ram = _TEGRA_RAM.search(line)
    if ram:
        sample["ram_used_mb"] = float(ram.group(1))
    gpu = _TEGRA_GPU.search(line)
    if gpu:
        sample["gpu_load_pct"] = float(gpu.group(1))
    for rail, now, _avg in _TEGRA_POWER.findall(line):
        sample[f"{rail.lower()}_mw"] = float(now)
    return sample


def parse_nvidia_smi(line: str) -> Dict[str, float]:
    """'util, memory.used, power.draw' (csv, no units) -> gpu_load_pct, gpu_memory_mb, gpu_power_w."""
    parts = [p.strip() for p in line.split(",")]
    sample = {}
    for key, text in zip(("gpu_load_pct", "gpu_memory_mb", "gpu_power_w"), parts):
        try:
            sample[key] = float(text)
        except ValueError:
            pass  # "[N/A]" on GPUs that do not report it
    return sample


COMMANDS = {
    "tegrastats": (["tegrastats", "--interval", str(int(INTERVAL_S * 1000))], parse_tegrastats),
    "nvidia-smi": (["nvidia-smi", "--query-gpu=utilization.gpu,memory.used,power.draw", "--format=csv,noheader,nounits",
                    f"--loop-ms={int(INTERVAL_S * 1000)}"], parse_nvidia_smi),
}


@dataclass
class Sampler:
    """with Sampler() as s: ...; s.summary() -> {"seconds", "samples", "<metric>_mean/_max", "sources", "unavailable"}
    RSS is the watched process's (pid, default this one) with all its descendants (rss_mb), and
    the largest single process among them (rss_largest_mb): TensorFlow children count. On Linux the
    tree's proportional set size too (pss_mb): shared pages counted once, not once per process."""

    pid: Optional[int] = None
    samples: List[Dict[str, float]] = field(default_factory=list)
    sources: List[str] = field(default_factory=list)
    unavailable: Dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: List[threading.Thread] = field(default_factory=list)
    _procs: List[subprocess.Popen] = field(default_factory=list)
    _started: float = 0.0
    _ended: Optional[float] = None

    def __enter__(self) -> "Sampler":
        self._started = time.perf_counter()
        try:
            import psutil

            process = psutil.Process(self.pid)
            self.sources.append("process-tree RSS (psutil)")
            self._thread(lambda: self._poll_rss(process))
        except ImportError:
            self.unavailable["rss"] = "psutil not installed"
        for name, (command, parse) in COMMANDS.items():
            if not shutil.which(command[0]):
                self.unavailable[name] = f"{name} not found"
                continue
            try:
                proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            except OSError as exc:
                self.unavailable[name] = f"{name} failed to start ({exc.strerror})"
                continue
            self._procs.append(proc)
            self.sources.append(name)
            self._thread(lambda proc=proc, parse=parse: self._read_lines(proc, parse))
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for proc in self._procs:
            proc.terminate()
        for thread in self._threads:
            thread.join(timeout=2)
        for proc in self._procs:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._ended = time.perf_counter()

    def _thread(self, target) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _poll_rss(self, process) -> None:
        import psutil

        while True:
            sizes = []
            try:
                members = [process] + process.children(recursive=True)
            except psutil.Error:  # the watched process has ended
                members = []
            pss: List[Optional[float]] = []
            for member in members:
                try:
                    sizes.append(member.memory_info().rss / 2**20)
                except psutil.Error:
                    continue
                pss.append(proportional_mb(member.pid))
            if sizes:
                sample = {"rss_mb": sum(sizes), "rss_largest_mb": max(sizes)}
                if pss and None not in pss:
                    sample["pss_mb"] = sum(pss)
                self.samples.append(sample)
            if self._stop.wait(INTERVAL_S):
                return

    def _read_lines(self, proc: subprocess.Popen, parse) -> None:
        for line in proc.stdout:
            sample = parse(line)
            if sample:
                self.samples.append(sample)
            if self._stop.is_set():
                return

    def summary(self) -> dict:
        series: Dict[str, List[float]] = {}
        for sample in list(self.samples):
            for key, value in sample.items():
                series.setdefault(key, []).append(value)
        out: dict = {"seconds": round((self._ended or time.perf_counter()) - self._started, 2),
                     "samples": len(self.samples), "sources": list(self.sources), "unavailable": dict(self.unavailable)}
        for key, values in sorted(series.items()):
            out[f"{key}_mean"] = round(sum(values) / len(values), 1)
            out[f"{key}_max"] = round(max(values), 1)
        return out


def proportional_mb(pid: int) -> Optional[float]:
    """A process's proportional set size in MB (Linux): its private pages plus its share of pages it
    shares, such as TensorFlow's libraries mapped by a parent and its children. Summed over a process
    tree it is the tree's memory; summed RSS counts every shared page once per process. None where
    /proc/<pid>/smaps_rollup cannot be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def release_memory() -> None:
    """Hand freed heap back to the system (glibc keeps large freed blocks of a closed session's
    graph in its arenas): the checks run several extractors in one process on 4-8 GB boards."""
    import ctypes

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        pass


def in_child(function, *args, gpu_memory_mb: int = 0):
    """function(*args) in a fresh spawned process, its (picklable) result returned; what the work
    took (a module built, a frozen graph imported: hundreds of MB a process never hands back) goes
    back to the system when the child ends, so the long-lived process of a run of the checks stays
    small on a 4-8 GB board. `function` must be importable (a module's top-level function);
    the child sets up the GPU memory it is given before TensorFlow starts."""
    import multiprocessing

    if _IN_CHILD:  # already a child of in_child: a second process would only stack another TensorFlow on top
        return function(*args)
    release_memory()  # the parent waits beside the child: hand back what it freed first
    context = multiprocessing.get_context("spawn")  # a fork would inherit TensorFlow's threads and memory
    with context.Pool(1) as pool:
        return pool.apply(_child, (function, args, gpu_memory_mb))


_IN_CHILD = False


def _child(function, args, gpu_memory_mb: int):
    from . import compat

    global _IN_CHILD
    _IN_CHILD = True

    compat.request_gpu_memory(gpu_memory_mb)
    return function(*args)
