"""`hw5 submit`: the one file a student uploads to Gradescope.

Gradescope unzips the upload into /autograder/submission, so the zip's top level is what the
autograder sees:

    manifest.json          every other file: role, size, sha256; hw5's version; the records'
                           device labels and profiles; notes (why report.pdf is missing)
    answers/<file>         answers.yaml, or the write-up (.md, .markdown, .txt, .ipynb)
    results/<file>.json    the run record(s), byte for byte as hw5 run wrote them
    report.html            the report, self-contained (plots inline), printable
    report.pdf             the same, printed by headless Chromium when one is installed

A record's .checks.json stays out: the autograder recomputes every verdict from the record and
never trusts a pass/fail list. The same inputs give the same zip bytes (fixed order, times and
permissions; report.pdf's dates fixed).
"""
from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

from . import __version__, files
from .errors import HomeworkError

from .grading.bundle import FORMAT, FORMAT_VERSION, MANIFEST, read_manifest  # noqa: F401  the format is defined where it is read

ANSWER_SUFFIXES = (".yaml", ".yml", ".md", ".markdown", ".txt", ".ipynb")
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
STAND_IN_WARNING = "stand-ins: earns no check points unless staff accept embedded runs"


@dataclass(frozen=True)
class Submission:
    path: Path
    manifest: dict
    warnings: List[str] = field(default_factory=list)
    left_out: List[Path] = field(default_factory=list)  # .checks.json files beside the records


def build(records: Sequence[Path], answers: Path, out: Path, rubric, baseline: Optional[str] = None,
          browser: Optional[str] = None, pdf: bool = True) -> Submission:
    """Read and check every input, render the report, write the zip atomically (no zip on an error)."""
    from . import report_html
    from .grading import checks_plugin, inputs, schema, submissions

    records, answers = [Path(p) for p in records], Path(answers)
    out = _output(out, [*records, answers])
    names = _check_names(records, answers)
    docs = [schema.read_record(p) for p in records]
    read = submissions.load(answers, rubric)

    # answers.yaml keeps its usual name whatever it was called here; a write-up keeps its own
    answers_name = "answers.yaml" if read.kind == "answers.yaml" else answers.name
    entries = [(f"answers/{answers_name}", answers.read_bytes(), {"role": "answers", "kind": read.kind})]
    entries += [(name, path.read_bytes(), {"role": "record", "device_label": doc["device_label"], "profile": doc["provenance"]["profile"]})
                for path, name, doc in zip(records, names, docs)]
    html = report_html.render(docs, read, rubric, baseline).encode("utf-8")
    entries.append(("report.html", html, {"role": "report_html"}))
    if pdf:
        made, note = _pdf(html, browser, out.resolve().parent)
        if made is not None:
            entries.append(("report.pdf", made, {"role": "report_pdf"}))
    else:
        made, note = None, "report.pdf not made: hw5 submit --no-pdf (print report.html to PDF from a browser if staff want one)"

    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hw5_version": __version__,
        "files": [{"path": name, **extra, "bytes": len(data), "sha256": files.sha256_bytes(data)} for name, data, extra in entries],
        "notes": [note],
    }
    files.write_bytes(out, _zip([(MANIFEST, inputs.dumps(manifest).encode("utf-8"))] + [(name, data) for name, data, _ in entries]))

    warnings = [f"{name} ({doc['device_label']}) is the embedded profile: {STAND_IN_WARNING}"
                for name, doc in zip(names, docs) if doc["provenance"]["profile"] == "embedded"]
    unanswered = sum(1 for text in read.answers.values() if not text.strip())
    if unanswered:
        warnings.append(f"{answers.name}: {unanswered} of {len(read.answers)} questions have no answer")
    if pdf and made is None:
        warnings.append(note)
    left_out = [checks_plugin.checks_path(p) for p in records if checks_plugin.checks_path(p).exists()]
    return Submission(out, manifest, warnings, left_out)


def _check_names(records: Sequence[Path], answers: Path) -> List[str]:
    """The records' names inside the zip, after refusing what cannot go in."""
    from .grading import checks_plugin

    if answers.suffix.lower() not in ANSWER_SUFFIXES:
        raise HomeworkError(f"{answers}: hand in answers.yaml or a write-up ({', '.join(ANSWER_SUFFIXES[2:])})")
    for path in records:
        if path.name.endswith(checks_plugin.CHECKS_SUFFIX):
            raise HomeworkError(f"{path}: is a checks results file; give the run record beside it "
                                f"({checks_plugin.record_path_for(path).name})")
    names = [f"results/{p.name}" for p in records]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise HomeworkError(f"{twice[0]}: two records have that file name; rename one")
    return names


def _output(out, sources: Sequence[Path]) -> Path:
    from .grading import inputs

    out = inputs.output_path(out, sources, "submission")
    if out.suffix.lower() != ".zip":
        raise HomeworkError(f"{out}: name the submission *.zip (Gradescope unzips only .zip uploads)")
    return out


def _pdf(html: bytes, explicit_browser: Optional[str], folder: Path):
    """(report.pdf's bytes or None, the manifest's note saying which). Printed in a scratch folder
    inside `folder` (where the zip goes), which a snap-confined Chromium can see, unlike /tmp."""
    from . import browser

    found = browser.find(explicit_browser)
    if found is None:
        return None, ("report.pdf not made: no Chromium on PATH (install chromium, or print report.html "
                      "to PDF from any browser)")
    folder.mkdir(parents=True, exist_ok=True)  # the zip goes there next
    with tempfile.TemporaryDirectory(prefix="hw5-submit-", dir=folder) as tmp:
        page = Path(tmp) / "report.html"
        page.write_bytes(html)
        try:
            data = browser.print_pdf(page, Path(tmp) / "report.pdf", found)
        except HomeworkError as exc:
            return None, f"report.pdf not made: {exc}"
    return data, f"report.pdf printed from report.html by {browser.version(found)}"


def _zip(entries: Sequence[tuple]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3  # "made on Unix" even on Windows, where zipfile would write 0
            info.external_attr = (0o100000 | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=6)
    return buffer.getvalue()


# -- the command -----------------------------------------------------------------------------
def command(args) -> int:
    """hw5 submit: build the zip, say what to upload."""
    from .grading.rubric import Rubric

    rubric = Rubric.load(args.rubric)
    records = args.record or [_default_record()]
    done = build(records, Path(args.answers), Path(args.output), rubric, baseline=args.baseline,
                 browser=args.browser, pdf=not args.no_pdf)
    listed = ", ".join(f"{e['path']} ({e['role']})" for e in done.manifest["files"])
    print(f"hw5: wrote {done.path}: {MANIFEST}, {listed}")
    for path in done.left_out:
        print(f"hw5: left out {path.name}: the autograder recomputes the verdicts from the record")
    for line in done.warnings:
        print(f"hw5: warning: {line}")
    print(f"Upload to Gradescope: {done.path} (this one file, as it is; do not unzip it)")
    return 0


def _default_record() -> Path:
    from . import record
    from .settings import Settings

    path = record.default_path(Settings.load({}))
    if not path.exists():
        raise HomeworkError(f"{path}: run record not found (run hw5 run first, or give --record)")
    return path
