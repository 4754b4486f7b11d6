"""Loopback stand-ins for carriers, following their documented HTTP formats, and a receipts
endpoint that hands what it receives to a connector's parser exactly as our function would.

Every server binds 127.0.0.1 on a free port, runs in a daemon thread and is shut down by
its context manager; nothing here leaves the machine.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lisoloo.carriers import Carrier, CarrierReceipt, ReceiptRequest


@dataclass(frozen=True)
class Seen:
    """One request a fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str

    @property
    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body, keep_blank_values=True))

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: str = ""
    content_type: str = "text/plain"
    delay: float = 0.0


Responder = Callable[[Seen], Reply]


class LoopbackServer:
    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                parsed = urllib.parse.urlsplit(self.path)
                seen = Seen(
                    method=self.command,
                    path=parsed.path,
                    query=dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
                with server._lock:
                    server.seen.append(seen)
                reply = server.respond(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a timeout test)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="loopback-fake", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def post_form(url: str, fields: dict[str, str], timeout: float = 5.0) -> tuple[int, str]:
    return _post(url, urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded", timeout)


def post_json(url: str, document: Any, timeout: float = 5.0) -> tuple[int, str]:
    return _post(url, json.dumps(document).encode(), "application/json", timeout)


def _post(url: str, data: bytes, content_type: str, timeout: float) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@dataclass
class ReceiptsEndpoint:
    """Our receipts endpoint in miniature: reads each request into a ReceiptRequest, parses it
    with the connector, and answers what the receipts function answers (the connector's
    acknowledgement, else JSON)."""

    connector: Carrier
    receipts: list[CarrierReceipt] = field(default_factory=list)
    tokens: list[str | None] = field(default_factory=list)

    def __call__(self, seen: Seen) -> Reply:
        request = ReceiptRequest(
            method=seen.method, body=seen.body, content_type=seen.headers.get("content-type", ""), query=seen.query
        )
        self.tokens.append(seen.headers.get("x-carrier-token") or seen.query.get("token"))
        self.receipts.extend(self.connector.parse_receipts(request))
        if self.connector.receipt_acknowledgement is not None:
            return Reply(200, self.connector.receipt_acknowledgement)
        return Reply(200, json.dumps({"status_code": 200}), "application/json")


@contextmanager
def receipts_endpoint(connector: Carrier) -> Iterator[tuple[LoopbackServer, ReceiptsEndpoint]]:
    endpoint = ReceiptsEndpoint(connector)
    with LoopbackServer(endpoint) as server:
        yield server, endpoint


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class FakeJasmin:
    """Jasmin's ja-http ``/send`` as its documentation describes it: mandatory arguments,
    ``Success "<uuid>"`` or ``Error "…"`` with 400/403/412/500, and, when ``dlr=yes``, a
    level-1 DLR (the SMSC's ``ESME_*``) and a level-3 one (the handset's ``stat``) thrown to
    ``dlr-url`` by ``dlr-method``; a DLR not answered ``ACK/Jasmin`` is thrown again, up to
    ``max_retries`` more times (DLRThrower)."""

    def __init__(
        self,
        username: str = "lisoloo",
        password: str = "jasmin-pw",  # noqa: S107 - a fake's fixed test password
        *,
        final_stat: str = "DELIVRD",
        smsc_status: str = "ESME_ROK",
        no_route_prefix: str = "+999",
        max_retries: int = 3,
    ) -> None:
        self.username, self.password = username, password
        self.final_stat, self.smsc_status = final_stat, smsc_status
        self.no_route_prefix = no_route_prefix
        self.max_retries = max_retries
        self.thrown: list[tuple[str, dict[str, str], int, str]] = []  # url, fields, status, body
        self.server = LoopbackServer(self.respond)

    def respond(self, seen: Seen) -> Reply:
        if seen.path != "/send":
            return Reply(404, "Not Found")
        args = {**seen.query, **seen.form}
        if not {"username", "password", "to"} <= set(args) or not ({"content", "hex-content"} & set(args)):
            return Reply(400, 'Error "Mandatory arguments not found, please refer to the HTTPAPI specifications."')
        if args["username"] != self.username or args["password"] != self.password:
            return Reply(403, f'Error "Authentication failure for username:{args["username"]}"')
        if args.get("dlr") == "yes" and not all(args.get(name) for name in ("dlr-url", "dlr-level", "dlr-method")):
            return Reply(400, 'Error "Mandatory argument dlr-url is not found."')
        if args["to"].startswith(self.no_route_prefix):
            return Reply(412, 'Error "No route found"')
        message_id = str(uuid.uuid4())
        if args.get("dlr") == "yes":
            threading.Thread(target=self._throw_dlrs, args=(message_id, args), daemon=True).start()
        return Reply(200, f'Success "{message_id}"')

    def _throw_dlrs(self, message_id: str, args: dict[str, str]) -> None:
        level = int(args["dlr-level"])
        if level in (1, 3):
            self._throw(args, {"id": message_id, "message_status": self.smsc_status, "level": "1"})
        if level in (2, 3) and self.smsc_status == "ESME_ROK":
            self._throw(
                args,
                {
                    "id": message_id,
                    "message_status": self.final_stat,
                    "level": str(level),
                    "id_smsc": "2567",
                    "sub": "001",
                    "dlvrd": "001" if self.final_stat == "DELIVRD" else "000",
                    "subdate": "1311022338",
                    "donedate": "1311022339",
                    "err": "000",
                    "text": (args.get("content") or "")[:20],
                },
            )

    def _throw(self, args: dict[str, str], fields: dict[str, str]) -> None:
        url, method = args["dlr-url"], args["dlr-method"].upper()
        for _ in range(1 + self.max_retries):
            try:
                if method == "GET":
                    status, body = _get(url + "?" + urllib.parse.urlencode(fields))  # Jasmin appends "?..." as is
                else:
                    status, body = post_form(url, fields)
            except OSError as error:  # unreachable: Jasmin logs it and tries again later
                status, body = 0, str(error)
            self.thrown.append((url, fields, status, body))
            if status == 200 and body.strip() == "ACK/Jasmin":
                return

    def __enter__(self) -> FakeJasmin:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    @property
    def send_url(self) -> str:
        return self.server.url + "/send"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
