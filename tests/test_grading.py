"""The written part: reading answers (YAML and free-form write-ups), rubric scores,
contradictions, consistency with the record, and Gradescope's results.json."""
import copy
import json
from pathlib import Path

import pytest

from homework.errors import HomeworkError
from homework.grading import consistency, gradescope, grader, submissions
from homework.grading.numbers import numbers
from homework.grading.rubric import Rubric, grade

FIXTURES = Path(__file__).parent / "fixtures"
WRITEUPS = FIXTURES / "writeups"
FULL = [2, 3, 3, 4, 2, 2, 3, 3, 3, 2, 3, 3, 3]


@pytest.mark.parametrize("name, expected", [
    ("numbered_bold_dash.md", FULL),
    ("nested_bullets.md", [2, 3, 1, 2.5, 2, 2, 3, 3, 3, 2, 3, 1, 3]),  # "Inception is bigger": half the deeper/heavier fact, as the TAs mark it
    ("question_then_paragraph.txt", FULL[:12] + [2]),
    ("headings.md", FULL),
    ("typos_in_questions.md", FULL),
    ("copied_unanswered.md", [0] * 13),
    ("partial.md", [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]),
    ("../answers_full.yaml", FULL),
    ("paraphrased_numbered.md", FULL),
    ("homework_text_inline.md", FULL),
    ("headings_paraphrased.md", FULL),
    ("table_of_answers.md", FULL),
    ("numbered_answers_only.md", FULL),  # "4. MobileNet is ...": no question text, the homework's own numbering  # | 1 | the answer |: found by its number, in order  # "## Question 4" + a paraphrase below it, "## Question 7" alone
])
def test_per_question_scores(rubric, name, expected):
    grades = grader.grade_submission(WRITEUPS / name)
    assert [g.score for g in grades.questions] == expected
    assert [g.max_score for g in grades.questions] == FULL


def test_every_question_found_by_its_text_in_every_shape(rubric):
    for name in ("numbered_bold_dash.md", "nested_bullets.md", "question_then_paragraph.txt", "headings.md",
                 "typos_in_questions.md", "copied_unanswered.md"):
        assert sorted(submissions.load(WRITEUPS / name, rubric).where) == list(range(1, 14)), name


def test_paraphrased_questions_are_found_by_numbering_and_order(rubric):
    answers = submissions.load(WRITEUPS / "paraphrased_numbered.md", rubric)
    assert sorted(answers.where) == list(range(1, 14))
    assert {q for q, how in answers.located.items() if how != "text"} == {4, 5, 10}
    assert answers.answers[4].startswith("MobileNet is built from depthwise") and answers.answers[10].startswith("I used three")
    grades = grader.grade_submission(WRITEUPS / "paraphrased_numbered.md")
    assert all(not grades.questions[q - 1].needs_review and grades.questions[q - 1].score == grades.questions[q - 1].max_score
               for q in (4, 5, 10))  # its numbering is the homework's and the content agrees: nothing to review


def test_partial_writeup_uses_its_own_numbering(rubric):
    answers = submissions.load(WRITEUPS / "partial.md", rubric)
    assert sorted(answers.where) == [1, 5, 13]  # its "1)" is question 13
    assert answers.answers[13].startswith("--input_layer=Mul") and answers.answers[5] == ""  # "TODO" is no answer
    assert all(not answers.answers[q] for q in range(2, 13) if q != 5)


def test_copied_questions_are_unanswered(rubric):
    grades = grader.grade_submission(WRITEUPS / "copied_unanswered.md")
    assert all(g.feedback == "unanswered" and not g.answered for g in grades.questions)
    assert "0 of 13 questions answered" in grader.table(grades)


def test_answers_stay_within_their_section(rubric):
    answers = submissions.load(WRITEUPS / "headings.md", rubric).answers
    assert "Appendix" not in answers[13] and "224" not in answers[13]
    assert answers[13].startswith("--input_layer=Mul") and "TensorBoard" in answers[13]
    assert "label_image --input_layer=???" not in answers[13]  # the copied command belongs to the question


def test_contradicting_number_is_named(rubric):
    g = grade(rubric.questions[13], "--input_layer=Mul --input_height=229 --input_width=229; yes, TensorBoard shows it")
    assert g.score == 2 and "229 where 299 is expected" in g.feedback
    g = grade(rubric.questions[13], "--input_layer=input --input_height=299 --input_width=299")
    assert "input_layer=input" in g.feedback and "input_layer_mul" not in g.found


@pytest.mark.parametrize("answer, points", [
    ("About 14 million images in 21-22 thousand categories, an image database built on WordNet.", 3),
    ("The ILSVRC subset: 1.2M images, 1,000 classes.", 2),
    ("An image dataset with 14,197,122 images and 21,841 synsets.", 3),
    ("A dataset with 10 million images and 500 classes.", 1),
])
def test_imagenet_numbers_with_tolerance(rubric, answer, points):
    assert grade(rubric.questions[3], answer).score == points


def test_number_reader():
    read = lambda text: [(n.value, n.unit) for n in numbers(text)]  # noqa: E731
    assert read("14 million, 21-22 thousand") == [(14e6, ""), (21e3, ""), (22e3, "")]
    assert read("1.2M and 1,000") == [(1.2e6, ""), (1000, "")]
    assert read("299x299") == [(299, ""), (299, "")]
    assert read("97.6% in 4.2 s, 3x faster, 500 steps") == [(97.6, "%"), (4.2, "s"), (3, "x"), (500, "step")]
    assert read("twice as fast") == [(2, "x")] and read("Inception v3") == []
    assert read("about fourteen million images in twenty-two thousand classes") == [(14e6, ""), (22e3, "")]


def _write(tmp_path, text):
    path = tmp_path / "answers.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("answers:\n  14:\n    answer: x\n", "answers.14: unknown question id"),
    ("answers:\n  1:\n    answer: a\n  1:\n    answer: b\n", "key '1' appears twice"),
    ("answers:\n  1:\n    answer: [a, b]\n", "answers.1.answer: must be text, got list"),
    ("answers:\n  13:\n    answer: yes\n", "answers.13.answer: YAML read a bare yes/no"),
    ("answers:\n  1:\n    answr: x\n", "answers.1: unknown key 'answr'"),
    ("studnt: x\nanswers: {}\n", "unknown key 'studnt'"),
    ("answers: [1, 2]\n", "needs an 'answers' mapping"),
    ("answers:\n  1: {answer: 'x'\n", "not valid YAML"),
])
def test_answers_yaml_errors_are_one_line_naming_file_and_key(tmp_path, rubric, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(HomeworkError) as err:
        submissions.load(path, rubric)
    assert str(path) in str(err.value) and message in str(err.value) and "\n" not in str(err.value)


def test_shipped_skeleton_matches_the_rubric(rubric):
    import yaml

    doc = yaml.safe_load(Path("answers/answers.yaml").read_text())
    assert {q: doc["answers"][q]["question"] for q in doc["answers"]} == {q.id: q.text for q in rubric.questions.values()}
    answers = submissions.load("answers/answers.yaml", rubric)
    assert set(answers.answers) == set(range(1, 14)) and not any(answers.answers.values())


def test_consistency_flags_against_the_record(rubric, record):
    assert consistency.flags(8, "Both rates reached 19% test accuracy.", record) == []
    flagged = consistency.flags(8, "The low rate reached 99% accuracy.", record)
    assert len(flagged) == 1 and "claims 99%" in flagged[0] and "19%" in flagged[0]
    no_gpu = consistency.flags(11, "The GPU was twice as fast.", record)
    assert len(no_gpu) == 1 and "no GPU leg" in no_gpu[0]
    with_gpu = copy.deepcopy(record)
    task = with_gpu["tasks"]["retrain_cpu_vs_gpu"]
    task["metrics"]["gpu_ran"] = True
    task["details"]["legs"]["gpu"] = {k: v / 1.1 for k, v in task["details"]["legs"]["cpu"].items() if k.endswith("_s")}
    assert "1.1x" in consistency.flags(11, "The GPU was twice as fast.", with_gpu)[0]
    assert consistency.flags(11, "The GPU was only 1.1x faster.", with_gpu) == []


def test_results_json_has_the_documented_fields(tmp_path):
    from fabricated import edited
    from homework import verdicts
    from homework.cli import main
    from test_plausibility import real_record

    record = edited(real_record(), lambda r: r["tasks"].pop("retrain_own_images"))
    (tmp_path / "rec.json").write_text(json.dumps(record))
    out = tmp_path / "results.json"
    assert main(["grade", str(WRITEUPS / "partial.md"), "--record", str(tmp_path / "rec.json"), "--json", str(out)]) == 0
    doc = gradescope.validate(json.loads(out.read_text()))
    assert set(doc) == {"score", "execution_time", "output", "tests"}
    assert [t["number"] for t in doc["tests"]] == [f"Q{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, len(verdicts.CHECKS) + 1)]
    own = next(t for t in doc["tests"] if "retrain.own_images" in t["name"])
    assert own["score"] == 0 and own["status"] == "failed" and "not run: task 'retrain_own_images' is not in the record" in own["output"]
    assert doc["score"] == 5 + verdicts.total_weight() - 1
    allowed = set(gradescope.TEST_FIELDS) | set(gradescope.OPTIONAL_TEST)
    assert all(set(gradescope.TEST_FIELDS) <= set(t) <= allowed for t in doc["tests"])
    assert all(isinstance(t["extra_data"]["confidence"], float) for t in doc["tests"][:13])
    with pytest.raises(HomeworkError, match="undocumented field 'extra'"):
        gradescope.validate(dict(doc, extra=1))


def test_rubric_errors_name_the_file(tmp_path):
    bad = tmp_path / "rubric.yaml"
    bad.write_text("questions:\n  1:\n    text: q\n    facts:\n      - {id: a, match: '(unclosed'}\n")
    with pytest.raises(HomeworkError, match=r"rubric.yaml: questions.1.facts\[0\]: bad pattern"):
        Rubric.load(bad)
