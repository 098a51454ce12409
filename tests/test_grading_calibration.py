"""Agreement with a TA on the calibration set (tests/calibration/answers.yaml)."""
import pytest

from homework.cli import main
from homework.grading import calibration


@pytest.fixture(scope="module")
def result():
    return calibration.run("answers/rubric.yaml")


def test_grader_agrees_with_the_ta(result):
    assert len(result.cases) >= 8 * 13
    assert all(len(cases) >= 8 for cases in result.by_question().values()) and len(result.by_question()) == 13
    assert result.mae(result.cases) <= calibration.MAX_MAE, result.table()


def test_stuffed_copied_or_hidden_answers_earn_at_most_ten_percent(result):
    assert result.gamed_share <= calibration.MAX_GAMED_SHARE, result.table()


def test_whole_writeups_total_within_ten_percent_and_no_answer_missed(result):
    assert result.writeups and {w.shape for w in result.writeups} == set(calibration.SHAPES)
    assert max(abs(w.score - w.ta) for w in result.writeups) <= 3.6
    assert sum(w.unanswered for w in result.writeups) == 0


def test_every_kind_the_issue_names_is_in_the_set():
    kinds = {}
    for case in calibration.load_set(calibration.DEFAULT_SET):
        kinds.setdefault(case["question"], set()).add(case["kind"])
    needed = {"partly_right", "wrong", "off_topic", "keyword_stuffed", "hedged"}
    for qid, found in kinds.items():
        assert needed <= found and found & {"right_other_words"}, (qid, needed - found)


def test_calibrate_command_prints_the_table(capsys, tmp_path, result):
    assert "PASS" in result.table() and result.table().count("\n") > 14
    small = tmp_path / "set.yaml"  # the command itself, on a set small enough to be quick
    small.write_text("questions:\n  13:\n    - {kind: right, ta: 3, why: all, answer: \"--input_layer=Mul --input_height=299 "
                     "--input_width=299; yes, TensorBoard shows the Mul node\"}\n"
                     "    - {kind: keyword_stuffed, ta: 0, why: terms, answer: \"Mul, input, 224, 299, TensorBoard, yes, no\"}\n")
    assert main(["grade", "--calibrate", "--calibration-set", str(small)]) == 0
    out = capsys.readouterr().out
    assert "MAE 0.00" in out and "PASS" in out
