"""The homework's pass criteria: one verdict per graded check, each a pure function of a run record.

A criterion is declared once here (its id, title, the homework questions it answers, its
weight and margin) and applied wherever a record is read: by the pytest check that ran the
task (after storing its result), by the report, by `hw5 grade` and by the Gradescope
autograder, which cannot rerun a Jetson and never reads a pass/fail list written on the
student's machine. A verdict recomputes its numbers from the recorded evidence (per-image
right and wrong, training curves, the legs of a timing) instead of believing a flag the task
computed, and its message names the numbers it judged. Nothing here imports TensorFlow.

Statuses: "passed", "failed", or "not run" (the task is missing from the record, or it was
skipped, with the reason). Only "passed" earns a check's weight.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Tuple

from . import stats
from .tasks import retrain_curves

PASSED, FAILED, NOT_RUN = "passed", "failed", "not run"

# the homework's own facts, never read from the harness's registry
HOMEWORK_RATES = ("0.005", "0.01", "1")  # questions 8 and 9: the codelab's rate, a lower and a much higher one
INCEPTION_INPUT = ("Mul", 299, 299)  # question 13: the codelab's Inception v3 graph takes its image at Mul, 299x299
BEGINNER_LAYERS = (("Flatten", "(None, 784)"), ("Dense", "(None, 128)"), ("Dropout", "(None, 128)"), ("Dense", "(None, 10)"))
BEGINNER_PARAMETERS = 101_770
EVAL_INTERVAL = 10  # the codelab evaluates every 10 steps and at the last one (401 evaluations in 4,000 steps)

# margins, stated once
CHALLENGER_MARGIN_SE = 3  # MNIST: the gain must exceed 3 combined standard errors (3 seeds: t(2 dof) ~ 2.9 at 95%)
MIN_SEEDS = 3
NOT_WORSE_SE = 2  # fine-tuning may lose at most 2 paired standard errors against frozen
FROZEN_STANDIN = 0.75  # a stand-in module on generated flowers is built for this: frozen accuracy minus 2 SE
TRANSFER_TEST_IMAGES = {"embedded": 100, "real": 300}
RETRAIN_TEST_IMAGES = 80  # the accuracy's standard error is then at most 0.04 around 0.85
LEARNED_REAL, LEARNED_STANDIN, LEARNED_SE = 0.80, 0.85, 2.0  # retrain at 0.01 "learned"
OWN_GAIN_SE = 2.0  # own images (stand-in tree): the gain from the fewest to the most images a class, in SEs
OWN_MIN_HELD_OUT = 10


class Failed(Exception):
    """A criterion not met; the message names the number that fell short."""


class NotRun(Exception):
    """The evidence is absent: the task was skipped or not recorded."""


@dataclass(frozen=True)
class Verdict:
    check: str
    title: str
    status: str
    message: str
    weight: float

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def points(self) -> float:
        return self.weight if self.passed else 0.0


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    tasks: Tuple[str, ...]  # the record's tasks it reads
    weight: float
    questions: Tuple[int, ...]  # the written questions it is evidence for (0: none)
    judge: Callable[[dict], str]  # record -> the passing message; raises Failed / NotRun

    def __call__(self, record: dict) -> Verdict:
        try:
            for task in self.tasks:
                _task(record, task)
            message, status = self.judge(record), PASSED
        except Failed as exc:
            message, status = str(exc), FAILED
        except NotRun as exc:
            message, status = str(exc), NOT_RUN
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError, AttributeError) as exc:
            message, status = f"the recorded result is malformed ({type(exc).__name__}: {_short(exc)})", FAILED
        return Verdict(self.id, self.title, status, message, self.weight)


def judge(check_id: str, record: dict) -> Verdict:
    return by_id(check_id)(record)


def judge_all(record: dict) -> List[Verdict]:
    return [c(record) for c in CHECKS]


def by_id(check_id: str) -> Check:
    for c in CHECKS:
        if c.id == check_id:
            return c
    raise KeyError(f"no check {check_id!r}")


def total_weight() -> float:
    return sum(c.weight for c in CHECKS)


# -- reading the record ------------------------------------------------------------------

def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _task(record: dict, name: str) -> dict:
    task = record["tasks"].get(name)
    if not isinstance(task, dict):
        raise NotRun(f"task '{name}' is not in the record (it did not run or was not stored)")
    details = task.get("details")
    if isinstance(details, dict) and details.get("skipped"):
        raise NotRun(str(details["skipped"]))
    return task


def _settings(record: dict) -> dict:
    return record["provenance"]["settings"]


def _require(condition: Any, message: str) -> None:
    if not condition:
        raise Failed(message)


def _number(value: Any, what: str) -> float:
    """A finite number from the record; a null (stored NaN) or text fails the check, naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Failed(f"{what} is {'not recorded (null: NaN or missing)' if value is None else repr(value)}")
    if not math.isfinite(value):
        raise Failed(f"{what} is not finite ({value})")
    return float(value)


def _correct(values: Any, what: str) -> List[int]:
    if not isinstance(values, list) or not values or any(v not in (0, 1) for v in values):
        raise Failed(f"{what}: needs the per-image 0/1 list, got {str(values)[:60]}")
    return [int(v) for v in values]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _rate_label(rate: Any) -> str:
    return f"{float(rate):g}"


def _stand_in(identity: Any) -> bool:
    return isinstance(identity, str) and identity.startswith("stand-in")


def _built_to_reach(data_identity: Any, module_is_stand_in: bool) -> bool:
    """Generated data through a stand-in module: the combination the embedded inputs are built to
    show the homework's effects on, so they are held to the stated targets. A real module or real
    photos are judged by the homework's own criteria."""
    return _stand_in(data_identity) and bool(module_is_stand_in)


# -- Part 1.1: MNIST ---------------------------------------------------------------------

def _baseline(record: dict) -> str:
    summary = _task(record, "mnist")["details"]["models"]["baseline"]["summary"]
    layers = tuple((layer["type"], layer["output_shape"]) for layer in summary["layers"])
    _require(layers == BEGINNER_LAYERS, f"baseline layers {layers} are not the beginner model's {BEGINNER_LAYERS}")
    _require(summary["trainable_parameters"] == BEGINNER_PARAMETERS,
             f"baseline has {summary['trainable_parameters']:,} trainable parameters, the beginner model {BEGINNER_PARAMETERS:,}")
    return f"Flatten -> Dense(128) -> Dropout -> Dense(10), {BEGINNER_PARAMETERS:,} parameters"


def mnist_correct(task: dict, model: str) -> List[List[int]]:
    """Per seed, right (1) / wrong (0) for every test image: the evidence every MNIST accuracy comes from."""
    count = int(task["provenance"]["data"]["test"])
    packed = task["details"]["test_correct"][model]
    _require(isinstance(packed, list) and packed, f"{model}: no per-image results recorded")
    try:
        return [stats.unpack_correct(p, count) for p in packed]
    except (ValueError, TypeError) as exc:
        raise Failed(f"{model}: per-image results unreadable ({_short(exc)})") from None


def _challenger(record: dict) -> str:
    task = _task(record, "mnist")
    challenger = task["details"]["challenger"]
    _require(challenger != "baseline", "the challenger is the baseline itself")
    seeds = task["provenance"]["seeds"]
    _require(len(seeds) >= MIN_SEEDS and len(set(seeds)) == len(seeds), f"seeds {seeds}: the gain needs at least {MIN_SEEDS} different seeds")
    base, chal = mnist_correct(task, "baseline"), mnist_correct(task, challenger)
    _require(len(base) == len(chal) == len(seeds), f"{len(base)} baseline and {len(chal)} {challenger} runs for {len(seeds)} seeds")
    n = len(base[0])
    gains = [sum(c) / n - sum(b) / n for b, c in zip(base, chal)]
    se_seeds = stats.seed_se(gains)
    mean = lambda runs: [sum(col) / len(runs) for col in zip(*runs)]  # noqa: E731 - per image, over seeds
    se_images = stats.paired_se(mean(base), mean(chal))
    margin = CHALLENGER_MARGIN_SE * math.sqrt(se_seeds ** 2 + se_images ** 2)
    gain = sum(gains) / len(gains)
    numbers = (f"{challenger} gains {gain:+.2%} over the baseline on {n} test images (per seed "
               f"{', '.join(f'{g:+.2%}' for g in gains)}); margin {CHALLENGER_MARGIN_SE} standard errors = {margin:.2%} "
               f"(seeds {se_seeds:.2%}, test images {se_images:.2%})")
    _require(gain > margin, numbers + ": not beyond the margin")
    return numbers


def _mnist_timed(record: dict) -> str:
    task = _task(record, "mnist")
    epochs = int(task["provenance"]["epochs"])
    for name, model in task["details"]["models"].items():
        curve, seconds = model["history"]["val_accuracy"], model["epoch_seconds"]
        _require(len(curve) == len(seconds) == epochs, f"{name}: {len(curve)} validation points and {len(seconds)} epoch times for {epochs} epochs")
        _require(all(_number(s, f"{name} epoch time") > 0 for s in seconds), f"{name}: an epoch time is not positive")
        _require(_number(task["metrics"][name]["inference_images_per_s"], f"{name} inference images/s") > 0, f"{name}: no inference throughput")
    return f"{len(task['details']['models'])} models, {epochs} epochs each, timed"


def _sweeps(record: dict) -> str:
    task, settings = _task(record, "mnist"), _settings(record)
    n = int(task["provenance"]["data"]["test"])
    floor = stats.above_chance_floor(10, n)
    for key, setting in (("l2", "l2_values"), ("dropout", "dropout_values")):
        rows = task["details"]["sweeps"][key]
        _require([float(r[key]) for r in rows] == [float(v) for v in settings[setting]],
                 f"{key} sweep has values {[r[key] for r in rows]}, the settings ask for {settings[setting]}")
        for row in rows:
            accuracy = _number(row["test_accuracy"], f"{key}={row[key]} test accuracy")
            _require(accuracy >= floor, f"{key}={row[key]}: test accuracy {_pct(accuracy)} on {n} images is not above chance ({_pct(floor)})")
    return f"{len(settings['l2_values'])} L2 and {len(settings['dropout_values'])} dropout values, all above chance ({_pct(floor)})"


# -- Part 1.2: transfer learning -----------------------------------------------------------

def _phase(task: dict, name: str) -> Tuple[dict, List[int]]:
    phase = task["details"][name]
    return phase, _correct(phase["test_correct"], f"{name} test results")


def _transfer_images(record: dict) -> str:
    task = _task(record, "transfer")
    profile = record["provenance"]["profile"]
    _, frozen = _phase(task, "frozen")
    _, tuned = _phase(task, "fine_tuned")
    _require(len(frozen) == len(tuned), f"frozen scored {len(frozen)} test images, fine-tuned {len(tuned)}")
    need = TRANSFER_TEST_IMAGES[profile]
    _require(len(frozen) >= need, f"{len(frozen)} test images: too few to tell accuracies apart (needs {need} in the {profile} profile)")
    return f"{len(frozen)} test images (needs {need})"


def _frozen(record: dict) -> str:
    task = _task(record, "transfer")
    _, correct = _phase(task, "frozen")
    n, classes = len(correct), len(task["provenance"]["data"]["classes"])
    accuracy = sum(correct) / n
    floor = stats.above_chance_floor(classes, n)
    se = stats.binomial_se(accuracy, n)
    said = f"frozen test accuracy {_pct(accuracy)} on {n} images (SE {_pct(se)})"
    _require(accuracy >= floor, f"{said} is not above chance ({1 / classes:.0%}) by {stats.ABOVE_CHANCE_SE:g} SE ({_pct(floor)})")
    if _built_to_reach(task["provenance"]["data"]["identity"], task["provenance"]["module"]["stand_in"]):
        _require(accuracy - 2 * se >= FROZEN_STANDIN, f"{said}: minus two SE it is below {FROZEN_STANDIN:.0%}, which the stand-in is built to reach")
    return said


def _fine_tuned(record: dict) -> str:
    task = _task(record, "transfer")
    frozen_phase, frozen = _phase(task, "frozen")
    tuned_phase, tuned = _phase(task, "fine_tuned")
    _require(len(frozen) == len(tuned), f"frozen scored {len(frozen)} test images, fine-tuned {len(tuned)}")
    n = len(frozen)
    difference = (sum(tuned) - sum(frozen)) / n
    se = stats.paired_se(frozen, tuned)
    if se == 0:  # both label every test image the same way
        se = stats.binomial_se(sum(frozen) / n, n)
    said = (f"fine-tuned {_pct(sum(tuned) / n)} vs frozen {_pct(sum(frozen) / n)} on {n} test images: {difference:+.1%} "
            f"(paired SE {_pct(se)})")
    _require(difference > -NOT_WORSE_SE * se, f"{said}: worse by more than {NOT_WORSE_SE} SE")
    trainable = (frozen_phase["summary"]["trainable_parameters"], tuned_phase["summary"]["trainable_parameters"])
    _require(trainable[1] > trainable[0], f"fine-tuning trains {trainable[1]:,} parameters, no more than frozen's {trainable[0]:,}")
    moved = (_number(frozen_phase["module_weight_change"], "frozen module weight change"),
             _number(tuned_phase["module_weight_change"], "fine-tuned module weight change"))
    _require(moved[0] == 0, f"the frozen phase moved the module's weights (relative change {moved[0]:.2e})")
    _require(moved[1] > 0, "fine-tuning left the module's weights unchanged")
    return f"{said}; module weights moved {moved[1]:.2e} fine-tuned, 0 frozen"


def _halvings(tried: Sequence[int]) -> bool:
    return all(b == a // 2 for a, b in zip(tried, tried[1:]))


def _transfer_histories(record: dict) -> str:
    task, settings = _task(record, "transfer"), _settings(record)
    epochs = int(settings["transfer_epochs"])
    for name in ("frozen", "fine_tuned"):
        phase, correct = _phase(task, name)
        tried = phase["batch_sizes_tried"]
        _require(len(phase["history"]["val_accuracy"]) == len(phase["epoch_seconds"]) == epochs,
                 f"{name}: {len(phase['history']['val_accuracy'])} epochs of curves and {len(phase['epoch_seconds'])} timed, {epochs} asked for")
        _require(tried and tried[0] <= int(settings["batch_size"]) and phase["batch_size"] == tried[-1] and _halvings(tried),
                 f"{name}: batch sizes tried {tried} (final {phase['batch_size']}) do not start at most at {settings['batch_size']} and halve")
        _require(len(correct) == task["metrics"]["test_images"], f"{name}: {len(correct)} test results for {task['metrics']['test_images']} test images")
    return f"{epochs} epochs a phase; batches {task['details']['frozen']['batch_sizes_tried']} frozen, {task['details']['fine_tuned']['batch_sizes_tried']} fine-tuned"


def _oom(record: dict) -> str:
    task = _task(record, "transfer_oom")
    phase, limit = task["details"]["phase"], int(task["provenance"]["simulate_oom_above"])
    start, epochs = int(task["provenance"]["batch_size"]), int(task["provenance"]["epochs"])
    tried = phase["batch_sizes_tried"]
    _require(limit > 0 and start > limit, f"the injected out-of-memory limit {limit} does not lie below the first batch {start}")
    _require(tried and tried[0] == start and _halvings(tried), f"batch sizes tried {tried}: must start at {start} and halve")
    _require(tried[-1] <= limit < 2 * tried[-1] and phase["batch_size"] == tried[-1],
             f"batch sizes tried {tried} against out-of-memory above {limit}: must stop at the first size that fits")
    _require(len(phase["history"]["accuracy"]) == len(phase["epoch_seconds"]) == epochs,
             f"{len(phase['history']['accuracy'])} epochs trained and {len(phase['epoch_seconds'])} timed of {epochs}: an epoch was lost or doubled")
    return f"out of memory above {limit}: batches {tried}, {epochs} epochs completed"


def _budget(record: dict) -> str:
    task = _task(record, "transfer_memory_budget")
    phase, prov = task["details"]["phase"], task["provenance"]
    budget = int(prov["budget_mb"]) * 2 ** 20
    sample, requested = int(prov["per_sample_bytes"]), int(prov["batch_size"])
    first = phase["batch_sizes_tried"][0]
    _require(first < requested, f"the budget of {prov['budget_mb']} MB left the batch at the requested {requested}")
    _require(phase["batch_size"] * sample <= budget,
             f"batch {phase['batch_size']} x {sample / 2**20:.1f} MB an image exceeds the {prov['budget_mb']} MB budget")
    _require(len(phase["epoch_seconds"]) == int(prov["epochs"]), "the budgeted run did not complete its epochs")
    return f"budget {prov['budget_mb']} MB at {sample / 2**20:.1f} MB an image: batch {phase['batch_size']} (asked {requested})"


# -- Part 2: the TF1 retrain ---------------------------------------------------------------

def _runs_by_rate(task: dict) -> Dict[str, dict]:
    return {_rate_label(run["provenance"]["learning_rate"]): run for run in task["details"]["runs"]}


def _homework_rates(task: dict) -> Dict[str, dict]:
    runs = _runs_by_rate(task)
    _require(set(runs) == set(HOMEWORK_RATES), f"learning rates {', '.join(sorted(runs, key=float))}: the homework compares "
                                               f"{', '.join(HOMEWORK_RATES)} (other rates are a different experiment)")
    return runs


def _test_accuracy(run: dict) -> Tuple[float, int]:
    n = int(run["metrics"]["test_images"])
    return _number(run["metrics"]["final_test_accuracy"], f"test accuracy at {_rate_label(run['provenance']['learning_rate'])}"), n


def sweep_facts(task: dict) -> dict:
    """The learning-rate facts, read again from the recorded curves (the task's own flags are not used)."""
    runs = _runs_by_rate(task)
    curves = {rate: run["details"]["curves"] for rate, run in runs.items()}
    first = next(iter(runs.values()))
    return retrain_curves.learning_rate_facts(curves, validation_images=int(first["metrics"]["validation_images"]))


def _rates(record: dict) -> str:
    task = _task(record, "retrain_learning_rates")
    runs = _homework_rates(task)
    accuracy, n = _test_accuracy(runs["0.01"])
    classes = len(runs["0.01"]["details"]["labels"])
    _require(n >= RETRAIN_TEST_IMAGES, f"{n} test images: too few to claim an accuracy (needs {RETRAIN_TEST_IMAGES})")
    se = stats.binomial_se(accuracy, n)
    floor = stats.above_chance_floor(classes, n)
    _require(accuracy > floor, f"test accuracy {_pct(accuracy)} at 0.01 on {n} images is no better than chance ({_pct(floor)})")
    if _built_to_reach(task["provenance"]["data"], _stand_in(task["provenance"]["extractor"])):
        _require(accuracy - LEARNED_SE * se >= LEARNED_STANDIN,
                 f"test accuracy {_pct(accuracy)} at 0.01 minus {LEARNED_SE:g} SE ({_pct(se)}, {n} images) is below {_pct(LEARNED_STANDIN)}")
    else:
        _require(accuracy >= LEARNED_REAL, f"test accuracy {_pct(accuracy)} at 0.01 ({n} images, SE {_pct(se)}) is below {_pct(LEARNED_REAL)}")
    facts = sweep_facts(task)
    _require("slower" in facts, "0.01 never reached a plateau in the recorded curves, so 'slower' cannot be judged")
    _require(facts["slower"], f"0.005 is not slower: {facts['slower_note']} (needs {retrain_curves.SLOWER_MARGIN}x)")
    swing = facts["accuracy_swing"]
    _require(facts["unstable"], f"1.0 shows no instability in the recorded curves: late validation loss {facts['late_loss_ratio']:.2f}x 0.01's "
                                f"(needs > {retrain_curves.BLOW_UP:g}x), validation accuracy swing {swing['1']:.4f} against 0.01's {swing['0.01']:.4f}")
    shown = ", ".join(k for k, v in facts["unstable_evidence"].items() if v)
    return (f"0.01: {_pct(accuracy)} on {n} test images; {facts['slower_note']}; 1.0 unstable ({shown}, late loss "
            f"{facts['late_loss_ratio']:.1f}x 0.01's)")


def _usable(record: dict) -> str:
    task = _task(record, "retrain_learning_rates")
    runs = _homework_rates(task)
    facts = sweep_facts(task)
    notes = []
    for rate, run in runs.items():
        labelled = task["details"]["checks"][rate]
        classes = len(run["details"]["labels"])
        if labelled["usable"]:
            top = labelled["top"]
            total = sum(float(score) for _, score in top)
            _require(len(top) == min(5, classes) and 0.99 < total <= 1.01,
                     f"{rate}: label_image gave {len(top)} labels summing to {total:.3f} (needs the top {min(5, classes)}, summing to 1)")
            notes.append(f"{rate} usable")
        else:
            unstable = rate == "1" and facts.get("unstable")
            _require(labelled.get("error") and unstable, f"{rate}: the graph did not label an image ({labelled.get('error')}) "
                                                         "and the curves show no instability that explains it")
            notes.append(f"{rate} unusable, explained by its instability")
    return "; ".join(notes)


def _evaluation_steps(steps: int) -> List[int]:
    return sorted(set(range(0, steps, EVAL_INTERVAL)) | {steps - 1})


def _logs(record: dict) -> str:
    task = _task(record, "retrain_learning_rates")
    steps = int(_settings(record)["training_steps"])
    expected = _evaluation_steps(steps)
    for rate, run in _runs_by_rate(task).items():
        _require(int(run["provenance"]["steps"]) == steps, f"{rate}: trained {run['provenance']['steps']} steps, the settings ask for {steps}")
        logged = [int(s) for s in run["details"]["curves"]["step"]]
        _require(logged == expected, f"{rate}: evaluated at {len(logged)} steps ({logged[:3]} ... {logged[-2:]}), the codelab at "
                                     f"{len(expected)} (every {EVAL_INTERVAL} and step {steps - 1})")
        _require(int(run["metrics"]["evaluations"]) == len(logged), f"{rate}: {run['metrics']['evaluations']} evaluations counted, {len(logged)} logged")
        for key in ("train_accuracy", "cross_entropy", "validation_accuracy"):
            _require(len(run["details"]["curves"][key]) == len(logged), f"{rate}: {key} has {len(run['details']['curves'][key])} points for {len(logged)} evaluations")
    return f"{len(expected)} evaluations in {steps} steps for every rate"


def codelab_label(folder: str) -> str:
    """The codelab's label for a class folder: lower case, each run of other characters one space."""
    return re.sub(r"[^a-z0-9]+", " ", folder.lower())


def _labels(record: dict) -> str:
    task = _task(record, "retrain_learning_rates")
    for rate, run in _runs_by_rate(task).items():
        folders = run["provenance"]["data"]["class_dirs"]
        expected = [codelab_label(f) for f in sorted(folders)]
        _require(run["details"]["labels_file"] == expected,
                 f"{rate}: the labels file reads {run['details']['labels_file']}, the codelab writes {expected} for folders {sorted(folders)}")
        summaries = run["details"]["summaries"]
        for folder in ("train", "validation"):
            _require(summaries.get(folder), f"{rate}: no TensorBoard event file under {folder}/")
    return f"labels {expected}; train/ and validation/ event files for every rate"


def _one_pass(record: dict) -> str:
    task = _task(record, "retrain_cache")
    d = task["details"]
    n, rates = int(d["images"]), int(d["rates"])
    cold, warm = d["cold"], d["warm"]
    _require(rates >= 2, f"the sweep trained {rates} rate(s); one pass for several needs at least two")
    _require(cold["extractor_images"] == n, f"a cold sweep of {rates} rates fed {cold['extractor_images']} images to the extractor for {n} images")
    _require(warm["extractor_images"] == 0 and warm["hits"] == n,
             f"the warm re-run fed {warm['extractor_images']} images to the extractor and reused {warm['hits']} of {n}")
    _require(warm["throughput_from"].startswith("cache metadata") and math.isclose(warm["images_per_s"], cold["images_per_s"], rel_tol=1e-6),
             f"the warm run reports {warm['images_per_s']} img/s from '{warm['throughput_from']}', not the cold pass's {cold['images_per_s']}")
    return f"{n} images through the extractor once for {rates} rates; the re-run reused all {n}"


def _corrupt(record: dict) -> str:
    d = _task(record, "retrain_cache")["details"]
    n, after = int(d["images"]), d["corrupted"]
    _require(after["corrupt_rebuilt"] == 1 and after["extractor_images"] == 1 and after["hits"] == n - 1 and after["misses"] == 0,
             f"after truncating one of {n} cache files: {after['corrupt_rebuilt']} rebuilt, {after['extractor_images']} recomputed, "
             f"{after['hits']} reused, {after['misses']} missing")
    return f"1 corrupt entry of {n} recomputed, {n - 1} reused"


def _distortions(record: dict) -> str:
    d = _task(record, "retrain_distortions")["details"]
    _require(d["cache_before"] == d["cache_after"], "the bottleneck cache changed during the distorted run")
    fed, expected = int(d["training_extractor_images"]), int(d["steps"]) * int(d["batch"])
    _require(d["batches"] == int(d["steps"]) and fed == expected,
             f"the distorted run fed {fed} training images in {d['batches']} batches through the network; {d['steps']} steps of {d['batch']} need {expected}")
    change = _number(d["mean_pixel_change"], "mean pixel change of the distorted images")
    _require(change > 0, "the distorted images equal the originals")
    return f"{fed} distorted images ({change:.1f} levels mean change) through the network; cache unchanged"


def _cpu_gpu(record: dict) -> str:
    legs = _task(record, "retrain_cpu_vs_gpu")["details"]["legs"]
    cpu, gpu = legs["cpu"], legs["gpu"]
    _require(cpu["gpus_visible"] == 0, f"the CPU leg saw {cpu['gpus_visible']} GPU(s)")
    for phase in ("bottleneck_s", "training_s"):
        _require(_number(cpu[phase], f"CPU {phase}") > 0, f"CPU leg: {phase} not measured")
    if "skipped" in gpu:
        raise NotRun(f"no GPU in this run: {gpu['skipped']}")
    _require(gpu["gpus_visible"] > 0, "the GPU leg saw no GPU")
    for phase in ("bottleneck_s", "training_s"):
        _require(_number(gpu[phase], f"GPU {phase}") > 0, f"GPU leg: {phase} not measured")
    return (f"bottleneck pass {cpu['bottleneck_s']:.1f} s CPU / {gpu['bottleneck_s']:.1f} s GPU; "
            f"training {cpu['training_s']:.2f} s / {gpu['training_s']:.2f} s")


def _inception(record: dict) -> str:
    task = _task(record, "retrain_inception")
    runs = task["details"]["runs"]
    _require(runs and all(r["provenance"]["architecture"] == "inception_v3" for r in runs),
             f"retrained {[r['provenance']['architecture'] for r in runs]}, not inception_v3")
    layer = task["details"]["input_layer"]
    read = (layer["name"], int(layer["height"]), int(layer["width"]))
    _require(read == INCEPTION_INPUT, f"the graph's input layer reads {read[0]} at {read[1]}x{read[2]}; Inception v3's is "
                                      f"{INCEPTION_INPUT[0]} at {INCEPTION_INPUT[1]}x{INCEPTION_INPUT[2]}")
    checks = task["details"]["checks"]
    fed, classes = checks["tensorflow_feed"], len(runs[0]["details"]["labels"])
    _require(fed["shape"] == [1, classes] and abs(_number(fed["scores_sum"], "fed scores' sum") - 1) < 1e-4,
             f"an image fed at Mul gave final_result of shape {fed['shape']} summing to {fed['scores_sum']} (needs [1, {classes}] summing to 1)")
    _require(fed["smaller_refused"], f"an image of {fed['smaller_size']} was accepted at Mul: the size is not pinned")
    _require(checks["label_with_inspected_input"]["usable"], "label_image with --input_layer=Mul --input_height=299 failed: "
             + str(checks["label_with_inspected_input"].get("error")))
    failure = checks["label_with_mobilenet_defaults"]
    _require(not failure["usable"] and "'Mul'" in failure["error"] and "299x299" in failure["error"] and "\n" not in failure["error"],
             f"label_image with MobileNet's defaults must fail in one line naming Mul and 299x299; it said: {failure.get('error')!r}")
    return "Mul at 299x299, confirmed by TensorFlow; MobileNet's defaults refused in one line naming it"


def _own(record: dict) -> str:
    task = _task(record, "retrain_own_images")
    rows, prov = task["details"]["rows"], task["provenance"]
    _require(len(rows) >= 2, f"{len(rows)} count(s) of images a class: a trend needs at least two")
    held = {int(row["test_images"]) for row in rows}
    _require(len(held) == 1, f"held-out sets of {sorted(held)} images: every count must be tested on one fixed set")
    (n,) = held
    _require(n >= OWN_MIN_HELD_OUT, f"{n} held-out images: too few to measure an accuracy (needs {OWN_MIN_HELD_OUT})")
    draws = int(prov["draws_per_count"])
    for row in rows:
        values = [_number(v, f"accuracy of a draw at {row['images_per_class']} a class") for v in row["draws"]]
        _require(len(values) == draws, f"{row['images_per_class']} a class: {len(values)} draws, {draws} recorded as drawn")
        _require(abs(sum(values) / len(values) - _number(row["final_test_accuracy"], "mean accuracy")) < 1e-6,
                 f"{row['images_per_class']} a class: accuracy {row['final_test_accuracy']} is not the mean of its draws")
    counts = [int(row["images_per_class"]) for row in rows]
    _require(counts == sorted(set(counts)), f"counts {counts} are not increasing")
    lo, hi = rows[0], rows[-1]
    gain = hi["final_test_accuracy"] - lo["final_test_accuracy"]
    said = (f"{_pct(lo['final_test_accuracy'])} at {counts[0]} and {_pct(hi['final_test_accuracy'])} at {counts[-1]} images a class "
            f"on {n} held-out images")
    if _built_to_reach(prov["data"], _stand_in(prov["extractor"])):  # the stand-in tree is built to show the effect; a student's photos are reported, not judged
        se = _number(task["metrics"][f"gain_{counts[0]}_to_{counts[-1]}_standard_error"], "the gain's standard error")
        _require(gain > OWN_GAIN_SE * se, f"{said}: gain {gain:+.1%} not above {OWN_GAIN_SE:g} SE ({_pct(se)})")
    return said


# -- the graded checks, declared once: id, title, the record's tasks read, weight, questions, judge -----------

CHECKS: List[Check] = [
    Check("mnist.baseline_is_the_beginner_model", "1.1 the baseline is the TF2 beginner model",
          ("mnist",), 1, (), _baseline),
    Check("mnist.challenger_beats_the_baseline", "1.1 a challenger beats the baseline by more than its standard error",
          ("mnist",), 2, (), _challenger),
    Check("mnist.every_model_trained_and_timed", "1.1 every model has its curves, epoch times and throughput",
          ("mnist",), 1, (), _mnist_timed),
    Check("mnist.sweeps_learn_at_every_value", "1.1 the L2 and dropout sweeps have a model per value, each above chance",
          ("mnist",), 1, (), _sweeps),
    Check("transfer.enough_test_images", "1.2 enough test images to tell the accuracies apart",
          ("transfer",), 1, (), _transfer_images),
    Check("transfer.frozen_features_carry_the_classes", "1.2 a head on the frozen module learns the flowers",
          ("transfer",), 2, (), _frozen),
    Check("transfer.fine_tuning_not_worse_than_frozen", "1.2 fine-tuning moves the module and is not worse than frozen",
          ("transfer",), 2, (), _fine_tuned),
    Check("transfer.histories_and_batches_recorded", "1.2 every epoch and the batch sizes tried are recorded",
          ("transfer",), 1, (), _transfer_histories),
    Check("transfer.out_of_memory_halves_the_batch", "1.2 an out-of-memory error halves the batch and the run completes",
          ("transfer_oom",), 2, (), _oom),
    Check("transfer.memory_budget_picks_a_batch_that_fits", "1.2 a memory budget picks a batch that fits",
          ("transfer_memory_budget",), 1, (), _budget),
    Check("retrain.learning_rates_behave", "2 retrain: 0.01 learns, 0.005 needs more steps, 1.0 is unstable",
          ("retrain_learning_rates",), 2, (8, 9), _rates),
    Check("retrain.every_rate_gives_a_usable_graph", "2 retrain: each exported graph labels an image, or its failure is explained",
          ("retrain_learning_rates",), 1, (9,), _usable),
    Check("retrain.logs_like_the_codelab", "2 retrain: evaluated every 10 steps and at the last, as the codelab logs",
          ("retrain_learning_rates",), 1, (), _logs),
    Check("retrain.labels_file_and_summaries", "2 retrain: the labels file and TensorBoard's train/validation summaries",
          ("retrain_learning_rates",), 1, (), _labels),
    Check("retrain.one_bottleneck_pass_serves_every_rate", "2 retrain: one bottleneck pass serves a sweep, a re-run reuses it",
          ("retrain_cache",), 1, (7,), _one_pass),
    Check("retrain.corrupt_cache_entry_rebuilt", "2 retrain: a corrupt bottleneck file is recomputed, the rest reused",
          ("retrain_cache",), 1, (), _corrupt),
    Check("retrain.distortions_bypass_the_cache", "2 retrain: distortions feed changed images through the network and leave the cache untouched",
          ("retrain_distortions",), 1, (), _distortions),
    Check("retrain.cpu_vs_gpu", "2 retrain on the CPU and on the GPU, bottleneck pass and training timed apart",
          ("retrain_cpu_vs_gpu",), 1, (11, 12), _cpu_gpu),
    Check("retrain.inception_input_layer", "2 Inception v3: the input layer read off the exported graph is Mul at 299x299",
          ("retrain_inception",), 2, (12, 13), _inception),
    Check("retrain.own_images", "2 your own images: accuracy by images a class on a fixed held-out set",
          ("retrain_own_images",), 1, (10,), _own),
]
_ids = [c.id for c in CHECKS]
if len(set(_ids)) != len(_ids):  # pragma: no cover - a declaration error, caught on import
    raise ValueError("a check is declared twice")
