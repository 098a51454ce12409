"""The checks' part of results.json, written at the end of `pytest checks/` from the run record:
recomputed by the verdicts exactly as the autograder recomputes it, never from test outcomes."""
import json

import pytest
from fabricated import honest
from homework import verdicts
from homework.grading import gradescope
from homework.grading.checks_plugin import ChecksResults, read_checks
from test_plausibility import real_record

pytestmark = pytest.mark.usefixtures("tensorflow_first")


def _session(pytester, tmp_path, record, folder="checks"):
    pytester.makepyfile(**{f"{folder}/test_demo": "def test_passes():\n    pass\n\ndef test_fails():\n    assert 1 == 2\n"})
    if record is not None:
        (tmp_path / "run.json").write_text(json.dumps(record))
    out = tmp_path / "run.checks.json"
    pytester.runpytest_inprocess("-p", "no:cacheprovider", plugins=[ChecksResults(out)]).assert_outcomes(passed=1, failed=1)
    return out


def test_the_checks_file_is_the_verdicts_of_the_record_not_the_test_outcomes(pytester, tmp_path):
    out = _session(pytester, tmp_path, real_record(gpu=False))
    doc = gradescope.validate(json.loads(out.read_text()))
    assert len(doc["tests"]) == len(verdicts.CHECKS) and "test_fails" not in out.read_text()
    assert doc["score"] == verdicts.total_weight() - 1 and doc["extra_data"]["run_id"] == "fabricated01"
    gpu = next(t for t in doc["tests"] if "retrain.cpu_vs_gpu" in t["name"])
    assert gpu["score"] == 0 and "no GPU in this run" in gpu["output"]


def test_an_embedded_run_shows_what_gradescope_will_give_it(pytester, tmp_path):
    out = _session(pytester, tmp_path, honest())
    doc = json.loads(out.read_text())
    assert doc["score"] == 0 and "embedded profile: stand-ins, not the homework" in doc["output"]


def test_no_record_writes_nothing(pytester, tmp_path):
    assert not _session(pytester, tmp_path, None).exists()


def test_a_session_without_homework_checks_writes_nothing(pytester, tmp_path):
    assert not _session(pytester, tmp_path, honest(), folder="tests").exists()


def test_a_checks_file_of_another_run_is_refused_when_read(tmp_path):
    path = tmp_path / "run.checks.json"
    path.write_text(json.dumps(dict(gradescope.results([], 0, ""), extra_data={"run_id": "other"})))
    try:
        read_checks(path, {"run_id": "mine"})
    except Exception as exc:  # noqa: BLE001
        assert "belongs to run other" in str(exc)
    else:
        raise AssertionError("a foreign checks file was accepted")
