"""Grading a whole class: every submission in a folder (or a list of files), in parallel
processes; one results.json per submission, a class CSV, and a Markdown summary with the
score distribution and the answers a TA should read first."""
from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from .. import files
from ..errors import HomeworkError
from ..formats import inline
from ..progress import Progress
from . import gradescope, inputs

SUFFIXES = (".md", ".markdown", ".txt", ".yaml", ".yml", ".ipynb")
DEFAULT_OUT = Path("grades")
METADATA = "submission_metadata.yml"  # Gradescope's export: submission_<id>/ folders and who submitted each


@dataclass(frozen=True)
class Submission:
    name: str  # the results file's name: the folder or file stem
    student: str  # who: Gradescope's submitters, else the folder or file stem
    path: Path  # a student's folder (read as a bundle) or one file


def submissions_in(items: List[str]) -> List[Submission]:
    """One submission per student: each folder inside a class folder is one student's (its answers
    chosen as Gradescope chooses them), each answers file lying loose at the top is one; a file
    given by name is one. A Gradescope export names its students in submission_metadata.yml."""
    found: List[Submission] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            names = _gradescope_names(path / METADATA)
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or child.name == METADATA:
                    continue
                if child.is_dir():
                    found.append(Submission(child.name, names.get(child.name, child.name), child))
                elif child.suffix.lower() in SUFFIXES:
                    found.append(Submission(child.stem, child.stem, child))
        elif path.exists():
            found.append(Submission(path.stem, path.stem, path))
        else:
            raise HomeworkError(f"{path}: submission not found")
    if not found:
        raise HomeworkError(f"{', '.join(items)}: no submissions (student folders, or {', '.join(SUFFIXES)} files) found")
    seen: Dict[str, int] = {}
    unique = []
    for sub in found:  # two items may hold a student of the same name: results files must not collide
        seen[sub.name] = seen.get(sub.name, 0) + 1
        unique.append(sub if seen[sub.name] == 1 else Submission(f"{sub.name}-{seen[sub.name]}", sub.student, sub.path))
    return unique


def _gradescope_names(path: Path) -> Dict[str, str]:
    """submission_<id> -> the submitters' names, from Gradescope's export metadata (empty when absent or unreadable)."""
    if not path.is_file():
        return {}
    import yaml

    try:
        doc = yaml.safe_load(inputs.read_text(path, "Gradescope metadata", limit=20 * 1024 * 1024))
    except (HomeworkError, yaml.YAMLError):
        return {}
    names = {}
    for folder, entry in (doc or {}).items() if isinstance(doc, dict) else []:
        submitters = entry.get(":submitters") or entry.get("submitters") or [] if isinstance(entry, dict) else []
        people = [str(p.get(":name") or p.get("name") or p.get(":email") or "") for p in submitters if isinstance(p, dict)]
        if any(people):
            names[str(folder)] = ", ".join(p for p in people if p)
    return names


def _grade_one(job) -> Dict:
    """In a worker process: grade one submission (a folder as Gradescope grades it, or one answers
    file), write its results.json; errors come back as one line."""
    sub, rubric_path, out_dir, accept = job
    from . import autograder, evidence, grader
    from .rubric import Rubric

    row: Dict = {"submission": str(sub.path), "name": sub.name, "student": sub.student}
    try:
        rubric = Rubric.load(rubric_path)
        if sub.path.is_dir():
            grades, doc = autograder.grade_folder(sub.path, rubric, evidence.Policy.accepting(accept))
        else:
            grades = grader.grade_submission(sub.path, rubric=rubric)
            doc = grader.results_json(grades)
    except HomeworkError as exc:
        row["error"] = f"{sub.path}: {exc}" if str(sub.path) not in str(exc) else str(exc)
        return row
    gradescope.write_results(Path(out_dir) / f"{sub.name}.results.json", doc)
    checks = gradescope.checks_score(doc)
    named = sub.student if sub.student != sub.name else ""  # Gradescope's submitters, when its export names them
    row.update(student=named or grades.submission.student or sub.student, score=grades.score, max_score=grades.max_score,
               checks="" if checks is None else checks, answers=grades.submission.source,
               questions={g.id: g.score for g in grades.questions},
               answered=sum(g.answered for g in grades.questions),
               review=[f"Q{g.id}: {'; '.join(g.review)}" for g in grades.questions if g.needs_review],
               seconds=grades.seconds)
    return row


def run(items: List[str], rubric_path, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    subs = submissions_in(items)
    out_dir = Path(getattr(args, "out_dir", None) or DEFAULT_OUT)
    if out_dir.exists() and not out_dir.is_dir():
        raise HomeworkError(f"{out_dir}: exists and is not a folder; give a folder for the class results")
    if any(out_dir.resolve() == s.path.resolve() or out_dir.resolve() in s.path.resolve().parents for s in subs):
        raise HomeworkError(f"{out_dir}: holds submissions; write the class results to another folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    accept = tuple(getattr(args, "accept_profile", None) or ())
    jobs = [(sub, str(rubric_path), str(out_dir), accept) for sub in subs]
    workers = max(1, min(getattr(args, "jobs", 0) or os.cpu_count() or 1, len(jobs)))
    progress = Progress("grading", len(jobs), unit="submissions")
    rows: List[Dict] = []
    try:
        if workers == 1:
            for job in jobs:
                rows.append(_grade_one(job))
                progress.advance(1)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for row in pool.map(_grade_one, jobs, chunksize=max(1, len(jobs) // (workers * 4))):  # in submission order
                    rows.append(row)
                    progress.advance(1)
    finally:
        progress.close()  # the line ends before the summary (or an error) is printed
    seconds = time.perf_counter() - started
    files.write_text(out_dir / "class.csv", class_csv(rows))
    plot = out_dir / "score_distribution.png"
    _plot(rows, plot)
    files.write_text(out_dir / "summary.md", summary(rows, seconds, workers, plot.name))
    failed = [r for r in rows if "error" in r]
    print(f"hw5: graded {len(rows) - len(failed)} of {len(rows)} submissions in {seconds:.1f} s with {workers} processes; "
          f"wrote {out_dir}/class.csv, {out_dir}/summary.md and one results.json per submission")
    for row in failed:
        print(f"hw5: not graded: {row['error']}")
    return 0


def class_csv(rows: List[Dict]) -> str:
    ids = sorted({q for r in rows for q in r.get("questions", {})})
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", "student", "score", "max_score", "answered", "checks"] + [f"Q{q}" for q in ids]
                    + ["needs_review", "answers_file", "error"])
    for r in rows:
        qs = r.get("questions", {})
        writer.writerow([_cell(r["name"]), _cell(r.get("student", "")), r.get("score", ""), r.get("max_score", ""), r.get("answered", ""),
                         r.get("checks", "")] + [qs.get(q, "") for q in ids]
                        + [_cell(" | ".join(r.get("review", []))), _cell(r.get("answers", "")), _cell(r.get("error", ""))])
    return buf.getvalue()


def _cell(text: str) -> str:
    """A spreadsheet never evaluates a student's text as a formula."""
    text = " ".join(str(text).split())
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _plot(rows: List[Dict], path: Path) -> None:
    scores = [r["score"] for r in rows if "score" in r]
    maximum = max((r["max_score"] for r in rows if "max_score" in r), default=36)
    from ..plots import pyplot, save

    fig, ax = pyplot().subplots(figsize=(6, 3.2))
    ax.hist(scores, bins=[x / 2 for x in range(0, int(maximum * 2) + 2, 2)], color="#4477aa", edgecolor="white")
    ax.set_xlabel(f"total score (of {maximum:g})")
    ax.set_ylabel("submissions")
    ax.set_title(f"Score distribution ({len(scores)} submissions)")
    save(fig, path)


def summary(rows: List[Dict], seconds: float, workers: int, plot_name: str) -> str:
    graded = [r for r in rows if "score" in r]
    scores = [r["score"] for r in graded]
    lines = [f"# Class grades: {len(graded)} of {len(rows)} submissions graded", ""]
    if scores:
        lines += [f"Mean {statistics.mean(scores):.1f}, median {statistics.median(scores):g}, min {min(scores):g}, "
                  f"max {max(scores):g} of {graded[0]['max_score']:g}; graded in {seconds:.1f} s with {workers} processes.", "",
                  f"![score distribution]({plot_name})", ""]
    review = [r for r in graded if r["review"]]
    lines += [f"## Needs review ({len(review)} submissions)", ""]
    for r in sorted(review, key=lambda r: -len(r["review"])):
        lines.append(f"- {inline(r['name'])} ({r['score']:g}): " + "; ".join(inline(x) for x in r["review"]))
    errors = [r for r in rows if "error" in r]
    if errors:
        lines += ["", f"## Not graded ({len(errors)})", ""] + [f"- {inline(r['name'])}: {inline(r['error'])}" for r in errors]
    return "\n".join(lines) + "\n"
