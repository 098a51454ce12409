"""Pieces every Keras task uses: the streamed input pipeline, epoch timing, model summaries,
and the statistics the checks compare accuracies with."""
from __future__ import annotations

import time
from typing import List, Optional

import numpy as np

from ..progress import Progress
from ..resources import release_memory


def batches(images: np.ndarray, labels: np.ndarray, batch: int, shuffle_seed: Optional[int] = None):
    """A tf.data pipeline over uint8 images held once in host memory: each batch is gathered
    by index and scaled to float32 [0, 1] on its own, so no float32 (or second uint8) copy of
    the whole data set ever exists. Shuffled anew every epoch when a seed is given."""
    from ..compat import tf

    count = len(labels)
    shape = (None,) + tuple(images.shape[1:])

    def gather(index):
        return images[index], labels[index]

    def load(index):
        x, y = tf.numpy_function(gather, [index], (tf.uint8, tf.int64), stateful=False)
        return tf.ensure_shape(tf.cast(x, tf.float32) / 255.0, shape), tf.ensure_shape(y, (None,))

    ds = tf.data.Dataset.range(count)
    if shuffle_seed is not None:
        ds = ds.shuffle(count, seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch).map(load, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def predicted_labels(model, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """Argmax of the model's outputs, batch by batch (read back to the host)."""
    out = [np.argmax(model(x, training=False).numpy(), axis=-1) for x, _ in batches(images, np.zeros(len(images), np.int64), batch)]
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def release() -> None:
    """Drop Keras' global graph state and the traced train steps TF keeps, and collect: run
    between models so one check file's memory does not grow with every model it trains."""
    from .. import compat

    compat.keras.backend.clear_session()
    compat.forget_custom_gradients()
    release_memory()


class TrainingProgress:
    """The images of one training epoch as a Progress line (a Keras callback through
    keras_callback). The count comes from the batch index, so a fit with another batch size
    (an out-of-memory retry) needs a new one. The line is ended at the epoch's end, before
    Keras prints its own."""

    def __init__(self, progress: Progress, batch: int):
        self.progress, self.batch = progress, batch

    def on_epoch_begin(self, epoch, logs=None):
        self.progress.started = time.perf_counter()

    def on_train_batch_end(self, step, logs=None):
        self.progress.advance_to(min((step + 1) * self.batch, self.progress.total))

    def on_epoch_end(self, epoch, logs=None):
        self.progress.close()

    def close(self):
        """End the line when the fit stopped early (an error: Keras calls no end hook)."""
        self.progress.close()


def training_progress(what: str, total: int, batch: int, stream=None, enabled: Optional[bool] = None, every_s: float = 0.5) -> TrainingProgress:
    """A TrainingProgress labelled `what` for an epoch of `total` images in batches of `batch` (the last one partial)."""
    return TrainingProgress(Progress(what, total, stream=stream, enabled=enabled, every_s=every_s), batch)


class EpochTimer:
    """Wall time of each epoch (training plus the epoch-end validation pass when there is one),
    a Keras callback through keras_callback."""

    def __init__(self):
        self.seconds: List[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def keras_callback(hooks):
    """A Keras callback calling the epoch and batch hooks of `hooks` (an EpochTimer, a
    TrainingProgress). Those are plain classes so that importing this module does not import
    Keras; the callback is made here, when Keras is in use anyway."""
    from ..compat import keras

    callback = keras.callbacks.LambdaCallback(on_epoch_begin=hooks.on_epoch_begin, on_epoch_end=hooks.on_epoch_end,
                                              on_batch_end=getattr(hooks, "on_train_batch_end", None))
    callback._supports_tf_logs = True  # the hooks never read the logs: no host copy of them per batch
    return callback


def model_summary(model) -> dict:
    """Layers with output shapes and parameter counts, as model.summary() prints them."""
    layers = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue  # Sequential models do not list it; functional ones do
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
