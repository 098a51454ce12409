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
from . import inputs
from . import text as T
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
    located: Dict[int, str] = field(default_factory=dict)  # question id -> "text", "numbering" or "paraphrase"


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


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (plain YAML keeps the last one silently)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        where = f"{loader.name}: line {key_node.start_mark.line + 1}"
        if not isinstance(key_node, yaml.ScalarNode):
            raise AnswersError(f"{where}: a key must be a plain name or number, not a {'list' if isinstance(key_node, yaml.SequenceNode) else 'mapping'}")
        if key_node.tag.endswith(":int") and re.fullmatch(r"[+-]?0\d+", key_node.value):
            raise AnswersError(f"{where}: key '{key_node.value}' has a leading zero (YAML would read it as octal); write {int(key_node.value, 10)}")
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise AnswersError(f"{loader.name}: line {key_node.start_mark.line + 1}: key '{key}' appears twice")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_answers_yaml(text: str, source: str, rubric: Rubric) -> Answers:
    loader = None
    try:
        loader = _UniqueKeyLoader(text)  # the reader itself refuses control characters
        loader.name = source
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise AnswersError(f"{source}: not valid YAML ({' '.join(str(exc).split())[:300]})") from None
    except RecursionError:
        raise AnswersError(f"{source}: nested too deeply to be answers") from None
    finally:
        if loader is not None:
            loader.dispose()
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
    return Answers(source, "answers.yaml", answers, student.strip())


def _question_id(key) -> Optional[int]:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    m = re.fullmatch(r"\s*(?:q|question\s*)?([1-9]\d?)\s*", str(key), re.IGNORECASE)
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


def _content_words(text: str) -> set:
    return {w for w in _norm(text).split() if len(w) > 2 and w not in T.STOPWORDS}


_PAIRS: Dict[str, set] = {}


def _pairs(normed: str, cache: bool = False) -> set:
    """Adjacent word pairs (question texts are cached)."""
    if normed in _PAIRS:
        return _PAIRS[normed]
    ws = normed.split()
    pairs = set(zip(ws, ws[1:]))
    if cache and len(_PAIRS) < 256:
        _PAIRS[normed] = pairs
    return pairs


_QNORM: Dict[str, str] = {}


def _similarity(question: str, body: str, q_words: Optional[set] = None, normed: Optional[str] = None,
                pairs: Optional[set] = None) -> float:
    if question not in _QNORM:
        _QNORM[question] = _norm(question)
    q, b = _QNORM[question], (normed if normed is not None else _norm(body))
    if len(b) < min(15, len(q)):
        return 0.0
    if q_words is not None:  # cheap test first: difflib only where the question's word pairs recur
        q_pairs, b_pairs = _pairs(q, cache=True), (pairs if pairs is not None else _pairs(b[: len(q) + 40]))
        shared = len(q_pairs & b_pairs)
        if shared < 2 or shared < 0.4 * min(len(q_pairs), len(b_pairs)):
            return 0.0
    score = 0.0
    for a, c in ((q, b[: len(q) + 5]),) + (((q[: len(b)], b),) if 40 <= len(b) < len(q) else ()):  # or wrapped
        matcher = difflib.SequenceMatcher(None, a, c, autojunk=False)
        if matcher.real_quick_ratio() >= MATCH_THRESHOLD and matcher.quick_ratio() >= MATCH_THRESHOLD:
            score = max(score, matcher.ratio())
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
    text = re.sub(r"^[ \t]*(```+|~~~+|-{3,}|\*{3,})[ \t]*$", "", text, flags=re.MULTILINE).strip()
    return "" if _norm(text) in _PLACEHOLDERS or not re.search(r"[A-Za-z0-9]", text) else text


_NUMBERED = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]*)?(?:\*\*|__)?(?:(?:question|q)[ \t]*)?(\d{1,2})[.):][ \t]+(.{0,400})", re.IGNORECASE)
_TABLE_ROW = re.compile(r"^[ \t]{0,3}\|[ \t]*(?:\*\*|__)?(?:(?:question|q)[ \t]*)?(\d{1,2})(?:\*\*|__)?[ \t]*[.):]?[ \t]*\|(.*)$",
                        re.IGNORECASE)
_LABELLED = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]*)?(?:\*\*|__)?(?:question|q)[ \t]*(\d{1,2})\b[ \t]*[.):*_-]*[ \t]*$", re.IGNORECASE)
PARAPHRASE_WORDS = 0.34  # share of the question's content words a paraphrased question line shares


def _question_like(body: str) -> bool:
    return "?" in body[:400] or body.lstrip().startswith(("**", "__"))


def read_writeup(text: str, source: str, rubric: Rubric) -> Answers:
    lines = T.visible(text).splitlines()
    bodies = [_strip_markers(line[:2000]) for line in lines]
    q_words = {q.id: _content_words(q.text) for q in rubric.questions.values()}
    candidates = []
    for index, (offset, body) in enumerate(bodies):
        if len(body) < 15:
            continue
        normed = _norm(body[:2000])
        pairs = _pairs(normed[:600])
        for q in rubric.questions.values():
            score = _similarity(q.text, body, q_words[q.id], normed, pairs)
            if score >= MATCH_THRESHOLD:
                candidates.append((score, q.id, index))
    anchors: Dict[int, int] = {}
    for score, qid, index in sorted(candidates, reverse=True):
        if qid not in anchors and index not in anchors.values():
            anchors[qid] = index
    located = {qid: "text" for qid in anchors}
    _anchor_by_structure(lines, bodies, rubric, q_words, anchors, located)
    starts = sorted(anchors.values())
    answers = {qid: "" for qid in rubric.questions}
    for qid, index in anchors.items():
        q = rubric.questions[qid]
        body = bodies[index][1]
        row = _TABLE_ROW.match(lines[index]) if located[qid] != "text" else None
        if row:  # | 4 | the question | the answer |  or  | 4 | the answer |
            cells = [c.strip() for c in row.group(2).split("|") if c.strip()]
            same_line = cells[-1] if cells else ""
        else:
            same_line = body[_question_end(q.text, body):] if located[qid] == "text" else _after_question(body)
        heading = _HEADING.match(lines[index])
        following = [s for s in starts if s > index]
        for j in range(index + 1, following[0] if following else len(lines)):
            h = _HEADING.match(lines[j])
            if h and (not heading or len(h.group(1)) <= len(heading.group(1))):
                end = j
                break
        else:
            end = following[0] if following else len(lines)
        answers[qid] = _clean_answer([same_line] + lines[index + 1:end], q)
    return Answers(source, "write-up", answers, _student(lines), dict(sorted(anchors.items())),
                   {qid: located[qid] for qid in sorted(anchors)})


def _after_question(body: str) -> str:
    """What follows a paraphrased question on its line: after its '?', its bold end or a spaced dash."""
    if not _question_like(body):
        return body  # a numbered answer with no question on its line
    for marker in ("?**", "**", "?__", "__", "?"):
        i = body.find(marker, 2 if marker in ("**", "__") else 0)
        if i >= 0:
            return body[i + len(marker):]
    return ""


def _anchor_by_structure(lines, bodies, rubric: Rubric, q_words, anchors: Dict[int, int], located: Dict[int, str]) -> None:
    """Questions not found by their text: a numbered line between the questions around it
    ("4. **What is the difference between MobileNet and GoogLeNet?**"), or a question line that
    shares many of the question's words, in the order of the homework."""
    ids = sorted(rubric.questions)
    candidates = [i for i, (_, body) in enumerate(bodies) if _LABELLED.match(lines[i]) or _TABLE_ROW.match(lines[i])
                  or (len(body) >= 3 and (_NUMBERED.match(lines[i]) or _question_like(body)))]
    words = {i: _content_words(bodies[i][1][:400]) for i in candidates}
    numbered = [(i, int(m.group(1))) for i, m in ((i, _NUMBERED.match(lines[i])) for i in candidates) if m]
    numbers = [n for _, n in numbered]
    # answers numbered 1..13 without the questions: trust the numbering when it is the homework's own
    # (increasing, covering most questions, and agreeing with every question found by its text)
    bare_ok = (numbers == sorted(set(numbers)) and len(set(numbers) & set(ids)) >= len(ids) // 2
               and all(anchors.get(n, i) == i for i, n in numbered if n in anchors or i in anchors.values())
               and all(n == qid for qid, i in anchors.items() for j, n in numbered if j == i))

    def window(qid: int):
        before = [anchors[i] for i in ids if i < qid and i in anchors]
        after = [anchors[i] for i in ids if i > qid and i in anchors]
        return (max(before) if before else -1), (min(after) if after else len(lines))

    for qid in ids:
        if qid in anchors:
            continue
        lo, hi = window(qid)
        taken = set(anchors.values())
        best = None
        for index in candidates:
            if index <= lo or index >= hi or index in taken:
                continue
            m = _NUMBERED.match(lines[index])
            label = _LABELLED.match(lines[index]) or _TABLE_ROW.match(lines[index])
            body = bodies[index][1]
            shared = len(q_words[qid] & words[index]) / max(1, len(q_words[qid]))
            if label and int(label.group(1)) == qid:  # "## Question 4" on its own line
                best = (index, "numbering")
                break
            if m and int(m.group(1)) == qid and (bare_ok or _question_like(body) or shared >= 0.2):
                best = (index, "numbering")
                break
            if shared >= PARAPHRASE_WORDS and _question_like(body) and (best is None or best[1] != "numbering"):
                best = best or (index, "paraphrase")
        if best:
            anchors[qid], located[qid] = best


def _student(lines: List[str]) -> str:
    for line in lines[:15]:
        m = re.match(r"^[^\w\n]{0,10}(?:name|student|author)[^\w\n]{0,10}[:\-][ \t]*(.{1,200})", line[:300], re.IGNORECASE)
        if m:
            return m.group(1).strip(" \t*_#:-")
    return ""
