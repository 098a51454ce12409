"""The rubric (answers/rubric.yaml) and grading one answer against it.

A fact's `match` is a small tree: a string is a case-insensitive regular expression,
{number: ...} a number within a tolerance, {any: [...]} / {all: [...]} combine them.
Grading returns the facts found and missing, numbers that contradict a fact, and one
line of feedback.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from ..errors import HomeworkError
from .numbers import Number, numbers, show

DEFAULT_RUBRIC = Path("answers/rubric.yaml")
MEASURED_FACT = {
    "id": "cites_measurement",
    "describe": "cites a number this run measured (a percentage, a time, steps or a ratio)",
    "points": 1,
    "match": {"measurement": True},
}


class RubricError(HomeworkError):
    pass


@dataclass(frozen=True)
class Fact:
    id: str
    describe: str
    points: float
    match: Any
    wrong: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Question:
    id: int
    text: str
    facts: Tuple[Fact, ...]
    measured: bool = False
    continues: str = ""  # text that belongs to the question (a command line under it)

    @property
    def points(self) -> float:
        return sum(f.points for f in self.facts)


@dataclass(frozen=True)
class Rubric:
    questions: Dict[int, Question]
    source: str

    @classmethod
    def load(cls, path=DEFAULT_RUBRIC) -> "Rubric":
        path = Path(path)
        try:
            doc = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise RubricError(f"{path}: rubric not found (answers/rubric.yaml ships with the project)") from None
        except yaml.YAMLError as exc:
            raise RubricError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("questions"), dict):
            raise RubricError(f"{path}: needs a 'questions' mapping")
        questions = {}
        for qid, spec in doc["questions"].items():
            where = f"{path}: questions.{qid}"
            if not isinstance(qid, int) or not isinstance(spec, dict) or not isinstance(spec.get("text"), str):
                raise RubricError(f"{where}: needs an integer id and a 'text'")
            specs = list(spec.get("facts") or []) + ([MEASURED_FACT] if spec.get("measured") else [])
            facts = tuple(_fact(f, f"{where}.facts[{i}]") for i, f in enumerate(specs))
            questions[qid] = Question(qid, " ".join(spec["text"].split()), facts, bool(spec.get("measured")), spec.get("continues", ""))
        return cls(dict(sorted(questions.items())), str(path))

    @property
    def points(self) -> float:
        return sum(q.points for q in self.questions.values())


def _fact(spec: Any, where: str) -> Fact:
    if not isinstance(spec, dict) or not spec.get("id") or "match" not in spec:
        raise RubricError(f"{where}: a fact needs 'id' and 'match'")
    _check_matcher(spec["match"], where)
    wrong = tuple((w["pattern"], w["says"]) for w in spec.get("wrong") or [])
    return Fact(spec["id"], spec.get("describe", spec["id"]), float(spec.get("points", 1)), spec["match"], wrong)


def _check_matcher(m: Any, where: str) -> None:
    if isinstance(m, str):
        try:
            re.compile(m)
        except re.error as exc:
            raise RubricError(f"{where}: bad pattern {m!r} ({exc})") from exc
    elif isinstance(m, dict) and ("any" in m or "all" in m):
        for item in m.get("any", m.get("all")):
            _check_matcher(item, where)
    elif not (isinstance(m, dict) and ("number" in m or "measurement" in m)):
        raise RubricError(f"{where}: a match is a pattern, {{number: ...}}, {{any: [...]}} or {{all: [...]}}; got {m!r}")


@dataclass(frozen=True)
class QuestionGrade:
    id: int
    text: str
    answer: str
    score: float
    max_score: float
    found: Tuple[str, ...]
    missing: Tuple[str, ...]
    contradictions: Tuple[str, ...]
    feedback: str
    flags: Tuple[str, ...] = ()

    @property
    def answered(self) -> bool:
        return bool(self.answer.strip())


@dataclass
class _Evidence:
    used: List[float] = field(default_factory=list)  # numbers that satisfied some number matcher
    near_misses: List[Tuple[float, Dict]] = field(default_factory=list)


def _pattern_found(pattern: str, text: str) -> bool:
    return re.search(rf"(?<!\w){pattern}(?!\w)" if pattern[:1].isalnum() or pattern[-1:].isalnum() else pattern,
                     text, re.IGNORECASE) is not None


def _found(m: Any, text: str, nums: List[Number], ev: _Evidence) -> bool:
    if isinstance(m, str):
        return _pattern_found(m, text)
    if "any" in m:
        return any([_found(item, text, nums, ev) for item in m["any"]])  # list: every branch leaves evidence
    if "all" in m:
        return all([_found(item, text, nums, ev) for item in m["all"]])
    if "measurement" in m:
        return any(n.unit in ("%", "s", "ms", "min", "step", "x", "img/s") for n in nums)
    value, tol = float(m["number"]), float(m.get("tolerance", 0))
    hits = [n.value for n in nums if abs(n.value - value) <= tol]
    if len(hits) >= int(m.get("count", 1)):
        ev.used.extend(hits)
        return True
    lo, hi = m.get("range", (value - tol, value + tol))
    ev.near_misses.extend((n.value, m) for n in nums if lo <= n.value <= hi and abs(n.value - value) > tol)
    return False


def grade(question: Question, answer: str) -> QuestionGrade:
    text = " ".join(answer.split())
    if not text:
        missing = tuple(f.describe for f in question.facts)
        return QuestionGrade(question.id, question.text, "", 0.0, question.points, (), missing, (), "unanswered")
    nums = numbers(text)
    found, missing, contradictions = [], [], []
    score = 0.0
    for fact in question.facts:
        ev = _Evidence()
        if _found(fact.match, text, nums, ev):
            found.append(fact.id)
            score += fact.points
            continue
        missing.append(fact.describe)
        expected: Dict[float, List[str]] = {}
        for value, m in ev.near_misses:
            if value not in ev.used:
                tolerance = f" (+-{show(float(m['tolerance']))})" if m.get("tolerance") else ""
                expected.setdefault(value, []).append(show(float(m["number"])) + tolerance)
        contradictions += [f"{show(value)} where {' or '.join(dict.fromkeys(wanted))} is expected" for value, wanted in expected.items()]
        contradictions += [f"says {says}" for pattern, says in fact.wrong if _pattern_found(pattern, text)]
    contradictions = list(dict.fromkeys(contradictions))
    score = min(score, question.points)
    return QuestionGrade(question.id, question.text, answer.strip(), score, question.points, tuple(found), tuple(missing),
                         tuple(contradictions), _feedback(score, question.points, missing, contradictions))


def _feedback(score: float, max_score: float, missing: List[str], contradictions: List[str]) -> str:
    parts = []
    if contradictions:
        parts.append("contradicts the facts: " + "; ".join(contradictions))
    if missing:
        parts.append("missing: " + "; ".join(missing))
    return "; ".join(parts) or "complete"
