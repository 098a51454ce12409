"""Part 2: the TF1 codelab's "retrain the last layer", in graph mode through tf.compat.v1.

A frozen feature extractor (the codelab's own graph from --model_dir, or the registry's
module frozen into one) is imported into a TF1 graph. Every image goes through it once,
in batches, and its bottleneck is cached on disk by content hash. A new fully-connected
layer + softmax (`final_result`) is trained on the cached vectors with gradient descent,
evaluated every `eval_step_interval` steps, and exported with the extractor as one frozen
GraphDef plus a labels file, with the codelab's input interface and log lines.
"""
from __future__ import annotations

import datetime as _dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from .. import files
from ..data.images import ImageTree, load_image_tree, load_rgb
from ..errors import HomeworkError
from ..models import modules
from ..models.frozen import FrozenExtractor, codelab_extractor, freeze_module
from ..models.registry import get_architecture
from ..settings import Settings
from .bottlenecks import BottleneckCache

log = logging.getLogger("hw5")
EXTRACT_BATCH = 32


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


@dataclass(frozen=True)
class RetrainResult:
    task: str
    stand_in: bool
    provenance: dict
    metrics: dict
    timings: dict
    curves: Dict[str, List[float]] = field(default_factory=dict)  # step, train_accuracy, cross_entropy, validation_accuracy
    artifacts: Dict[str, str] = field(default_factory=dict)
    labels: List[str] = field(default_factory=list)
    misclassified: List[List[str]] = field(default_factory=list)  # [path, true label, predicted]
    cache: Dict[str, int] = field(default_factory=dict)


def load_extractor(config: RetrainConfig, settings: Settings) -> FrozenExtractor:
    arch = get_architecture(config.architecture)
    return codelab_extractor(arch, config.model_dir) or freeze_module(modules.get_module(arch, settings), settings)


class Extractor:
    """The frozen extractor in its own TF1 graph and session, behind an image input path:
    uint8 pixels [batch, h, w, 3] -> bilinear resize to the input size -> (x - mean) / std.
    The resize runs in the graph (on the GPU where there is one), so the CPU only decodes."""

    def __init__(self, frozen: FrozenExtractor):
        from ..compat import session_config, tf, v1

        self.frozen = frozen
        self.graph = tf.Graph()
        size = frozen.input_size
        with self.graph.as_default():
            self.pixels = v1.placeholder(tf.uint8, [None, None, None, 3], name="hw5_pixels")
            resized = v1.image.resize_bilinear(tf.cast(self.pixels, tf.float32), [size, size])
            normalised = (resized - frozen.input_mean) / frozen.input_std
            (self.bottleneck,) = v1.import_graph_def(frozen.graph_def, input_map={frozen.input_tensor: normalised},
                                                     return_elements=[frozen.bottleneck_tensor], name="")
            declared = self.graph.get_tensor_by_name(frozen.input_tensor).shape
        self.batch = 1 if declared.rank and declared[0] == 1 else EXTRACT_BATCH
        self.session = v1.Session(graph=self.graph, config=session_config())

    def run(self, images) -> np.ndarray:
        """Bottlenecks of a batch: one uint8 array, or a list of images of any sizes."""
        if isinstance(images, list):
            shapes = {image.shape for image in images}
            size = self.frozen.input_size
            images = np.stack(images if len(shapes) == 1 else [_resized(image, size) for image in images])
        out = self.session.run(self.bottleneck, {self.pixels: images})
        return out.reshape(len(images), -1)

    def close(self):
        self.session.close()


def cache_bottlenecks(extractor: Extractor, tree: ImageTree, cache: BottleneckCache) -> np.ndarray:
    """Bottlenecks of every image in tree order: cached ones read, the rest computed in
    batches while the next batch is decoded."""
    vectors = np.zeros((len(tree.entries), extractor.frozen.bottleneck_size), np.float32)
    todo = []
    for index, entry in enumerate(tree.entries):
        cached = cache.get(entry.sha256)
        if cached is None:
            todo.append(index)
        else:
            vectors[index] = cached
    if todo:
        log.info("computing %d bottlenecks (%d cached)", len(todo), len(tree.entries) - len(todo))
    batches = [todo[i : i + extractor.batch] for i in range(0, len(todo), extractor.batch)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # PIL and file I/O release the GIL

        def decode(batch):
            return [pool.submit(load_rgb, tree.entries[i].path) for i in batch]  # native size

        def store(batch, computed):
            for i, vector in zip(batch, computed):
                cache.put(tree.entries[i].sha256, vector)

        pending = decode(batches[0]) if batches else []
        for number, batch in enumerate(batches):
            images = [job.result() for job in pending]
            if number + 1 < len(batches):
                pending = decode(batches[number + 1])  # decoded while this batch runs
            computed = extractor.run(images)
            vectors[batch] = computed
            pool.submit(store, batch, computed)
    return vectors


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def distort(images: np.ndarray, config: RetrainConfig, rng: np.random.Generator) -> np.ndarray:
    """The codelab's distortions: random crop and scale margins, left-right flip, brightness."""
    out = np.empty_like(images)
    size = images.shape[1]
    for k, image in enumerate(images):
        margin = 1 + config.random_crop / 100
        scale = margin * (1 + rng.uniform(0, config.random_scale / 100))
        crop = max(1, min(size, int(round(size / scale))))
        y, x = rng.integers(0, size - crop + 1, 2)
        from PIL import Image

        piece = Image.fromarray(image[y : y + crop, x : x + crop]).resize((size, size), Image.BILINEAR)
        array = np.asarray(piece, np.float32)
        if config.flip_left_right and rng.random() < 0.5:
            array = array[:, ::-1]
        array *= 1 + rng.uniform(-config.random_brightness, config.random_brightness) / 100
        out[k] = np.clip(array, 0, 255)
    return out


class FinalLayer:
    """The codelab's add_final_training_ops + add_evaluation_step, in a graph of its own that
    holds a fresh import of the extractor, so each retrain exports its own `final_result`."""

    def __init__(self, frozen: FrozenExtractor, classes: int, learning_rate: float, final_tensor_name: str, seed: int,
                 pool: Optional[np.ndarray] = None, pool_labels: Optional[np.ndarray] = None, batch_size: int = 100):
        from ..compat import session_config, tf, v1

        width = frozen.bottleneck_size
        self._chunks: Dict[int, object] = {}
        self._batch_size = batch_size
        self.graph = tf.Graph()
        with self.graph.as_default():
            v1.import_graph_def(frozen.graph_def, name="")
            v1.set_random_seed(seed)
            flat = tf.reshape(self.graph.get_tensor_by_name(frozen.bottleneck_tensor), [-1, width])
            self.bottleneck_input = v1.placeholder_with_default(flat, shape=[None, width], name="BottleneckInputPlaceholder")
            self.ground_truth = v1.placeholder(tf.int64, [None], name="GroundTruthInput")
            with tf.name_scope("final_training_ops"):
                weights = tf.Variable(v1.truncated_normal([width, classes], stddev=0.001), name="final_weights")
                biases = tf.Variable(tf.zeros([classes]), name="final_biases")
                self._weights, self._biases = weights, biases
                logits = tf.matmul(self.bottleneck_input, weights) + biases
                v1.summary.histogram("weights", weights)
                v1.summary.histogram("biases", biases)
                v1.summary.histogram("pre_activations", logits)
            self.final = tf.nn.softmax(logits, name=final_tensor_name)
            with tf.name_scope("cross_entropy"):
                self.cross_entropy = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.ground_truth, logits=logits))
            v1.summary.scalar("cross_entropy", self.cross_entropy)
            with tf.name_scope("train"):
                self._optimizer = v1.train.GradientDescentOptimizer(learning_rate)
                self.train_step = self._optimizer.minimize(self.cross_entropy)
            with tf.name_scope("accuracy"):
                self.prediction = tf.argmax(self.final, 1)
                self.accuracy = tf.reduce_mean(tf.cast(tf.equal(self.prediction, self.ground_truth), tf.float32))
            v1.summary.scalar("accuracy", self.accuracy)
            self.summaries = v1.summary.merge_all()
            feed = {}
            if pool is not None:
                # The training bottlenecks live in the session, so the steps between two
                # evaluations run as one call with in-graph sampling: no per-step feed.
                pool_in = v1.placeholder(tf.float32, [None, width])
                labels_in = v1.placeholder(tf.int64, [None])
                with tf.name_scope("train_pool"):
                    self._pool = tf.Variable(pool_in, trainable=False, validate_shape=False, name="bottlenecks")
                    self._pool_labels = tf.Variable(labels_in, trainable=False, validate_shape=False, name="labels")
                feed = {pool_in: pool, labels_in: pool_labels}
            self.session = v1.Session(graph=self.graph, config=session_config())
            self.session.run(v1.global_variables_initializer(), feed)

    def run_steps(self, count: int) -> None:
        """`count` training steps, each on its own random batch drawn in the graph."""
        if count <= 0:
            return
        if count not in self._chunks:
            self._chunks[count] = self._build_chunk(count)
        self.session.run(self._chunks[count])

    def _build_chunk(self, count: int):
        from ..compat import tf, v1

        with self.graph.as_default(), tf.name_scope(f"train_chunk_{count}"):
            previous = tf.no_op()
            size = tf.shape(self._pool, out_type=tf.int64)[0]
            for _ in range(count):
                with tf.control_dependencies([previous]):
                    if self._batch_size > 0:
                        picked = v1.random_uniform([self._batch_size], 0, size, dtype=tf.int64)
                        x, y = tf.gather(self._pool, picked), tf.gather(self._pool_labels, picked)
                    else:
                        x, y = self._pool.read_value(), self._pool_labels.read_value()
                    x = tf.reshape(x, [-1, self._weights.shape[0]])
                    logits = tf.matmul(x, self._weights) + self._biases
                    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
                    previous = self._optimizer.minimize(loss)
            return previous

    def close(self):
        self.session.close()


def steps_to_plateau(steps: Sequence[int], accuracy: Sequence[float], window: int = 5, tolerance: float = 0.01) -> int:
    """First evaluated step whose smoothed validation accuracy is within `tolerance` of the
    best smoothed value the run reached."""
    if not accuracy:
        return 0
    values = np.asarray(accuracy, np.float64)
    smooth = np.convolve(values, np.ones(window) / window, mode="valid") if len(values) >= window else values
    offset = len(values) - len(smooth)
    best = np.nanmax(smooth) if np.isfinite(smooth).any() else 0.0
    reached = np.flatnonzero(smooth >= best - tolerance)
    return int(steps[int(reached[0]) + offset]) if len(reached) else int(steps[-1])


def stability(cross_entropy: Sequence[float], accuracy: Sequence[float]) -> dict:
    """Evidence of divergence or oscillation. Diverged: the loss became NaN or ended above
    where it started. Oscillating: in the second half the training loss varies by more than
    half its mean (validation accuracy on small sampled batches is too noisy to judge by)."""
    loss = np.asarray(cross_entropy, np.float64)
    nan_loss = bool(np.isnan(loss).any())
    late = loss[len(loss) // 2 :]
    late_accuracy = np.asarray(accuracy[len(accuracy) // 2 :], np.float64)
    variation = float(np.std(late) / np.mean(late)) if len(late) and not nan_loss and np.mean(late) > 0 else float("nan")
    return {
        "nan_loss": nan_loss,
        "diverged": bool(nan_loss or (len(loss) > 1 and loss[-1] > loss[0])),
        "loss_variation_second_half": variation,
        "oscillating": bool(nan_loss or variation > 0.5),
        "validation_swing_second_half": float(np.nanmax(late_accuracy) - np.nanmin(late_accuracy)) if len(late_accuracy) else 0.0,
    }


def train_final_layer(extractor: Extractor, tree: ImageTree, vectors: np.ndarray, config: RetrainConfig, settings: Settings, echo=print) -> RetrainResult:
    from ..compat import v1

    started = time.perf_counter()
    labels = np.array([e.label_index for e in tree.entries], np.int64)
    split = np.array([e.split for e in tree.entries])
    train_idx, val_idx, test_idx = (np.flatnonzero(split == s) for s in ("training", "validation", "testing"))
    if len(train_idx) == 0:
        raise HomeworkError(f"{tree.root}: no training images after the split")
    rng = np.random.default_rng(settings.seed)
    in_graph = not config.distorted
    layer = FinalLayer(extractor.frozen, len(tree.labels), config.learning_rate, config.final_tensor_name, settings.seed,
                       vectors[train_idx] if in_graph else None, labels[train_idx] if in_graph else None, config.train_batch_size)
    sess = layer.session
    summaries = Path(config.summaries_dir)
    with layer.graph.as_default():  # TF1 summary writers only work inside a graph context
        train_writer = v1.summary.FileWriter(str(summaries / "train"), layer.graph)
        validation_writer = v1.summary.FileWriter(str(summaries / "validation"))
    curves: Dict[str, List[float]] = {"step": [], "train_accuracy": [], "cross_entropy": [], "validation_accuracy": []}
    raw_images = None
    if config.distorted:
        raw_images = np.stack([load_rgb(tree.entries[i].path, extractor.frozen.input_size) for i in train_idx])
        log.warning("distortions on: bottlenecks of training images are recomputed every step (slow, as in the codelab)")

    def feed(indices):
        return {layer.bottleneck_input: vectors[indices], layer.ground_truth: labels[indices]}

    def next_batch():
        batch = rng.choice(train_idx, size=config.train_batch_size, replace=True) if config.train_batch_size > 0 else train_idx
        if raw_images is None:
            return feed(batch)
        images = distort(raw_images[np.searchsorted(train_idx, batch)], config, rng).astype(np.uint8)
        return {layer.bottleneck_input: extractor.run(images), layer.ground_truth: labels[batch]}

    steps = config.how_many_training_steps
    done = 0
    for i in (i for i in range(steps) if i % config.eval_step_interval == 0 or i + 1 == steps):
        if in_graph:
            layer.run_steps(i - done)  # the steps since the last evaluation, in one call
        else:
            for _ in range(i - done):
                sess.run(layer.train_step, next_batch())
        done = i + 1
        summary, _, train_accuracy, cross_entropy = sess.run([layer.summaries, layer.train_step, layer.accuracy, layer.cross_entropy], next_batch())
        train_writer.add_summary(summary, i)
        val = val_idx if config.validation_batch_size < 0 or len(val_idx) == 0 else rng.choice(val_idx, size=config.validation_batch_size, replace=True)
        validation_accuracy = float("nan")
        if len(val):
            summary, validation_accuracy = sess.run([layer.summaries, layer.accuracy], feed(val))
            validation_writer.add_summary(summary, i)
        now = _dt.datetime.now()
        echo(f"{now}: Step {i}: Train accuracy = {train_accuracy * 100:.1f}%")
        echo(f"{now}: Step {i}: Cross entropy = {cross_entropy:f}")
        echo(f"{now}: Step {i}: Validation accuracy = {validation_accuracy * 100:.1f}% (N={len(val)})")
        for key, value in zip(curves, (i, train_accuracy, cross_entropy, validation_accuracy)):
            curves[key].append(float(value))
    train_writer.close()
    validation_writer.close()
    trained = time.perf_counter() - started

    test = test_idx if config.test_batch_size < 0 or len(test_idx) == 0 else rng.choice(test_idx, size=config.test_batch_size, replace=True)
    test_accuracy, predictions = (sess.run([layer.accuracy, layer.prediction], feed(test)) if len(test) else (float("nan"), []))
    echo(f"Final test accuracy = {float(test_accuracy) * 100:.1f}% (N={len(test)})")
    misclassified = [[str(tree.entries[i].path), tree.labels[labels[i]], tree.labels[p]] for i, p in zip(test, predictions) if p != labels[i]]
    if config.print_misclassified_test_images:
        echo("=== MISCLASSIFIED TEST IMAGES ===")
        for path, truth, guess in misclassified:
            echo(f"{path:>70}  {truth} (predicted {guess})")

    export_started = time.perf_counter()
    graph_def = v1.graph_util.convert_variables_to_constants(sess, layer.graph.as_graph_def(), [config.final_tensor_name])
    files.write_bytes(config.output_graph, graph_def.SerializeToString())
    files.write_text(config.output_labels, "".join(f"{label}\n" for label in tree.labels))
    exported = time.perf_counter() - export_started
    layer.close()

    return RetrainResult(
        task="retrain",
        stand_in=extractor.frozen.stand_in,
        provenance={
            "architecture": config.architecture,
            "extractor": extractor.frozen.identity,
            "extractor_sha256": extractor.frozen.sha256,
            "data": tree.describe(),
            "learning_rate": config.learning_rate,
            "steps": steps,
            "train_batch_size": config.train_batch_size,
            "distortions": config.distorted,
            "seed": settings.seed,
        },
        metrics={
            "final_test_accuracy": float(test_accuracy),
            "test_images": int(len(test)),
            "final_validation_accuracy": curves["validation_accuracy"][-1] if curves["validation_accuracy"] else float("nan"),
            "final_train_accuracy": curves["train_accuracy"][-1] if curves["train_accuracy"] else float("nan"),
            "final_cross_entropy": curves["cross_entropy"][-1] if curves["cross_entropy"] else float("nan"),
            "steps_to_plateau": steps_to_plateau(curves["step"], curves["validation_accuracy"]),
            "evaluations": len(curves["step"]),
            **stability(curves["cross_entropy"], curves["validation_accuracy"]),
        },
        timings={"training_s": trained, "export_s": exported, "steps_per_s": steps / trained if trained else 0.0},
        curves=curves,
        artifacts={"output_graph": str(config.output_graph), "output_labels": str(config.output_labels), "summaries_dir": str(config.summaries_dir)},
        labels=list(tree.labels),
        misclassified=misclassified,
    )


def retrain(configs: Sequence[RetrainConfig], settings: Settings, tree: Optional[ImageTree] = None, echo=print) -> List[RetrainResult]:
    """Run one or more retrains that share the architecture and images (e.g. a learning-rate
    sweep): the extractor is loaded and the bottleneck pass made once for all of them."""
    first = configs[0]
    if any((c.architecture, c.model_dir, c.image_dir, c.bottleneck_dir) != (first.architecture, first.model_dir, first.image_dir, first.bottleneck_dir) for c in configs):
        raise HomeworkError("retrain: a sweep must share --architecture, --model_dir, --image_dir and --bottleneck_dir")
    started = time.perf_counter()
    if tree is None:
        if not first.image_dir:
            raise HomeworkError("retrain: --image_dir is required")
        tree = load_image_tree(first.image_dir, first.validation_percentage, first.testing_percentage, settings.cache_dir)
    frozen = load_extractor(first, settings)
    extractor = Extractor(frozen)
    loaded = time.perf_counter() - started

    bottleneck_started = time.perf_counter()
    cache = BottleneckCache(first.bottleneck_dir, frozen.sha256, frozen.bottleneck_size)
    vectors = cache_bottlenecks(extractor, tree, cache)
    bottleneck_s = time.perf_counter() - bottleneck_started
    cache_stats = {"hits": cache.hits, "misses": cache.misses, "corrupt_rebuilt": cache.corrupt, "images": len(tree.entries)}

    results = []
    for config in configs:
        result = train_final_layer(extractor, tree, vectors, config, settings, echo)
        timings = {"graph_load_s": loaded, "bottleneck_s": bottleneck_s, "bottleneck_images_per_s": (cache.misses + cache.corrupt) / bottleneck_s if bottleneck_s else 0.0, **result.timings}
        results.append(_replace(result, timings=timings, cache=cache_stats))
    extractor.close()
    return results


def _replace(result: RetrainResult, **changes) -> RetrainResult:
    import dataclasses

    return dataclasses.replace(result, **changes)
