"""`hw5 grade`: one submission (table, results.json), a whole class (a folder or many files),
or the calibration set (--calibrate)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

from ..errors import HomeworkError
from . import checks_plugin, gradescope, grader, inputs, schema


def run(args: argparse.Namespace, rubric_path: str) -> int:
    if getattr(args, "calibrate", False):
        from . import calibration

        report = calibration.run(rubric_path, getattr(args, "calibration_set", None))
        print(report.table())
        return 0 if report.passes else 1
    submissions = list(args.submission or [])
    if not submissions:
        raise HomeworkError("hw5 grade: give a submission (answers.yaml or a write-up), a folder of them, or --calibrate")
    if len(submissions) > 1 or Path(submissions[0]).is_dir():
        from . import classroom

        if args.json:
            raise HomeworkError("hw5 grade: --json names one results.json, for one submission; a class is graded "
                                "into --out-dir (a results file per submission, a CSV and a summary)")
        return classroom.run(submissions, rubric_path, args)
    return grade_one(submissions[0], rubric_path, args)


def _checks_for(args: argparse.Namespace, record: Optional[dict]) -> Optional[dict]:
    """The checks part of results.json, or None with --written-only; never a silent fallback."""
    if getattr(args, "written_only", False):
        if args.checks:
            raise HomeworkError("hw5 grade: --written-only and --checks contradict each other")
        return None
    beside = checks_plugin.checks_path(args.record) if args.record else None
    path = args.checks or (beside if beside and beside.exists() else None)
    if path is None:
        raise HomeworkError("hw5 grade --json: no checks results "
                            + (f"beside {args.record} ({beside.name}); run `hw5 run` first" if args.record else
                               "(give --record of the run, or --checks)")
                            + ", or pass --written-only to grade the written answers alone")
    from . import autograder

    checks = checks_plugin.read_checks(path, record)
    checks_dir = autograder.REPO / "checks"
    return autograder.complete_checks(checks, autograder.expected_checks(checks_dir)) if checks_dir.is_dir() else checks


def grade_one(path, rubric_path, args: argparse.Namespace) -> int:
    record = schema.read_record(args.record) if args.record else None
    out = None
    if args.json:
        out = inputs.output_path(args.json, [path, args.record, args.checks, rubric_path], "results.json")
    grades = grader.grade_submission(path, rubric_path, record=record)
    print(grader.table(grades))
    if out is not None:
        checks = _checks_for(args, record)
        gradescope.write_results(out, grader.results_json(grades, checks))
        print(f"hw5: wrote {out}" + (" (with the checks)" if checks else " (written answers only: --written-only)"))
    return 0


def output_arguments(p: argparse.ArgumentParser) -> None:
    """The grade subcommand's options (argparse lines kept here, beside the code that reads them)."""
    p.add_argument("submission", nargs="*", help="answers.yaml or a write-up (Markdown or text); several files or a folder grade a class")
    p.add_argument("--record", help="run record: flag answers whose numbers disagree with it")
    p.add_argument("--checks", help="checks results (default: beside --record, written by pytest checks/)")
    p.add_argument("--json", help="write Gradescope's results.json here")
    p.add_argument("--written-only", action="store_true", help="with --json: grade the written answers alone (no checks)")
    p.add_argument("--calibrate", action="store_true", help="grade the calibration set and print the agreement with a TA")
    p.add_argument("--calibration-set", help=argparse.SUPPRESS)
    p.add_argument("-o", "--out-dir", help="class grading: folder for the per-submission results, class CSV and summary")
    p.add_argument("-j", "--jobs", type=int, default=0, help="class grading: worker processes (default: the CPU count)")
