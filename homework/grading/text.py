"""What an answer says, as a reader sees it: visible text only, clauses, negation, and
whether the answer is prose or a bare list of terms.

Every pattern here is linear in the input (no nested unbounded repeats), and what a reader
does not see as prose is removed before anything is matched: HTML comments, tags and their
attributes, hidden elements, link targets and titles, link definitions, images and their alt
text, bare web addresses, zero-width and bidi control characters.
"""
from __future__ import annotations

import re
from typing import List, Tuple

_HIDDEN_OPEN = re.compile(
    r"<(\w{1,20})\b[^<>]{0,500}?(?:\bhidden\b|display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0"
    r"|opacity\s*:\s*0(?![.\d]*[1-9])|aria-hidden\s*=\s*[\"']?true|(?<![\w-])color\s*[:=]\s*[\"']?(?:white|transparent|#fff(?:fff)?\b))[^<>]{0,500}>", re.IGNORECASE)
_SCRIPT_OPEN = re.compile(r"<(script|style|template|noscript)\b[^<>]{0,500}>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,500}>")
_LINK_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]\n]{0,200}\]:[^\n]*$", re.MULTILINE)  # [ref]: target "title": not shown
_IMAGE = re.compile(r"!\[[^\]\n]{0,500}\]\([^)\n]{0,2000}\)|!\[[^\]\n]{0,500}\]\[[^\]\n]{0,200}\]")  # alt text is no answer
_LINK = re.compile(r"\[([^\]\n]{0,500})\]\([^)\n]{0,2000}\)")  # [shown](target "title"): only what is shown
_URL = re.compile(r"<?\b(?:https?://|www\.)[^\s<>]{1,2000}>?", re.IGNORECASE)  # an address is not prose
# zero-width, soft hyphen, bidi embeddings/overrides/isolates, BOM
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _cut(text: str, start_token: str, end_token: str) -> str:
    """Remove every start_token ... end_token span (an unclosed one runs to the end), in one pass."""
    out, pos = [], 0
    lower = text.lower()
    while True:
        i = lower.find(start_token, pos)
        if i < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:i])
        j = lower.find(end_token, i + len(start_token))
        if j < 0:
            return "".join(out)
        pos = j + len(end_token)


def _cut_elements(text: str, opener: re.Pattern) -> str:
    out, pos = [], 0
    while True:
        m = opener.search(text, pos)
        if not m:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:m.start()])
        close = text.lower().find(f"</{m.group(1).lower()}", m.end())
        if close < 0:
            return "".join(out)
        end = text.find(">", close)
        pos = len(text) if end < 0 else end + 1


def visible(text: str) -> str:
    """The text a reader of the rendered Markdown sees."""
    text = _INVISIBLE.sub("", _CONTROL.sub(" ", text))
    text = _cut(text, "<!--", "-->")
    text = _cut_elements(text, _SCRIPT_OPEN)
    text = _cut_elements(text, _HIDDEN_OPEN)
    text = _LINK_DEFINITION.sub("", text)
    text = _IMAGE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub(" ", text)
    return _URL.sub(" ", text)


# -- clauses and negation ---------------------------------------------------------------
_BOUNDARY = re.compile(r"[;!?\n()\[\]]|\.(?!\d)|,\s*(?:but|while|whereas|although|however)\b|\bbut\b|\bwhereas\b|\bwhile\b",
                       re.IGNORECASE)
NEGATION = re.compile(r"\b(?:not|no|never|without|neither|nor|cannot|none|hardly|barely|isn't|aren't|wasn't|weren't|"
                      r"doesn't|don't|didn't|won't|can't|couldn't|shouldn't|wouldn't|lack\w*|fail\w* to|"
                      r"isnt|arent|wasnt|werent|doesnt|dont|didnt|wont|cant|couldnt|shouldnt|wouldnt|havent|hasnt)\b|n[’']t\b",
                      re.IGNORECASE)  # typed without the apostrophe too ("weights dont get updated")
_NOT_NEGATION = re.compile(r"\b(?:not only|no longer than|no doubt|not just|whether or not|no matter)\b", re.IGNORECASE)


def clause_bounds(text: str, start: int, end: int, reach: int = 160) -> Tuple[int, int]:
    """The clause around text[start:end] (bounded by `reach` characters on each side)."""
    lo, hi = max(0, start - reach), min(len(text), end + reach)
    left = lo
    for m in _BOUNDARY.finditer(text, lo, start):
        left = m.end()
    m = _BOUNDARY.search(text, end, hi)
    return left, (m.start() if m else hi)


def clause(text: str, start: int, end: int) -> str:
    lo, hi = clause_bounds(text, start, end)
    return text[lo:hi]


def negated(text: str, start: int, window: int = 45) -> bool:
    """Is the phrase starting at `start` negated within its clause ("not updated", "doesn't use")?"""
    lo = clause_bounds(text, start, start)[0]
    before = text[max(lo, start - window):start]
    before = _NOT_NEGATION.sub(" ", before)
    return NEGATION.search(before) is not None


def quote(text: str, start: int, end: int, width: int = 90) -> str:
    """The words around a match, for a TA to see why: '...frozen layers are not updated...'."""
    lo, hi = clause_bounds(text, start, end)
    if hi - lo > width:
        pad = max(0, (width - (end - start)) // 2)
        lo, hi = max(lo, start - pad), min(hi, end + pad)
    snippet = " ".join(text[lo:hi].split())
    return snippet.strip(" ,;:-")


# -- does the answer say something? ----------------------------------------------------
STOPWORDS = frozenset("""a an the of to in on for with by from that this these those it its which who what and or as at so
than then because while is are was were be been being has have had do does did can could will would should may might must
there their they we i you he she our my your if when where how why not no only just also all each more less into about
after before over under up down out through""".split())
_CODE = re.compile(r"`[^`\n]{0,300}`|--[\w-]{1,60}(?:=\S{0,200})?|\b\w{1,60}=\S{0,200}")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{0,60}|\d[\d.,]{0,30}")
_ITEM_SPLIT = re.compile(r"(?:[;\n•|]|,(?!\d))+|\s-\s|\s+/\s+")  # "14,197,122" is one item


def words(text: str) -> List[str]:
    return [w.lower() for w in _WORD.findall(_CODE.sub(" ", text))]


def items(text: str) -> List[str]:
    return [part.strip(" .*-_") for part in _ITEM_SPLIT.split(text) if part.strip(" .*-_")]


def is_term_list(text: str) -> bool:
    """Terms and numbers without sentences: few function words across many short items."""
    ws = words(text)
    if len(ws) < 6:
        return False
    parts = items(text)
    if len(parts) < 4:
        return False
    function = sum(w in STOPWORDS for w in ws)
    return function / len(ws) < 0.2 and max(len(words(p)) for p in parts) <= 4


SCALE_WORDS = frozenset({"thousand", "million", "millions", "billion", "k", "m", "mil", "bn"})


def informative_item(item: str) -> bool:
    """'14 million images', 'image database' make a claim; '14 million', 'depthwise' are bare terms."""
    ws = [w for w in words(item) if w not in SCALE_WORDS and w not in STOPWORDS]
    return len(ws) >= 2 and any(w[0].isalpha() for w in ws)
