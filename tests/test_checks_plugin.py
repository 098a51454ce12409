"""The checks' part of results.json, written by a pytest plugin from outcomes only."""
import json

from homework.grading import gradescope
from homework.grading.checks_plugin import ChecksResults


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
