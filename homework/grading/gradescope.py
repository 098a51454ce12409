"""Gradescope's results.json: one test per written question and one per homework check.

Field set (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
top level score, execution_time, output, tests[]; each test name, number, score,
max_score, status ("passed" | "failed"), output, visibility.
"""
from __future__ import annotations

from typing import Iterable, List

from ..errors import HomeworkError
from .rubric import QuestionGrade

TOP_FIELDS = {"score": (int, float), "execution_time": (int, float), "output": str, "tests": list}
TEST_FIELDS = {"name": str, "number": str, "score": (int, float), "max_score": (int, float), "status": str,
               "output": str, "visibility": str}
VISIBILITY = "visible"


def question_test(g: QuestionGrade) -> dict:
    lines = [f"feedback: {g.feedback}"]
    if g.found:
        lines.append("found: " + ", ".join(g.found))
    lines += [f"consistency: {flag}" for flag in g.flags]
    return test(f"Q{g.id}: {g.text}", f"Q{g.id}", g.score, g.max_score, "\n".join(lines))


def test(name: str, number: str, score: float, max_score: float, output: str) -> dict:
    return {"name": name, "number": number, "score": round(float(score), 2), "max_score": float(max_score),
            "status": "passed" if score >= max_score else "failed", "output": output, "visibility": VISIBILITY}


def results(tests: Iterable[dict], execution_time: float, output: str) -> dict:
    tests = list(tests)
    doc = {"score": round(sum(t["score"] for t in tests), 2), "execution_time": round(execution_time, 1),
           "output": output, "tests": tests}
    return validate(doc)


def validate(doc: dict, source: str = "results.json") -> dict:
    def check(obj: dict, fields: dict, where: str):
        if not isinstance(obj, dict):
            raise HomeworkError(f"{source}: {where} must be an object")
        for key, kind in fields.items():
            if not isinstance(obj.get(key), kind) or isinstance(obj.get(key), bool):
                raise HomeworkError(f"{source}: {where}.{key} missing or of the wrong type")
        extra = set(obj) - set(fields)
        if extra:
            raise HomeworkError(f"{source}: {where} has undocumented field '{sorted(extra)[0]}'")

    check(doc, TOP_FIELDS, "results")
    for i, t in enumerate(doc["tests"]):
        check(t, TEST_FIELDS, f"tests[{i}]")
        if t["status"] not in ("passed", "failed"):
            raise HomeworkError(f"{source}: tests[{i}].status must be 'passed' or 'failed'")
    return doc


def read(path) -> dict:
    """A results document written earlier (the checks' part), validated; errors name the file."""
    import json
    from pathlib import Path

    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise HomeworkError(f"{path}: checks results not found (pytest checks/ writes them beside the record)") from None
    except ValueError as exc:
        raise HomeworkError(f"{path}: not valid JSON ({exc})") from exc
    return validate(doc, str(path))


def merge(*parts: dict) -> dict:
    """Questions and checks (each a results document) into one."""
    tests: List[dict] = [t for part in parts for t in part["tests"]]
    return results(tests, sum(p["execution_time"] for p in parts), "\n".join(p["output"] for p in parts if p["output"]))
