"""Gradescope: `hw5 autograder` builds the zip Gradescope takes, and `run_autograder` inside
it grades /autograder/submission into /autograder/results/results.json.

The zip holds setup.sh (installs Python and PyYAML from the distribution's packages), run_autograder, the rubric, the list of
expected checks, and the grading code. run_autograder always writes a valid results.json: a
submission that cannot be graded gets score 0 and the one-line reason (as Otter-Grader does).
The root is /autograder unless AUTOGRADER_ROOT (or --root) moves it, which the tests use.
"""
from __future__ import annotations

import argparse
import ast
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

from ..errors import HomeworkError
from ..packaged import packaged_file

PACKAGE = Path(__file__).resolve().parents[1]  # homework/
REPO = PACKAGE.parent
SUBMISSION_NAMES = ("answers.yaml", "answers.yml")
WRITEUP_SUFFIXES = (".md", ".markdown", ".txt")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu, as root).
set -euo pipefail
apt-get update -qq
# Debian's packages, not pip: newer Ubuntu images refuse pip installs into the system Python (PEP 668)
apt-get install -y -qq python3 python3-yaml > /dev/null
python3 -c "import yaml"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: it reads $ROOT/submission and writes
# $ROOT/results/results.json (always, even when grading fails). AUTOGRADER_ROOT moves the root.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
mkdir -p "$ROOT/results"
cd "$ROOT/source" && PYTHONPATH="$ROOT/source" exec python3 -m homework.grading.autograder --root "$ROOT"
"""


def expected_checks(checks_dir: Path) -> List[Dict]:
    """Every check under checks/ with its weight, read from the source (no TensorFlow import)."""
    found = []
    for path in sorted(Path(checks_dir).glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                found.append({"id": f"checks/{path.name}::{node.name}", "weight": _weight(node)})
    return found


def _weight(node) -> float:
    for dec in node.decorator_list:
        if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "weight" and dec.args:
            arg = dec.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, (int, float)):
                return float(arg.value)
    return 1.0


def build(out: Path) -> Path:
    """The autograder zip (Gradescope unpacks it into /autograder/source): setup.sh, run_autograder, the grading code."""
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
        rubric = packaged_file("answers/rubric.yaml")
        add("answers/rubric.yaml", rubric.read_bytes())
        add("expected_checks.json", json.dumps(expected_checks(REPO / "checks"), indent=2).encode())
    from .. import files

    files.write_bytes(out, buf.getvalue())
    return out


def build_command(args: argparse.Namespace) -> int:
    out = build(args.output)
    print(f"hw5: wrote {out} (upload it as the Gradescope autograder: setup.sh, run_autograder, rubric, grading code)")
    return 0


# -- inside Gradescope ---------------------------------------------------------------------
def find_submission(folder: Path) -> Path:
    for name in SUBMISSION_NAMES:
        for path in sorted(folder.rglob(name)):
            return path
    writeups = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in WRITEUP_SUFFIXES
                      and not p.name.startswith("."))
    if not writeups:
        raise HomeworkError(f"{folder}: no answers.yaml and no write-up (.md or .txt) in the submission")
    return max(writeups, key=lambda p: p.stat().st_size)  # the write-up, not a stray README


def _checks_part(folder: Path, expected: List[Dict]) -> Optional[dict]:
    """The checks results the student uploaded with their record, matched to it; else every check not run."""
    from . import checks_plugin, gradescope, schema

    def none_ran(why: str) -> Optional[dict]:
        tests = [gradescope.test(c["id"], f"C{i}", 0, c["weight"], f"not run: {why}") for i, c in enumerate(expected, 1)]
        return gradescope.results(tests, 0.0, f"homework checks: {why}") if tests else None

    checks_files = sorted(folder.rglob("*" + checks_plugin.CHECKS_SUFFIX))
    if not checks_files:
        return none_ran("no checks results (run `hw5 run` and submit results/<label>.json with its .checks.json)")
    path = checks_files[0]
    record_path = checks_plugin.record_path_for(path)
    try:  # a refused checks file costs the checks, not the written answers
        if not record_path.exists():
            raise HomeworkError(f"{path.name}: submitted without its run record {record_path.name}")
        return complete_checks(checks_plugin.read_checks(path, schema.read_record(record_path)), expected)
    except HomeworkError as exc:
        return none_ran(f"checks results refused: {str(exc).replace(str(folder) + '/', '')}")


def complete_checks(doc: dict, expected: List[Dict]) -> dict:
    """Every expected check appears: a check missing from the file is 'not run' with 0 points."""
    from . import gradescope

    present = {t["name"].split("[")[0] for t in doc["tests"]}
    missing = [c for c in expected if c["id"] not in present]
    if not missing:
        return doc
    tests = list(doc["tests"]) + [gradescope.test(c["id"], f"C{len(doc['tests']) + i}", 0, c["weight"],
                                                  "not run: missing from the checks results")
                                  for i, c in enumerate(missing, 1)]
    out = gradescope.results(tests, doc["execution_time"], doc["output"])
    if "extra_data" in doc:
        out["extra_data"] = doc["extra_data"]
    return out


def run(root: Path) -> dict:
    """Grade root/submission into root/results/results.json; never leaves without writing it."""
    from . import gradescope, grader

    started = time.perf_counter()
    source = Path(__file__).resolve().parents[2]
    out = root / "results" / "results.json"
    try:
        submission = find_submission(root / "submission")
        expected_file = source / "expected_checks.json"
        expected = json.loads(expected_file.read_text()) if expected_file.exists() else []
        grades = grader.grade_submission(submission, source / "answers" / "rubric.yaml")
        doc = grader.results_json(grades, _checks_part(root / "submission", expected))
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
