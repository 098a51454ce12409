"""Which measurements answer which question: the one source for the report ("Measured in
this run" under questions 8-13) and for the consistency flags (a cited number the record
does not support)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from ..formats import basenames, num, pct, record_inline, secs

# question -> the tasks whose measurements answer it (the first one must have run)
QUESTION_TASKS: Dict[int, Tuple[str, ...]] = {
    8: ("retrain_learning_rates",),
    9: ("retrain_learning_rates",),
    10: ("retrain_own_images",),
    11: ("retrain_cpu_vs_gpu", "transfer"),
    12: ("retrain_inception", "retrain_learning_rates", "retrain_cpu_vs_gpu"),
    13: ("retrain_inception",),
}


@dataclass(frozen=True)
class Measured:
    label: str
    value: float
    unit: str  # "%" or "x"


@dataclass
class Evidence:
    question: int
    task: str
    stand_in: bool = False
    not_run: Optional[str] = None  # the task to run when it is missing
    unreadable: Optional[str] = None  # why the task's entry could not be read (an older or damaged record)
    lines: List[str] = field(default_factory=list)  # Markdown, record text escaped
    values: List[Measured] = field(default_factory=list)  # numbers an answer may cite


def text(value) -> str:
    """Record text in an evidence line: file names only, escaped for Markdown."""
    return record_inline(basenames(value))


def _safe(fn: Callable, value) -> str:
    return "n/a" if value is None else fn(value)


def evidence(record: dict) -> Dict[int, Evidence]:
    tasks = record.get("tasks", {})
    out: Dict[int, Evidence] = {}
    for qid, names in QUESTION_TASKS.items():
        main = names[0]
        ev = Evidence(qid, main, stand_in=bool(tasks.get(main, {}).get("stand_in")))
        if main not in tasks and qid != 12:
            ev.not_run = main
        else:
            try:
                _BUILDERS[qid](tasks, ev)
            except (KeyError, TypeError, AttributeError, IndexError, ValueError, ZeroDivisionError) as exc:
                # a record from an older hw5, or edited by hand: nothing from it, and say so
                ev.lines, ev.values, ev.not_run = [], [], None
                ev.unreadable = f"{type(exc).__name__}: {exc}"
        out[qid] = ev
    return out


def values(record: dict) -> Dict[int, List[Measured]]:
    return {qid: ev.values for qid, ev in evidence(record).items() if ev.values or qid in (11, 12)}


def _rates(tasks, ev: Evidence) -> None:
    lr = tasks["retrain_learning_rates"]
    for rate, row in lr["details"]["rates"].items():
        ev.values += [Measured(f"test accuracy at learning rate {rate}", 100 * row["final_test_accuracy"], "%"),
                      Measured(f"validation accuracy at learning rate {rate}", 100 * row["final_validation_accuracy"], "%"),
                      Measured(f"train accuracy at learning rate {rate}", 100 * row["final_train_accuracy"], "%")]
    plateaus = {rate: row.get("steps_to_plateau") for rate, row in lr["details"]["rates"].items()}
    if plateaus.get("0.005") and plateaus.get("0.01"):
        ev.values.append(Measured("steps to plateau at 0.005 / at 0.01", plateaus["0.005"] / plateaus["0.01"], "x"))


def _q8(tasks, ev: Evidence) -> None:
    _rates(tasks, ev)
    lr = tasks["retrain_learning_rates"]
    for rate, row in lr["details"]["rates"].items():
        if rate != "1":
            ev.lines.append(f"learning rate {text(rate)}: test accuracy {_safe(pct, row['final_test_accuracy'])}, "
                            f"validation {_safe(pct, row['final_validation_accuracy'])}, final training cross-entropy "
                            f"{_safe(num, row['final_cross_entropy'])}, plateau after {row['steps_to_plateau']} of "
                            f"{lr['provenance']['steps']} steps")
    ev.lines.append(f"training time: the rates trained side by side in {_safe(secs, lr['timings']['training_s'])} at "
                    f"{_safe(num, lr['timings']['steps_per_s'])} steps/s; a lower rate costs the same per step, so \"longer\" "
                    f"means more steps to plateau")


def _q9(tasks, ev: Evidence) -> None:
    lr = tasks["retrain_learning_rates"]
    _rates(tasks, ev)
    if "1" not in lr["details"]["rates"]:
        ev.not_run = "retrain_learning_rates"
        return
    row, check = lr["details"]["rates"]["1"], lr["details"]["checks"]["1"]
    ev.lines.append(f"learning rate 1.0: test accuracy {_safe(pct, row['final_test_accuracy'])}, validation "
                    f"{_safe(pct, row['final_validation_accuracy'])}, final training cross-entropy {_safe(num, row['final_cross_entropy'])}; "
                    f"diverged: {'yes' if row['diverged'] else 'no'}, oscillating: {'yes' if row['oscillating'] else 'no'}")
    if check.get("usable"):
        ev.lines.append(f"its graph labels an image (top label {text(check['top'][0][0])} at {_safe(pct, check['top'][0][1])}; "
                        f"true label {text(check['true_label'])})")
    else:
        ev.lines.append(f"its graph fails to label an image: {text(check.get('error', ''))}")


def _q10(tasks, ev: Evidence) -> None:
    for row in tasks["retrain_own_images"]["details"]["rows"]:
        ev.values.append(Measured(f"test accuracy with {row['images_per_class']} images per class", 100 * row["final_test_accuracy"], "%"))
        ev.lines.append(f"{row['images_per_class']} images per class: test accuracy {_safe(pct, row['final_test_accuracy'])} "
                        f"on {row['test_images']} held-out images")


def _cpu_gpu(task: Optional[dict]) -> List[Measured]:
    if not task or not task["metrics"].get("gpu_ran"):
        return []
    cpu, gpu = task["details"]["legs"]["cpu"], task["details"]["legs"]["gpu"]
    return [Measured(f"CPU / GPU time, {phase}", cpu[f"{phase}_s"] / gpu[f"{phase}_s"], "x")
            for phase in ("graph_load", "bottleneck", "training", "wall") if gpu.get(f"{phase}_s")]


def _q11(tasks, ev: Evidence) -> None:
    task = tasks["retrain_cpu_vs_gpu"]
    ev.values += _cpu_gpu(task)
    cpu, gpu = task["details"]["legs"]["cpu"], task["details"]["legs"]["gpu"]
    ev.lines.append(f"CPU leg: graph load {_safe(secs, cpu['graph_load_s'])}, bottleneck pass {_safe(secs, cpu['bottleneck_s'])}, "
                    f"training {_safe(secs, cpu['training_s'])}")
    if "skipped" in gpu:
        ev.lines.append(f"GPU leg: skipped ({text(gpu['skipped'])})")
    else:
        ev.lines.append(f"GPU leg: graph load {_safe(secs, gpu['graph_load_s'])}, bottleneck pass {_safe(secs, gpu['bottleneck_s'])}, "
                        f"training {_safe(secs, gpu['training_s'])}; CPU / GPU: bottleneck "
                        f"{num(cpu['bottleneck_s'] / gpu['bottleneck_s'])}x, training {num(cpu['training_s'] / gpu['training_s'])}x")
    if "transfer" in tasks:
        t = tasks["transfer"]["timings"]
        ev.lines.append(f"section 4 (TF2 transfer learning) for comparison: frozen epoch {_safe(secs, t['frozen_epoch_s'])}, "
                        f"fine-tuned epoch {_safe(secs, t['fine_tuned_epoch_s'])}")


def _q12(tasks, ev: Evidence) -> None:
    ev.values += _cpu_gpu(tasks.get("retrain_cpu_vs_gpu"))
    inc, lr = tasks.get("retrain_inception"), tasks.get("retrain_learning_rates")
    if inc is None:
        ev.not_run = "retrain_inception"
    else:
        line = f"Inception v3 bottleneck pass: {_safe(num, inc['timings']['bottleneck_images_per_s'])} img/s"
        if lr:
            ratio = lr["timings"]["bottleneck_images_per_s"] / inc["timings"]["bottleneck_images_per_s"]
            ev.values.append(Measured("MobileNet / Inception v3 bottleneck throughput", ratio, "x"))
            line += (f" against {_safe(num, lr['timings']['bottleneck_images_per_s'])} img/s for "
                     f"{text(lr['provenance']['architecture'])} ({num(ratio)}x)")
        ev.lines += [line, f"last-layer training: {_safe(secs, inc['timings']['training_s'])}"]
    gpu = tasks.get("retrain_cpu_vs_gpu", {}).get("details", {}).get("legs", {}).get("gpu", {})
    if "skipped" in gpu:
        ev.lines.append(f"CPU vs GPU: GPU leg skipped ({text(gpu['skipped'])})")


def _q13(tasks, ev: Evidence) -> None:
    inc = tasks["retrain_inception"]
    layer = inc["details"]["input_layer"]
    name = re.sub(r"[^\w.:/-]", "", str(layer["name"]))  # shown in a code span: nothing that could close it
    size = [str(int(layer[k])) if isinstance(layer[k], (int, float)) else "?" for k in ("height", "width")]
    ev.lines.append(f"read off the exported graph ({text(inc['provenance']['read_from'])}): "
                    f"`--input_layer={name} --input_height={size[0]} --input_width={size[1]}`")
    ev.lines.append(f"with MobileNet's defaults label_image fails: \"{text(inc['details']['checks']['label_with_mobilenet_defaults']['error'])}\"")


_BUILDERS = {8: _q8, 9: _q9, 10: _q10, 11: _q11, 12: _q12, 13: _q13}
