"""The homework checks' part of a grade, recomputed from a submitted run record under staff policy
(homework/grading/gradescope.py writes it as results.json tests).

The list of checks and their weights come from homework/verdicts.py (shipped in the autograder),
never from the submission. A record earns check points only when its profile is one the staff
accept (by default "real": the homework on the student's own hardware and the real data) and it
is internally consistent (homework/plausibility.py); each check then earns its weight only when
its verdict, recomputed from the record, passed. A checks file uploaded beside the record is
never believed: at most it is compared with the recomputed verdicts, and a disagreement is said.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from .. import plausibility, verdicts
from ..errors import HomeworkError

EMBEDDED_REASON = "embedded profile: stand-ins, not the homework"
DEFAULT_PROFILES = ("real",)


@dataclass(frozen=True)
class Policy:
    """What the staff accept. accept_profiles=("real", "embedded") is a dry-run autograder."""

    accept_profiles: Tuple[str, ...] = DEFAULT_PROFILES

    def to_json(self) -> str:
        return json.dumps({"accept_profiles": list(self.accept_profiles)}, indent=2)

    @classmethod
    def accepting(cls, extra: Sequence[str] = ()) -> "Policy":
        """The default policy, plus the profiles staff accept on the command line (--accept-profile)."""
        return cls(DEFAULT_PROFILES + tuple(p for p in extra if p not in DEFAULT_PROFILES))

    @classmethod
    def read(cls, path: Path) -> "Policy":
        if not Path(path).is_file():
            return cls()
        doc = json.loads(Path(path).read_text())
        profiles = tuple(doc.get("accept_profiles", DEFAULT_PROFILES))
        if not set(profiles) <= {"real", "embedded"}:
            raise HomeworkError(f"{path}: accept_profiles must name 'real' and/or 'embedded', got {list(profiles)}")
        return cls(profiles)


@dataclass(frozen=True)
class ChecksGrade:
    """The checks' part for one record: a verdict per check, the points each earns, and why not."""

    source: str
    verdicts: List[verdicts.Verdict]
    refused: str = ""  # why no check earns anything (profile, inconsistency); "" when judged
    notes: List[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return 0.0 if self.refused else sum(v.points for v in self.verdicts)


def grade_record(record: Optional[dict], source: str, policy: Policy = Policy(), claimed: Optional[dict] = None) -> ChecksGrade:
    """The checks' part for `record` (None: no record submitted). `claimed`: a checks results file
    that came with it, compared with the verdicts and otherwise ignored."""
    if record is None:
        return ChecksGrade(source, _nothing(), f"no run record submitted ({source})")
    judged = verdicts.judge_all(record)
    notes = ["an uploaded checks file is never counted: every check is recomputed from the run record",
             *_disagreements(judged, claimed)] if claimed else []
    profile = record["provenance"]["profile"]
    stand_ins = plausibility.stand_in_inputs(record)
    reasons = []
    if profile not in policy.accept_profiles:
        reasons.append(EMBEDDED_REASON if profile == "embedded" else f"{profile} profile not accepted")
    elif "embedded" not in policy.accept_profiles and stand_ins:
        reasons.append(f"the run read stand-ins, not the homework's data and modules ({'; '.join(stand_ins[:3])})")
    problems = plausibility.problems(record)
    if problems:
        reasons.append(f"the record is not consistent, so its numbers cannot be trusted: {'; '.join(problems[:5])}")
        notes += [f"inconsistent: {p}" for p in problems[5:20]]
    return ChecksGrade(source, judged, "; ".join(reasons), notes)


def _nothing() -> List[verdicts.Verdict]:
    return [verdicts.Verdict(c.id, c.title, verdicts.NOT_RUN, "no run record", c.weight) for c in verdicts.CHECKS]


def _disagreements(judged: Sequence[verdicts.Verdict], claimed: dict) -> List[str]:
    said = {}
    for test in claimed.get("tests", []):
        name = str(test.get("name", ""))
        if name.startswith("check "):
            said[name[len("check "):].split(":")[0]] = test.get("status")
    notes = []
    for v in judged:
        if v.check in said and (said[v.check] == "passed") != v.passed:
            notes.append(f"the uploaded checks file says {v.check} {said[v.check]}; recomputed from the record it {v.status}")
    unknown = sorted(set(said) - {v.check for v in judged})
    if unknown:
        notes.append(f"the uploaded checks file lists checks that do not exist, ignored: {', '.join(unknown[:5])}")
    return notes


def best(grades: Sequence[ChecksGrade]) -> ChecksGrade:
    """Of several submitted records (a Jetson's and a PC's), the one that earns the most."""
    return max(grades, key=lambda g: (g.score, -len(g.refused)))
