"""homework/download.py against a local HTTP server that misbehaves on purpose: slow, stalled,
cut short, ignoring Range, corrupt, the wrong size, missing, refused. Timeouts are tenths of a
second, so the whole file runs in a few seconds."""
import hashlib
import os
import socket
import time

import pytest

from homework import download
from homework.download import Download, Policy
from homework.errors import HomeworkError, OfflineError
from local_server import LocalServer, refused_url

FAST = Policy(read_timeout_s=0.3, attempts=3, backoff_s=0.01, max_backoff_s=0.05)
BODY = os.urandom(200_000)
DIGEST = hashlib.sha256(BODY).hexdigest()
BY_HAND = "put flower_photos.tgz at /cache/downloads/flower_photos.tgz or pass --flowers-dir"


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.close()


def item(url, path, size=len(BODY), sha256=DIGEST):
    return Download("flower_photos", url, path, size, sha256, BY_HAND)


def assert_one_line_naming(err, url):
    text = str(err.value)
    assert "\n" not in text and text.startswith("flower_photos: ") and url in text and BY_HAND in text


def test_a_normal_download_lands_whole_with_no_part_left(server, tmp_path):
    url = server.add("/normal", BODY)
    target = tmp_path / "flower_photos.tgz"
    assert download.fetch(item(url, target), FAST) == DIGEST
    assert target.read_bytes() == BODY
    assert not download.partial_path(target).exists()
    assert [s.range for s in server.requests("/normal")] == [None]


def test_a_slow_download_that_keeps_moving_never_times_out(server, tmp_path):
    body = BODY[:40_000]
    url = server.add("/slow", body, trickle_bytes=2_000, trickle_pause_s=0.05)  # 20 pauses, each under the read timeout
    started = time.perf_counter()
    download.fetch(item(url, tmp_path / "f", len(body), hashlib.sha256(body).hexdigest()), FAST)
    took = time.perf_counter() - started
    assert took > 2 * FAST.read_timeout_s  # longer than a whole-download timeout of that size would allow
    assert (tmp_path / "f").read_bytes() == body
    assert len(server.requests("/slow")) == 1  # no retry was needed


def test_a_stall_is_retried_resuming_each_time_then_fails_in_one_line(server, tmp_path):
    url = server.add("/stall", BODY, stall_after=10_000, stall_s=1.5)
    target = tmp_path / "flower_photos.tgz"
    started = time.perf_counter()
    with pytest.raises(OfflineError) as err:
        download.fetch(item(url, target), FAST)
    assert time.perf_counter() - started < 3
    assert_one_line_naming(err, url)
    assert "3 attempts" in str(err.value) and "stalled" in str(err.value)
    # every retry asks for the bytes after what it already has
    assert [s.range for s in server.requests("/stall")] == [None, "bytes=10000-", "bytes=20000-"]
    assert not target.exists() and download.partial_path(target).stat().st_size == 30_000  # kept for the next run


def test_a_cut_connection_is_resumed_with_range(server, tmp_path):
    url = server.add("/cut", BODY, cut_first=1, cut_at=70_000)
    target = tmp_path / "f"
    assert download.fetch(item(url, target), FAST) == DIGEST
    seen = server.requests("/cut")
    assert [(s.range, s.status) for s in seen] == [(None, 200), ("bytes=70000-", 206)]
    assert sum(s.bytes_sent for s in seen) == len(BODY)  # nothing fetched twice
    assert target.read_bytes() == BODY


def test_a_server_ignoring_range_restarts_cleanly(server, tmp_path):
    url = server.add("/norange", BODY, cut_first=1, cut_at=70_000, honour_range=False)
    target = tmp_path / "f"
    assert download.fetch(item(url, target), FAST) == DIGEST  # appending the 200 body would break the hash
    assert [(s.range, s.status) for s in server.requests("/norange")] == [(None, 200), ("bytes=70000-", 200)]


@pytest.mark.parametrize("pinned_size", [True, False])
def test_a_part_longer_than_the_file_starts_over(server, tmp_path, pinned_size):
    url = server.add("/long", BODY)
    target = tmp_path / "f"
    download.partial_path(target).write_bytes(b"x" * (len(BODY) + 100))
    download.fetch(item(url, target, len(BODY) if pinned_size else None), FAST)
    assert target.read_bytes() == BODY
    ranges = [s.range for s in server.requests("/long")]
    # known size: seen before asking; unknown: the server's 416 says so
    assert ranges == ([None] if pinned_size else [f"bytes={len(BODY) + 100}-", None])


def test_a_complete_part_is_checked_and_placed_without_a_request(server, tmp_path):
    url = server.add("/done", BODY)
    target = tmp_path / "f"
    download.partial_path(target).write_bytes(BODY)
    assert download.fetch(item(url, target), FAST) == DIGEST
    assert server.requests("/done") == [] and target.read_bytes() == BODY


def test_corrupt_bytes_fail_the_hash_and_the_part_is_removed(server, tmp_path):
    wrong = bytes(len(BODY))
    url = server.add("/corrupt", wrong)
    target = tmp_path / "f"
    with pytest.raises(HomeworkError) as err:
        download.fetch(item(url, target), FAST)
    assert_one_line_naming(err, url)
    assert DIGEST in str(err.value) and hashlib.sha256(wrong).hexdigest() in str(err.value)
    assert not target.exists() and not download.partial_path(target).exists()
    assert len(server.requests("/corrupt")) == 1


def test_the_wrong_size_is_refused_before_streaming(server, tmp_path):
    url = server.add("/html", b"<html>please log in to the Wi-Fi</html>")
    target = tmp_path / "f"
    with pytest.raises(HomeworkError) as err:
        download.fetch(item(url, target), FAST)
    assert_one_line_naming(err, url)
    assert "offers 39 bytes, expected 200,000" in str(err.value)
    assert not target.exists() and not download.partial_path(target).exists()
    assert len(server.requests("/html")) == 1


def test_unknown_size_still_checks_the_hash(server, tmp_path):
    url = server.add("/nosize", BODY[:1000])
    with pytest.raises(HomeworkError, match="expected " + DIGEST):
        download.fetch(item(url, tmp_path / "f", size=None), FAST)


def test_404_is_not_retried(server, tmp_path):
    url = server.url("/missing")
    with pytest.raises(HomeworkError) as err:
        download.fetch(item(url, tmp_path / "f"), FAST)
    assert not isinstance(err.value, OfflineError)
    assert_one_line_naming(err, url)
    assert "HTTP 404" in str(err.value) and len(server.requests("/missing")) == 1


def test_a_5xx_answer_is_retried(server, tmp_path):
    url = server.add("/busy", BODY, fail_first=(503,))
    assert download.fetch(item(url, tmp_path / "f"), FAST) == DIGEST
    assert [s.status for s in server.requests("/busy")] == [503, 200]


def test_a_refused_port_is_retried_then_fails_in_one_line(tmp_path):
    url = refused_url()
    started = time.perf_counter()
    with pytest.raises(OfflineError) as err:
        download.fetch(item(url, tmp_path / "f"), FAST)
    assert time.perf_counter() - started < 2
    assert_one_line_naming(err, url)
    assert "3 attempts" in str(err.value) and "refused" in str(err.value).lower()


def test_a_host_that_does_not_resolve_fails_at_once(tmp_path, monkeypatch):
    calls = []

    def no_dns(*args, **kwargs):
        calls.append(args)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    url = "https://storage.googleapis.com/example.tgz"
    with pytest.raises(OfflineError) as err:
        download.fetch(item(url, tmp_path / "f"), FAST)
    assert_one_line_naming(err, url)
    assert "does not resolve" in str(err.value) and len(calls) == 1


def test_progress_is_drawn_only_when_asked(server, tmp_path, capsys):
    url = server.add("/shown", BODY)
    download.fetch(item(url, tmp_path / "a"), FAST, progress=True)
    shown = capsys.readouterr().err
    assert "flower_photos: 195/195 kB" in shown and shown.endswith("\n")
    download.fetch(item(url, tmp_path / "b"), FAST, progress=False)
    assert capsys.readouterr().err == ""


def test_a_disk_that_cannot_be_written_is_not_blamed_on_the_network(server, tmp_path):
    url = server.add("/disk", BODY)
    target = tmp_path / "f"
    download.partial_path(target).mkdir()  # opening the .part for writing fails, like a full or read-only disk
    with pytest.raises(HomeworkError) as err:
        download.fetch(item(url, target), FAST)
    assert not isinstance(err.value, OfflineError) and "cannot write the download of flower_photos" in str(err.value)
    assert len(server.requests("/disk")) == 1
