"""A webhook endpoint to watch events arrive: ``POST /hooks/<name>`` records a delivery,
``GET /hooks/<name>`` lists them (newest last) as JSON, with headers, so they can be verified.

The demo organization's webhook URL points here, so a new user sees every transition of every
message they send; any other name works as a ``callback_url``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_KEPT = 1_000  # per name; the oldest go first
MAX_BODY = 256 * 1024


class WebhookInspector:
    def __init__(self) -> None:
        self._received: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        inspector = self

        class Handler(_InspectorRequestHandler):
            owner = inspector

        self._server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, name="webhook-inspector", daemon=True).start()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def hook_url(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def record(self, name: str, headers: dict[str, str], body: str) -> None:
        with self._lock:
            kept = self._received.setdefault(name, [])
            kept.append({"received_at": time.time(), "headers": headers, "body": body})
            del kept[:-MAX_KEPT]

    def list(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._received.get(name, []))

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _InspectorRequestHandler(BaseHTTPRequestHandler):
    owner: WebhookInspector

    def do_POST(self) -> None:
        name = self._name()
        length = int(self.headers.get("content-length") or 0)
        if name is None or length > MAX_BODY:
            self._answer(404 if name is None else 413, {"detail": "Not Found" if name is None else "Too large"})
            return
        body = self.rfile.read(length).decode("utf-8", "replace")
        self.owner.record(name, {key.lower(): value for key, value in self.headers.items()}, body)
        self._answer(200, {"received": True})

    def do_GET(self) -> None:
        name = self._name()
        if name is None:
            self._answer(404, {"detail": "Not Found"})
            return
        self._answer(200, {"webhooks": self.owner.list(name)})

    def _name(self) -> str | None:
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) == 2 and parts[0] == "hooks" and parts[1].replace("-", "").replace("_", "").isalnum():
            return parts[1]
        return None

    def _answer(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass
