"""The codelab's final layer: fully connected + softmax on the bottlenecks, one head per
learning rate trained side by side, the distortions that bypass the cache, and the export
that splices a trained head onto the extractor's GraphDef as the codelab's frozen graph."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..errors import HomeworkError
from ..models.frozen import FrozenExtractor


def distort(images: np.ndarray, config, rng: np.random.Generator) -> np.ndarray:
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
