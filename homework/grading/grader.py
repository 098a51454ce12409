"""Grade a submission: read it, score every question against the rubric, flag claims the
run record contradicts, and shape the outcome as a terminal table and Gradescope JSON."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from .. import record as run_record
from . import consistency, gradescope, submissions
from .rubric import DEFAULT_RUBRIC, QuestionGrade, Rubric, grade


@dataclass(frozen=True)
class Grades:
    submission: submissions.Answers
    questions: List[QuestionGrade]
    seconds: float

    @property
    def score(self) -> float:
        return sum(g.score for g in self.questions)

    @property
    def max_score(self) -> float:
        return sum(g.max_score for g in self.questions)


def grade_submission(path, rubric_path=DEFAULT_RUBRIC, record_path=None) -> Grades:
    started = time.perf_counter()
    rubric = Rubric.load(rubric_path)
    answers = submissions.load(path, rubric)
    record = run_record.read(record_path) if record_path else None
    graded = []
    others = list(rubric.questions.values())
    for q in rubric.questions.values():
        g = grade(q, answers.answers[q.id], others)
        if record is not None and g.answered:
            g = dataclasses.replace(g, flags=tuple(consistency.flags(q.id, g.answer, record)))
        graded.append(g)
    return Grades(answers, graded, time.perf_counter() - started)


def table(grades: Grades) -> str:
    rows = [f"{'Q':>3}  {'score':>9}  feedback"]
    for g in grades.questions:
        feedback = g.feedback + "".join(f" | consistency: {flag}" for flag in g.flags)
        rows.append(f"{g.id:>3}  {g.score:>4g} / {g.max_score:<3g}  {feedback}")
    answered = sum(g.answered for g in grades.questions)
    rows.append(f"total {grades.score:g} / {grades.max_score:g}; {answered} of {len(grades.questions)} questions answered "
                f"({grades.submission.kind}: {grades.submission.source})")
    return "\n".join(rows)


def results_json(grades: Grades, checks: Optional[dict] = None) -> dict:
    answered = sum(g.answered for g in grades.questions)
    written = gradescope.results([gradescope.question_test(g) for g in grades.questions], grades.seconds,
                                 f"written answers: {grades.score:g} / {grades.max_score:g}, {answered} answered "
                                 f"({Path(grades.submission.source).name})")
    return gradescope.merge(written, checks) if checks else written
