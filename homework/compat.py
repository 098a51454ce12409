"""The only module that knows which TensorFlow and Keras are installed.

TF >= 2.16 ships Keras 3 as tf.keras; tensorflow_hub's KerasLayer is a Keras 2 layer and
only fits in a Keras 2 model, so there we use the tf_keras package. Older TF (Jetson
containers) has Keras 2 as tf.keras. Everything else in the project imports `tf`,
`keras`, `v1` and `hub` from here.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings

from .errors import HomeworkError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=FutureWarning)


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


_native_log: list = []
with quiet_native_stderr(_native_log):
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")  # first CUDA probe, also noisy
NATIVE_LOG = "".join(_native_log)  # what TF printed while probing for GPUs (why it found none, on a broken CUDA set-up)

tf.get_logger().setLevel(logging.ERROR)
try:
    from absl import logging as _absl_logging

    _absl_logging.set_verbosity(_absl_logging.ERROR)
except ImportError:  # pragma: no cover
    pass

v1 = tf.compat.v1
TF_VERSION = tf.__version__


def _keras_major(module) -> int:
    version = getattr(module, "__version__", None) or getattr(module, "version", lambda: "2")()
    return int(str(version).split(".")[0])


def _pick_keras():
    if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true") or _keras_major(tf.keras) < 3:
        return tf.keras
    try:
        import tf_keras
    except ImportError as exc:
        raise HomeworkError(
            f"TensorFlow {TF_VERSION} ships Keras 3, and TF Hub layers need Keras 2: "
            f"pip install 'tf-keras~={'.'.join(TF_VERSION.split('.')[:2])}.0'"
        ) from exc
    return tf_keras


def _keras_version() -> str:
    version = getattr(_lazy("keras"), "__version__", None)
    if version:
        return str(version)
    try:  # TF <= 2.15: tf.keras has no __version__; it is the keras package of the same release
        from importlib.metadata import version as installed

        return installed("keras")
    except Exception:
        return "unknown"


_LOADED: dict = {}
_LAZY = {"keras": _pick_keras, "KERAS_VERSION": _keras_version}


def _lazy(name: str):
    if name not in _LOADED:
        _LOADED[name] = _LAZY[name]()
    return _LOADED[name]


def __getattr__(name: str):
    """`keras` and `KERAS_VERSION` on first use (`from homework.compat import keras` included):
    the TF1 retrain never needs Keras, and importing tf_keras costs it time and memory."""
    if name in _LAZY:
        return _lazy(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def hub():
    """tensorflow_hub, imported on first use (it is slow to import and not every task needs it)."""
    with quiet_native_stderr():
        import tensorflow_hub

    return tensorflow_hub


def hub_version() -> str:
    try:
        from importlib.metadata import version

        return version("tensorflow-hub")
    except Exception:
        return "not installed"


GPU_SETUP = {"budget_mb": None, "applied_to": 0}  # what configure_gpus did (None: not yet)


def configure_gpus(budget_mb: int = 0) -> int:
    """The one place GPU memory is set up, before TensorFlow initialises its devices: a cap of
    `budget_mb` MB on every GPU (a logical device with a memory limit), or, with no budget,
    the homework's allow_growth fix (take memory as needed instead of all at start).
    Returns the number of GPUs it applied to (0 on a CPU-only machine). Too late (devices
    already initialised) is an error carrying TensorFlow's own message, never ignored."""
    budget_mb = int(budget_mb or 0)
    if GPU_SETUP["budget_mb"] == budget_mb:
        return GPU_SETUP["applied_to"]
    try:
        for gpu in gpus:
            if budget_mb:
                tf.config.set_logical_device_configuration(gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=budget_mb)])
            else:
                tf.config.experimental.set_memory_growth(gpu, True)
    except (RuntimeError, ValueError) as exc:
        what = f"memory cap of {budget_mb} MB" if budget_mb else "memory growth"
        raise HomeworkError(f"GPU {what} not applied: TensorFlow had already set up its devices ({exc})") from exc
    GPU_SETUP.update(budget_mb=budget_mb, applied_to=len(gpus))
    return len(gpus)


def limit_gpu_memory(megabytes: int) -> bool:
    """True when TF's memory on the GPUs is capped at `megabytes` (set up at start from the
    memory_budget_mb setting). False when there is no GPU to cap."""
    return bool(gpus) and configure_gpus(megabytes) > 0


def session_config(optimize: bool = True) -> "v1.ConfigProto":
    """A TF1 session config that grows GPU memory instead of grabbing it all. optimize=False
    turns Grappler off: its rewrites copy a frozen graph's weights several times over, which
    for Inception v3's 87 MB of constants costs more than it saves (1.1 GB more peak in the
    bottleneck pass for 7% more images/s; label_image's one run went from 1.6 to 2.8 GB)."""
    config = v1.ConfigProto()
    config.gpu_options.allow_growth = True
    if not optimize:
        config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


def env_without_gpu(env=None) -> dict:
    """Environment for a subprocess that must not see any GPU."""
    env = dict(os.environ if env is None else env)
    env["CUDA_VISIBLE_DEVICES"] = "-1"
    return env


def is_oom(exc: BaseException) -> bool:
    """True for TF's out-of-memory errors (ResourceExhausted, or the allocator's message)."""
    if isinstance(exc, tf.errors.ResourceExhaustedError):
        return True
    text = str(exc)
    return "OOM when allocating" in text or "out of memory" in text.lower()


def _apply_requested_setup() -> None:
    from . import device

    configure_gpus(device.requested_gpu_memory())


# Applied on import, before any op can initialise the GPUs (memory set-up is only possible then).
_apply_requested_setup()
