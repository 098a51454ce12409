"""The rubric (answers/rubric.yaml) and grading one answer against it.

A fact's `match` is a small tree of concepts: a string is a case-insensitive regular
expression (its paraphrases, synonyms and inflections written as alternatives), a
{number: ...} a number within a tolerance, {any: [...]} / {all: [...]} combine them
({all} gives partial credit for the parts found). A phrase counts only where it is not
negated in its clause ("not updated" is not "updated"). Contradictions always count: a
fact with a contradicting number, a `wrong` phrasing or a hedge ("Mul or input") earns
nothing, whatever else the answer says. Every fact found and every contradiction is
quoted from the answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple


from ..errors import HomeworkError
from . import inputs
from . import text as T
from .numbers import Number, numbers, show

DEFAULT_RUBRIC = Path("answers/rubric.yaml")
MEASURED_FACT = {
    "id": "cites_measurement",
    "describe": "cites a number this run measured (a percentage, a time, steps or a ratio)",
    "points": 1,
    "match": {"measurement": True},
    # a comparison in words without the run's number is worth half
    "partial": "(about|roughly|nearly|almost|pretty much) the same|similar (time|speed)|comparabl\\w*|(slower|faster|longer|quicker|shorter) than|(\\d+|two|three|ten)( times|x) (slower|faster)|barely (slower|faster)",
}
MEASUREMENT_UNITS = ("%", "s", "ms", "min", "step", "x", "img/s")
LONG_ANSWER_WORDS = 60
VERY_LONG_ANSWER_WORDS = 1500
LIST_FACTOR = 0.1  # a bare list of terms, or keywords of other questions, earns at most this share
MISPLACED_SHARE = 1 / 3  # an answer that reads like another question's earns at most this share (TAs gave 0.25-0.42)
STUFFED_WORDS_PER_QUESTION = 10  # an answer carrying other questions' facts is stuffing when it has fewer words a question
TERSE_CLAIMS = 0.75  # a list whose items are mostly claims ("14 million images") is a terse answer, not stuffing


class RubricError(HomeworkError):
    pass


_LOADED: Dict[tuple, "Rubric"] = {}


@dataclass(frozen=True)
class Misconception:
    """A wrong claim a TA meets: said (and not excused by `unless` in its sentence), it cancels the
    fact it contradicts; `caps` bounds the whole answer's score when the claim is the answer's core."""

    pattern: str
    says: str
    unless: str = ""
    caps: Optional[float] = None


@dataclass(frozen=True)
class Fact:
    id: str
    describe: str
    points: float
    match: Any
    wrong: Tuple["Misconception", ...] = ()
    exact: bool = False  # one right answer: "X or Y" next to it is a hedge
    partial: Any = None  # a weaker phrasing worth half the fact
    about: str = ""  # whom the fact is about (MobileNet): said of `rival` instead, it is a misconception
    rival: str = ""
    rival_says: str = ""


@dataclass(frozen=True)
class Question:
    id: int
    text: str
    facts: Tuple[Fact, ...]
    measured: bool = False
    continues: str = ""  # text that belongs to the question (a command line under it)
    topic: Tuple[str, ...] = ()  # what an answer to it talks about: placement checks and re-numbering

    def topic_score(self, text: str) -> int:
        """How many of the question's topic patterns the text touches (0 .. len(topic))."""
        return sum(1 for pattern in self.topic if _compiled(pattern).search(text))

    @property
    def points(self) -> float:
        return sum(f.points for f in self.facts)


@dataclass(frozen=True)
class Rubric:
    questions: Dict[int, Question]
    source: str

    @classmethod
    def load(cls, path=DEFAULT_RUBRIC) -> "Rubric":
        """The rubric, read once per process and file version (a class run grades many submissions)."""
        path = Path(path)
        try:
            stat = path.stat()
            key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        except OSError:
            key = None
        if key in _LOADED:
            return _LOADED[key]
        rubric = cls._read(path)
        if key is not None:
            _LOADED[key] = rubric
        return rubric

    @classmethod
    def _read(cls, path: Path) -> "Rubric":
        try:
            doc = inputs.read_yaml(path.read_text(encoding="utf-8"), str(path), "a rubric")  # a key given twice is an error
        except FileNotFoundError:
            raise RubricError(f"{path}: rubric not found (answers/rubric.yaml ships with the project)") from None
        except UnicodeDecodeError as exc:
            raise RubricError(f"{path}: not UTF-8 ({exc.reason})") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("questions"), dict):
            raise RubricError(f"{path}: needs a 'questions' mapping")
        questions = {}
        for qid, spec in doc["questions"].items():
            where = f"{path}: questions.{qid}"
            if not isinstance(qid, int) or not isinstance(spec, dict) or not isinstance(spec.get("text"), str):
                raise RubricError(f"{where}: needs an integer id and a 'text'")
            specs = list(spec.get("facts") or []) + ([MEASURED_FACT] if spec.get("measured") else [])
            facts = tuple(_fact(f, f"{where}.facts[{i}]") for i, f in enumerate(specs))
            topic = tuple(spec.get("topic") or ())
            for pattern in topic:
                _check_matcher(pattern, f"{where}.topic")
            questions[qid] = Question(qid, " ".join(spec["text"].split()), facts, bool(spec.get("measured")), spec.get("continues", ""), topic)
        return cls(dict(sorted(questions.items())), str(path))

    @property
    def points(self) -> float:
        return sum(q.points for q in self.questions.values())


def _fact(spec: Any, where: str) -> Fact:
    if not isinstance(spec, dict) or not spec.get("id") or "match" not in spec:
        raise RubricError(f"{where}: a fact needs 'id' and 'match'")
    _check_matcher(spec["match"], where)
    if spec.get("partial") is not None:
        _check_matcher(spec["partial"], where + ".partial")
    wrong = []
    for w in spec.get("wrong") or []:
        if not isinstance(w, dict) or not isinstance(w.get("pattern"), str) or not isinstance(w.get("says"), str):
            raise RubricError(f"{where}.wrong: each entry needs 'pattern' and 'says'")
        for key in ("pattern", "unless"):
            if key in w:
                _check_matcher(w[key], f"{where}.wrong.{key}")
        caps = w.get("caps")
        if caps is not None and (not isinstance(caps, (int, float)) or caps < 0):
            raise RubricError(f"{where}.wrong: caps must be a number of points >= 0")
        wrong.append(Misconception(w["pattern"], w["says"], w.get("unless", ""), None if caps is None else float(caps)))
    for key in ("about", "rival"):
        if spec.get(key):
            _check_matcher(spec[key], f"{where}.{key}")
    if bool(spec.get("about")) != bool(spec.get("rival")):
        raise RubricError(f"{where}: 'about' and 'rival' go together")
    return Fact(spec["id"], spec.get("describe", spec["id"]), float(spec.get("points", 1)), spec["match"], tuple(wrong),
                bool(spec.get("exact")), spec.get("partial"), spec.get("about", ""), spec.get("rival", ""),
                spec.get("rival_says", f"it of {spec.get('rival', '')}"))


def _check_matcher(m: Any, where: str) -> None:
    if isinstance(m, str):
        try:
            re.compile(m)
        except re.error as exc:
            raise RubricError(f"{where}: bad pattern {m!r} ({exc})") from exc
    elif isinstance(m, dict) and ("any" in m or "all" in m):
        for item in m.get("any", m.get("all")):
            _check_matcher(item, where)
    elif isinstance(m, dict) and "number" in m:
        for key in ("near", "unless"):
            if key in m:
                _check_matcher(m[key], where)
    elif not (isinstance(m, dict) and "measurement" in m):
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
    evidence: Tuple[Tuple[str, str], ...] = ()  # (fact id, quote from the answer)
    review: Tuple[str, ...] = ()  # why a TA should read this answer first
    confidence: float = 1.0

    @property
    def answered(self) -> bool:
        return bool(self.answer.strip())

    @property
    def needs_review(self) -> bool:
        return bool(self.review)


# -- matching ---------------------------------------------------------------------------
_COMPILED: Dict[str, re.Pattern] = {}


def _compiled(pattern: str) -> re.Pattern:
    if pattern not in _COMPILED:
        # answers are searched with their decimal points masked (see _masked): "\." in a pattern means either
        body = pattern.replace("\\.", "[.\u00b7]")
        bounded = rf"(?<!\w)(?:{body})(?!\w)" if pattern[:1].isalnum() or pattern[-1:].isalnum() else body
        _COMPILED[pattern] = re.compile(bounded, re.IGNORECASE)
    return _COMPILED[pattern]


_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
_LAST_MASKED: List[str] = ["", ""]  # one answer is searched by every pattern: mask it once


def _masked(text: str) -> str:
    if _LAST_MASKED[0] is not text:
        _LAST_MASKED[:] = [text, _DECIMAL.sub("\u00b7", text) if "." in text else text]
    return _LAST_MASKED[1]



def _search(pattern: str, text: str, limit: int = 50) -> Optional[Tuple[int, int]]:
    """The first place the phrase is said and not negated (a bounded number of tries). Decimal points
    are masked (same length, so spans stay) so that "[^.]" in a pattern spans "90.1%"."""
    masked = _masked(text)
    for i, m in enumerate(_compiled(pattern).finditer(masked)):
        if i >= limit:
            break
        if m.end() > m.start() and (T.NEGATION.match(m.group(0)) or not T.negated(text, m.start())):
            return m.start(), m.end()
    return None


@dataclass
class _Evidence:
    used: List[float] = field(default_factory=list)  # numbers that satisfied some number matcher
    near_misses: List[Tuple[Number, Dict]] = field(default_factory=list)


_COUNTED = re.compile(r"[\s\w,.-]{0,12}?\b(images?|photos?|pictures?|pics|classes|class|categor\w*|synsets?|labels?|layers?|"
                      r"validation|val|test|testing|training|"
                      r"parameters?|weights?|steps?|epochs?|seconds?|minutes?|pixels?|nodes?|units?|neurons?|flops)\b", re.IGNORECASE)


def _near_ok(m: Dict, text: str, n: Number) -> bool:
    """Does the number count what the matcher expects? The noun right after it decides; else its clause."""
    if "near" not in m:
        return True
    end = n.start + len(n.text)
    counted = _COUNTED.match(text, end, min(len(text), end + 40))
    if counted:
        return _compiled(m["near"]).search(counted.group(1)) is not None
    return _compiled(m["near"]).search(T.clause(text, n.start, end)) is not None


def _match(m: Any, text: str, nums: List[Number], ev: _Evidence) -> Tuple[float, List[Tuple[int, int]]]:
    """(credit 0-1, spans in the text that earned it)."""
    if isinstance(m, str):
        span = _search(m, text)
        return (1.0, [span]) if span else (0.0, [])
    if "any" in m:
        results = [_match(item, text, nums, ev) for item in m["any"]]  # every branch leaves evidence
        return max(results, key=lambda r: r[0])
    if "all" in m:
        results = [_match(item, text, nums, ev) for item in m["all"]]
        return sum(r[0] for r in results) / len(results), [s for r in results for s in r[1]]
    if "measurement" in m:
        cited = [n for n in nums if n.unit in MEASUREMENT_UNITS]
        return (1.0, [(cited[0].start, cited[0].start + len(cited[0].text))]) if cited else (0.0, [])
    value, tol = float(m["number"]), float(m.get("tolerance", 0))
    hits = [n for n in nums if abs(n.value - value) <= tol and _near_ok(m, text, n) and not T.negated(text, n.start)]
    lo, hi = m.get("range", (value - tol, value + tol))
    ev.near_misses.extend((n, m) for n in nums if lo <= n.value <= hi and abs(n.value - value) > tol)
    need = int(m.get("count", 1))
    ev.used.extend(n.value for n in hits)
    credit = 1.0 if len(hits) >= need else len(hits) / need
    return credit, [(n.start, n.start + len(n.text)) for n in hits]


_HEDGE_AFTER = re.compile(r"\s*\)?\s*,?\s*(?:or|/|and/or)\s+(?:maybe\s+|perhaps\s+|possibly\s+)?([\"'`]?[\w.:=-]{1,40})", re.IGNORECASE)
_HEDGE_BEFORE = re.compile(r"([\w.:=-]{1,40}[\"'`]?)\s*,?\s*(?:or|/|and/or)\s*[\"'`(]?\s*$", re.IGNORECASE)


_UNSURE = re.compile(r"\b(?:or maybe|or perhaps|or possibly|not sure|unsure|not certain|don't know|do not know|don't remember|"
                     r"do not remember|can't remember|may or may not|might or might not|either\b[^.;]{0,80}\bor)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[;!?\n]|\.(?!\d)")
_ANTONYMS = {"slower": "faster", "faster": "slower", "higher": "lower", "lower": "higher", "more": "less", "less": "more",
             "larger": "smaller", "smaller": "larger", "usable": "unusable", "unusable": "usable", "few": "many",
             "many": "few", "better": "worse", "worse": "better", "yes": "no", "longer": "shorter", "shorter": "longer"}


HEDGE_REACH = 40  # characters between a fact and the words that make it uncertain
_ABOUT_WHAT = re.compile(r"\s+(?:about|whether|if|how|why|what|on)\b", re.IGNORECASE)


def _sentence(text: str, start: int, end: int) -> str:
    lo = max(0, start - 300)
    for m in _SENTENCE_END.finditer(text, lo, start):
        lo = m.end()
    m = _SENTENCE_END.search(text, end, min(len(text), end + 300))
    return text[lo:(m.start() if m else min(len(text), end + 300))]


def _unsure(text: str, spans: List[Tuple[int, int]]) -> List[str]:
    """A fact said in a sentence that also says the student is unsure ('or maybe', 'either ... or')."""
    found = []
    for start, end in spans:
        sentence = _sentence(text, start, end)
        offset = text.find(sentence, max(0, start - 400))
        near = [m for m in _UNSURE.finditer(sentence)  # "either X or Y" hedges what lies inside it
                if m.start() + offset - (0 if m.group(0).lower().startswith("either") else HEDGE_REACH) <= end
                and m.end() + offset + (0 if m.group(0).lower().startswith("either") else HEDGE_REACH) >= start
                and not (_ABOUT_WHAT.match(sentence, m.end()) and m.start() + offset >= end)]  # "not sure about X" hedges X, not what came before
        if near:
            found.append(f"hedges: \"{' '.join(sentence.split()).strip(' .,;:')[:140]}\"")
        else:
            said = {w.lower() for w in re.findall(r"[A-Za-z]+", text[start:end])}
            after = re.match(r"\s*,?\s*or\s+(?:not\s+)?([A-Za-z]+)", text[end:end + 40])
            if after and _ANTONYMS.get(after.group(1).lower()) in said or (after and after.group(0).strip().startswith("or not")):
                found.append(f"hedges: \"{' '.join(text[start:end + after.end()].split())}\"")
    return found


def _hedges(fact: Fact, text: str, spans: List[Tuple[int, int]]) -> List[str]:
    """'Mul or input', '299 or 229': the right answer offered next to another one."""
    found = []
    for start, end in spans:
        after = _HEDGE_AFTER.match(text, end)
        before = _HEDGE_BEFORE.search(text[max(0, start - 45):start])
        for alt, lo, hi in ((after, start, after.end() if after else 0), (before, start - (len(before.group(0)) if before else 0), end)):
            if alt is None:
                continue
            other = alt.group(1).strip("\"'`")
            if other and other.lower() not in ("not", "no") and _match(fact.match, other, numbers(other), _Evidence())[0] == 0:
                found.append(f"hedges: \"{' '.join(text[lo:hi].split()).strip(' .,;:')}\"")
    return found


@dataclass
class _FactResult:
    credit: float  # 0-1
    quotes: List[str]
    contradictions: List[str]  # quoted
    numbers_only: bool = False  # every contradiction is a wrong number beside right words: half the fact stays
    cap: Optional[float] = None  # a core misconception bounds the answer's score
    swapped: bool = False  # said of the rival subject, not of its own


def _fact_result(fact: Fact, text: str, nums: List[Number]) -> _FactResult:
    ev = _Evidence()
    credit, spans = _match(fact.match, text, nums, ev)
    if credit < 0.5 and fact.partial is not None:
        part, part_spans = _match(fact.partial, text, nums, ev)
        if part > 0:
            credit, spans = max(credit, 0.5), part_spans
    spans = [s for s in spans if s]
    contradictions: List[str] = []
    cap: Optional[float] = None
    worded = swapped = False  # a contradiction in words (not a number); the fact said of the rival
    if fact.about and credit > 0:
        said_of = _attributions(fact, text)
        if said_of and all(who == "rival" for who, _ in said_of):
            credit, spans = 0.0, []
            start, end = said_of[0][1]
            contradictions.append(f"says {fact.rival_says}: \"{T.quote(text, start, end)}\"")
            worded = swapped = True
    for n, m in ev.near_misses:
        if n.value in ev.used or not _near_ok(m, text, n) or T.negated(text, n.start) or _year(n):
            continue
        if fact.about and _said_of(_compiled(fact.about), _compiled(fact.rival), text, n.start, n.start + len(n.text)) == "rival":
            continue  # GoogLeNet's 6.8M parameters do not contradict MobileNet's 4M
        label = text[max(0, n.start - 30):n.start]  # "--input_mean=" before 128: the number is something else
        if "unless" in m and _compiled(m["unless"]).search(label):
            continue
        tolerance = f" (+-{show(float(m['tolerance']))})" if m.get("tolerance") else ""
        contradictions.append(f"{show(n.value)} where {show(float(m['number']))}{tolerance} is expected: "
                              f"\"{T.quote(text, n.start, n.start + len(n.text))}\"")
    for wrong in fact.wrong:
        span = _search(wrong.pattern, text)
        if span and not (wrong.unless and _compiled(wrong.unless).search(_sentence(text, *span))):
            contradictions.append(f"says {wrong.says}: \"{T.quote(text, *span)}\"")
            worded = True
            if wrong.caps is not None:
                cap = wrong.caps if cap is None else min(cap, wrong.caps)
    numbers_only = bool(contradictions) and not worded
    if fact.exact and credit > 0:
        hedged = _hedges(fact, text, spans)
        contradictions += hedged
        numbers_only = numbers_only and not hedged
    if credit > 0:
        unsure = _unsure(text, spans)
        contradictions += unsure
        numbers_only = numbers_only and not unsure
    quotes = list(dict.fromkeys(T.quote(text, s, e) for s, e in spans[:3]))
    return _FactResult(credit, quotes, list(dict.fromkeys(contradictions)), numbers_only, cap, swapped)


def _year(n: Number) -> bool:
    """2012 in "ILSVRC-2012" or "in 2015": a year, not a count that could contradict a fact."""
    return float(n.value).is_integer() and 1950 <= n.value <= 2035 and n.text.strip().isdigit()


def _patterns(m: Any) -> List[str]:
    if isinstance(m, str):
        return [m]
    if isinstance(m, dict) and ("any" in m or "all" in m):
        return [p for item in m.get("any", m.get("all")) for p in _patterns(item)]
    return []


def _attributions(fact: Fact, text: str) -> List[Tuple[str, Tuple[int, int]]]:
    """For each place the fact is said (and not negated): whether its sentence, or failing that the
    text before it, names the fact's subject ("about") or its rival last. "It uses depthwise
    separable convolutions" after "GoogLeNet ..." is said of GoogLeNet."""
    about, rival = _compiled(fact.about), _compiled(fact.rival)
    masked = _masked(text)
    found = []
    for pattern in _patterns(fact.match):
        for m in _compiled(pattern).finditer(masked):
            if m.end() == m.start() or T.negated(text, m.start()):
                continue
            found.append((_said_of(about, rival, text, m.start(), m.end()), (m.start(), m.end())))
            if len(found) >= 20:
                return found
    return found


def _said_of(about: re.Pattern, rival: re.Pattern, text: str, start: int, end: int) -> str:
    """"about", "rival" or "none": whom the words at text[start:end] are said of: the subject named
    last before them in their sentence (else first after them in it), else the one named last before."""
    sentence_start = max(0, start - 300)
    for b in _SENTENCE_END.finditer(text, sentence_start, start):
        sentence_start = b.end()
    end_m = _SENTENCE_END.search(text, end, min(len(text), end + 300))
    sentence_end = end_m.start() if end_m else min(len(text), end + 300)
    if text.count("|", sentence_start, sentence_end) >= 2:
        return "none"  # a table row: its subject is its column's header, which a sentence reading cannot tell
    named = [(x.start(), "about") for x in about.finditer(text, sentence_start, sentence_end)]
    named += [(x.start(), "rival") for x in rival.finditer(text, sentence_start, sentence_end)]
    before = [n for n in named if n[0] <= start]
    if before:
        return max(before)[1]
    if named:
        return min(named)[1]
    earlier = [(x.start(), "about") for x in about.finditer(text, max(0, sentence_start - 400), sentence_start)]
    earlier += [(x.start(), "rival") for x in rival.finditer(text, max(0, sentence_start - 400), sentence_start)]
    return max(earlier)[1] if earlier else "none"


def _half_steps(value: float) -> float:
    return round(value * 2) / 2


def grade(question: Question, answer: str, others: Optional[List[Question]] = None, notes: Sequence[str] = ()) -> QuestionGrade:
    """Score one answer. `others` (the rest of the rubric) lets the grader see an answer that is
    a copy of another question or a list of other questions' keywords; `notes` are the reader's
    reasons for a TA to look (where the answer was found, its language)."""
    shown = T.visible(answer)
    text = " ".join(_drop_copied(shown, [question] + list(others or [])).split())
    if not text or not re.search(r"[A-Za-z0-9]", text):
        missing = tuple(f.describe for f in question.facts)
        copied = bool(" ".join(shown.split()))
        feedback = "repeats the question text: no answer" if copied else "unanswered"
        return QuestionGrade(question.id, question.text, answer.strip() if copied else "", 0.0, question.points, (), missing, (),
                             feedback, review=("copies a question's text",) if copied else ())
    nums = numbers(text)
    found, missing, contradictions, evidence = [], [], [], []
    score = 0.0
    cap: Optional[float] = None
    swapped = 0
    for fact in question.facts:
        result = _fact_result(fact, text, nums)
        credit, quotes, against = result.credit, result.quotes, result.contradictions
        contradictions += against
        if result.cap is not None:
            cap = result.cap if cap is None else min(cap, result.cap)
        swapped += result.swapped
        if against and result.numbers_only and credit > 0:
            # right words beside a wrong number ("ImageNet has 140 million images"): half the fact, as a TA marks it
            found.append(fact.id)
            evidence += [(fact.id, q) for q in quotes[:1]]
            score += _half_steps(credit * fact.points / 2)
            missing.append(fact.describe)
            continue
        if against:
            missing.append(fact.describe)
            continue
        if credit > 0:
            found.append(fact.id)
            evidence += [(fact.id, q) for q in quotes[:1]]
            score += _half_steps(credit * fact.points) if credit < 1 else fact.points
        if credit < 1:
            missing.append(fact.describe)
    if swapped >= 2:  # two facts said of the wrong subject: the answer has the architectures the wrong way round
        cap = 0.0
    if any(note.startswith("placement:") for note in notes):  # it answers another question: little of it answers this one
        cap = min(cap if cap is not None else question.points, _half_steps(question.points * MISPLACED_SHARE))
    score = min(score, question.points, cap if cap is not None else question.points)
    review, factor, shape_note = _shape(question, text, others or [], score, bool(contradictions))
    if contradictions:
        review.append("contradicts: " + "; ".join(contradictions[:2]))
    score = _half_steps(score * factor) if factor < 1 else score
    feedback = _feedback(score, question.points, missing, contradictions, evidence, shape_note)
    review.extend(notes)
    confidence = round(max(0.2, 1.0 - 0.3 * len(review)), 2)
    return QuestionGrade(question.id, question.text, answer.strip(), score, question.points, tuple(found), tuple(missing),
                         tuple(dict.fromkeys(contradictions)), feedback, (), tuple(evidence), tuple(dict.fromkeys(review)), confidence)


def _shape(question: Question, text: str, others: List[Question], score: float,
           contradicted: bool = False) -> Tuple[List[str], float, str]:
    """(review reasons, score factor, note): does the answer say something about this question?"""
    review: List[str] = []
    ws = T.words(text)
    if len(ws) > VERY_LONG_ANSWER_WORDS:
        return [f"unusually long answer ({len(ws)} words)"], 1.0, ""
    foreign = _foreign_questions(question, text, others)
    if T.is_term_list(text):
        parts = T.items(text)
        claims = sum(T.informative_item(p) for p in parts) / len(parts)
        if claims < TERSE_CLAIMS or foreign or contradicted:
            return ["a list of terms, not sentences"], LIST_FACTOR, "a list of terms without sentences earns little"
        review.append("a terse list of phrases")
    if len(foreign) >= 4 and len(ws) < STUFFED_WORDS_PER_QUESTION * len(foreign):
        return ["keywords of other questions"], LIST_FACTOR, f"carries the keywords of {len(foreign)} other questions"
    q_words = {w for w in T.words(question.text) if w not in T.STOPWORDS and len(w) > 3}
    on_topic = len(q_words & set(ws)) >= 2
    if len(ws) >= LONG_ANSWER_WORDS and on_topic and score <= 0.34 * question.points:
        review.append("long on-topic answer with few facts found")
    return review, 1.0, ""


# facts too generic to say that an answer is about another question
_GENERIC = {"cites_measurement", "effect_on_precision", "usable_verdict", "slower_learning", "mobilenet_small",
            "inception_depth", "optimizations", "image_database", "pretrained_imagenet", "few_or_many"}


def _foreign_questions(question: Question, text: str, others: List[Question]) -> List[int]:
    """Other questions whose distinctive facts this answer carries (keyword stuffing)."""
    if len(text) > 20000:
        return []
    nums = numbers(text)
    out = []
    for q in others:
        if q.id == question.id:
            continue
        if any(f.id not in _GENERIC and _match(f.match, text, nums, _Evidence())[0] >= 1 for f in q.facts):
            out.append(q.id)
    return out


# -- a copy of a question is not an answer ------------------------------------------------
_SENTENCE = re.compile(r"(?:[^.?!\n]|\.(?=\w))+[.?!]*")


def _trigrams(ws: List[str]) -> set:
    return {tuple(ws[i:i + 3]) for i in range(len(ws) - 2)}


# per rubric (its question texts): (trigrams, squashed texts, patterns of each pasted text)
_COPIED: Dict[Tuple[str, ...], Tuple[set, str, List[re.Pattern]]] = {}


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", T.visible(text).lower())


def _drop_copied(text: str, questions: List[Question]) -> str:
    """The answer without sentences copied from any question's text."""
    questions = sorted({q.id: q for q in questions}.values(), key=lambda q: q.id)  # one entry per rubric
    key = tuple(q.text + "\n" + q.continues for q in questions)
    if key not in _COPIED:
        grams: set = set()
        for q in questions:
            grams |= _trigrams(T.words(q.text)) | _trigrams(T.words(q.continues))
        squashed = "\n".join(_squash(q.text) + "\n" + _squash(q.continues) for q in questions)
        pasted = [re.compile(r"\s+".join(map(re.escape, T.visible(part).split())), re.IGNORECASE)
                  for q in questions for part in (q.text, q.continues) if part.strip()]
        _COPIED[key] = (grams, squashed, pasted)
    grams, squashed, patterns = _COPIED[key]
    for pasted in patterns:  # a pasted question or its command line, anywhere in the answer
        text = pasted.sub(" ", text)
    kept, pos = [], 0
    for m in _SENTENCE.finditer(text):
        ws = T.words(m.group(0))
        tri = _trigrams(ws)
        flat = _squash(m.group(0))
        if (len(ws) >= 5 and tri and len(tri & grams) / len(tri) >= 0.75) or (len(flat) >= 15 and flat in squashed):
            kept.append(text[pos:m.start()] + " ")
            pos = m.end()
    kept.append(text[pos:])
    return "".join(kept)


def _feedback(score: float, max_score: float, missing: List[str], contradictions: List[str],
              evidence: List[Tuple[str, str]], shape_note: str) -> str:
    parts = []
    if shape_note:
        parts.append(shape_note)
    if contradictions:
        parts.append("contradicts the facts: " + "; ".join(contradictions))
    if missing:
        parts.append("missing: " + "; ".join(missing))
    if evidence:
        parts.append("found: " + "; ".join(f"{fid} (\"{q}\")" for fid, q in evidence))
    return "; ".join(parts) or "complete"
