"""Task 1.2: transfer learning from a MobileNet feature vector, frozen vs fine-tuned, with a
batch size that adapts so the run never dies of out-of-memory.

Accuracies are compared on the testing split (never trained or selected on), against their
standard errors: binomial for one accuracy, per-image paired for a difference. Each graded
check applies its verdict (homework/verdicts.py) to the record as stored."""
import math

import numpy as np
import pytest

from homework.tasks import transfer
from homework.tasks.common import release
from homework.tasks.result import TaskResult


@pytest.fixture(scope="module")
def inputs(settings):
    return transfer.load_inputs(settings)


@pytest.fixture(scope="module")
def result(settings, store, inputs):
    outcome = transfer.run(settings, inputs=inputs)
    store("transfer", outcome)
    return outcome


@pytest.fixture
def fresh(settings, inputs):
    """A new classifier for one test, released afterwards (memory does not pile up)."""
    clf = transfer.classifier(settings, inputs.module, inputs.classes)
    yield clf
    del clf
    release()


def test_enough_test_images_for_the_claims(result, verdict):
    verdict("transfer.enough_test_images")


def test_frozen_features_carry_the_classes(result, verdict):
    """A head on frozen features learns the classes: above chance by 4 standard errors; with a
    stand-in module on generated flowers, 75% even after two standard errors are taken off."""
    verdict("transfer.frozen_features_carry_the_classes")


def test_fine_tuning_is_not_worse_than_frozen(result, verdict):
    """Paired per test image; the module's weights are measured before and after each phase."""
    verdict("transfer.fine_tuning_not_worse_than_frozen")


def test_histories_and_batches_recorded(result, verdict):
    verdict("transfer.histories_and_batches_recorded")


def test_injected_oom_halves_the_batch_and_completes(settings, inputs, fresh, tmp_path, store, verdict):
    """TF's ResourceExhaustedError above batch 8: 32 -> 16 -> 8, and the run finishes."""
    forced = settings.replace(simulate_oom_above=8, transfer_epochs=2, batch_size=32)
    phase = transfer.train_phase(forced, fresh, inputs, False, tmp_path / "tb", 1, verbose=0)
    store("transfer_oom", TaskResult.of("transfer_oom", inputs=[inputs.source, inputs.module],
                                        provenance={"simulate_oom_above": 8, "batch_size": 32, "epochs": 2}, metrics={},
                                        timings={"epoch_s": sum(phase.epoch_seconds) / len(phase.epoch_seconds)}, details={"phase": phase}))
    verdict("transfer.out_of_memory_halves_the_batch")


def test_memory_budget_picks_a_batch_that_fits(settings, inputs, fresh, tmp_path, store, verdict):
    sample = transfer.per_sample_bytes(inputs.module, settings, settings.transfer_image_size, trainable=False)
    params = inputs.module.parameters or 0
    budget_mb = int((params * 4 + 2 * 1280 * 5 * 4 * 4 + 6 * sample) / 2**20) + 1  # room for about 6 images
    budgeted = settings.replace(memory_budget_mb=budget_mb, transfer_epochs=1)
    phase = transfer.train_phase(budgeted, fresh, inputs, False, tmp_path / "tb", sample, verbose=0)
    store("transfer_memory_budget", TaskResult.of(
        "transfer_memory_budget", inputs=[inputs.source, inputs.module],
        provenance={"budget_mb": budget_mb, "per_sample_bytes": sample, "batch_size": settings.batch_size, "epochs": 1},
        metrics={}, timings={"epoch_s": phase.epoch_seconds[0]}, details={"phase": phase}))
    verdict("transfer.memory_budget_picks_a_batch_that_fits")


@pytest.mark.parametrize("trainable", [False, True], ids=["frozen", "fine_tuned"])
def test_benchmark_transfer_epoch(benchmark, settings, inputs, trainable):
    """One training epoch over the training split and nothing else: the model is built,
    compiled and its training step traced (one batch) in setup, outside the timer; no
    validation pass is inside."""
    from homework.tasks.common import batches

    x, y = inputs.train
    # the batch the task itself would start with under settings.memory_budget_mb (32 at 224 px
    # while fine-tuning is several GB of activations on a small board)
    sample = transfer.per_sample_bytes(inputs.module, settings, settings.transfer_image_size, trainable)
    batch = transfer.first_batch(settings.batch_size, settings.memory_budget_mb, sample, 0)
    made = []

    def setup():
        while made:
            del made[-1]
            release()
        clf = transfer.classifier(settings, inputs.module, inputs.classes)
        transfer.compile_phase(clf, trainable, transfer.RATES[trainable])
        clf.model.fit(batches(x[:batch], y[:batch], batch), epochs=1, verbose=0)  # trace
        made.append(clf)
        return (clf.model, batches(x, y, batch, shuffle_seed=settings.seed)), {}

    def one_epoch(model, stream):
        return model.fit(stream, epochs=1, verbose=0).history["loss"][-1]  # a host float: the epoch has finished

    benchmark.extra_info.update(stand_in=inputs.module.stand_in, images=len(y), batch=batch, image_size=settings.transfer_image_size, validation_inside=False)
    loss = benchmark.pedantic(one_epoch, setup=setup, rounds=1, iterations=1)
    made.clear()
    release()
    assert math.isfinite(loss)


def test_benchmark_transfer_inference(benchmark, settings, inputs, fresh):
    batch = inputs.test[0][:32] / np.float32(255)
    predict = lambda: fresh.model(batch, training=False).numpy()  # noqa: E731 - .numpy() waits for the device
    predict()
    benchmark.extra_info.update(images=len(batch), stand_in=inputs.module.stand_in)
    benchmark(predict)
