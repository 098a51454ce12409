"""A record's numbers must agree with each other, and a record that says "real" must not have read
a stand-in; the forged records of issue 19, and what each earns under the staff's policy."""
import json
from pathlib import Path

import pytest

from fabricated import edit, edited, honest
from homework import plausibility, stats, verdicts
from homework.grading import evidence, gradescope

FIXTURES = Path(__file__).parent / "fixtures"
REAL = evidence.Policy()
DRY_RUN = evidence.Policy(("real", "embedded"))


def real_record(gpu=True) -> dict:
    """The fabricated record as a real-profile run on the real data and modules would write it."""
    def change(r):
        r["provenance"]["profile"] = r["provenance"]["settings"]["profile"] = "real"
        for task in r["tasks"].values():
            task["stand_in"] = False
            prov = task["provenance"]
            if isinstance(prov.get("data"), str):
                prov["data"] = "flower_photos (3,670 images)"
            if isinstance(prov.get("extractor"), str):
                prov["extractor"] = "tfhub: https://tfhub.dev/google/imagenet/mobilenet_v1_050_224/feature_vector/5"
            for run in task["details"].get("runs", []):
                run["stand_in"] = False
                run["provenance"]["extractor"] = "tfhub: mobilenet_v1_050_224"
        t = r["tasks"]["transfer"]["provenance"]
        t["data"]["identity"], t["module"]["identity"], t["module"]["stand_in"] = "flower_photos (3,670 images)", "tfhub: mobilenet_v2", False
        r["tasks"]["mnist"]["provenance"]["data"].update(source="keras.datasets.mnist", stand_in=False)
        r["tasks"]["retrain_own_images"]["provenance"]["data"] = "folder: /home/student/photos"
        frozen = [1 if i % 10 else 0 for i in range(367)]  # the real flower_photos' 10% test split
        tuned = [1 if i % 20 else 0 for i in range(367)]
        d = r["tasks"]["transfer"]["details"]
        d["frozen"].update(test_correct=frozen, test_accuracy=sum(frozen) / 367)
        d["fine_tuned"].update(test_correct=tuned, test_accuracy=sum(tuned) / 367)
        r["tasks"]["transfer"]["metrics"].update(test_images=367, frozen_test_accuracy=sum(frozen) / 367, fine_tuned_test_accuracy=sum(tuned) / 367)
        r["tasks"]["transfer"]["provenance"]["data"]["splits"]["testing"] = 367
    return edited(honest(gpu), change)


def test_an_honest_record_has_no_problems():
    assert plausibility.problems(honest()) == [] and plausibility.problems(real_record()) == []
    assert plausibility.stand_in_inputs(real_record()) == []


def test_a_real_runs_record_is_consistent():
    record = json.loads((FIXTURES / "record_embedded.json").read_text())
    assert plausibility.problems(record) == []
    assert plausibility.stand_in_inputs(record)  # it is the embedded profile: it says so


def _set(path, value):
    return edit(path, value, "/")  # keys hold dots (learning rates): "/" joins them


INCONSISTENT = [
    ("a per-seed accuracy its per-image results do not give", _set("tasks/mnist/metrics/cnn/test_accuracy_per_seed/0", 0.999), "seed 0 test accuracy 0.999"),
    ("a mean that is not of its seeds", _set("tasks/mnist/metrics/baseline/test_accuracy_mean", 0.99), "is not the mean of its seeds"),
    ("a spread that is not of its seeds", _set("tasks/mnist/metrics/baseline/test_accuracy_spread", 0.5), "not the standard deviation"),
    ("transfer accuracy edited", _set("tasks/transfer/metrics/frozen_test_accuracy", 0.99), "metrics.frozen_test_accuracy = 0.99"),
    ("transfer phase accuracy edited", _set("tasks/transfer/details/fine_tuned/test_accuracy", 0.99), "details.fine_tuned.test_accuracy"),
    ("a final validation accuracy off its curve", _set("tasks/transfer/details/frozen/final_val_accuracy", 0.95), "not its curve's last point"),
    ("an epoch mean off its epochs", _set("tasks/transfer/timings/frozen_epoch_s", 1.0), "frozen_epoch_s is not the mean"),
    ("a split that is not the tree's", _set("tasks/transfer/metrics/train_images", 1000), "train_images = 1000"),
    ("an accuracy that is no whole count", _set("tasks/retrain_learning_rates/details/runs/1/metrics/final_test_accuracy", 0.9437), "not a whole count of 100"),
    ("a final metric off its curve", _set("tasks/retrain_learning_rates/details/runs/0/metrics/final_validation_accuracy", 0.97), "is not the last point"),
    ("evaluations miscounted", _set("tasks/retrain_learning_rates/details/runs/0/metrics/evaluations", 401), "401 evaluations counted"),
    ("curves shorter than the run", _set("tasks/retrain_learning_rates/details/runs/0/provenance/steps", 4000), "curves end at step 399"),
    ("a validation point no whole count", _set("tasks/retrain_learning_rates/details/runs/2/details/curves/validation_accuracy_full/3", 0.12345), "not a whole count of 100 images"),
    ("a throughput its time and images deny", _set("tasks/retrain_learning_rates/details/runs/0/timings/bottleneck_images_per_s", 900.0), "the pass computed 500"),
    ("steps/s its time denies", _set("tasks/retrain_learning_rates/details/runs/0/timings/steps_per_s", 50000.0), "does not match 400 steps"),
    ("a sweep table off its run", _set("tasks/retrain_learning_rates/details/rates/0.01/final_test_accuracy", 0.99), "its run says"),
    ("a sweep metric off its run", _set("tasks/retrain_learning_rates/metrics/test_accuracy_at_1", 0.99), "test_accuracy_at_1 = 0.99"),
    ("inception size off its layer", _set("tasks/retrain_inception/metrics/input_height", 224), "metrics say 224x299"),
    ("inception accuracy off its run", _set("tasks/retrain_inception/metrics/final_test_accuracy", 0.9), "differs from its run's"),
    ("an own-images draw no whole count", _set("tasks/retrain_own_images/details/rows/0/draws/3", 0.6012), "not a whole count of 200"),
    ("seeds not the settings'", _set("provenance/settings/seeds", [0, 1, 2, 3]), "the settings list [0, 1, 2, 3]"),
    ("epochs not the settings'", _set("provenance/settings/transfer_epochs", 5), "transfer trained 2 epochs, the settings say 5"),
    ("rates not the settings'", _set("provenance/settings/learning_rates", [0.01]), "the settings list [0.01]"),
    ("steps not the settings'", _set("provenance/settings/training_steps", 4000), "trained 400 steps, the settings say 4000"),
    ("a profile its settings deny", _set("provenance/settings/profile", "real"), "its settings say real"),
    ("a stand-in called real", _set("tasks/transfer/provenance/module/stand_in", False), "is a stand-in, but its task says it is not"),
    ("a mangled task", _set("tasks/transfer/details", {}), "transfer: the record is missing or mangles a field"),
]


@pytest.mark.parametrize("what, change, words", INCONSISTENT, ids=[c[0] for c in INCONSISTENT])
def test_an_inconsistent_edit_is_named(what, change, words):
    found = plausibility.problems(edited(honest(), change))
    assert any(words in p for p in found), found


# -- the forged records of issue 19: what each earns (tests/../README's table comes from here) ----------------

def _failing_challenger(r):
    """An honest run whose challenger did not beat the baseline: 2 points short."""
    t = r["tasks"]["mnist"]
    t["details"]["test_correct"]["cnn"] = list(t["details"]["test_correct"]["baseline"])
    accuracies = list(t["metrics"]["baseline"]["test_accuracy_per_seed"])
    t["metrics"]["cnn"].update(test_accuracy_per_seed=accuracies, test_accuracy_mean=sum(accuracies) / 3, test_accuracy_spread=stats.spread(accuracies))


def _metrics_edited_to_pass(r):
    _failing_challenger(r)
    r["tasks"]["mnist"]["metrics"]["cnn"]["test_accuracy_per_seed"] = [0.99, 0.99, 0.99]
    r["tasks"]["mnist"]["metrics"]["cnn"]["test_accuracy_mean"] = 0.99


def _bits_edited_to_pass(r):
    _failing_challenger(r)
    r["tasks"]["mnist"]["details"]["test_correct"]["cnn"] = [stats.pack_correct([1] * 1000)] * 3  # 100%, metrics left at the baseline's


def _profile_flipped(r):
    r["provenance"]["profile"] = r["provenance"]["settings"]["profile"] = "real"


def _profile_flipped_and_flags_scrubbed(r):
    _profile_flipped(r)
    for task in r["tasks"].values():
        task["stand_in"] = False
    r["tasks"]["transfer"]["provenance"]["module"]["stand_in"] = False


FORGERIES = [
    # name, base record, edit, policy, the most it may earn, words in why
    ("honest real run", real_record, None, REAL, 26, ""),
    ("honest real run, challenger failed", real_record, _failing_challenger, REAL, 24, ""),
    ("... its metrics edited to pass", real_record, _metrics_edited_to_pass, REAL, 0, "not consistent"),
    ("... its per-image results edited to pass", real_record, _bits_edited_to_pass, REAL, 0, "not consistent"),
    ("honest real run, no GPU", lambda: real_record(gpu=False), None, REAL, 25, ""),
    ("honest real run, transfer removed", real_record, lambda r: r["tasks"].pop("transfer"), REAL, 20, ""),
    ("honest real run, every task removed", real_record, lambda r: r["tasks"].clear(), REAL, 0, ""),
    ("embedded run", honest, None, REAL, 0, evidence.EMBEDDED_REASON),
    ("embedded run, dry-run autograder", honest, None, DRY_RUN, 26, ""),
    ("embedded run, profile flipped to real", honest, _profile_flipped, REAL, 0, "stand-ins"),
    ("embedded run, flipped and stand-in flags scrubbed", honest, _profile_flipped_and_flags_scrubbed, REAL, 0, "not consistent"),
]


@pytest.mark.parametrize("name, base, change, policy, most, why", FORGERIES, ids=[f[0] for f in FORGERIES])
def test_what_each_forged_record_earns(name, base, change, policy, most, why):
    record = edited(base(), change) if change else base()
    grade = evidence.grade_record(record, "results/pc.json", policy)
    assert grade.score <= most and (grade.score == most or most == 0), (grade.score, grade.refused)
    assert why in grade.refused, grade.refused
    assert sum(t["score"] for t in gradescope.checks_part(grade)["tests"]) == grade.score
    assert all(t["status"] == "failed" for t in gradescope.checks_part(grade)["tests"] if t["score"] < t["max_score"])


def test_a_checks_file_claiming_more_changes_nothing_but_a_note():
    record = edited(real_record(), _failing_challenger)
    honest_grade = evidence.grade_record(record, "pc.json")
    claimed = {"tests": [{"name": "check mnist.challenger_beats_the_baseline: x", "status": "passed", "score": 50, "max_score": 50},
                         {"name": "check bonus: 500 points", "status": "passed", "score": 500, "max_score": 500}]}
    forged = evidence.grade_record(record, "pc.json", claimed=claimed)
    assert forged.score == honest_grade.score == 24
    assert len(gradescope.checks_part(forged)["tests"]) == len(verdicts.CHECKS)
    assert any("says mnist.challenger_beats_the_baseline passed; recomputed from the record it failed" in n for n in forged.notes)
    assert any("do not exist, ignored: bonus" in n for n in forged.notes)


def test_no_record_earns_nothing_with_every_check_listed():
    grade = evidence.grade_record(None, "no run record submitted")
    tests = gradescope.checks_part(grade)["tests"]
    assert grade.score == 0 and len(tests) == len(verdicts.CHECKS) and all(t["score"] == 0 for t in tests)
    assert sum(t["max_score"] for t in tests) == verdicts.total_weight()


def test_the_best_of_several_records_counts():
    good, embedded = evidence.grade_record(real_record(), "pc.json"), evidence.grade_record(honest(), "laptop.json")
    assert evidence.best([embedded, good]) is good


def test_the_policy_file_round_trips_and_refuses_unknown_profiles(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(DRY_RUN.to_json())
    assert evidence.Policy.read(path) == DRY_RUN and evidence.Policy.read(tmp_path / "absent.json") == REAL
    path.write_text('{"accept_profiles": ["cloud"]}')
    with pytest.raises(Exception, match="accept_profiles"):
        evidence.Policy.read(path)
