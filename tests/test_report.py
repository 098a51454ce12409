"""answers/report.md: pure rendering, inert student text, stand-in labels, "not run"
sections, plots beside the report, several devices side by side."""
import copy
from pathlib import Path

import pytest

from homework import report
from homework.errors import HomeworkError
from homework.grading import submissions

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def answers(rubric):
    return submissions.load(FIXTURES / "answers_full.yaml", rubric)


def _bytes(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rendering_is_pure(tmp_path, record, answers, rubric):
    first = report.render([record], answers, rubric, tmp_path / "a" / "report.md")
    before = _bytes(tmp_path / "a")
    report.render([record], answers, rubric, tmp_path / "a" / "report.md")
    report.render([record], answers, rubric, tmp_path / "b" / "report.md")
    assert _bytes(tmp_path / "a") == before == _bytes(tmp_path / "b")
    assert sorted(before) == ["report.md", "report_files/cpu_gpu.png", "report_files/learning_rates.png", "report_files/transfer.png"]
    for name in ("learning_rates", "transfer", "cpu_gpu"):
        assert f"](report_files/{name}.png)" in first.markdown
        assert before[f"report_files/{name}.png"].startswith(b"\x89PNG")


def test_report_holds_the_measurements(tmp_path, record, answers, rubric):
    text = report.render([record], answers, rubric, tmp_path / "report.md").markdown
    assert "| baseline | 101,770 | 92.6% ± 0.6% |" in text and "| cnn (challenger) |" in text
    assert "| 1 | 14.3% | 19.0% | 49.5 | 360 | yes |" in text
    assert "`--input_layer=Mul --input_height=299 --input_width=299`" in text
    assert "GPU leg: skipped (no GPU visible" in text
    assert text.count("**Measured in this run** (stand-in data/modules):") == 6
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert text.count("*Made on stand-in data or a stand-in module") == len(sections) - 2  # every task, not the checks or the answers
    assert "Gradescope's default policy would give **0 / 26** check points (embedded profile\\: stand-ins, not the homework" in text
    assert "/tmp/" not in text and "/root/" not in text  # no absolute paths from the run


def test_student_text_is_inert(tmp_path, record, rubric):
    nasty = "{{ 7*7 }} {% for x in y %} <script>alert(1)</script> [link](http://x.y) **bold**\n# heading\n1. item"
    answers = submissions.Answers("x.yaml", "answers.yaml", {q: nasty for q in rubric.questions}, student="<b>Eve</b> {{ name }}")
    text = report.render([record], answers, rubric, tmp_path / "report.md").markdown
    assert "49" not in text.split("## Written answers")[1].split("Measured")[0]
    assert "<script>" not in text and "<b>" not in text and "\n# heading" not in text and "](http" not in text
    assert r"\{\{ 7\*7 \}\}" in text and r"\<script\>" in text and "# Homework 5 report: \\<b\\>Eve\\<\\/b\\> \\{\\{ name \\}\\}" in text


def test_missing_tasks_render_as_not_run(tmp_path, record, answers, rubric):
    partial = copy.deepcopy(record)
    for name in ("transfer", "retrain_inception", "retrain_cpu_vs_gpu"):
        del partial["tasks"][name]
    rendered = report.render([partial], answers, rubric, tmp_path / "report.md")
    assert "Run it with `pytest checks/test_transfer.py`" in rendered.markdown
    assert "Run it with `pytest checks/test_retrain.py -k inception`" in rendered.markdown
    assert sorted(rendered.plots) == ["learning_rates"]


def test_a_missing_value_is_an_error_not_a_blank(tmp_path, record, answers, rubric):
    broken = copy.deepcopy(record)
    del broken["tasks"]["mnist"]["metrics"]["baseline"]["parameters"]
    with pytest.raises(HomeworkError, match="cpu-here: the report needs a value it lacks"):
        report.render([broken], answers, rubric, tmp_path / "report.md")


def test_several_devices_side_by_side(tmp_path, record, answers, rubric):
    slow = copy.deepcopy(record)
    slow["device_label"] = "jetson-tx2"
    slow["provenance"]["device"]["jetson"] = "NVIDIA Jetson TX2"
    for task in slow["tasks"].values():
        task["timings"] = {k: v * 20 for k, v in task["timings"].items()}
    text = report.render([record, slow], answers, rubric, tmp_path / "report.md", baseline="cpu-here").markdown
    assert "## Devices side by side" in text and "| metric | cpu-here | jetson-tx2 | jetson-tx2 / cpu-here |" in text
    assert "#### transfer" in text and "| frozen_epoch_s | 12.9 | 258 | 20.00x |" in text
