"""hw5 submit: the zip's files and manifest, same bytes for the same inputs, no checks file, refused
outputs, a self-contained HTML report that escapes student and record text, write-ups, and
read_manifest refusing a tampered submission. PDFs are tests/test_report_browser.py's job."""
import base64
import copy
import hashlib
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from homework import browser, report_html, submit
from homework.cli import main
from homework.errors import HomeworkError

FIXTURES = Path(__file__).parent / "fixtures"
RECORD = FIXTURES / "record_cpu.json"
ANSWERS = FIXTURES / "answers_full.yaml"


def _build(out: Path, rubric, records=(RECORD,), answers=ANSWERS, **kwargs) -> submit.Submission:
    return submit.build(list(records), answers, out, rubric, pdf=False, **kwargs)


def _unzip(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as zf:
        zf.extractall(into)
    return into


@pytest.fixture(scope="module")
def built(tmp_path_factory, rubric):
    folder = tmp_path_factory.mktemp("submit")
    done = _build(folder / "submission.zip", rubric)
    return done, _unzip(done.path, folder / "unzipped")


def test_zip_holds_what_the_manifest_lists(built):
    done, folder = built
    with zipfile.ZipFile(done.path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        assert names[0] == "manifest.json"  # the autograder reads it first
        for entry in manifest["files"]:
            data = zf.read(entry["path"])
            assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["path"]
    assert names == ["manifest.json", "answers/answers.yaml", "results/record_cpu.json", "report.html"]
    assert [e["role"] for e in manifest["files"]] == ["answers", "record", "report_html"]
    assert (folder / "results" / "record_cpu.json").read_bytes() == RECORD.read_bytes()  # the record as written, byte for byte
    assert (folder / "answers" / "answers.yaml").read_bytes() == ANSWERS.read_bytes()
    record = manifest["files"][1]
    assert (record["device_label"], record["profile"]) == ("cpu-here", "embedded")
    assert manifest["hw5_version"] == __import__("homework").__version__ and manifest["format_version"] == 1
    assert any("report.pdf not made: hw5 submit --no-pdf" in note for note in manifest["notes"])
    assert submit.read_manifest(folder) == manifest


def test_same_inputs_same_bytes(tmp_path, built, rubric):
    again = _build(tmp_path / "again.zip", rubric)
    assert again.path.read_bytes() == built[0].path.read_bytes()
    with zipfile.ZipFile(again.path) as zf:
        assert {info.date_time for info in zf.infolist()} == {submit.ZIP_TIME}


def test_checks_results_stay_out(tmp_path, rubric):
    results = tmp_path / "results"
    results.mkdir()
    record = results / "cpu-here.json"
    shutil.copy(RECORD, record)
    checks = results / "cpu-here.checks.json"
    checks.write_text('{"tests": []}')
    done = _build(tmp_path / "s.zip", rubric, records=[record])
    with zipfile.ZipFile(done.path) as zf:
        assert not [n for n in zf.namelist() if n.endswith(".checks.json")]
        assert "results/cpu-here.json" in zf.namelist()
    assert done.left_out == [checks]
    with pytest.raises(HomeworkError, match=r"cpu-here.checks.json: is a checks results file; give the run record beside it \(cpu-here.json\)"):
        _build(tmp_path / "t.zip", rubric, records=[checks])


@pytest.mark.parametrize("target, message", [
    ("record", "is an input of this command"),
    ("answers", "is an input of this command"),
    ("folder", "is a directory"),
    ("not-a-zip", r"name the submission \*.zip"),
])
def test_refuses_an_input_a_folder_or_a_non_zip_as_output_in_one_line(tmp_path, capsys, target, message):
    record, answers = tmp_path / "cpu-here.json", tmp_path / "answers.yaml"
    shutil.copy(RECORD, record)
    shutil.copy(ANSWERS, answers)
    out = {"record": record, "answers": answers, "folder": tmp_path, "not-a-zip": tmp_path / "submission.txt"}[target]
    before = {p: p.read_bytes() for p in (record, answers)}
    assert main(["submit", "--record", str(record), "--answers", str(answers), "-o", str(out), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and err.strip().count("\n") == 0, err
    assert {p: p.read_bytes() for p in (record, answers)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "cpu-here.json"]


def test_says_what_to_upload_and_warns_about_stand_ins(tmp_path, capsys):
    out = tmp_path / "submission.zip"
    assert main(["submit", "--record", str(RECORD), "--answers", str(ANSWERS), "-o", str(out), "--no-pdf"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"Upload to Gradescope: {out} (this one file, as it is; do not unzip it)"
    assert "hw5: warning: results/record_cpu.json (cpu-here) is the embedded profile: stand-ins: earns no check points " \
           "unless staff accept embedded runs" in lines


def test_without_a_browser_the_manifest_says_why(tmp_path, rubric, monkeypatch):
    monkeypatch.setattr(browser, "find", lambda explicit=None: None)
    done = submit.build([RECORD], ANSWERS, tmp_path / "s.zip", rubric)
    assert [e["role"] for e in done.manifest["files"]] == ["answers", "record", "report_html"]
    assert done.manifest["notes"][0].startswith("report.pdf not made: no Chromium on PATH")
    assert done.warnings[-1] == done.manifest["notes"][0]


def test_html_is_self_contained(built):
    html = (built[1] / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", html, re.IGNORECASE)
    assert "<link" not in html and "<script" not in html and "@import" not in html and "url(" not in html
    assert "default-src 'none'; img-src data:" in html  # and the browser is told to fetch nothing else
    images = re.findall(r'<img [^>]*src="([^"]*)"', html)
    assert len(images) == 3
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")


def test_html_says_which_sections_are_stand_ins_and_holds_the_numbers(built):
    html = (built[1] / "report.html").read_text()
    shown = sum(len(tasks) for _, tasks in report_html.PARTS)
    assert html.count("Made on stand-in data or a stand-in module (embedded profile)") == shown
    assert "<strong>Stand-in data and modules.</strong>" in html
    assert html.count("<strong>Measured in this run</strong> (stand-in data/modules)") == 6
    assert "<td>baseline</td><td class=\"n\">101,770</td><td class=\"n\">92.6% ± 0.6%</td>" in html
    assert "<code>--input_layer=Mul --input_height=299 --input_width=299</code>" in html
    assert "/tmp/" not in html and "/root/" not in html


def test_html_escapes_hostile_student_and_record_text(tmp_path, rubric):
    nasty = "<script>alert(1)</script> {{ 7*7 }} <img src=x onerror=alert(2)> &amp; `code` \u202eevil"
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({"student": "<b>Eve</b>", "answers": {q: {"answer": nasty} for q in rubric.questions}}))
    doc = json.loads(RECORD.read_text())
    doc["device_label"] = "<i>lab</i>"
    doc["tasks"]["retrain_cpu_vs_gpu"]["details"]["legs"]["gpu"]["skipped"] = "no GPU <script>x()</script> `tick` \\back"
    record = tmp_path / "lab.json"
    record.write_text(json.dumps(doc))
    done = _build(tmp_path / "s.zip", rubric, records=[record], answers=answers)
    html = zipfile.ZipFile(done.path).read("report.html").decode()
    assert "<script" not in html and "<b>Eve" not in html and "<i>lab" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} &lt;img src=x onerror=alert(2)&gt; &amp;amp; `code` [U+202E]evil" in html
    assert "<title>Homework 5 report: &lt;b&gt;Eve&lt;/b&gt;</title>" in html and "<code>&lt;i&gt;lab&lt;/i&gt;</code>" in html
    # record text inside a measured line: the Markdown escapes undone, then HTML-escaped
    assert "GPU leg: skipped (no GPU &lt;script&gt;x()&lt;/script&gt; `tick` \\back)" in html


def test_markdown_line_undoes_escapes_and_code_spans_only():
    line = r"read off \(a\_b\.pb\): `--input_layer=Mul` \<b\> \` & <i>"
    assert str(report_html.markdown_line(line)) == "read off (a_b.pb): <code>--input_layer=Mul</code> &lt;b&gt; ` &amp; &lt;i&gt;"


def test_a_writeup_instead_of_answers_yaml(tmp_path, rubric):
    writeup = FIXTURES / "writeups" / "headings.md"
    done = _build(tmp_path / "s.zip", rubric, answers=writeup)
    folder = _unzip(done.path, tmp_path / "u")
    manifest = submit.read_manifest(folder)
    assert manifest["files"][0] == {"path": "answers/headings.md", "role": "answers", "kind": "write-up",
                                    "bytes": writeup.stat().st_size, "sha256": hashlib.sha256(writeup.read_bytes()).hexdigest()}
    html = (folder / "report.html").read_text()
    assert "write-up (headings.md), 0 of 13 questions unanswered" in html


def test_a_notebook_writeup(tmp_path, rubric):
    text = (FIXTURES / "writeups" / "headings.md").read_text()
    cells = [{"cell_type": "markdown", "metadata": {}, "source": block.splitlines(keepends=True)} for block in text.split("\n\n")]
    cells.insert(1, {"cell_type": "code", "metadata": {}, "source": "print('What is TensorFlow?')", "outputs": [], "execution_count": 1})
    notebook = tmp_path / "hw5.ipynb"
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    done = _build(tmp_path / "s.zip", rubric, answers=notebook)
    html = zipfile.ZipFile(done.path).read("report.html").decode()
    assert "write-up (hw5.ipynb), 0 of 13 questions unanswered" in html
    notebook.write_text('{"worksheets": []}')
    with pytest.raises(HomeworkError, match="hw5.ipynb: not a Jupyter notebook"):
        _build(tmp_path / "t.zip", rubric, answers=notebook)


def test_other_answer_files_are_refused(tmp_path, rubric):
    doc = tmp_path / "answers.docx"
    doc.write_bytes(b"PK\x03\x04")
    with pytest.raises(HomeworkError, match=r"answers.docx: hand in answers.yaml or a write-up \(.md, .markdown, .txt, .ipynb\)"):
        _build(tmp_path / "s.zip", rubric, answers=doc)


def test_several_records(tmp_path, rubric):
    doc = json.loads(RECORD.read_text())
    doc["device_label"] = "jetson-tx2"
    other = tmp_path / "jetson-tx2.json"
    other.write_text(json.dumps(doc))
    done = _build(tmp_path / "s.zip", rubric, records=[RECORD, other])
    manifest = submit.read_manifest(_unzip(done.path, tmp_path / "u"))
    assert [e["device_label"] for e in manifest["files"] if e["role"] == "record"] == ["cpu-here", "jetson-tx2"]
    html = (tmp_path / "u" / "report.html").read_text()
    assert "<h2>Devices side by side</h2>" in html and "<th class=\"n\">jetson-tx2 / cpu-here</th>" in html
    with pytest.raises(HomeworkError, match="results/record_cpu.json: two records have that file name"):
        _build(tmp_path / "t.zip", rubric, records=[RECORD, RECORD])


def test_a_record_with_no_task_and_empty_answers(tmp_path, rubric):
    from homework import record as run_record
    from homework.settings import Settings

    record = tmp_path / "fresh.json"
    run_record.write(record, run_record.new_record(Settings.load({"device_label": "fresh"}, env={})))
    done = _build(tmp_path / "s.zip", rubric, records=[record], answers=Path(__file__).resolve().parent.parent / "answers" / "answers.yaml")
    html = zipfile.ZipFile(done.path).read("report.html").decode()
    assert html.count("Not run in this record.") == 6 + 6  # every task section, and the measurements under Q8-Q13
    assert html.count('<div class="answer empty">(no answer yet)</div>') == 13
    assert done.warnings[-1] == "answers.yaml: 13 of 13 questions have no answer"


def _tampered(built, tmp_path, change) -> Path:
    folder = tmp_path / "sub"
    shutil.copytree(built[1], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    change(folder, manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize("change, message", [
    (lambda f, m: (f / "results" / "record_cpu.json").write_text("{}"), "results/record_cpu.json: 2 bytes, manifest.json says"),
    (lambda f, m: (f / "report.html").write_bytes((f / "report.html").read_bytes().replace(b"Ada", b"Bob")),
     "report.html: sha256 differs from manifest.json"),
    (lambda f, m: (f / "report.html").unlink(), "report.html: listed in manifest.json but not in the submission"),
    (lambda f, m: m["files"][2].update(role="slides"), r"files\[2\].role 'slides' is not one of answers, record, report_html, report_pdf"),
    (lambda f, m: m["files"][1].pop("device_label"), r"files\[1\].device_label missing or not text"),
    (lambda f, m: m["files"][0].update(bytes="5046"), r"files\[0\].bytes missing or not int"),
    (lambda f, m: m["files"][2].update(path="../report.html"), r"files\[2\]: path '../report.html' must be relative"),
    (lambda f, m: m["files"].pop(1), "lists 0 file\\(s\\) with role record; a submission has at least 1"),
    (lambda f, m: m["files"].append(dict(m["files"][0])), r"answers/answers.yaml is listed twice"),
    (lambda f, m: m.update(format_version=2), "format_version 2 is not 1"),
    (lambda f, m: m.update(format="zip"), "not an hw5 submission manifest"),
])
def test_read_manifest_refuses_a_changed_submission_in_one_line(built, tmp_path, change, message):
    folder = _tampered(built, tmp_path, change)
    with pytest.raises(HomeworkError, match=message) as caught:
        submit.read_manifest(folder)
    assert "\n" not in str(caught.value)


def test_read_manifest_needs_only_the_standard_library(built):
    """The autograder's image has python3 and PyYAML only: no Jinja2, matplotlib or TensorFlow."""
    import subprocess
    import sys

    code = ("import sys; from homework.submit import read_manifest; m = read_manifest(sys.argv[1]); "
            "assert not {'jinja2', 'matplotlib', 'yaml', 'tensorflow'} & set(sys.modules), sorted(sys.modules); print(len(m['files']))")
    done = subprocess.run([sys.executable, "-S", "-c", code, str(built[1])], capture_output=True, text=True,
                          env={"PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert (done.returncode, done.stdout.strip()) == (0, "3"), done.stderr[-2000:]


def test_read_manifest_without_a_manifest_or_with_a_broken_one(tmp_path):
    with pytest.raises(HomeworkError, match="manifest.json: not in the submission"):
        submit.read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(HomeworkError, match="manifest.json: not valid JSON"):
        submit.read_manifest(tmp_path)


def test_report_md_is_unchanged_by_the_html_report(tmp_path, record, rubric):
    """Both renderers share report.prepare; report.md still escapes for Markdown (spot check)."""
    from homework import report
    from homework.grading import submissions

    text = report.render([copy.deepcopy(record)], submissions.load(ANSWERS, rubric), rubric, tmp_path / "report.md").markdown
    assert "| run | `cpu-here`, record updated 2026-11-25T16\\:59\\:54\\+00\\:00 |" in text
    assert "](report_files/transfer.png)" in text
