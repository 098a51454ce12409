"""Gradescope: `hw5 autograder` builds the zip Gradescope takes, and `run_autograder` inside
it grades /autograder/submission into /autograder/results/results.json.

The zip holds setup.sh (installs Python, PyYAML and NumPy from the distribution's packages),
run_autograder, the rubric, the staff policy (which profiles earn check points) and the grading
code, whose homework/verdicts.py is the list of checks and their weights: nothing in a submission
can add a check or change a weight. run_autograder always writes a valid results.json: a
submission that cannot be graded gets score 0 and the one-line reason (as Otter-Grader does).
The root is /autograder unless AUTOGRADER_ROOT (or --root) moves it, which the tests use.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Tuple

from .. import verdicts
from ..errors import HomeworkError
from ..packaged import packaged_file
from . import bundle, evidence, gradescope

if TYPE_CHECKING:
    from . import grader

PACKAGE = Path(__file__).resolve().parents[1]  # homework/
POLICY = "policy.json"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu, as root).
set -euo pipefail
apt-get update -qq
# Debian's packages, not pip: newer Ubuntu images refuse pip installs into the system Python (PEP 668)
apt-get install -y -qq python3 python3-yaml python3-numpy > /dev/null
python3 -c "import yaml, numpy"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: it reads $ROOT/submission and writes
# $ROOT/results/results.json (always, even when grading fails). AUTOGRADER_ROOT moves the root.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
mkdir -p "$ROOT/results"
cd "$ROOT/source" && PYTHONPATH="$ROOT/source" exec python3 -m homework.grading.autograder --root "$ROOT"
"""


def build(out: Path, policy: evidence.Policy = evidence.Policy()) -> Path:
    """The autograder zip (Gradescope unpacks it into /autograder/source): setup.sh, run_autograder,
    the grading code with its checks and weights (homework/verdicts.py), the rubric and the staff policy."""
    out = Path(out)
    if out.is_dir():
        raise HomeworkError(f"{out}: is a directory; give the zip's file name")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        def add(name: str, data: bytes, mode: int = 0o644):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the same inputs, the same zip
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)

        add("setup.sh", SETUP_SH.encode(), 0o755)
        add("run_autograder", RUN_AUTOGRADER.encode(), 0o755)
        for path in sorted(PACKAGE.rglob("*.py")):
            add(f"homework/{path.relative_to(PACKAGE).as_posix()}", path.read_bytes())
        add("answers/rubric.yaml", packaged_file("answers/rubric.yaml").read_bytes())
        add(POLICY, policy.to_json().encode())
    from .. import files

    files.write_bytes(out, buf.getvalue())
    return out


def build_command(args: argparse.Namespace) -> int:
    profiles = ("real",) + tuple(p for p in (args.accept_profile or []) if p != "real")
    out = build(args.output, evidence.Policy(profiles))
    dry = " (a dry run: embedded records earn check points)" if "embedded" in profiles else ""
    print(f"hw5: wrote {out}: upload it as the Gradescope autograder; check points for {', '.join(profiles)} runs{dry}; "
          f"{len(verdicts.CHECKS)} checks worth {verdicts.total_weight():g} points")
    return 0


# -- inside Gradescope (and `hw5 grade` of a submission folder or zip) ----------------------------
def grade_folder(folder: Path, rubric, policy: evidence.Policy) -> Tuple["grader.Grades", dict]:
    """A submission folder graded as Gradescope grades it: the answers the bundle names, the checks
    recomputed from the submitted records (the best of several), and the answers' claims compared
    with that record. Raises HomeworkError when there are no answers to grade."""
    from . import grader

    found = bundle.read_folder(folder, lambda path: grader.answered_count(path, rubric))
    if found.answers is None:
        raise HomeworkError(found.problem)
    checks, record = _checks_part(found, policy)
    grades = grader.grade_submission(found.answers, rubric=rubric, record=record)
    doc = grader.results_json(grades, checks)
    doc["output"] = f"answers: {found.chosen_by}\n" + doc["output"]
    return grades, doc


def _checks_part(found: bundle.Bundle, policy: evidence.Policy) -> Tuple[dict, Optional[dict]]:
    """The checks' part from the submitted records (the best of several), recomputed, and the record
    it came from; a record that cannot be read costs the checks, not the written answers."""
    from . import checks_plugin, schema

    graded, unreadable = [], []
    for path in found.records:
        where = str(path.relative_to(found.folder))
        try:
            record = schema.read_record(path)
        except HomeworkError as exc:
            unreadable.append(str(exc).replace(str(found.folder) + "/", ""))
            continue
        beside = checks_plugin.checks_path(path)
        claimed = None
        if beside.exists():
            try:
                claimed = checks_plugin.read_checks(beside, record)
            except HomeworkError:
                claimed = None
        graded.append((evidence.grade_record(record, where, policy, claimed), record))
    if not graded:
        why = ("no run record: submit results/<label>.json (hw5 submit puts it in the zip)" if not unreadable
               else f"run record refused: {unreadable[0]}")
        chosen, record = evidence.grade_record(None, why, policy), None
    else:
        chosen = evidence.best([grade for grade, _ in graded])
        record = next(rec for grade, rec in graded if grade is chosen)
    doc = gradescope.checks_part(chosen)
    for extra in unreadable[1 if not graded else 0:]:
        doc["output"] += f"\nrecord not read: {extra}"
    return doc, record


def run(root: Path) -> dict:
    """Grade root/submission into root/results/results.json; never leaves without writing it."""
    from .rubric import Rubric

    started = time.perf_counter()
    source = Path(__file__).resolve().parents[2]
    out = root / "results" / "results.json"
    try:
        rubric = Rubric.load(source / "answers" / "rubric.yaml")
        _, doc = grade_folder(root / "submission", rubric, evidence.Policy.read(source / POLICY))
    except HomeworkError as exc:
        doc = gradescope.results([], time.perf_counter() - started, f"Not graded: {exc}")
    except Exception as exc:  # a bug here must still give the student a results.json and staff a reason
        doc = gradescope.results([], time.perf_counter() - started, f"Not graded: internal error ({type(exc).__name__}: {exc})")
    gradescope.write_results(out, doc)
    return doc


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Gradescope's run_autograder step")
    parser.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    args = parser.parse_args(argv)
    doc = run(Path(args.root))
    print(doc["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
