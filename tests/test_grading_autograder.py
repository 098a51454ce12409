"""The Gradescope autograder zip, run against a temporary /autograder root, and class grading."""
import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from homework.cli import main
from homework.grading import autograder, gradescope

FIXTURES = Path(__file__).parent / "fixtures"

# Gradescope's documented results.json fields (gradescope-autograders.readthedocs.io, "Autograder Specifications")
DOCUMENTED_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
DOCUMENTED_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                   "tags", "visibility", "extra_data"}


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    zpath = tmp_path_factory.mktemp("zip") / "autograder.zip"
    assert main(["autograder", "-o", str(zpath)]) == 0
    return zpath


@pytest.fixture
def install(tmp_path, autograder_zip):
    return lambda: _install(tmp_path, autograder_zip)


def _install(tmp_path, zpath) -> Path:
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder", "answers/rubric.yaml", "expected_checks.json", "homework/grading/grader.py"} <= set(names)
        assert (zf.getinfo("run_autograder").external_attr >> 16) & 0o111
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    return root


def _run(root: Path) -> dict:
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    subprocess.run(["bash", str(root / "run_autograder")], env=env, check=True, capture_output=True, timeout=120)
    doc = json.loads((root / "results" / "results.json").read_text())
    assert set(doc) <= DOCUMENTED_TOP and all(set(t) <= DOCUMENTED_TEST for t in doc["tests"])
    assert isinstance(doc["score"], (int, float)) and isinstance(doc["execution_time"], (int, float))
    for t in doc["tests"]:
        assert 0 <= t["score"] <= t["max_score"] or t["max_score"] == 0
        assert t["status"] in ("passed", "failed") and t["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
    return gradescope.validate(doc)


def test_run_autograder_grades_a_writeup_into_results_json(install):
    root = install()
    shutil.copy(FIXTURES / "writeups" / "numbered_bold_dash.md", root / "submission" / "hw5.md")
    doc = _run(root)
    questions = [t for t in doc["tests"] if t["number"].startswith("Q")]
    checks = [t for t in doc["tests"] if t["number"].startswith("C")]
    assert len(questions) == 13 and sum(t["score"] for t in questions) == 36
    expected = json.loads((root / "source" / "expected_checks.json").read_text())
    assert len(checks) == len(expected) > 0 and all(t["score"] == 0 and "not run" in t["output"] for t in checks)
    assert doc["score"] == 36


def test_run_autograder_writes_results_json_even_when_it_cannot_grade(install):
    root = install()
    (root / "submission" / "hw5.md").write_bytes(b"\x00\x01binary\x00")
    doc = _run(root)
    assert doc["score"] == 0 and doc["tests"] == [] and doc["output"].startswith("Not graded:") and "NUL bytes" in doc["output"]


def test_a_class_folder_is_graded_in_parallel(tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    names = ["numbered_bold_dash.md", "partial.md", "copied_unanswered.md", "headings.md"]
    for name in names:
        shutil.copy(FIXTURES / "writeups" / name, folder / name)
    (folder / "broken.md").write_bytes(b"%PDF-1.4 not a write-up")
    out = tmp_path / "grades"
    assert main(["grade", str(folder), "-o", str(out), "-j", "2"]) == 0
    rows = {r["submission"]: r for r in csv.DictReader((out / "class.csv").open())}
    assert set(rows) == {Path(n).stem for n in names} | {"broken"}
    assert float(rows["numbered_bold_dash"]["score"]) == 36 and float(rows["copied_unanswered"]["score"]) == 0
    assert "is a PDF" in rows["broken"]["error"]
    for name in names:
        gradescope.validate(json.loads((out / f"{Path(name).stem}.results.json").read_text()))
    summary = (out / "summary.md").read_text()
    assert "4 of 5 submissions graded" in summary and "score_distribution.png" in summary and "## Needs review" in summary
    assert (out / "score_distribution.png").read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    assert main(["grade", str(folder), "--json", str(tmp_path / "one.json")]) == 2  # one results.json cannot hold a class
    assert "--out-dir" in capsys.readouterr().err and not (tmp_path / "one.json").exists()


def _checks_doc(run_id, passed=True):
    expected = autograder.expected_checks(Path(__file__).parent.parent / "checks")
    first = expected[0]
    tests = [gradescope.test(first["id"], "C1", first["weight"] if passed else 0, first["weight"], "ok")]
    doc = gradescope.results(tests, 1.0, "homework checks: 1 of 1 passed")
    doc["extra_data"] = {"run_id": run_id, "record": "pc.json"}
    return doc, expected


def test_run_autograder_merges_the_submitted_checks_and_lists_the_rest_as_not_run(install, record):
    root = install()
    shutil.copy(FIXTURES / "answers_full.yaml", root / "submission" / "answers.yaml")
    (root / "submission" / "results").mkdir()
    (root / "submission" / "results" / "pc.json").write_text(json.dumps(record))
    doc, expected = _checks_doc(record["run_id"])
    (root / "submission" / "results" / "pc.checks.json").write_text(json.dumps(doc))
    out = _run(root)
    checks = [t for t in out["tests"] if t["number"].startswith("C")]
    assert len(checks) == len(expected) and checks[0]["status"] == "passed" and checks[0]["score"] == expected[0]["weight"]
    assert all(t["score"] == 0 and t["output"].startswith("not run") for t in checks[1:])
    assert out["score"] == 36 + expected[0]["weight"]


def test_run_autograder_refuses_checks_from_another_run(install, record):
    root = install()
    shutil.copy(FIXTURES / "answers_full.yaml", root / "submission" / "answers.yaml")
    (root / "submission" / "pc.json").write_text(json.dumps(record))
    doc, _ = _checks_doc("some-other-run")
    (root / "submission" / "pc.checks.json").write_text(json.dumps(doc))
    out = _run(root)
    checks = [t for t in out["tests"] if t["number"].startswith("C")]
    assert out["score"] == 36 and "belongs to run some-other-run" in out["output"]  # the written answers still count
    assert checks and all(t["score"] == 0 and "refused" in t["output"] for t in checks)
