"""Pieces every Keras task uses: epoch timing, model summaries, spread of a metric."""
from __future__ import annotations

import time
from typing import List

import numpy as np

from ..compat import keras


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch (the data is already in memory, so this is training time)."""

    def __init__(self):
        super().__init__()
        self.seconds: List[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def model_summary(model) -> dict:
    """Layers with output shapes and parameter counts, as model.summary() prints them."""
    layers = []
    for layer in model.layers:
        try:
            shape = layer.output_shape
        except (AttributeError, RuntimeError):
            shape = getattr(getattr(layer, "output", None), "shape", None)
        layers.append({"name": layer.name, "type": type(layer).__name__, "output_shape": str(shape), "parameters": int(layer.count_params())})
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {
        "name": model.name,
        "layers": layers,
        "total_parameters": int(model.count_params()),
        "trainable_parameters": trainable,
        "non_trainable_parameters": int(model.count_params()) - trainable,
    }


def spread(values) -> float:
    """Sample standard deviation (0 for a single value)."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
