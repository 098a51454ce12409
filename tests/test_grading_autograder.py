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

from fabricated import honest
from homework import verdicts
from homework.cli import main
from homework.grading import checks_plugin, evidence, gradescope
from test_plausibility import real_record

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
        assert {"setup.sh", "run_autograder", "answers/rubric.yaml", "policy.json", "homework/verdicts.py", "homework/grading/grader.py"} <= set(names)
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
    assert len(checks) == len(verdicts.CHECKS) and all(t["score"] == 0 and t["status"] == "failed" for t in checks)
    assert "no run record" in doc["output"] and doc["score"] == 36


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


def _submit(root, record, checks=None, where="results"):
    shutil.copy(FIXTURES / "answers_full.yaml", root / "submission" / "answers.yaml")
    folder = root / "submission" / where
    folder.mkdir(exist_ok=True)
    (folder / "pc.json").write_text(json.dumps(record))
    if checks is not None:
        (folder / "pc.checks.json").write_text(json.dumps(checks))


def _checks(doc):
    return [t for t in doc["tests"] if t["number"].startswith("C")]


def test_the_checks_are_recomputed_from_the_record_and_listed_from_the_autograder(install):
    root = install()
    record = real_record(gpu=False)
    _submit(root, record)
    out = _run(root)
    checks = {t["name"].split(":")[0][len("check "):]: t for t in _checks(out)}
    assert set(checks) == {c.id for c in verdicts.CHECKS}
    assert checks["retrain.cpu_vs_gpu"]["score"] == 0 and "no GPU in this run" in checks["retrain.cpu_vs_gpu"]["output"]
    assert checks["retrain.cpu_vs_gpu"]["status"] == "failed"
    assert out["score"] == 36 + verdicts.total_weight() - 1


def test_a_forged_checks_file_earns_nothing_more(install):
    """Issue 19's forgery: a 500-point test and a weight raised to 50 in the uploaded checks file."""
    root = install()
    record = real_record(gpu=False)
    forged = gradescope.results([gradescope.test("check bonus: 500", "C1", 500, 500, "passed"),
                                 gradescope.test("check retrain.cpu_vs_gpu: x", "C2", 50, 50, "passed")], 1.0, "checks")
    forged["extra_data"] = {"run_id": record["run_id"]}
    _submit(root, record, forged)
    out = _run(root)
    assert out["score"] == 36 + verdicts.total_weight() - 1 and len(_checks(out)) == len(verdicts.CHECKS)
    assert "never counted" in out["output"] and "bonus" in out["output"]
    assert "says retrain.cpu_vs_gpu passed; recomputed from the record it not run" in out["output"]


def test_deleting_the_checks_file_changes_nothing(install, tmp_path, autograder_zip):
    record = real_record(gpu=False)
    with_file, without = install(), _install(tmp_path / "second", autograder_zip)
    _submit(with_file, record, checks_plugin.checks_results(record, "results/pc.json"))
    _submit(without, record)
    a, b = _run(with_file), _run(without)
    assert a["score"] == b["score"] and [t["score"] for t in a["tests"]] == [t["score"] for t in b["tests"]]


def test_an_embedded_submission_earns_no_check_points_unless_staff_accept_embedded(install, tmp_path):
    root = install()
    _submit(root, honest())
    out = _run(root)
    assert out["score"] == 36 and all(t["score"] == 0 for t in _checks(out))
    assert evidence.EMBEDDED_REASON in out["output"]
    dry = tmp_path / "dry.zip"
    assert main(["autograder", "-o", str(dry), "--accept-profile", "embedded"]) == 0
    root = _install(tmp_path / "dry", dry)
    _submit(root, honest())
    assert _run(root)["score"] == 36 + verdicts.total_weight()


def test_an_inconsistent_record_is_refused_with_its_reason_and_the_answers_still_count(install):
    root = install()
    record = real_record()
    record["tasks"]["mnist"]["metrics"]["cnn"]["test_accuracy_per_seed"] = [0.999, 0.999, 0.999]
    _submit(root, record, where=".")
    out = _run(root)
    assert out["score"] == 36 and "not consistent" in out["output"] and "seed 0 test accuracy 0.999" in out["output"]


def test_a_record_that_cannot_be_read_costs_the_checks_not_the_answers(install):
    root = install()
    _submit(root, real_record())
    (root / "submission" / "results" / "pc.json").write_text('{"schema_version": 2, "tasks": ')
    out = _run(root)
    assert out["score"] == 36 and "run record refused" in out["output"] and "not valid JSON" in out["output"]


def test_the_zip_of_hw5_submit_is_read_by_its_manifest(install, tmp_path):
    """The zip `hw5 submit` writes, unpacked as Gradescope unpacks it, beside a large README."""
    record = tmp_path / "pc.json"
    shutil.copy(FIXTURES / "record_embedded.json", record)  # a real run's record (embedded: no check points by default)
    shutil.copy(FIXTURES / "writeups" / "numbered_bold_dash.md", tmp_path / "my_answers.md")
    assert main(["submit", "--answers", str(tmp_path / "my_answers.md"), "--record", str(record), "-o", str(tmp_path / "s.zip")]) == 0
    root = install()
    with zipfile.ZipFile(tmp_path / "s.zip") as zf:
        zf.extractall(root / "submission")
    (root / "submission" / "README.md").write_text("# My project\n\n" + "Notes about the repository. " * 800)
    out = _run(root)
    assert out["score"] == 36 and "named by manifest.json" in out["output"] and evidence.EMBEDDED_REASON in out["output"]
    listed = json.loads((root / "submission" / "manifest.json").read_text())["files"]
    answers = next(f["path"] for f in listed if f["role"] == "answers")
    (root / "submission" / answers).write_text("edited after the zip was made")
    out = _run(root)
    assert "manifest.json not used" in out["output"] and "changed after hw5 submit" in out["output"]


# -- hw5 grade of one submission: the zip hw5 submit writes, graded as Gradescope grades it -------------

def _submission_zip(tmp_path) -> Path:
    record = tmp_path / "pc.json"
    shutil.copy(FIXTURES / "record_embedded.json", record)
    shutil.copy(FIXTURES / "writeups" / "numbered_bold_dash.md", tmp_path / "my_answers.md")
    zpath = tmp_path / "s.zip"
    assert main(["submit", "--answers", str(tmp_path / "my_answers.md"), "--record", str(record), "--no-pdf", "-o", str(zpath)]) == 0
    return zpath


def _scores(doc):
    return [(t["name"], t["score"]) for t in doc["tests"]]


def test_hw5_grade_of_a_submission_zip_is_the_autograders_grade(install, tmp_path, autograder_zip):
    zpath = _submission_zip(tmp_path)
    root = install()
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(root / "submission")
    gradescope_doc = _run(root)
    assert main(["grade", str(zpath), "--json", str(tmp_path / "local.json")]) == 0
    local = json.loads((tmp_path / "local.json").read_text())
    assert _scores(local) == _scores(gradescope_doc) and local["score"] == gradescope_doc["score"] == 36
    assert evidence.EMBEDDED_REASON in local["output"] and "named by manifest.json" in local["output"]
    assert main(["grade", str(root / "submission"), "--json", str(tmp_path / "folder.json")]) == 0  # the unpacked folder: the same
    assert _scores(json.loads((tmp_path / "folder.json").read_text())) == _scores(gradescope_doc)
    assert main(["grade", str(zpath), "--accept-profile", "embedded", "--json", str(tmp_path / "dry.json")]) == 0
    dry = json.loads((tmp_path / "dry.json").read_text())
    assert gradescope.checks_score(dry) == sum(v.points for v in verdicts.judge_all(json.loads((tmp_path / "pc.json").read_text())))
    assert gradescope.checks_score(dry) > 0 and dry["score"] == 36 + gradescope.checks_score(dry)


def _zip(path: Path, members) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, data)
    return path


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16)
    return info


@pytest.mark.parametrize("members, expected", [
    ([("../escaped.md", "1. a")], "would land outside the folder"),
    ([("/abs/answers.md", "1. a")], "would land outside the folder"),
    ([("C:/answers.md", "1. a")], "would land outside the folder"),
    ([(_link("answers.md"), "/etc/passwd")], "is a link"),
    ([(f"f{i}.txt", "") for i in range(30)], "more than 20 files"),
    ([("answers.md", "0" * 100_000)], "unpacks to more than 20,000 bytes"),  # a zip bomb in miniature
])
def test_a_hostile_submission_zip_is_refused_in_one_line_and_nothing_escapes(tmp_path, capsys, monkeypatch, members, expected):
    from homework.grading import command

    monkeypatch.setattr(command, "MAX_ZIP_BYTES", 5_000)
    monkeypatch.setattr(command, "MAX_ZIP_FILES", 20)
    zpath = _zip(tmp_path / "s.zip", members)
    assert zpath.stat().st_size < 5_000  # under the zip's own size limit: refused for what it unpacks to
    assert main(["grade", str(zpath), "--json", str(tmp_path / "out.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(zpath) in err and expected in err, err
    assert not (tmp_path / "out.json").exists() and not (tmp_path.parent / "escaped.md").exists()


def test_a_file_that_is_not_a_zip_or_too_big_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    from homework.grading import command

    (tmp_path / "s.zip").write_bytes(b"%PDF-1.4 renamed")
    assert main(["grade", str(tmp_path / "s.zip")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a readable zip" in err and str(tmp_path / "s.zip") in err
    monkeypatch.setattr(command, "MAX_ZIP_BYTES", 10)
    assert main(["grade", str(tmp_path / "s.zip")]) == 2
    assert "over the 10-byte limit for a submission zip" in capsys.readouterr().err


def test_a_class_folder_grades_each_student_folder_under_the_staff_policy(tmp_path):
    folder = tmp_path / "class"
    for student in ("alice", "bob"):
        (folder / student / "results").mkdir(parents=True)
        shutil.copy(FIXTURES / "answers_full.yaml", folder / student / "answers.yaml")
    (folder / "alice" / "results" / "pc.json").write_text(json.dumps(honest()))  # an embedded run
    (folder / "bob" / "results" / "pc.json").write_text(json.dumps(real_record(gpu=False)))
    for accept, alice_checks in ((None, 0), ("embedded", verdicts.total_weight())):
        out = tmp_path / f"grades-{accept}"
        assert main(["grade", str(folder), "-o", str(out), "-j", "1", *(["--accept-profile", accept] if accept else [])]) == 0
        rows = {r["submission"]: r for r in csv.DictReader((out / "class.csv").open())}
        assert float(rows["alice"]["checks"]) == alice_checks
        assert float(rows["bob"]["checks"]) == verdicts.total_weight() - 1
