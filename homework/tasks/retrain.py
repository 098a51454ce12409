"""Part 2: the TF1 codelab's "retrain the last layer", in graph mode through tf.compat.v1.

A frozen feature extractor (the codelab's own graph from --model_dir, or the registry's
module frozen into one) is imported into a TF1 graph. Every image goes through it once,
in batches, and its bottleneck is cached on disk by content hash. A new fully-connected
layer + softmax (`final_result`) is trained on the cached vectors with gradient descent,
evaluated every `eval_step_interval` steps, and exported with the extractor as one frozen
GraphDef plus a labels file, with the codelab's input interface and log lines.
"""
from __future__ import annotations

import dataclasses
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


class Heads:
    """The codelab's final layer (fully connected + softmax), one per learning rate, trained
    side by side on the same batches: exactly what separate runs with the same seed would
    draw, at the cost of about one run. The heads are stacked into one weight tensor, and
    plain gradient descent on sum_k(rate_k * loss_k) with step 1 gives each head its own
    rate's update. The graph holds only the bottleneck input and the heads; the export
    splices one head onto the extractor (export_graph)."""

    def __init__(self, width: int, classes: int, rates: Sequence[float], seed: int, batch_size: int,
                 pool: Optional[np.ndarray] = None, pool_labels: Optional[np.ndarray] = None):
        from ..compat import session_config, tf, v1

        self.width, self.batch_size, self.count = width, batch_size, len(rates)
        self._loop = None
        self.graph = tf.Graph()
        with self.graph.as_default():
            v1.set_random_seed(seed)
            self.bottleneck_input = v1.placeholder(tf.float32, [None, width], name="BottleneckInputPlaceholder")
            self.ground_truth = v1.placeholder(tf.int64, [None], name="GroundTruthInput")
            with tf.name_scope("final_training_ops"):
                self.weights = tf.Variable(v1.truncated_normal([width, self.count, classes], stddev=0.001), name="final_weights")
                self.biases = tf.Variable(tf.zeros([self.count, classes]), name="final_biases")
            self._rates = tf.constant(list(rates), tf.float32)
            self._optimizer = v1.train.GradientDescentOptimizer(1.0)
            logits, self.cross_entropy, self.accuracy, self.prediction, self.train_step = self._heads(self.bottleneck_input, self.ground_truth)
            self.train_summaries, self.validation_summaries = [], []
            for k in range(self.count):
                with tf.name_scope(f"head_{k}"):
                    scalars = [v1.summary.scalar("accuracy", self.accuracy[k]), v1.summary.scalar("cross_entropy", self.cross_entropy[k])]
                    histograms = [v1.summary.histogram("weights", self.weights[:, k]), v1.summary.histogram("biases", self.biases[k]),
                                  v1.summary.histogram("pre_activations", logits[:, k])]
                self.train_summaries.append(v1.summary.merge(scalars + histograms))
                self.validation_summaries.append(v1.summary.merge(scalars))
            feed = {}
            if pool is not None:
                # The training bottlenecks live in the session, so the steps between two
                # evaluations run as one call with in-graph sampling: no per-step feed.
                pool_in = v1.placeholder(tf.float32, [None, width])
                labels_in = v1.placeholder(tf.int64, [None])
                self._pool = tf.Variable(pool_in, trainable=False, validate_shape=False, name="train_pool")
                self._pool_labels = tf.Variable(labels_in, trainable=False, validate_shape=False, name="train_pool_labels")
                feed = {pool_in: pool, labels_in: pool_labels}
            config = session_config()
            self.session = v1.Session(graph=self.graph, config=config)
            self.session.run(v1.global_variables_initializer(), feed)

    def _heads(self, x, y):
        """Logits [batch, heads, classes], and per head: cross-entropy, accuracy, prediction
        ([batch, heads]); and the update."""
        from ..compat import tf

        classes = self.biases.shape[1]
        flat = tf.matmul(tf.reshape(x, [-1, self.width]), tf.reshape(self.weights, [self.width, self.count * classes]))  # one matmul for all heads
        logits = tf.reshape(flat, [-1, self.count, classes]) + self.biases
        labels = tf.tile(y[:, None], [1, self.count])
        cross_entropy = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), axis=0)
        prediction = tf.argmax(logits, 2)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(prediction, labels), tf.float32), axis=0)
        update = self._optimizer.minimize(tf.reduce_sum(self._rates * cross_entropy), var_list=[self.weights, self.biases])
        return logits, cross_entropy, accuracy, prediction, update

    def run_steps(self, count: int) -> None:
        """`count` training steps, each on its own random batch drawn in the graph."""
        if count <= 0:
            return
        if self._loop is None:
            self._loop = self._build_loop()
        self.session.run(self._loop, {self._loop_count: count})

    def _build_loop(self):
        from ..compat import tf, v1

        with self.graph.as_default(), tf.name_scope("train_loop"):
            self._loop_count = v1.placeholder(tf.int32, [], name="steps")
            size = tf.shape(self._pool, out_type=tf.int64)[0]

            def step(j):
                if self.batch_size > 0:
                    picked = v1.random_uniform([self.batch_size], 0, size, dtype=tf.int64)
                    x, y = tf.gather(self._pool, picked), tf.gather(self._pool_labels, picked)
                else:
                    x, y = self._pool.read_value(), self._pool_labels.read_value()
                update = self._heads(x, y)[-1]
                with tf.control_dependencies([update]):
                    return j + 1

            return tf.while_loop(lambda j: j < self._loop_count, step, [tf.constant(0)], parallel_iterations=1)

    def close(self):
        self.session.close()


def export_graph(frozen: FrozenExtractor, weights: np.ndarray, biases: np.ndarray, final_tensor_name: str):
    """The extractor's GraphDef with the trained layer spliced on: bottleneck ->
    BottleneckInputPlaceholder -> final_training_ops -> softmax `final_tensor_name`, as the
    codelab's frozen graph. Built on the protobuf, so it costs a copy, not a re-import."""
    from ..compat import tf, v1

    stub = "hw5_bottleneck_stub"
    with tf.Graph().as_default() as head:
        source = v1.placeholder(tf.float32, name=stub)
        flat = tf.reshape(source, [-1, weights.shape[0]], name="hw5_bottleneck_flat")
        x = v1.placeholder_with_default(flat, [None, weights.shape[0]], name="BottleneckInputPlaceholder")
        with tf.name_scope("final_training_ops"):
            logits = tf.nn.bias_add(tf.matmul(x, tf.constant(weights, name="final_weights")), tf.constant(biases, name="final_biases"), name="Wx_plus_b")
        tf.nn.softmax(logits, name=final_tensor_name)
    graph_def = v1.GraphDef()
    graph_def.CopyFrom(frozen.graph_def)
    taken = {node.name for node in graph_def.node}
    bottleneck = frozen.bottleneck_tensor[:-2] if frozen.bottleneck_tensor.endswith(":0") else frozen.bottleneck_tensor
    for node in head.as_graph_def().node:
        if node.name == stub:
            continue
        if node.name in taken:
            raise HomeworkError(f"the extractor graph already has a node named '{node.name}': pick another --final_tensor_name")
        added = graph_def.node.add()
        added.CopyFrom(node)
        added.input[:] = [bottleneck if name == stub else name for name in node.input]
    return graph_def


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
    late_accuracy = late_accuracy[np.isfinite(late_accuracy)]  # NaN when there is no validation set
    variation = float(np.std(late) / np.mean(late)) if len(late) and not nan_loss and np.mean(late) > 0 else float("nan")
    return {
        "nan_loss": nan_loss,
        "diverged": bool(nan_loss or (len(loss) > 1 and loss[-1] > loss[0])),
        "loss_variation_second_half": variation,
        "oscillating": bool(nan_loss or variation > 0.5),
        "validation_swing_second_half": float(np.nanmax(late_accuracy) - np.nanmin(late_accuracy)) if len(late_accuracy) else 0.0,
    }


SWEEP_MAY_DIFFER = {"learning_rate", "output_graph", "output_labels", "summaries_dir", "final_tensor_name"}


def _check_sweep(configs: Sequence[RetrainConfig]) -> None:
    first = dataclasses.asdict(configs[0])
    for config in configs[1:]:
        for key, value in dataclasses.asdict(config).items():
            if key not in SWEEP_MAY_DIFFER and value != first[key]:
                raise HomeworkError(f"retrain: runs trained together may differ only in {', '.join(sorted(SWEEP_MAY_DIFFER))}, not --{key}")


def train_heads(extractor: Extractor, tree: ImageTree, vectors: np.ndarray, configs: Sequence[RetrainConfig], settings: Settings, echo=print) -> List[RetrainResult]:
    """Train one final layer per config (they differ only in learning rate and outputs) and
    export each; log lines, summaries and results per config, as separate codelab runs."""
    from ..compat import v1

    _check_sweep(configs)
    config = configs[0]
    started = time.perf_counter()
    labels = np.array([e.label_index for e in tree.entries], np.int64)
    split = np.array([e.split for e in tree.entries])
    train_idx, val_idx, test_idx = (np.flatnonzero(split == s) for s in ("training", "validation", "testing"))
    if len(train_idx) == 0:
        raise HomeworkError(f"{tree.root}: no training images after the split")
    rng = np.random.default_rng(settings.seed)
    in_graph = not config.distorted
    heads = Heads(extractor.frozen.bottleneck_size, len(tree.labels), [c.learning_rate for c in configs], settings.seed,
                  config.train_batch_size, vectors[train_idx] if in_graph else None, labels[train_idx] if in_graph else None)
    sess = heads.session
    n = len(configs)
    with heads.graph.as_default():  # TF1 summary writers only work inside a graph context
        writers = [(v1.summary.FileWriter(str(Path(c.summaries_dir) / "train")), v1.summary.FileWriter(str(Path(c.summaries_dir) / "validation")))
                   for c in configs]
    curves = [{"step": [], "train_accuracy": [], "cross_entropy": [], "validation_accuracy": []} for _ in configs]
    logs: List[List[str]] = [[] for _ in configs]
    raw_images = None
    if config.distorted:
        raw_images = np.stack([load_rgb(tree.entries[i].path, extractor.frozen.input_size) for i in train_idx])
        log.warning("distortions on: bottlenecks of training images are recomputed every step (slow, as in the codelab)")

    def feed(indices, computed=None):
        return {heads.bottleneck_input: vectors[indices] if computed is None else computed, heads.ground_truth: labels[indices]}

    def next_batch():
        batch = rng.choice(train_idx, size=config.train_batch_size, replace=True) if config.train_batch_size > 0 else train_idx
        if raw_images is None:
            return feed(batch)
        images = distort(raw_images[np.searchsorted(train_idx, batch)], config, rng).astype(np.uint8)
        return feed(batch, extractor.run(images))

    steps = config.how_many_training_steps
    done = 0
    for i in (i for i in range(steps) if i % config.eval_step_interval == 0 or i + 1 == steps):
        if in_graph:
            heads.run_steps(i - done)  # the steps since the last evaluation, in one call
        else:
            for _ in range(i - done):
                sess.run(heads.train_step, next_batch())
        done = i + 1
        train_summaries, _, train_accuracy, cross_entropy = sess.run(
            [heads.train_summaries, heads.train_step, heads.accuracy, heads.cross_entropy], next_batch())
        val = val_idx if config.validation_batch_size < 0 or len(val_idx) == 0 else rng.choice(val_idx, size=config.validation_batch_size, replace=True)
        validation_summaries, validation_accuracy = [None] * n, [float("nan")] * n
        if len(val):
            validation_summaries, validation_accuracy = sess.run([heads.validation_summaries, heads.accuracy], feed(val))
        now = _dt.datetime.now()
        for k in range(n):
            writers[k][0].add_summary(train_summaries[k], i)
            if validation_summaries[k] is not None:
                writers[k][1].add_summary(validation_summaries[k], i)
            logs[k] += [
                f"{now}: Step {i}: Train accuracy = {train_accuracy[k] * 100:.1f}%",
                f"{now}: Step {i}: Cross entropy = {cross_entropy[k]:f}",
                f"{now}: Step {i}: Validation accuracy = {validation_accuracy[k] * 100:.1f}% (N={len(val)})",
            ]
            for key, value in zip(curves[k], (i, train_accuracy[k], cross_entropy[k], validation_accuracy[k])):
                curves[k][key].append(float(value))
    trained = time.perf_counter() - started

    test = test_idx if config.test_batch_size < 0 or len(test_idx) == 0 else rng.choice(test_idx, size=config.test_batch_size, replace=True)
    if len(test):
        test_accuracy, predictions = sess.run([heads.accuracy, heads.prediction], feed(test))
        predictions = predictions.T  # [heads, images]
    else:
        test_accuracy, predictions = [float("nan")] * n, [[]] * n
    weights, biases = sess.run([heads.weights, heads.biases])
    heads.close()

    results = []
    for k, cfg in enumerate(configs):
        export_started = time.perf_counter()
        graph_def = export_graph(extractor.frozen, weights[:, k], biases[k], cfg.final_tensor_name)
        files.write_bytes(cfg.output_graph, graph_def.SerializeToString())
        files.write_text(cfg.output_labels, "".join(f"{label}\n" for label in tree.labels))
        writers[k][0].add_graph(None, graph_def=graph_def)  # TensorBoard's graph view shows the input layer
        for writer in writers[k]:
            writer.close()
        exported = time.perf_counter() - export_started
        misclassified = [[str(tree.entries[i].path), tree.labels[labels[i]], tree.labels[p]] for i, p in zip(test, predictions[k]) if p != labels[i]]
        for line in logs[k]:
            echo(line)
        echo(f"Final test accuracy = {float(test_accuracy[k]) * 100:.1f}% (N={len(test)})")
        if cfg.print_misclassified_test_images:
            echo("=== MISCLASSIFIED TEST IMAGES ===")
            for path, truth, guess in misclassified:
                echo(f"{path:>70}  {truth} (predicted {guess})")
        curve = curves[k]
        results.append(RetrainResult(
            task="retrain",
            stand_in=extractor.frozen.stand_in,
            provenance={
                "architecture": cfg.architecture,
                "extractor": extractor.frozen.identity,
                "extractor_sha256": extractor.frozen.sha256,
                "data": tree.describe(),
                "learning_rate": cfg.learning_rate,
                "steps": steps,
                "train_batch_size": cfg.train_batch_size,
                "distortions": cfg.distorted,
                "seed": settings.seed,
                "trained_together_with": [c.learning_rate for c in configs if c is not cfg],
            },
            metrics={
                "final_test_accuracy": float(test_accuracy[k]),
                "test_images": int(len(test)),
                "final_validation_accuracy": curve["validation_accuracy"][-1],
                "final_train_accuracy": curve["train_accuracy"][-1],
                "final_cross_entropy": curve["cross_entropy"][-1],
                "steps_to_plateau": steps_to_plateau(curve["step"], curve["validation_accuracy"]),
                "evaluations": len(curve["step"]),
                **stability(curve["cross_entropy"], curve["validation_accuracy"]),
            },
            timings={"training_s": trained, "export_s": exported, "steps_per_s": steps / trained if trained else 0.0},
            curves=curve,
            artifacts={"output_graph": str(cfg.output_graph), "output_labels": str(cfg.output_labels), "summaries_dir": str(cfg.summaries_dir)},
            labels=list(tree.labels),
            misclassified=misclassified,
        ))
    return results


def retrain(configs: Sequence[RetrainConfig], settings: Settings, tree: Optional[ImageTree] = None, echo=print) -> List[RetrainResult]:
    """One retrain, or several that differ only in learning rate and outputs (a sweep): the
    extractor is loaded, the bottleneck pass made and the heads trained once for all."""
    first = configs[0]
    _check_sweep(configs)
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
    computed = cache.misses + cache.corrupt
    results = train_heads(extractor, tree, vectors, configs, settings, echo)
    extractor.close()
    shared = {"graph_load_s": loaded, "bottleneck_s": bottleneck_s, "bottleneck_images_per_s": computed / bottleneck_s if computed and bottleneck_s else 0.0}
    return [dataclasses.replace(r, timings={**shared, **r.timings}, cache=cache_stats) for r in results]
