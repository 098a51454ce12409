"""The run record: one JSON document per run and device label.

Validated when written and when read (a tampered or truncated file is one line naming
the file and the field), written atomically (temp file + rename), and merged task by
task: each check stores its task's result under tasks.<name>.

One run, one record: a session that stores into a record holding another run (another
run_id) first moves that run to `previous/<name>-<created>-<run_id>.json` beside it, so
earlier runs stay readable and are never mixed with this one. Non-finite numbers are
stored as null, with the reason in the task's `non_finite` map. Records of older schema
versions are upgraded step by step when read (as nbgrader upgrades its metadata).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from . import __version__, files
from .errors import HomeworkError
from .settings import Settings

SCHEMA_VERSION = 2
TASK_KEYS = {"task": str, "stand_in": bool, "provenance": dict, "metrics": dict, "timings": dict}
OPTIONAL_TASK_KEYS = {"details": dict, "artifacts": dict, "non_finite": dict}
PREVIOUS_DIR = "previous"


@dataclass(frozen=True)
class RunInfo:
    """Who is writing: one id per run (a pytest session, an `hw5 run`), and where each setting came from."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    sources: Dict[str, str] = field(default_factory=dict)


class RecordError(HomeworkError):
    pass


def default_path(settings: Settings) -> Path:
    from .device import label_for

    return Path(settings.results_dir) / f"{label_for(settings)}.json"


def provenance(settings: Settings, sources: Optional[Dict[str, str]] = None) -> dict:
    from . import compat, device

    return {
        "profile": settings.profile,
        "seed": settings.seed,
        "settings": settings.as_dict(),
        "settings_sources": dict(sources or {}),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": compat.TF_VERSION,
            "keras": compat.KERAS_VERSION,
            "tensorflow_hub": compat.hub_version(),
            "hw5": __version__,
        },
        "device": device.describe(),
    }


def new_record(settings: Settings, run: Optional[RunInfo] = None) -> dict:
    from .device import label_for

    run = run or RunInfo()
    now = _now()
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run.run_id,
        "device_label": label_for(settings),
        "created": now,
        "updated": now,
        "provenance": provenance(settings, run.sources),
        "tasks": {},
        "resources": {},
        "previous": [],
    }


def validate(doc: Any, source: str) -> dict:
    def fail(field: str, problem: str):
        raise RecordError(f"{source}: field '{field}' {problem}")

    if not isinstance(doc, dict):
        raise RecordError(f"{source}: a run record must be a JSON object")
    if doc.get("schema_version") != SCHEMA_VERSION:
        fail("schema_version", f"must be {SCHEMA_VERSION}, got {doc.get('schema_version')!r}")
    for key in ("run_id", "device_label", "created", "updated"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            fail(key, "must be a non-empty string")
    prov = doc.get("provenance")
    if not isinstance(prov, dict):
        fail("provenance", "must be an object")
    if prov.get("profile") not in ("embedded", "real"):
        fail("provenance.profile", "must be 'embedded' or 'real'")
    for key in ("versions", "device", "settings", "settings_sources"):
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
        for key, kind in OPTIONAL_TASK_KEYS.items():
            if key in task and not isinstance(task[key], kind):
                fail(f"tasks.{name}.{key}", f"must be a {kind.__name__}")
        where = next(iter(_finite(task)[1]), "")  # json.loads reads NaN and Infinity
        if where:
            fail(f"tasks.{name}.{where}", "must be a finite number or null (non-finite numbers are stored as null)")
    resources = doc.get("resources", {})
    if not isinstance(resources, dict) or not all(isinstance(v, dict) for v in resources.values()):
        fail("resources", "must be an object of objects")
    previous = doc.get("previous", [])
    if not isinstance(previous, list) or not all(isinstance(p, dict) and isinstance(p.get("path"), str) for p in previous):
        fail("previous", "must be a list of {path, run_id, created}")
    return doc


# --- reading older records: one step per schema version, applied in order -------------

def _v1_to_v2(doc: dict) -> dict:
    """v1 kept one provenance forever, no run id, and NaN as the string "nan"."""
    doc = dict(doc)
    doc["run_id"] = f"v1-{doc.get('created', 'unknown')}"
    prov = doc.get("provenance")
    if isinstance(prov, dict):
        prov = dict(prov)
        prov.setdefault("settings", {"profile": prov.get("profile"), "seed": prov.get("seed")})
        prov.setdefault("settings_sources", {})
        doc["provenance"] = prov
    tasks = doc.get("tasks")
    if isinstance(tasks, dict):
        doc["tasks"] = {name: _nan_strings_to_null(_task_result_shape(task)) if isinstance(task, dict) else task
                        for name, task in tasks.items()}
    doc.setdefault("previous", [])
    doc["schema_version"] = 2
    return doc


def _task_result_shape(task: dict) -> dict:
    """v1 tasks kept their own tables at the top (legs, runs, checks ...): TaskResult keeps them in details."""
    common = set(TASK_KEYS) | set(OPTIONAL_TASK_KEYS)
    shaped = {key: value for key, value in task.items() if key in common}
    shaped["details"] = {**{key: value for key, value in task.items() if key not in common}, **dict(task.get("details") or {})}
    shaped.setdefault("artifacts", {})
    runs = shaped["details"].get("runs")
    if isinstance(runs, list):  # the retrain experiments' per-run results are task results too
        shaped["details"]["runs"] = [_task_result_shape(run) if isinstance(run, dict) and "metrics" in run else run for run in runs]
    return shaped


def _nan_strings_to_null(task: dict) -> dict:
    """Schema 1 stored NaN as the string "nan": null with its reason, as today."""
    reasons: Dict[str, str] = dict(task.get("non_finite") or {})

    def non_finite(value: Any, path: str) -> Optional[str]:
        if isinstance(value, str) and value in ("nan", "inf", "-inf") and path.split(".")[0] in ("metrics", "timings", "details"):
            return value
        return None

    upgraded, found = _replace_with_null(task, non_finite)
    reasons.update(found)
    if reasons:
        upgraded["non_finite"] = reasons
    return upgraded


UPGRADES: Dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}


def upgrade(doc: Any, source: str) -> Any:
    """Bring a record of an older schema version up to SCHEMA_VERSION (unchanged if current)."""
    if not isinstance(doc, dict):
        return doc
    version = doc.get("schema_version")
    while isinstance(version, int) and version in UPGRADES:
        doc = UPGRADES[version](doc)
        if doc.get("schema_version") == version:  # pragma: no cover - a step must advance
            raise RecordError(f"{source}: upgrade from schema version {version} did not advance")
        version = doc.get("schema_version")
    return doc


def read(path) -> dict:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RecordError(f"{path}: run record not found") from None
    except OSError as exc:
        raise RecordError(f"{path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not UTF-8 text (a run record is JSON)") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"{path}: not valid JSON (line {getattr(exc, 'lineno', '?')}): truncated or edited by hand?") from exc
    return from_doc(doc, str(path))


def from_doc(doc: Any, source: str) -> dict:
    """A parsed record of any schema version, upgraded to today's and validated."""
    return validate(upgrade(doc, source), source)


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


def put_task(path, settings: Settings, name: str, result: Any, run: Optional[RunInfo] = None) -> dict:
    """Store one task's result in the record at `path` (created if absent).

    With `run`, a record there from another run is moved to previous/ first; without it the
    record there is continued (it must hold the same profile)."""
    entry, reasons = _finite(to_jsonable(result))
    if reasons:
        entry["non_finite"] = reasons
    return _update(path, settings, "tasks", name, entry, run)


def put_resources(path, settings: Settings, name: str, summary: dict, run: Optional[RunInfo] = None) -> dict:
    """Store what a check file used (RSS, GPU load, power) under resources.<name>."""
    entry, _ = _finite(to_jsonable(summary))
    return _update(path, settings, "resources", name, entry, run)


def _update(path, settings: Settings, section: str, name: str, entry: Any, run: Optional[RunInfo]) -> dict:
    path = Path(path)
    with _locked(path):
        doc = read(path) if path.exists() else None
        if doc is not None and run is not None and doc["run_id"] != run.run_id:
            doc = _fresh_after(path, doc, settings, run)
        if doc is None:
            doc = new_record(settings, run)
        if doc["provenance"]["profile"] != settings.profile:
            raise RecordError(f"{path}: holds a '{doc['provenance']['profile']}' run; use another --record for '{settings.profile}'")
        doc.setdefault(section, {})[name] = entry
        doc["updated"] = _now()
        write(path, doc)
    return doc


def _fresh_after(path: Path, old: dict, settings: Settings, run: RunInfo) -> dict:
    """Move the earlier run at `path` to previous/ and start this run's record, listing it."""
    stamp = "".join(ch for ch in old["created"] if ch.isdigit())[:14]
    archived = path.parent / PREVIOUS_DIR / f"{path.stem}-{stamp}-{old['run_id'][:12]}.json"
    files.write_json(archived, old)
    doc = new_record(settings, run)
    doc["previous"] = [{"path": archived.relative_to(path.parent).as_posix(), "run_id": old["run_id"], "created": old["created"]}] + list(old.get("previous", []))
    return doc


def previous_runs(path) -> List[Tuple[dict, dict]]:
    """(entry, record) for each earlier run listed in the record at `path`, newest first."""
    path = Path(path)
    return [(entry, read(path.parent / entry["path"])) for entry in read(path).get("previous", [])]


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
    return value


def _finite(value: Any) -> Tuple[Any, Dict[str, str]]:
    """`value` with NaN/inf replaced by null (JSON has no such numbers), and where each was with its reason."""

    def non_finite(item: Any, path: str) -> Optional[str]:
        if isinstance(item, float) and not math.isfinite(item):
            return "nan" if math.isnan(item) else ("inf" if item > 0 else "-inf")
        return None

    return _replace_with_null(value, non_finite)


def _replace_with_null(value: Any, reason_for: Callable[[Any, str], Optional[str]]) -> Tuple[Any, Dict[str, str]]:
    """`value` with every leaf that `reason_for(leaf, path)` names replaced by null, and those reasons by path."""
    reasons: Dict[str, str] = {}

    def walk(item: Any, path: str) -> Any:
        reason = reason_for(item, path)
        if reason is not None:
            reasons[path] = reason
            return None
        if isinstance(item, dict):
            return {k: walk(v, f"{path}.{k}" if path else k) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(item)]
        return item

    return walk(value, ""), reasons


def _now() -> str:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return _dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), _dt.timezone.utc).isoformat()
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
