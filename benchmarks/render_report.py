"""report.html in a real browser: rendered from a record and answers, printed to PDF and photographed.

    python benchmarks/render_report.py [--record tests/fixtures/record_cpu.json]
        [--answers tests/fixtures/answers_full.yaml] [--out /tmp/hw5-render] [--browser chromium]

Writes report.html, report.pdf and report.png (the top 1100 x 3000 CSS pixels, as a reader's
window shows it) into --out, then prints what it measured and exits 1 if any of it fails:
  pages       the PDF has more than one page (pdfinfo, else the page objects in its bytes)
  text        the PDF's text holds the device label and every question (pdftotext; without
              poppler-utils only the document title in its bytes is checked)
  parts       each part starts a printed page (pdftotext's page breaks)
  screenshot  not blank: the grey levels' standard deviation is above 20 (white is 0)
Needs a Chromium (apt-get install -y chromium); tests/test_report_browser.py runs this.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

REPO = Path(__file__).resolve().parent.parent
MIN_SPREAD = 20.0
PART_HEADINGS = ("Part 2: TensorFlow 1 (retrain)", "Written answers")


def render(record: Path, answers: Path, out: Path, browser: Optional[str] = None) -> dict:
    """Write report.html, report.pdf and report.png into `out`; return their paths and what is expected in them."""
    from homework import browser as chromium
    from homework import files, report_html
    from homework.grading import schema, submissions
    from homework.grading.rubric import Rubric

    found = chromium.find(browser)
    if found is None:
        raise SystemExit("no Chromium on PATH (apt-get install -y chromium)")
    rubric = Rubric.load(REPO / "answers" / "rubric.yaml")
    doc = schema.read_record(record)
    html = out / "report.html"
    files.write_text(html, report_html.render([doc], submissions.load(answers, rubric), rubric))
    chromium.print_pdf(html, out / "report.pdf", found)
    chromium.screenshot(html, out / "report.png", found)
    return {"html": html, "pdf": out / "report.pdf", "png": out / "report.png", "browser": chromium.version(found),
            "expect": [doc["device_label"]] + [q.text for q in rubric.questions.values()], "title": "Homework 5 report"}


def pdf_pages(pdf: Path) -> int:
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    return len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))


def pdf_text(pdf: Path) -> Optional[List[str]]:
    """The text of each page, whitespace collapsed; None without pdftotext."""
    if not shutil.which("pdftotext"):
        return None
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [" ".join(page.split()) for page in text.split("\f")][: pdf_pages(pdf)]  # pdftotext ends every page with \f


def spread(png: Path) -> float:
    from PIL import Image, ImageStat

    with Image.open(png) as image:
        return ImageStat.Stat(image.convert("L")).stddev[0]


def measure(made: dict) -> dict:
    pages = pdf_text(made["pdf"])
    result = {"browser": made["browser"], "pages": pdf_pages(made["pdf"]), "screenshot_spread": round(spread(made["png"]), 1)}
    if pages is None:
        result["text"] = "pdftotext not installed: only the title checked"
        result["missing"] = [] if made["title"].encode() in made["pdf"].read_bytes() else [made["title"]]
    else:
        whole = " ".join(pages)
        result["missing"] = [s for s in made["expect"] if " ".join(s.split()) not in whole]
        result["parts_not_starting_a_page"] = [h for h in PART_HEADINGS if not any(p.startswith(h) for p in pages)]
    result["ok"] = (result["pages"] > 1 and not result["missing"] and not result.get("parts_not_starting_a_page")
                    and result["screenshot_spread"] > MIN_SPREAD)
    return result


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", type=Path, default=REPO / "tests" / "fixtures" / "record_cpu.json")
    parser.add_argument("--answers", type=Path, default=REPO / "tests" / "fixtures" / "answers_full.yaml")
    parser.add_argument("--out", type=Path, default=Path("/tmp/hw5-render"))
    parser.add_argument("--browser", help="Chromium or Chrome to use (default the first on PATH)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    result = measure(render(args.record, args.answers, args.out, args.browser))
    print(json.dumps(result, indent=2))
    print(f"wrote {args.out}/report.html, report.pdf, report.png")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # run from anywhere in the checkout without installing
    sys.exit(main())
