"""answers/report.md from run records and the student's answers.

A pure function of its inputs: the same records and answers give the same bytes (no
clock, no absolute paths, plots with fixed metadata). The student's text and the records'
text are data, escaped by homework/formats.py.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

import jinja2

from . import compare, files, verdicts
from .formats import NOT_A_NUMBER, basenames, inert, inline, num, pct, plain, record_inline, record_text, secs, visible_codes  # noqa: F401
from .errors import HomeworkError
from .grading import evidence, measured
from .grading.rubric import Rubric
from .grading.submissions import Answers
from .packaged import packaged_dir

DEFAULT_OUT = Path("answers/report.md")

# task name -> (title, command that runs it)
TASKS = {
    "inputs": ("Inputs", "hw5 data && pytest checks/test_inputs.py"),
    "mnist": ("Task 1.1: MNIST baseline vs challenger", "pytest checks/test_mnist.py"),
    "transfer": ("Task 1.2: transfer learning, frozen vs fine-tuned", "pytest checks/test_transfer.py"),
    "retrain_learning_rates": ("Part 2: retrain at three learning rates", "pytest checks/test_retrain.py -k every_rate"),
    "retrain_cpu_vs_gpu": ("Part 2: CPU vs GPU", "pytest checks/test_retrain.py -k cpu_vs_gpu"),
    "retrain_inception": ("Part 2: Inception v3 vs MobileNet", "pytest checks/test_retrain.py -k inception"),
    "retrain_own_images": ("Part 2: your own images", "pytest checks/test_retrain.py -k own_images"),
}
def environment() -> jinja2.Environment:
    templates = packaged_dir("templates")  # the checkout's templates/, or the installed package's copy
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(inert=inert, inline=inline, basenames=basenames, pct=pct, secs=secs, num=num)
    return env


@dataclass(frozen=True)
class Rendered:
    markdown: str
    path: Path
    plots: Dict[str, Path]


def prepare(records: Sequence[dict], answers: Answers, rubric: Rubric, baseline: Optional[str] = None,
            text: Callable[[str], str] = record_inline) -> dict:
    """What report.md.j2 and report.html.j2 both read; `text` shows every string taken from a record."""
    primary = records[0]
    raw_runs = [compare.from_record(doc, doc["device_label"]) for doc in records]
    base = compare.baseline_index(raw_runs, baseline)
    runs = [dataclasses.replace(r, label=text(r.label), machine=text(r.machine)) for r in raw_runs]
    shown = record_text(primary, text)
    checks = evidence.grade_record(primary, str(primary["device_label"]))
    dry_run = evidence.grade_record(primary, str(primary["device_label"]), evidence.Policy(("real", "embedded")))
    return {
        "verdicts": {v.check: record_text(dataclasses.asdict(v), text) for v in checks.verdicts},
        "checks": {"score": checks.score, "total": verdicts.total_weight(), "refused": text(checks.refused),
                   "dry_run_score": dry_run.score if checks.refused else None},
        "record": shown,
        "tasks": shown["tasks"],
        "task_info": TASKS,
        "answers": answers,
        "questions": list(rubric.questions.values()),
        "runs": runs,
        "baseline_index": base,
        "devices": [{"label": r.label, "machine": r.machine} for r in runs],
        "baseline_label": runs[base].label,
        "measured": measured.evidence(primary),
        "stand_in_tasks": sorted(text(name) for name, task in primary["tasks"].items() if task["stand_in"]),
    }


def fill(env: jinja2.Environment, template: str, context: dict, record: dict) -> str:
    try:
        return env.get_template(template).render(**context)
    except (jinja2.UndefinedError, TypeError, ValueError, KeyError, ZeroDivisionError, AttributeError) as exc:
        # StrictUndefined: a missing value stops the report, never a blank; a value of the wrong kind too
        raise HomeworkError(f"record {visible_codes(record['device_label'])}: the report needs a value it lacks ({exc})") from exc


def render(records: Sequence[dict], answers: Answers, rubric: Rubric, out: Path = DEFAULT_OUT, baseline: Optional[str] = None) -> Rendered:
    """Write `out` and its plots (in `<out stem>_files/`) and return what was written."""
    from . import plots

    out = Path(out)
    plot_dir = out.parent / f"{out.stem}_files"
    made = plots.make_all(records[0], plot_dir)
    context = prepare(records, answers, rubric, baseline)
    context["plots"] = {name: f"{plot_dir.name}/{path.name}" for name, path in made.items()}
    context["comparison"] = compare.markdown(context["runs"], context["baseline_index"], mixed=True) if len(records) > 1 else ""
    text = fill(environment(), "report.md.j2", context, records[0])
    files.write_text(out, text)
    return Rendered(text, out, made)
