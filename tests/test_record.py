import json
import os
from dataclasses import dataclass

import pytest

from homework import files, record


@dataclass(frozen=True)
class FakeResult:
    task: str = "demo"
    stand_in: bool = True
    provenance: dict = None
    metrics: dict = None
    timings: dict = None


def result(**metrics):
    return FakeResult(provenance={"data": "x"}, metrics=metrics, timings={"train_s": 1.5})


def test_put_task_creates_validates_and_merges(tmp_settings, tmp_path):
    path = tmp_path / "r.json"
    record.put_task(path, tmp_settings, "a", result(accuracy=0.5))
    record.put_task(path, tmp_settings, "b", result(accuracy=float("nan")))
    doc = record.read(path)
    assert set(doc["tasks"]) == {"a", "b"}
    assert doc["tasks"]["b"]["metrics"]["accuracy"] == "nan"
    assert doc["provenance"]["device"]["gpu"] in ("none",) or isinstance(doc["provenance"]["device"]["gpu"], list)


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d.pop("schema_version"), "schema_version"),
        (lambda d: d["provenance"].update(profile="cloud"), "provenance.profile"),
        (lambda d: d["tasks"]["a"].pop("metrics"), "tasks.a.metrics"),
        (lambda d: d.update(tasks=[]), "tasks"),
    ],
)
def test_tampered_record_is_one_line_naming_file_and_field(tmp_settings, tmp_path, mutate, field):
    path = tmp_path / "r.json"
    record.put_task(path, tmp_settings, "a", result(accuracy=0.5))
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(record.RecordError) as err:
        record.read(path)
    message = str(err.value)
    assert str(path) in message and f"'{field}'" in message and "\n" not in message


def test_truncated_record(tmp_settings, tmp_path):
    path = tmp_path / "r.json"
    record.put_task(path, tmp_settings, "a", result(accuracy=0.5))
    path.write_text(path.read_text()[:50])
    with pytest.raises(record.RecordError, match="not valid JSON"):
        record.read(path)
    with pytest.raises(record.RecordError):  # and a later task does not overwrite it
        record.put_task(path, tmp_settings, "b", result(accuracy=0.1))


def test_crash_mid_write_leaves_previous_record_intact(tmp_settings, tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    record.put_task(path, tmp_settings, "a", result(accuracy=0.5))
    before = path.read_bytes()

    def killed(fd):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        record.put_task(path, tmp_settings, "b", result(accuracy=0.9))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "x.json"
    files.write_json(target, {"a": 1})
    files.write_json(target, {"b": 2})
    assert json.loads(target.read_text()) == {"b": 2}


def test_profiles_do_not_mix(tmp_settings, tmp_path):
    path = tmp_path / "r.json"
    record.put_task(path, tmp_settings, "a", result(accuracy=0.5))
    with pytest.raises(record.RecordError, match="holds a 'embedded' run"):
        record.put_task(path, tmp_settings.replace(profile="real"), "a", result(accuracy=0.5))
