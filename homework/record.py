"""The run record: one JSON document per run and device label.

Validated when written and when read (a tampered or truncated file is one line naming
the file and the field), written atomically (temp file + rename), and merged task by
task: each check stores its task's result under tasks.<name>.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import platform
from pathlib import Path
from typing import Any, Iterator

from . import __version__, files
from .errors import HomeworkError
from .settings import Settings

SCHEMA_VERSION = 1
TASK_KEYS = {"task": str, "stand_in": bool, "provenance": dict, "metrics": dict, "timings": dict}


class RecordError(HomeworkError):
    pass


def default_path(settings: Settings) -> Path:
    from .device import default_label

    return Path(settings.results_dir) / f"{settings.device_label or default_label()}.json"


def provenance(settings: Settings) -> dict:
    from . import compat, device

    return {
        "profile": settings.profile,
        "seed": settings.seed,
        "versions": {
            "python": platform.python_version(),
            "tensorflow": compat.TF_VERSION,
            "keras": compat.KERAS_VERSION,
            "tensorflow_hub": compat.hub_version(),
            "hw5": __version__,
        },
        "device": device.describe(),
    }


def new_record(settings: Settings) -> dict:
    from .device import default_label

    now = _now()
    return {
        "schema_version": SCHEMA_VERSION,
        "device_label": settings.device_label or default_label(),
        "created": now,
        "updated": now,
        "provenance": provenance(settings),
        "tasks": {},
    }


def validate(doc: Any, source: str) -> dict:
    def fail(field: str, problem: str):
        raise RecordError(f"{source}: field '{field}' {problem}")

    if not isinstance(doc, dict):
        raise RecordError(f"{source}: a run record must be a JSON object")
    if doc.get("schema_version") != SCHEMA_VERSION:
        fail("schema_version", f"must be {SCHEMA_VERSION}, got {doc.get('schema_version')!r}")
    for key in ("device_label", "created", "updated"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            fail(key, "must be a non-empty string")
    prov = doc.get("provenance")
    if not isinstance(prov, dict):
        fail("provenance", "must be an object")
    if prov.get("profile") not in ("embedded", "real"):
        fail("provenance.profile", "must be 'embedded' or 'real'")
    for key in ("versions", "device"):
        if not isinstance(prov.get(key), dict):
            fail(f"provenance.{key}", "must be an object")
    tasks = doc.get("tasks")
    if not isinstance(tasks, dict):
        fail("tasks", "must be an object")
    for name, task in tasks.items():
        if not isinstance(task, dict):
            fail(f"tasks.{name}", "must be an object")
        for key, kind in TASK_KEYS.items():
            if not isinstance(task.get(key), kind):
                fail(f"tasks.{name}.{key}", f"must be a {kind.__name__}")
    resources = doc.get("resources", {})
    if not isinstance(resources, dict) or not all(isinstance(v, dict) for v in resources.values()):
        fail("resources", "must be an object of objects")
    return doc


def read(path) -> dict:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RecordError(f"{path}: run record not found") from None
    except OSError as exc:
        raise RecordError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"{path}: not valid JSON (line {getattr(exc, 'lineno', '?')}): truncated or edited by hand?") from exc
    return validate(doc, str(path))


def write(path, doc: dict) -> None:
    validate(doc, str(path))
    files.write_json(path, doc)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: single writer assumed
            pass
        yield


def put_task(path, settings: Settings, name: str, result: Any) -> dict:
    """Store one task's result in the record at `path` (created if absent)."""
    return _update(path, settings, "tasks", name, to_jsonable(result))


def put_resources(path, settings: Settings, name: str, summary: dict) -> dict:
    """Store what a check file used (RSS, GPU load, power) under resources.<name>."""
    return _update(path, settings, "resources", name, to_jsonable(summary))


def _update(path, settings: Settings, section: str, name: str, entry: Any) -> dict:
    path = Path(path)
    with _locked(path):
        doc = read(path) if path.exists() else new_record(settings)
        if doc["provenance"]["profile"] != settings.profile:
            raise RecordError(f"{path}: holds a '{doc['provenance']['profile']}' run; use another --record for '{settings.profile}'")
        doc.setdefault(section, {})[name] = entry
        doc["updated"] = _now()
        write(path, doc)
    return doc


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        value = value.item()  # numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan" / "inf": JSON has no such numbers, and they are evidence
    return value


def _now() -> str:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return _dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), _dt.timezone.utc).isoformat()
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
