"""Task 1.1: the beginner MNIST model, and a challenger that must beat it on the test split."""
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
def test_challenger_beats_baseline_by_more_than_the_spread(result):
    base, chal = result.metrics["baseline"], result.metrics[result.details["challenger"]]
    margin = max(base["test_accuracy_spread"], chal["test_accuracy_spread"])
    assert chal["test_accuracy_mean"] - base["test_accuracy_mean"] > margin, (base, chal)
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
    """Training time of one epoch: one warm-up round (device initialisation, kernel selection) not timed, then one timed round."""
    from homework.data.mnist import load_mnist

    data = load_mnist(settings)
    benchmark.extra_info["stand_in"] = data.stand_in
    benchmark.pedantic(mnist.train, args=(name, data, settings.seed, 1), rounds=1, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("name", ["baseline", "cnn"])
@pytest.mark.weight(0)  # timing, not graded
def test_benchmark_mnist_inference(benchmark, settings, name):
    """Images per second of inference on the test split (calibrated rounds)."""
    from homework.compat import keras
    from homework.data.mnist import load_mnist

    data = load_mnist(settings)
    model = mnist.BUILDERS[name]()
    x = data.x_test[:256] / 255.0
    predict = lambda: model(x, training=False).numpy()  # noqa: E731 - .numpy() waits for the device
    predict()
    benchmark.extra_info.update(images=len(x), stand_in=data.stand_in, keras=keras.__name__)
    benchmark(predict)
