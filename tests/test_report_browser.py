"""report.html in a real headless Chromium (benchmarks/render_report.py): a PDF of several pages whose
text holds the device label and every question, parts starting printed pages, a screenshot that is
not blank; and hw5 submit's report.pdf, with the same bytes for the same inputs.
Skipped without a Chromium (apt-get install -y chromium)."""
import hashlib
import importlib.util
import json
import zipfile
from pathlib import Path

import pytest

from homework import browser, submit

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = browser.find()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH (apt-get install -y chromium)")


def _script():
    spec = importlib.util.spec_from_file_location("render_report", REPO / "benchmarks" / "render_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    script = _script()
    made = script.render(FIXTURES / "record_cpu.json", FIXTURES / "answers_full.yaml", tmp_path_factory.mktemp("render"))
    return script, made, script.measure(made)


def test_the_pdf_has_pages_and_the_report_text(rendered):
    script, made, result = rendered
    assert result["pages"] > 1, result
    assert made["pdf"].read_bytes().startswith(b"%PDF-")
    assert result["missing"] == [], result  # the device label and all 13 questions
    if "text" not in result:  # pdftotext present: the print CSS starts each part on a new page
        assert result["parts_not_starting_a_page"] == [], result
        pages = script.pdf_text(made["pdf"])
        assert "cpu-here" in pages[0] and "Homework checks" in pages[0]  # the header and the verdicts first
        assert any(page.lstrip().startswith("Part 1: TensorFlow 2") for page in pages)
        assert pages[-1].count("Measured in this run") >= 1 and "Q13." in " ".join(pages)
    assert result["ok"]


def test_the_screenshot_is_not_blank(rendered):
    _, made, result = rendered
    from PIL import Image

    with Image.open(made["png"]) as image:
        assert image.size == (1100, 3000)
        top = image.convert("L").crop((0, 0, 1100, 120))  # the title is drawn: dark pixels at the top
        assert min(top.getdata()) < 80
    assert result["screenshot_spread"] > rendered[0].MIN_SPREAD


def test_submit_adds_a_pdf_and_gives_the_same_bytes_twice(tmp_path, rubric):
    built = [submit.build([FIXTURES / "record_cpu.json"], FIXTURES / "answers_full.yaml", tmp_path / f"{i}.zip", rubric)
             for i in (1, 2)]
    assert built[0].manifest == built[1].manifest  # first: on a failure, says which file differs (and the notes why)
    assert built[0].path.read_bytes() == built[1].path.read_bytes()  # Chromium's date stamps are fixed
    with zipfile.ZipFile(built[0].path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        pdf = zf.read("report.pdf")
    entry = [e for e in manifest["files"] if e["role"] == "report_pdf"]
    assert entry and entry[0]["sha256"] == hashlib.sha256(pdf).hexdigest() and pdf.startswith(b"%PDF-")
    assert manifest["notes"] == [f"report.pdf printed from report.html by {browser.version(CHROMIUM)}"]
    assert b"/CreationDate (D:" + browser.FIXED_DATE in pdf

