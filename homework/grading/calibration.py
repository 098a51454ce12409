"""Agreement with a TA: grade the calibration set (answers a TA scored, tests/calibration/)
and report the mean absolute error per question, the share within half a point, and totals."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from ..errors import HomeworkError
from . import inputs
from .rubric import Rubric, grade

CALIBRATION = Path(__file__).resolve().parents[2] / "tests" / "calibration"
DEFAULT_SET = CALIBRATION / "answers.yaml"
WRITEUPS = CALIBRATION / "writeups"  # whole write-ups, dev/ and heldout/, scored by two TAs (ta1.yaml, ta2.yaml)
MAX_WRITEUP_MAE = 0.35  # per answered question, on write-ups the grader was not tuned on
MAX_TOTAL_ERROR = 3.6  # of 36, for any write-up
MAX_FLAGGED = 0.30  # aims: at most this share of answered questions flagged for review ...
MAX_CONFIDENT_MAE = 0.25  # ... and the confident ones within this of the TAs
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


# -- whole write-ups scored by TAs ------------------------------------------------------------------

@dataclass(frozen=True)
class Scored:
    writeup: str
    question: int
    ta: float  # the TAs' mean
    answered: bool  # by either TA's reading
    score: float
    max_score: float
    review: bool


@dataclass(frozen=True)
class WriteupAgreement:
    split: str
    scored: List[Scored]

    @property
    def answered(self) -> List[Scored]:
        return [s for s in self.scored if s.answered]

    @property
    def mae(self) -> float:
        return sum(abs(s.score - s.ta) for s in self.answered) / max(1, len(self.answered))

    def totals(self) -> Dict[str, Tuple[float, float]]:
        out: Dict[str, Tuple[float, float]] = {}
        for s in self.scored:
            grader_total, ta_total = out.get(s.writeup, (0.0, 0.0))
            out[s.writeup] = (grader_total + s.score, ta_total + s.ta)
        return out

    @property
    def max_total_error(self) -> float:
        return max(abs(g - t) for g, t in self.totals().values())

    @property
    def flagged(self) -> float:
        return sum(s.review for s in self.answered) / max(1, len(self.answered))

    @property
    def confident_mae(self) -> float:
        confident = [s for s in self.answered if not s.review]
        return sum(abs(s.score - s.ta) for s in confident) / max(1, len(confident))

    @property
    def wrong_unflagged(self) -> List[Scored]:
        """Answers a TA gave under half their points that the grader gave at least half, with no flag."""
        return [s for s in self.answered if s.ta < s.max_score / 2 <= s.score and not s.review]

    @property
    def passes(self) -> bool:
        return self.mae <= MAX_WRITEUP_MAE and self.max_total_error <= MAX_TOTAL_ERROR

    def table(self) -> str:
        rows = [f"whole write-ups, {self.split} ({len(self.totals())} write-ups, {len(self.answered)} answered questions):"]
        for name, (g, t) in sorted(self.totals().items()):
            rows.append(f"  {name}: grader {g:g}, TAs {t:g} ({g - t:+g})")
        rows.append(f"  MAE {self.mae:.3f} per answered question (bar {MAX_WRITEUP_MAE}); largest total error "
                    f"{self.max_total_error:g} of 36 (bar {MAX_TOTAL_ERROR}): {'PASS' if self.passes else 'FAIL'}")
        rows.append(f"  flagged for review {self.flagged:.0%} (aim <= {MAX_FLAGGED:.0%}); MAE among confident answers "
                    f"{self.confident_mae:.3f} (aim <= {MAX_CONFIDENT_MAE}); wrong answers at half points or more without a flag: "
                    f"{len(self.wrong_unflagged)}")
        return "\n".join(rows)


def ta_scores(folder: Path = WRITEUPS) -> Dict[str, Dict[int, Tuple[float, bool]]]:
    """write-up stem -> question -> (the TAs' mean points, answered by either TA's reading)."""
    sheets = []
    for name in ("ta1.yaml", "ta2.yaml"):
        doc = yaml.safe_load(inputs.read_text(folder / name, "TA scores"))
        if not isinstance(doc, dict):
            raise HomeworkError(f"{folder / name}: needs a mapping of write-up -> question -> points")
        sheets.append(doc)
    out: Dict[str, Dict[int, Tuple[float, bool]]] = {}
    for stem in sheets[0]:
        out[stem] = {int(q): (sum(float(sheet[stem][q]["points"]) for sheet in sheets) / len(sheets),
                              any(bool(sheet[stem][q]["answered"]) for sheet in sheets)) for q in sheets[0][stem]}
    return out


def writeups(rubric_path, split: str, folder: Path = WRITEUPS) -> WriteupAgreement:
    """Grade every write-up of `split` (dev or heldout) and set each question beside the TAs' mean."""
    from . import grader

    rubric = Rubric.load(rubric_path)
    tas = ta_scores(folder)
    scored = []
    for path in sorted((folder / split).iterdir()):
        if path.suffix.lower() not in (".md", ".txt", ".markdown", ".yaml", ".ipynb"):
            continue
        grades = grader.grade_submission(path, rubric=rubric)
        for g in grades.questions:
            ta, answered = tas[path.stem][g.id]
            scored.append(Scored(path.stem, g.id, ta, answered, g.score, g.max_score, g.needs_review))
    return WriteupAgreement(split, scored)
