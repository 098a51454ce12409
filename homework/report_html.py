"""report.html: the report as one self-contained file to hand in (and print to PDF).

Rendered from the same data as answers/report.md (report.prepare), with the plots inline as
data: URIs and the CSS inside, so the file shows the same anywhere, offline, with nothing beside
it; a Content-Security-Policy forbids scripts and every fetch. Jinja autoescapes: record and
student text is shown as typed, never interpreted as HTML. Same inputs, same bytes.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Optional, Sequence

import jinja2
from markupsafe import Markup, escape

from . import compare, report
from .grading.rubric import Rubric
from .grading.submissions import Answers
from .packaged import packaged_dir

PLOT_DPI = 150  # sharper than report.md's 100 dpi: this one is printed
# (heading, tasks) in the homework's order; each part starts a new printed page
PARTS = (
    ("Part 1: TensorFlow 2", ("mnist", "transfer")),
    ("Part 2: TensorFlow 1 (retrain)", ("retrain_learning_rates", "retrain_cpu_vs_gpu", "retrain_inception", "retrain_own_images")),
)

# "Measured in this run" lines are Markdown built by grading/measured.py from two constructs only:
# backslash-escaped ASCII punctuation (record text) and code spans. Undoing those two is exact.
_MARKDOWN_INLINE = re.compile(r"\\([!-/:-@\[-`{-~])|`([^`]*)`")


def markdown_line(line: str) -> Markup:
    """A measured line as HTML: escapes undone, code spans as <code>, everything else escaped."""
    parts, pos = [], 0
    for m in _MARKDOWN_INLINE.finditer(line):
        parts.append(escape(line[pos:m.start()]))
        parts.append(escape(m.group(1)) if m.group(1) is not None else Markup("<code>%s</code>") % m.group(2))
        pos = m.end()
    parts.append(escape(line[pos:]))
    return Markup("").join(parts)


def answer_text(text: str) -> str:
    """A student's answer as typed (shown with white-space: pre-wrap): invisible characters as code points,
    blank lines around it dropped. Jinja escapes the result."""
    lines = [report.visible_codes(line).rstrip() for line in str(text).replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def task_heading(title: str) -> str:
    """A task's title under its part's heading: "Part 2: your own images" reads "Your own images"."""
    rest = title[len("Part 2: "):] if title.startswith("Part 2: ") else title
    return rest[:1].upper() + rest[1:]


def figure(png: bytes) -> dict:
    """An inline image shown at the figure's own size (CSS has 96 px to the inch), so every plot's text is one size."""
    width = int.from_bytes(png[16:20], "big")  # the PNG header's width field
    return {"src": "data:image/png;base64," + base64.b64encode(png).decode("ascii"), "width": round(width * 96 / PLOT_DPI)}


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(packaged_dir("templates"))), undefined=jinja2.StrictUndefined,
                             autoescape=True, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(plain=report.plain, answer=answer_text, markdown_line=markdown_line, basenames=report.basenames,
                       pct=report.pct, secs=report.secs, num=report.num)
    return env


def render(records: Sequence[dict], answers: Answers, rubric: Rubric, baseline: Optional[str] = None) -> str:
    """The HTML text; nothing is written."""
    from . import plots

    context = report.prepare(records, answers, rubric, baseline, text=report.plain)
    context["plots"] = {name: figure(png) for name, png in plots.draw_all(records[0], PLOT_DPI).items()}
    context["answers_file"] = Path(answers.source).name
    context["comparison"] = compare.tables(context["runs"], context["baseline_index"], mixed=True) if len(records) > 1 else []
    context["parts"] = PARTS
    context["headings"] = {name: task_heading(title) for name, (title, _) in report.TASKS.items()}
    return report.fill(environment(), "report.html.j2", context, records[0])
