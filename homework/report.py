"""answers/report.md from run records and the student's answers.

A pure function of its inputs: the same records and answers give the same bytes (no
clock, no absolute paths, plots with fixed metadata). The student's text and the records'
text are data, escaped by homework/markdown.py.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

import jinja2

from . import compare, files
from .errors import HomeworkError
from .grading import measured
from .markdown import basenames, inert, inline, num, pct, record_inline, record_text, secs, visible_codes
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


def render(records: Sequence[dict], answers: Answers, rubric: Rubric, out: Path = DEFAULT_OUT, baseline: Optional[str] = None) -> Rendered:
    """Write `out` and its plots (in `<out stem>_files/`) and return what was written."""
    from . import plots

    out = Path(out)
    primary = records[0]
    plot_dir = out.parent / f"{out.stem}_files"
    made = plots.make_all(primary, plot_dir)
    raw_runs = [compare.from_record(doc, doc["device_label"]) for doc in records]
    base = compare.baseline_index(raw_runs, baseline)
    runs = [dataclasses.replace(r, label=record_inline(r.label), machine=record_inline(r.machine)) for r in raw_runs]
    shown = record_text(primary)
    context = {
        "record": shown,
        "tasks": shown["tasks"],
        "task_info": TASKS,
        "answers": answers,
        "questions": list(rubric.questions.values()),
        "plots": {name: f"{plot_dir.name}/{path.name}" for name, path in made.items()},
        "devices": [{"label": r.label, "machine": r.machine} for r in runs],
        "comparison": compare.markdown(runs, base) if len(records) > 1 else "",
        "baseline_label": runs[base].label,
        "measured": measured.evidence(primary),
        "stand_in_tasks": sorted(record_inline(name) for name, task in primary["tasks"].items() if task["stand_in"]),
    }
    try:
        text = environment().get_template("report.md.j2").render(**context)
    except jinja2.UndefinedError as exc:  # StrictUndefined: a missing value stops the report, never a blank
        raise HomeworkError(f"record {visible_codes(primary['device_label'])}: the report needs a value it lacks ({exc})") from exc
    files.write_text(out, text)
    return Rendered(text, out, made)
