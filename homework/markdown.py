"""Text for the Markdown report, escaped, and numbers formatted as the report and the grader's
evidence show them.

The student's text is data: every ASCII punctuation character is backslash-escaped, so
template syntax, HTML and Markdown inside an answer show as typed and are never evaluated (a
`===` underline never makes a heading); control characters and bidirectional overrides are
shown as their code points. Text from the records (device labels, error messages, paths) is
escaped the same way.
"""
from __future__ import annotations

import re

# ASCII punctuation that Markdown, HTML or an autolink could act on (not , ; ' " ? % =, kept readable)
_PUNCT = re.compile(r"([!#$&()*+\-./:<=>@\[\\\]^_`{|}~])")
# control characters, zero-width characters and bidirectional embeddings/overrides/isolates
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def visible_codes(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"[U+{ord(m.group(0)):04X}]", str(text).replace("\t", "    "))


def inert(text: str) -> str:
    """Student text shown exactly as typed: each line escaped, kept as a hard line break."""
    lines = [_PUNCT.sub(r"\\\1", visible_codes(line).strip()) for line in str(text).replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(f"> {line}  " if line else ">" for line in lines) or "> *(no answer yet)*"


def inline(text: str) -> str:
    """Student text inside a line (a name in the header)."""
    return _PUNCT.sub(r"\\\1", " ".join(visible_codes(text).split()))


# record text is always placed inside a line (newlines collapsed), where "-" and "." cannot start a list
# or an underline: they stay readable ("cpu-here", "0.005"); everything else is escaped as for students
_RECORD_PUNCT = re.compile(r"([!#$&()*+/:<=>@\[\\\]^_`{|}~])")


def record_inline(text: str) -> str:
    return _RECORD_PUNCT.sub(r"\\\1", " ".join(visible_codes(text).split()))


def record_text(value):
    """A record for the templates: every string shortened to file names and escaped like student text."""
    if isinstance(value, dict):
        return {k: record_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [record_text(v) for v in value]
    if isinstance(value, str):
        return record_inline(basenames(value))
    return value


def basenames(text: str) -> str:
    """Absolute paths shortened to their file names: the report must not depend on where the run lived."""
    return re.sub(r"(?:/[^\s/:'\"]+)+/([^\s/:'\"]+)", r"\1", str(text))


NOT_A_NUMBER = "n/a (not finite)"  # the record stores NaN/inf as null, with the reason in the task's non_finite map


def pct(value) -> str:
    if value is None:
        return NOT_A_NUMBER
    return f"{100 * float(value):.1f}%"


def secs(value) -> str:
    if value is None:
        return NOT_A_NUMBER
    value = float(value)
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def num(value, digits: int = 3) -> str:
    if value is None:
        return NOT_A_NUMBER
    value = float(value)
    return f"{value:,.0f}" if abs(value) >= 1000 or value.is_integer() else f"{value:.{digits}g}"
