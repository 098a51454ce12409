"""answers/report.md from run records and the student's answers.

A pure function of its inputs: the same records and answers give the same bytes (no
clock, no absolute paths, plots with fixed metadata). The student's text is data:
every ASCII punctuation character is backslash-escaped, so template syntax, HTML and
Markdown inside an answer show as typed and are never evaluated (a `===` underline never
makes a heading); control characters and bidirectional overrides are shown as their code
points. Text from the records (device labels, error messages, paths) is escaped the same way.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

import jinja2

from . import compare, files, verdicts
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
# ASCII punctuation that Markdown, HTML or an autolink could act on (not , ; ' " ? % =, kept readable)
_PUNCT = re.compile(r"([!#$&()*+\-./:<=>@\[\\\]^_`{|}~])")
# control characters, zero-width characters and bidirectional embeddings/overrides/isolates
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def visible_codes(text: str) -> str:
    """Control, zero-width and bidirectional characters shown as [U+XXXX], tabs as four spaces."""
    return _UNSAFE.sub(lambda m: f"[U+{ord(m.group(0)):04X}]", str(text).replace("\t", "    "))


def inert(text: str) -> str:
    """Student text shown exactly as typed: each line escaped, kept as a hard line break."""
    lines = [_PUNCT.sub(r"\\\1", visible_codes(line).strip()) for line in str(text).replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(f"> {line}  " if line else ">" for line in lines) or "> *(no answer yet)*"


def inline(text: str) -> str:
    """Student text inside a line (a name in the header)."""
    return _PUNCT.sub(r"\\\1", " ".join(visible_codes(text).split()))


# record text is always placed inside a line (newlines collapsed), where "-" and "." cannot start a list
# or an underline: they stay readable ("cpu-here", "0.005"); everything else is escaped as for students
_RECORD_PUNCT = re.compile(r"([!#$&()*+/:<=>@\[\\\]^_`{|}~])")


def record_inline(text: str) -> str:
    return _RECORD_PUNCT.sub(r"\\\1", " ".join(visible_codes(text).split()))


def record_text(value, text=record_inline):
    """A record for the templates: every string shortened to file names, then shown by `text`
    (escaped like student text for Markdown; `plain` for HTML, where Jinja escapes)."""
    if isinstance(value, dict):
        return {k: record_text(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [record_text(v, text) for v in value]
    if isinstance(value, str):
        return text(basenames(value))
    return value


def plain(text: str) -> str:
    """Text inside a line, unescaped (for a template that escapes): whitespace collapsed, invisible characters shown."""
    return " ".join(visible_codes(text).split())


def basenames(text: str) -> str:
    """Absolute paths shortened to their file names: the report must not depend on where the run lived."""
    return re.sub(r"(?:/[^\s/:'\"]+)+/([^\s/:'\"]+)", r"\1", str(text))


NOT_A_NUMBER = "n/a (not finite)"  # the record stores NaN/inf as null, with the reason in the task's non_finite map


def pct(value) -> str:
    if value is None:
        return NOT_A_NUMBER
    return f"{100 * float(value):.1f}%"


def secs(value) -> str:
    if value is None:
        return NOT_A_NUMBER
    value = float(value)
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def num(value, digits: int = 3) -> str:
    if value is None:
        return NOT_A_NUMBER
    value = float(value)
    return f"{value:,.0f}" if abs(value) >= 1000 or value.is_integer() else f"{value:.{digits}g}"


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
    except jinja2.UndefinedError as exc:  # StrictUndefined: a missing value stops the report, never a blank
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
