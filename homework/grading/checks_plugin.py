"""pytest plugin: the homework checks' part of Gradescope's results.json.

Each test under checks/ becomes one Gradescope test worth its `weight` marker (default 1).
A check scores by its outcome only, never by what it wrote to stderr (TensorFlow warns
there). Written atomically at the end of the session, beside the run record.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict

from .. import files
from . import gradescope

DEFAULT_WEIGHT = 1.0


def checks_path(record_path: Path) -> Path:
    return Path(record_path).with_suffix(".checks.json")


class ChecksResults:
    def __init__(self, out: Path):
        self.out = Path(out)
        self.weights: Dict[str, float] = {}
        self.outcome: Dict[str, str] = {}
        self.message: Dict[str, str] = {}
        self.started = time.perf_counter()

    def pytest_collection_finish(self, session):
        for item in session.items:
            if Path(item.path).parent.name == "checks":
                marker = item.get_closest_marker("weight")
                self.weights[item.nodeid] = float(marker.args[0]) if marker else DEFAULT_WEIGHT

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
        ran = [nodeid for nodeid in self.weights if nodeid in self.outcome]
        if not ran:
            return
        tests = []
        for number, nodeid in enumerate(ran, start=1):
            weight, outcome = self.weights[nodeid], self.outcome[nodeid]
            if outcome == "skipped":
                tests.append(gradescope.test(nodeid, f"C{number}", 0, 0, f"skipped: {self.message[nodeid]}"))
            else:
                tests.append(gradescope.test(nodeid, f"C{number}", weight if outcome == "passed" else 0, weight,
                                             self.message.get(nodeid, outcome)))
        passed = sum(self.outcome[n] == "passed" for n in ran)
        doc = gradescope.results(tests, time.perf_counter() - self.started, f"homework checks: {passed} of {len(ran)} passed")
        files.write_json(self.out, doc)


def _one_line(report) -> str:
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if crash is not None:
        text = crash.message
    elif isinstance(report.longrepr, tuple):  # skip: (file, line, reason)
        text = report.longrepr[2]
    else:
        text = str(report.longrepr or "")
    first = text.strip().splitlines()[0] if text.strip() else report.outcome
    return first[:500]
