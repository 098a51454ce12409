"""A student's answers, from answers/answers.yaml or from a free-form write-up.

Write-ups come in many shapes (a numbered list with the question in bold and the answer
after a dash; a bulleted question with the answer nested under it; a question line and a
paragraph; questions as headings; typos in the copied question). The reader finds each
question by its text, never by its position: every line is compared with every question
text, the best unique matches become anchors, and an answer runs from its anchor to the
next anchor or heading.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from ..errors import HomeworkError
from .rubric import Question, Rubric

MATCH_THRESHOLD = 0.72
_MARKER = re.compile(
    r"^\s*(?:#{1,6}\s*|>\s*|[-*+]\s+|\*\*|__|\*|_|`|\d{1,2}[.)]\s*|\(\d{1,2}\)\s*"
    r"|(?:question|q)\s*\d{1,2}\s*[:.)-]?\s*|(?:question|q)\s*[:.-]\s*)",
    re.IGNORECASE,
)
_LEAD_PUNCT = r"(?:[\s*_`?:.)\]|]+|[–—-]+(?=\s))*"  # a dash only when spaced: "--input_layer" is an answer
_ANSWER_LEAD = re.compile(rf"^{_LEAD_PUNCT}(?:(?:answer|ans|a|response)\s*[:.–—-]+)?{_LEAD_PUNCT}", re.IGNORECASE)
_PLACEHOLDERS = {"", "answer", "todo", "tbd", "n a", "na", "your answer", "your answer here", "answer here", "write your answer here", "tba"}
_HEADING = re.compile(r"^\s*(#{1,6})\s")


class AnswersError(HomeworkError):
    pass


@dataclass(frozen=True)
class Answers:
    source: str
    kind: str  # "answers.yaml" or "write-up"
    answers: Dict[int, str]  # every rubric question; "" when not answered
    student: str = ""
    where: Dict[int, int] = field(default_factory=dict)  # question id -> line number of its anchor (write-ups)


def load(path, rubric: Rubric) -> Answers:
    """answers.yaml (by its extension) or a Markdown / plain-text write-up."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise AnswersError(f"{path}: submission not found") from None
    except OSError as exc:
        raise AnswersError(f"{path}: cannot read ({exc.strerror})") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        return load_answers_yaml(text, str(path), rubric)
    return read_writeup(text, str(path), rubric)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (plain YAML keeps the last one silently)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise AnswersError(f"{loader.name}: line {key_node.start_mark.line + 1}: key '{key}' appears twice")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_answers_yaml(text: str, source: str, rubric: Rubric) -> Answers:
    loader = _UniqueKeyLoader(text)
    loader.name = source
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise AnswersError(f"{source}: not valid YAML ({' '.join(str(exc).split())})") from exc
    finally:
        loader.dispose()
    if not isinstance(doc, dict) or not isinstance(doc.get("answers"), dict):
        raise AnswersError(f"{source}: needs an 'answers' mapping of question ids 1-{max(rubric.questions)}")
    unknown = set(doc) - {"student", "answers"}
    if unknown:
        raise AnswersError(f"{source}: unknown key '{sorted(map(str, unknown))[0]}' (expected 'student' and 'answers')")
    student = doc.get("student") or ""
    if not isinstance(student, str):
        raise AnswersError(f"{source}: key 'student' must be text, got {type(student).__name__}")
    answers = {qid: "" for qid in rubric.questions}
    for key, entry in doc["answers"].items():
        qid = _question_id(key)
        if qid not in rubric.questions:
            raise AnswersError(f"{source}: answers.{key}: unknown question id (questions are 1-{max(rubric.questions)})")
        if qid != key and qid in doc["answers"]:
            raise AnswersError(f"{source}: answers.{key}: question {qid} is given twice")
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
    return Answers(source, "answers.yaml", answers, student.strip())


def _question_id(key) -> Optional[int]:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    m = re.fullmatch(r"\s*(?:q|question\s*)?(\d{1,2})\s*", str(key), re.IGNORECASE)
    return int(m.group(1)) if m else None


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _strip_markers(line: str) -> Tuple[int, str]:
    """(offset, body): the line without list, heading, quote, emphasis and 'Question N:' markers."""
    offset = 0
    while True:
        m = _MARKER.match(line, offset)
        if not m or m.end() == offset:
            return offset, line[offset:]
        offset = m.end()


def _similarity(question: str, body: str) -> float:
    q, b = _norm(question), _norm(body)
    if len(b) < min(15, len(q)):
        return 0.0
    score = difflib.SequenceMatcher(None, q, b[: len(q) + 5], autojunk=False).ratio()
    if 40 <= len(b) < len(q):  # the question wrapped onto several lines
        score = max(score, difflib.SequenceMatcher(None, q[: len(b)], b, autojunk=False).ratio())
    return score


def _question_end(question: str, body: str) -> int:
    """Where the copied question ends inside `body` (the answer may follow on the same line)."""
    window = body[: int(len(question) * 1.3) + 10].lower()
    blocks = difflib.SequenceMatcher(None, question.lower(), window, autojunk=False).get_matching_blocks()
    ends = [b + size for a, b, size in blocks if size >= 3]
    return max(ends) if ends else 0


def _belongs_to_question(line: str, question: Question) -> bool:
    """A line that only continues the copied question (a wrapped tail, the command under Q13, a fence)."""
    n = _norm(line)
    if not n:
        return True
    for part in (question.text, question.continues):
        p = _norm(part)
        if p and len(n) >= 8:
            m = difflib.SequenceMatcher(None, p, n, autojunk=False).find_longest_match(0, len(p), 0, len(n))
            if m.size >= 0.85 * len(n):
                return True
    return False


def _clean_answer(lines: List[str], question: Question) -> str:
    kept = []
    for line in lines:
        if not kept and _belongs_to_question(line, question):
            continue
        body = _strip_markers(line)[1]
        kept.append(_ANSWER_LEAD.sub("", body, count=1) if not kept else body)
    text = "\n".join(l.rstrip() for l in kept).strip()
    text = re.sub(r"^\s*(```+|~~~+|-{3,}|\*{3,})\s*$", "", text, flags=re.MULTILINE).strip()
    return "" if _norm(text) in _PLACEHOLDERS or not re.search(r"[A-Za-z0-9]", text) else text


def read_writeup(text: str, source: str, rubric: Rubric) -> Answers:
    lines = text.splitlines()
    bodies = [_strip_markers(line) for line in lines]
    candidates = []
    for index, (offset, body) in enumerate(bodies):
        for q in rubric.questions.values():
            score = _similarity(q.text, body)
            if score >= MATCH_THRESHOLD:
                candidates.append((score, q.id, index))
    anchors: Dict[int, int] = {}
    for score, qid, index in sorted(candidates, reverse=True):
        if qid not in anchors and index not in anchors.values():
            anchors[qid] = index
    starts = sorted(anchors.values())
    answers = {qid: "" for qid in rubric.questions}
    for qid, index in anchors.items():
        q = rubric.questions[qid]
        body = bodies[index][1]
        same_line = body[_question_end(q.text, body):]
        heading = _HEADING.match(lines[index])
        end = len(lines)
        for j in range(index + 1, len(lines)):
            h = _HEADING.match(lines[j])
            if j in starts or (h and (not heading or len(h.group(1)) <= len(heading.group(1)))):
                end = j
                break
        answers[qid] = _clean_answer([same_line] + lines[index + 1:end], q)
    return Answers(source, "write-up", answers, _student(lines), dict(sorted(anchors.items())))


def _student(lines: List[str]) -> str:
    for line in lines[:15]:
        m = re.match(r"^\W*(?:name|student|author)\W*[:\-]\s*(.+?)\W*$", line, re.IGNORECASE)
        if m:
            return m.group(1).strip()
    return ""
