"""Task 1.2: transfer learning with a TF Hub MobileNet feature vector, frozen vs fine-tuned,
with a batch size that adapts so the run never dies of out-of-memory.

The batch starts at the tutorial's 32 (or lower when a memory budget says it cannot fit);
an out-of-memory error halves it and retries the epoch from the last good weights, down to 1.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..data import trees
from ..data.images import ImageTree, load_image_tree, load_rgb
from ..errors import HomeworkError
from ..models import modules
from ..models.frozen import activation_elements, freeze_module
from ..models.registry import MOBILENET_V2
from ..settings import Settings
from .common import EpochTimer, model_summary
from .result import TaskResult

log = logging.getLogger("hw5")
BYTES_PER_FLOAT = 4


@dataclass(frozen=True)
class Phase:
    """One training run: frozen or fine-tuned."""

    trainable: bool
    learning_rate: float
    history: Dict[str, List[float]]
    epoch_seconds: List[float]
    batch_sizes_tried: List[int]
    batch_size: int
    summary: dict
    final_val_accuracy: float
    inference_images_per_s: float


def image_arrays(tree: ImageTree, split_names: Tuple[str, ...], size: int):
    """Decoded uint8 images and labels of the given splits (decoding runs in tf.data)."""
    from ..compat import tf

    entries = [e for e in tree.entries if e.split in split_names]
    paths = tf.data.Dataset.from_tensor_slices([str(e.path) for e in entries])
    decode = lambda p: tf.numpy_function(lambda b: load_rgb(b.decode(), size), [p], tf.uint8)  # noqa: E731
    images = np.stack(list(paths.map(decode, num_parallel_calls=tf.data.AUTOTUNE).as_numpy_iterator()))
    return images, np.array([e.label_index for e in entries], np.int64)


def dataset(images: np.ndarray, labels: np.ndarray, batch: int, shuffle_seed: Optional[int] = None):
    """The tf.data pipeline the model reads: cached uint8, scaled to [0, 1], batched, prefetched."""
    from ..compat import tf

    ds = tf.data.Dataset.from_tensor_slices((images, labels)).cache()
    if shuffle_seed is not None:
        ds = ds.shuffle(len(labels), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch).map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y)).prefetch(tf.data.AUTOTUNE)


def per_sample_bytes(module: modules.Module, settings: Settings, image_size: int, trainable: bool) -> int:
    """Activation memory one image needs: every op output of the module's forward pass,
    twice when training the module (activations kept for the backward pass + gradients)."""
    extractor = freeze_module(module, settings)
    elements = activation_elements(extractor) * (image_size / extractor.input_size) ** 2
    return int(elements * BYTES_PER_FLOAT * (2 if trainable else 1))


def first_batch(requested: int, budget_mb: int, sample_bytes: int, fixed_bytes: int) -> int:
    """The largest of requested, requested/2, ... that fits the budget by the estimate."""
    batch = requested
    if budget_mb <= 0:
        return batch
    budget = budget_mb * 1024 * 1024 - fixed_bytes
    while batch > 1 and batch * sample_bytes > budget:
        batch //= 2
    if batch * sample_bytes > budget:
        raise HomeworkError(f"memory budget {budget_mb} MB is below one image's estimated {sample_bytes / 2**20:.0f} MB: raise memory_budget_mb")
    return batch


def _injected_oom(limit: int, batch: int):
    """A callback raising TF's own out-of-memory error while the batch is above `limit`:
    lets the retry path be exercised on a machine with memory to spare."""
    from ..compat import keras, tf

    class InjectedOOM(keras.callbacks.Callback):
        def on_train_batch_begin(self, step, logs=None):
            if batch > limit:
                raise tf.errors.ResourceExhaustedError(None, None, f"OOM when allocating tensor (injected: batch {batch} > {limit})")

    return InjectedOOM()


def fit_oom_safe(model, images, labels, val_data, epochs: int, batch: int, seed: int, callbacks=(), simulate_oom_above: int = 0, verbose: int = 2):
    """Fit epoch by epoch; on out-of-memory halve the batch and redo the epoch from the
    last good weights. Returns (history, epoch seconds, batch sizes tried, final batch)."""
    from ..compat import is_oom

    history: Dict[str, List[float]] = {}
    seconds: List[float] = []
    tried: List[int] = []
    epoch = 0
    while epoch < epochs:
        good = model.get_weights()
        if not tried or tried[-1] != batch:
            tried.append(batch)
        timer = EpochTimer()
        extra = [_injected_oom(simulate_oom_above, batch)] if simulate_oom_above else []
        try:
            fitted = model.fit(
                dataset(images, labels, batch, shuffle_seed=seed + epoch), validation_data=val_data,
                epochs=epoch + 1, initial_epoch=epoch, callbacks=[timer, *callbacks, *extra], verbose=verbose,
            )
        except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
            if not is_oom(exc):
                raise
            model.set_weights(good)
            if batch == 1:
                raise HomeworkError("out of memory even at batch size 1: free GPU memory (close other programs) or use a smaller image size") from exc
            log.warning("out of memory at batch size %d (epoch %d); retrying with %d from the last good weights", batch, epoch + 1, batch // 2)
            batch //= 2
            continue
        for key, values in fitted.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        seconds.extend(timer.seconds)
        epoch += 1
    return history, seconds, tried, batch


def train_phase(settings, module, train, val, trainable, learning_rate, log_dir, sample_bytes, verbose) -> Phase:
    from ..compat import keras

    keras.utils.set_random_seed(settings.seed)
    n_classes = int(train[1].max()) + 1
    model = keras.Sequential(
        [keras.Input((settings.transfer_image_size, settings.transfer_image_size, 3)), modules.keras_layer(module, trainable=trainable), keras.layers.Dense(n_classes)],
        name=f"transfer_{'fine_tuned' if trainable else 'frozen'}",
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    trainable_params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    fixed = trainable_params * BYTES_PER_FLOAT * 4 + model.count_params() * BYTES_PER_FLOAT  # weights, grads, Adam m and v
    batch = first_batch(settings.batch_size, settings.memory_budget_mb, sample_bytes, fixed)
    val_ds = dataset(val[0], val[1], 64)
    callbacks = [keras.callbacks.TensorBoard(log_dir=str(log_dir), histogram_freq=0)]
    history, seconds, tried, fitted = fit_oom_safe(
        model, train[0], train[1], val_ds, settings.transfer_epochs, batch, settings.seed, callbacks, settings.simulate_oom_above, verbose,
    )
    started = time.perf_counter()
    model.predict(val_ds, verbose=0)
    throughput = len(val[1]) / (time.perf_counter() - started)
    return Phase(trainable, learning_rate, history, seconds, tried, fitted, model_summary(model), history["val_accuracy"][-1], throughput)


@dataclass(frozen=True)
class Inputs:
    source: trees.TreeSource
    tree: ImageTree
    train: Tuple[np.ndarray, np.ndarray]
    val: Tuple[np.ndarray, np.ndarray]  # validation + testing splits: never trained on
    module: modules.Module


def load_inputs(settings: Settings) -> Inputs:
    source = trees.flowers(settings)
    tree = load_image_tree(source.root, cache_dir=settings.cache_dir)
    size = settings.transfer_image_size
    return Inputs(source, tree, image_arrays(tree, ("training",), size), image_arrays(tree, ("validation", "testing"), size), modules.get_module(MOBILENET_V2, settings))


def run(settings: Settings, verbose: int = 2) -> TaskResult:
    """details: frozen and fine_tuned (Phase), memory (budget, estimates, simulated OOM)."""
    from ..compat import limit_gpu_memory

    started = time.perf_counter()
    inputs = load_inputs(settings)
    source, tree, train, val, module = inputs.source, inputs.tree, inputs.train, inputs.val, inputs.module
    size = settings.transfer_image_size
    capped = limit_gpu_memory(settings.memory_budget_mb) if settings.memory_budget_mb else False
    frozen_bytes = per_sample_bytes(module, settings, size, trainable=False)
    estimates = {False: frozen_bytes, True: 2 * frozen_bytes}  # as per_sample_bytes(trainable=True)
    prepared = time.perf_counter() - started

    log_root = Path(settings.results_dir) / "tensorboard" / "transfer"
    train_started = time.perf_counter()
    frozen = train_phase(settings, module, train, val, False, 1e-3, log_root / "frozen", estimates[False], verbose)
    tuned = train_phase(settings, module, train, val, True, 1e-4, log_root / "fine_tuned", estimates[True], verbose)
    trained = time.perf_counter() - train_started
    return TaskResult.of(
        "transfer",
        inputs=[source, module],
        provenance={"data": {"identity": source.identity, **tree.describe()}, "module": module.provenance(), "image_size": size, "epochs": settings.transfer_epochs, "validation": "validation + testing splits (held out)"},
        metrics={
            "frozen_val_accuracy": frozen.final_val_accuracy,
            "fine_tuned_val_accuracy": tuned.final_val_accuracy,
            "fine_tuned_minus_frozen": tuned.final_val_accuracy - frozen.final_val_accuracy,
            "train_images": int(len(train[1])),
            "val_images": int(len(val[1])),
        },
        timings={
            "data_s": prepared,
            "training_s": trained,
            "frozen_epoch_s": float(np.mean(frozen.epoch_seconds)),
            "fine_tuned_epoch_s": float(np.mean(tuned.epoch_seconds)),
        },
        details={
            "frozen": frozen,
            "fine_tuned": tuned,
            "memory": {
                "budget_mb": settings.memory_budget_mb,
                "gpu_memory_capped": capped,
                "per_sample_mb_frozen": estimates[False] / 2**20,
                "per_sample_mb_fine_tuned": estimates[True] / 2**20,
                "simulated_oom_above": settings.simulate_oom_above,
            },
        },
    )

