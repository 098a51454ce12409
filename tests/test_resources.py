import subprocess
import sys

from homework.resources import Sampler

CHILD = "x = bytearray(300 * 2**20); import time; time.sleep(2)"
PARENT = f"import subprocess, sys; c = subprocess.Popen([sys.executable, '-c', {CHILD!r}]); y = bytearray(100 * 2**20); c.wait()"


def test_rss_counts_the_watched_process_and_its_children():
    proc = subprocess.Popen([sys.executable, "-c", PARENT])
    with Sampler(pid=proc.pid) as sampler:
        proc.wait()
    summary = sampler.summary()
    assert summary["rss_largest_mb_max"] >= 300  # the child's 300 MB buffer
    assert summary["rss_mb_max"] >= summary["rss_largest_mb_max"] + 100  # plus the parent's 100 MB


# a parent touches 300 MB (every page, no temporary copy), then forks a child that shares those pages (copy-on-write) and touches 50 MB of its own
SHARED = ("import os, time; x = bytearray(300 * 2**20); x[::4096] = b'1' * len(x[::4096]); pid = os.fork()\n"
          "if pid == 0:\n    y = bytearray(50 * 2**20); y[::4096] = b'1' * len(y[::4096]); time.sleep(2); os._exit(0)\n"
          "os.waitpid(pid, 0)")


def test_pss_counts_pages_a_parent_shares_with_its_child_once():
    import os

    import pytest

    if not os.path.exists(f"/proc/{os.getpid()}/smaps_rollup"):
        pytest.skip("no /proc/<pid>/smaps_rollup here (not Linux, or a kernel before 4.14): PSS is not sampled")
    proc = subprocess.Popen([sys.executable, "-c", SHARED])
    with Sampler(pid=proc.pid) as sampler:
        proc.wait()
    summary = sampler.summary()
    assert summary["rss_mb_max"] >= 600  # RSS counts the shared 300 MB in both processes
    assert 330 <= summary["pss_mb_max"] <= summary["rss_mb_max"] - 250  # PSS once: 300 + the child's 50 (+ interpreters)


def test_release_lets_a_trained_models_train_step_go():
    """TF keeps each traced train step alive through the gradient function its optimizer
    registered (about 120 MB per fine-tuned MobileNet): after release() no train step of a
    model that is gone may still be alive."""
    import gc
    import weakref

    import numpy as np

    from homework import compat
    from homework.tasks.common import release
    from tensorflow.python.framework.func_graph import FuncGraph

    keras = compat.keras
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.train_on_batch(np.ones((8, 4), np.float32), np.zeros((8, 2), np.float32))
    steps = [weakref.ref(g) for g in gc.get_objects() if isinstance(g, FuncGraph) and g.name.startswith("train_function")]
    assert steps, "no traced train step found: the test no longer sees what it guards"
    del model
    release()
    assert [ref() for ref in steps if ref() is not None] == []
