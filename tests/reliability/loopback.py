"""A scripted HTTP server on 127.0.0.1 for fault tests: it answers each path from a list of
answers in turn (a status, headers, a body, a delay, or a dropped connection), records every
request, and stops with its ``with`` block. It stands in for a carrier or a merchant's endpoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    """``status`` 0 closes the connection without a word (a crashed or reset peer)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Scripted = Answer | Callable[[dict[str, Any]], Answer]


@dataclass
class LoopbackServer:
    url: str = ""
    default: Answer = field(default_factory=lambda: Answer(200, b"{}"))
    _scripts: dict[str, list[Scripted]] = field(default_factory=dict)
    _requests: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, path: str, answers: list[Scripted]) -> None:
        """Answers for the next requests to ``path``, in order; the default after them."""
        with self._lock:
            self._scripts[path] = list(answers)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [request for request in self._requests if path is None or request["path"] == path]

    def _next(self, request: dict[str, Any]) -> Answer:
        with self._lock:
            self._requests.append(request)
            queue = self._scripts.get(request["path"], [])
            scripted = queue.pop(0) if queue else self.default
        return scripted(request) if callable(scripted) else scripted


@contextmanager
def loopback_server() -> Iterator[LoopbackServer]:
    server_state = LoopbackServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            path = self.path.split("?", 1)[0]
            request = {
                "method": self.command,
                "path": path,
                "query": self.path.partition("?")[2],
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": body,
            }
            answer = server_state._next(request)
            if answer.delay:
                time.sleep(answer.delay)
            if answer.status == 0:
                self.close_connection = True
                return
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except OSError:
                pass  # the client gave up waiting: that was the point

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
