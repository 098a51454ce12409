"""Files that ship with hw5: the report templates and the answers skeleton and rubric.

One source: the checkout's top-level templates/ and answers/ folders, which a wheel
carries inside the package as homework/templates and homework/answers (pyproject.toml
maps them). A checkout (pip install -e .) reads the top-level folders; an installed
package (pip install .) reads its own copies.
"""
from __future__ import annotations

from pathlib import Path

from .errors import HomeworkError

PACKAGE = Path(__file__).resolve().parent


def packaged_dir(name: str) -> Path:
    for candidate in (PACKAGE / name, PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise HomeworkError(f"{name}/: not found in {PACKAGE} or beside it; reinstall hw5 (pip install .)")


def packaged_file(relative: str) -> Path:
    """answers/rubric.yaml, templates/report.md.j2 ... from the checkout or the installed package."""
    folder, _, name = str(relative).replace("\\", "/").partition("/")
    path = packaged_dir(folder) / name
    if not path.is_file():
        raise HomeworkError(f"{relative}: not shipped with hw5 (looked in {path.parent})")
    return path
