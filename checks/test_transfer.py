"""Task 1.2: transfer learning from a MobileNet feature vector, frozen vs fine-tuned, with a
batch size that adapts so the run never dies of out-of-memory.

Accuracies are compared on the testing split (never trained or selected on), against their
standard errors: binomial for one accuracy, per-image paired for a difference."""
import math

import numpy as np
import pytest

from homework.tasks import transfer
from homework.tasks.common import ABOVE_CHANCE_SE, above_chance_floor, binomial_se, paired_se, release

NOT_WORSE_SE = 2  # fine-tuning may not lose more than this many standard errors of the difference
FROZEN_EMBEDDED = 0.75  # the stand-in and generated flowers are built for it: frozen test accuracy minus two SE must reach it


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


def test_enough_test_images_for_the_claims(result, settings):
    assert result.metrics["test_images"] >= (100 if settings.profile == "embedded" else 300), (
        f"{result.metrics['test_images']} test images: too few to tell accuracies apart (binomial SE "
        f"{result.metrics['frozen_test_se']:.1%}); raise flowers_images_per_class or testing_percentage"
    )


@pytest.mark.weight(2)
def test_frozen_features_carry_the_classes(result, inputs, settings):
    """A head on frozen features learns the classes: test accuracy above chance by
    ABOVE_CHANCE_SE standard errors (a guess reaches that with probability < 1e-4); on the
    embedded stand-in, FROZEN_EMBEDDED even after two standard errors are taken off."""
    accuracy, n = result.metrics["frozen_test_accuracy"], result.metrics["test_images"]
    floor = above_chance_floor(inputs.classes, n)
    assert accuracy >= floor, (
        f"frozen test accuracy {accuracy:.1%} on {n} images (SE {binomial_se(accuracy, n):.1%}) is not above chance "
        f"({1 / inputs.classes:.0%}) by {ABOVE_CHANCE_SE:g} standard errors ({floor:.1%})"
    )
    if settings.profile == "embedded" and not (settings.flowers_dir or settings.hub_module):  # stand-in on generated flowers
        assert accuracy - 2 * binomial_se(accuracy, n) >= FROZEN_EMBEDDED, (
            f"frozen test accuracy {accuracy:.1%} on {n} images minus two SE ({binomial_se(accuracy, n):.1%}) is below {FROZEN_EMBEDDED:.0%}")


@pytest.mark.weight(2)
def test_fine_tuning_is_not_worse_than_frozen(result):
    frozen, tuned = result.details["frozen"], result.details["fine_tuned"]
    difference = tuned.test_accuracy - frozen.test_accuracy
    se = paired_se(frozen.test_correct, tuned.test_correct)
    if se == 0:  # both label every test image the same way
        se = binomial_se(frozen.test_accuracy, len(frozen.test_correct))
    assert difference > -NOT_WORSE_SE * se, (
        f"fine-tuned {tuned.test_accuracy:.1%} vs frozen {frozen.test_accuracy:.1%} on {len(frozen.test_correct)} test images: "
        f"{difference:+.1%}, worse by more than {NOT_WORSE_SE} paired standard errors ({NOT_WORSE_SE * se:.1%})"
    )
    assert tuned.summary["trainable_parameters"] > frozen.summary["trainable_parameters"]
    assert tuned.module_weight_change > 0 and frozen.module_weight_change == 0, "fine-tuning must move the module's weights, freezing must not"


def test_histories_and_batches_recorded(result, settings):
    for phase in (result.details["frozen"], result.details["fine_tuned"]):
        assert len(phase.history["val_accuracy"]) == len(phase.epoch_seconds) == settings.transfer_epochs
        assert phase.batch_sizes_tried[0] <= settings.batch_size and phase.batch_size == phase.batch_sizes_tried[-1]
        assert len(phase.test_correct) == result.metrics["test_images"]
    assert result.provenance["module"]["stand_in"] == (settings.profile == "embedded")


@pytest.mark.weight(2)
def test_injected_oom_halves_the_batch_and_completes(settings, inputs, fresh, tmp_path):
    """TF's ResourceExhaustedError above batch 8: 32 -> 16 -> 8, and the run finishes."""
    forced = settings.replace(simulate_oom_above=8, transfer_epochs=2, batch_size=32)
    phase = transfer.train_phase(forced, fresh, inputs, False, tmp_path / "tb", 1, verbose=0)
    assert phase.batch_sizes_tried == [32, 16, 8] and phase.batch_size == 8
    assert len(phase.history["accuracy"]) == len(phase.epoch_seconds) == 2  # no epoch lost or doubled


def test_memory_budget_picks_a_batch_that_fits(settings, inputs, fresh, tmp_path):
    sample = transfer.per_sample_bytes(inputs.module, settings, settings.transfer_image_size, trainable=False)
    params = inputs.module.parameters or 0
    budget_mb = int((params * 4 + 2 * 1280 * 5 * 4 * 4 + 6 * sample) / 2**20) + 1  # room for about 6 images
    budgeted = settings.replace(memory_budget_mb=budget_mb, transfer_epochs=1)
    phase = transfer.train_phase(budgeted, fresh, inputs, False, tmp_path / "tb", sample, verbose=0)
    assert phase.batch_sizes_tried[0] < settings.batch_size and phase.batch_size * sample <= budget_mb * 2**20


@pytest.mark.parametrize("trainable", [False, True], ids=["frozen", "fine_tuned"])
@pytest.mark.weight(0)  # timing, not graded
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


@pytest.mark.weight(0)  # timing, not graded
def test_benchmark_transfer_inference(benchmark, settings, inputs, fresh):
    batch = inputs.test[0][:32] / np.float32(255)
    predict = lambda: fresh.model(batch, training=False).numpy()  # noqa: E731 - .numpy() waits for the device
    predict()
    benchmark.extra_info.update(images=len(batch), stand_in=inputs.module.stand_in)
    benchmark(predict)
