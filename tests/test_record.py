import json
import os
from dataclasses import dataclass
from pathlib import Path

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
    assert doc["tasks"]["b"]["metrics"]["accuracy"] is None  # JSON has no NaN: null, with the reason beside it
    assert doc["tasks"]["b"]["non_finite"] == {"metrics.accuracy": "nan"}
    assert "NaN" not in path.read_text()
    gpu = doc["provenance"]["device"]["gpu"]  # what TensorFlow lists, described: "none" exactly when it lists no GPU
    from homework.compat import gpus

    assert gpu == "none" if not gpus else (len(gpu) == len(gpus) and all(g["name"] for g in gpu))


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


def test_profiles_do_not_mix_within_a_run(tmp_settings, tmp_path):
    path = tmp_path / "r.json"
    record.put_task(path, tmp_settings, "a", result(accuracy=0.5))
    with pytest.raises(record.RecordError, match="holds a 'embedded' run"):
        record.put_task(path, tmp_settings.replace(profile="real"), "a", result(accuracy=0.5))


FIXTURE_V1 = Path(__file__).parent / "fixtures" / "record_v1.json"  # as the first release wrote it; never regenerated


def test_each_run_starts_a_fresh_record_and_keeps_the_earlier_one(tmp_settings, tmp_path):
    path = tmp_path / "r.json"
    first, second = record.RunInfo(sources={"seed": "default"}), record.RunInfo(sources={"seed": "command line"})
    record.put_task(path, tmp_settings, "a", result(accuracy=0.5), run=first)
    record.put_task(path, tmp_settings, "b", result(accuracy=0.6), run=first)
    doc = record.put_task(path, tmp_settings.replace(profile="real", seed=7), "a", result(accuracy=0.9), run=second)
    assert doc["run_id"] == second.run_id and set(doc["tasks"]) == {"a"}  # nothing of the first run mixed in
    assert doc["provenance"]["seed"] == 7 and doc["provenance"]["settings"]["seed"] == 7
    assert doc["provenance"]["settings_sources"] == {"seed": "command line"}
    ((entry, earlier),) = record.previous_runs(path)
    assert entry["run_id"] == first.run_id and earlier["run_id"] == first.run_id
    assert set(earlier["tasks"]) == {"a", "b"} and earlier["tasks"]["a"]["metrics"]["accuracy"] == 0.5
    assert earlier["provenance"]["profile"] == "embedded"
    third = record.put_task(path, tmp_settings, "c", result(accuracy=0.1), run=record.RunInfo())
    assert [e["run_id"] for e in third["previous"]] == [second.run_id, first.run_id]


def test_task_results_with_details_and_artifacts_validate(tmp_settings, tmp_path):
    from homework.tasks.result import TaskResult

    path = tmp_path / "r.json"
    res = TaskResult.of("demo", inputs=[{"stand_in": True}], provenance={}, metrics={"ratio": float("inf")}, timings={"x_s": 1.0},
                        details={"curve": [0.1, float("nan")]}, artifacts={"graph": "g.pb"})
    doc = record.put_task(path, tmp_settings, "demo", res)
    task = doc["tasks"]["demo"]
    assert task["details"]["curve"] == [0.1, None] and task["artifacts"] == {"graph": "g.pb"}
    assert task["non_finite"] == {"metrics.ratio": "inf", "details.curve[1]": "nan"}
    raw = json.loads(path.read_text())
    raw["tasks"]["demo"]["details"] = []
    path.write_text(json.dumps(raw))
    with pytest.raises(record.RecordError, match="'tasks.demo.details' must be a dict"):
        record.read(path)


def test_nan_written_by_hand_is_rejected_naming_the_field(tmp_settings, tmp_path):
    path = tmp_path / "r.json"
    record.put_task(path, tmp_settings, "a", result(accuracy=0.5))
    path.write_text(path.read_text().replace('"accuracy": 0.5', '"accuracy": NaN'))
    with pytest.raises(record.RecordError, match="'tasks.a.metrics.accuracy' must be a finite number or null"):
        record.read(path)


def test_schema_1_records_are_upgraded_on_read(tmp_path):
    raw = json.loads(FIXTURE_V1.read_text())
    assert raw["schema_version"] == 1  # a record saved by the first release (a student's Jetson run)
    doc = record.read(FIXTURE_V1)
    assert doc["schema_version"] == record.SCHEMA_VERSION and doc["run_id"].startswith("v1-")
    assert doc["tasks"].keys() == raw["tasks"].keys() and doc["previous"] == []
    assert doc["provenance"]["settings"]["profile"] == raw["provenance"]["profile"]
    raw["tasks"]["mnist"]["metrics"]["odd"] = "nan"  # v1 stored NaN as a string
    old = tmp_path / "old.json"
    old.write_text(json.dumps(raw))
    upgraded = record.read(old)
    assert upgraded["tasks"]["mnist"]["metrics"]["odd"] is None
    assert upgraded["tasks"]["mnist"]["non_finite"] == {"metrics.odd": "nan"}


def test_v1_records_still_compare_report_and_grade(tmp_path, capsys):
    from homework.cli import main

    assert main(["compare", str(FIXTURE_V1), str(FIXTURE_V1)]) == 0
    assert "| metric |" in capsys.readouterr().out
    answers = Path(__file__).resolve().parent.parent / "answers" / "answers.yaml"
    assert main(["grade", str(answers), "--record", str(FIXTURE_V1)]) == 0
    # today's task results as schema 1 wrote them (no run id, no settings in the provenance)
    raw = json.loads((FIXTURE_V1.parent / "record_cpu.json").read_text())
    for key in ("run_id", "previous"):
        raw.pop(key, None)
    for key in ("settings", "settings_sources"):
        raw["provenance"].pop(key, None)
    raw["schema_version"] = 1
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps(raw))
    out = tmp_path / "report.md"
    assert main(["report", "--record", str(v1), "-o", str(out)]) == 0
    assert out.read_text().startswith("# Homework 5 report") and "Not run in this record" not in out.read_text()
    assert main(["compare", str(v1), str(FIXTURE_V1)]) == 0


def test_a_v1_record_grades_a_write_up_that_answers_every_question(tmp_path, capsys):
    """The v1 retrain entry lacks the rates' details: the grader says it cannot read them and
    grades the answer on its text, instead of a traceback."""
    from homework.cli import main

    writeup = Path(__file__).parent / "fixtures" / "writeups" / "question_then_paragraph.txt"
    out = tmp_path / "results.json"
    assert main(["grade", str(writeup), "--record", str(FIXTURE_V1), "--json", str(out), "--written-only"]) == 0
    assert json.loads(out.read_text())["tests"]
    from homework import record
    from homework.grading import measured

    evidence = measured.evidence(record.from_doc(json.loads(FIXTURE_V1.read_text()), str(FIXTURE_V1)))
    assert evidence[8].unreadable and not evidence[8].values and not evidence[8].not_run
