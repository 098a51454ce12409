"""A student's answers, from answers/answers.yaml, a Jupyter notebook or a free-form write-up
(homework/grading/writeup.py reads where each answer is in a write-up). Keys of answers.yaml name
their questions; answers that look shifted against their keys are flagged, never moved."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple


from ..errors import HomeworkError
from . import inputs, writeup
from . import text as T
from .rubric import Rubric


class AnswersError(HomeworkError):
    pass


@dataclass(frozen=True)
class Answers:
    source: str
    kind: str  # "answers.yaml" or "write-up"
    answers: Dict[int, str]  # every rubric question; "" when not answered
    student: str = ""
    where: Dict[int, int] = field(default_factory=dict)  # question id -> line number of its anchor (write-ups)
    located: Dict[int, str] = field(default_factory=dict)  # question id -> "text", "label", "numbering ...", "paraphrase"
    notes: Dict[int, Tuple[str, ...]] = field(default_factory=dict)  # question id -> placement / language review reasons


def load(path, rubric: Rubric) -> Answers:
    """answers.yaml (by its extension), a Jupyter notebook (.ipynb) or a Markdown / plain-text write-up."""
    path = Path(path)
    if path.suffix.lower() == ".ipynb":  # read as JSON: its size limit allows the plots a notebook embeds
        return read_writeup(notebook_text(inputs.read_json(path, "notebook"), str(path)), str(path), rubric)
    text = inputs.read_text(path, "submission")
    if path.suffix.lower() in (".yaml", ".yml"):
        return load_answers_yaml(text, str(path), rubric)
    return read_writeup(text, str(path), rubric)


def notebook_text(doc, source: str) -> str:
    """A notebook's Markdown and raw cells in order, as one write-up (code cells hold code, not answers)."""
    cells = doc.get("cells") if isinstance(doc, dict) else None
    if not isinstance(cells, list):
        raise AnswersError(f"{source}: not a Jupyter notebook (no 'cells' list)")
    parts = []
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("markdown", "raw", "code"):
            raise AnswersError(f"{source}: cells[{i}] is not a notebook cell")
        body = cell.get("source", "")
        if isinstance(body, list) and all(isinstance(line, str) for line in body):
            body = "".join(body)
        if not isinstance(body, str):
            raise AnswersError(f"{source}: cells[{i}].source must be text or a list of lines")
        if cell["cell_type"] != "code":
            parts.append(body)
    text = "\n\n".join(parts)
    if len(text.encode("utf-8")) > inputs.MAX_SUBMISSION_BYTES:
        raise AnswersError(f"{source}: its text cells hold over {inputs.MAX_SUBMISSION_BYTES:,} bytes")
    return text


def load_answers_yaml(text: str, source: str, rubric: Rubric) -> Answers:
    doc = inputs.read_yaml(text, source, "answers")
    deep = inputs.too_deep(doc, 8)
    if deep:
        raise AnswersError(f"{source}: nested too deeply at {deep} (answers are text under answers.<id>.answer)")
    if not isinstance(doc, dict) or not isinstance(doc.get("answers"), dict):
        raise AnswersError(f"{source}: needs an 'answers' mapping of question ids 1-{max(rubric.questions)}")
    unknown = set(doc) - {"student", "answers"}
    if unknown:
        raise AnswersError(f"{source}: unknown key '{sorted(map(str, unknown))[0]}' (expected 'student' and 'answers')")
    student = doc.get("student") or ""
    if not isinstance(student, str):
        raise AnswersError(f"{source}: key 'student' must be text, got {type(student).__name__}")
    answers = {qid: "" for qid in rubric.questions}
    given: Dict[int, object] = {}
    for key, entry in doc["answers"].items():
        qid = _question_id(key)
        if qid not in rubric.questions:
            raise AnswersError(f"{source}: answers.{key}: unknown question id (questions are 1-{max(rubric.questions)})")
        if qid in given:
            raise AnswersError(f"{source}: answers.{key}: question {qid} is given twice (also as '{given[qid]}')")
        given[qid] = key
        answer = entry.get("answer") if isinstance(entry, dict) else entry
        if isinstance(entry, dict) and set(entry) - {"question", "answer"}:
            raise AnswersError(f"{source}: answers.{key}: unknown key '{sorted(set(entry) - {'question', 'answer'})[0]}'")
        if isinstance(answer, bool):
            raise AnswersError(f"{source}: answers.{key}.answer: YAML read a bare yes/no as true/false; quote the answer")
        if isinstance(answer, (int, float)):
            answer = str(answer)
        if answer is not None and not isinstance(answer, str):
            raise AnswersError(f"{source}: answers.{key}.answer: must be text, got {type(answer).__name__}")
        answers[qid] = (answer or "").strip()
    notes = {qid: writeup.content_notes(qid, text, rubric) for qid, text in answers.items()}
    step = writeup.shifted_keys(answers, rubric)
    if step:
        for qid, text in answers.items():
            if text:
                notes[qid] = [f"placement: the answers look shifted by one key: most answers under Q(n) read like answers to "
                              f"Q(n{step:+d})"] + notes[qid]
    return Answers(source, "answers.yaml", answers, student.strip(), notes={q: tuple(n) for q, n in notes.items() if n})


def _question_id(key) -> Optional[int]:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    m = re.fullmatch(r"\s*(?:q|question\s*)?([1-9]\d?)\s*", str(key), re.IGNORECASE)
    return int(m.group(1)) if m else None


def read_writeup(text: str, source: str, rubric: Rubric) -> Answers:
    """A Markdown or plain-text write-up (homework/grading/writeup.py finds where each answer is)."""
    reading = writeup.read(text, rubric)
    return Answers(source, "write-up", reading.answers, writeup.student(T.visible(text).splitlines()), reading.where,
                   reading.located, reading.notes)
