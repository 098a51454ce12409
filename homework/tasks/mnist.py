"""Task 1.1: the TF2 beginner MNIST model, and challengers that must beat it.

Baseline and challengers train on the same split with the same budget over several
seeds; accuracy is always measured on the held-out test split, and every model's right/wrong
per test image is recorded for every seed: homework/verdicts.py judges the gain from those
(CHALLENGER_MARGIN_SE standard errors, from both the seeds and the finite test split).
Digits stay uint8 in memory and are scaled batch by batch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np

from ..data.mnist import MnistData, load_mnist
from ..settings import Settings
from ..stats import pack_correct, spread
from .common import EpochTimer, batches, keras_callback, model_summary, predicted_labels, release
from .result import TaskResult

BASELINE = "baseline"
CHALLENGERS = ("cnn", "mlp_l2")
BATCH = 32  # Keras' default, as the tutorial fits


def baseline(dropout: float = 0.2):
    """The TF2 quickstart for beginners, layer for layer."""
    from ..compat import keras

    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(10),
        ],
        name="baseline",
    )


def cnn():
    """A small convnet with dropout after pooling."""
    from ..compat import keras

    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Dropout(0.25),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Dropout(0.25),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10),
        ],
        name="cnn",
    )


def mlp_l2(l2: float = 1e-4, dropout: float = 0.2):
    """A deeper MLP with L2 weight decay."""
    from ..compat import keras

    reg = keras.regularizers.l2(l2)
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(256, activation="relu", kernel_regularizer=reg),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(128, activation="relu", kernel_regularizer=reg),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(10),
        ],
        name="mlp_l2",
    )


BUILDERS: Dict[str, Callable] = {BASELINE: baseline, "cnn": cnn, "mlp_l2": mlp_l2}


VALIDATION_FRACTION = 0.1  # the last 10% of the training split, as Keras' validation_split takes it


@dataclass(frozen=True)
class Trained:
    name: str
    seed: int
    test_accuracy: float
    history: Dict[str, List[float]]
    epoch_seconds: List[float]
    inference_images_per_s: float
    summary: dict = field(repr=False, default_factory=dict)
    test_correct: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, bool))  # per test image


def compiled(builder: Callable, seed: int):
    """A model from `builder`, compiled as the tutorial does (Adam, cross-entropy on logits)."""
    from ..compat import keras

    keras.utils.set_random_seed(seed)
    model = builder()
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def fit_split(data: MnistData):
    """(x, y) to fit on and (x, y) to validate on: uint8, the validation part held out of fitting."""
    held = max(1, int(len(data.y_train) * VALIDATION_FRACTION))
    return (data.x_train[:-held], data.y_train[:-held]), (data.x_train[-held:], data.y_train[-held:])


def train(name: str, data: MnistData, seed: int, epochs: int, builder: Optional[Callable] = None, verbose: int = 0) -> Trained:
    """Fit one model as the tutorial does (batch 32, inputs scaled to [0, 1] batch by batch),
    then score it image by image on the held-out test split."""
    model = compiled(builder or BUILDERS[name], seed)
    (x_fit, y_fit), (x_val, y_val) = fit_split(data)
    timer = EpochTimer()
    history = model.fit(
        batches(x_fit, y_fit, BATCH, shuffle_seed=seed), validation_data=batches(x_val, y_val, 256),
        epochs=epochs, callbacks=[keras_callback(timer)], verbose=verbose,
    )
    started = time.perf_counter()
    predicted = predicted_labels(model, data.x_test, 256)
    throughput = len(data.y_test) / (time.perf_counter() - started)
    correct = predicted == data.y_test
    summary = model_summary(model)
    del model
    release()
    return Trained(
        name, seed, float(correct.mean()),
        {k: [float(v) for v in values] for k, values in history.history.items()},
        timer.seconds, throughput, summary, correct,
    )


def run(settings: Settings, challenger: str = "cnn", sweeps: bool = True, verbose: int = 0) -> TaskResult:
    """metrics: per model (mean, spread, per-seed test accuracy, parameters, epoch time, throughput);
    details: models (summary, history, epoch times), sweeps, challenger, and every model's right/wrong
    per test image for every seed (the verdict's evidence)."""
    started = time.perf_counter()
    data = load_mnist(settings)
    prepared = time.perf_counter() - started

    runs: Dict[str, List[Trained]] = {}
    train_started = time.perf_counter()
    for name in (BASELINE,) + CHALLENGERS:
        runs[name] = [train(name, data, seed, settings.mnist_epochs, verbose=verbose) for seed in settings.seeds]
    trained_s = time.perf_counter() - train_started

    sweep_rows: Dict[str, List[dict]] = {}
    sweep_started = time.perf_counter()
    if sweeps:
        seed = settings.seeds[0]
        sweep_rows["l2"] = [
            {"l2": l2, "test_accuracy": train("mlp_l2", data, seed, settings.mnist_epochs, lambda l2=l2: mlp_l2(l2=l2)).test_accuracy}
            for l2 in settings.l2_values
        ]
        sweep_rows["dropout"] = [
            {"dropout": rate, "test_accuracy": train(BASELINE, data, seed, settings.mnist_epochs, lambda r=rate: baseline(dropout=r)).test_accuracy}
            for rate in settings.dropout_values
        ]
    swept_s = time.perf_counter() - sweep_started

    metrics = {}
    for name, trained in runs.items():
        accuracies = [t.test_accuracy for t in trained]
        metrics[name] = {
            "test_accuracy_mean": float(np.mean(accuracies)),
            "test_accuracy_spread": spread(accuracies),
            "test_accuracy_per_seed": accuracies,
            "parameters": trained[0].summary["trainable_parameters"],
            "epoch_seconds_mean": float(np.mean([s for t in trained for s in t.epoch_seconds])),
            "inference_images_per_s": float(np.mean([t.inference_images_per_s for t in trained])),
        }
    return TaskResult.of(
        "mnist",
        inputs=[data],
        provenance={"data": data.describe(), "seeds": list(settings.seeds), "epochs": settings.mnist_epochs, "split": f"test accuracy on the held-out test split ({len(data.y_test)} images); validation = last {VALIDATION_FRACTION:.0%} of train"},
        metrics=metrics,
        timings={"data_s": prepared, "training_s": trained_s, "sweeps_s": swept_s},
        details={
            "models": {
                name: {
                    "summary": trained[0].summary,
                    "history": trained[0].history,
                    "epoch_seconds": trained[0].epoch_seconds,
                }
                for name, trained in runs.items()
            },
            "sweeps": sweep_rows,
            # right/wrong per test image, per seed: every accuracy and the comparison's errors are recomputed from these
            "test_correct": {name: [pack_correct(t.test_correct) for t in trained] for name, trained in runs.items()},
            "challenger": challenger,  # homework/verdicts.py judges it against the baseline from test_correct
        },
    )
