"""Task 1.2: transfer learning with a TF Hub MobileNet feature vector, frozen vs fine-tuned,
with a batch size that adapts so the run never dies of out-of-memory.

The frozen phase trains a new Dense head on the module's features; the fine-tuned phase
then unfreezes the module and keeps training at a low rate from there (Keras' transfer
learning recipe: head first, then unfreeze; BatchNorm keeps its pretrained statistics).
Both are scored on the testing split, which neither trains nor selects on; the validation
split gives the per-epoch curves. Images stay uint8 in memory and are scaled per batch.

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
from ..progress import on_terminal
from ..resources import release_memory
from ..settings import Settings
from ..stats import binomial_se, paired_se
from .common import EpochTimer, batches, keras_callback, model_summary, predicted_labels, release, training_progress
from .result import TaskResult

log = logging.getLogger("hw5")
BYTES_PER_FLOAT = 4
RATES = {False: 1e-3, True: 1e-4}  # frozen head, then fine-tuning (the tutorial's rates)


@dataclass(frozen=True)
class Phase:
    """One training run: frozen or fine-tuned."""

    trainable: bool
    learning_rate: float
    history: Dict[str, List[float]]
    epoch_seconds: List[float]  # each epoch with its validation pass
    batch_sizes_tried: List[int]
    batch_size: int
    summary: dict
    final_val_accuracy: float
    test_accuracy: float
    test_correct: List[int]  # 1 where the test image (in tree order) was labelled right
    inference_images_per_s: float
    module_weight_change: float  # |w_after - w_before| / |w_before| over the module's weights


Split = Tuple[np.ndarray, np.ndarray]  # uint8 images [n, size, size, 3], int64 labels [n]


@dataclass(frozen=True)
class Inputs:
    source: trees.TreeSource
    tree: ImageTree
    train: Split
    val: Split  # per-epoch curves only
    test: Split  # the accuracies compared: never trained or selected on
    module: modules.Module
    load_s: float  # finding, decoding and resizing the images, and locating the module

    @property
    def classes(self) -> int:
        return len(self.tree.labels)


def split_percentages(settings: Settings) -> Tuple[float, float]:
    """(validation, testing) percentages of the hash split, shared with the TF1 retrain."""
    return float(settings.validation_percentage), float(settings.testing_percentage)


def image_arrays(tree: ImageTree, split: str, size: int) -> Split:
    """Decoded uint8 images and labels of one split, filled into one preallocated array
    (decoding runs in parallel in tf.data)."""
    from ..compat import tf

    entries = tree.split(split)
    images = np.empty((len(entries), size, size, 3), np.uint8)
    if entries:
        paths = tf.data.Dataset.from_tensor_slices([str(e.path) for e in entries])
        decode = lambda p: tf.numpy_function(lambda b: load_rgb(b.decode(), size), [p], tf.uint8)  # noqa: E731
        for index, image in enumerate(paths.map(decode, num_parallel_calls=tf.data.AUTOTUNE).as_numpy_iterator()):
            images[index] = image
    return images, np.array([e.label_index for e in entries], np.int64)


def load_inputs(settings: Settings) -> Inputs:
    started = time.perf_counter()
    source = trees.flowers(settings)
    validation, testing = split_percentages(settings)
    tree = load_image_tree(source.root, validation, testing, cache_dir=settings.cache_dir)
    size = settings.transfer_image_size
    arrays = {split: image_arrays(tree, split, size) for split in ("training", "validation", "testing")}
    for split, (_, labels) in arrays.items():
        if not len(labels):
            raise HomeworkError(f"{source.root}: no {split} images at {validation:g}% validation / {testing:g}% testing: add images")
    module = modules.get_module(MOBILENET_V2, settings)
    return Inputs(source, tree, arrays["training"], arrays["validation"], arrays["testing"], module, time.perf_counter() - started)


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


def fit_oom_safe(model, images, labels, val_data, epochs: int, batch: int, seed: int, callbacks=(), simulate_oom_above: int = 0, verbose: int = 2,
                 label: str = "training"):
    """Fit epoch by epoch; on out-of-memory halve the batch and redo the epoch from the
    last good weights. Returns (history, epoch seconds, batch sizes tried, final batch).
    On a terminal (and verbose), a progress line per epoch (images, img/s, time left)
    replaces Keras' own bar; Keras still prints its per-epoch line (verbose 2)."""
    from ..compat import is_oom

    shown = bool(verbose) and on_terminal()

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
        bars = [training_progress(f"{label} epoch {epoch + 1}/{epochs}, batch {batch}", len(labels), batch, enabled=True)] if shown else []
        try:
            fitted = model.fit(
                batches(images, labels, batch, shuffle_seed=seed + epoch), validation_data=val_data,
                epochs=epoch + 1, initial_epoch=epoch, callbacks=[keras_callback(timer), *callbacks, *extra, *map(keras_callback, bars)], verbose=2 if shown else verbose,
            )
        except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
            for bar in bars:
                bar.close()
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


@dataclass
class Classifier:
    """The tutorial's model: the module as a hub.KerasLayer, then Dense(classes)."""

    model: object
    module_layer: object


_LOADED: Dict[str, tuple] = {}  # location -> (hub.load object, its variables' pretrained values)


def _pretrained(module: modules.Module):
    """The module loaded once per process, its variables reset to the pretrained values.
    Every classifier shares it: a fresh SavedModel load per model costs seconds and keeps
    a few hundred MB that TF never gives back."""
    if module.location not in _LOADED:
        loaded = modules.load(module)
        _LOADED[module.location] = (loaded, [v.numpy() for v in loaded.variables])
    loaded, values = _LOADED[module.location]
    for variable, value in zip(loaded.variables, values):
        variable.assign(value)
    return loaded


def classifier(settings: Settings, module: modules.Module, classes: int) -> Classifier:
    """A new head on the pretrained module (only one classifier at a time: they share it)."""
    from ..compat import hub, keras

    keras.utils.set_random_seed(settings.seed)
    size = settings.transfer_image_size
    layer = hub().KerasLayer(_pretrained(module), trainable=False)
    images = keras.Input((size, size, 3))
    # training=False: BatchNorm keeps the pretrained statistics even while the module's
    # weights are trained (a fine-tuning batch of 32 would otherwise replace them).
    logits = keras.layers.Dense(classes)(layer(images, training=False))
    return Classifier(keras.Model(images, logits, name="transfer"), layer)


def compile_phase(clf: Classifier, trainable: bool, learning_rate: float) -> None:
    from ..compat import keras

    clf.module_layer.trainable = trainable
    clf.model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])


def _module_weights(clf: Classifier) -> List[np.ndarray]:
    return [np.array(w) for w in clf.module_layer.weights]


def train_phase(settings: Settings, clf: Classifier, inputs: Inputs, trainable: bool, log_dir, sample_bytes: int, verbose: int = 2) -> Phase:
    """Train `clf` further for settings.transfer_epochs with the module frozen or trainable,
    then score it on the testing split."""
    from ..compat import keras

    learning_rate = RATES[trainable]
    compile_phase(clf, trainable, learning_rate)
    model = clf.model
    trainable_params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    fixed = trainable_params * BYTES_PER_FLOAT * 4 + model.count_params() * BYTES_PER_FLOAT  # weights, grads, Adam m and v
    # Validation and test passes run at this batch too: forward only, they could take more, but
    # at 224 px a pass at 64 held 0.8 GB more than one at 16 and set the process's peak.
    batch = first_batch(settings.batch_size, settings.memory_budget_mb, sample_bytes, fixed)
    before = _module_weights(clf)  # measured in both phases: a frozen module must come out unchanged
    callbacks = [keras.callbacks.TensorBoard(log_dir=str(log_dir), histogram_freq=0, write_graph=False)]
    history, seconds, tried, fitted = fit_oom_safe(
        model, inputs.train[0], inputs.train[1], batches(*inputs.val, batch), settings.transfer_epochs,
        batch, settings.seed, callbacks, settings.simulate_oom_above, verbose, label="fine-tuned" if trainable else "frozen",
    )
    after = _module_weights(clf)
    change = float(np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(after, before))) / max(np.sqrt(sum(np.sum(b**2) for b in before)), 1e-12))
    del before, after
    started = time.perf_counter()
    predicted = predicted_labels(model, inputs.test[0], batch)
    throughput = len(predicted) / (time.perf_counter() - started)
    correct = (predicted == inputs.test[1]).astype(int)
    return Phase(
        trainable, learning_rate, history, seconds, tried, fitted, model_summary(model), history["val_accuracy"][-1],
        float(correct.mean()), correct.tolist(), throughput, change,
    )


def run(settings: Settings, verbose: int = 2, inputs: Optional[Inputs] = None) -> TaskResult:
    """details: frozen and fine_tuned (Phase), memory (budget, estimates, simulated OOM).
    `inputs`: load_inputs(settings) when the caller already has them."""
    from ..compat import limit_gpu_memory

    # The cap is set up before TensorFlow starts its devices (compat.request_gpu_memory at start); this
    # confirms it, and raises with TensorFlow's message if a different budget comes too late.
    capped = limit_gpu_memory(settings.memory_budget_mb) if settings.memory_budget_mb else False
    inputs = inputs or load_inputs(settings)
    started = time.perf_counter()  # after loading: load_inputs times itself
    size = settings.transfer_image_size
    frozen_bytes = per_sample_bytes(inputs.module, settings, size, trainable=False)
    estimates = {False: frozen_bytes, True: 2 * frozen_bytes}  # as per_sample_bytes(trainable=True)
    prepared = inputs.load_s + time.perf_counter() - started

    log_root = Path(settings.results_dir) / "tensorboard" / "transfer"
    train_started = time.perf_counter()
    clf = classifier(settings, inputs.module, inputs.classes)
    frozen = train_phase(settings, clf, inputs, False, log_root / "frozen", estimates[False], verbose)
    release_memory()  # the frozen phase's freed activations, before fine-tuning needs more
    tuned = train_phase(settings, clf, inputs, True, log_root / "fine_tuned", estimates[True], verbose)
    trained = time.perf_counter() - train_started
    del clf
    release()
    n_test = len(inputs.test[1])
    validation, testing = split_percentages(settings)
    return TaskResult.of(
        "transfer",
        inputs=[inputs.source, inputs.module],
        provenance={
            "data": {"identity": inputs.source.identity, **inputs.tree.describe()},
            "module": inputs.module.provenance(),
            "image_size": size,
            "epochs": settings.transfer_epochs,
            "split": f"{validation:g}% validation (per-epoch curves), {testing:g}% testing (the accuracies compared), by the codelab's file-name hash",
            "fine_tuning": "continues from the frozen phase's head with the module trainable; BatchNorm statistics kept",
        },
        metrics={
            "frozen_test_accuracy": frozen.test_accuracy,
            "fine_tuned_test_accuracy": tuned.test_accuracy,
            "fine_tuned_minus_frozen": tuned.test_accuracy - frozen.test_accuracy,
            "frozen_test_se": binomial_se(frozen.test_accuracy, n_test),
            "fine_tuned_test_se": binomial_se(tuned.test_accuracy, n_test),
            "difference_se": paired_se(frozen.test_correct, tuned.test_correct),
            "frozen_val_accuracy": frozen.final_val_accuracy,
            "fine_tuned_val_accuracy": tuned.final_val_accuracy,
            "train_images": int(len(inputs.train[1])),
            "val_images": int(len(inputs.val[1])),
            "test_images": n_test,
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
