"""Speed of the TF1 retrain flow, from one run on the same images and model.

    python benchmarks/retrain_bench.py [--images-per-class 24] [--architecture mobilenet_0.50_224] [--steps 4000]
        [--codelab-script PATH/retrain.py --codelab-model-dir DIR]

P0  `hw5 retrain` end to end in a fresh process (start-up, bottleneck pass, N steps, export): wall
    time and peak RSS. With --codelab-script, the codelab's own retrain.py runs with the same flags
    and images in a fresh process too, and P0 is its wall time / hw5's (target >= 20); its
    --model_dir (--codelab-model-dir) must hold the codelab's archive, as nothing is downloaded
    here. hw5 then reads the same archive. Without the script, no codelab figure is given.
P1  bottleneck pass images/s / bare batched forward images/s on pre-decoded tensors (target >= 0.85)
P2  training steps/s on the cache / steps/s the codelab's way, which re-reads 100 per-image
    text files each step (get_random_cached_bottlenecks) (target >= 20)
P3  wall time of the three-rate sweep / one rate, each from an empty cache (target <= 1.3)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Tuple

import numpy as np

P1_REPEATS = 3  # median of three passes each: one pass over 120 images is a fraction of a second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images-per-class", type=int, default=24, help="generated flowers a class (5 classes; 24 -> 120 images)")
    parser.add_argument("--architecture", default="mobilenet_0.50_224")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--codelab-steps", type=int, default=300, help="steps timed the codelab's way (it is slow)")
    parser.add_argument("--codelab-script", type=Path, help="the codelab's retrain.py: P0 times it against hw5 retrain")
    parser.add_argument("--codelab-model-dir", type=Path, help="--model_dir for both (the codelab's archive for --architecture)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from homework.data import trees
    from homework.data.images import load_image_tree, load_rgb
    from homework.settings import Settings
    from homework.tasks.bottlenecks import BottleneckCache
    from homework.tasks.retrain import RetrainConfig, retrain
    from homework.tasks.retrain_extractor import Extractor, cache_bottlenecks, load_extractor
    from homework.tasks.retrain_heads import Heads

    settings = Settings.load({"flowers_images_per_class": args.images_per_class})
    source = trees.flowers(settings)
    tree = load_image_tree(source.root, cache_dir=settings.cache_dir)
    work = Path(tempfile.mkdtemp(prefix="hw5-bench-"))
    figures = {"images": len(tree.entries), "architecture": args.architecture, "stand_in": source.stand_in, "steps": args.steps}

    def config(name, **changes):
        values = dict(image_dir=str(source.root), architecture=args.architecture, how_many_training_steps=args.steps,
                      bottleneck_dir=str(work / name / "bottlenecks"), output_graph=str(work / name / "g.pb"),
                      output_labels=str(work / name / "l.txt"), summaries_dir=str(work / name / "logs"))
        values.update(changes)
        return RetrainConfig(**values)

    # P0: a fresh process, as a student runs it; the codelab's script the same way when given.
    model_dir = {"model_dir": str(args.codelab_model_dir)} if args.codelab_model_dir else {}
    p0 = config("p0", **model_dir)
    figures["P0_end_to_end_s"], figures["P0_peak_rss_mb"] = run_measured(
        [sys.executable, "-m", "homework.cli", "retrain", *[f"--{k}={v}" for k, v in vars_of(p0).items()]])
    if args.codelab_script:
        codelab = config("codelab", **model_dir)
        flags = {k: v for k, v in vars_of(codelab).items() if k in CODELAB_FLAGS}
        figures["P0_codelab_s"], figures["P0_codelab_peak_rss_mb"] = run_measured(
            [sys.executable, str(args.codelab_script), *[f"--{k}={v}" for k, v in flags.items()]])
        figures["P0"] = figures["P0_codelab_s"] / figures["P0_end_to_end_s"]

    # P1: bottleneck pass vs bare forward on pre-decoded tensors.
    frozen = load_extractor(config("p1"), settings)
    extractor = Extractor(frozen)
    decoded = np.stack([load_rgb(e.path, frozen.input_size) for e in tree.entries])
    extractor.run(decoded[: extractor.batch])  # warm-up
    bare_rates, piped_rates = [], []
    for attempt in range(P1_REPEATS):  # alternate the two so drift in machine load hits both
        started = time.perf_counter()
        for i in range(0, len(decoded), extractor.batch):
            extractor.run(decoded[i : i + extractor.batch])
        bare_rates.append(len(decoded) / (time.perf_counter() - started))
        cache = BottleneckCache(work / f"p1-{attempt}", frozen.sha256, frozen.bottleneck_size)  # empty: every image computed
        started = time.perf_counter()
        vectors = cache_bottlenecks(extractor, tree, cache)
        piped_rates.append(len(decoded) / (time.perf_counter() - started))
    bare, piped = float(np.median(bare_rates)), float(np.median(piped_rates))
    figures.update(P1_bottleneck_images_per_s=piped, P1_bare_forward_images_per_s=bare, P1=piped / bare)

    # P2: steps/s on the in-memory cache vs the codelab's per-step text-file reads.
    (ours,) = retrain([config("p2", bottleneck_dir=str(work / "p1-0"))], settings, tree=tree, echo=lambda line: None)
    figures["P2_steps_per_s"] = ours.timings["steps_per_s"]
    figures["P2_codelab_steps_per_s"] = codelab_steps_per_s(extractor, tree, vectors, work / "codelab", args.codelab_steps, Heads)
    figures["P2"] = figures["P2_steps_per_s"] / figures["P2_codelab_steps_per_s"]
    extractor.close()

    # P3: three rates from one bottleneck pass vs one rate, both from an empty cache.
    started = time.perf_counter()
    retrain([config("p3one")], settings, tree=tree, echo=lambda line: None)
    one = time.perf_counter() - started
    started = time.perf_counter()
    retrain([config("p3sweep", learning_rate=r, output_graph=str(work / f"p3sweep/{r}.pb")) for r in (0.005, 0.01, 1.0)], settings, tree=tree, echo=lambda line: None)
    sweep = time.perf_counter() - started
    figures.update(P3_one_rate_s=one, P3_sweep_s=sweep, P3=sweep / one)

    print(f"retrain benchmark: {figures['images']} images, {args.architecture} ({'stand-in' if figures['stand_in'] else 'real'}), {args.steps} steps")
    codelab_text = (f"codelab {figures['P0_codelab_s']:.1f} s, {figures['P0_codelab_peak_rss_mb']:.0f} MB: {figures['P0']:.1f}x"
                    if args.codelab_script else "codelab not run (--codelab-script)")
    rows = [
        ("P0 hw5 retrain end to end", f"{figures['P0_end_to_end_s']:.1f} s, {figures['P0_peak_rss_mb']:.0f} MB; {codelab_text}", ">= 20x the codelab"),
        ("P1 bottleneck pass / bare forward", f"{figures['P1']:.2f} ({piped:.0f} / {bare:.0f} img/s)", ">= 0.85"),
        ("P2 steps/s vs codelab's way", f"{figures['P2']:.0f}x ({figures['P2_steps_per_s']:.0f} / {figures['P2_codelab_steps_per_s']:.1f})", ">= 20"),
        ("P3 three-rate sweep / one rate", f"{figures['P3']:.2f} ({sweep:.1f} s / {one:.1f} s)", "<= 1.3"),
    ]
    for name, value, target in rows:
        print(f"  {name:<36} {value:<32} target {target}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


CODELAB_FLAGS = ("image_dir", "output_graph", "output_labels", "summaries_dir", "how_many_training_steps", "learning_rate",
                 "model_dir", "bottleneck_dir", "architecture")


def run_measured(command) -> Tuple[float, float]:
    """Wall seconds and peak RSS (MB, the process and its children, sampled every 20 ms) of a command."""
    import psutil

    log = tempfile.TemporaryFile()  # not a pipe: the codelab logs every step, and a full pipe would stall it
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    peak = 0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [watched, *watched.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - started
    if process.returncode:
        log.seek(0)
        last = (log.read().decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"{command[1]}: exited {process.returncode}: {last}")
    return wall, peak / 2**20


def vars_of(config) -> dict:
    import dataclasses

    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if getattr(config, f.name) not in (None, False)}


def codelab_steps_per_s(extractor, tree, vectors, folder: Path, steps: int, heads_class) -> float:
    """The codelab's training loop: every step reads train_batch_size random per-image text
    bottleneck files, and every 10th step also validation_batch_size of them."""
    paths = []
    for entry, vector in zip(tree.entries, vectors):
        path = folder / f"{entry.sha256}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(",".join(str(x) for x in vector))
        paths.append(path)
    labels = np.array([e.label_index for e in tree.entries])
    train = [i for i, e in enumerate(tree.entries) if e.split == "training"]
    valid = [i for i, e in enumerate(tree.entries) if e.split == "validation"] or train
    layer = heads_class(extractor.frozen.bottleneck_size, len(tree.labels), [0.01], 0, 100)
    rng = np.random.default_rng(0)

    def read(indices):
        return np.array([[float(x) for x in paths[i].read_text().split(",")] for i in indices], np.float32)

    started = time.perf_counter()
    for step in range(steps):
        batch = rng.choice(train, 100)
        feed = {layer.bottleneck_input: read(batch), layer.ground_truth: labels[batch]}
        layer.session.run(layer.train_step, feed)
        if step % 10 == 0:
            val = rng.choice(valid, 100)
            layer.session.run(layer.accuracy, {layer.bottleneck_input: read(val), layer.ground_truth: labels[val]})
    rate = steps / (time.perf_counter() - started)
    layer.close()
    return rate


if __name__ == "__main__":
    sys.exit(main())
