"""Task 1.2: transfer learning from a MobileNet feature vector, frozen vs fine-tuned, with a
batch size that adapts so the run never dies of out-of-memory."""
import pytest

from homework.tasks import transfer


@pytest.fixture(scope="module")
def result(settings, store):
    outcome = transfer.run(settings)
    store("transfer", outcome)
    return outcome


@pytest.fixture(scope="module")
def inputs(settings):
    return transfer.load_inputs(settings)


@pytest.mark.weight(2)
def test_fine_tuned_at_least_as_good_as_frozen(result):
    assert result.details["fine_tuned"].final_val_accuracy >= result.details["frozen"].final_val_accuracy, result.metrics
    assert result.details["fine_tuned"].summary["trainable_parameters"] > result.details["frozen"].summary["trainable_parameters"]


def test_histories_and_batches_recorded(result, settings):
    for phase in (result.details["frozen"], result.details["fine_tuned"]):
        assert len(phase.history["val_accuracy"]) == len(phase.epoch_seconds) == settings.transfer_epochs
        assert phase.batch_sizes_tried[0] <= settings.batch_size and phase.batch_size == phase.batch_sizes_tried[-1]
    assert result.provenance["module"]["stand_in"] == (settings.profile == "embedded")


@pytest.mark.weight(2)
def test_injected_oom_halves_the_batch_and_completes(settings, inputs, tmp_path):
    """TF's ResourceExhaustedError above batch 8: 32 -> 16 -> 8, and the run finishes."""
    forced = settings.replace(simulate_oom_above=8, transfer_epochs=2, batch_size=32)
    phase = transfer.train_phase(forced, inputs.module, inputs.train, inputs.val, False, 1e-3, tmp_path / "tb", 1, verbose=0)
    assert phase.batch_sizes_tried == [32, 16, 8] and phase.batch_size == 8
    assert len(phase.history["accuracy"]) == len(phase.epoch_seconds) == 2  # no epoch lost or doubled


def test_memory_budget_picks_a_batch_that_fits(settings, inputs, tmp_path):
    sample = transfer.per_sample_bytes(inputs.module, settings, settings.transfer_image_size, trainable=False)
    params = inputs.module.parameters or 0
    budget_mb = int((params * 4 + 2 * 1280 * 5 * 4 * 4 + 6 * sample) / 2**20) + 1  # room for about 6 images
    budgeted = settings.replace(memory_budget_mb=budget_mb, transfer_epochs=1)
    phase = transfer.train_phase(budgeted, inputs.module, inputs.train, inputs.val, False, 1e-3, tmp_path / "tb", sample, verbose=0)
    assert phase.batch_sizes_tried[0] < settings.batch_size and phase.batch_size * sample <= budget_mb * 2**20


@pytest.mark.parametrize("trainable", [False, True], ids=["frozen", "fine_tuned"])
@pytest.mark.weight(0)  # timing, not graded
def test_benchmark_transfer_epoch(benchmark, settings, inputs, tmp_path, trainable):
    one = settings.replace(transfer_epochs=1)
    benchmark.extra_info["stand_in"] = inputs.module.stand_in
    benchmark.pedantic(transfer.train_phase, args=(one, inputs.module, inputs.train, inputs.val, trainable, 1e-3, tmp_path / "tb", 1, 0), rounds=1, iterations=1, warmup_rounds=1)


@pytest.mark.weight(0)  # timing, not graded
def test_benchmark_transfer_inference(benchmark, settings, inputs):
    from homework.compat import keras
    from homework.models import modules

    model = keras.Sequential([keras.Input(inputs.val[0].shape[1:]), modules.keras_layer(inputs.module), keras.layers.Dense(5)])
    batch = inputs.val[0][:32] / 255.0
    predict = lambda: model(batch, training=False).numpy()  # noqa: E731 - .numpy() waits for the device
    predict()
    benchmark.extra_info.update(images=len(batch), stand_in=inputs.module.stand_in)
    benchmark(predict)
