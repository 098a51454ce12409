"""One schema for what grading and the report read from a run: records and checks results.

record.validate checks the record's structure; this adds what grading and rendering rely
on: every number finite and of a sane size, numbers where numbers belong, and ranges
(an accuracy in [0, 1], a time >= 0, a rate > 0). Checks results are Gradescope documents
whose scores lie in [0, max_score].
"""
from __future__ import annotations

import re
from typing import Any

from .. import record as run_record
from ..errors import HomeworkError
from . import gradescope, inputs

MAX_NUMBER = 1e12
_RANGES = (  # key pattern, low, high, low inclusive
    (re.compile(r"(^|_)accuracy$|(^|_)acc$|_fraction$|^(precision|recall)$"), 0.0, 1.0, True),
    (re.compile(r"_per_s$|^throughput$"), 0.0, MAX_NUMBER, False),
    (re.compile(r"(_s|_seconds|_ms)$|^seconds$"), 0.0, MAX_NUMBER, True),
    (re.compile(r"(^|_)(steps|images|parameters|count|classes|epochs)$"), 0.0, MAX_NUMBER, True),
)


class SchemaError(HomeworkError):
    pass


def check_numbers(doc: Any, source: str) -> None:
    """Every number finite and within MAX_NUMBER, and within its field's range (iterative walk)."""
    stack = [(doc, "", "")]
    while stack:
        value, where, key = stack.pop()
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise SchemaError(f"{source}: {where or '.'} has a key that is not text")
                stack.append((v, f"{where}.{k}" if where else k, k))
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]", key) for i, v in enumerate(value))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if not inputs.finite_number(value) or abs(value) > MAX_NUMBER:
                raise SchemaError(f"{source}: {where} must be a finite number below {MAX_NUMBER:g}, got {str(value)[:40]}")
            for pattern, lo, hi, inclusive in _RANGES:
                if pattern.search(key):
                    if value > hi or value < lo or (value == lo and not inclusive):
                        bound = f"[{lo:g}, {hi:g}]" if inclusive else f"({lo:g}, {hi:g}]"
                        raise SchemaError(f"{source}: {where} = {value:g} is outside {bound}")
                    break
        elif isinstance(value, str):
            for pattern, *_ in _RANGES[:3]:
                if key and not where.endswith("]") and pattern.search(key):
                    raise SchemaError(f"{source}: {where} must be a number, got text {value[:40]!r}")


def read_record(path) -> dict:
    """A run record for grading or the report: readable text, valid JSON, the record schema, sane numbers."""
    doc = inputs.read_json(path, "run record")  # size, encoding, NaN/Infinity, nesting: one line each
    doc = run_record.from_doc(doc, str(path))
    check_numbers(doc, str(path))
    return doc


def read_results(path) -> dict:
    """A results document written earlier (the checks' part): one schema (fields, finite numbers, ranges)."""
    return check_results(inputs.read_json(path, "checks results"), str(path))


def check_results(doc: Any, source: str) -> dict:
    gradescope.validate(doc, source)
    check_numbers(doc, source)
    for i, t in enumerate(doc["tests"]):
        if not 0 <= t["score"] <= max(t["max_score"], 0) and not (t["max_score"] == 0 and t["score"] == 0):
            raise SchemaError(f"{source}: tests[{i}].score {t['score']:g} is outside [0, max_score {t['max_score']:g}]")
        if t["max_score"] < 0:
            raise SchemaError(f"{source}: tests[{i}].max_score must be >= 0")
    return doc
