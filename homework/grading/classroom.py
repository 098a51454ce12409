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
from pathlib import Path
from typing import Dict, List

from .. import files
from ..errors import HomeworkError
from ..markdown import inline
from ..progress import Progress

SUFFIXES = (".md", ".markdown", ".txt", ".yaml", ".yml")
DEFAULT_OUT = Path("grades")


def submissions_in(items: List[str]) -> List[Path]:
    found: List[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
        elif path.exists():
            found.append(path)
        else:
            raise HomeworkError(f"{path}: submission not found")
    if not found:
        raise HomeworkError(f"{', '.join(items)}: no submissions ({', '.join(SUFFIXES)}) found")
    return found


def _name(path: Path, roots: List[Path]) -> str:
    for root in roots:
        if root.is_dir():
            try:
                return "__".join(path.relative_to(root).with_suffix("").parts)
            except ValueError:
                continue
    return path.stem


def _grade_one(job) -> Dict:
    """In a worker process: grade one file, write its results.json; errors come back as one line."""
    path, name, rubric_path, out_dir = job
    from . import gradescope, grader

    row: Dict = {"submission": str(path), "name": name}
    try:
        grades = grader.grade_submission(path, rubric_path)
    except HomeworkError as exc:
        row["error"] = str(exc)
        return row
    results = Path(out_dir) / f"{name}.results.json"
    gradescope.write_results(results, grader.results_json(grades))
    row.update(student=grades.submission.student, score=grades.score, max_score=grades.max_score,
               questions={g.id: g.score for g in grades.questions},
               answered=sum(g.answered for g in grades.questions),
               review=[f"Q{g.id}: {'; '.join(g.review)}" for g in grades.questions if g.needs_review],
               seconds=grades.seconds)
    return row


def run(items: List[str], rubric_path, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    paths = submissions_in(items)
    out_dir = Path(getattr(args, "out_dir", None) or DEFAULT_OUT)
    if out_dir.exists() and not out_dir.is_dir():
        raise HomeworkError(f"{out_dir}: exists and is not a folder; give a folder for the class results")
    if any(out_dir.resolve() in p.resolve().parents for p in paths):
        raise HomeworkError(f"{out_dir}: holds submissions; write the class results to another folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    roots = [Path(i) for i in items]
    jobs = [(p, _name(p, roots), str(rubric_path), str(out_dir)) for p in paths]
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
    writer.writerow(["submission", "student", "score", "max_score", "answered"] + [f"Q{q}" for q in ids] + ["needs_review", "error"])
    for r in rows:
        qs = r.get("questions", {})
        writer.writerow([r["name"], _cell(r.get("student", "")), r.get("score", ""), r.get("max_score", ""), r.get("answered", "")]
                        + [qs.get(q, "") for q in ids] + [_cell(" | ".join(r.get("review", []))), _cell(r.get("error", ""))])
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
