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
