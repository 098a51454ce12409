"""The homework's TF1 experiments on top of `retrain`: the learning-rate sweep (questions 8
and 9), Inception v3 and its input layer (questions 12 and 13) and "your own images"
(question 10). Each returns a result for the run record."""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Dict, Tuple

import numpy as np

from ..data import trees
from ..data.images import ImageTree, load_image_tree
from ..errors import HomeworkError
from ..models.registry import INCEPTION_V3, get_architecture
from ..resources import in_child, release_memory
from ..settings import Settings
from .label_image import inspect_input, label_image, read_graph_def
from .bottlenecks import BottleneckCache
from .result import TaskResult
from .retrain import RetrainConfig, retrain, train_heads
from .retrain_curves import learning_rate_facts
from .retrain_extractor import Extractor, bottleneck_pass, load_extractor

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
    labels = {f"{run.provenance['learning_rate']:g}": run for run in runs}
    facts = learning_rate_facts({rate: run.details["curves"] for rate, run in labels.items()},
                                validation_images=first.metrics["validation_images"])
    reached = facts.get("steps_to_reference_plateau", {})
    return TaskResult.of(
        "retrain_learning_rates",
        inputs=[source, *runs],
        provenance={"data": source.identity, "architecture": settings.architecture, "extractor": first.provenance["extractor"],
                    "steps": settings.training_steps},
        metrics={"test_images": first.metrics["test_images"], "validation_images": first.metrics["validation_images"],
                 **{f"test_accuracy_at_{rate}": run.metrics["final_test_accuracy"] for rate, run in labels.items()},
                 **{key: facts[key] for key in ("slower", "slower_ratio", "unstable") if key in facts}},
        timings={"total_s": total, **{k: first.timings[k] for k in ("graph_load_s", "bottleneck_s", "bottleneck_images_per_s", "training_s", "steps_per_s")}},
        details={
            "rates": {rate: {**{key: run.metrics[key] for key in SWEEP_METRICS}, "steps_to_reference_plateau": reached.get(rate)}
                      for rate, run in labels.items()},
            "facts": facts,
            "checks": {f"{run.provenance['learning_rate']:g}": try_label(run, tree) for run in runs},
            "cache": first.details["cache"],
            "runs": runs,
        },
    )


INCEPTION_EMBEDDED_PER_CLASS = 20  # embedded: Inception v3 at 299 px runs on 100 of the flowers (a cold pass stays short)


def balanced_subset(tree: ImageTree, per_class: int) -> ImageTree:
    """The first `per_class` images of each class in content-hash order, their splits kept."""
    taken: Dict[int, int] = {}
    kept = []
    for entry in sorted(tree.entries, key=lambda e: e.sha256):
        if taken.get(entry.label_index, 0) < per_class:
            taken[entry.label_index] = taken.get(entry.label_index, 0) + 1
            kept.append(entry)
    return dataclasses.replace(tree, entries=tuple(sorted(kept, key=lambda e: str(e.path))))


def feed_check(graph_path: str, layer, smaller: int = 75) -> dict:
    """TensorFlow's own verdict on the input layer the reader found: feed a zero image of that
    size into that op and read final_result, then one `smaller` pixels smaller, which it must refuse."""
    import numpy as np

    from ..compat import session_config, tf, v1

    with tf.Graph().as_default() as graph:
        v1.import_graph_def(read_graph_def(graph_path), name="")
        release_memory()  # the parsed GraphDef is garbage now: Inception v3's weights need not sit here twice
        image, scores = graph.get_tensor_by_name(f"{layer.name}:0"), graph.get_tensor_by_name("final_result:0")
        with v1.Session(graph=graph, config=session_config(optimize=False)) as sess:
            out = sess.run(scores, {image: np.zeros((1, layer.height, layer.width, 3), np.float32)})
            try:
                sess.run(scores, {image: np.zeros((1, layer.height - smaller, layer.width - smaller, 3), np.float32)})
                refused = ""
            except (ValueError, tf.errors.InvalidArgumentError) as exc:
                refused = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    release_memory()
    return {"shape": list(out.shape), "scores_sum": float(out.sum()), "smaller_size": [layer.height - smaller, layer.width - smaller],
            "smaller_refused": bool(refused), "refusal": refused}


def inception(settings: Settings, workdir: Path, echo=print) -> TaskResult:
    """Retrain Inception v3, then read its input layer off the exported graph (question 13)."""
    source = trees.flowers(settings)
    tree = load_image_tree(source.root, settings.validation_percentage, settings.testing_percentage, settings.cache_dir)
    if settings.profile != "real":
        tree = balanced_subset(tree, INCEPTION_EMBEDDED_PER_CLASS)
    config = base_config(settings, workdir, "inception_v3", architecture=INCEPTION_V3.name)
    (run,) = retrain([config], settings, tree=tree, data=source, echo=echo)
    layer = inspect_input(read_graph_def(run.artifacts["output_graph"]), "final_result")
    with_inspected = try_label(run, tree)
    fed = feed_check(run.artifacts["output_graph"], layer)
    image = tree.entries[0].path
    try:
        label_image(run.artifacts["output_graph"], run.artifacts["output_labels"], str(image))  # MobileNet's defaults
        with_defaults = {"usable": True, "error": ""}
    except HomeworkError as exc:
        with_defaults = {"usable": False, "error": str(exc)}
    return TaskResult.of(
        "retrain_inception",
        inputs=[source, run],
        provenance={"data": source.identity, "images": len(tree.entries), "extractor": run.provenance["extractor"],
                    "read_from": run.artifacts["output_graph"]},
        metrics={"final_test_accuracy": run.metrics["final_test_accuracy"], "test_images": run.metrics["test_images"],
                 "input_height": layer.height, "input_width": layer.width},
        timings={k: run.timings[k] for k in ("graph_load_s", "bottleneck_s", "bottleneck_images_per_s", "training_s")},
        details={"input_layer": {"name": layer.name, "height": layer.height, "width": layer.width},
                 "checks": {"label_with_inspected_input": with_inspected, "label_with_mobilenet_defaults": with_defaults,
                            "tensorflow_feed": fed},
                 "cache": run.details["cache"], "runs": [run]},
    )


OWN_DRAWS = 12  # random training subsets per count: at a few images per class, which ones matter as much as how many
HELD_MIN = 3  # images per class past the largest count that make a held-out set of their own
HELD_SHARE = 0.3  # otherwise this share of each class is held out, and counts that do not fit are skipped


def in_child_process(experiment, settings: Settings, workdir: Path) -> TaskResult:
    """Run an experiment (a function of this module) in a fresh process and return its result
    (nested results as plain dicts, as the record stores them). Inception v3's graph is copied
    several times on its way through import, export and label_image, and a process keeps that
    memory; a child gives it all back when it ends (resources.in_child)."""
    data = in_child(_run_jsonable, experiment.__name__, settings, str(workdir), gpu_memory_mb=settings.memory_budget_mb)
    return TaskResult(**data)


def _run_jsonable(name: str, settings: Settings, workdir: str) -> dict:
    from ..record import to_jsonable

    result = globals()[name](settings, Path(workdir), echo=lambda line: None)
    return {key: to_jsonable(getattr(result, key)) for key in ("task", "stand_in", "provenance", "metrics", "timings", "details", "artifacts")}


def own_split(tree: ImageTree, counts) -> Tuple[list, dict, list]:
    """The fixed held-out set and the training pool per class, in content-hash order (so file
    names and shooting order do not decide it): the images past the largest count when there
    are HELD_MIN of them, else HELD_SHARE of the class. Returns held-out entries, pools by
    class, and the counts every class has enough training images for."""
    by_class: Dict[int, list] = {}
    for entry in sorted(tree.entries, key=lambda e: e.sha256):
        by_class.setdefault(entry.label_index, []).append(entry)
    if len(by_class) < 2:
        raise HomeworkError(f"{tree.root}: own images need at least two class folders with images")
    held, pools = [], {}
    for label, members in sorted(by_class.items()):
        spare = len(members) - max(counts)
        keep = spare if spare >= HELD_MIN else max(1, math.ceil(HELD_SHARE * len(members)))
        held += members[-keep:]
        pools[label] = members[:-keep]
    usable = [n for n in counts if all(len(pool) >= n for pool in pools.values())]
    if not usable:
        smallest = min(by_class.items(), key=lambda item: len(item[1]))
        raise HomeworkError(f"{tree.root}: class '{tree.labels[smallest[0]]}' has {len(smallest[1])} images; "
                            f"{min(counts)} per class for training plus held-out ones are needed")
    return held, pools, usable


def own_images(settings: Settings, workdir: Path, echo=print) -> TaskResult:
    """Accuracy against images per class (question 10) on the student's photos (own_images_dir)
    or, in the embedded profile, the generated fruit tree. A fixed held-out set from that folder
    tests every count; at each count, OWN_DRAWS random draws of that many training images per
    class are trained on (one bottleneck pass for all), and the mean and its standard error
    are recorded. In the real profile without a folder, there is nothing to run."""
    source = trees.own_images(settings)
    if source is None:
        raise HomeworkError("question 10 needs your own photos: pass --own-images-dir PATH (one folder per class)")
    counts = sorted(set(settings.own_images_per_class))
    full = load_image_tree(source.root, 0, 0, settings.cache_dir)
    held, pools, usable = own_split(full, counts)
    config = base_config(settings, workdir, "own_images", validation_batch_size=-1)
    frozen = load_extractor(config, settings)
    extractor = Extractor(frozen)
    vectors, made = bottleneck_pass(extractor, full, BottleneckCache(config.bottleneck_dir, frozen.sha256, frozen.bottleneck_size))
    index = {entry.path: k for k, entry in enumerate(full.entries)}
    held_entries = [dataclasses.replace(e, split="testing") for e in held] + [dataclasses.replace(e, split="validation") for e in held]
    rows, correct_by_count = [], {}
    started = time.perf_counter()
    try:
        for n in usable:
            accuracies, correct = [], np.zeros(len(held))
            for draw in range(OWN_DRAWS):
                rng = np.random.default_rng([settings.seed, n, draw])
                train = [dataclasses.replace(pool[k], split="training") for pool in pools.values() for k in rng.choice(len(pool), n, replace=False)]
                subset = dataclasses.replace(full, entries=tuple(train + held_entries))
                rows_vectors = vectors[[index[e.path] for e in subset.entries]]
                draw_config = dataclasses.replace(config, output_graph=str(Path(workdir) / f"own_{n}" / "retrained_graph.pb"),
                                                  output_labels=str(Path(workdir) / f"own_{n}" / "retrained_labels.txt"),
                                                  summaries_dir=str(Path(workdir) / f"own_{n}" / f"training_summaries_{draw}"))
                (run,) = train_heads(extractor, subset, rows_vectors, [draw_config], settings.replace(seed=settings.seed * 1000 + draw), echo)
                accuracies.append(run["metrics"]["final_test_accuracy"])
                wrong = {path for path, _, _ in run["details"]["misclassified"]}
                correct += [str(e.path) not in wrong for e in held]
            mean = float(np.mean(accuracies))
            se = math.sqrt(float(np.var(accuracies, ddof=1)) / OWN_DRAWS + mean * (1 - mean) / len(held))
            correct_by_count[n] = correct / OWN_DRAWS
            rows.append({"images_per_class": n, "final_test_accuracy": mean, "standard_error": se, "draws": accuracies,
                         "test_images": len(held)})
    finally:
        extractor.close()
    trained = time.perf_counter() - started
    lo, hi = usable[0], usable[-1]
    gain = rows[-1]["final_test_accuracy"] - rows[0]["final_test_accuracy"]
    # per held-out image, the share of draws that got it right at the largest count minus at the smallest:
    # the test-set part of the difference's error, with the draws' spread added
    paired = correct_by_count[hi] - correct_by_count[lo]
    se_gain = math.sqrt(float(np.var(paired, ddof=1)) / len(held) + (np.var(rows[0]["draws"], ddof=1) + np.var(rows[-1]["draws"], ddof=1)) / OWN_DRAWS) if len(held) > 1 else float("nan")
    return TaskResult.of(
        "retrain_own_images",
        inputs=[source, frozen],
        provenance={"data": source.identity, "extractor": frozen.identity, "classes": list(full.labels), "held_out_images": len(held),
                    "held_out_per_class": {full.labels[label]: sum(e.label_index == label for e in held) for label in pools},
                    "draws_per_count": OWN_DRAWS, "architecture": settings.architecture, "steps": config.how_many_training_steps,
                    "counts_skipped": [n for n in counts if n not in usable]},
        metrics={**{f"test_accuracy_at_{row['images_per_class']}": row["final_test_accuracy"] for row in rows},
                 "test_images": len(held), f"gain_{lo}_to_{hi}": gain, f"gain_{lo}_to_{hi}_standard_error": se_gain},
        timings={"bottleneck_s": made.seconds, "bottleneck_images_per_s": made.images_per_s, "training_s": trained},
        details={"rows": rows, "cache": made.as_dict(),
                 "note": "" if len(usable) == len(counts) else f"counts {', '.join(str(n) for n in counts if n not in usable)} skipped: not enough images per class"},
    )
