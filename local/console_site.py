"""The web console (``console/``) as the local gateway serves it, at ``/console/`` on the API's own
origin: the console calls the API with no CORS, as it does behind CloudFront in AWS.

Only the files present at start are served, each at its own path (nothing built from the
request's path, so nothing outside ``console/`` can be named); each is read when asked for, so an
edited page shows on reload. The headers are those the CloudFront distribution adds.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path

from local.http_messages import HttpRequest, HttpResponse

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
CONSOLE_PATH = "/console"
SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-cache"),
]
# mimetypes reads the system's tables, which may not know .mjs or may call .js text/plain.
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}

Page = Callable[[HttpRequest], HttpResponse]


def console_pages(directory: Path = CONSOLE_DIR) -> dict[str, Page]:
    """``/console`` (and ``/console/``: the gateway drops the slash) → index.html; every other
    file at ``/console/{its path}``. Empty when there is no console directory."""
    if not directory.is_dir():
        return {}
    pages: dict[str, Page] = {
        f"{CONSOLE_PATH}/{file.relative_to(directory).as_posix()}": _serve(file)
        for file in sorted(directory.rglob("*"))
        if file.is_file() and not file.name.startswith(".")
    }
    index = _serve(directory / "index.html")

    def serve_index(request: HttpRequest) -> HttpResponse:
        # The page's links are relative: without the slash, "js/main.js" would leave /console.
        if not request.path.endswith("/"):
            return HttpResponse(301, [("Location", f"{CONSOLE_PATH}/"), *SECURITY_HEADERS], b"")
        return index(request)

    pages[CONSOLE_PATH] = serve_index
    return pages


def _serve(file: Path) -> Page:
    content_type = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"

    def serve(_: HttpRequest) -> HttpResponse:
        return HttpResponse(200, [("Content-Type", content_type), *SECURITY_HEADERS], file.read_bytes())

    return serve
