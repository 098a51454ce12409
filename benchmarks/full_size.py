"""Full-size rehearsal: the homework's real workload, offline, on generated data and stand-ins.

    python benchmarks/full_size.py [--work DIR] [--tasks data inputs mnist transfer retrain]
        [--flowers-per-class 734] [--image-px 256] [--mnist-train 60000] [--json out.json]
    python benchmarks/full_size.py --embedded-sizes    # the same table for the test suite's sizes

Sizes are the real profile's: 3,670 flower images in five classes (generated, at --image-px),
60,000 + 10,000 MNIST-shaped digits (jittered copies of the 5,000 shipped ones, in a file that
says it is generated), transfer at 224 px, retrain at 4,000 steps and three rates, Inception v3
at 299 px, a 10/10 validation/test split, and the real profile's memory budget (transfer batches
that fit 1 GB of activations). Every result is marked a stand-in.

Each task is one fresh process (`hw5 data`, then `pytest checks/test_<task>.py` on an empty
bottleneck cache), sampled by homework.resources.Sampler (every 0.5 s; tegrastats and
nvidia-smi too where present): wall time, peak RSS of the whole process tree (TensorFlow
children included) and of its largest process, and the images/s the task's record gives. It
is a benchmark, not part of the test suite: expect tens of minutes on two CPU cores.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("data", "inputs", "mnist", "transfer", "retrain")
LIMIT_MB = 3 * 1024  # issue 13: every task under 3 GB at full size
# settings taken from the real profile (its data sources are not: the data here is generated)
REAL_SIZES = ("transfer_image_size", "training_steps", "validation_percentage", "testing_percentage", "memory_budget_mb")


def run_measured(command, env, log_path: Path) -> dict:
    from homework.resources import Sampler

    started = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        with Sampler(pid=proc.pid) as sampler:
            code = proc.wait()
    peaks = sampler.summary()
    return {"exit": code, "wall_s": round(time.perf_counter() - started, 1),
            "peak_tree_mb": round(peaks.get("rss_mb_max", 0)), "peak_process_mb": round(peaks.get("rss_largest_mb_max", 0)),
            "resources": peaks, "log": str(log_path)}


def throughputs(record_path: Path) -> dict:
    """Every images/s, steps/s and epoch-seconds figure in the task's record (metrics and
    timings, nested ones too), keyed task.path."""
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return {}
    found = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}", inner)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and ("per_s" in prefix or "epoch_s" in prefix):
            found[prefix] = round(float(value), 1)

    for name, task in (record.get("tasks") or {}).items():
        walk(name, {**(task.get("metrics") or {}), **(task.get("timings") or {})})
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="cache, data and records (default: a new temporary folder)")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--flowers-per-class", type=int, default=734, help="734 x 5 = the real 3,670")
    parser.add_argument("--image-px", type=int, default=256, help="generated photo size (flower_photos are about 320x240)")
    parser.add_argument("--mnist-train", type=int, default=60000)
    parser.add_argument("--mnist-test", type=int, default=10000)
    parser.add_argument("--json", type=Path, help="also write the table here")
    parser.add_argument("--embedded-sizes", action="store_true",
                        help="measure the embedded profile as the test suite runs it (its own small sizes) instead")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from homework.data.mnist import write_full_size

    work = args.work or Path(tempfile.mkdtemp(prefix="hw5-full-size-"))
    work.mkdir(parents=True, exist_ok=True)
    mnist_path = work / "mnist-full-size.npz"
    env = dict(os.environ, HW5_CACHE_DIR=str(work / "cache"), HW5_PROFILE="embedded", HW5_DEVICE_LABEL="rehearsal")
    if not args.embedded_sizes:
        if not mnist_path.is_file():  # every task that reads MNIST (data, inputs, mnist) gets the full-size file
            write_full_size(mnist_path, args.mnist_train, args.mnist_test)
        # the real profile's sizes and budget, on generated data (the embedded profile's sources)
        from homework.settings import PROFILE_DEFAULTS

        real = {k: v for k, v in PROFILE_DEFAULTS["real"].items() if k in REAL_SIZES}
        env.update({f"HW5_{k.upper()}": str(v) for k, v in real.items()})
        env.update(HW5_FLOWERS_IMAGES_PER_CLASS=str(args.flowers_per_class), HW5_FLOWERS_IMAGE_PX=str(args.image_px),
                   HW5_MNIST_PATH=str(mnist_path))
    rows = []
    for task in args.tasks:
        record = work / "records" / f"{task}.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        if task == "data":
            command = [sys.executable, "-m", "homework.cli", "data"]
        else:
            command = [sys.executable, "-m", "pytest", f"checks/test_{task}.py", "-q", "-p", "no:cacheprovider",
                       "--benchmark-disable", f"--record={record}"]
        print(f"{task}: {' '.join(command[1:])}", flush=True)
        row = {"task": task, **run_measured(command, env, work / f"{task}.log"), **{"per_s": throughputs(record)}}
        row["under_3_gb"] = row["peak_tree_mb"] <= LIMIT_MB
        rows.append(row)
        print(f"  exit {row['exit']}, {row['wall_s']} s, peak RSS tree {row['peak_tree_mb']} MB "
              f"(largest process {row['peak_process_mb']} MB), {row['per_s']}", flush=True)

    print("\n| task | wall s | peak RSS, process tree (MB) | largest process (MB) | under 3 GB | throughput |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        rates = ", ".join(f"{k} {v}" for k, v in row["per_s"].items()) or "-"
        print(f"| {row['task']}{'' if row['exit'] == 0 else ' (exit ' + str(row['exit']) + ')'} | {row['wall_s']} | "
              f"{row['peak_tree_mb']} | {row['peak_process_mb']} | {'yes' if row['under_3_gb'] else 'NO'} | {rates} |")
    if args.json:
        args.json.write_text(json.dumps({"work": str(work), "settings": {k: v for k, v in env.items() if k.startswith("HW5_")},
                                         "rows": rows}, indent=2))
    return 0 if all(row["exit"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
