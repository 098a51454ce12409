"""GPU memory is set up (cap or growth) before TensorFlow initialises its devices, once, and a
set-up that comes too late fails with TensorFlow's own message. The GPU leg of CPU vs GPU:
skipped when there is no GPU anywhere, a one-line failure when only the driver sees one.
No GPU is needed: the GPU is faked, and so is the driver probe."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from homework.errors import HomeworkError

ROOT = Path(__file__).resolve().parent.parent

FAKE_GPU_PLUGIN = textwrap.dedent('''
    import json, os
    import tensorflow as tf
    from tensorflow.python.eager import context

    CALLS = []
    FAKE = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    _list = tf.config.list_physical_devices
    tf.config.list_physical_devices = lambda kind=None: [FAKE] if kind == "GPU" else _list(kind)
    tf.config.experimental.set_memory_growth = lambda device, on: CALLS.append(["growth", device.name, on])
    tf.config.set_logical_device_configuration = lambda device, configs: CALLS.append(["cap", device.name, configs[0].memory_limit])
    _init = context.Context.ensure_initialized

    def ensure_initialized(self):
        if self._context_handle is None:
            CALLS.append(["devices initialised"])
        return _init(self)

    context.Context.ensure_initialized = ensure_initialized

    def pytest_sessionfinish(session):
        with open(os.environ["GPU_ORDER_LOG"], "w") as out:
            json.dump(CALLS, out)
''')


def order_of_calls(tmp_path, env):
    (tmp_path / "fake_gpu.py").write_text(FAKE_GPU_PLUGIN)
    log = tmp_path / "calls.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "GPU_ORDER_LOG": str(log), **env}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "fake_gpu", "-p", "no:cacheprovider", "-q",
                           str(ROOT / "tests" / "probes" / "gpu_order_probe.py"), f"--record={tmp_path / 'r.json'}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(log.read_text())


@pytest.mark.parametrize("budget, first", [("512", ["cap", "/physical_device:GPU:0", 512]),
                                           ("0", ["growth", "/physical_device:GPU:0", True])])
def test_memory_set_up_precedes_device_initialisation(tmp_path, budget, first):
    calls = order_of_calls(tmp_path, {"HW5_MEMORY_BUDGET_MB": budget})
    assert calls == [first, ["devices initialised"]]  # once, and before TensorFlow starts its devices


def test_a_set_up_too_late_raises_with_tensorflows_message(monkeypatch):
    from homework import compat

    message = "Virtual devices cannot be modified after being initialized"

    def too_late(device, configs):
        raise RuntimeError(message)

    monkeypatch.setattr(compat, "gpus", ["fake-gpu"])
    monkeypatch.setitem(compat.GPU_SETUP, "budget_mb", None)
    monkeypatch.setattr(compat.tf.config, "set_logical_device_configuration", too_late)
    with pytest.raises(HomeworkError) as err:
        compat.configure_gpus(256)
    assert message in str(err.value) and "memory cap of 256 MB" in str(err.value) and "\n" not in str(err.value)


def test_native_stderr_is_hidden_but_kept():
    # In a child process: swapping file descriptor 2 inside pytest's own capture (and its
    # sampler threads) is not what a user's run does.
    script = textwrap.dedent('''
        import os, sys
        from homework.compat import quiet_native_stderr
        kept = []
        with quiet_native_stderr(kept):
            os.write(2, b"Could not find cuda drivers on your machine, GPU will not be used.\\n")
        print("KEPT:" + "".join(kept).strip())
    ''')
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "KEPT:Could not find cuda drivers" in done.stdout
    assert "Could not find cuda drivers" not in done.stderr


TF_SAYS = ("2026-11-25 I tensorflow/tsl/cuda/cudart_stub.cc:28] Could not find cuda drivers on your machine, GPU will not be used.\n"
           "W tensorflow/core/common_runtime/gpu/gpu_device.cc:2256] Cannot dlopen some GPU libraries. Skipping registering GPU devices...\n"
           "I oneDNN custom operations are on.\n")


def test_gpu_leg_plan():
    from homework.tasks.devices import gpu_leg_plan

    assert gpu_leg_plan(1, ["nvidia-smi lists GPU 0: Orin"], "", True) == ("run", "")
    plan, reason = gpu_leg_plan(0, [], TF_SAYS, True)
    assert plan == "skip" and "no GPU on this machine" in reason
    plan, reason = gpu_leg_plan(0, ["tegrastats at /usr/bin/tegrastats", "12 /dev/nvhost-* device nodes"], TF_SAYS, True)
    assert plan == "fail" and "\n" not in reason
    assert "GPU visible to the driver (tegrastats at /usr/bin/tegrastats; 12 /dev/nvhost-* device nodes) but not to TensorFlow" in reason
    assert "Could not find cuda drivers" in reason and "Cannot dlopen some GPU libraries" in reason and "oneDNN" not in reason
    plan, reason = gpu_leg_plan(0, ["/proc/driver/nvidia/gpus"], "", False)
    assert plan == "fail" and "no CUDA support" in reason


def test_cpu_vs_gpu_fails_when_only_the_driver_sees_a_gpu(tmp_settings, monkeypatch):
    from homework import compat, device
    from homework.tasks import devices

    monkeypatch.setattr(compat, "gpus", [])
    monkeypatch.setattr(compat, "NATIVE_LOG", TF_SAYS)
    monkeypatch.setattr(device, "driver_gpu_evidence", lambda: ["nvidia-smi lists GPU 0: NVIDIA GeForce RTX 2080"])
    monkeypatch.setattr(devices, "_leg", lambda *a, **k: pytest.fail("no leg may run before the GPU problem is reported"))
    with pytest.raises(devices.GpuNotVisibleError) as err:
        devices.cpu_vs_gpu(tmp_settings)
    assert "RTX 2080" in str(err.value) and "Could not find cuda drivers" in str(err.value) and "\n" not in str(err.value)


def test_driver_probe_reads_the_machine(monkeypatch, tmp_path):
    from homework import device

    monkeypatch.setattr(device, "_run", lambda command, timeout=5: "GPU 0: Orin (nvgpu) (UUID: x)" if command[0] == "nvidia-smi" else None)
    monkeypatch.setattr(device.shutil, "which", lambda name: "/usr/bin/tegrastats" if name == "tegrastats" else None)
    monkeypatch.setattr(device.glob, "glob", lambda pattern: ["/dev/nvhost-ctrl", "/dev/nvhost-gpu"] if "nvhost" in pattern else [])
    assert device.driver_gpu_evidence() == ["nvidia-smi lists GPU 0: Orin (nvgpu) (UUID: x)", "tegrastats at /usr/bin/tegrastats",
                                            "2 /dev/nvhost-* device nodes"]
