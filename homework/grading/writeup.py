"""Reading a free-form write-up: where each answer is, and which question it answers.

Students mark their answers in many ways: the question's text copied (in bold, as a heading, in a
list item, with typos), a label ("Q4:", "**Question 4**", "Pregunta 4"), or only their own
numbering (a list 1-13, or sections that begin with "1. Introduction", so that question 1 is their
section 3). The reader finds three kinds of anchors and trusts them in this order:

1. a question's text (or a close paraphrase) on a line: the answer is to that question;
2. a label naming a question or its answer ("Q4", "Question 4", "A4.", "Answer 4:"): the student says
   which question it answers;
3. the write-up's own numbering (the list or heading style whose numbers run in order longest):
   its numbers are the questions' when the content agrees; when the content fits the numbers
   shifted by k (an introduction first), the answers are placed by content, and each says so.

An answer runs from its anchor to the next anchor, or to a heading that closes its section. Then
every answer is compared with the topic of its question (rubric `topic`): one that reads like an
answer to another question is flagged for review and said so, never moved silently; an answer
that is not in English is flagged for review, never called unanswered.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

from . import text as T
from .rubric import Question, Rubric

MATCH_THRESHOLD = 0.72  # a line is a question's text when this similar to it
PARAPHRASE_WORDS = 0.5  # ... or, ending in "?" or bold, when it shares this share of its content words
SHIFTS = range(-4, 5)  # how far a write-up's numbering may run from the homework's
MISPLACED_MARGIN = 2  # topic patterns another question must lead by to flag an answer as misplaced

_MARKER = re.compile(
    r"^\s*(?:#{1,6}\s*|>\s*|[-*+]\s+|\*\*|__|\*|_|`|\d{1,2}[.)]\s*|\(\d{1,2}\)\s*"
    r"|(?:question|q)\s*\d{1,2}\s*[:.)-]?\s*|(?:question|q)\s*[:.-]\s*)",
    re.IGNORECASE,
)
_LABEL = re.compile(
    r"^[ \t>]*(?:[-*+][ \t]+)?(?:#{1,6}[ \t]*)?(?:\*\*|__|\*|_)?[ \t]*"
    r"(?:q|question|quest[aã]o|pregunta|frage|domanda)[ \t]*(?:#|n[o°º]\.?)?[ \t]*(\d{1,2})(?!\d|\.\d)"
    r"(?:[ \t]*\([^()\n]{0,40}\))?[ \t]*(?:\*\*|__|\*|_)?[ \t]*[.:)\]–—-]*[ \t]*(?:\*\*|__|\*|_)?", re.IGNORECASE)
_ANSWER_LABEL = re.compile(  # "A1.", "Ans 1:", "Answer to Q1 -": the student labels the answer, not the question
    r"^[ \t>]*(?:[-*+][ \t]+)?(?:#{1,6}[ \t]*)?(?:\*\*|__|\*|_)?[ \t]*"
    r"(?:[ar](\d{1,2})[ \t]*[.:)]|(?:ans|answer|answers|respuesta|resposta)[ \t]*(?:to[ \t]*)?(?:q(?:uestion)?[ \t]*)?#?[ \t]*"
    r"(\d{1,2})(?!\d|\.\d)[ \t]*[.:)\]–—-]*)[ \t]*(?:\*\*|__|\*|_)?", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?P<indent>[ \t]*)(?P<hash>#{1,6}[ \t]*)?(?P<bold>\*\*|__)?[ \t]*\(?(?P<n>\d{1,2})"
                       r"(?:[.):](?:\*\*|__)?(?=\s|$)|(?(hash)(?=[ \t]+[A-Za-z])|(?!)))")
_TABLE_ROW = re.compile(r"^[ \t]{0,3}\|[ \t]*(?:\*\*|__)?(?:(?:question|q)[ \t]*)?(\d{1,2})(?:\*\*|__)?[ \t]*[.):]?[ \t]*\|(.*)$", re.IGNORECASE)
_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_LEAD_PUNCT = r"(?:[\s*_`?:.)\]|]+|[–—-]+(?=\s))*"  # a dash only when spaced: "--input_layer" is an answer
_ANSWER_LEAD = re.compile(rf"^{_LEAD_PUNCT}(?:(?:answer|ans|a|response|respuesta)\s*[:.–—-]+)?{_LEAD_PUNCT}", re.IGNORECASE)
PLACEHOLDERS = {"", "answer", "todo", "tbd", "n a", "na", "your answer", "your answer here", "answer here",
                "write your answer here", "tba"}


@dataclass(frozen=True)
class Anchor:
    line: int
    qid: int
    start: int  # column where the answer may begin on the anchor's own line
    how: str  # "text", "label", "numbering", or "numbering shifted by k"
    heading: int = 0  # heading level of the anchor's line (0: not a heading)


@dataclass(frozen=True)
class Reading:
    answers: Dict[int, str]
    where: Dict[int, int]  # question id -> line number (0-based) of its anchor
    located: Dict[int, str]  # question id -> how it was found
    notes: Dict[int, Tuple[str, ...]]  # question id -> what a TA should know about where the answer was found


def read(text: str, rubric: Rubric) -> Reading:
    lines = T.visible(text).splitlines()
    fenced = _fenced(lines)
    questions = rubric.questions
    anchors: Dict[int, Anchor] = {}
    notes: Dict[int, List[str]] = {}
    taken: Set[int] = set()

    def place(anchor: Anchor, reserved: Set[int] = frozenset()) -> None:
        if anchor.qid in questions and anchor.qid not in anchors and anchor.line not in taken | reserved:
            anchors[anchor.qid] = anchor
            taken.add(anchor.line)

    by_text = _text_anchors(lines, fenced, questions)
    labels = _label_anchors(lines, fenced, questions)
    empty = [a for a in by_text if a.how != "text"]  # a copied question with no answer under it (the pasted handout)
    for anchor in by_text:
        label = next((a for a in labels if a.line == anchor.line), None)
        if label is not None and label.qid != anchor.qid:
            notes.setdefault(anchor.qid, []).append(f"labelled Q{label.qid} but copies question {anchor.qid}'s text")
        if anchor not in empty:
            place(anchor)
    copied = {a.line for a in empty}  # a line that copies a question's text is that question's, whatever its number
    for anchor in labels:
        place(anchor, copied)
    for anchor in _numbered_anchors(lines, fenced, questions, anchors):
        place(anchor, copied)
    for anchor in empty:  # the question is there but unanswered, unless a label or the numbering found its answer
        place(anchor)
    if len(anchors) < 3 or all(a.how == "text" for a in anchors.values()):
        for anchor in _paraphrase_anchors(lines, fenced, questions, anchors):
            place(anchor)

    answers = {qid: "" for qid in questions}
    ordered = sorted(anchors.values(), key=lambda a: a.line)
    stops = {a.line for a in ordered} | _section_ends(lines, fenced)
    for anchor in ordered:
        answers[anchor.qid] = _answer(lines, anchor, stops, fenced, questions[anchor.qid])
        if anchor.how.startswith("numbering shifted"):
            notes.setdefault(anchor.qid, []).append(f"answer located by content: the write-up's {anchor.how}")
    for qid, answer in answers.items():
        notes.setdefault(qid, []).extend(content_notes(qid, answer, rubric))
    return Reading(answers, {a.qid: a.line for a in ordered}, {a.qid: a.how for a in ordered},
                   {qid: tuple(dict.fromkeys(n)) for qid, n in notes.items() if n})


# -- anchors -----------------------------------------------------------------------------------

def _fenced(lines: Sequence[str]) -> List[bool]:
    """True for lines inside (or opening/closing) a code fence: never an anchor or a section end."""
    inside, out = False, []
    for line in lines:
        if _FENCE.match(line):
            out.append(True)
            inside = not inside
        else:
            out.append(inside)
    return out


def _heading_level(line: str) -> int:
    m = _HEADING.match(line)
    return len(m.group(1)) if m else 0


def _text_anchors(lines, fenced, questions: Dict[int, Question]) -> List[Anchor]:
    """Lines that copy a question's text, best match first, each question and line once."""
    candidates = []
    q_words = {qid: content_words(q.text) for qid, q in questions.items()}
    for index, line in enumerate(lines):
        if fenced[index]:
            continue
        offset, body = strip_markers(line[:2000])
        if len(body) < 15:
            continue
        normed = norm(body)
        pairs = _pairs(normed[:600])
        for qid, q in questions.items():
            score = similarity(q.text, body, q_words[qid], normed, pairs)
            if score >= MATCH_THRESHOLD:
                candidates.append((score, qid, index, offset + question_end(q.text, body)))
    # A question's text may be there twice: the handout pasted at the top, then the answers. The copy
    # followed by an answer (before the next question line or heading) is the anchor.
    question_lines = {index for _, _, index, _ in candidates}

    def answered(qid: int, index: int, start: int) -> bool:
        said = [lines[index][start:]]
        for j in range(index + 1, len(lines)):
            if j in question_lines or (not fenced[j] and _HEADING.match(lines[j])):
                break
            if not _belongs_to_question(lines[j], questions[qid]):  # the command line under Q13 is the question's
                said.append(lines[j])
            if len(said) > 40:
                break
        return len(content_words(" ".join(said))) >= 3

    chosen: List[Anchor] = []
    used_q, used_line = set(), set()
    for score, qid, index, start in sorted(candidates, key=lambda c: (-answered(c[1], c[2], c[3]), -c[0], c[2])):
        if qid not in used_q and index not in used_line:
            how = "text" if answered(qid, index, start) else "text, nothing under it"
            chosen.append(Anchor(index, qid, start, how, _heading_level(lines[index])))
            used_q.add(qid)
            used_line.add(index)
    return chosen


def _label_anchors(lines, fenced, questions) -> List[Anchor]:
    """'Q4:', '**Question 4.**', '## Question 4', '| 4 | answer |': the first label of each question."""
    found, seen = [], set()
    for index, line in enumerate(lines):
        if fenced[index]:
            continue
        m = _LABEL.match(line) or _ANSWER_LABEL.match(line) or _TABLE_ROW.match(line)
        if not m:
            continue
        qid = int(m.group(1) or m.group(2)) if m.re is _ANSWER_LABEL else int(m.group(1))
        if qid in questions and qid not in seen:
            start = m.start(2) if m.re is _TABLE_ROW else m.end()
            found.append(Anchor(index, qid, start, "label", _heading_level(line)))
            seen.add(qid)
    return found


def _numbered_anchors(lines, fenced, questions, placed: Dict[int, Anchor]) -> List[Anchor]:
    """The write-up's own numbering: the style (indent, heading level, bold) whose numbers run in
    order the longest; its numbers mapped to questions directly, or shifted by the offset that the
    anchors already placed (or, failing those, the answers' content) show."""
    styles: Dict[Tuple, List[Tuple[int, int, int]]] = {}
    for index, line in enumerate(lines):
        if fenced[index]:
            continue
        m = _NUMBERED.match(line)
        if m:
            key = (len(m.group("indent").expandtabs(4)) // 2, len((m.group("hash") or "").strip()), bool(m.group("bold")))
            styles.setdefault(key, []).append((index, int(m.group("n")), m.end()))
    best: List[Tuple[int, int, int]] = []
    for key, items in sorted(styles.items()):
        run = _longest_increasing(items)
        if len(run) > len(best):
            best = run
    if len(best) < 3:
        return []
    shift = _shift_from_anchors(best, placed) if placed else None
    if shift is None:
        shift = _shift_from_content(lines, best, questions)
    how = "numbering" if shift == 0 else f"numbering shifted by {shift} (its {best[0][1]}. is question {best[0][1] - shift})"
    return [Anchor(index, n - shift, start, how, _heading_level(lines[index])) for index, n, start in best if n - shift in questions]


def _longest_increasing(items: List[Tuple[int, int, int]]) -> List[Tuple[int, int, int]]:
    """The longest run of strictly increasing numbers in line order (patience sorting, O(n log n))."""
    import bisect

    tails: List[int] = []
    tail_index: List[int] = []
    parent = [-1] * len(items)
    for i, (_, n, _) in enumerate(items):
        k = bisect.bisect_left(tails, n)
        if k == len(tails):
            tails.append(n)
            tail_index.append(i)
        else:
            tails[k], tail_index[k] = n, i
        parent[i] = tail_index[k - 1] if k else -1
    out, i = [], tail_index[-1] if tail_index else -1
    while i >= 0:
        out.append(items[i])
        i = parent[i]
    return out[::-1]


def _shift_from_anchors(run, placed: Dict[int, Anchor]) -> Optional[int]:
    """The numbering's offset where a numbered line is (or sits right above) an anchor already placed."""
    offsets = []
    for index, n, _ in run:
        for anchor in placed.values():
            if 0 <= anchor.line - index <= 2:
                offsets.append(n - anchor.qid)
                break
    if not offsets:
        return None
    top = max(set(offsets), key=offsets.count)
    return top if offsets.count(top) * 2 > len(offsets) else None


def _shift_from_content(lines, run, questions: Dict[int, Question]) -> int:
    """The offset under which the numbered sections' content best fits the questions' topics; 0
    unless another offset fits clearly better."""
    ends = [i for i, _, _ in run[1:]] + [len(lines)]
    sections = [(n, "\n".join(lines[index:end])) for (index, n, _), end in zip(run, ends)]
    fit = {k: sum(questions[n - k].topic_score(body) for n, body in sections if n - k in questions) for k in SHIFTS}
    best = max(SHIFTS, key=lambda k: (fit[k], -abs(k)))
    return best if best != 0 and fit[best] >= fit[0] + 3 and fit[best] >= 1.3 * fit[0] else 0


def _paraphrase_anchors(lines, fenced, questions, placed: Dict[int, Anchor]) -> List[Anchor]:
    """A question line in the student's own words ("What's the story with TensorRT?"), between the
    anchors around it: ending in '?' or in bold, sharing half of the question's content words."""
    found = []
    placed_lines = {a.line: a.qid for a in placed.values()}
    for qid, q in questions.items():
        if qid in placed:
            continue
        before = max((a.line for a in placed.values() if a.qid < qid), default=-1)
        after = min((a.line for a in placed.values() if a.qid > qid), default=len(lines))
        words = content_words(q.text)
        for index in range(before + 1, after):
            if fenced[index] or index in placed_lines:
                continue
            body = strip_markers(lines[index][:400])[1]
            if ("?" in body or body.startswith(("**", "__"))) and len(words & content_words(body)) >= PARAPHRASE_WORDS * len(words):
                found.append(Anchor(index, qid, len(lines[index]), "paraphrase", _heading_level(lines[index])))
                placed_lines[index] = qid
                break
    return found


def _section_ends(lines, fenced) -> Set[int]:
    """Headings outside code fences: a heading closes the answer above it unless that answer's own
    anchor is a heading of a higher level (then deeper headings belong to it)."""
    return {i for i, line in enumerate(lines) if not fenced[i] and _HEADING.match(line)}


def _answer(lines, anchor: Anchor, stops: Set[int], fenced, question: Question) -> str:
    end = len(lines)
    for j in range(anchor.line + 1, len(lines)):
        if j in stops:
            level = _heading_level(lines[j])
            if level and anchor.heading and level > anchor.heading and not _is_anchor_line(j, stops, lines):
                continue  # a subsection of a heading anchor
            end = j
            break
    first = lines[anchor.line][anchor.start:] if anchor.how != "paraphrase" else ""
    if anchor.how != "text":
        first = after_question(first)
    return clean_answer([first] + lines[anchor.line + 1:end], question)


def after_question(body: str) -> str:
    """What follows a question in the student's own words on its line ("4. **How do they differ?** - ..."):
    after its '?' or its bold end; the whole line when it asks nothing."""
    head = body[:400]
    if "?" not in head and not head.lstrip().startswith(("**", "__")):
        return body
    for marker in ("?**", "?__", "**", "__", "?"):
        i = body.find(marker, 2 if marker in ("**", "__") else 0)
        if 0 <= i < 400:
            return body[i + len(marker):]
    return body


def _is_anchor_line(index: int, stops: Set[int], lines) -> bool:
    return bool(_LABEL.match(lines[index]) or _NUMBERED.match(lines[index]))


# -- what an answer is about ------------------------------------------------------------------------

_LANGUAGES = {
    "Spanish": "el la los las de del que y en es por para una un con se su como más pero esta este son lo al fue muy también entre",
    "French": "le la les des du de et est une un pour que qui dans en sur pas plus avec ce cette sont par au aux mais très",
    "German": "der die das und ist nicht ein eine mit den dem des zu von auf für sich auch wird werden sind bei aus oder",
    "Portuguese": "o a os as de do da dos das e é em um uma para com que não por mais se como mas foi são ao também",
    "Italian": "il lo la i gli le di del della e è un una per con che non sono più anche come ma questo questa nel",
}
_LANGUAGE_WORDS = {name: set(words.split()) for name, words in _LANGUAGES.items()}
_ENGLISH = set(T.STOPWORDS)


def language(answer: str) -> str:
    """"English", or the language whose common words an answer of some length is mostly made of."""
    words = re.findall(r"[a-záéíóúàèìòùâêôãõçñäöüß]+", answer.lower())
    if len(words) < 8:
        return "English"
    english = sum(w in _ENGLISH for w in words)
    scores = {name: sum(w in vocab and w not in _ENGLISH for w in words) for name, vocab in _LANGUAGE_WORDS.items()}
    name, count = max(scores.items(), key=lambda item: item[1])
    return name if count >= 3 and count > english else "English"


def content_notes(qid: int, answer: str, rubric: Rubric) -> List[str]:
    """Why a TA should look at where this answer sits: another language, or another question's topic."""
    if not answer.strip():
        return []
    said = language(answer)
    if said != "English":
        return [f"language: reads as {said}; the grader reads English"]
    question = rubric.questions[qid]
    own = question.topic_score(answer)
    others = [(q.topic_score(answer), q.id) for q in rubric.questions.values() if q.id != qid]
    score, other = max(others)
    if score >= own + MISPLACED_MARGIN and score >= 3:
        return [f"placement: placed under Q{qid}, but reads like an answer to Q{other}"]
    return []


def shifted_keys(answers: Dict[int, str], rubric: Rubric) -> Optional[int]:
    """+1 or -1 when most answers read like the answers to the next (or previous) question: answers
    that slid one key down or up (checked for answers.yaml, whose keys name the questions)."""
    answered = [qid for qid, text in answers.items() if text.strip()]
    if len(answered) < 4:
        return None
    for step in (1, -1):
        fits = 0
        for qid in answered:
            other = rubric.questions.get(qid + step)
            own = rubric.questions[qid].topic_score(answers[qid])
            if other is not None and other.topic_score(answers[qid]) >= own + MISPLACED_MARGIN:
                fits += 1
        if fits * 5 >= len(answered) * 3:
            return step
    return None


# -- text helpers shared with answers.yaml reading -------------------------------------------------

def norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def strip_markers(line: str) -> Tuple[int, str]:
    """(offset, body): the line without list, heading, quote, emphasis and 'Question N:' markers."""
    offset = 0
    while True:
        m = _MARKER.match(line, offset)
        if not m or m.end() == offset:
            return offset, line[offset:]
        offset = m.end()


def content_words(text: str) -> set:
    return {w for w in norm(text).split() if len(w) > 2 and w not in T.STOPWORDS}


_PAIRS: Dict[str, set] = {}


def _pairs(normed: str, cache: bool = False) -> set:
    if normed in _PAIRS:
        return _PAIRS[normed]
    ws = normed.split()
    pairs = set(zip(ws, ws[1:]))
    if cache and len(_PAIRS) < 256:
        _PAIRS[normed] = pairs
    return pairs


def similarity(question: str, body: str, q_words: Optional[set] = None, normed: Optional[str] = None,
               pairs: Optional[set] = None) -> float:
    q, b = norm(question), (normed if normed is not None else norm(body))
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


def question_end(question: str, body: str) -> int:
    """Where the copied question ends inside `body` (the answer may follow on the same line)."""
    window = body[: int(len(question) * 1.3) + 10].lower()
    blocks = difflib.SequenceMatcher(None, question.lower(), window, autojunk=False).get_matching_blocks()
    ends = [b + size for a, b, size in blocks if size >= 3]
    return max(ends) if ends else 0


def _belongs_to_question(line: str, question: Question) -> bool:
    """A line that only continues the copied question (a wrapped tail, the command under Q13)."""
    n = norm(line)
    if not n:
        return True
    for part in (question.text, question.continues):
        p = norm(part)
        if p and len(n) >= 8:
            m = difflib.SequenceMatcher(None, p, n, autojunk=False).find_longest_match(0, len(p), 0, len(n))
            if m.size >= 0.85 * len(n):
                return True
    return False


def clean_answer(lines: List[str], question: Question) -> str:
    kept = []
    for line in lines:
        if not kept and _belongs_to_question(line, question):
            continue
        body = strip_markers(line)[1] if not kept else line
        kept.append(_ANSWER_LEAD.sub("", body, count=1) if not kept else body)
    text = "\n".join(line.rstrip() for line in kept).strip()
    text = re.sub(r"^[ \t]*(```+|~~~+|-{3,}|\*{3,})[ \t]*$", "", text, flags=re.MULTILINE).strip()
    return "" if norm(text) in PLACEHOLDERS or not re.search(r"[A-Za-z0-9]", text) else text


def student(lines: List[str]) -> str:
    for line in lines[:15]:
        m = re.match(r"^[^\w\n]{0,10}(?:name|student|author)[^\w\n]{0,10}[:\-][ \t]*(.{1,200})", line[:300], re.IGNORECASE)
        if m:
            return m.group(1).strip(" \t*_#:-")
    return ""
