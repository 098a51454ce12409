"""Numbers as people write them: "14 million", "14,197,122", "1.2M", "21-22 thousand", "97.6%",
"299x299", "2.5x faster", "twice as fast"."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

SCALES = {
    "thousand": 1e3, "k": 1e3,
    "million": 1e6, "millions": 1e6, "mil": 1e6, "mio": 1e6, "m": 1e6,
    "billion": 1e9, "bn": 1e9, "b": 1e9,
}
# thousands grouped by commas, by (thin or no-break) spaces ("20 000", "14 000 000") or, two groups or more,
# by dots ("14.197.122"); then plain and decimal numbers
_NUM = (r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d.,]?\d)|\d{1,3}(?:\.\d{3}){2,}(?![\d.])"
        r"|\d+(?:\.\d+)?|\.\d+")
_PATTERN = re.compile(
    rf"(?<![\w.])(?P<a>{_NUM})(?:\s*(?:-|–|to)\s*(?P<b>{_NUM}))?"
    rf"(?:\s*(?P<scale>thousand|millions?|mil|mio|billion|bn|k|m|b)\b)?"
    r"(?P<unit>\s*(?:%|percent\b|x\b|×|times\b|s\b|sec\w*|ms\b|min\w*|steps?\b|img/s|images/s))?",
    re.IGNORECASE,
)
_BY = re.compile(r"(\d)\s?[x×]\s?(?=\d)")  # offsets stay those of the original text
_WORD_RATIOS = {"twice": 2.0, "double": 2.0, "thrice": 3.0, "three times": 3.0, "half": 0.5}
_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                                     "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
_WORD_NUMBER = re.compile(
    rf"\b(?P<tens>{'|'.join(_TENS)})?(?:[- ]?(?P<unit>{'|'.join(sorted(_UNITS, key=len, reverse=True))}))?"
    r"(?:\s+(?P<hundred>hundred))?\s+(?P<scale>thousand|million|billion)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Number:
    value: float
    text: str
    unit: str  # "", "%", "x", "s", "step", "img/s"
    start: int


def _unit(raw: Optional[str]) -> str:
    raw = (raw or "").strip().lower()
    if raw in ("%", "percent"):
        return "%"
    if raw in ("x", "×", "times"):
        return "x"
    if raw.startswith("step"):
        return "step"
    if raw == "ms":
        return "ms"
    if raw.startswith("min"):
        return "min"
    if raw.startswith("s"):
        return "s"
    if raw in ("img/s", "images/s"):
        return "img/s"
    return ""


def _value(said: str) -> float:
    digits = re.sub(r"[,\u00a0\u202f ]", "", said)
    return float(digits.replace(".", "")) if digits.count(".") > 1 else float(digits)


def numbers(text: str) -> List[Number]:
    """Every number in `text`, with a range "21-22 thousand" giving both ends."""
    found = []
    text = _BY.sub(lambda m: m.group(1) + ";" * (len(m.group(0)) - 1), text)  # "299x299": two numbers, not a ratio
    for m in _PATTERN.finditer(text):
        scale = SCALES[m.group("scale").lower()] if m.group("scale") else 1.0
        unit = _unit(m.group("unit"))
        for key in ("a", "b"):
            if m.group(key):  # each end of a range "21-22 thousand" spans from itself to the range's end
                found.append(Number(_value(m.group(key)) * scale, text[m.start(key):m.end()].strip(), unit, m.start(key)))
    for m in _WORD_NUMBER.finditer(text):  # "fourteen million", "twenty-two thousand"
        if not (m.group("tens") or m.group("unit")):
            continue
        base = _TENS.get((m.group("tens") or "").lower(), 0) + _UNITS.get((m.group("unit") or "").lower(), 0)
        base *= 100 if m.group("hundred") else 1
        said = m.group(0).lstrip(" -")
        found.append(Number(base * SCALES[m.group("scale").lower()], said, "", m.end() - len(said)))
    for word, value in _WORD_RATIOS.items():
        for m in re.finditer(rf"\b{word}\b", text, re.IGNORECASE):
            found.append(Number(value, m.group(0), "x", m.start()))
    return sorted(found, key=lambda n: n.start)


def show(value: float) -> str:
    """A number for a feedback line: 14000000 -> '14,000,000', 0.97 -> '0.97'."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"
