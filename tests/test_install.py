"""`pip install .` (not editable) gives a working hw5: templates, rubric and the answers skeleton
ship inside the package, and `hw5 report` works from a folder outside the checkout."""
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["pyproject.toml", "README.md", "homework", "templates", "answers"]


def test_every_subpackage_is_listed_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    for init in (ROOT / "homework").rglob("__init__.py"):
        name = ".".join(init.parent.relative_to(ROOT).parts)
        assert f'"{name}"' in text, f"{name} is missing from [tool.setuptools] packages: pip install . would leave it out"


@pytest.mark.slow
def test_non_editable_install_renders_the_report_outside_the_checkout(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in SHIPPED:  # a clean copy: the build writes nothing into the checkout
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__", "report.md", "report_files")} if copy is shutil.copytree else {}))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # TensorFlow and the other dependencies come from this interpreter's site-packages through PYTHONPATH
    # (which, unlike --system-site-packages, does not run its .pth files, so the checkout's editable
    # install cannot shadow the installed copy).
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    python = venv / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(source)],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(python), "-c", "import homework, homework.packaged as p; print(homework.__file__); print(p.packaged_dir('templates'))"],
                           cwd=work, env=env, capture_output=True, text=True)
    assert str(venv) in where.stdout and str(ROOT) not in where.stdout, where.stdout + where.stderr
    from homework import record as run_record
    from homework.settings import Settings

    record = tmp_path / "installed.json"  # no task run: every section renders as "not run", from the shipped templates
    run_record.write(record, run_record.new_record(Settings.load({"device_label": "installed"}, env={})))
    done = subprocess.run([str(venv / "bin" / "hw5"), "report", "--record", str(record)], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = (work / "answers" / "report.md").read_text()
    assert report.startswith("# Homework 5 report") and "*(no answer yet)*" in report  # the shipped answers skeleton
    shutil.copy(ROOT / "answers" / "answers.yaml", work / "answers" / "answers.yaml")  # the student's own copy
    done = subprocess.run([str(venv / "bin" / "hw5"), "submit", "--record", str(record), "--no-pdf"], cwd=work, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    import zipfile

    html = zipfile.ZipFile(work / "submission.zip").read("report.html").decode()  # from the shipped HTML template and CSS
    assert html.count("Not run in this record.") == 12 and "@page" in html
