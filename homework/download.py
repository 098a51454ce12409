"""One file over HTTP(S), fetched like a careful download manager, with the standard library only.

The bytes stream into `<file>.part` beside the destination. An interrupted download resumes
with an HTTP Range request; a server that ignores Range (200 instead of 206), or a .part
longer than the file, starts it over cleanly. Only silence is timed: a read that waits
longer than `read_timeout_s` counts as a stall, so a slow download that keeps moving never
fails. Stalls, dropped connections and 5xx answers are retried with backoff; a host that
does not resolve, a 4xx answer or the wrong bytes are not. The size and sha256 are checked
before the file is renamed into place, and every failure is one line naming the item, the
URL and how to place the file by hand.
"""
from __future__ import annotations

import http.client
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import files
from .errors import HomeworkError, OfflineError
from .progress import Progress

CHUNK_BYTES = 1 << 16
USER_AGENT = "hw5-homework-harness (Python urllib)"
RETRIED_STATUSES = (408, 425, 429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Policy:
    read_timeout_s: float = 30.0  # silence allowed on one read (or the connect) before the attempt counts as stalled
    attempts: int = 5
    backoff_s: float = 2.0  # wait before the second attempt, doubled before each later one
    max_backoff_s: float = 30.0


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Download:
    name: str  # the item, as messages call it
    url: str
    path: Path  # where the finished file goes
    size: Optional[int] = None  # expected bytes, when known
    sha256: Optional[str] = None  # expected digest, when known
    by_hand: str = ""  # how to place the file by hand: ends every failure message


class WrongBytes(HomeworkError):
    """The server answered with something other than the expected file (its size or sha256)."""


class _Retry(Exception):
    """A failure another attempt may mend: a stall, a dropped connection, a 5xx answer."""


class _StartOver(Exception):
    """The .part cannot be resumed (the server gave another range, or the .part overshoots): restart now."""


class _Complete(Exception):
    """416 with the .part exactly as long as the file: nothing left to fetch."""


def partial_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".part")


def fetch(item: Download, policy: Optional[Policy] = None, progress: Optional[bool] = None) -> str:
    """Download `item` to item.path (resuming a .part left by an earlier try) and return its
    sha256. Raises OfflineError when the host cannot be reached or keeps failing, HomeworkError
    when it answers with an error or the wrong bytes. `progress`: None shows it on a terminal."""
    policy = policy or DEFAULT_POLICY
    part = partial_path(item.path)
    last_problem = ""
    for attempt in range(policy.attempts):
        if attempt:
            time.sleep(min(policy.backoff_s * 2 ** (attempt - 1), policy.max_backoff_s))
        try:
            try:
                _attempt(item, part, policy, progress)
            except _Complete:
                pass
            except _StartOver:
                part.unlink()
                _attempt(item, part, policy, progress)
            break
        except _Retry as exc:
            last_problem = str(exc)
    else:
        raise OfflineError(_line(f"{item.name}: could not download {item.url} in {policy.attempts} attempts "
                                 f"(last: {last_problem}); {item.by_hand}"))
    return _check_and_place(item, part)


def _attempt(item: Download, part: Path, policy: Policy, progress: Optional[bool]) -> None:
    have = part.stat().st_size if part.exists() else 0
    if item.size is not None and have > item.size:
        raise _StartOver()
    if item.size is not None and have == item.size:
        return  # complete: the last run stopped between the last byte and the check
    response = _request(item, have, policy)
    with response:
        if have and response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != have:
                raise _StartOver()
        else:
            have, total = 0, None  # 200: the server sends the whole file, whatever was asked
        length = _int_or_none(response.headers.get("Content-Length"))
        if total is None and length is not None:
            total = have + length
        total = total or item.size  # without a length from the server, a pinned size still tells a cut-short answer
        if item.size is not None and total is not None and total != item.size:
            part.unlink(missing_ok=True)
            raise WrongBytes(_line(f"{item.name}: {item.url} offers {total:,} bytes, expected {item.size:,} "
                                   f"(a proxy or login page in the way?); {item.by_hand}"))
        _stream(item, response, part, have, total, policy, progress)


def _request(item: Download, have: int, policy: Policy):
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        return _open(urllib.request.Request(item.url, headers=headers), policy.read_timeout_s)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and have:  # the .part reaches the file's end, or passes it
            _, total = _content_range(exc.headers.get("Content-Range"))
            if total is not None and total == have:
                raise _Complete() from None
            raise _StartOver() from None
        if exc.code in RETRIED_STATUSES:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise HomeworkError(_line(f"{item.name}: {item.url} answered HTTP {exc.code} {exc.reason}; {item.by_hand}")) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, socket.gaierror):  # no name service: offline, and retrying will not change it
            raise OfflineError(_line(f"{item.name}: cannot reach {item.url} (host name does not resolve: offline?); "
                                     f"{item.by_hand}")) from None
        raise _Retry(_reason(exc.reason)) from None
    except socket.timeout:
        raise _Retry(f"no answer for {policy.read_timeout_s:g} s") from None
    except (http.client.HTTPException, OSError) as exc:
        raise _Retry(_reason(exc)) from None


def _stream(item: Download, response, part: Path, have: int, total: Optional[int], policy: Policy,
            progress: Optional[bool]) -> None:
    shown = None
    if total:
        resumed = f" (resumed at {have / 1e6:.1f} MB)" if have else ""
        shown = Progress(f"{item.name}{resumed}", max(1, (total - have) // 1024), unit="kB", enabled=progress)
    received = 0
    part.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(part, "ab" if have else "wb") as handle:
            while True:
                chunk = _next_chunk(response, have + received, policy)
                if not chunk:
                    break
                handle.write(chunk)
                received += len(chunk)
                if item.size is not None and have + received > item.size:
                    handle.truncate(0)
                    raise WrongBytes(_line(f"{item.name}: {item.url} sent more than the expected {item.size:,} bytes; "
                                           f"{item.by_hand}"))
                if shown:
                    shown.advance_to(received // 1024)
    except OSError as exc:  # the disk, not the network: retrying would not help
        raise HomeworkError(_line(f"{part}: cannot write the download of {item.name} ({exc.strerror or exc})")) from None
    finally:
        if shown:
            shown.close()
    if total is not None and have + received < total:
        raise _Retry(f"connection closed after {have + received:,} of {total:,} bytes")


def _next_chunk(response, done: int, policy: Policy) -> bytes:
    """What has arrived, up to a chunk (read() would wait for a full chunk and lose it on a stall)."""
    try:
        return response.read1(CHUNK_BYTES)
    except socket.timeout:
        raise _Retry(f"stalled: no data for {policy.read_timeout_s:g} s after {done:,} bytes") from None
    except (http.client.HTTPException, OSError) as exc:
        raise _Retry(f"connection lost after {done:,} bytes ({_reason(exc)})") from None


def _check_and_place(item: Download, part: Path) -> str:
    size = part.stat().st_size
    if item.size is not None and size != item.size:
        part.unlink()
        raise WrongBytes(_line(f"{item.name}: {item.url} gave {size:,} bytes, expected {item.size:,}; "
                               f"the partial file was removed; {item.by_hand}"))
    digest = files.sha256_file(part)
    if item.sha256 and digest != item.sha256:
        part.unlink()
        raise WrongBytes(_line(f"{item.name}: {item.url} gave other bytes than expected (sha256 {digest}, "
                               f"expected {item.sha256}); the download was removed, run again or {item.by_hand}"))
    files.rename_into_place(part, item.path)
    return digest


def host_resolves(url: str, timeout_s: float = 5.0) -> bool:
    """Whether the host of `url` has an address: the quick test for "offline" before a download
    (fetch raises OfflineError when it has none). A lookup slower than `timeout_s` counts as none:
    getaddrinfo has no timeout of its own, and an unplugged machine can wait on DNS for long."""
    host = urllib.parse.urlsplit(url).hostname
    if not host:  # getaddrinfo(None) would answer with this machine's own addresses
        return False
    answers = []

    def look_up():
        try:
            answers.append(bool(socket.getaddrinfo(host, 443)))
        except (OSError, UnicodeError):  # socket.gaierror is an OSError
            answers.append(False)

    thread = threading.Thread(target=look_up, name="hw5-dns", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(answers and answers[0])


def _open(request: urllib.request.Request, timeout: float):
    """The one place a connection is made (tests route it to a local server)."""
    return urllib.request.urlopen(request, timeout=timeout)


def _content_range(header: Optional[str]):
    """(first byte, total) from 'bytes 100-199/1000' or 'bytes */1000'; None where absent."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", header or "")
    if not match:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (int(total) if total and total != "*" else None)


def _int_or_none(text: Optional[str]) -> Optional[int]:
    return int(text) if text and text.strip().isdigit() else None


def _reason(exc) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _line(text: str) -> str:
    return " ".join(text.split())
