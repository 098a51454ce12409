"""pytest plugin: at the end of `pytest checks/`, the homework checks' part of Gradescope's
results.json, recomputed from the run record exactly as the autograder will recompute it.

The file (`<record>.checks.json`, beside the record) is a cache for the student's eyes: it
holds the verdicts of homework/verdicts.py applied to the record under the staff's default
policy, and names the run it belongs to. Nothing grades from it: `hw5 grade` and the
autograder recompute the verdicts from the record, and only compare with this file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .. import files, record as run_record
from ..errors import HomeworkError
from . import evidence, gradescope, inputs

CHECKS_SUFFIX = ".checks.json"
CHECKS_FOLDER = "checks"  # the folder of the pytest suites that execute the homework


def checks_path(record_path: Path) -> Path:
    return Path(record_path).with_suffix(CHECKS_SUFFIX)


def record_path_for(checks_file: Path) -> Path:
    """The run record beside a checks results file (the inverse of checks_path)."""
    checks_file = Path(checks_file)
    return checks_file.with_name(checks_file.name[: -len(CHECKS_SUFFIX)] + ".json")


def checks_results(record: dict, source: str) -> dict:
    """The checks' part as Gradescope will score it, with the run it belongs to."""
    doc = gradescope.checks_part(evidence.grade_record(record, source))
    doc["extra_data"] = {"run_id": record["run_id"], "record": Path(source).name,
                         "recomputed": "from the record by homework/verdicts.py; grading recomputes it again"}
    return doc


class ChecksResults:
    def __init__(self, out: Path, record_path: Optional[Path] = None):
        self.out = Path(out)
        self.record_path = Path(record_path) if record_path else record_path_for(self.out)
        self.summary = ""

    def pytest_sessionfinish(self, session, exitstatus):
        if not any(CHECKS_FOLDER in Path(str(item.fspath)).parts for item in getattr(session, "items", [])):
            return  # no homework check ran (pytest tests/, say): the record's checks file is left as it is
        try:
            doc = run_record.read(self.record_path) if self.record_path.exists() else None
        except HomeworkError as exc:
            self.summary = f"hw5: no checks results: {exc}"
            return
        if doc is None:
            return
        results = checks_results(doc, str(self.record_path))
        files.write_text(self.out, inputs.dumps(results))
        self.summary = f"hw5: {results['output'].splitlines()[0]} (written to {self.out})"

    def pytest_terminal_summary(self, terminalreporter):
        if self.summary:
            terminalreporter.write_line(self.summary)


def read_checks(path, record: Optional[dict]) -> dict:
    """A checks results file, refused when it belongs to another run than `record`. It is only
    ever compared with the verdicts recomputed from the record, never counted."""
    doc = gradescope.read(path)
    made_for = doc.get("extra_data", {}).get("run_id")
    if record is not None and made_for is not None and made_for != record.get("run_id"):
        raise HomeworkError(f"{path}: belongs to run {made_for}, not to the record's run {record.get('run_id')} (stale or from another record)")
    return doc
