"""`hw5 grade`: one submission (table, results.json), a whole class (a folder or many files),
or the calibration set (--calibrate)."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Optional

from .. import archives
from ..errors import HomeworkError
from . import bundle, checks_plugin, evidence, gradescope, grader, inputs, schema

MAX_ZIP_BYTES = 200 * 1024 * 1024  # a submission with two records and a PDF is a few MB
MAX_ZIP_FILES = 10_000


def run(args: argparse.Namespace, rubric_path: str) -> int:
    if getattr(args, "calibrate", False):
        from . import calibration

        report = calibration.run(rubric_path, getattr(args, "calibration_set", None))
        print(report.table())
        passes = report.passes
        if not getattr(args, "calibration_set", None):  # the TA-scored whole write-ups too
            for split in ("dev", "heldout"):
                agreement = calibration.writeups(rubric_path, split)
                print(agreement.table())
                passes = passes and agreement.passes
        return 0 if passes else 1
    submissions = list(args.submission or [])
    if not submissions:
        raise HomeworkError("hw5 grade: give a submission (answers.yaml or a write-up), a folder of them, or --calibrate")
    if len(submissions) == 1 and _one_submission(Path(submissions[0])):
        return grade_bundle(Path(submissions[0]), rubric_path, args)
    if len(submissions) > 1 or Path(submissions[0]).is_dir():
        from . import classroom

        if args.json:
            raise HomeworkError("hw5 grade: --json names one results.json, for one submission; a class is graded "
                                "into --out-dir (a results file per submission, a CSV and a summary)")
        return classroom.run(submissions, rubric_path, args)
    return grade_one(submissions[0], rubric_path, args)


def _checks_for(args: argparse.Namespace, record: Optional[dict]) -> Optional[dict]:
    """The checks part of results.json, recomputed from the record (never from a checks file), or
    None with --written-only; never a silent fallback."""
    if getattr(args, "written_only", False):
        return None
    if record is None:
        raise HomeworkError("hw5 grade --json: give --record of the run (results/<label>.json) so the checks can be "
                            "recomputed from it, or pass --written-only to grade the written answers alone")
    policy = evidence.Policy.accepting(args.accept_profile or [])
    beside = checks_plugin.checks_path(args.record)
    claimed = checks_plugin.read_checks(beside, record) if beside.exists() else None
    return gradescope.checks_part(evidence.grade_record(record, str(args.record), policy, claimed))


def _one_submission(path: Path) -> bool:
    """The zip `hw5 submit` writes, or a folder holding one submission (its manifest.json at the top)."""
    return path.suffix.lower() == ".zip" or (path.is_dir() and (path / bundle.MANIFEST).is_file())


def grade_bundle(path: Path, rubric_path, args: argparse.Namespace) -> int:
    """One submission graded exactly as the Gradescope autograder grades it: answers, checks
    recomputed from its records under the staff policy, claims compared with the record."""
    from . import autograder
    from .rubric import Rubric

    if args.record:
        raise HomeworkError(f"hw5 grade {path}: the submission's own records are graded; --record is for an answers file")
    out = inputs.output_path(args.json, [path, rubric_path], "results.json") if args.json else None
    policy = evidence.Policy.accepting(args.accept_profile or [])
    rubric = Rubric.load(rubric_path)
    with tempfile.TemporaryDirectory(prefix="hw5-submission.") as unpacked:
        folder = path
        if path.is_file():
            if path.stat().st_size > MAX_ZIP_BYTES:
                raise HomeworkError(f"{path}: over the {MAX_ZIP_BYTES:,}-byte limit for a submission zip")
            archives.unpack_zip(path, Path(unpacked), MAX_ZIP_BYTES * 4, MAX_ZIP_FILES)
            folder = Path(unpacked)
        grades, doc = autograder.grade_folder(folder, rubric, policy)
    print(grader.table(grades))
    print(doc["output"])
    if out is not None:
        gradescope.write_results(out, doc)
        print(f"hw5: wrote {out}")
    return 0


def grade_one(path, rubric_path, args: argparse.Namespace) -> int:
    record = schema.read_record(args.record) if args.record else None
    out = None
    if args.json:
        out = inputs.output_path(args.json, [path, args.record, rubric_path], "results.json")
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
    p.add_argument("--accept-profile", action="append", choices=("embedded",),
                   help="with --json: embedded (stand-in) runs earn check points too (a dry run; Gradescope's default gives them none)")
    p.add_argument("--json", help="write Gradescope's results.json here")
    p.add_argument("--written-only", action="store_true", help="with --json: grade the written answers alone (no checks)")
    p.add_argument("--calibrate", action="store_true", help="grade the calibration set and print the agreement with a TA")
    p.add_argument("--calibration-set", help=argparse.SUPPRESS)
    p.add_argument("-o", "--out-dir", help="class grading: folder for the per-submission results, class CSV and summary")
    p.add_argument("-j", "--jobs", type=int, default=0, help="class grading: worker processes (default: the CPU count)")
