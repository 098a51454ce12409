"""Task 1.1: the TF2 beginner MNIST model, and challengers that must beat it.

Baseline and challengers train on the same split with the same budget over several
seeds; accuracy is always measured on the held-out test split. A gain counts only when
the challenger's mean beats the baseline's by more than the larger spread.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np

from ..data.mnist import MnistData, load_mnist
from ..settings import Settings
from .common import EpochTimer, model_summary, spread
from .result import TaskResult

BASELINE = "baseline"
CHALLENGERS = ("cnn", "mlp_l2")


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


@dataclass(frozen=True)
class Trained:
    name: str
    seed: int
    test_accuracy: float
    test_loss: float
    history: Dict[str, List[float]]
    epoch_seconds: List[float]
    inference_images_per_s: float
    summary: dict = field(repr=False, default_factory=dict)


def train(name: str, data: MnistData, seed: int, epochs: int, builder: Optional[Callable] = None, verbose: int = 0) -> Trained:
    """Compile and fit one model as the tutorial does; evaluate on the test split."""
    from ..compat import keras

    keras.utils.set_random_seed(seed)
    model = (builder or BUILDERS[name])()
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x_train, y_train, x_test, y_test = data.scaled()
    timer = EpochTimer()
    history = model.fit(x_train, y_train, epochs=epochs, validation_split=0.1, callbacks=[timer], verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    started = time.perf_counter()
    model.predict(x_test, batch_size=256, verbose=0)
    throughput = len(x_test) / (time.perf_counter() - started)
    return Trained(
        name, seed, float(accuracy), float(loss),
        {k: [float(v) for v in values] for k, values in history.history.items()},
        timer.seconds, throughput, model_summary(model),
    )


def run(settings: Settings, challenger: str = "cnn", sweeps: bool = True, verbose: int = 0) -> TaskResult:
    """metrics: per model (mean, spread, per-seed test accuracy, parameters, epoch time, throughput);
    details: models (summary, history, epoch times), sweeps, challenger, challenger_beats_baseline."""
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
    base, chal = metrics[BASELINE], metrics[challenger]
    margin = max(base["test_accuracy_spread"], chal["test_accuracy_spread"])
    beats = chal["test_accuracy_mean"] - base["test_accuracy_mean"] > margin
    return TaskResult.of(
        "mnist",
        inputs=[data],
        provenance={"data": data.describe(), "seeds": list(settings.seeds), "epochs": settings.mnist_epochs, "split": "test accuracy on the held-out test split; validation = last 10% of train"},
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
            "challenger": challenger,
            "challenger_beats_baseline": bool(beats),
        },
    )
