"""pytest plugin: the homework checks' part of Gradescope's results.json.

Each test under checks/ becomes one Gradescope test worth its `weight` marker (default 1).
A check scores by its outcome only, never by what it wrote to stderr (TensorFlow warns
there). A check that did not run scores 0, never full marks: a checks file that failed to
import, a check deselected or cut short, each appears as "not run" with its reason. The
file names the run it belongs to (the record's run id), so `hw5 grade` refuses a checks
file from another run. Written atomically at the end of the session, beside the run record.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict, List, Optional

from .. import files
from ..errors import HomeworkError
from . import gradescope, inputs, schema

DEFAULT_WEIGHT = 1.0


CHECKS_SUFFIX = ".checks.json"


def checks_path(record_path: Path) -> Path:
    return Path(record_path).with_suffix(CHECKS_SUFFIX)


def record_path_for(checks_file: Path) -> Path:
    """The run record beside a checks results file (the inverse of checks_path)."""
    checks_file = Path(checks_file)
    return checks_file.with_name(checks_file.name[: -len(CHECKS_SUFFIX)] + ".json")


def _run_id(record_path: Optional[Path]) -> Optional[str]:
    try:
        doc = json.loads(Path(record_path).read_text()) if record_path else None
    except (OSError, ValueError):
        return None
    return doc.get("run_id") if isinstance(doc, dict) and isinstance(doc.get("run_id"), str) else None


class ChecksResults:
    def __init__(self, out: Path, record_path: Optional[Path] = None):
        self.out = Path(out)
        if record_path is None and self.out.name.endswith(CHECKS_SUFFIX):
            record_path = record_path_for(self.out)
        self.record_path = Path(record_path) if record_path else None
        self.weights: Dict[str, float] = {}
        self.outcome: Dict[str, str] = {}
        self.message: Dict[str, str] = {}
        self.broken: Dict[str, str] = {}  # checks file -> why it could not be collected
        self.started = time.perf_counter()

    @staticmethod
    def _is_check(path) -> bool:
        return Path(str(path)).parent.name == "checks"

    def pytest_collectreport(self, report):
        path = str(report.nodeid).split("::")[0]
        if report.failed and path.endswith(".py") and self._is_check(path):
            self.broken[path] = _one_line(report)

    def pytest_collection_modifyitems(self, session, config, items):
        self._add_items(items)

    def pytest_deselected(self, items):
        self._add_items(items)
        for item in items:
            self.message.setdefault(item.nodeid, "deselected (-k / -m): not run")

    def _add_items(self, items):
        for item in items:
            if self._is_check(item.path):
                marker = item.get_closest_marker("weight")
                self.weights.setdefault(item.nodeid, float(marker.args[0]) if marker else DEFAULT_WEIGHT)

    def pytest_runtest_logreport(self, report):
        if report.nodeid not in self.weights:
            return
        if report.failed:
            self.outcome[report.nodeid] = "failed"
            self.message.setdefault(report.nodeid, _one_line(report))
        elif report.skipped and self.outcome.get(report.nodeid) != "failed":
            self.outcome[report.nodeid] = "skipped"
            self.message[report.nodeid] = _one_line(report)
        elif report.when == "call" and report.passed:
            self.outcome.setdefault(report.nodeid, "passed")

    def pytest_sessionfinish(self, session, exitstatus):
        if not self.weights and not self.broken:
            return
        tests: List[dict] = []
        for nodeid, weight in self.weights.items():
            number = f"C{len(tests) + 1}"
            outcome = self.outcome.get(nodeid)
            if outcome == "skipped":
                tests.append(gradescope.test(nodeid, number, 0, 0, f"skipped: {self.message[nodeid]}"))
            elif outcome is None:
                why = self.message.get(nodeid, "did not run (the session stopped before it)")
                tests.append(gradescope.test(nodeid, number, 0, weight, f"not run: {why}"))
            else:
                tests.append(gradescope.test(nodeid, number, weight if outcome == "passed" else 0, weight,
                                             self.message.get(nodeid, outcome)))
        for path, why in sorted(self.broken.items()):
            tests.append(gradescope.test(path, f"C{len(tests) + 1}", 0, DEFAULT_WEIGHT,
                                         f"not run: the checks file did not import: {why}"))
        passed = sum(self.outcome.get(n) == "passed" for n in self.weights)
        doc = gradescope.results(tests, time.perf_counter() - self.started, f"homework checks: {passed} of {len(tests)} passed")
        run_id = _run_id(self.record_path)
        doc["extra_data"] = {"run_id": run_id, "record": self.record_path.name if self.record_path else None}
        files.write_text(self.out, inputs.dumps(doc))


def read_checks(path, record: Optional[dict]) -> dict:
    """The checks part of results.json, refused when it belongs to another run than `record`."""
    doc = schema.read_results(path)
    made_for = doc.get("extra_data", {}).get("run_id")
    if record is not None:
        if made_for is None:
            raise HomeworkError(f"{path}: names no run; it cannot be matched with record run {record.get('run_id')}")
        if made_for != record.get("run_id"):
            raise HomeworkError(f"{path}: belongs to run {made_for}, not to the record's run {record.get('run_id')} (stale or from another record)")
    return doc


def _one_line(report) -> str:
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if crash is not None:
        text = crash.message
    elif isinstance(report.longrepr, tuple):  # skip: (file, line, reason)
        text = report.longrepr[2]
    else:
        text = str(report.longrepr or "")
    lines = [line for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.lstrip().startswith("E ")]
    first = (errors[-1].lstrip()[2:] if errors else lines[0]) if lines else report.outcome
    return first.strip()[:500]
