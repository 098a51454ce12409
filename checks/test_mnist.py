"""Task 1.1: the beginner MNIST model, and a challenger that must beat it on the test split."""
import math

import numpy as np
import pytest

from homework.tasks import mnist


@pytest.fixture(scope="module")
def result(settings, store):
    outcome = mnist.run(settings)
    store("mnist", outcome)
    return outcome


def test_baseline_is_the_beginner_model(result, verdict):
    verdict("mnist.baseline_is_the_beginner_model")


def test_challenger_beats_baseline_by_more_than_its_standard_error(result, verdict):
    """Paired by seed and by test image; the margin combines both errors (homework/verdicts.py)."""
    verdict("mnist.challenger_beats_the_baseline")


def test_every_model_has_history_timing_and_throughput(result, verdict):
    verdict("mnist.every_model_trained_and_timed")


def test_sweeps_learn_at_every_value(result, verdict):
    verdict("mnist.sweeps_learn_at_every_value")


@pytest.mark.parametrize("name", ["baseline", "cnn"])
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
