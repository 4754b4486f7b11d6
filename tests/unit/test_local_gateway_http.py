"""The local gateway's HTTP server against clients that misbehave on the wire: bursts of
connections, slow or stalled clients, ambiguous framing, HTTP/0.9, requests http.server refuses.
Raw sockets, so nothing a client library would tidy up is lost."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.api_gateway import ApiGateway, _GatewayHttpServer, _RequestHandler
from local.api_model import GatewayResponseConfig, RestApi, Route
from local.infrastructure import FunctionSpec
from local.lambda_runtime import LocalFunction

READ_TIMEOUT_SECONDS = 0.5
# Longer than the read timeout with room to spare, short enough for a failing test to end.
PATIENCE_SECONDS = 3.0

API = RestApi(
    logical_id="Api",
    stage="dev",
    authorizers={},
    gateway_responses={
        "DEFAULT_4XX": GatewayResponseConfig(None, {"application/json": '{"detail": $context.error.messageString}'}),
        "DEFAULT_5XX": GatewayResponseConfig(None, {"application/json": '{"detail": "Internal server error"}'}),
    },
    routes=(Route("Api", "/v1/open", "POST", "Echo", None),),
)


def _echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({"body": event["body"]})}


@pytest.fixture(scope="module")
def gateway() -> Iterator[ApiGateway]:
    spec = FunctionSpec(
        logical_id="Echo",
        name="Echo",
        arn="arn:aws:lambda:us-east-1:123456789012:function:Echo",
        code_dir=Path("."),
        handler="app.lambda_handler",
        timeout_seconds=3,
        memory_mb=128,
        environment={},
        events=(),
    )
    served = ApiGateway(
        {"Api": API},
        {"Echo": LocalFunction(spec, _echo)},
        api_ids={"Api": "api123"},
        account_id="123456789012",
        region="us-east-1",
        read_timeout=READ_TIMEOUT_SECONDS,
    )
    served.start(port=0)
    yield served
    served.stop()


def _connect(gateway: ApiGateway) -> socket.socket:
    host, port = gateway.url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)), timeout=PATIENCE_SECONDS)
    return client


def _answer(client: socket.socket) -> tuple[int, dict[str, Any]]:
    """Reads until the server closes; the status and JSON body, or (0, {}) if closed unanswered.
    A server that keeps waiting fails the test with socket.timeout after PATIENCE_SECONDS."""
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    if not received:
        return 0, {}
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _exchange(gateway: ApiGateway, raw: bytes) -> tuple[int, dict[str, Any]]:
    with _connect(gateway) as client:
        client.sendall(raw)
        return _answer(client)


def test_a_well_formed_request_still_reaches_the_function(gateway: ApiGateway) -> None:
    status, body = _exchange(
        gateway, b"POST /v1/open HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
    )
    assert (status, body) == (200, {"body": "hi"})


def test_a_burst_of_connections_waits_in_the_listen_queue() -> None:
    # Given the gateway's listening socket while its accept loop is busy (not accepting at all)
    server = _GatewayHttpServer(("127.0.0.1", 0), _RequestHandler)
    clients: list[socket.socket] = []
    try:
        # When 64 clients connect at once
        for _ in range(64):
            clients.append(socket.create_connection(server.server_address[:2], timeout=1))  # type: ignore[arg-type]
            # Then the kernel queues every one (Python's default backlog of 5 drops the rest)
    finally:
        for client in clients:
            client.close()
        server.server_close()


def test_a_client_trickling_its_headers_is_cut_off_with_a_408(gateway: ApiGateway) -> None:
    # Given a client that sends a header line every tenth of a second, never finishing
    with _connect(gateway) as client:
        client.sendall(b"POST /v1/open HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        # When it keeps going past the read timeout
        while not select.select([client], [], [], 0.1)[0] and time.monotonic() - started < PATIENCE_SECONDS:
            client.sendall(b"X-Slow: 1\r\n")
        # Then the server answers 408 in the gateway's envelope (or, if the client's late bytes
        # reset the connection first, is simply gone) well before the client gives up
        assert time.monotonic() - started < PATIENCE_SECONDS
        try:
            status, body = _answer(client)
        except ConnectionResetError:
            status, body = 0, {}
    assert (status, body) in ((408, {"detail": "request timed out"}), (0, {}))


def test_a_client_that_stops_mid_body_is_answered_408(gateway: ApiGateway) -> None:
    # Given a client that announces 100 bytes and sends 10
    with _connect(gateway) as client:
        client.sendall(b"POST /v1/open HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        started = time.monotonic()
        # When it sends nothing more
        status, body = _answer(client)
    # Then the read timeout ends the wait with a 408 in the envelope
    assert status == 408
    assert body == {"detail": "request timed out"}
    assert time.monotonic() - started < READ_TIMEOUT_SECONDS + 1


def test_an_idle_keep_alive_connection_is_closed_quietly(gateway: ApiGateway) -> None:
    with _connect(gateway) as client:
        started = time.monotonic()
        assert _answer(client) == (0, {})
    assert time.monotonic() - started < READ_TIMEOUT_SECONDS + 1


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 2\r\nContent-Length: 2\r\n",
        b"Content-Length: 2\r\nContent-Length: 5\r\n",
        b"Content-Length: 2, 5\r\n",
        b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: gzip, chunked\r\n",
    ],
    ids=["duplicate", "conflicting", "listed", "with-chunked", "unknown-coding"],
)
def test_ambiguous_framing_is_400(gateway: ApiGateway, headers: bytes) -> None:
    # Given a request whose body length two servers could read differently
    # When it is sent
    status, body = _exchange(gateway, b"POST /v1/open HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\nhi")
    # Then the gateway refuses it in the envelope
    assert status == 400
    assert body["detail"]


def test_an_http_0_9_request_is_refused_at_once(gateway: ApiGateway) -> None:
    # Given an HTTP/0.9 request line (no version, no headers follow)
    started = time.monotonic()
    status, body = _exchange(gateway, b"GET /v1/open\r\n")
    # Then it is answered 400 without waiting for headers
    assert (status, body) == (400, {"detail": "HTTP/0.9 is not supported"})
    assert time.monotonic() - started < READ_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"GET /v1/open HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET /v1/open HTTP/9.9\r\nHost: x\r\n\r\n", 505),
        (b"BREW /v1/open HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        (b"GET /v1/open HTTP/1.1\r\n" + b"X: 1\r\n" * 101 + b"\r\n", 431),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    ],
    ids=["garbled", "version", "verb", "headers", "uri"],
)
def test_the_servers_own_refusals_use_the_envelope(gateway: ApiGateway, raw: bytes, expected: int) -> None:
    status, body = _exchange(gateway, raw)
    assert status == expected
    assert list(body) == ["detail"]


def test_a_client_that_closes_mid_body_is_answered_400(gateway: ApiGateway) -> None:
    # Given a client that announces 100 bytes, sends 10 and closes its side
    with _connect(gateway) as client:
        client.sendall(b"POST /v1/open HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        client.shutdown(socket.SHUT_WR)
        # When the gateway reads the body
        status, body = _answer(client)
    # Then the truncated body never reaches the function
    assert (status, body) == (400, {"detail": "incomplete body"})
