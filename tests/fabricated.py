"""A fabricated run record whose every verdict passes and whose numbers agree with each other,
built in code so each test can take one phenomenon away and see its verdict fail.

The shapes follow what the tasks record (tests/test_verdicts.py also checks a real run's record
against the verdicts, so the two cannot drift apart unnoticed)."""
from __future__ import annotations

import copy
import math

import numpy as np

from homework import stats

STEPS = 400
CLASSES = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
FOLDERS = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]


def _curves(steps: int, final_loss: float, rate_of_decay: float, wobble: float = 0.0, validation_images: int = 100, seed: int = 0):
    rng = np.random.default_rng(seed)
    step = sorted(set(range(0, steps, 10)) | {steps - 1})
    loss = [final_loss + (1.6 - final_loss) * math.exp(-rate_of_decay * s) + wobble * rng.standard_normal() ** 2 for s in step]
    accuracy = [round(min(1.0, max(0.0, 1 - l / 2.0)) * validation_images) / validation_images for l in loss]
    return {"step": step, "train_accuracy": accuracy, "cross_entropy": loss, "validation_accuracy": accuracy,
            "validation_accuracy_full": accuracy, "validation_cross_entropy_full": loss}


def _retrain_run(rate: float, curves: dict, test_correct: int, test_images: int = 100, architecture: str = "mobilenet_0.50_224",
                 stand_in: bool = True) -> dict:
    extractor = "stand-in v2: tf_keras.applications mobilenet_v1 width 0.5" if stand_in else "tfhub: mobilenet"
    return {
        "task": "retrain", "stand_in": stand_in,
        "provenance": {"architecture": architecture, "extractor": extractor, "extractor_sha256": "e" * 64,
                       "data": {"root": "/cache/flower_photos", "sha256": "d" * 64, "classes": CLASSES, "class_dirs": FOLDERS,
                                "images": 500, "splits": {"training": 300, "validation": 100, "testing": test_images}, "skipped": 0,
                                "sample": ["daisy/daisy_0001.jpg"]},
                       "learning_rate": rate, "steps": STEPS, "train_batch_size": 100, "validation_batch_size": 100,
                       "distortions": False, "seed": 0, "trained_together_with": []},
        "metrics": {"final_test_accuracy": test_correct / test_images, "test_images": test_images, "validation_images": 100,
                    "final_validation_accuracy": curves["validation_accuracy"][-1], "final_train_accuracy": curves["train_accuracy"][-1],
                    "final_cross_entropy": curves["cross_entropy"][-1], "steps_to_plateau": 100, "evaluations": len(curves["step"]),
                    "diverged": False, "oscillating": False, "nan_loss": False},
        "timings": {"graph_load_s": 1.0, "bottleneck_s": 2.0, "bottleneck_images_per_s": 250.0, "training_s": 0.4, "steps_per_s": STEPS / 0.4},
        "details": {"curves": curves, "labels": CLASSES, "misclassified": [], "labels_file": CLASSES,
                    "summaries": {"train": ["events.out.tfevents.1.host"], "validation": ["events.out.tfevents.2.host"]},
                    "cache": {"images": 500, "hits": 0, "misses": 500, "corrupt_rebuilt": 0, "extractor_images": 500, "throughput_from": "this run"}},
        "artifacts": {},
    }


def _mnist(seeds=(0, 1, 2), n=1000) -> dict:
    rng = np.random.default_rng(7)
    base = [rng.random(n) < 0.92 for _ in seeds]
    chal = [rng.random(n) < 0.97 for _ in seeds]
    per = {"baseline": base, "cnn": chal, "mlp_l2": [rng.random(n) < 0.94 for _ in seeds]}
    metrics, models = {}, {}
    for name, runs in per.items():
        accuracies = [float(r.mean()) for r in runs]
        metrics[name] = {"test_accuracy_mean": float(np.mean(accuracies)), "test_accuracy_spread": stats.spread(accuracies),
                         "test_accuracy_per_seed": accuracies, "parameters": 101770, "epoch_seconds_mean": 1.0,
                         "inference_images_per_s": 5000.0}
        models[name] = {"summary": {"layers": [{"name": "flatten", "type": "Flatten", "output_shape": "(None, 784)", "parameters": 0},
                                               {"name": "dense", "type": "Dense", "output_shape": "(None, 128)", "parameters": 100480},
                                               {"name": "dropout", "type": "Dropout", "output_shape": "(None, 128)", "parameters": 0},
                                               {"name": "dense_1", "type": "Dense", "output_shape": "(None, 10)", "parameters": 1290}],
                                    "trainable_parameters": 101770, "total_parameters": 101770},
                        "history": {"val_accuracy": [0.9] * 5, "accuracy": [0.9] * 5}, "epoch_seconds": [1.0] * 5}
    return {
        "task": "mnist", "stand_in": True,
        "provenance": {"data": {"source": "embedded: 5,000 MNIST digits", "stand_in": True, "sha256": "m" * 64, "train": 4000, "test": n},
                       "seeds": list(seeds), "epochs": 5, "split": "held-out test split"},
        "metrics": metrics,
        "timings": {"training_s": 10.0},
        "details": {"models": models, "challenger": "cnn",
                    "sweeps": {"l2": [{"l2": v, "test_accuracy": 0.95} for v in (1e-5, 1e-4, 1e-3)],
                               "dropout": [{"dropout": v, "test_accuracy": 0.93} for v in (0.05, 0.2, 0.5)]},
                    "test_correct": {name: [stats.pack_correct(r) for r in runs] for name, runs in per.items()}},
        "artifacts": {},
    }


def _phase(correct, trainable: bool, change: float, epochs: int = 2, batch=(32,)) -> dict:
    return {"trainable": trainable, "learning_rate": 1e-4 if trainable else 1e-3,
            "history": {"accuracy": [0.8] * epochs, "val_accuracy": [0.8] * epochs, "loss": [0.5] * epochs, "val_loss": [0.5] * epochs},
            "epoch_seconds": [3.0] * epochs, "batch_sizes_tried": list(batch), "batch_size": batch[-1],
            "summary": {"trainable_parameters": 2_230_277 if trainable else 6405},
            "final_val_accuracy": 0.8, "test_accuracy": sum(correct) / len(correct), "test_correct": list(correct),
            "inference_images_per_s": 100.0, "module_weight_change": change}


def _transfer(n=120) -> dict:
    frozen = [1 if i % 10 else 0 for i in range(n)]  # 90%
    tuned = [1 if i % 20 else 0 for i in range(n)]  # 95%
    return {
        "task": "transfer", "stand_in": True,
        "provenance": {"data": {"identity": "stand-in: generated flower_photos v1 (abc)", "classes": CLASSES, "class_dirs": FOLDERS,
                                "splits": {"training": 280, "validation": 100, "testing": n}, "images": 500},
                       "module": {"architecture": "mobilenet_v2_1.00_224", "identity": "stand-in v2: mobilenet_v2", "sha256": "f" * 64,
                                  "stand_in": True, "parameters": 2257984},
                       "image_size": 96, "epochs": 2},
        "metrics": {"frozen_test_accuracy": sum(frozen) / n, "fine_tuned_test_accuracy": sum(tuned) / n, "test_images": n,
                    "train_images": 280, "val_images": 100},
        "timings": {"frozen_epoch_s": 3.0, "fine_tuned_epoch_s": 3.0},
        "details": {"frozen": _phase(frozen, False, 0.0), "fine_tuned": _phase(tuned, True, 1e-3)},
        "artifacts": {},
    }


def _evidence(name: str, provenance: dict, details: dict) -> dict:
    return {"task": name, "stand_in": True, "provenance": provenance, "metrics": {}, "timings": {}, "details": details, "artifacts": {}}


def _sweep() -> dict:
    runs = [_retrain_run(0.005, _curves(STEPS, 0.3, 0.01, seed=1), 93),
            _retrain_run(0.01, _curves(STEPS, 0.3, 0.02, seed=2), 94),
            _retrain_run(1.0, _curves(STEPS, 3.0, 0.5, wobble=2.0, seed=3), 90)]
    for run in runs:
        run["provenance"]["trained_together_with"] = [r["provenance"]["learning_rate"] for r in runs if r is not run]
    top = [["daisy", 0.7], ["roses", 0.2], ["tulips", 0.05], ["sunflowers", 0.03], ["dandelion", 0.02]]
    rates = {f"{r['provenance']['learning_rate']:g}": {k: r["metrics"][k] for k in ("final_test_accuracy", "final_validation_accuracy")}
             for r in runs}
    return {
        "task": "retrain_learning_rates", "stand_in": True,
        "provenance": {"data": "stand-in: generated flower_photos v1 (abc)", "architecture": "mobilenet_0.50_224",
                       "extractor": runs[0]["provenance"]["extractor"], "steps": STEPS},
        "metrics": {"test_images": 100, "validation_images": 100,
                    **{f"test_accuracy_at_{r['provenance']['learning_rate']:g}": r["metrics"]["final_test_accuracy"] for r in runs}},
        "timings": {"bottleneck_s": 2.0},
        "details": {"rates": rates, "checks": {rate: {"usable": True, "top": top} for rate in ("0.005", "0.01", "1")},
                    "cache": runs[0]["details"]["cache"], "runs": runs},
        "artifacts": {},
    }


def _inception() -> dict:
    run = _retrain_run(0.01, _curves(STEPS, 0.3, 0.02, seed=4), 18, test_images=21, architecture="inception_v3")
    return {
        "task": "retrain_inception", "stand_in": True,
        "provenance": {"data": "stand-in: generated flower_photos v1 (abc)", "extractor": "stand-in v1: inception_v3", "images": 100},
        "metrics": {"final_test_accuracy": run["metrics"]["final_test_accuracy"], "test_images": 21, "input_height": 299, "input_width": 299},
        "timings": {"bottleneck_s": 6.0},
        "details": {"input_layer": {"name": "Mul", "height": 299, "width": 299},
                    "checks": {"label_with_inspected_input": {"usable": True, "top": [["daisy", 0.9]]},
                               "label_with_mobilenet_defaults": {"usable": False, "error": "g.pb: no input 'input' of 224x224: this graph "
                                                                 "takes --input_layer='Mul' --input_height=299 --input_width=299 (299x299)"},
                               "tensorflow_feed": {"shape": [1, 5], "scores_sum": 1.0, "smaller_refused": True, "smaller_size": [224, 224]}},
                    "cache": run["details"]["cache"], "runs": [run]},
        "artifacts": {},
    }


def _own_images() -> dict:
    rows = []
    for count, accuracy in ((3, 0.6), (6, 0.7), (12, 0.8)):
        draws = [accuracy] * 12
        rows.append({"images_per_class": count, "final_test_accuracy": accuracy, "standard_error": 0.03, "draws": draws, "test_images": 200})
    return {
        "task": "retrain_own_images", "stand_in": True,
        "provenance": {"data": "stand-in: generated own_images v1 (def)", "extractor": "stand-in v2: mobilenet_v1", "classes": ["apples", "bananas"],
                       "held_out_images": 200, "draws_per_count": 12, "counts_skipped": []},
        "metrics": {"test_accuracy_at_3": 0.6, "test_accuracy_at_12": 0.8, "test_images": 200, "gain_3_to_12": 0.2,
                    "gain_3_to_12_standard_error": 0.04},
        "timings": {"training_s": 2.0},
        "details": {"rows": rows},
        "artifacts": {},
    }


def honest(gpu: bool = True) -> dict:
    """A record in which every verdict passes (and, with a GPU leg, none is 'not run')."""
    settings = {"profile": "embedded", "seed": 0, "seeds": [0, 1, 2], "mnist_epochs": 5, "transfer_epochs": 2, "transfer_image_size": 96,
                "batch_size": 32, "training_steps": STEPS, "learning_rates": [0.005, 0.01, 1.0], "l2_values": [1e-5, 1e-4, 1e-3],
                "dropout_values": [0.05, 0.2, 0.5], "own_images_per_class": [3, 6, 12]}
    cpu = {"gpus_visible": 0, "bottleneck_s": 4.0, "training_s": 0.5, "graph_load_s": 1.0, "stand_in": True}
    gpu_leg = {"gpus_visible": 1, "bottleneck_s": 0.5, "training_s": 0.3, "graph_load_s": 2.0, "stand_in": True} if gpu else {
        "skipped": "no GPU on this machine"}
    phase = _phase([1] * 50, False, 0.0, epochs=2, batch=(32, 16, 8))
    budget_phase = _phase([1] * 50, False, 0.0, epochs=1, batch=(4,))
    return {
        "schema_version": 2, "run_id": "fabricated01", "device_label": "test", "created": "2026-01-01T00:00:00+00:00",
        "updated": "2026-01-01T00:00:00+00:00",
        "provenance": {"profile": "embedded", "seed": 0, "settings": settings, "settings_sources": {}, "versions": {}, "device": {}},
        "tasks": {
            "mnist": _mnist(),
            "transfer": _transfer(),
            "transfer_oom": _evidence("transfer_oom", {"simulate_oom_above": 8, "batch_size": 32, "epochs": 2}, {"phase": phase}),
            "transfer_memory_budget": _evidence("transfer_memory_budget", {"budget_mb": 100, "per_sample_bytes": 16 * 2**20,
                                                                             "batch_size": 32, "epochs": 1}, {"phase": budget_phase}),
            "retrain_learning_rates": _sweep(),
            "retrain_cache": _evidence("retrain_cache", {"extractor": "stand-in"}, {
                "images": 70, "rates": 3,
                "cold": {"images": 70, "hits": 0, "misses": 70, "corrupt_rebuilt": 0, "extractor_images": 70, "throughput_from": "this run", "images_per_s": 200.0},
                "warm": {"images": 70, "hits": 70, "misses": 0, "corrupt_rebuilt": 0, "extractor_images": 0,
                         "throughput_from": "cache metadata: 2026-01-01", "images_per_s": 200.0},
                "corrupted": {"images": 70, "hits": 69, "misses": 0, "corrupt_rebuilt": 1, "extractor_images": 1,
                              "throughput_from": "this run", "images_per_s": 150.0}}),
            "retrain_distortions": _evidence("retrain_distortions", {}, {"training_extractor_images": 24, "batches": 3, "mean_pixel_change": 31.5,
                                                                         "steps": 3, "batch": 8, "cache_before": "a" * 64, "cache_after": "a" * 64}),
            "retrain_cpu_vs_gpu": {"task": "retrain_cpu_vs_gpu", "stand_in": True, "provenance": {"architecture": "mobilenet_0.50_224"},
                                   "metrics": {"gpu_ran": gpu}, "timings": {}, "details": {"legs": {"cpu": cpu, "gpu": gpu_leg}}, "artifacts": {}},
            "retrain_inception": _inception(),
            "retrain_own_images": _own_images(),
        },
        "resources": {}, "previous": [],
    }


def edited(record: dict, change) -> dict:
    out = copy.deepcopy(record)
    change(out)
    return out


def edit(path: str, value, sep: str = "."):
    """An edit to a record: the value at `path` (keys joined by `sep`, list indices as numbers) set
    to `value`; a callable `value` gets the old value."""
    def change(record):
        *parents, last = path.split(sep)
        node = record
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        key = int(last) if isinstance(node, list) else last
        node[key] = value(node[key]) if callable(value) else value
    return change
