"""A misbehaving HTTP server on 127.0.0.1 for the download tests: each path serves its bytes
normally, slowly, with a stall, cut short, ignoring Range, or with an error status."""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple


@dataclass
class Route:
    body: bytes
    status: int = 200  # anything but 200 answers with that status and no body
    honour_range: bool = True
    cut_first: int = 0  # the first N answers close the connection after cut_at bytes
    cut_at: int = 0
    fail_first: Tuple[int, ...] = ()  # statuses for the first answers (e.g. 503), then normal
    trickle_bytes: int = 0  # send in pieces this big ...
    trickle_pause_s: float = 0.0  # ... with this pause after each
    stall_after: Optional[int] = None  # every answer stops after this many bytes ...
    stall_s: float = 0.0  # ... and stays silent this long before closing
    answered: int = 0


@dataclass
class Seen:
    path: str
    range: Optional[str]
    status: int
    bytes_sent: int


class LocalServer:
    def __init__(self):
        self.routes: Dict[str, Route] = {}
        self.seen: List[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server._answer(self)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False  # a handler still sleeping through a stall must not hold up close()
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes, **behaviour) -> str:
        self.routes[path] = Route(body, **behaviour)
        return self.url(path)

    def requests(self, path: str) -> List[Seen]:
        return [s for s in self.seen if s.path == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        asked = handler.headers.get("Range")
        route = self.routes.get(path)
        record = Seen(path, asked, 404, 0)
        self.seen.append(record)
        if route is None:
            return self._status(handler, record, 404)
        number, route.answered = route.answered, route.answered + 1
        if number < len(route.fail_first):
            return self._status(handler, record, route.fail_first[number])
        if route.status != 200:
            return self._status(handler, record, route.status)
        body, start = route.body, 0
        match = re.fullmatch(r"bytes=(\d+)-", asked or "")
        if match and route.honour_range:
            start = int(match.group(1))
            if start >= len(body):
                record.status = 416
                handler.send_response(416)
                handler.send_header("Content-Range", f"bytes */{len(body)}")
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
            record.status = 206
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            record.status = 200
            handler.send_response(200)
        payload = body[start:]
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if number < route.cut_first:
            payload = payload[: route.cut_at]
        self._send(handler, record, route, payload)

    def _send(self, handler, record: Seen, route: Route, payload: bytes) -> None:
        try:
            if route.stall_after is not None:
                self._write(handler, record, payload[: route.stall_after])
                time.sleep(route.stall_s)
                return
            piece = route.trickle_bytes or max(1, len(payload))
            for offset in range(0, len(payload), piece):
                self._write(handler, record, payload[offset: offset + piece])
                time.sleep(route.trickle_pause_s)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first: that is what the test wanted

    @staticmethod
    def _write(handler, record: Seen, chunk: bytes) -> None:
        handler.wfile.write(chunk)
        handler.wfile.flush()
        record.bytes_sent += len(chunk)

    @staticmethod
    def _status(handler, record: Seen, status: int) -> None:
        record.status = status
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()


def refused_url() -> str:
    """A URL on a port nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing-here"
