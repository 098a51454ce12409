"""Gradescope's results.json: one test per written question and one per homework check.

Field set (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
top level score, execution_time, output, tests[]; each test name, number, score,
max_score, status ("passed" | "failed"), output, visibility.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional

from .. import files
from ..errors import HomeworkError
from . import inputs
from .rubric import QuestionGrade

TOP_FIELDS = {"score": (int, float), "execution_time": (int, float), "output": str, "tests": list}
TEST_FIELDS = {"name": str, "number": str, "score": (int, float), "max_score": (int, float), "status": str,
               "output": str, "visibility": str}
# documented optional fields: extra_data carries the run id (top) and the review marks (tests)
OPTIONAL_TOP = {"extra_data": dict, "output_format": str, "visibility": str, "stdout_visibility": str}
OPTIONAL_TEST = {"extra_data": dict, "tags": list, "output_format": str, "name_format": str}
VISIBILITY = "visible"


def question_test(g: QuestionGrade) -> dict:
    lines = [f"NEEDS REVIEW: {'; '.join(g.review)}"] if g.needs_review else []
    lines.append(f"feedback: {g.feedback}")
    lines += [f"consistency: {flag}" for flag in g.flags]
    doc = test(f"Q{g.id}: {g.text}", f"Q{g.id}", g.score, g.max_score, "\n".join(lines))
    doc["extra_data"] = {"confidence": g.confidence, "needs_review": g.needs_review, "review": list(g.review),
                         "evidence": [{"fact": f, "quote": q} for f, q in g.evidence],
                         "contradictions": list(g.contradictions)}
    if g.needs_review:
        doc["tags"] = ["needs review"]
    return doc


def checks_part(grade) -> dict:
    """The homework checks' part of results.json from an evidence.ChecksGrade: one test per check,
    passed only when its verdict passed and the record counted."""
    from .. import verdicts

    tests = []
    for i, v in enumerate(grade.verdicts, 1):
        earned = 0.0 if grade.refused else v.points
        why = f"0 points: {grade.refused}\n" if grade.refused else ""
        doc = test(f"check {v.check}: {v.title}", f"C{i}", earned, v.weight, f"{why}{v.status}: {v.message}")
        if grade.refused or not v.passed:
            doc["status"] = "failed"
        tests.append(doc)
    passed = sum(v.passed for v in grade.verdicts)
    head = (f"homework checks from {Path(grade.source).name}: " +
            (f"0 points ({grade.refused})" if grade.refused else f"{passed} of {len(grade.verdicts)} passed, "
                                                                  f"{grade.score:g} / {verdicts.total_weight():g} points"))
    return results(tests, 0.0, "\n".join([head, *grade.notes]))


def checks_score(doc: dict) -> Optional[float]:
    """The points the homework checks earned in a results document (their tests are numbered C1,
    C2, ...), None when it has no checks part."""
    checks = [t["score"] for t in doc["tests"] if str(t.get("number", "")).startswith("C")]
    return round(sum(checks), 2) if checks else None


def test(name: str, number: str, score: float, max_score: float, output: str) -> dict:
    return {"name": name, "number": number, "score": round(float(score), 2), "max_score": float(max_score),
            "status": "passed" if score >= max_score else "failed", "output": output, "visibility": VISIBILITY}


def results(tests: Iterable[dict], execution_time: float, output: str) -> dict:
    tests = list(tests)
    doc = {"score": round(sum(t["score"] for t in tests), 2), "execution_time": round(execution_time, 1),
           "output": output, "tests": tests}
    return validate(doc)


def validate(doc: dict, source: str = "results.json") -> dict:
    def check(obj: dict, fields: dict, optional: dict, where: str):
        if not isinstance(obj, dict):
            raise HomeworkError(f"{source}: {where} must be an object")
        for key, kind in fields.items():
            if not isinstance(obj.get(key), kind) or isinstance(obj.get(key), bool):
                raise HomeworkError(f"{source}: {where}.{key} missing or of the wrong type")
        for key, kind in optional.items():
            if key in obj and not isinstance(obj[key], kind):
                raise HomeworkError(f"{source}: {where}.{key} is of the wrong type")
        extra = set(obj) - set(fields) - set(optional)
        if extra:
            raise HomeworkError(f"{source}: {where} has undocumented field '{sorted(map(str, extra))[0]}'")

    check(doc, TOP_FIELDS, OPTIONAL_TOP, "results")
    for i, t in enumerate(doc["tests"]):
        check(t, TEST_FIELDS, OPTIONAL_TEST, f"tests[{i}]")
        if t["status"] not in ("passed", "failed"):
            raise HomeworkError(f"{source}: tests[{i}].status must be 'passed' or 'failed'")
    return doc


def read(path) -> dict:
    """A results document written earlier (a checks file): the fields, finite numbers, and scores in [0, max_score]."""
    from . import schema

    source = str(path)
    doc = validate(inputs.read_json(path, "checks results"), source)
    schema.check_numbers(doc, source)
    for i, t in enumerate(doc["tests"]):
        if t["max_score"] < 0:
            raise HomeworkError(f"{source}: tests[{i}].max_score must be >= 0")
        if not 0 <= t["score"] <= t["max_score"]:
            raise HomeworkError(f"{source}: tests[{i}].score {t['score']:g} is outside [0, max_score {t['max_score']:g}]")
    return doc


def write_results(path, doc: dict) -> None:
    """results.json, valid JSON whatever happened (no NaN or Infinity ever reaches it)."""
    files.write_text(path, inputs.dumps(validate(doc)))


def merge(*parts: dict) -> dict:
    """Questions and checks (each a results document) into one."""
    tests: List[dict] = [t for part in parts for t in part["tests"]]
    doc = results(tests, sum(p["execution_time"] for p in parts), "\n".join(p["output"] for p in parts if p["output"]))
    extra = {k: v for p in parts for k, v in p.get("extra_data", {}).items()}
    if extra:
        doc["extra_data"] = extra
    return doc
