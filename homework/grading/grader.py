"""Grade a submission: read it, score every question against the rubric, flag claims the
run record contradicts, and shape the outcome as a terminal table and Gradescope JSON."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from . import consistency, gradescope, measured, schema, submissions
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


def grade_submission(path, rubric_path=DEFAULT_RUBRIC, record_path=None, record: Optional[dict] = None,
                     rubric: Optional[Rubric] = None) -> Grades:
    started = time.perf_counter()
    rubric = rubric or Rubric.load(rubric_path)
    answers = submissions.load(path, rubric)
    if record is None and record_path:
        record = schema.read_record(record_path)
    graded = []
    others = list(rubric.questions.values())
    on_record = None  # the record's measurements, read once at the first answer that needs them
    for q in rubric.questions.values():
        g = grade(q, answers.answers[q.id], others, answers.notes.get(q.id, ()))
        if record is not None and g.answered:
            on_record = measured.values(record) if on_record is None else on_record
            flags = tuple(consistency.flags(q.id, g.answer, record, on_record))
            review = g.review + (("cites numbers the run record does not support",) if flags else ())
            g = dataclasses.replace(g, flags=flags, review=review, confidence=min(g.confidence, 0.7) if flags else g.confidence)
        graded.append(g)
    return Grades(answers, graded, time.perf_counter() - started)


def answered_count(path, rubric: Rubric) -> int:
    """How many questions a file answers, as the reader finds them (choosing among a submission's files)."""
    answers = submissions.load(path, rubric)
    return sum(bool(text.strip()) for text in answers.answers.values())


def table(grades: Grades) -> str:
    """One row per question; 'REVIEW' marks the answers a TA should read first, with why."""
    rows = [f"{'Q':>3}  {'score':>9}  {'conf':>4}  feedback"]
    for g in grades.questions:
        feedback = g.feedback + "".join(f" | consistency: {flag}" for flag in g.flags)
        mark = f"REVIEW ({'; '.join(g.review)}): " if g.needs_review else ""
        rows.append(f"{g.id:>3}  {g.score:>4g} / {g.max_score:<3g}  {g.confidence:>4.2f}  {mark}{_printable(feedback)}")
    answered = sum(g.answered for g in grades.questions)
    review = [str(g.id) for g in grades.questions if g.needs_review]
    rows.append(f"total {grades.score:g} / {grades.max_score:g}; {answered} of {len(grades.questions)} questions answered"
                + (f"; needs review: Q{', Q'.join(review)}" if review else "")
                + f" ({grades.submission.kind}: {_printable(grades.submission.source)})")
    warned = warning(grades)
    if warned:
        rows.append(warned)
    return "\n".join(rows)


def _printable(text: str) -> str:
    """No terminal control sequences from a student's file reach the screen."""
    return "".join(c if c.isprintable() else f"[U+{ord(c):04X}]" for c in str(text))


def warning(grades: Grades) -> str:
    """A write-up in which no question was found is most likely the wrong file: say so, never a silent zero."""
    if grades.submission.kind == "write-up" and not grades.submission.where:
        return (f"warning: none of the {len(grades.questions)} questions was found in this write-up "
                f"(is it the right file? each answer must follow its question)")
    return ""


def results_json(grades: Grades, checks: Optional[dict] = None) -> dict:
    answered = sum(g.answered for g in grades.questions)
    note = warning(grades)
    written = gradescope.results([gradescope.question_test(g) for g in grades.questions], grades.seconds,
                                 f"written answers: {grades.score:g} / {grades.max_score:g}, {answered} answered "
                                 f"({Path(grades.submission.source).name})" + (f"\n{note}" if note else ""))
    return gradescope.merge(written, checks) if checks else written
