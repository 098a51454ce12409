"""Hostile inputs to `hw5 grade` and `hw5 report`: every one gets a one-line error naming the
file (or is graded correctly), never a traceback, a silent zero, an overwritten input or a
results.json that is not JSON."""
import codecs
import copy
import json
import math
import re
from pathlib import Path

import pytest

from homework import report
from homework.cli import main
from homework.grading import grader, submissions
from homework.grading.rubric import grade

FIXTURES = Path(__file__).parent / "fixtures"
FULL_MD = FIXTURES / "writeups" / "numbered_bold_dash.md"


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("hw5: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


# -- files that are not text ------------------------------------------------------------
@pytest.mark.parametrize("name, data, says", [
    ("writeup.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "is a PDF"),
    ("writeup.md", bytes(range(256)) * 8, "NUL bytes"),
    ("writeup.md", "1. What is TensorFlow? Google.".encode("utf-16-le"), "UTF-16 without a byte-order mark"),
    ("writeup.md", "Réponse: l'apprentissage".encode("latin-1"), "not UTF-8 text"),
    ("writeup.docx", b"PK\x03\x04" + b"\x00" * 40, "Word/ODF document"),
    ("answers.yaml", b"answers:\n  1:\n    answer: \"a\x00b\"\n", "NUL bytes"),
])
def test_files_that_are_not_text_get_a_clear_error(tmp_path, capsys, name, data, says):
    path = tmp_path / name
    path.write_bytes(data)
    err = _error(capsys, ["grade", str(path)])
    assert str(path) in err and says in err


def test_utf16_with_a_byte_order_mark_is_read(tmp_path, rubric):
    path = tmp_path / "writeup.md"
    path.write_bytes(codecs.BOM_UTF16_LE + FULL_MD.read_text().encode("utf-16-le"))
    assert grader.grade_submission(path).score == grader.grade_submission(FULL_MD).score


def test_inputs_over_the_size_limit_are_refused(tmp_path, capsys):
    path = tmp_path / "huge.md"
    path.write_text("word " * 500_000)
    assert "over the" in _error(capsys, ["grade", str(path)])


def test_a_directory_is_not_a_submission_to_read_as_text(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert "no submissions" in _error(capsys, ["grade", str(tmp_path / "empty")])


# -- answers.yaml: the YAML loader's errors, key types, nesting ----------------------------
@pytest.mark.parametrize("text, says", [
    ("answers:\n  1:\n    answer: \"a\x0cb\"\n", "not valid YAML"),
    ("answers:\n  [1, 2]: x\n", "a key must be a plain name or number, not a list"),
    ("answers:\n  {a: 1}: x\n", "not a mapping"),
    ("answers:\n  q1: a\n  Q1: b\n", "question 1 is given twice"),
    ("answers:\n  1: a\n  question 1: b\n", "question 1 is given twice"),
    ("answers:\n  010: a\n", "leading zero"),
    ("answers:\n  1: " + "[" * 500 + "]" * 500 + "\n", "nested too deeply"),
    ("answers:\n  1:\n    answer: " + "{a: " * 200 + "x" + "}" * 200 + "\n", "nested too deeply"),
    ("- " * 300 + "x\n", "nested too deeply"),
])
def test_yaml_errors_are_one_line(tmp_path, capsys, text, says):
    path = tmp_path / "answers.yaml"
    path.write_text(text)
    err = _error(capsys, ["grade", str(path)])
    assert str(path) in err and says in err


# -- patterns that must stay linear (each would take minutes if quadratic) -------------------
@pytest.mark.parametrize("text", [
    "\n" * 100_000,
    "Name:" + " -" * 50_000 + "x",
    "1. **What is TensorFlow?** - " + "<!--" * 20_000,
    "What is TensorFlow? " + "a" * 200_000,
    ("Question: what is it? " + "not " * 20 + "updated, " * 20 + "\n") * 1500,
], ids=["blank lines", "name line of dashes", "unclosed comments", "one long line", "repeated negations"])
def test_pathological_writeups_are_graded(tmp_path, text):
    path = tmp_path / "writeup.md"
    path.write_text(text)
    grades = grader.grade_submission(path)
    assert grades.score <= 2


# -- gaming -------------------------------------------------------------------------------
KEYWORDS = ("299, Mul, 14 million, 21 thousand, depthwise, bottleneck, Google, NVIDIA inference, open source, cached, "
            "pretrained, inception modules parallel, diverged, overshoot, few images, heavier, GPU faster, TensorBoard, "
            "1000 classes, fusion, not updated, penultimate, smaller steps, usable, 97%, 2x")


def _writeup(answer_for):
    text = FULL_MD.read_text().splitlines()
    out = []
    for line in text:
        if line[:3].strip().rstrip(".").isdigit() and "** - " in line:
            head = line.split("** - ")[0]
            out.append(f"{head}** - {answer_for(line)}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("answer", [KEYWORDS, "I don't know.\n<!-- " + KEYWORDS + " -->",
                                    "I don't know.<span style=\"display:none\">" + KEYWORDS + "</span>",
                                    "I don't know.\n\n[//]: # (" + KEYWORDS + ")",
                                    "I don't know.<font color=\"white\">" + KEYWORDS + "</font>"])
def test_a_keyword_list_or_hidden_text_earns_at_most_ten_percent(tmp_path, answer):
    path = tmp_path / "writeup.md"
    path.write_text(_writeup(lambda line: answer))
    grades = grader.grade_submission(path)
    assert grades.score <= 0.1 * grades.max_score


def test_a_copy_of_the_questions_earns_nothing(tmp_path, rubric):
    doc = {"answers": {q.id: {"answer": f"{q.text}\n{q.continues}"} for q in rubric.questions.values()}}
    path = tmp_path / "answers.yaml"
    path.write_text(json.dumps(doc))
    grades = grader.grade_submission(path)
    assert grades.score == 0 and all("repeats the question" in g.feedback for g in grades.questions)


@pytest.mark.parametrize("qid, answer, fact", [
    (13, "--input_layer=Mul or input --input_height=299 --input_width=299, and yes, TensorBoard shows it", "input_layer_mul"),
    (13, "--input_layer=Mul --input_height=299 or 229 --input_width=299 or 229; yes, TensorBoard shows the node", "size_299"),
    (1, "TensorFlow is an open-source machine learning library from Google or Facebook.", "google"),
])
def test_a_hedge_earns_nothing_for_the_fact_it_hedges(rubric, qid, answer, fact):
    g = grade(rubric.questions[qid], answer, list(rubric.questions.values()))
    assert fact not in g.found and any("hedges" in c or "expected" in c for c in g.contradictions)
    assert g.needs_review and any(r.startswith("contradicts: ") and "hedges" in r or "expected" in r for r in g.review)


def test_negation_is_not_the_fact(rubric):
    qs = list(rubric.questions.values())
    assert "frozen_not_updated" in grade(rubric.questions[6], "Frozen layers are not updated during training.", qs).found
    g = grade(rubric.questions[6], "Frozen layers are still updated during training.", qs)
    assert "frozen_not_updated" not in g.found and "frozen weights are updated" in g.feedback
    assert "google" not in grade(rubric.questions[1], "An open-source ML library; it is not made by Google.", qs).found


# -- records and checks files: one schema ----------------------------------------------------
def _record_cases(record):
    def mutate(fn):
        doc = copy.deepcopy(record)
        fn(doc)
        return json.dumps(doc)

    lr = lambda d: d["tasks"]["retrain_learning_rates"]  # noqa: E731
    return {
        "text accuracy": (mutate(lambda d: lr(d)["details"]["rates"]["0.01"].__setitem__("final_test_accuracy", "high")), "must be a number"),
        "zero throughput": (mutate(lambda d: lr(d)["timings"].__setitem__("bottleneck_images_per_s", 0)), "outside"),
        "negative time": (mutate(lambda d: lr(d)["timings"].__setitem__("training_s", -1)), "outside"),
        "accuracy above 1": (mutate(lambda d: lr(d)["details"]["rates"]["0.01"].__setitem__("final_test_accuracy", 7)), "outside"),
        "400 digits": (mutate(lambda d: lr(d)["timings"].__setitem__("training_s", 10 ** 400)), "finite number"),
        "NaN": (json.dumps(record).replace('"final_cross_entropy": 1.4', '"final_cross_entropy": NaN, "x": 1.4', 1), "NaN"),
        "not an object": ("[1, 2, 3]", "JSON object"),
        "deep": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    }


@pytest.mark.parametrize("case", ["text accuracy", "zero throughput", "negative time", "accuracy above 1", "400 digits",
                                  "NaN", "not an object", "deep", "latin-1", "directory"])
@pytest.mark.parametrize("command", ["grade", "report"])
def test_bad_records_are_one_line(tmp_path, capsys, record, case, command):
    path = tmp_path / "record.json"
    if case == "latin-1":
        path.write_bytes(json.dumps(record).replace("cpu-here", "cpu-\u00e9t\u00e9").encode("latin-1"))
        says = "not UTF-8"
    elif case == "directory":
        path.mkdir()
        says = "is a directory"
    else:
        text, says = _record_cases(record)[case]
        path.write_text(text)
    argv = (["grade", str(FULL_MD), "--record", str(path)] if command == "grade"
            else ["report", "--record", str(path), "--answers", str(FIXTURES / "answers_full.yaml"), "-o", str(tmp_path / "r.md")])
    err = _error(capsys, argv)
    assert str(path) in err and says in err
    assert not (tmp_path / "r.md").exists()


@pytest.mark.parametrize("checks, says", [
    ('{"score": NaN, "execution_time": 1, "output": "", "tests": []}', "NaN"),
    ('{"score": 1, "execution_time": 1, "output": "", "tests": [], "extra_data": {"run_id": "another-run"}}', "belongs to run another-run"),
])
def test_bad_or_foreign_checks_files_are_refused(tmp_path, capsys, record, checks, says):
    """A checks file is only ever compared with the verdicts; a broken or foreign one is still refused, in one line."""
    (tmp_path / "rec.json").write_text(json.dumps(record))
    (tmp_path / "rec.checks.json").write_text(checks)
    out = tmp_path / "results.json"
    err = _error(capsys, ["grade", str(FULL_MD), "--record", str(tmp_path / "rec.json"), "--json", str(out)])
    assert says in err and not out.exists()


def test_json_without_a_record_is_an_error_unless_written_only(tmp_path, capsys, record):
    out = tmp_path / "results.json"
    assert "give --record of the run" in _error(capsys, ["grade", str(FULL_MD), "--json", str(out)])
    assert main(["grade", str(FULL_MD), "--json", str(out), "--written-only"]) == 0
    doc = json.loads(out.read_text())
    assert len(doc["tests"]) == 13 and math.isfinite(doc["score"])


# -- outputs ----------------------------------------------------------------------------------
def test_outputs_refuse_directories_and_inputs(tmp_path, capsys, record):
    sub = tmp_path / "writeup.md"
    sub.write_text(FULL_MD.read_text())
    before = sub.read_bytes()
    assert "would overwrite it" in _error(capsys, ["grade", str(sub), "--json", str(sub), "--written-only"])
    assert sub.read_bytes() == before
    assert "is a directory" in _error(capsys, ["grade", str(sub), "--json", str(tmp_path), "--written-only"])
    (tmp_path / "rec.json").write_text(json.dumps(record))
    answers = tmp_path / "answers.yaml"
    answers.write_text((FIXTURES / "answers_full.yaml").read_text())
    assert "would overwrite it" in _error(capsys, ["report", "--record", str(tmp_path / "rec.json"), "--answers", str(answers), "-o", str(answers)])
    assert "is a directory" in _error(capsys, ["report", "--record", str(tmp_path / "rec.json"), "--answers", str(answers), "-o", str(tmp_path)])


# -- report.md ------------------------------------------------------------------------------
def test_report_escapes_setext_control_bidi_and_record_text(tmp_path, record, rubric):
    nasty = "Title\n===\nSub\n---\nnul\x00 esc\x1b[31m rlo\u202eevil\u202c zw\u200b"
    answers = submissions.Answers("x.yaml", "answers.yaml", {q: nasty for q in rubric.questions})
    doc = copy.deepcopy(record)
    doc["device_label"] = "<script>alert(1)</script>\u202e"
    doc["tasks"]["retrain_cpu_vs_gpu"]["details"]["legs"]["gpu"]["skipped"] = "**bold** <img src=x onerror=alert(1)>\n==="
    text = report.render([doc], answers, rubric, tmp_path / "report.md").markdown
    lines = text.splitlines()
    assert not any(line.strip("> ") in ("===", "---") for line in lines)
    assert not re.search(r"(?<!\\)<(script|img)|(?<!\\)\*(?<!\\)\*bold", text)
    for bad in ("\x00", "\x1b", "\u202e", "\u202c", "\u200b"):
        assert bad not in text
    assert r"U\+202E" in text and r"U\+001B" in text and r"\<script\>" in text


def test_device_labels_are_escaped_in_the_side_by_side_table(tmp_path, record, rubric):
    other = copy.deepcopy(record)
    other["device_label"] = "<b>tx2</b>|x"
    answers = submissions.Answers("x.yaml", "answers.yaml", {q: "" for q in rubric.questions})
    text = report.render([record, other], answers, rubric, tmp_path / "report.md").markdown
    assert "<b>" not in text.replace("\\<b\\>", "") and r"\<b\>tx2\<\/b\>\|x" in text


def test_a_text_file_with_no_question_is_not_a_silent_zero(tmp_path, capsys):
    path = tmp_path / "notes.md"
    path.write_text("Lab notes: installed TensorFlow, ran the scripts, everything worked.\n")
    assert main(["grade", str(path)]) == 0
    assert "none of the 13 questions was found" in capsys.readouterr().out


def test_a_terse_list_of_claims_is_an_answer_not_stuffing(rubric):
    qs = list(rubric.questions.values())
    g = grade(rubric.questions[3], "ImageNet: image database, 14,197,122 images, 21,841 classes, WordNet hierarchy", qs)
    assert g.score == 3 and "a terse list of phrases" in g.review
    g = grade(rubric.questions[10], "few images, many images, 90%, per class, accuracy", qs)
    assert g.score <= 0.2 * g.max_score and "a list of terms, not sentences" in g.review


def _gpu_leg_of_zero_seconds(r):
    legs = r["tasks"]["retrain_cpu_vs_gpu"]["details"]["legs"]
    legs["gpu"] = {**{k: 0.0 for k in legs["cpu"] if k.endswith("_s")}, "gpus_visible": 1, "stand_in": True, "steps_per_s": 100.0}
    r["tasks"]["retrain_cpu_vs_gpu"]["metrics"]["gpu_ran"] = True


MALFORMED = {  # records a hand edit or an older harness leaves behind (issue 20's five, and their cousins)
    "a GPU leg of zero seconds": _gpu_leg_of_zero_seconds,
    "curves of the wrong shape": lambda r: r["tasks"]["retrain_learning_rates"]["details"]["runs"][0]["details"].update(curves={"step": [0, 10], "cross_entropy": "lots"}),
    "curves as a list": lambda r: r["tasks"]["retrain_learning_rates"]["details"]["runs"][1]["details"].update(curves=[1, 2, 3]),
    "a missing leg": lambda r: r["tasks"]["retrain_cpu_vs_gpu"]["details"]["legs"].pop("cpu"),
    "versions given as a list": lambda r: r["provenance"].update(versions=["2.21", "3"]),
    "own-images rows as a mapping": lambda r: r["tasks"]["retrain_own_images"]["details"].update(rows={"3": 0.5}),
    "models as a list": lambda r: r["tasks"]["mnist"]["details"].update(models=["baseline"]),
}


@pytest.mark.parametrize("what", sorted(MALFORMED))
@pytest.mark.parametrize("command", ["grade", "report"])
def test_a_malformed_record_is_one_line_never_a_traceback(tmp_path, capsys, what, command):
    record = json.loads((FIXTURES / "record_embedded.json").read_text())
    MALFORMED[what](record)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(record))
    argv = (["grade", str(FIXTURES / "answers_full.yaml"), "--record", str(path)] if command == "grade"
            else ["report", "--record", str(path), "--answers", str(FIXTURES / "answers_full.yaml"), "-o", str(tmp_path / "r.md")])
    code = main(argv)  # an exception escaping here is the traceback a user would see
    err = capsys.readouterr().err
    assert code in (0, 2) and (code == 0 or (err.count("\n") == 1 and "hw5: error:" in err)), err
