"""Headless Chromium: an HTML file printed to PDF or photographed as a PNG.

Optional everywhere: `hw5 submit` adds report.pdf when a Chromium is installed and says in
its manifest why not otherwise. Each call starts a browser with a throwaway profile, no
network services and no sandbox only when running as root (Chromium refuses root otherwise).
Ubuntu's Chromium is a snap with a /tmp of its own: callers keep the page and the output in a
folder both can see (hw5 submit uses the zip's folder).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import List, Optional

from . import files
from .errors import HomeworkError

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
TIMEOUT_S = 120
_QUIET = ("--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars")
# Chromium stamps the PDF's creation and modification time; the same report must give the same bytes
_PDF_DATE = re.compile(rb"(/(?:CreationDate|ModDate) ?\(D:)(\d{14})")
FIXED_DATE = b"20200101000000"  # as long as the stamp it replaces, so the cross-reference offsets stay right


def find(explicit: Optional[str] = None) -> Optional[str]:
    """The browser to use: `explicit` (a path or a name on PATH) or the first Chromium on PATH; None if none."""
    if explicit:
        found = shutil.which(explicit)
        if not found:
            raise HomeworkError(f"--browser {explicit}: not found or not executable")
        return found
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def version(browser: str) -> str:
    try:
        out = subprocess.run([browser, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown version"
    match = re.search(r"[\w .-]*?\d+(?:\.\d+)+", out)
    return match.group(0).strip() if match else "unknown version"


def print_pdf(html: Path, pdf: Path, browser: str) -> bytes:
    """`html` printed to `pdf` (page size from the CSS, no header or footer); returns the PDF's bytes, dates fixed."""
    data = _run(browser, ["--no-pdf-header-footer", "--print-to-pdf-no-header", f"--print-to-pdf={Path(pdf).resolve()}"], html, pdf)
    data = _PDF_DATE.sub(lambda m: m.group(1) + FIXED_DATE, data)
    files.write_bytes(pdf, data)
    return data


def screenshot(html: Path, png: Path, browser: str, width: int = 1100, height: int = 3000) -> bytes:
    """The top `width` x `height` CSS pixels of `html` as a PNG."""
    return _run(browser, [f"--window-size={width},{height}", f"--screenshot={Path(png).resolve()}"], html, png)


def _run(browser: str, args: List[str], html: Path, out: Path) -> bytes:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    # the profile stays in the system's temporary folder: Chromium's crash handler can outlive the browser
    # and write there while it is removed, and a snap's Chromium makes it in its own /tmp, unseen and harmless
    profile = tempfile.mkdtemp(prefix="hw5-chromium-")
    sandbox = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    command = [browser, *_QUIET, *sandbox, f"--user-data-dir={profile}", *args, Path(html).resolve().as_uri()]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise HomeworkError(f"{browser}: gave no {out.suffix[1:].upper()} of {Path(html).name} within {TIMEOUT_S} s") from None
    except OSError as exc:
        raise HomeworkError(f"{browser}: cannot start ({exc.strerror})") from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        last = [line for line in done.stderr.splitlines() if line.strip()][-1:] or ["no message"]
        raise HomeworkError(f"{browser}: made no {out.suffix[1:].upper()} of {Path(html).name} (exit {done.returncode}: {last[0][:200]})")
    return out.read_bytes()
