"""The local API Gateway: REST API v1 semantics in front of the template's functions.

Why our own and not SAM CLI's ``LocalApigwService``: SAM CLI's classes are internal (their
signatures changed several times in 2023-2025), it ignores ``GatewayResponses``, has no
authorizer caching, and swaps ``os.environ`` per call, which forces one request at a time.
What a REST API does for this project fits in a few small modules: route lookup
(api_model), events (api_events), authorizers (authorizer), gateway responses
(gateway_responses), throttling (throttling). The server is the standard library's
``ThreadingHTTPServer``: no dependency, a thread per connection, and each function still
runs one invocation at a time (lambda_runtime).
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.api_events import (
    ApiIdentity,
    MalformedProxyResultError,
    method_arn,
    parse_proxy_result,
    path_segments,
    proxy_event,
    request_authorizer_event,
)
from local.api_model import RestApi, Route, RouteMatch, find_route
from local.authorizer import GatewayRejectionError, LambdaAuthorizer
from local.gateway_responses import (
    GATEWAY_FAILURE,
    INTEGRATION_ERROR,
    INVALID_API_KEY,
    MISSING_AUTHENTICATION_TOKEN,
    REQUEST_TOO_LARGE,
    THROTTLED,
    framing_error,
    render,
)
from local.http_messages import HttpRequest, HttpResponse, chunk_size, content_length
from local.lambda_runtime import LocalFunction
from local.throttling import TokenBuckets

logger = logging.getLogger("local.gateway")

# API Gateway's payload limit.
MAX_BODY_BYTES = 10 * 1024 * 1024
# How long a client has to send a whole request (line, headers, body) once it starts one, and
# how long an idle keep-alive connection is kept: a slow or stalled client must not hold a
# thread for ever. API Gateway's edge cuts such clients off too; 30 s is generous for any real one.
READ_TIMEOUT_SECONDS = 30.0
# Connections the kernel queues while the accept loop catches up (Python's default is 5: a burst
# of clients got ECONNRESET). Linux caps it at net.core.somaxconn.
LISTEN_BACKLOG = 1024


class ApiGateway:
    def __init__(
        self,
        apis: Mapping[str, RestApi],
        functions: Mapping[str, LocalFunction],
        *,
        api_ids: Mapping[str, str],
        account_id: str,
        region: str,
        throttle: TokenBuckets | None = None,
        log_requests: bool = False,
        pages: Mapping[str, Callable[[HttpRequest], HttpResponse]] | None = None,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        if not apis:
            raise ValueError("the template declares no Api events: nothing to serve")
        self._apis = dict(apis)
        self._functions = functions
        self._identities = {
            logical_id: ApiIdentity(api_id=api_ids[logical_id], stage=api.stage, account_id=account_id, region=region)
            for logical_id, api in apis.items()
        }
        self._routes: list[Route] = [route for api in apis.values() for route in api.routes]
        self._authorizers = {
            (logical_id, name): LambdaAuthorizer(config, functions[config.function_logical_id].invoke)
            for logical_id, api in apis.items()
            for name, config in api.authorizers.items()
        }
        for route in self._routes:
            if route.authorizer and (route.api_logical_id, route.authorizer) not in self._authorizers:
                raise ValueError(f"{route.method} {route.resource_path}: no authorizer named {route.authorizer}")
        # Requests that match no route still need an API's gateway responses: the first one's.
        self._fallback_api = next(iter(self._apis.values()))
        self._throttle = throttle
        # Pages the local stack serves itself at fixed paths, without authorizer (the API docs).
        self._pages = dict(pages or {})
        self._log_level = logging.INFO if log_requests else logging.DEBUG
        self._read_timeout = read_timeout
        self._server: _GatewayHttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    # --- the request pipeline (no sockets: tests call it directly) -------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Never raises, never answers with a traceback: every failure is a gateway response."""
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        api = self._fallback_api
        detail = ""
        try:
            page = self._pages.get(request.path.rstrip("/")) if request.method in ("GET", "HEAD") else None
            if page is not None:
                response = page(request)
                response.headers.append(("x-amzn-RequestId", request_id))
                return response
            lookup = find_route(self._routes, request.method, path_segments(request.path))
            if lookup.match is None:
                raise GatewayRejectionError(
                    MISSING_AUTHENTICATION_TOKEN,
                    "method not declared" if lookup.resource_found else "no such resource",
                )
            api = self._apis[lookup.match.route.api_logical_id]
            response = self._integrate(request, lookup.match, api, request_id)
        except GatewayRejectionError as rejection:
            detail = f" [{rejection}]"
            response = render(rejection.error, api.gateway_responses, request_id=request_id)
        except Exception:
            logger.exception("the local gateway failed on %s %s", request.method, request.path)
            response = render(GATEWAY_FAILURE, api.gateway_responses, request_id=request_id)
        logger.log(
            self._log_level,
            "%s %s -> %s%s (%.0f ms)",
            request.method,
            request.path,
            response.status,
            detail,
            (time.monotonic() - started) * 1000,
        )
        return response

    def handle_too_large(self) -> HttpResponse:
        """A body over the limit is refused before it is read, so before any route lookup."""
        return render(REQUEST_TOO_LARGE, self._fallback_api.gateway_responses, request_id=str(uuid.uuid4()))

    def handle_unreadable(self, status: int, reason: str, request_line: str) -> HttpResponse:
        """A request the server could not read (framing, timeout, an unknown verb): answered
        with the template's DEFAULT_4XX/5XX envelope, like every other gateway answer."""
        logger.log(self._log_level, "%r -> %s [%s]", request_line, status, reason)
        return render(framing_error(status, reason), self._fallback_api.gateway_responses, request_id=str(uuid.uuid4()))

    def _integrate(self, request: HttpRequest, match: RouteMatch, api: RestApi, request_id: str) -> HttpResponse:
        if len(request.body) > MAX_BODY_BYTES:
            raise GatewayRejectionError(REQUEST_TOO_LARGE)
        identity = self._identities[api.logical_id]
        received_at = datetime.now(UTC)
        authorizer_context: Mapping[str, Any] | None = None
        usage_key: str | None = None
        if match.route.authorizer:
            authorized = self._authorizers[(api.logical_id, match.route.authorizer)].authorize(
                request,
                lambda: request_authorizer_event(
                    request, match, identity, request_id=request_id, received_at=received_at
                ),
                method_arn(identity, request.method, request.path),
            )
            authorizer_context = authorized.request_context
            usage_key = authorized.usage_identifier_key
        if match.route.api_key_required:
            # Usage plans meter routes that require an API key, by the key (ApiKeySourceType
            # AUTHORIZER: the authorizer's usageIdentifierKey); other routes are not throttled.
            if usage_key is None:
                raise GatewayRejectionError(INVALID_API_KEY, "no usageIdentifierKey from the authorizer")
            if self._throttle is not None and not self._throttle.allow(usage_key):
                raise GatewayRejectionError(THROTTLED, f"throttled {usage_key}")

        function = self._functions[match.route.function_logical_id]
        event = proxy_event(
            request,
            match,
            identity,
            request_id=request_id,
            received_at=received_at,
            authorizer=authorizer_context,
        )
        invocation = function.invoke(event)
        if invocation.error is not None:
            logger.error(
                "%s failed on %s %s (%s: %s)\n%s",
                match.route.function_logical_id,
                request.method,
                request.path,
                invocation.error.error_type,
                invocation.error.message,
                invocation.error.trace,
            )
            raise GatewayRejectionError(INTEGRATION_ERROR, invocation.error.message)
        try:
            response = parse_proxy_result(invocation.result)
        except MalformedProxyResultError as error:
            logger.error("%s returned a malformed Lambda proxy response: %s", match.route.function_logical_id, error)
            raise GatewayRejectionError(INTEGRATION_ERROR, "malformed Lambda proxy response") from None
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    # --- the HTTP server ------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 3000) -> None:
        self._server = _GatewayHttpServer((host, port), _RequestHandler)
        self._server.gateway = self
        self._server.read_timeout = self._read_timeout
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-gateway", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the gateway is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _GatewayHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG
    gateway: ApiGateway
    read_timeout: float

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer is its own business; socketserver would print a
        # traceback to stderr for it. Anything else is a bug here, logged as one.
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.debug("connection from %s dropped", client_address[0], exc_info=True)
        else:
            logger.exception("the local gateway failed serving %s", client_address[0])


class _RequestHandler(BaseHTTPRequestHandler):
    server: _GatewayHttpServer
    protocol_version = "HTTP/1.1"
    # Until a request line says otherwise: http.server's HTTP/0.9 default would send its error
    # answers without a status line.
    default_request_version = "HTTP/1.1"
    raw_requestline: bytes

    def setup(self) -> None:
        # Each socket read and write waits at most this long (a silent client, a client that
        # does not read its answer); handle_one_request bounds the whole request too.
        super().setup()
        self.connection.settimeout(self.server.read_timeout)
        self._timed_out = False
        self._deadline: threading.Timer | None = None

    def handle_one_request(self) -> None:
        # A client trickling its headers or body a byte at a time passes every per-read timeout:
        # the request as a whole gets read_timeout, then the read side is shut and it gets a 408.
        self._deadline = threading.Timer(self.server.read_timeout, self._cut_off)
        self._deadline.daemon = True
        self._deadline.start()
        try:
            super().handle_one_request()
        finally:
            self._deadline.cancel()

    def _cut_off(self) -> None:
        self._timed_out = True
        # Wakes the thread blocked reading from it: its reads see the end of the stream.
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RD)

    def parse_request(self) -> bool:
        # (what http.server's parse_request sets first, for the refusals below)
        self.command = None  # type: ignore[assignment]
        self.request_version = self.default_request_version
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        if self._timed_out:
            self.send_error(HTTPStatus.REQUEST_TIMEOUT, _TIMED_OUT)
            return False
        if len(self.raw_requestline.split()) == 2:
            # An HTTP/0.9 request line: http.server would wait for headers that never come.
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 is not supported")
            return False
        if not super().parse_request():
            return False
        if self._timed_out:
            self.send_error(HTTPStatus.REQUEST_TIMEOUT, _TIMED_OUT)
            return False
        return True

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            self._check_framing()
            body = self._read_body()
        except _BodyTooLargeError:
            self.close_connection = True
            self._write(self.server.gateway.handle_too_large())
            return
        except ValueError as error:
            self.send_error(HTTPStatus.BAD_REQUEST, str(error) or None)
            return
        except TimeoutError:
            self.send_error(HTTPStatus.REQUEST_TIMEOUT, _TIMED_OUT)
            return
        finally:
            # Read in time: the function's own timeout bounds what follows.
            if self._deadline is not None:
                self._deadline.cancel()
        if self._timed_out:
            self.send_error(HTTPStatus.REQUEST_TIMEOUT, _TIMED_OUT)
            return
        if self._incomplete(body):
            self.send_error(HTTPStatus.BAD_REQUEST, "incomplete body")
            return
        request = HttpRequest(
            method=self.command,
            path=path,
            query=query,
            headers=tuple(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        self._write(self.server.gateway.handle(request))

    def _check_framing(self) -> None:
        """One way to know where the body ends, or 400: two lengths, or a length and chunked
        encoding, are how requests get smuggled past one server and read differently by another."""
        lengths = self.headers.get_all("Content-Length") or []
        encodings = self.headers.get_all("Transfer-Encoding") or []
        if len(lengths) > 1:
            raise ValueError("more than one Content-Length")
        if encodings and lengths:
            raise ValueError("both Transfer-Encoding and Content-Length")
        if encodings and [value.strip().lower() for value in encodings] != ["chunked"]:
            raise ValueError("unsupported Transfer-Encoding")

    def _incomplete(self, body: bytes) -> bool:
        # The client closed (or was cut off) before sending all it announced.
        declared = self.headers.get("Content-Length")
        return declared is not None and len(body) < int(declared)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = content_length(self.headers.get("Content-Length"))
        if length > MAX_BODY_BYTES:
            raise _BodyTooLargeError
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = chunk_size(self.rfile.readline())
            if size == 0:
                # Trailers, if any, end with an empty line.
                while self.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BodyTooLargeError
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a garbled request line, an unknown verb, oversized
        headers) and ours (framing, timeouts) answer with the gateway's envelope, not its HTML
        page; the connection closes, as the request could not be read."""
        self.close_connection = True
        response = self.server.gateway.handle_unreadable(
            code, message or HTTPStatus(code).phrase, getattr(self, "requestline", "")
        )
        self.send_response(code)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # The gateway logs each request itself, with its outcome; http.server's line is noise.
        return


_TIMED_OUT = "request timed out"


class _BodyTooLargeError(Exception):
    pass
