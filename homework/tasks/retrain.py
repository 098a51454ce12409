"""Part 2: the TF1 codelab's "retrain the last layer", in graph mode through tf.compat.v1.

A frozen feature extractor (the codelab's own graph from --model_dir, or the registry's
module frozen into one) is imported into a TF1 graph. Every image goes through it once,
in batches, and its bottleneck is cached on disk by content hash (retrain_extractor.py).
A new fully-connected layer + softmax (`final_result`) is trained on the cached vectors
with gradient descent, evaluated every `eval_step_interval` steps with the codelab's log
lines printed as they happen, and exported with the extractor as one frozen GraphDef plus
a labels file (retrain_heads.py). Several learning rates train side by side in one run.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Sequence

import numpy as np

from .. import files
from ..data.images import ImageTree, load_image_tree, load_rgb
from ..data.trees import is_generated_tree
from ..errors import HomeworkError
from ..settings import Settings
from .bottlenecks import BottleneckCache
from .result import TaskResult
from .retrain_curves import stability, steps_to_plateau
from .retrain_extractor import Extractor, bottleneck_pass, load_extractor
from .retrain_heads import Heads, distort, export_graph

log = logging.getLogger("hw5")
CURVES = ("step", "train_accuracy", "cross_entropy", "validation_accuracy", "validation_accuracy_full", "validation_cross_entropy_full")


@dataclass(frozen=True)
class RetrainConfig:
    """The codelab's flags, with its defaults (output paths relative to the current folder)."""

    image_dir: Optional[str] = None
    output_graph: str = "retrained_graph.pb"
    output_labels: str = "retrained_labels.txt"
    summaries_dir: str = "retrain_logs"
    how_many_training_steps: int = 4000
    learning_rate: float = 0.01
    testing_percentage: float = 10
    validation_percentage: float = 10
    eval_step_interval: int = 10
    train_batch_size: int = 100
    test_batch_size: int = -1
    validation_batch_size: int = 100
    print_misclassified_test_images: bool = False
    model_dir: Optional[str] = None
    bottleneck_dir: str = "bottlenecks"
    final_tensor_name: str = "final_result"
    flip_left_right: bool = False
    random_crop: float = 0
    random_scale: float = 0
    random_brightness: float = 0
    architecture: str = "inception_v3"

    @property
    def distorted(self) -> bool:
        return bool(self.flip_left_right or self.random_crop or self.random_scale or self.random_brightness)


SWEEP_MAY_DIFFER = {"learning_rate", "output_graph", "output_labels", "summaries_dir", "final_tensor_name"}


def _check_sweep(configs: Sequence[RetrainConfig]) -> None:
    first = dataclasses.asdict(configs[0])
    for config in configs[1:]:
        for key, value in dataclasses.asdict(config).items():
            if key not in SWEEP_MAY_DIFFER and value != first[key]:
                raise HomeworkError(f"retrain: runs trained together may differ only in {', '.join(sorted(SWEEP_MAY_DIFFER))}, not --{key}")


def folder_data(root) -> dict:
    """A folder given with --image_dir, as an input of the result: a stand-in when it is one of
    the generated trees, else the user's own images."""
    generated = is_generated_tree(root)
    return {"stand_in": generated, "identity": f"{'stand-in: generated' if generated else 'folder'}: {Path(root)}"}


def train_heads(extractor: Extractor, tree: ImageTree, vectors: np.ndarray, configs: Sequence[RetrainConfig], settings: Settings,
                echo=print) -> List[dict]:
    """Train one final layer per config (they differ only in learning rate and outputs) and
    export each. The codelab's log lines are echoed at each evaluation as it happens (in a
    sweep, each line names its rate). Returns per config: provenance, metrics, timings,
    details and artifacts of a result."""
    from ..compat import v1

    _check_sweep(configs)
    config = configs[0]
    started = time.perf_counter()
    labels = np.array([e.label_index for e in tree.entries], np.int64)
    split = np.array([e.split for e in tree.entries])
    train_idx, val_idx, test_idx = (np.flatnonzero(split == s) for s in ("training", "validation", "testing"))
    if len(train_idx) == 0:
        raise HomeworkError(f"{tree.root}: no training images after the split")
    rng = np.random.default_rng(settings.seed)
    in_graph = not config.distorted
    heads = Heads(extractor.frozen.bottleneck_size, len(tree.labels), [c.learning_rate for c in configs], settings.seed,
                  config.train_batch_size, vectors[train_idx] if in_graph else None, labels[train_idx] if in_graph else None)
    sess = heads.session
    n = len(configs)
    tags = [f"[learning_rate {c.learning_rate:g}] " if n > 1 else "" for c in configs]
    with heads.graph.as_default():  # TF1 summary writers only work inside a graph context
        writers = [(v1.summary.FileWriter(str(Path(c.summaries_dir) / "train")), v1.summary.FileWriter(str(Path(c.summaries_dir) / "validation")))
                   for c in configs]
    curves = [{key: [] for key in CURVES} for _ in configs]
    raw_images = None
    if config.distorted:
        raw_images = np.stack([load_rgb(tree.entries[i].path, extractor.frozen.input_size) for i in train_idx])
        log.warning("distortions on: bottlenecks of training images are recomputed every step (slow, as in the codelab)")

    def feed(indices, computed=None):
        return {heads.bottleneck_input: vectors[indices] if computed is None else computed, heads.ground_truth: labels[indices]}

    changes: List[float] = []  # distortions: mean absolute pixel change of each distorted batch

    def next_batch():
        batch = rng.choice(train_idx, size=config.train_batch_size, replace=True) if config.train_batch_size > 0 else train_idx
        if raw_images is None:
            return feed(batch)
        originals = raw_images[np.searchsorted(train_idx, batch)]
        images = distort(originals, config, rng).astype(np.uint8)
        changes.append(float(np.mean(np.abs(images.astype(np.float32) - originals))))
        return feed(batch, extractor.run(images))

    steps = config.how_many_training_steps
    set_up = time.perf_counter() - started  # heads graph, writers, distortion images: not training
    fed_before = extractor.images_run
    started = time.perf_counter()
    done = 0
    for i in (i for i in range(steps) if i % config.eval_step_interval == 0 or i + 1 == steps):
        if in_graph:
            heads.run_steps(i - done)  # the steps since the last evaluation, in one call
        else:
            for _ in range(i - done):
                sess.run(heads.train_step, next_batch())
        done = i + 1
        train_summaries, _, train_accuracy, cross_entropy = sess.run(
            [heads.train_summaries, heads.train_step, heads.accuracy, heads.cross_entropy], next_batch())
        val = val_idx if config.validation_batch_size < 0 or len(val_idx) == 0 else rng.choice(val_idx, size=config.validation_batch_size, replace=True)
        validation_summaries, validation_accuracy = [None] * n, [float("nan")] * n
        full_accuracy, full_cross_entropy = [float("nan")] * n, [float("nan")] * n
        if len(val):
            validation_summaries, validation_accuracy, val_cross_entropy = sess.run(
                [heads.validation_summaries, heads.accuracy, heads.cross_entropy], feed(val))
            # the whole validation set as well: the curves the learning-rate facts are read from (the same
            # pass when the codelab's batch is the whole set, -1)
            full_accuracy, full_cross_entropy = ((validation_accuracy, val_cross_entropy) if val is val_idx
                                                 else sess.run([heads.accuracy, heads.cross_entropy], feed(val_idx)))
        now = _dt.datetime.now()
        for k in range(n):
            writers[k][0].add_summary(train_summaries[k], i)
            if validation_summaries[k] is not None:
                writers[k][1].add_summary(validation_summaries[k], i)
            echo(f"{tags[k]}{now}: Step {i}: Train accuracy = {train_accuracy[k] * 100:.1f}%")
            echo(f"{tags[k]}{now}: Step {i}: Cross entropy = {cross_entropy[k]:f}")
            echo(f"{tags[k]}{now}: Step {i}: Validation accuracy = {validation_accuracy[k] * 100:.1f}% (N={len(val)})")
            values = (i, train_accuracy[k], cross_entropy[k], validation_accuracy[k], full_accuracy[k], full_cross_entropy[k])
            for key, value in zip(CURVES, values):
                curves[k][key].append(float(value))
    trained = time.perf_counter() - started
    # counted by the extractor itself: with distortions every training image goes through the network
    distortion = {"distortion": {"training_extractor_images": extractor.images_run - fed_before, "batches": len(changes),
                                 "mean_pixel_change": float(np.mean(changes)) if changes else 0.0}} if config.distorted else {}

    test = test_idx if config.test_batch_size < 0 or len(test_idx) == 0 else rng.choice(test_idx, size=config.test_batch_size, replace=True)
    if len(test):
        test_accuracy, predictions = sess.run([heads.accuracy, heads.prediction], feed(test))
        predictions = predictions.T  # [heads, images]
    else:
        test_accuracy, predictions = [float("nan")] * n, [[]] * n
    weights, biases = sess.run([heads.weights, heads.biases])
    heads.close()

    results = []
    for k, cfg in enumerate(configs):
        export_started = time.perf_counter()
        graph_def = export_graph(extractor.frozen, weights[:, k], biases[k], cfg.final_tensor_name)
        files.write_bytes(cfg.output_graph, graph_def.SerializeToString())
        files.write_text(cfg.output_labels, "".join(f"{label}\n" for label in tree.labels))
        writers[k][0].add_graph(None, graph_def=graph_def)  # TensorBoard's graph view shows the input layer
        for writer in writers[k]:
            writer.close()
        written = {"labels_file": Path(cfg.output_labels).read_text().splitlines(),  # read back: what a user gets
                   "summaries": {folder: sorted(p.name for p in (Path(cfg.summaries_dir) / folder).glob("events.out.tfevents.*"))
                                 for folder in ("train", "validation")}}
        exported = time.perf_counter() - export_started
        misclassified = [[str(tree.entries[i].path), tree.labels[labels[i]], tree.labels[p]] for i, p in zip(test, predictions[k]) if p != labels[i]]
        echo(f"{tags[k]}Final test accuracy = {float(test_accuracy[k]) * 100:.1f}% (N={len(test)})")
        if cfg.print_misclassified_test_images:
            echo("=== MISCLASSIFIED TEST IMAGES ===")
            for path, truth, guess in misclassified:
                echo(f"{path:>70}  {truth} (predicted {guess})")
        curve = curves[k]
        results.append(dict(
            provenance={
                "architecture": cfg.architecture,
                "extractor": extractor.frozen.identity,
                "extractor_sha256": extractor.frozen.sha256,
                "data": tree.describe(),
                "learning_rate": cfg.learning_rate,
                "steps": steps,
                "train_batch_size": cfg.train_batch_size,
                "validation_batch_size": cfg.validation_batch_size,
                "distortions": cfg.distorted,
                "seed": settings.seed,
                "trained_together_with": [c.learning_rate for c in configs if c is not cfg],
            },
            metrics={
                "final_test_accuracy": float(test_accuracy[k]),
                "test_images": int(len(test)),
                "validation_images": int(len(val_idx)),
                "final_validation_accuracy": curve["validation_accuracy"][-1],
                "final_train_accuracy": curve["train_accuracy"][-1],
                "final_cross_entropy": curve["cross_entropy"][-1],
                "steps_to_plateau": steps_to_plateau(curve["step"], curve["validation_cross_entropy_full"]),
                "evaluations": len(curve["step"]),
                **stability(curve["cross_entropy"], curve["validation_accuracy_full"]),
            },
            timings={"head_setup_s": set_up, "training_s": trained, "export_s": exported, "steps_per_s": steps / trained if trained else 0.0},
            details={"curves": curve, "labels": list(tree.labels), "misclassified": misclassified, **written, **distortion},
            artifacts={"output_graph": str(cfg.output_graph), "output_labels": str(cfg.output_labels), "summaries_dir": str(cfg.summaries_dir)},
        ))
    return results


def retrain(configs: Sequence[RetrainConfig], settings: Settings, tree: Optional[ImageTree] = None, data: Any = None,
            echo=print) -> List[TaskResult]:
    """One retrain, or several that differ only in learning rate and outputs (a sweep): the
    extractor is loaded, the bottleneck pass made and the heads trained once for all.
    `data` says where the tree came from (anything with a stand_in flag); by default the
    --image_dir folder."""
    first = configs[0]
    _check_sweep(configs)
    started = time.perf_counter()
    if tree is None:
        if not first.image_dir:
            raise HomeworkError("retrain: --image_dir is required")
        tree = load_image_tree(first.image_dir, first.validation_percentage, first.testing_percentage, settings.cache_dir)
    if data is None:
        data = folder_data(tree.root)
    frozen = load_extractor(first, settings)
    extractor = Extractor(frozen)
    loaded = time.perf_counter() - started

    cache = BottleneckCache(first.bottleneck_dir, frozen.sha256, frozen.bottleneck_size)
    vectors, made = bottleneck_pass(extractor, tree, cache)
    if not first.distorted:  # only distortions need the network after the pass: give its memory back before training
        extractor.close()
    try:
        runs = train_heads(extractor, tree, vectors, configs, settings, echo)
    finally:
        extractor.close()
    shared = {"graph_load_s": loaded, "bottleneck_s": made.seconds, "bottleneck_images_per_s": made.images_per_s}
    return [TaskResult.of("retrain", inputs=[frozen, data], provenance=run["provenance"], metrics=run["metrics"],
                          timings={**shared, **run["timings"]}, details={**run["details"], "cache": made.as_dict()},
                          artifacts=run["artifacts"])
            for run in runs]
