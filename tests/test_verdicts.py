"""Every verdict is shown able to fail: table-driven, over a fabricated record in which each
homework phenomenon is present (every verdict passes), each case taking one phenomenon away
(the verdict fails, its message naming the number), and a real run's record judged too."""
import json
import math
from pathlib import Path

import pytest

from homework import stats, verdicts
from fabricated import edit, edited, honest

FIXTURES = Path(__file__).parent / "fixtures"


def judged(record, check_id):
    return verdicts.judge(check_id, record)


def test_every_verdict_passes_on_the_honest_record():
    outcomes = {v.check: v for v in verdicts.judge_all(honest())}
    assert set(outcomes) == {c.id for c in verdicts.CHECKS}
    assert all(v.passed for v in outcomes.values()), {k: v.message for k, v in outcomes.items() if not v.passed}
    assert sum(v.points for v in outcomes.values()) == verdicts.total_weight() > 0




def _all(*changes):
    def change(record):
        for c in changes:
            c(record)
    return change


def _pack(correct):
    return stats.pack_correct(correct)


def _same_as_baseline(record):
    t = record["tasks"]["mnist"]
    t["details"]["test_correct"]["cnn"] = list(t["details"]["test_correct"]["baseline"])


def _slightly_better(record, extra):
    """The challenger = the baseline plus extra - 5, extra and extra + 5 more right answers on the three seeds."""
    t = record["tasks"]["mnist"]
    runs = []
    for seed, packed in enumerate(t["details"]["test_correct"]["baseline"]):
        bits = stats.unpack_correct(packed, 1000)
        wrong = [i for i, b in enumerate(bits) if not b][:extra + 5 * (seed - 1)]
        for i in wrong:
            bits[i] = 1
        runs.append(_pack(bits))
    t["details"]["test_correct"]["cnn"] = runs


def _label_check(rate, change):
    def edit(record):
        checks = record["tasks"]["retrain_learning_rates"]["details"]["checks"]
        checks[rate] = change(checks[rate])
    return edit


def _curve_of(rate_from, rate_to):
    def change(record):
        runs = record["tasks"]["retrain_learning_rates"]["details"]["runs"]
        src = next(r for r in runs if f"{r['provenance']['learning_rate']:g}" == rate_from)
        dst = next(r for r in runs if f"{r['provenance']['learning_rate']:g}" == rate_to)
        dst["details"]["curves"] = json.loads(json.dumps(src["details"]["curves"]))
    return change


def _rates(*rates):
    def change(record):
        for run, rate in zip(record["tasks"]["retrain_learning_rates"]["details"]["runs"], rates):
            run["provenance"]["learning_rate"] = rate
    return change


SWEEP = "tasks.retrain_learning_rates.details"
FAILING = [
    # check, what is taken away, the edit, words the message must carry
    ("mnist.baseline_is_the_beginner_model", "a 256-unit hidden layer", edit("tasks.mnist.details.models.baseline.summary.layers.1.output_shape", "(None, 256)"), "(None, 256)"),
    ("mnist.baseline_is_the_beginner_model", "another parameter count", edit("tasks.mnist.details.models.baseline.summary.trainable_parameters", 101771), "101,771"),
    ("mnist.challenger_beats_the_baseline", "no gain", _same_as_baseline, "gains +0.00%"),
    ("mnist.challenger_beats_the_baseline", "a gain within its error", lambda r: _slightly_better(r, 10), "not beyond the margin"),
    ("mnist.challenger_beats_the_baseline", "two seeds", edit("tasks.mnist.provenance.seeds", [0, 1]), "at least 3 different seeds"),
    ("mnist.challenger_beats_the_baseline", "a seed repeated", edit("tasks.mnist.provenance.seeds", [0, 0, 1]), "different seeds"),
    ("mnist.challenger_beats_the_baseline", "the baseline as challenger", edit("tasks.mnist.details.challenger", "baseline"), "is the baseline itself"),
    ("mnist.challenger_beats_the_baseline", "per-image results of another size", edit("tasks.mnist.details.test_correct.cnn.0", "ff"), "unreadable"),
    ("mnist.challenger_beats_the_baseline", "a seed missing", edit("tasks.mnist.details.test_correct.cnn", lambda v: v[:2]), "2 cnn runs for 3 seeds"),
    ("mnist.challenger_beats_the_baseline", "no per-image results", edit("tasks.mnist.details.test_correct.cnn", []), "no per-image results"),
    ("mnist.every_model_trained_and_timed", "an epoch not timed", edit("tasks.mnist.details.models.cnn.epoch_seconds", [1.0] * 4), "4 epoch times for 5 epochs"),
    ("mnist.every_model_trained_and_timed", "a zero epoch time", edit("tasks.mnist.details.models.cnn.epoch_seconds.2", 0.0), "not positive"),
    ("mnist.every_model_trained_and_timed", "NaN throughput", edit("tasks.mnist.metrics.cnn.inference_images_per_s", None), "not recorded"),
    ("mnist.every_model_trained_and_timed", "no throughput", edit("tasks.mnist.metrics.cnn.inference_images_per_s", 0), "no inference throughput"),
    ("mnist.sweeps_learn_at_every_value", "an L2 value missing", edit("tasks.mnist.details.sweeps.l2", lambda rows: rows[:2]), "the settings ask for"),
    ("mnist.sweeps_learn_at_every_value", "a dropout value at chance", edit("tasks.mnist.details.sweeps.dropout.1.test_accuracy", 0.13), "not above chance"),
    ("transfer.enough_test_images", "50 test images", _all(edit("tasks.transfer.details.frozen.test_correct", lambda v: v[:50]),
                                                          edit("tasks.transfer.details.fine_tuned.test_correct", lambda v: v[:50])), "50 test images"),
    ("transfer.enough_test_images", "phases scored on different sets", edit("tasks.transfer.details.frozen.test_correct", lambda v: v[:110]), "fine-tuned 120"),
    ("transfer.enough_test_images", "300 needed in the real profile", edit("provenance.profile", "real"), "needs 300 in the real profile"),
    ("transfer.frozen_features_carry_the_classes", "frozen at chance", edit("tasks.transfer.details.frozen.test_correct", [1 if i % 5 == 0 else 0 for i in range(120)]), "not above chance"),
    ("transfer.frozen_features_carry_the_classes", "stand-in below its target", edit("tasks.transfer.details.frozen.test_correct", [1 if i % 4 else 0 for i in range(120)]), "below 75%"),
    ("transfer.frozen_features_carry_the_classes", "a result that is not 0/1", edit("tasks.transfer.details.frozen.test_correct.0", 2), "per-image 0/1"),
    ("transfer.fine_tuning_not_worse_than_frozen", "fine-tuned worse", edit("tasks.transfer.details.fine_tuned.test_correct", [1 if i % 3 else 0 for i in range(120)]), "worse by more than 2 SE"),
    ("transfer.fine_tuning_not_worse_than_frozen", "frozen module moved", edit("tasks.transfer.details.frozen.module_weight_change", 0.002), "frozen phase moved"),
    ("transfer.fine_tuning_not_worse_than_frozen", "fine-tuned module unmoved", edit("tasks.transfer.details.fine_tuned.module_weight_change", 0.0), "unchanged"),
    ("transfer.fine_tuning_not_worse_than_frozen", "weight change NaN", edit("tasks.transfer.details.fine_tuned.module_weight_change", None), "not recorded"),
    ("transfer.fine_tuning_not_worse_than_frozen", "nothing more trained", edit("tasks.transfer.details.fine_tuned.summary.trainable_parameters", 6405), "no more than frozen"),
    ("transfer.histories_and_batches_recorded", "an epoch lost", edit("tasks.transfer.details.frozen.epoch_seconds", [3.0]), "1 timed, 2 asked for"),
    ("transfer.histories_and_batches_recorded", "batches that do not halve", edit("tasks.transfer.details.frozen.batch_sizes_tried", [32, 12]), "do not start"),
    ("transfer.histories_and_batches_recorded", "a batch above the setting", _all(edit("tasks.transfer.details.frozen.batch_sizes_tried", [64]),
                                                                               edit("tasks.transfer.details.frozen.batch_size", 64)), "at most at 32"),
    ("transfer.out_of_memory_halves_the_batch", "a batch skipped", edit("tasks.transfer_oom.details.phase.batch_sizes_tried", [32, 8]), "must start at 32 and halve"),
    ("transfer.out_of_memory_halves_the_batch", "stopped too early", _all(edit("tasks.transfer_oom.details.phase.batch_sizes_tried", [32, 16]),
                                                                         edit("tasks.transfer_oom.details.phase.batch_size", 16)), "first size that fits"),
    ("transfer.out_of_memory_halves_the_batch", "went too far", _all(edit("tasks.transfer_oom.details.phase.batch_sizes_tried", [32, 16, 8, 4]),
                                                                    edit("tasks.transfer_oom.details.phase.batch_size", 4)), "first size that fits"),
    ("transfer.out_of_memory_halves_the_batch", "an epoch lost", edit("tasks.transfer_oom.details.phase.epoch_seconds", [3.0]), "lost or doubled"),
    ("transfer.out_of_memory_halves_the_batch", "no injected limit", edit("tasks.transfer_oom.provenance.simulate_oom_above", 0), "does not lie below"),
    ("transfer.memory_budget_picks_a_batch_that_fits", "the requested batch kept", edit("tasks.transfer_memory_budget.details.phase.batch_sizes_tried", [32]), "left the batch at the requested 32"),
    ("transfer.memory_budget_picks_a_batch_that_fits", "a batch over budget", edit("tasks.transfer_memory_budget.details.phase.batch_size", 8), "exceeds the 100 MB budget"),
    ("transfer.memory_budget_picks_a_batch_that_fits", "no epoch", edit("tasks.transfer_memory_budget.details.phase.epoch_seconds", []), "did not complete"),
    ("retrain.learning_rates_behave", "other rates", _rates(0.02, 0.01, 0.5), "different experiment"),
    ("retrain.learning_rates_behave", "1.0 missing", edit(f"{SWEEP}.runs", lambda runs: runs[:2]), "the homework compares 0.005, 0.01, 1"),
    ("retrain.learning_rates_behave", "0.005 no slower", _curve_of("0.01", "0.005"), "0.005 is not slower"),
    ("retrain.learning_rates_behave", "1.0 stable", _curve_of("0.01", "1"), "no instability"),
    ("retrain.learning_rates_behave", "0.01 at chance", edit(f"{SWEEP}.runs.1.metrics.final_test_accuracy", 0.2), "no better than chance"),
    ("retrain.learning_rates_behave", "0.01 below the stand-in target", edit(f"{SWEEP}.runs.1.metrics.final_test_accuracy", 0.86), "below 85.0%"),
    ("retrain.learning_rates_behave", "0.01 below the real target", _all(edit(f"{SWEEP}.runs.1.metrics.final_test_accuracy", 0.79),
                                                                        edit("tasks.retrain_learning_rates.provenance.extractor", "tfhub: mobilenet")), "below 80.0%"),
    ("retrain.learning_rates_behave", "too few test images", edit(f"{SWEEP}.runs.1.metrics.test_images", 79), "79 test images"),
    ("retrain.learning_rates_behave", "NaN test accuracy", edit(f"{SWEEP}.runs.1.metrics.final_test_accuracy", None), "not recorded"),
    ("retrain.every_rate_gives_a_usable_graph", "0.01 unusable, unexplained", _label_check("0.01", lambda c: {"usable": False, "error": "no output"}), "no instability"),
    ("retrain.every_rate_gives_a_usable_graph", "scores not summing to 1", _label_check("0.005", lambda c: {**c, "top": [["daisy", 0.5], ["roses", 0.1], ["a", 0], ["b", 0], ["c", 0]]}), "summing to 0.600"),
    ("retrain.every_rate_gives_a_usable_graph", "a top 3", _label_check("0.005", lambda c: {**c, "top": [["daisy", 0.5], ["roses", 0.3], ["a", 0.2]]}), "the top 5"),
    ("retrain.every_rate_gives_a_usable_graph", "1.0 unusable while stable", _all(_curve_of("0.01", "1"), edit(f"{SWEEP}.checks.1", {"usable": False, "error": "NaN"})), "no instability"),
    ("retrain.logs_like_the_codelab", "every 20 steps", edit(f"{SWEEP}.runs.0.details.curves.step", list(range(0, 400, 20)) + [399]), "the codelab at 41"),
    ("retrain.logs_like_the_codelab", "fewer steps than asked", edit(f"{SWEEP}.runs.0.provenance.steps", 300), "trained 300 steps"),
    ("retrain.logs_like_the_codelab", "a miscounted evaluation", edit(f"{SWEEP}.runs.0.metrics.evaluations", 40), "40 evaluations counted"),
    ("retrain.logs_like_the_codelab", "a short curve", edit(f"{SWEEP}.runs.0.details.curves.cross_entropy", lambda v: v[:-1]), "cross_entropy has 40 points"),
    ("retrain.labels_file_and_summaries", "labels not the codelab's", edit(f"{SWEEP}.runs.0.details.labels_file", ["Daisy", "dandelion", "roses", "sunflowers", "tulips"]), "the codelab writes"),
    ("retrain.labels_file_and_summaries", "labels in another order", edit(f"{SWEEP}.runs.0.details.labels_file", ["tulips", "dandelion", "roses", "sunflowers", "daisy"]), "the codelab writes"),
    ("retrain.labels_file_and_summaries", "no validation summaries", edit(f"{SWEEP}.runs.2.details.summaries.validation", []), "under validation/"),
    ("retrain.one_bottleneck_pass_serves_every_rate", "a pass per rate", edit("tasks.retrain_cache.details.cold.extractor_images", 210), "fed 210 images"),
    ("retrain.one_bottleneck_pass_serves_every_rate", "the re-run recomputed", edit("tasks.retrain_cache.details.warm.extractor_images", 70), "warm re-run fed 70"),
    ("retrain.one_bottleneck_pass_serves_every_rate", "a made-up warm speed", edit("tasks.retrain_cache.details.warm.images_per_s", 999.0), "not the cold pass's"),
    ("retrain.one_bottleneck_pass_serves_every_rate", "one rate only", edit("tasks.retrain_cache.details.rates", 1), "at least two"),
    ("retrain.corrupt_cache_entry_rebuilt", "the corrupt entry reused", edit("tasks.retrain_cache.details.corrupted.corrupt_rebuilt", 0), "0 rebuilt"),
    ("retrain.corrupt_cache_entry_rebuilt", "everything recomputed", edit("tasks.retrain_cache.details.corrupted.extractor_images", 70), "70 recomputed"),
    ("retrain.distortions_bypass_the_cache", "cache changed", edit("tasks.retrain_distortions.details.cache_after", "b" * 64), "cache changed"),
    ("retrain.distortions_bypass_the_cache", "cached bottlenecks used", edit("tasks.retrain_distortions.details.training_extractor_images", 0), "fed 0 training images"),
    ("retrain.distortions_bypass_the_cache", "a batch not distorted", edit("tasks.retrain_distortions.details.batches", 2), "in 2 batches"),
    ("retrain.distortions_bypass_the_cache", "images unchanged", edit("tasks.retrain_distortions.details.mean_pixel_change", 0.0), "equal the originals"),
    ("retrain.cpu_vs_gpu", "the CPU leg saw a GPU", edit("tasks.retrain_cpu_vs_gpu.details.legs.cpu.gpus_visible", 1), "CPU leg saw 1"),
    ("retrain.cpu_vs_gpu", "the GPU leg saw none", edit("tasks.retrain_cpu_vs_gpu.details.legs.gpu.gpus_visible", 0), "saw no GPU"),
    ("retrain.cpu_vs_gpu", "a phase not timed", edit("tasks.retrain_cpu_vs_gpu.details.legs.gpu.training_s", 0.0), "GPU leg: training_s"),
    ("retrain.cpu_vs_gpu", "the CPU pass not timed", edit("tasks.retrain_cpu_vs_gpu.details.legs.cpu.bottleneck_s", 0), "CPU leg: bottleneck_s"),
    ("retrain.inception_input_layer", "input instead of Mul", edit("tasks.retrain_inception.details.input_layer.name", "input"), "reads input at 299x299"),
    ("retrain.inception_input_layer", "224 instead of 299", edit("tasks.retrain_inception.details.input_layer.height", 224), "at 224x299"),
    ("retrain.inception_input_layer", "not Inception", edit("tasks.retrain_inception.details.runs.0.provenance.architecture", "mobilenet_1.0_224"), "not inception_v3"),
    ("retrain.inception_input_layer", "a smaller image accepted", edit("tasks.retrain_inception.details.checks.tensorflow_feed.smaller_refused", False), "size is not pinned"),
    ("retrain.inception_input_layer", "a wrong output", edit("tasks.retrain_inception.details.checks.tensorflow_feed.shape", [1, 4]), "shape [1, 4]"),
    ("retrain.inception_input_layer", "defaults accepted", edit("tasks.retrain_inception.details.checks.label_with_mobilenet_defaults", {"usable": True, "error": ""}), "must fail in one line"),
    ("retrain.inception_input_layer", "the right flags failed", edit("tasks.retrain_inception.details.checks.label_with_inspected_input", {"usable": False, "error": "boom"}), "boom"),
    ("retrain.own_images", "flat accuracy on the stand-in tree", edit("tasks.retrain_own_images.details.rows.2", {"images_per_class": 12, "final_test_accuracy": 0.62, "draws": [0.62] * 12, "test_images": 200}), "not above 2 SE"),
    ("retrain.own_images", "one count", edit("tasks.retrain_own_images.details.rows", lambda rows: rows[:1]), "at least two"),
    ("retrain.own_images", "held-out sets differ", edit("tasks.retrain_own_images.details.rows.1.test_images", 150), "one fixed set"),
    ("retrain.own_images", "too few held out", _all(*[edit(f"tasks.retrain_own_images.details.rows.{i}.test_images", 9) for i in range(3)]), "9 held-out images"),
    ("retrain.own_images", "a mean that is not of its draws", edit("tasks.retrain_own_images.details.rows.1.final_test_accuracy", 0.75), "not the mean of its draws"),
    ("retrain.own_images", "draws missing", edit("tasks.retrain_own_images.details.rows.1.draws", [0.7] * 5), "5 draws, 12 recorded"),
    ("retrain.own_images", "counts out of order", edit("tasks.retrain_own_images.details.rows", lambda rows: rows[::-1]), "not increasing"),
]


@pytest.mark.parametrize("check_id, absent, change, words", FAILING, ids=[f"{c}: {a}" for c, a, _, _ in FAILING])
def test_the_verdict_fails_when_the_phenomenon_is_absent(check_id, absent, change, words):
    outcome = judged(edited(honest(), change), check_id)
    assert outcome.status == verdicts.FAILED and outcome.points == 0, outcome
    assert words in outcome.message, outcome.message


def test_every_check_has_failing_cases():
    assert {c.id for c in verdicts.CHECKS} <= {case[0] for case in FAILING}


@pytest.mark.parametrize("check_id", [c.id for c in verdicts.CHECKS])
def test_a_missing_task_is_not_run_and_earns_nothing(check_id):
    check = verdicts.by_id(check_id)
    record = edited(honest(), lambda r: r["tasks"].pop(check.tasks[0]))
    outcome = check(record)
    assert outcome.status == verdicts.NOT_RUN and outcome.points == 0 and f"'{check.tasks[0]}' is not in the record" in outcome.message


@pytest.mark.parametrize("check_id", [c.id for c in verdicts.CHECKS])
def test_a_mangled_task_fails_naming_the_problem(check_id):
    check = verdicts.by_id(check_id)
    record = edited(honest(), lambda r: r["tasks"][check.tasks[0]].update(details={}, provenance={}))
    outcome = check(record)
    assert outcome.status == verdicts.FAILED and "malformed" in outcome.message and "KeyError" in outcome.message


def test_no_gpu_in_the_run_is_not_run_with_the_reason():
    outcome = judged(honest(gpu=False), "retrain.cpu_vs_gpu")
    assert outcome.status == verdicts.NOT_RUN and outcome.points == 0 and outcome.message == "no GPU in this run: no GPU on this machine"


def test_a_skipped_task_is_not_run():
    record = edited(honest(), edit("tasks.retrain_own_images.details.skipped", "question 10 needs your own photos"))
    outcome = judged(record, "retrain.own_images")
    assert outcome.status == verdicts.NOT_RUN and outcome.message == "question 10 needs your own photos"


def test_student_photos_are_reported_not_held_to_the_stand_in_gain():
    flat = edit("tasks.retrain_own_images.details.rows.2", {"images_per_class": 12, "final_test_accuracy": 0.6, "draws": [0.6] * 12, "test_images": 200})
    photos = edit("tasks.retrain_own_images.provenance.data", "folder: /home/me/photos")
    assert judged(edited(honest(), _all(flat, photos)), "retrain.own_images").passed
    assert not judged(edited(honest(), flat), "retrain.own_images").passed


def test_a_real_module_on_real_photos_is_held_to_the_homework_target_not_the_stand_ins():
    real = _all(edit("tasks.transfer.provenance.module.stand_in", False), edit("tasks.transfer.provenance.data.identity", "flower_photos (3,670)"))
    low = edit("tasks.transfer.details.frozen.test_correct", [1 if i % 4 else 0 for i in range(120)])  # 75%: above chance, below the stand-in's bar
    assert judged(edited(honest(), _all(real, low)), "transfer.frozen_features_carry_the_classes").passed
    assert not judged(edited(honest(), low), "transfer.frozen_features_carry_the_classes").passed


@pytest.mark.parametrize("extra, passes", [(10, False), (60, True)])
def test_the_challenger_margin_is_three_combined_standard_errors(extra, passes):
    outcome = judged(edited(honest(), lambda r: _slightly_better(r, extra)), "mnist.challenger_beats_the_baseline")
    assert outcome.passed is passes, outcome.message
    gain = float(outcome.message.split("gains +")[1].split("%")[0]) / 100
    margin = float(outcome.message.split("standard errors = ")[1].split("%")[0]) / 100
    assert (gain > margin) is passes and math.isclose(gain, extra / 1000, abs_tol=5e-5)


@pytest.mark.parametrize("accuracy, passes", [(0.85, False), (0.93, True)])
def test_the_stand_in_retrain_target_takes_two_standard_errors_off(accuracy, passes):
    # 0.93 - 2 * 0.0255 = 0.879 >= 0.85; 0.85 - 2 * 0.0357 < 0.85
    outcome = judged(edited(honest(), edit(f"{SWEEP}.runs.1.metrics.final_test_accuracy", accuracy)), "retrain.learning_rates_behave")
    assert outcome.passed is passes, outcome.message


def test_exactly_the_minimum_test_images_passes():
    record = edited(honest(), _all(edit("tasks.transfer.details.frozen.test_correct", [1 if i % 10 else 0 for i in range(100)]),
                                   edit("tasks.transfer.details.fine_tuned.test_correct", [1 if i % 20 else 0 for i in range(100)])))
    assert judged(record, "transfer.enough_test_images").passed
    assert judged(edited(honest(), edit(f"{SWEEP}.runs.1.metrics.test_images", 80)), "retrain.learning_rates_behave").passed


def test_fine_tuned_equal_to_frozen_passes_and_identical_labels_use_the_binomial_error():
    same = edit("tasks.transfer.details.fine_tuned.test_correct", [1 if i % 10 else 0 for i in range(120)])
    outcome = judged(edited(honest(), same), "transfer.fine_tuning_not_worse_than_frozen")
    assert outcome.passed and "+0.0%" in outcome.message and "paired SE 2.7%" in outcome.message


def test_an_unusable_graph_at_1_explained_by_its_instability_passes():
    record = edited(honest(), edit(f"{SWEEP}.checks.1", {"usable": False, "error": "final_result is NaN"}))
    outcome = judged(record, "retrain.every_rate_gives_a_usable_graph")
    assert outcome.passed and "1 unusable, explained" in outcome.message


def test_the_codelab_logs_401_evaluations_in_4000_steps():
    assert len(verdicts._evaluation_steps(4000)) == 401 and verdicts._evaluation_steps(4000)[-2:] == [3990, 3999]
    assert verdicts._evaluation_steps(11) == [0, 10]  # step 10 is both a tenth step and the last


def test_codelab_labels():
    assert verdicts.codelab_label("Sun_Flowers--2") == "sun flowers 2" and verdicts.codelab_label("daisy") == "daisy"


def test_verdict_outcomes_carry_weight_and_points():
    v = judged(honest(), "retrain.inception_input_layer")
    assert (v.weight, v.points, v.passed) == (2.0, 2.0, True)
    failed = judged(edited(honest(), edit("tasks.retrain_inception.details.input_layer.name", "input")), "retrain.inception_input_layer")
    assert (failed.weight, failed.points) == (2.0, 0.0)


def test_an_unknown_check_is_a_key_error():
    with pytest.raises(KeyError, match="no check 'no.such.check'"):
        verdicts.by_id("no.such.check")


def test_a_real_runs_record_passes_every_verdict_it_ran():
    """tests/fixtures/record_embedded.json: a real `pytest checks/` run of this harness (no GPU there)."""
    record = json.loads((FIXTURES / "record_embedded.json").read_text())
    outcomes = {v.check: v for v in verdicts.judge_all(record)}
    assert {k for k, v in outcomes.items() if not v.passed} == {"retrain.cpu_vs_gpu"}, {k: v.message for k, v in outcomes.items() if not v.passed}
    assert outcomes["retrain.cpu_vs_gpu"].status == verdicts.NOT_RUN and "no GPU in this run" in outcomes["retrain.cpu_vs_gpu"].message


PASSING_MESSAGES = {  # what each verdict says of the fabricated record: the numbers it judged, recomputed
    "mnist.baseline_is_the_beginner_model": 'Flatten -> Dense(128) -> Dropout -> Dense(10), 101,770 parameters',
    "mnist.challenger_beats_the_baseline": 'cnn gains +5.07% over the baseline on 1000 test images (per seed +4.80%, +5.10%, +5.30%); margin 3 standard errors = 1.76% (seeds 0.15%, test images 0.57%)',
    "mnist.every_model_trained_and_timed": '3 models, 5 epochs each, timed',
    "mnist.sweeps_learn_at_every_value": '3 L2 and 3 dropout values, all above chance (13.8%)',
    "transfer.enough_test_images": '120 test images (needs 100)',
    "transfer.frozen_features_carry_the_classes": 'frozen test accuracy 90.0% on 120 images (SE 2.7%)',
    "transfer.fine_tuning_not_worse_than_frozen": 'fine-tuned 95.0% vs frozen 90.0% on 120 test images: +5.0% (paired SE 2.0%); module weights moved 1.00e-03 fine-tuned, 0 frozen',
    "transfer.histories_and_batches_recorded": '2 epochs a phase; batches [32] frozen, [32] fine-tuned',
    "transfer.out_of_memory_halves_the_batch": 'out of memory above 8: batches [32, 16, 8], 2 epochs completed',
    "transfer.memory_budget_picks_a_batch_that_fits": 'budget 100 MB at 16.0 MB an image: batch 4 (asked 32)',
    "retrain.learning_rates_behave": "0.01: 94.0% on 100 test images; 0.005 reached the 0.01 plateau after 290 steps, 0.01 after 160; 1.0 unstable (loss_rose, loss_blew_up, late loss 12.1x 0.01's)",
    "retrain.every_rate_gives_a_usable_graph": '0.005 usable; 0.01 usable; 1 usable',
    "retrain.logs_like_the_codelab": '41 evaluations in 400 steps for every rate',
    "retrain.labels_file_and_summaries": "labels ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips']; train/ and validation/ event files for every rate",
    "retrain.one_bottleneck_pass_serves_every_rate": '70 images through the extractor once for 3 rates; the re-run reused all 70',
    "retrain.corrupt_cache_entry_rebuilt": '1 corrupt entry of 70 recomputed, 69 reused',
    "retrain.distortions_bypass_the_cache": '24 distorted images (31.5 levels mean change) through the network; cache unchanged',
    "retrain.cpu_vs_gpu": 'bottleneck pass 4.0 s CPU / 0.5 s GPU; training 0.50 s / 0.30 s',
    "retrain.inception_input_layer": "Mul at 299x299, confirmed by TensorFlow; MobileNet's defaults refused in one line naming it",
    "retrain.own_images": '60.0% at 3 and 80.0% at 12 images a class on 200 held-out images',
}


def test_each_verdict_says_what_it_judged():
    said = {v.check: v.message for v in verdicts.judge_all(honest())}
    assert said == PASSING_MESSAGES
    assert all(verdicts.by_id(c).title == v.title for c, v in ((v.check, v) for v in verdicts.judge_all(honest())))


FAILING_MESSAGES = [  # whole messages of failures: what a student reads
    ("mnist.challenger_beats_the_baseline", edit("tasks.mnist.details.challenger", "baseline"), "the challenger is the baseline itself"),
    ("mnist.every_model_trained_and_timed", edit("tasks.mnist.metrics.cnn.inference_images_per_s", None), "cnn inference images/s is not recorded (null: NaN or missing)"),
    ("mnist.every_model_trained_and_timed", edit("tasks.mnist.details.models.cnn.epoch_seconds.0", "fast"), "cnn epoch time is 'fast'"),
    ("mnist.sweeps_learn_at_every_value", edit("tasks.mnist.details.sweeps.l2.0.test_accuracy", None), "l2=1e-05 test accuracy is not recorded (null: NaN or missing)"),
    ("transfer.frozen_features_carry_the_classes", edit("tasks.transfer.details.frozen.test_correct", [1 if i % 5 == 0 else 0 for i in range(120)]),
     "frozen test accuracy 20.0% on 120 images (SE 3.7%) is not above chance (20%) by 4 SE (34.6%)"),
    ("transfer.frozen_features_carry_the_classes", edit("tasks.transfer.details.frozen.test_correct", {0: 1}), "frozen test results: needs the per-image 0/1 list, got {0: 1}"),
    ("transfer.fine_tuning_not_worse_than_frozen", edit("tasks.transfer.details.frozen.test_correct", lambda v: v[:100]), "frozen scored 100 test images, fine-tuned 120"),
    ("transfer.fine_tuning_not_worse_than_frozen", edit("tasks.transfer.details.fine_tuned.summary.trainable_parameters", 6405), "fine-tuning trains 6,405 parameters, no more than frozen's 6,405"),
    ("transfer.fine_tuning_not_worse_than_frozen", edit("tasks.transfer.details.frozen.module_weight_change", 0.002), "the frozen phase moved the module's weights (relative change 2.00e-03)"),
    ("transfer.fine_tuning_not_worse_than_frozen", edit("tasks.transfer.details.frozen.module_weight_change", None), "frozen module weight change is not recorded (null: NaN or missing)"),
    ("transfer.fine_tuning_not_worse_than_frozen", edit("tasks.transfer.details.fine_tuned.module_weight_change", None), "fine-tuned module weight change is not recorded (null: NaN or missing)"),
    ("transfer.fine_tuning_not_worse_than_frozen", edit("tasks.transfer.details.fine_tuned.module_weight_change", 0.0), "fine-tuning left the module's weights unchanged"),
    ("transfer.fine_tuning_not_worse_than_frozen", edit("tasks.transfer.details.fine_tuned.test_correct", [1 if i % 3 else 0 for i in range(120)]),
     "fine-tuned 66.7% vs frozen 90.0% on 120 test images: -23.3% (paired SE 5.1%): worse by more than 2 SE"),
    ("transfer.histories_and_batches_recorded", edit("tasks.transfer.details.fine_tuned.test_correct", lambda v: v[:119]), "fine_tuned: 119 test results for 120 test images"),
    ("transfer.memory_budget_picks_a_batch_that_fits", edit("tasks.transfer_memory_budget.details.phase.batch_size", 8), "batch 8 x 16.0 MB an image exceeds the 100 MB budget"),
    ("transfer.memory_budget_picks_a_batch_that_fits", edit("tasks.transfer_memory_budget.details.phase.epoch_seconds", []), "the budgeted run did not complete its epochs"),
    ("retrain.learning_rates_behave", _rates(0.02, 0.01, 0.5), "learning rates 0.01, 0.02, 0.5: the homework compares 0.005, 0.01, 1 (other rates are a different experiment)"),
    ("retrain.learning_rates_behave", edit(f"{SWEEP}.runs.1.metrics.final_test_accuracy", None), "test accuracy at 0.01 is not recorded (null: NaN or missing)"),
    ("retrain.learning_rates_behave", _curve_of("0.01", "1"), "1.0 shows no instability in the recorded curves: late validation loss 1.00x 0.01's (needs > 3x), validation accuracy swing 0.0007 against 0.01's 0.0007"),
    ("retrain.every_rate_gives_a_usable_graph", _label_check("0.01", lambda c: {"usable": False, "error": "no output"}),
     "0.01: the graph did not label an image (no output) and the curves show no instability that explains it"),
    ("retrain.logs_like_the_codelab", edit(f"{SWEEP}.runs.0.details.curves.step", list(range(0, 400, 20)) + [399]),
     "0.005: evaluated at 21 steps ([0, 20, 40] ... [380, 399]), the codelab at 41 (every 10 and step 399)"),
    ("retrain.corrupt_cache_entry_rebuilt", edit("tasks.retrain_cache.details.corrupted.hits", 70),
     "after truncating one of 70 cache files: 1 rebuilt, 1 recomputed, 70 reused, 0 missing"),
    ("retrain.one_bottleneck_pass_serves_every_rate", edit("tasks.retrain_cache.details.warm.throughput_from", "this run"),
     "the warm run reports 200.0 img/s from 'this run', not the cold pass's 200.0"),
    ("retrain.distortions_bypass_the_cache", edit("tasks.retrain_distortions.details.cache_after", "b"), "the bottleneck cache changed during the distorted run"),
    ("retrain.distortions_bypass_the_cache", edit("tasks.retrain_distortions.details.mean_pixel_change", None), "mean pixel change of the distorted images is not recorded (null: NaN or missing)"),
    ("retrain.distortions_bypass_the_cache", edit("tasks.retrain_distortions.details.mean_pixel_change", 0), "the distorted images equal the originals"),
    ("retrain.cpu_vs_gpu", edit("tasks.retrain_cpu_vs_gpu.details.legs.gpu.gpus_visible", 0), "the GPU leg saw no GPU"),
    ("retrain.cpu_vs_gpu", edit("tasks.retrain_cpu_vs_gpu.details.legs.cpu.training_s", None), "CPU training_s is not recorded (null: NaN or missing)"),
    ("retrain.cpu_vs_gpu", edit("tasks.retrain_cpu_vs_gpu.details.legs.gpu.bottleneck_s", None), "GPU bottleneck_s is not recorded (null: NaN or missing)"),
    ("retrain.inception_input_layer", edit("tasks.retrain_inception.details.input_layer.width", 224), "the graph's input layer reads Mul at 299x224; Inception v3's is Mul at 299x299"),
    ("retrain.inception_input_layer", edit("tasks.retrain_inception.details.checks.tensorflow_feed.scores_sum", None), "fed scores' sum is not recorded (null: NaN or missing)"),
    ("retrain.inception_input_layer", edit("tasks.retrain_inception.details.checks.label_with_inspected_input", {"usable": False, "error": "boom"}),
     "label_image with --input_layer=Mul --input_height=299 failed: boom"),
    ("retrain.inception_input_layer", edit("tasks.retrain_inception.details.checks.label_with_mobilenet_defaults", {"usable": True, "error": "x"}),
     "label_image with MobileNet's defaults must fail in one line naming Mul and 299x299; it said: 'x'"),
    ("retrain.own_images", edit("tasks.retrain_own_images.details.rows.1.draws.0", None), "accuracy of a draw at 6 a class is not recorded (null: NaN or missing)"),
    ("retrain.own_images", edit("tasks.retrain_own_images.details.rows.1.final_test_accuracy", None), "mean accuracy is not recorded (null: NaN or missing)"),
    ("retrain.own_images", edit("tasks.retrain_own_images.metrics.gain_3_to_12_standard_error", None), "the gain's standard error is not recorded (null: NaN or missing)"),
    ("retrain.own_images", edit("tasks.retrain_own_images.details.rows.2", {"images_per_class": 12, "final_test_accuracy": 0.62, "draws": [0.62] * 12, "test_images": 200}),
     "60.0% at 3 and 62.0% at 12 images a class on 200 held-out images: gain +2.0% not above 2 SE (4.0%)"),
]


@pytest.mark.parametrize("check_id, change, message", FAILING_MESSAGES, ids=[m[2][:50] for m in FAILING_MESSAGES])
def test_the_failure_says_what_fell_short(check_id, change, message):
    outcome = judged(edited(honest(), change), check_id)
    assert (outcome.status, outcome.message) == (verdicts.FAILED, message)


BOUNDARIES = [  # (check, edit, passes): each margin is met exactly, or missed by the smallest step
    ("mnist.every_model_trained_and_timed", edit("tasks.mnist.metrics.cnn.inference_images_per_s", 0.5), True),
    ("mnist.sweeps_learn_at_every_value", edit("tasks.mnist.details.sweeps.l2.0.test_accuracy", stats.above_chance_floor(10, 1000)), True),
    ("transfer.frozen_features_carry_the_classes", _all(edit("tasks.transfer.provenance.module.stand_in", False),
                                                       edit("tasks.transfer.details.frozen.test_correct", [1] * 44 + [0] * 76)), True),  # 36.7% >= 34.6%
    ("transfer.frozen_features_carry_the_classes", _all(edit("tasks.transfer.provenance.module.stand_in", False),
                                                       edit("tasks.transfer.details.frozen.test_correct", [1] * 41 + [0] * 79)), False),  # 34.2% < 34.6%
    ("transfer.out_of_memory_halves_the_batch", _all(edit("tasks.transfer_oom.provenance.simulate_oom_above", 1), edit("tasks.transfer_oom.provenance.batch_size", 4),
                                                    edit("tasks.transfer_oom.details.phase.batch_sizes_tried", [4, 2, 1]),
                                                    edit("tasks.transfer_oom.details.phase.batch_size", 1)), True),
    ("transfer.out_of_memory_halves_the_batch", _all(edit("tasks.transfer_oom.provenance.simulate_oom_above", 32),
                                                    edit("tasks.transfer_oom.details.phase.batch_sizes_tried", [32]),
                                                    edit("tasks.transfer_oom.details.phase.batch_size", 32)), False),
    ("transfer.histories_and_batches_recorded", _all(edit("provenance.settings.batch_size", 33), edit("tasks.transfer.details.frozen.batch_sizes_tried", [33, 16]),
                                                    edit("tasks.transfer.details.frozen.batch_size", 16)), True),
    ("transfer.memory_budget_picks_a_batch_that_fits", edit("tasks.transfer_memory_budget.details.phase.batch_size", 6), True),  # 6 x 16 MB <= 100 MB
    ("transfer.memory_budget_picks_a_batch_that_fits", edit("tasks.transfer_memory_budget.details.phase.batch_size", 7), False),
    ("retrain.learning_rates_behave", _all(edit(f"{SWEEP}.runs.1.metrics.final_test_accuracy", 0.80),
                                          edit("tasks.retrain_learning_rates.provenance.extractor", "tfhub: mobilenet")), True),
    ("retrain.learning_rates_behave", edit("tasks.retrain_learning_rates.provenance.extractor", "tfhub: mobilenet"), True),
    ("retrain.every_rate_gives_a_usable_graph", _label_check("0.005", lambda c: {**c, "top": [["daisy", 0.995], ["a", 0.0], ["b", 0.0], ["c", 0.0], ["d", 0.0]]}), True),
    ("retrain.every_rate_gives_a_usable_graph", _label_check("0.005", lambda c: {**c, "top": [["daisy", 1.01], ["a", 0.0], ["b", 0.0], ["c", 0.0], ["d", 0.0]]}), True),
    ("retrain.every_rate_gives_a_usable_graph", _label_check("0.005", lambda c: {**c, "top": [["daisy", 0.99], ["a", 0.0], ["b", 0.0], ["c", 0.0], ["d", 0.0]]}), False),
    ("retrain.every_rate_gives_a_usable_graph", _label_check("0.005", lambda c: {**c, "top": [["daisy", 1.02], ["a", 0.0], ["b", 0.0], ["c", 0.0], ["d", 0.0]]}), False),
    ("retrain.every_rate_gives_a_usable_graph", _all(edit(f"{SWEEP}.runs.0.details.labels", ["a", "b", "c", "d", "e", "f"]),
                                                    _label_check("0.005", lambda c: {**c, "top": c["top"] + [["x", 0.0]]})), False),
    ("retrain.one_bottleneck_pass_serves_every_rate", edit("tasks.retrain_cache.details.rates", 2), True),
    ("retrain.one_bottleneck_pass_serves_every_rate", edit("tasks.retrain_cache.details.warm.images_per_s", 200.0001), True),
    ("retrain.distortions_bypass_the_cache", edit("tasks.retrain_distortions.details.mean_pixel_change", 0.5), True),
    ("retrain.inception_input_layer", edit("tasks.retrain_inception.details.checks.tensorflow_feed.scores_sum", 1.00005), True),
    ("retrain.inception_input_layer", edit("tasks.retrain_inception.details.checks.tensorflow_feed.scores_sum", 0.5), False),
    ("retrain.inception_input_layer", edit("tasks.retrain_inception.details.checks.label_with_mobilenet_defaults.error", "no input 'input' of 224x224 (299x299)"), False),
    ("retrain.inception_input_layer", edit("tasks.retrain_inception.details.checks.label_with_mobilenet_defaults.error", "takes 'Mul' (299x299)\nsecond line"), False),
    ("retrain.inception_input_layer", edit("tasks.retrain_inception.details.checks.label_with_mobilenet_defaults.usable", True), False),
    ("retrain.own_images", edit("tasks.retrain_own_images.details.rows", lambda rows: [rows[0], rows[2]]), True),
    ("retrain.own_images", _all(*[edit(f"tasks.retrain_own_images.details.rows.{i}.test_images", 10) for i in range(3)]), True),
    ("retrain.own_images", edit("tasks.retrain_own_images.details.rows.1.final_test_accuracy", 0.7 + 5e-7), True),
    ("retrain.own_images", edit("tasks.retrain_own_images.metrics.gain_3_to_12_standard_error", 0.1), True),  # gain 0.2 = 2 SE exactly: not above
]


@pytest.mark.parametrize("check_id, change, passes", BOUNDARIES, ids=[f"{b[0]}-{i}" for i, b in enumerate(BOUNDARIES)])
def test_the_margins_are_where_they_are_stated(check_id, change, passes):
    outcome = judged(edited(honest(), change), check_id)
    assert outcome.passed is passes, outcome.message


def test_a_record_without_tasks_is_not_run_and_a_malformed_one_names_the_exception():
    record = honest()
    del record["tasks"]
    outcome = judged(record, "mnist.baseline_is_the_beginner_model")
    assert outcome.status == verdicts.FAILED and outcome.message == "the recorded result is malformed (KeyError: 'tasks')"
    outcome = judged(edited(honest(), edit("tasks.retrain_inception.details.checks", {})), "retrain.inception_input_layer")
    assert outcome.message == "the recorded result is malformed (KeyError: 'tensorflow_feed')"


def test_long_exception_text_is_cut_to_one_short_line():
    exc = ValueError("x " * 300 + "\n tail")
    assert verdicts._short(exc) == " ".join(["x"] * 300)[:200] and "\n" not in verdicts._short(exc)
    assert len(verdicts._short(ValueError("y" * 250))) == 200


def test_halvings_follow_integer_division():
    assert verdicts._halvings([33, 16, 8]) and not verdicts._halvings([32, 17])
