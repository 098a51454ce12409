"""`hw5 doctor`: what this machine is, what hw5 still needs on it, and for each missing or wrong
piece the command that fixes it for this JetPack (homework/platforms.py). It works without
TensorFlow: TensorFlow is probed in a child process, so a missing or broken install is reported,
never raised; it needs nothing beyond the standard library (python3 -m homework.doctor runs
before hw5 is installed). `require_tensorflow` serves the commands that need TensorFlow."""
from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from . import device, platforms
from .errors import HomeworkError

MIN_PIP = (21, 3)  # PEP 660: `pip install -e .` of a pyproject-only project; and a resolver that backtracks
LOW_MEMORY_MB = 2048  # the real profile's heaviest step peaks near 3 GB of process tree
LOW_DISK_MB = 2048  # flower_photos, TF Hub modules, frozen graphs and bottlenecks of the real profile
PROBLEMS = ("missing", "wrong", "unsupported")  # states that make hw5 doctor exit 1

# The child that imports TensorFlow and says, as JSON on its last line, what it found.
_PROBE = r"""
import json
found = {"importable": False}
try:
    import tensorflow as tf
except Exception as exc:
    found["error"] = (type(exc).__name__ + ": " + str(exc)).splitlines()[0]
else:
    version = getattr(tf.keras, "version", None)
    found.update(importable=True, version=tf.__version__, cuda_build=bool(tf.test.is_built_with_cuda()),
                 gpus=[d.name for d in tf.config.list_physical_devices("GPU")],
                 keras=str(version() if callable(version) else getattr(tf.keras, "__version__", "")))
print(json.dumps(found))
"""


@dataclass(frozen=True)
class TensorFlowProbe:
    installed: bool
    importable: bool = False
    version: str = ""
    cuda_build: bool = False
    gpus: Tuple[str, ...] = ()
    keras: str = ""  # the version of tf.keras
    error: str = ""  # why `import tensorflow` failed, one line

    @property
    def nvidia_build(self) -> bool:
        """NVIDIA's Jetson wheels carry a local version: 2.12.0+nv23.06."""
        return "+nv" in self.version


def importable(module: str) -> bool:
    """Whether `module` could be imported, without importing it (a finder that refuses counts as no)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def probe_tensorflow(timeout: float = 300) -> TensorFlowProbe:
    """TensorFlow as a child Python sees it (importing it can take a minute on a Jetson)."""
    if not importable("tensorflow"):
        return TensorFlowProbe(installed=False)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout, env=env)
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        return TensorFlowProbe(installed=True, error=f"import tensorflow took more than {timeout:.0f} s")
    except (OSError, ValueError, IndexError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return TensorFlowProbe(installed=True, error=f"the TensorFlow probe died: {last}")
    return TensorFlowProbe(installed=True, importable=found["importable"], version=found.get("version", ""),
                           cuda_build=found.get("cuda_build", False), gpus=tuple(found.get("gpus", ())),
                           keras=found.get("keras", ""), error=found.get("error", ""))


def installed_version(distribution: str) -> Optional[str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def disk_free_mb(path: Path) -> Optional[int]:
    for folder in (path, *path.parents):  # the cache folder may not exist yet
        if folder.exists():
            return shutil.disk_usage(folder).free // 2**20
    return None


def _default_cache_dir() -> Path:
    try:  # settings needs PyYAML, which a board without hw5's dependencies may lack
        from .settings import default_cache_dir
    except ImportError:
        return Path(os.environ.get("HW5_CACHE_DIR") or Path.home() / ".cache" / "hw5")
    return default_cache_dir()


@dataclass
class Host:
    """Where hw5 doctor reads the machine from; tests put a fake machine here."""
    root: Path = Path("/")
    machine: str = field(default_factory=platform.machine)
    python: str = field(default_factory=platform.python_version)
    run: Optional[Callable[[List[str]], Optional[str]]] = None  # None: device's runner
    which: Optional[Callable[[str], Optional[str]]] = None  # None: shutil.which
    probe_tensorflow: Callable[[], TensorFlowProbe] = probe_tensorflow
    installed: Callable[[str], Optional[str]] = installed_version
    disk_free_mb: Callable[[], Optional[int]] = lambda: disk_free_mb(_default_cache_dir())


@dataclass(frozen=True)
class Finding:
    item: str
    state: str  # ok | info | warn | missing | wrong | unsupported
    detail: str
    fix: str = ""  # the command that fixes it


def _memory_available_mb(root: Path) -> Optional[int]:
    text = device._read(str(root / "proc/meminfo")) or ""
    match = re.search(r"^MemAvailable:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) // 1024 if match else None


def _major_minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])


class _Machine:
    """What was read, and the install commands that fit it."""

    def __init__(self, host: Host):
        self.host = host
        self.model = device.jetson_model(str(host.root))
        self.l4t = platforms.parse_nv_tegra_release(device._read(str(host.root / "etc/nv_tegra_release")) or "")
        self.release = platforms.for_l4t(self.l4t) if self.l4t else None
        self.jetson = bool(self.model or self.l4t)
        self.gpu_evidence = device.driver_gpu_evidence(str(host.root), host.run, host.which)

    def install_tensorflow(self, replace: bool = False) -> str:
        """The command for this machine's TensorFlow ("" on a Jetson whose JetPack the table lacks:
        PyPI's build would be the wrong advice there)."""
        if self.release:
            command = platforms.pip_install_tensorflow(self.release)
            return f"python3 -m pip uninstall -y tensorflow && {command}" if replace else command
        if self.jetson:
            return ""
        if self.host.machine in ("aarch64", "arm64"):  # pyproject.toml leaves TensorFlow out on aarch64
            return "python3 -m pip install tensorflow tf-keras tensorflow-hub"
        gpu = self.gpu_evidence and sys.platform.startswith("linux")
        return "python3 -m pip install -e '.[gpu]'" if gpu else "python3 -m pip install -e ."

    def install_beside_tensorflow(self, package: str, version: str) -> str:
        """tf-keras / tensorflow-hub: on a Jetson without dependencies, so pip leaves NVIDIA's TensorFlow alone."""
        if self.release:
            return f"python3 -m pip install --no-deps '{package}{version}'"
        return f"python3 -m pip install '{package}{version}'"


def examine(host: Optional[Host] = None) -> List[Finding]:
    """Every finding about this machine, in the order a student fixes them."""
    host = host or Host()
    machine = _Machine(host)
    findings = [_machine_finding(machine)]
    if machine.jetson:
        findings.append(_jetpack_finding(machine))
        if findings[-1].state == "unsupported":
            return findings
    findings += _python_findings(machine)
    probe = host.probe_tensorflow()
    findings += _tensorflow_findings(machine, probe)
    findings += _resource_findings(machine)
    if machine.release and machine.release.dockerfile:
        findings.append(Finding("container", "info", platforms.docker_build_command(machine.release) + "  (docs/containers.md)"))
    return findings


def _machine_finding(machine: _Machine) -> Finding:
    if machine.model:
        return Finding("machine", "ok", f"{machine.model} ({machine.host.machine})")
    return Finding("machine", "ok", f"{'Jetson, model unreadable' if machine.jetson else 'not a Jetson'} ({machine.host.machine})")


def _jetpack_finding(machine: _Machine) -> Finding:
    if not machine.l4t:
        return Finding("JetPack", "warn", "no release in /etc/nv_tegra_release: the JetPack is unknown, so no NVIDIA wheel can be named")
    release = machine.release
    if release is None:
        return Finding("JetPack", "warn", f"L4T r{machine.l4t} is not in hw5's table (it knows r32-r36): see NVIDIA's TensorFlow for Jetson page")
    said = f"JetPack {release.jetpack} (L4T r{machine.l4t}{'' if release.l4t == machine.l4t else f'; table row r{release.l4t}'})"
    if release.unsupported:
        return Finding("JetPack", "unsupported", f"{said}: {release.unsupported}")
    return Finding("JetPack", "ok", said + (f": {release.note}" if release.note else ""))


def _python_findings(machine: _Machine) -> List[Finding]:
    host, release = machine.host, machine.release
    findings = []
    if platforms.version_tuple(host.python) < (3, 8):
        findings.append(Finding("Python", "unsupported", f"{host.python}: hw5 needs Python 3.8 or newer"))
    elif release and _major_minor(host.python) != release.python:
        findings.append(Finding("Python", "wrong", f"{host.python}: NVIDIA's TensorFlow for JetPack {release.jetpack} is built for Python {release.python}",
                                f"python{release.python} -m pip install -e .   # then run hw5 with python{release.python}"))
    else:
        findings.append(Finding("Python", "ok", host.python))
    pip = host.installed("pip")
    if pip and platforms.version_tuple(pip)[:2] < MIN_PIP:
        findings.append(Finding("pip", "warn", f"{pip} cannot install hw5 in editable mode (pip install -e .) nor resolve its dependencies on Python 3.8",
                                "python3 -m pip install --upgrade 'pip>=21.3'"))
    else:
        findings.append(Finding("pip", "ok", pip or "not installed"))
    return findings


def _tensorflow_findings(machine: _Machine, probe: TensorFlowProbe) -> List[Finding]:
    release, installed = machine.release, machine.host.installed
    findings = [_tensorflow_finding(machine, probe)]

    keras_major = int(probe.keras.split(".")[0]) if probe.keras[:1].isdigit() else (release.keras_major if release else 0)
    tf_keras = installed("tf-keras") or installed("tf_keras")
    if keras_major >= 3 and not tf_keras:
        pin = f"~={_major_minor(probe.version)}.0" if probe.version else f"=={release.tf_keras}"
        findings.append(Finding("tf_keras", "missing", f"tf.keras is Keras {keras_major}, and TF Hub layers need Keras 2: the tf_keras package",
                                machine.install_beside_tensorflow("tf-keras", pin)))
    elif probe.keras:
        findings.append(Finding("Keras", "ok", f"tf.keras is Keras {probe.keras}" + (f"; tf_keras {tf_keras} beside it" if tf_keras else "; tf_keras not needed")))
    elif keras_major:
        beside = f"tf_keras {tf_keras} beside it" if tf_keras else "tf_keras not needed"
        findings.append(Finding("Keras", "info", f"with TensorFlow {release.tensorflow}, tf.keras will be Keras {keras_major}; {beside}"))

    hub = installed("tensorflow-hub")
    if hub:
        findings.append(Finding("tensorflow-hub", "ok", hub))
    else:
        findings.append(Finding("tensorflow-hub", "missing", "not installed (the TF2 transfer task needs it)",
                                machine.install_beside_tensorflow("tensorflow-hub", f"=={release.hub}" if release else "")))
    findings.append(_gpu_finding(machine, probe))
    return findings


def _tensorflow_finding(machine: _Machine, probe: TensorFlowProbe) -> Finding:
    release = machine.release
    if not probe.installed:
        return Finding("TensorFlow", "missing", "not installed" + (f" (NVIDIA's {release.tensorflow} is the one for JetPack {release.jetpack})" if release else ""),
                       machine.install_tensorflow())
    if not probe.importable:
        return Finding("TensorFlow", "wrong", f"installed but does not import: {probe.error}", machine.install_tensorflow(replace=bool(release)))
    if machine.jetson and not probe.nvidia_build:
        return Finding("TensorFlow", "wrong", f"{probe.version} is not NVIDIA's build (no +nv in its version): it has no CUDA for a Jetson, so everything runs on the CPU",
                       machine.install_tensorflow(replace=True))
    build = "NVIDIA's build" if probe.nvidia_build else ("built with CUDA" if probe.cuda_build else "a CPU-only build")
    if release and probe.version != release.tensorflow:
        build += f"; the table's for JetPack {release.jetpack} is {release.tensorflow}"
    return Finding("TensorFlow", "ok", f"{probe.version} ({build})")


def _gpu_finding(machine: _Machine, probe: TensorFlowProbe) -> Finding:
    evidence, release = machine.gpu_evidence, machine.release
    if not evidence:
        return Finding("GPU", "ok", "no NVIDIA GPU found (nvidia-smi, tegrastats, /dev/nvhost-*): the GPU steps will be skipped")
    driver = f"the driver sees one ({evidence[0]})"
    if not probe.importable:
        return Finding("GPU", "info", f"{driver}; TensorFlow's view is unknown until it imports")
    if probe.gpus:
        return Finding("GPU", "ok", f"{driver}; TensorFlow sees {', '.join(probe.gpus)}")
    if machine.jetson:
        if not probe.nvidia_build:
            return Finding("GPU", "wrong", f"{driver}, TensorFlow does not: it is not NVIDIA's build", machine.install_tensorflow(replace=True))
        if release and probe.version != release.tensorflow:
            return Finding("GPU", "wrong", f"{driver}, NVIDIA's TensorFlow {probe.version} does not: it is built for another JetPack's CUDA",
                           machine.install_tensorflow(replace=True))
        return Finding("GPU", "wrong", f"{driver}, TensorFlow does not: is your user in the video group (in a container: --runtime nvidia --group-add video)?",
                       "sudo usermod -aG video $USER   # then log out and in again")
    if not probe.cuda_build:
        return Finding("GPU", "wrong", f"{driver}, TensorFlow {probe.version} does not: it is built without CUDA",
                       "python3 -m pip install -e '.[gpu]'   # tensorflow[and-cuda]: TensorFlow with NVIDIA's CUDA libraries")
    return Finding("GPU", "wrong", f"{driver}, TensorFlow {probe.version} (built with CUDA) finds none: CUDA libraries missing or the driver too old (nvidia-smi)",
                   "python3 -m pip install -e '.[gpu]'   # tensorflow[and-cuda]: TensorFlow with NVIDIA's CUDA libraries")


def _resource_findings(machine: _Machine) -> List[Finding]:
    findings = []
    memory = _memory_available_mb(machine.host.root)
    if memory is None:
        findings.append(Finding("memory", "info", "available memory unreadable (no /proc/meminfo)"))
    else:
        low = memory < LOW_MEMORY_MB
        findings.append(Finding("memory", "warn" if low else "ok", f"{memory:,} MB available" +
                                (": the real profile peaks near 3 GB; close other programs, or keep --profile embedded" if low else "")))
    disk = machine.host.disk_free_mb()
    if disk is not None:
        low = disk < LOW_DISK_MB
        findings.append(Finding("disk", "warn" if low else "ok", f"{disk:,} MB free for the cache" +
                                (": the real profile's downloads and caches need about 2 GB" if low else "")))
    return findings


def render(findings: Sequence[Finding]) -> str:
    lines = ["hw5 doctor: what this machine has for hw5"]
    for f in findings:
        state = f.state.upper() if f.state in PROBLEMS else f.state
        lines.append(f"  {state:<12} {f.item:<15} {f.detail}")
    fixes = list(dict.fromkeys(f.fix for f in findings if f.fix and f.state != "ok"))
    if fixes:
        lines += ["", "To fix, in this order (docs/jetson.md explains each step):"] + [f"  {fix}" for fix in fixes]
    problems = [f for f in findings if f.state in PROBLEMS]
    lines += ["", f"hw5 doctor: {len(problems)} problem(s)" if problems else "hw5 doctor: everything hw5 needs is here"]
    return "\n".join(lines)


def run(host: Optional[Host] = None) -> int:
    """Print the findings; 0 when everything hw5 needs is there, 1 otherwise."""
    findings = examine(host)
    print(render(findings))
    return 1 if any(f.state in PROBLEMS for f in findings) else 0


TENSORFLOW_PACKAGES = {"tensorflow": "TensorFlow", "tensorflow_hub": "TensorFlow Hub (tensorflow-hub)",
                       "tf_keras": "tf_keras (tf-keras)", "keras": "Keras", "tensorboard": "TensorBoard"}


def require_tensorflow(hub: bool = False) -> None:
    """Before a command that needs TensorFlow starts: one line naming what is missing, never a traceback later."""
    for module in ("tensorflow", "tensorflow_hub") if hub else ("tensorflow",):
        if not importable(module):
            raise HomeworkError(f"{TENSORFLOW_PACKAGES[module]} is not installed: run `hw5 doctor` for the command that installs it on this machine")


def tensorflow_import_error(exc: ImportError) -> Optional[str]:
    """The one line for an ImportError of TensorFlow or its companions (raised for them, or inside
    them: a missing CUDA library), None for any other ImportError."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    inside = [part for frame in traceback.extract_tb(exc.__traceback__) for part in Path(frame.filename).parts
              if part in TENSORFLOW_PACKAGES]
    package = name if name in TENSORFLOW_PACKAGES else (inside[-1] if inside else None)
    if package is None:
        return None
    what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{TENSORFLOW_PACKAGES[package]} does not import ({what}): run `hw5 doctor` to see what this machine lacks and how to install it"


if __name__ == "__main__":  # python3 -m homework.doctor: before hw5 and its dependencies are installed
    sys.exit(run())
