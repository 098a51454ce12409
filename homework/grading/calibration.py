"""Agreement with a TA: grade the calibration set (answers a TA scored, tests/calibration/)
and report the mean absolute error per question, the share within half a point, and totals."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from ..errors import HomeworkError
from . import inputs
from .rubric import Rubric, grade

DEFAULT_SET = Path(__file__).resolve().parents[2] / "tests" / "calibration" / "answers.yaml"
MAX_MAE = 0.35
MAX_GAMED_SHARE = 0.10  # stuffed, copied or hidden answers: at most this share of their points
GAMED = ("keyword_stuffed", "copied", "hidden")


@dataclass(frozen=True)
class Case:
    question: int
    kind: str
    answer: str
    ta: float
    why: str
    score: float
    max_score: float
    feedback: str


@dataclass(frozen=True)
class WriteUp:
    shape: str
    ta: float
    score: float
    unanswered: int  # answers the TA scored above 0 that the reader reported unanswered


@dataclass(frozen=True)
class Calibration:
    cases: List[Case]
    writeups: List[WriteUp] = ()

    def by_question(self) -> Dict[int, List[Case]]:
        out: Dict[int, List[Case]] = {}
        for c in self.cases:
            out.setdefault(c.question, []).append(c)
        return dict(sorted(out.items()))

    @staticmethod
    def mae(cases: List[Case]) -> float:
        return sum(abs(c.score - c.ta) for c in cases) / len(cases)

    @staticmethod
    def within(cases: List[Case], margin: float = 0.5) -> float:
        return sum(abs(c.score - c.ta) <= margin for c in cases) / len(cases)

    @property
    def gamed_share(self) -> float:
        gamed = [c for c in self.cases if c.kind in GAMED]
        return sum(c.score for c in gamed) / max(1e-9, sum(c.max_score for c in gamed))

    @property
    def passes(self) -> bool:
        return self.mae(self.cases) <= MAX_MAE and self.gamed_share <= MAX_GAMED_SHARE

    def table(self) -> str:
        rows = [f"{'Q':>3} {'answers':>7} {'MAE':>5} {'<=0.5':>6} {'TA total':>8} {'grader':>7}"]
        for qid, cases in self.by_question().items():
            rows.append(f"{qid:>3} {len(cases):>7} {self.mae(cases):>5.2f} {self.within(cases):>6.0%} "
                        f"{sum(c.ta for c in cases):>8g} {sum(c.score for c in cases):>7g}")
        allc = self.cases
        rows.append(f"all {len(allc):>7} {self.mae(allc):>5.2f} {self.within(allc):>6.0%} "
                    f"{sum(c.ta for c in allc):>8g} {sum(c.score for c in allc):>7g}")
        kinds = sorted({c.kind for c in allc})
        rows.append("by kind: " + ", ".join(f"{k} MAE {self.mae([c for c in allc if c.kind == k]):.2f}" for k in kinds))
        rows.append(f"stuffed/copied/hidden answers: {self.gamed_share:.1%} of their points (bar {MAX_GAMED_SHARE:.0%}); "
                    f"MAE {self.mae(allc):.2f} (bar {MAX_MAE}): {'PASS' if self.passes else 'FAIL'}")
        if self.writeups:
            errors = [abs(w.score - w.ta) for w in self.writeups]
            rows.append(f"whole write-ups ({len(self.writeups)}, the set's answers laid out in "
                        f"{len({w.shape for w in self.writeups})} shapes): largest total error {max(errors):g} of 36 "
                        f"(target 3.6), mean {sum(errors) / len(errors):.2f}; answers reported unanswered: "
                        f"{sum(w.unanswered for w in self.writeups)}")
        worst = sorted(allc, key=lambda c: -abs(c.score - c.ta))[:8]
        rows.append("largest disagreements:")
        rows += [f"  Q{c.question} {c.kind}: TA {c.ta:g}, grader {c.score:g} ({c.why}) | {c.feedback[:160]}" for c in worst
                 if abs(c.score - c.ta) > 0.5]
        return "\n".join(rows)


def load_set(path) -> List[dict]:
    text = inputs.read_text(path, "calibration set")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise HomeworkError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("questions"), dict):
        raise HomeworkError(f"{path}: needs a 'questions' mapping of question id -> list of answers")
    cases = []
    for qid, items in doc["questions"].items():
        for i, item in enumerate(items or []):
            if not isinstance(item, dict) or not isinstance(item.get("answer"), str) or not inputs.finite_number(item.get("ta")):
                raise HomeworkError(f"{path}: questions.{qid}[{i}] needs 'answer' (text) and 'ta' (points)")
            cases.append(dict(item, question=qid))
    return cases


def run(rubric_path, set_path: Optional[str] = None) -> Calibration:
    rubric = Rubric.load(rubric_path)
    others = list(rubric.questions.values())
    cases = []
    for item in load_set(set_path or DEFAULT_SET):
        q = rubric.questions.get(item["question"])
        if q is None:
            raise HomeworkError(f"calibration set: question {item['question']} is not in the rubric")
        g = grade(q, item["answer"], others)
        cases.append(Case(q.id, str(item.get("kind", "")), item["answer"], float(item["ta"]), str(item.get("why", "")),
                          g.score, g.max_score, g.feedback))
    return Calibration(cases, _writeups(rubric, cases))


SHAPES = {
    "numbered, bold question, dash": lambda q, a: f"{q.id}. **{q.text}** - {a}\n",
    "headings": lambda q, a: f"## Question {q.id}\n\n{q.text}\n\n{a}\n",
    "question line, paragraph": lambda q, a: f"{q.text}\n{a}\n",
    "nested bullets": lambda q, a: f"- {q.text}\n  - {a}\n",
}


def _writeups(rubric: Rubric, cases: List[Case]) -> List[WriteUp]:
    """Whole write-ups made of the set's answers (write-up k takes each question's k-th answer), graded
    through the reader: totals against the TA's, and answers the reader missed."""
    from . import grader
    import tempfile

    per_q: Dict[int, List[Case]] = {}
    for c in cases:
        per_q.setdefault(c.question, []).append(c)
    count = max(len(v) for v in per_q.values())
    out = []
    with tempfile.TemporaryDirectory(prefix="hw5-calibration-") as tmp:
        for shape, lay in SHAPES.items():
            for k in range(count):
                chosen = {q: per_q[q][k % len(per_q[q])] for q in per_q}
                text = "# Homework 5\n\nName: Calibration\n\n" + "\n".join(
                    lay(rubric.questions[q], " ".join(c.answer.split())) for q, c in sorted(chosen.items()))
                path = Path(tmp) / f"{k}.md"
                path.write_text(text, encoding="utf-8")
                grades = grader.grade_submission(path, rubric=rubric)
                missed = sum(1 for g in grades.questions if not g.answered and g.id in chosen and chosen[g.id].ta > 0)
                out.append(WriteUp(shape, sum(c.ta for c in chosen.values()), grades.score, missed))
    return out
