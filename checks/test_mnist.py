"""Task 1.1: the beginner MNIST model, and a challenger that must beat it on the test split."""
import math
import statistics

import numpy as np
import pytest

from homework.tasks import mnist


@pytest.fixture(scope="module")
def result(settings, store):
    assert len(settings.seeds) >= 3, "the gain must be measured over at least 3 seeds"
    outcome = mnist.run(settings)
    store("mnist", outcome)
    return outcome


def test_baseline_is_the_beginner_model(result):
    summary = result.details["models"]["baseline"]["summary"]
    assert summary["trainable_parameters"] == 101_770
    assert [layer["type"] for layer in summary["layers"]] == ["Flatten", "Dense", "Dropout", "Dense"]
    assert [layer["output_shape"] for layer in summary["layers"]] == ["(None, 784)", "(None, 128)", "(None, 128)", "(None, 10)"]


@pytest.mark.weight(2)
def test_challenger_beats_baseline_by_more_than_its_standard_error(result):
    """Paired by seed and by test image; the margin combines both errors (see mnist.compare)."""
    base, chal = result.metrics["baseline"], result.metrics[result.details["challenger"]]
    gains = [c - b for b, c in zip(base["test_accuracy_per_seed"], chal["test_accuracy_per_seed"])]
    se_seeds = statistics.stdev(gains) / math.sqrt(len(gains))
    se_images = result.details["comparison"]["se_test_images"]
    margin = mnist.MARGIN_SE * math.sqrt(se_seeds**2 + se_images**2)
    gain = statistics.mean(gains)
    assert gain > margin, (
        f"{result.details['challenger']} gains {gain:.2%} over the baseline (per seed {', '.join(f'{g:+.2%}' for g in gains)}), "
        f"not more than {mnist.MARGIN_SE} standard errors = {margin:.2%} (seeds {se_seeds:.2%}, "
        f"{result.details['comparison']['test_images']} test images {se_images:.2%})"
    )
    assert result.details["challenger_beats_baseline"]


def test_every_model_has_history_timing_and_throughput(result):
    for name, model in result.details["models"].items():
        assert len(model["history"]["val_accuracy"]) == len(model["epoch_seconds"]) > 0, name
        assert result.metrics[name]["inference_images_per_s"] > 0


def test_sweeps_have_a_row_per_value(result, settings):
    assert [row["l2"] for row in result.details["sweeps"]["l2"]] == list(settings.l2_values)
    assert [row["dropout"] for row in result.details["sweeps"]["dropout"]] == list(settings.dropout_values)
    assert all(0 < row["test_accuracy"] <= 1 for rows in result.details["sweeps"].values() for row in rows)


@pytest.mark.parametrize("name", ["baseline", "cnn"])
@pytest.mark.weight(0)  # timing, not graded
def test_benchmark_mnist_epoch(benchmark, settings, name):
    """One training epoch and nothing else: the model is built, compiled and its training step
    traced (one batch) in setup, outside the timer; no validation pass is inside."""
    from homework.data.mnist import load_mnist
    from homework.tasks.common import batches

    data = load_mnist(settings)
    (x, y), _ = mnist.fit_split(data)

    def setup():
        model = mnist.compiled(mnist.BUILDERS[name], settings.seed)
        model.fit(batches(x[: mnist.BATCH], y[: mnist.BATCH], mnist.BATCH), epochs=1, verbose=0)  # trace
        return (model, batches(x, y, mnist.BATCH, shuffle_seed=settings.seed)), {}

    def one_epoch(model, stream):
        return model.fit(stream, epochs=1, verbose=0).history["loss"][-1]  # a host float: the epoch has finished

    benchmark.extra_info.update(stand_in=data.stand_in, images=len(y), batch=mnist.BATCH, validation_inside=False)
    loss = benchmark.pedantic(one_epoch, setup=setup, rounds=1, iterations=1)
    assert math.isfinite(loss)


@pytest.mark.parametrize("name", ["baseline", "cnn"])
@pytest.mark.weight(0)  # timing, not graded
def test_benchmark_mnist_inference(benchmark, settings, name):
    """Images per second of inference on the test split (calibrated rounds)."""
    from homework.compat import keras
    from homework.data.mnist import load_mnist

    data = load_mnist(settings)
    model = mnist.BUILDERS[name]()
    x = data.x_test[:256] / np.float32(255)
    predict = lambda: model(x, training=False).numpy()  # noqa: E731 - .numpy() waits for the device
    predict()
    benchmark.extra_info.update(images=len(x), stand_in=data.stand_in, keras=keras.__name__)
    benchmark(predict)
