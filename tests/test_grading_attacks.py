"""The write-ups issue 20 tried the grader with: confidently wrong answers in the course's words,
keywords hidden in link targets, answers numbered from an introduction, answers.yaml keys shifted by
one, another language, and what Gradescope is handed beside the answers. Each is built here from
the fixtures, so the test says what the attack is."""
import json
import re
import shutil
from pathlib import Path

import pytest

from homework.cli import main
from homework.grading import bundle, grader
from homework.grading.rubric import Rubric

FIXTURES = Path(__file__).parent / "fixtures"
WRITEUPS = FIXTURES / "writeups"


@pytest.fixture(scope="module")
def rubric():
    return Rubric.load("answers/rubric.yaml")


def graded(path, rubric):
    return grader.grade_submission(path, rubric=rubric)


def test_a_confidently_wrong_writeup_scores_little_and_its_wrong_answers_are_flagged(rubric):
    """Fluent, in the course's vocabulary, and wrong on every question (tests/fixtures/attacks/confidently_wrong.md)."""
    g = graded(FIXTURES / "attacks" / "confidently_wrong.md", rubric)
    assert g.score <= 8, [(q.id, q.score) for q in g.questions]
    flagged = [q for q in g.questions if q.needs_review]
    assert len(flagged) >= 0.8 * len(g.questions), [(q.id, q.feedback) for q in g.questions if not q.needs_review]
    assert not [q.id for q in g.questions if q.score >= q.max_score / 2 and not q.needs_review]
    four = g.questions[3]
    assert four.score == 0 and any("GoogleNet's convolutions are depthwise separable" in c for c in four.contradictions)


def _answers_only(path: Path) -> list:
    """The answers of a write-up numbered 1-13, in order."""
    text = path.read_text()
    parts = re.split(r"^(\d{1,2})\. ", text, flags=re.MULTILINE)
    return [parts[i + 1].strip() for i in range(1, len(parts), 2)]


def test_keywords_in_link_targets_earn_nothing(tmp_path, rubric):
    answers = _answers_only(WRITEUPS / "numbered_answers_only.md")
    hidden = "\n\n".join(f"{n}. See [my notes](https://notes.example/{re.sub(r'[^A-Za-z0-9]+', '-', a)[:300]}) "
                         f"and ![{a[:200]}](figure{n}.png)" for n, a in enumerate(answers, 1))
    path = tmp_path / "links.md"
    path.write_text("# Homework 5\n\n" + hidden + "\n")
    assert graded(path, rubric).score <= 3.6


def test_answers_numbered_after_an_introduction_are_placed_by_content(tmp_path, rubric):
    source = WRITEUPS / "numbered_answers_only.md"
    answers = _answers_only(source)
    shifted = ["1. Introduction\n\nI did the homework on a Jetson Orin Nano in NVIDIA's container. Below are my answers."]
    shifted += [f"{n + 1}. {a}" for n, a in enumerate(answers, 1)]
    shifted += [f"{len(answers) + 2}. Conclusion\n\nThis homework took about six hours."]
    path = tmp_path / "intro.md"
    path.write_text("# HW5\n\n" + "\n\n".join(shifted) + "\n")
    straight, moved = graded(source, rubric), graded(path, rubric)
    assert moved.score >= 30 / 36 * straight.score, [(q.id, q.score) for q in moved.questions]
    assert all(any("numbering shifted by 1" in r for r in q.review) for q in moved.questions if q.answered)


def test_answers_yaml_shifted_by_one_key_is_flagged_and_scored_as_placed(tmp_path, rubric):
    answers = _answers_only(WRITEUPS / "numbered_answers_only.md")
    lines = ["answers:"] + [f"  {n}:\n    answer: {json.dumps(a)}" for n, a in enumerate(answers[1:], 1)]
    path = tmp_path / "answers.yaml"
    path.write_text("\n".join(lines) + "\n")
    g = graded(path, rubric)
    assert g.score <= 8
    answered = [q for q in g.questions if q.answered]
    assert answered and all(any("look shifted by one key" in r for r in q.review) for q in answered)


SPANISH = """# Tarea 5

Pregunta 1: TensorFlow es una biblioteca de código abierto para el aprendizaje automático, y Google es el principal contribuyente del proyecto.

Pregunta 2: TensorRT es el SDK de NVIDIA para la inferencia de alto rendimiento en las GPU; no sirve para entrenar, solo para ejecutar los modelos ya entrenados.

Pregunta 3: ImageNet es una base de datos de imágenes con unos 14 millones de imágenes y unas 22 mil categorías organizadas según WordNet.
"""


def test_an_answer_in_another_language_is_flagged_for_review_not_unanswered(tmp_path, rubric):
    path = tmp_path / "respuestas.md"
    path.write_text(SPANISH)
    g = graded(path, rubric)
    for q in g.questions[:3]:
        assert q.answered and any(r.startswith("language: reads as Spanish") for r in q.review), (q.id, q.review)


def _bundle(folder):
    rubric = Rubric.load("answers/rubric.yaml")
    return bundle.read_folder(folder, lambda p: grader.answered_count(p, rubric))


def test_gradescope_reads_answers_md_beside_a_larger_readme(tmp_path):
    shutil.copy(WRITEUPS / "numbered_bold_dash.md", tmp_path / "answers.md")
    (tmp_path / "README.md").write_text("# My project\n\n" + "How I set up the Jetson. " * 600)
    found = _bundle(tmp_path)
    assert found.answers == tmp_path / "answers.md" and "by its name" in found.chosen_by


def test_gradescope_picks_the_writeup_that_answers_most_not_the_largest(tmp_path):
    shutil.copy(WRITEUPS / "numbered_bold_dash.md", tmp_path / "hw5_jordan.md")
    (tmp_path / "notes.md").write_text("# Notes\n\n" + "Commands I ran on the board. " * 900)
    found = _bundle(tmp_path)
    assert found.answers == tmp_path / "hw5_jordan.md" and "answering the most questions (13" in found.chosen_by


@pytest.mark.parametrize("name, data, says", [
    ("writeup.pdf", b"%PDF-1.4 ...", "a PDF"),
    ("writeup.docx", b"PK\x03\x04 ...", "a Word document"),
    ("screenshot.png", b"\x89PNG ...", "an image"),
])
def test_an_ungradable_format_gets_one_line_naming_it_and_what_to_upload(tmp_path, name, data, says):
    (tmp_path / name).write_bytes(data)
    found = _bundle(tmp_path)
    assert found.answers is None and says in found.problem and "answers.yaml" in found.problem and "\n" not in found.problem


def test_a_notebook_is_graded(tmp_path):
    cells = [{"cell_type": "markdown", "source": part} for part in (WRITEUPS / "numbered_bold_dash.md").read_text().split("\n\n")]
    cells.insert(1, {"cell_type": "code", "source": "print('hello')", "outputs": []})
    (tmp_path / "homework.ipynb").write_text(json.dumps({"cells": cells, "nbformat": 4}))
    found = _bundle(tmp_path)
    assert found.answers == tmp_path / "homework.ipynb"
    assert graded(found.answers, Rubric.load("answers/rubric.yaml")).score == 36


def test_class_grading_counts_students_and_names_them(tmp_path, capsys):
    """A Gradescope export: submission_<id>/ folders and submission_metadata.yml naming who submitted each."""
    export = tmp_path / "export"
    alice = export / "submission_101"
    alice.mkdir(parents=True)
    shutil.copy(FIXTURES / "answers_full.yaml", alice / "answers.yaml")
    (alice / "README.md").write_text("# notes\n")
    (alice / "hw5.yaml").write_text("training_steps: 4000\n")
    bob = export / "submission_102"
    bob.mkdir()
    shutil.copy(WRITEUPS / "headings.md", bob / "writeup.md")
    (export / "submission_metadata.yml").write_text(
        "submission_101:\n  :submitters:\n  - :name: Alice Ng\n    :email: alice@example.edu\n"
        "submission_102:\n  :submitters:\n  - :name: Bob Ray\n")
    out = tmp_path / "grades"
    assert main(["grade", str(export), "-o", str(out), "-j", "1"]) == 0
    rows = (out / "class.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("submission,student,score")
    assert rows[1].startswith("submission_101,Alice Ng,36") and rows[2].startswith("submission_102,Bob Ray,36")
    capsys.readouterr()
