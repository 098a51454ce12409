"""What a submission folder holds: the file with the student's answers, their run records, and any
checks file that came with them. Read the same way for Gradescope (/autograder/submission, often
the unpacked `hw5 submit` zip) and for a student's folder in class grading.

The answers are the file the student meant to submit, never the largest: a manifest.json written
by `hw5 submit` names it; else answers.yaml; else an answers file by name (answers.md, .txt,
.ipynb); else the write-up in which the most questions are answered. A PDF, a Word document or an
image alone gets one line naming the format and what to upload instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from .. import files
from ..errors import HomeworkError

YAML_NAMES = ("answers.yaml", "answers.yml")
ANSWER_STEMS = ("answers", "answer", "writeup", "write-up", "homework5", "hw5")
WRITEUP_SUFFIXES = (".md", ".markdown", ".txt", ".ipynb")
NOT_GRADABLE = {".pdf": "a PDF", ".docx": "a Word document", ".doc": "a Word document", ".odt": "an OpenDocument text",
                ".rtf": "an RTF document", ".pages": "a Pages document", ".png": "an image", ".jpg": "an image",
                ".jpeg": "an image", ".heic": "an image", ".html": "an HTML page"}
UPLOAD_INSTEAD = "upload answers/answers.yaml or your write-up as Markdown (.md) or text (.txt), or the zip `hw5 submit` writes"
CHECKS_SUFFIX = ".checks.json"
MANIFEST = "manifest.json"
FORMAT = "hw5 submission"
FORMAT_VERSION = 1
ROLES = ("answers", "record", "report_html", "report_pdf")
MAX_MANIFEST_BYTES = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Bundle:
    folder: Path
    answers: Optional[Path]
    records: List[Path] = field(default_factory=list)
    checks_files: List[Path] = field(default_factory=list)
    chosen_by: str = ""  # how the answers file was chosen, said in the output
    problem: str = ""  # why no answers file could be chosen


def _visible_files(folder: Path) -> List[Path]:
    found = []
    for path in sorted(Path(folder).rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_file() and not any(p.startswith(".") or p in ("__MACOSX", "__pycache__") for p in parts):
            found.append(path)
    return found


def _depth(path: Path, folder: Path) -> Tuple[int, str]:
    return len(path.relative_to(folder).parts), str(path)


def is_record(path: Path) -> bool:
    """A run record by its look (schema_version and tasks at the top), read no further."""
    if path.suffix != ".json" or path.name.endswith(CHECKS_SUFFIX) or path.name == MANIFEST:
        return False
    try:
        if path.stat().st_size > 50 * 1024 * 1024:
            return False
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return b'"schema_version"' in head or b'"tasks"' in head or (path.parent.name == "results" and head.lstrip().startswith(b"{"))


def read_folder(folder: Path, answered: Callable[[Path], int]) -> Bundle:
    """The answers, records and checks files in `folder`. `answered(path)` counts the questions a
    write-up answers (the grader's reader), used only when no file is named as the answers."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HomeworkError(f"{folder}: submission folder not found")
    paths = _visible_files(folder)
    records = [p for p in paths if is_record(p)]
    checks = [p for p in paths if p.name.endswith(CHECKS_SUFFIX)]
    manifest = next((p for p in sorted(paths, key=lambda p: _depth(p, folder)) if p.name == MANIFEST), None)
    note = ""
    if manifest is not None:
        named, note = _from_manifest(manifest)
        if named is not None:
            return Bundle(folder, named, records, checks, f"named by {manifest.relative_to(folder)}")
    yamls = sorted((p for p in paths if p.name.lower() in YAML_NAMES), key=lambda p: _depth(p, folder))
    if yamls:
        return Bundle(folder, yamls[0], records, checks, "answers.yaml" + note)
    writeups = [p for p in paths if p.suffix.lower() in WRITEUP_SUFFIXES and p.name.lower() not in ("readme.md", "readme.txt", "license.txt")]
    by_name = sorted((p for p in writeups if p.stem.lower() in ANSWER_STEMS), key=lambda p: _depth(p, folder))
    if by_name:
        return Bundle(folder, by_name[0], records, checks, f"the answers file by its name ({by_name[0].name})" + note)
    candidates = writeups or [p for p in paths if p.suffix.lower() in WRITEUP_SUFFIXES]  # a README is the last resort
    if candidates:
        counted = []
        for path in candidates:
            try:
                counted.append((answered(path), -_depth(path, folder)[0], path))
            except HomeworkError:
                continue
        if counted:
            count, _, best = max(counted, key=lambda c: (c[0], c[1], -len(str(c[2]))))
            return Bundle(folder, best, records, checks, f"the write-up answering the most questions ({count}: {best.name})" + note)
    formats = sorted({NOT_GRADABLE[p.suffix.lower()] for p in paths if p.suffix.lower() in NOT_GRADABLE})
    if formats:
        problem = f"the submission holds {' and '.join(formats)}, which cannot be graded automatically: {UPLOAD_INSTEAD}"
    else:
        problem = f"no answers.yaml and no write-up (.md, .txt, .ipynb) in the submission: {UPLOAD_INSTEAD}"
    return Bundle(folder, None, records, checks, "", problem)


def _from_manifest(manifest: Path) -> Tuple[Optional[Path], str]:
    """(the answers file a `hw5 submit` manifest names, "") when the manifest checks out (fields, sizes,
    sha256 of every listed file); else (None, why it was not used) and the files are looked at instead."""
    try:
        doc = read_manifest(manifest.parent)
    except HomeworkError as exc:
        return None, f" (manifest.json not used: {exc})"
    for entry in doc["files"]:
        if entry["role"] == "answers":
            return manifest.parent / entry["path"], ""
    return None, " (manifest.json names no answers file)"


# -- the manifest hw5 submit writes (homework/submit.py), read where the submission is read -----------------
_FILE_FIELDS = {"path": str, "role": str, "bytes": int, "sha256": str}
_ROLE_FIELDS: Dict[str, Dict[str, type]] = {"answers": {"kind": str}, "record": {"device_label": str, "profile": str},
                                            "report_html": {}, "report_pdf": {}}


def read_manifest(folder) -> dict:
    """The submission's manifest.json, checked: its fields and types, one answers file, at least one record,
    and every listed file present in `folder` with the listed size and sha256. One-line HomeworkError otherwise."""
    from . import inputs

    folder = Path(folder)
    where = MANIFEST
    if not (folder / MANIFEST).is_file():
        raise HomeworkError(f"{MANIFEST}: not in the submission (upload the zip hw5 submit wrote, as it is)")
    if (folder / MANIFEST).stat().st_size > MAX_MANIFEST_BYTES:
        raise HomeworkError(f"{MANIFEST}: over {MAX_MANIFEST_BYTES:,} bytes")
    doc = inputs.read_json(folder / MANIFEST, "submission manifest")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise HomeworkError(f"{where}: not an hw5 submission manifest (format must be '{FORMAT}')")
    if doc.get("format_version") != FORMAT_VERSION or isinstance(doc.get("format_version"), bool):
        raise HomeworkError(f"{where}: format_version {doc.get('format_version')!r} is not {FORMAT_VERSION}; "
                            f"make the zip again with this hw5")
    _typed(doc, {"hw5_version": str, "files": list, "notes": list}, where)
    if not all(isinstance(n, str) for n in doc["notes"]):
        raise HomeworkError(f"{where}: notes must be a list of text")
    extra = set(doc) - {"format", "format_version", "hw5_version", "files", "notes"}
    if extra:
        raise HomeworkError(f"{where}: unknown field '{sorted(extra)[0]}'")
    seen = set()
    for i, entry in enumerate(doc["files"]):
        at = f"{where}: files[{i}]"
        if not isinstance(entry, dict):
            raise HomeworkError(f"{at} must be an object")
        _typed(entry, _FILE_FIELDS, at)
        if entry["role"] not in ROLES:
            raise HomeworkError(f"{at}.role '{entry['role'][:40]}' is not one of {', '.join(ROLES)}")
        _typed(entry, _ROLE_FIELDS[entry["role"]], at)
        unknown = set(entry) - set(_FILE_FIELDS) - set(_ROLE_FIELDS[entry["role"]])
        if unknown:
            raise HomeworkError(f"{at}: unknown field '{sorted(unknown)[0]}' for role {entry['role']}")
        if entry["bytes"] < 0 or not _SHA256.fullmatch(entry["sha256"]):
            raise HomeworkError(f"{at}: bytes must be >= 0 and sha256 64 lower-case hex digits")
        name = entry["path"]
        _check_file(folder, name, entry, at)
        if name in seen:
            raise HomeworkError(f"{at}: {name} is listed twice")
        seen.add(name)
    roles = [e["role"] for e in doc["files"]]
    for role, low, high in (("answers", 1, 1), ("record", 1, None), ("report_html", 0, 1), ("report_pdf", 0, 1)):
        count = roles.count(role)
        if count < low or (high is not None and count > high):
            wanted = f"exactly {low}" if low == high else (f"at least {low}" if high is None else f"at most {high}")
            raise HomeworkError(f"{where}: lists {count} file(s) with role {role}; a submission has {wanted}")
    return doc


def _typed(obj: dict, fields: Dict[str, type], where: str) -> None:
    for key, kind in fields.items():
        value = obj.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise HomeworkError(f"{where}.{key} missing or not {'text' if kind is str else kind.__name__}")


def _check_file(folder: Path, name: str, entry: dict, at: str) -> None:
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts) or ":" in parts[0]:
        raise HomeworkError(f"{at}: path '{name[:80]}' must be relative, with / separators, inside the submission")
    path = folder / name
    try:
        inside = path.resolve().relative_to(folder.resolve())
    except ValueError:
        inside = None
    if inside is None or not path.is_file():
        raise HomeworkError(f"{name}: listed in {MANIFEST} but not in the submission")
    size = path.stat().st_size
    if size != entry["bytes"]:
        raise HomeworkError(f"{name}: {size:,} bytes, {MANIFEST} says {entry['bytes']:,} (changed after hw5 submit)")
    if files.sha256_file(path) != entry["sha256"]:
        raise HomeworkError(f"{name}: sha256 differs from {MANIFEST} (changed after hw5 submit)")
