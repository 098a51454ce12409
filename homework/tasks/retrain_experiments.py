"""The homework's TF1 experiments on top of `retrain`: the learning-rate sweep (questions 8
and 9), Inception v3 and its input layer (questions 12 and 13) and "your own images"
(question 10). Each returns a result for the run record."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Dict

from ..data import trees
from ..data.trees import OWN_HELD_OUT
from ..data.images import ImageTree, load_image_tree
from ..errors import HomeworkError
from ..models.registry import INCEPTION_V3, get_architecture
from ..settings import Settings
from .label_image import inspect_input, label_image, read_graph_def
from .result import TaskResult
from .retrain import RetrainConfig, retrain

SWEEP_METRICS = ("final_test_accuracy", "final_validation_accuracy", "final_train_accuracy", "final_cross_entropy",
                 "steps_to_plateau", "diverged", "oscillating", "loss_variation_second_half")


def base_config(settings: Settings, workdir: Path, name: str, **changes) -> RetrainConfig:
    folder = Path(workdir) / name
    values = dict(
        output_graph=str(folder / "retrained_graph.pb"),
        output_labels=str(folder / "retrained_labels.txt"),
        summaries_dir=str(folder / "training_summaries"),
        how_many_training_steps=settings.training_steps,
        bottleneck_dir=str(Path(settings.cache_dir) / "bottlenecks"),
        architecture=settings.architecture,
    )
    values.update(changes)
    return RetrainConfig(**values)


def try_label(result: TaskResult, tree: ImageTree) -> dict:
    """Label one test image with an exported graph, reading its input off the graph."""
    graph = result.artifacts["output_graph"]
    layer = inspect_input(read_graph_def(graph))
    arch = get_architecture(result.provenance["architecture"])
    image = (tree.split("testing") or tree.split("training"))[0]
    try:
        labelled = label_image(graph, result.artifacts["output_labels"], str(image.path), layer.name, "final_result", layer.height, layer.width, arch.input_mean, arch.input_std)
    except HomeworkError as exc:
        return {"usable": False, "error": str(exc), "image": str(image.path)}
    return {"usable": True, "image": str(image.path), "true_label": tree.labels[image.label_index], "top": labelled.top, "seconds": labelled.seconds}


def learning_rate_sweep(settings: Settings, workdir: Path, echo=print) -> TaskResult:
    source = trees.flowers(settings)
    tree = load_image_tree(source.root, settings.validation_percentage, settings.testing_percentage, settings.cache_dir)
    started = time.perf_counter()
    configs = [base_config(settings, workdir, f"lr_{rate:g}", learning_rate=rate) for rate in settings.learning_rates]
    runs = retrain(configs, settings, tree=tree, data=source, echo=echo)
    total = time.perf_counter() - started
    first = runs[0]
    return TaskResult.of(
        "retrain_learning_rates",
        inputs=[source, *runs],
        provenance={"data": source.identity, "architecture": settings.architecture, "extractor": first.provenance["extractor"],
                    "steps": settings.training_steps},
        metrics={"test_images": first.metrics["test_images"], "validation_images": first.metrics["validation_images"]},
        timings={"total_s": total, **{k: first.timings[k] for k in ("graph_load_s", "bottleneck_s", "bottleneck_images_per_s", "training_s", "steps_per_s")}},
        details={
            "rates": {f"{run.provenance['learning_rate']:g}": {key: run.metrics[key] for key in SWEEP_METRICS} for run in runs},
            "checks": {f"{run.provenance['learning_rate']:g}": try_label(run, tree) for run in runs},
            "cache": first.details["cache"],
            "runs": runs,
        },
    )


def inception(settings: Settings, workdir: Path, echo=print) -> TaskResult:
    """Retrain Inception v3, then read its input layer off the exported graph (question 13)."""
    source = trees.flowers(settings)
    tree = load_image_tree(source.root, settings.validation_percentage, settings.testing_percentage, settings.cache_dir)
    config = base_config(settings, workdir, "inception_v3", architecture=INCEPTION_V3.name)
    (run,) = retrain([config], settings, tree=tree, data=source, echo=echo)
    layer = inspect_input(read_graph_def(run.artifacts["output_graph"]))
    with_inspected = try_label(run, tree)
    image = tree.entries[0].path
    try:
        label_image(run.artifacts["output_graph"], run.artifacts["output_labels"], str(image))  # MobileNet's defaults
        with_defaults = {"usable": True, "error": ""}
    except HomeworkError as exc:
        with_defaults = {"usable": False, "error": str(exc)}
    return TaskResult.of(
        "retrain_inception",
        inputs=[source, run],
        provenance={"data": source.identity, "extractor": run.provenance["extractor"], "read_from": run.artifacts["output_graph"]},
        metrics={"final_test_accuracy": run.metrics["final_test_accuracy"], "test_images": run.metrics["test_images"],
                 "input_height": layer.height, "input_width": layer.width},
        timings={k: run.timings[k] for k in ("graph_load_s", "bottleneck_s", "bottleneck_images_per_s", "training_s")},
        details={"input_layer": {"name": layer.name, "height": layer.height, "width": layer.width},
                 "checks": {"label_with_inspected_input": with_inspected, "label_with_mobilenet_defaults": with_defaults},
                 "cache": run.details["cache"], "runs": [run]},
    )


def own_images(settings: Settings, workdir: Path, echo=print) -> TaskResult:
    """Accuracy against images per class (question 10) on a small tree: --image_dir, or the
    generated three-class fruit tree. The last OWN_HELD_OUT images of each class are the
    fixed test set; training takes the first n of the rest."""
    counts = sorted(settings.own_images_per_class)
    source = trees.own_images(settings)
    full = load_image_tree(source.root, 0, 0, settings.cache_dir)
    by_class: Dict[int, list] = {}
    for entry in full.entries:
        by_class.setdefault(entry.label_index, []).append(entry)
    rows, runs = [], []
    for n in counts:
        entries = []
        for members in by_class.values():
            if len(members) < n + OWN_HELD_OUT:
                raise HomeworkError(f"{source.root}: class folders need {n + OWN_HELD_OUT} images for {n} training images each")
            entries += [dataclasses.replace(e, split="training") for e in members[:n]]
            entries += [dataclasses.replace(e, split="testing") for e in members[-OWN_HELD_OUT:]]
            entries += [dataclasses.replace(e, split="validation") for e in members[-OWN_HELD_OUT:]]  # curves only
        subset = dataclasses.replace(full, entries=tuple(entries))
        (run,) = retrain([base_config(settings, workdir, f"own_{n}", validation_batch_size=-1)], settings, tree=subset, data=source, echo=echo)
        runs.append(run)
        rows.append({"images_per_class": n, "final_test_accuracy": run.metrics["final_test_accuracy"], "test_images": run.metrics["test_images"]})
    return TaskResult.of(
        "retrain_own_images",
        inputs=[source, *runs],
        provenance={"data": source.identity, "classes": list(full.labels), "held_out_per_class": OWN_HELD_OUT, "architecture": settings.architecture},
        metrics={f"test_accuracy_at_{row['images_per_class']}": row["final_test_accuracy"] for row in rows},
        timings={"training_s": sum(r.timings["training_s"] for r in runs)},
        details={"rows": rows, "runs": runs},
    )
