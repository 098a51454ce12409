"""The TF1 retrain pieces on their own: codelab archives in --model_dir, the bottleneck cache,
the exported graph read by TF1-style code, label_image's one-line errors, sweep rules."""
import tarfile

import numpy as np
import pytest

from homework.errors import HomeworkError
from homework.models.frozen import codelab_extractor
from homework.models.registry import get_architecture
from homework.tasks.bottlenecks import BottleneckCache
from homework.tasks.label_image import InputLayer, inspect_input, label_image, read_graph_def
from homework.tasks.retrain import RetrainConfig, retrain
from helpers import make_jpeg


def tiny_codelab_graph(kind: str):
    """A graph with the codelab archive's tensor names: MobileNet (input -> ... Reshape, 1001)
    or Inception (DecodeJpeg path -> Mul [1, 299, 299, 3] -> pool_3/_reshape, 2048)."""
    from homework.compat import tf, v1

    with tf.Graph().as_default() as graph:
        if kind == "mobilenet":
            x = v1.placeholder(tf.float32, [None, 224, 224, 3], name="input")
            pooled = tf.reduce_mean(x, [1, 2])
            with tf.name_scope("MobilenetV1/Predictions"):
                tf.reshape(tf.matmul(pooled, tf.constant(np.random.default_rng(0).normal(size=(3, 1001)).astype(np.float32))), [-1, 1001], name="Reshape")
        else:
            jpeg = v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
            image = tf.expand_dims(tf.cast(tf.io.decode_jpeg(jpeg, channels=3), tf.float32), 0)
            resized = v1.image.resize_bilinear(image, [299, 299])
            normalised = tf.multiply(tf.subtract(resized, 128.0), 1 / 128.0, name="Mul")
            pooled = tf.reduce_mean(normalised, [1, 2])
            with tf.name_scope("pool_3"):
                tf.reshape(tf.matmul(pooled, tf.constant(np.random.default_rng(0).normal(size=(3, 2048)).astype(np.float32))), [1, 2048], name="_reshape")
        return graph.as_graph_def()


def write_archive(folder, arch_name, graph_def):
    info = get_architecture(arch_name).codelab
    staging = folder / "staging"
    (staging / info.graph_file).parent.mkdir(parents=True, exist_ok=True)
    (staging / info.graph_file).write_bytes(graph_def.SerializeToString())
    with tarfile.open(folder / info.archive, "w:gz") as tar:
        tar.add(staging / info.graph_file, arcname=info.graph_file)


@pytest.fixture
def tree_dir(tmp_path):
    rng = np.random.default_rng(0)
    for label, colour in (("daisy", (250, 250, 250)), ("roses", (200, 20, 30))):
        for i in range(12):
            make_jpeg(tmp_path / "photos" / label / f"{label}{i}.jpg", tuple(int(c) for c in np.clip(np.array(colour) + rng.normal(0, 20, 3), 0, 255)))
    return tmp_path / "photos"


@pytest.mark.parametrize("arch, kind, input_layer, size", [("mobilenet_0.50_224", "mobilenet", "input", 224), ("inception_v3", "inception", "Mul", 299)])
def test_codelab_archive_in_model_dir_is_used_and_exported(tmp_path, tree_dir, settings, arch, kind, input_layer, size):
    write_archive(tmp_path / "models", arch, tiny_codelab_graph(kind))
    config = RetrainConfig(image_dir=str(tree_dir), architecture=arch, model_dir=str(tmp_path / "models"), how_many_training_steps=30,
                           bottleneck_dir=str(tmp_path / "bn"), output_graph=str(tmp_path / "out.pb"), output_labels=str(tmp_path / "labels.txt"),
                           summaries_dir=str(tmp_path / "logs"))
    lines = []
    (run,) = retrain([config], settings, echo=lines.append)
    assert run.provenance["extractor"].startswith("codelab graph") and not run.stand_in
    assert lines[-1].startswith("Final test accuracy = ") and "(N=" in lines[-1]
    assert (tmp_path / "labels.txt").read_text() == "daisy\nroses\n"
    graph_def = read_graph_def(tmp_path / "out.pb")
    layer = inspect_input(graph_def)
    assert (layer.name, layer.height, layer.width) == (input_layer, size, size)
    # TF1-era label_image: import the GraphDef, feed the input op's output, read final_result.
    from homework.compat import tf, v1

    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def)
        feed = graph.get_operation_by_name(f"import/{input_layer}").outputs[0]
        out = graph.get_operation_by_name("import/final_result").outputs[0]
        with v1.Session(graph=graph) as sess:
            scores = sess.run(out, {feed: np.zeros((1, size, size, 3), np.float32)})
    assert scores.shape == (1, 2) and abs(scores.sum() - 1) < 1e-5
    # and a second run reuses every cached bottleneck
    (again,) = retrain([config], settings, echo=lambda line: None)
    cache = again.details["cache"]
    assert cache["hits"] == cache["images"] == 24 and cache["extractor_images"] == 0


def test_model_dir_without_the_archive_falls_back_to_the_registry(tmp_path):
    assert codelab_extractor(get_architecture("inception_v3"), tmp_path) is None


def test_bad_archive_is_one_line(tmp_path):
    (tmp_path / "inception-2015-12-05.tgz").write_bytes(b"not a tarball")
    with pytest.raises(HomeworkError, match="inception-2015-12-05.tgz: not a readable .tgz"):
        codelab_extractor(get_architecture("inception_v3"), tmp_path)


def test_bottleneck_cache_detects_corruption(tmp_path):
    cache = BottleneckCache(tmp_path, "extractor-key", 4)
    cache.put("ab" * 32, np.arange(4, dtype=np.float32))
    assert cache.get("ab" * 32).tolist() == [0, 1, 2, 3]
    path = cache.path("ab" * 32)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert cache.get("ab" * 32) is None and cache.corrupt == 1
    assert cache.get("cd" * 32) is None and cache.misses == 1


def test_label_image_errors_are_one_line(tmp_path, tree_dir, settings):
    write_archive(tmp_path / "models", "inception_v3", tiny_codelab_graph("inception"))
    config = RetrainConfig(image_dir=str(tree_dir), model_dir=str(tmp_path / "models"), how_many_training_steps=5, bottleneck_dir=str(tmp_path / "bn"),
                           output_graph=str(tmp_path / "g.pb"), output_labels=str(tmp_path / "l.txt"), summaries_dir=str(tmp_path / "logs"))
    retrain([config], settings, echo=lambda line: None)
    image = str(next(tree_dir.rglob("*.jpg")))
    cases = [
        (dict(), "no input layer 'input' in the graph; it takes 'Mul' at 299x299"),
        (dict(input_layer="Mul", input_height=229, input_width=229), "takes 299x299 images, not 229x229"),
        (dict(input_layer="Mul", input_height=299, input_width=299, output_layer="nope"), "no output layer 'nope'"),
    ]
    for flags, message in cases:
        with pytest.raises(HomeworkError) as err:
            label_image(str(tmp_path / "g.pb"), str(tmp_path / "l.txt"), image, **flags)
        assert message in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "junk.pb").write_bytes(b"\x00garbage")
    with pytest.raises(HomeworkError, match="junk.pb: not a TensorFlow GraphDef"):
        label_image(str(tmp_path / "junk.pb"), str(tmp_path / "l.txt"), image)
    result = label_image(str(tmp_path / "g.pb"), str(tmp_path / "l.txt"), image, "Mul", input_height=299, input_width=299)
    assert [label for label, _ in result.top] and result.seconds > 0


def test_a_sweep_may_differ_only_in_rate_and_outputs(settings, tree_dir):
    with pytest.raises(HomeworkError, match="not --train_batch_size"):
        retrain([RetrainConfig(image_dir=str(tree_dir)), RetrainConfig(image_dir=str(tree_dir), train_batch_size=10)], settings)


def test_input_layer_is_read_off_the_graph_not_the_registry():
    """Names and sizes no registry entry has: a float placeholder, and a decode -> resize -> normalise path."""
    from homework.compat import tf, v1

    with tf.Graph().as_default() as graph:
        x = v1.placeholder(tf.float32, [None, 123, 150, 3], name="my_photo")
        other = v1.placeholder(tf.float32, [None, 64, 64, 3], name="unused_input")  # the output does not depend on it
        tf.nn.softmax(tf.reduce_mean(x, [1, 2]), name="final_result")
        del other
    assert inspect_input(graph.as_graph_def(), "final_result") == InputLayer("my_photo", 123, 150)
    with tf.Graph().as_default() as graph:
        jpeg = v1.placeholder(tf.string, [], name="bytes_in")
        image = tf.expand_dims(tf.cast(tf.io.decode_jpeg(jpeg, channels=3), tf.float32), 0)
        resized = v1.image.resize_bilinear(image, [77, 91])
        normalised = tf.multiply(tf.subtract(resized, 10.0), 0.5, name="scaled_pixels")
        tf.nn.softmax(tf.reduce_mean(normalised, [1, 2]), name="final_result")
    assert inspect_input(graph.as_graph_def()) == InputLayer("scaled_pixels", 77, 91)
    with tf.Graph().as_default() as graph:
        tf.nn.softmax(v1.placeholder(tf.float32, [None, 10], name="vector"), name="final_result")
    with pytest.raises(HomeworkError, match="no image input"):
        inspect_input(graph.as_graph_def())


def test_codelab_inception_archive_input_read_without_tensorflow_import():
    """The codelab's own Inception layout (DecodeJpeg path ending in Mul) read from the GraphDef protobuf."""
    assert inspect_input(tiny_codelab_graph("inception")) == InputLayer("Mul", 299, 299)
    assert inspect_input(tiny_codelab_graph("mobilenet")) == InputLayer("input", 224, 224)


def test_log_lines_appear_while_training(tmp_path, tree_dir, settings):
    """Each evaluation's lines are echoed as it happens, not all at the end."""
    import time

    write_archive(tmp_path / "models", "mobilenet_0.50_224", tiny_codelab_graph("mobilenet"))
    config = RetrainConfig(image_dir=str(tree_dir), architecture="mobilenet_0.50_224", model_dir=str(tmp_path / "models"),
                           how_many_training_steps=3000, learning_rate=0.0001, bottleneck_dir=str(tmp_path / "bn"),
                           output_graph=str(tmp_path / "g.pb"), output_labels=str(tmp_path / "l.txt"), summaries_dir=str(tmp_path / "logs"))
    seen = []
    (run,) = retrain([config], settings, echo=lambda line: seen.append((time.perf_counter(), line)))
    steps = [t for t, line in seen if ": Step " in line]
    assert len(steps) == 3 * run.metrics["evaluations"] and seen[-1][1].startswith("Final test accuracy = ")
    assert steps[-1] - steps[0] > 0.3 * run.timings["training_s"]  # spread over the training, not printed at once


def test_progress_is_quiet_off_a_terminal_and_says_rate_and_time_left():
    import io

    from homework.progress import Progress

    stream = io.StringIO()
    quiet = Progress("bottlenecks", 10, stream=stream)  # pytest captures stdout: not a terminal
    quiet.advance(5)
    quiet.close()
    assert stream.getvalue() == ""
    shown = Progress("bottlenecks", 10, stream=stream, enabled=True, every_s=0)
    shown.advance(4)
    shown.advance(6)
    shown.close()
    text = stream.getvalue()
    assert "4/10 images" in text and "10/10 images" in text and "img/s" in text and "s left" in text and text.endswith("\n")


def _curve(steps, loss, accuracy):
    return {"step": list(steps), "validation_cross_entropy_full": list(loss), "validation_accuracy_full": list(accuracy)}


def test_learning_rate_facts_from_curves():
    """Gradient descent at half the rate follows the same path at half the speed; a rate far too
    high swings. The facts hold on such curves, with noise, and fail when they do not."""
    from homework.tasks.retrain_curves import learning_rate_facts

    rng = np.random.default_rng(0)
    steps = np.arange(0, 500, 10)
    path = lambda t: 0.3 + 1.3 * np.exp(-t / 80)  # noqa: E731
    noisy = lambda values: values + rng.normal(0, 0.01, len(values))  # noqa: E731
    ref = _curve(steps, noisy(path(steps)), noisy(0.9 - 0.6 * np.exp(-steps / 80)))
    low = _curve(steps, noisy(path(steps / 2)), noisy(0.9 - 0.6 * np.exp(-steps / 160)))
    wild = _curve(steps, 5 + 4 * np.sin(steps), 0.5 + 0.2 * np.sign(np.sin(steps)))
    facts = learning_rate_facts({"0.005": low, "0.01": ref, "1": wild}, validation_images=100)
    assert facts["slower"] and facts["unstable"] and facts["unstable_evidence"]["loss_blew_up"]
    assert facts["unstable_evidence"]["accuracy_oscillates"]
    same = learning_rate_facts({"0.005": ref, "0.01": ref, "1": ref}, validation_images=100)
    assert not same["slower"] and not same["unstable"]


def test_own_images_split_is_fixed_and_skips_counts_that_do_not_fit(tmp_path):
    from homework.data.images import load_image_tree
    from homework.tasks.retrain_experiments import own_split

    rng = np.random.default_rng(1)
    for label, count in (("apples", 10), ("pears", 14)):
        for i in range(count):
            make_jpeg(tmp_path / "own" / label / f"IMG_{i:04d}.jpg", tuple(int(c) for c in rng.integers(0, 255, 3)))
    tree = load_image_tree(tmp_path / "own", 0, 0)
    held, pools, usable = own_split(tree, [3, 6, 12])
    assert usable == [3, 6]  # 12 per class does not fit in 10 apples
    assert not {e.path for e in held} & {e.path for pool in pools.values() for e in pool}
    with pytest.raises(HomeworkError, match="'apples' has 10 images"):
        own_split(tree, [20])
