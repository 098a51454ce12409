"""The only module that knows which TensorFlow and Keras are installed, and the one place
TensorFlow is imported and set up.

Importing this module does nothing: TensorFlow is imported and set up by tensorflow(), which
the first use of any of its names calls (`from homework.compat import tf` inside a function,
`compat.gpus`, `compat.keras` ...: a module __getattr__), so call sites just import what they
use. The set-up, once per process and before anything can run an op:
  - TF_CPP_MIN_LOG_LEVEL=2 unless set, DeprecationWarning and FutureWarning ignored, TF's and
    absl's loggers at ERROR (TensorFlow and its dependencies are noisy, and none of it is ours);
  - the GPUs listed, with what TF's C++ side printed meanwhile kept in NATIVE_LOG;
  - GPU memory set up as requested (request_gpu_memory: a cap, or growth by default), which
    TensorFlow only allows before it initialises its devices.
The entry points, the CLI (also as the subprocess of a CPU vs GPU leg) and conftest.py, call
request_gpu_memory() with the settings' budget before any task runs; a process that asks for
nothing (the spawned child of retrain_experiments.in_child_process) grows memory as needed.
Asked once TensorFlow is set up, the set-up is applied at once, and fails loudly if TensorFlow
has already started its devices.

Keras: TF >= 2.16 ships Keras 3 as tf.keras; tensorflow_hub's KerasLayer is a Keras 2 layer and
only fits in a Keras 2 model, so there we use the tf_keras package. Older TF (Jetson
containers) has Keras 2 as tf.keras. Everything else in the project imports `tf`, `keras`,
`v1` and `hub` from here.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from typing import Any, List

from .errors import HomeworkError

# Module attributes made on first use (the module __getattr__): TensorFlow's by tensorflow(), Keras' by _KERAS_NAMES.
tf: Any  # the tensorflow module
v1: Any  # tf.compat.v1
gpus: List[Any]  # the physical GPUs TensorFlow found
TF_VERSION: str
NATIVE_LOG: str  # what TF printed while probing for GPUs (why it found none, on a broken CUDA set-up)
keras: Any  # tf.keras (Keras 2) or tf_keras
KERAS_VERSION: str

_requested_budget_mb = 0  # GPU memory asked for: 0 grows as needed, N caps at N MB
GPU_SETUP = {"budget_mb": None, "applied_to": 0}  # what configure_gpus did (None: not yet)


def request_gpu_memory(budget_mb: int) -> None:
    """The GPU memory set-up TensorFlow gets when it starts: a cap of `budget_mb` MB on every
    GPU, or, with 0, the homework's allow_growth fix. Once TensorFlow is set up, it is applied
    at once (an error if TensorFlow has already initialised its devices)."""
    global _requested_budget_mb
    _requested_budget_mb = int(budget_mb or 0)
    if "tf" in globals():
        configure_gpus(_requested_budget_mb)


def tensorflow():
    """The tensorflow module, imported and set up (see the module docstring) on the first call."""
    if "tf" not in globals():
        _set_up()
    return globals()["tf"]


def _set_up() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    native: list = []
    with quiet_native_stderr(native):
        import tensorflow

        found = tensorflow.config.list_physical_devices("GPU")  # the first CUDA probe, also noisy
    tensorflow.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # pragma: no cover
        pass
    _configure(tensorflow, found, _requested_budget_mb)  # before anything can initialise the devices
    globals().update(tf=tensorflow, v1=tensorflow.compat.v1, gpus=found, TF_VERSION=tensorflow.__version__,
                     NATIVE_LOG="".join(native))


def _keras_major(module) -> int:
    version = getattr(module, "__version__", None) or getattr(module, "version", lambda: "2")()
    return int(str(version).split(".")[0])


def _pick_keras():
    tf_module = tensorflow()
    if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true") or _keras_major(tf_module.keras) < 3:
        return tf_module.keras
    try:
        import tf_keras
    except ImportError as exc:
        version = tf_module.__version__
        raise HomeworkError(
            f"TensorFlow {version} ships Keras 3, and TF Hub layers need Keras 2: "
            f"pip install 'tf-keras~={'.'.join(version.split('.')[:2])}.0'"
        ) from exc
    return tf_keras


def _keras_version() -> str:
    version = getattr(_loaded("keras"), "__version__", None)
    if version:
        return str(version)
    try:  # TF <= 2.15: tf.keras has no __version__; it is the keras package of the same release
        from importlib.metadata import version as installed

        return installed("keras")
    except Exception:
        return "unknown"


_TENSORFLOW_NAMES = ("tf", "v1", "gpus", "TF_VERSION", "NATIVE_LOG")
# Keras on its own first use: the TF1 retrain never needs it, and importing tf_keras costs time and memory.
_KERAS_NAMES = {"keras": _pick_keras, "KERAS_VERSION": _keras_version}


def _loaded(name: str):
    if name not in globals():
        if name in _TENSORFLOW_NAMES:
            tensorflow()
        else:
            globals()[name] = _KERAS_NAMES[name]()
    return globals()[name]


def __getattr__(name: str):
    if name in _TENSORFLOW_NAMES or name in _KERAS_NAMES:
        return _loaded(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextlib.contextmanager
def quiet_native_stderr(kept: "list | None" = None):
    """Hide what TF's C++ side prints straight to file descriptor 2 (CUDA probing, oneDNN
    notices). The text is replayed if the block fails, and appended to `kept` if given,
    so nothing useful is lost."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # pytest capture or an IDE: nothing to hide
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        except BaseException:
            os.dup2(saved, fd)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            if kept is not None:
                sink.seek(0)
                kept.append(sink.read().decode(errors="replace"))


def hub():
    """tensorflow_hub, imported on first use (it is slow to import and not every task needs it)."""
    tensorflow()
    with quiet_native_stderr():
        import tensorflow_hub

    return tensorflow_hub


def hub_version() -> str:
    try:
        from importlib.metadata import version

        return version("tensorflow-hub")
    except Exception:
        return "not installed"


def configure_gpus(budget_mb: int = 0) -> int:
    """The one place GPU memory is set up, before TensorFlow initialises its devices: a cap of
    `budget_mb` MB on every GPU (a logical device with a memory limit), or, with no budget,
    the homework's allow_growth fix (take memory as needed instead of all at start).
    Returns the number of GPUs it applied to (0 on a CPU-only machine). Too late (devices
    already initialised) is an error carrying TensorFlow's own message, never ignored."""
    return _configure(tensorflow(), _loaded("gpus"), budget_mb)


def _configure(tensorflow, found, budget_mb: int) -> int:
    budget_mb = int(budget_mb or 0)
    if GPU_SETUP["budget_mb"] == budget_mb:
        return GPU_SETUP["applied_to"]
    try:
        for gpu in found:
            if budget_mb:
                tensorflow.config.set_logical_device_configuration(gpu, [tensorflow.config.LogicalDeviceConfiguration(memory_limit=budget_mb)])
            else:
                tensorflow.config.experimental.set_memory_growth(gpu, True)
    except (RuntimeError, ValueError) as exc:
        what = f"memory cap of {budget_mb} MB" if budget_mb else "memory growth"
        raise HomeworkError(f"GPU {what} not applied: TensorFlow had already set up its devices ({exc})") from exc
    GPU_SETUP.update(budget_mb=budget_mb, applied_to=len(found))
    return len(found)


def limit_gpu_memory(megabytes: int) -> bool:
    """True when TF's memory on the GPUs is capped at `megabytes` (set up at start from the
    memory_budget_mb setting). False when there is no GPU to cap."""
    return bool(_loaded("gpus")) and configure_gpus(megabytes) > 0


def session_config(optimize: bool = True):
    """A TF1 session config that grows GPU memory instead of grabbing it all. optimize=False
    turns Grappler off: its rewrites copy a frozen graph's weights several times over, which
    for Inception v3's 87 MB of constants costs more than it saves (1.1 GB more peak in the
    bottleneck pass for 7% more images/s; label_image's one run went from 1.6 to 2.8 GB)."""
    config = tensorflow().compat.v1.ConfigProto()
    config.gpu_options.allow_growth = True
    if not optimize:
        config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


def env_without_gpu(env=None) -> dict:
    """Environment for a subprocess that must not see any GPU."""
    env = dict(os.environ if env is None else env)
    env["CUDA_VISIBLE_DEVICES"] = "-1"
    return env


def forget_custom_gradients() -> int:
    """Drop the gradient functions that graph-mode tf.custom_gradient calls registered; call it
    only between models, when no traced graph that could still be differentiated is alive.
    TensorFlow registers one per call in a process-wide registry and never removes it, and each
    holds its whole traced graph: Keras' optimizers make one per traced train step (the gradients'
    all-reduce under the default strategy), so every model trained in one process left its train
    step behind, 60-120 MB with a MobileNet. Returns how many were dropped (0 where the registry is
    not there in this TensorFlow)."""
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        return 0
    stale = [name for name in registry if str(name).startswith("CustomGradient-")]
    for name in stale:
        del registry[name]
    return len(stale)


def is_oom(exc: BaseException) -> bool:
    """True for TF's out-of-memory errors (ResourceExhausted, or the allocator's message)."""
    if isinstance(exc, tensorflow().errors.ResourceExhaustedError):
        return True
    text = str(exc)
    return "OOM when allocating" in text or "out of memory" in text.lower()
