"""The checks' part of results.json, written by a pytest plugin from outcomes only."""
import json

import pytest

from homework.grading import gradescope
from homework.grading.checks_plugin import ChecksResults

pytestmark = pytest.mark.usefixtures("tensorflow_first")


def test_checks_part_of_results_json(pytester, tmp_path):
    pytester.makepyfile(**{"checks/test_demo": """
        import sys
        import pytest

        @pytest.mark.weight(3)
        def test_heavy():
            print("warning: TensorFlow noise", file=sys.stderr)  # stderr never decides a score

        def test_fails():
            assert 1 == 2, "challenger did not beat the baseline"

        def test_skipped():
            pytest.skip("no GPU visible to TensorFlow")
    """, "other/test_not_a_check": "def test_x():\n    pass\n"})
    pytester.makeini("[pytest]\nmarkers =\n    weight(points): points\n")
    out = tmp_path / "run.checks.json"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", plugins=[ChecksResults(out)])
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    doc = gradescope.validate(json.loads(out.read_text()))
    tests = {t["name"].split("::")[1]: t for t in doc["tests"]}
    assert set(tests) == {"test_heavy", "test_fails", "test_skipped"}
    assert (tests["test_heavy"]["score"], tests["test_heavy"]["max_score"], tests["test_heavy"]["status"]) == (3, 3, "passed")
    assert tests["test_fails"]["score"] == 0 and tests["test_fails"]["status"] == "failed"
    assert "challenger did not beat the baseline" in tests["test_fails"]["output"]
    assert tests["test_skipped"]["max_score"] == 0 and "no GPU visible" in tests["test_skipped"]["output"]
    assert doc["score"] == 3 and doc["output"] == "homework checks: 1 of 3 passed"


def _run(pytester, tmp_path, files, *args):
    pytester.makepyfile(**files)
    pytester.makeini("[pytest]\nmarkers =\n    weight(points): points\n")
    out = tmp_path / "run.checks.json"
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "run-42"}))
    pytester.runpytest_inprocess("-p", "no:cacheprovider", *args, plugins=[ChecksResults(out)])
    return gradescope.validate(json.loads(out.read_text()))


def test_a_checks_file_that_fails_to_import_is_not_run_never_passed(pytester, tmp_path):
    doc = _run(pytester, tmp_path, {"checks/test_ok": "def test_ok():\n    pass\n",
                                    "checks/test_broken": "import no_such_module_hw5\n\ndef test_x():\n    pass\n"},
               "--continue-on-collection-errors")
    broken = [t for t in doc["tests"] if "test_broken" in t["name"]]
    assert len(broken) == 1 and broken[0]["score"] == 0 and broken[0]["max_score"] == 1 and broken[0]["status"] == "failed"
    assert "not run" in broken[0]["output"] and "no_such_module_hw5" in broken[0]["output"]
    assert doc["output"] == "homework checks: 1 of 2 passed" and doc["extra_data"]["run_id"] == "run-42"


def test_a_deselected_check_appears_with_zero_points(pytester, tmp_path):
    doc = _run(pytester, tmp_path, {"checks/test_two": "def test_a():\n    pass\n\ndef test_b():\n    pass\n"}, "-k", "test_a")
    tests = {t["name"].split("::")[1]: t for t in doc["tests"]}
    assert tests["test_b"]["score"] == 0 and tests["test_b"]["max_score"] == 1 and "not run: deselected" in tests["test_b"]["output"]
    assert tests["test_a"]["status"] == "passed"
