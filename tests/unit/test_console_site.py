"""The console's files as the local gateway serves them (local/console_site.py)."""

from __future__ import annotations

import re
from pathlib import Path

from local.console_site import CONSOLE_DIR, console_pages
from local.http_messages import HttpRequest


def get(path: str) -> HttpRequest:
    return HttpRequest(method="GET", path=path, query="", headers=(), body=b"", source_ip="127.0.0.1")


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name.lower()), None)


def test_every_file_is_served_at_its_own_path_with_its_type_and_the_security_headers() -> None:
    pages = console_pages()
    files = [file for file in CONSOLE_DIR.rglob("*") if file.is_file()]
    assert {f"/console/{file.relative_to(CONSOLE_DIR).as_posix()}" for file in files} <= set(pages)
    script = pages["/console/js/main.js"](get("/console/js/main.js"))
    assert (script.status, header(script.headers, "Content-Type")) == (200, "text/javascript; charset=utf-8")
    assert script.body == (CONSOLE_DIR / "js" / "main.js").read_bytes()
    assert header(script.headers, "X-Content-Type-Options") == "nosniff"
    assert header(script.headers, "X-Frame-Options") == "DENY"


def test_the_index_is_served_under_a_slash_and_redirected_to_one() -> None:
    # (the gateway looks pages up without the trailing slash: both come to the same page)
    serve = console_pages()["/console"]
    page = serve(get("/console/"))
    assert (page.status, header(page.headers, "Content-Type")) == (200, "text/html; charset=utf-8")
    assert b'<script type="module" src="js/main.js">' in page.body
    moved = serve(get("/console"))
    assert (moved.status, header(moved.headers, "Location")) == (301, "/console/")


def test_only_files_present_at_start_are_served(tmp_path: Path) -> None:
    # Given a console directory with one page and a hidden file
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / ".secret").write_text("no")
    # Then only the page is served, under /console; nothing else can be named
    assert set(console_pages(tmp_path)) == {"/console", "/console/index.html"}
    assert console_pages(tmp_path / "missing") == {}


# The (text, background) pairs console.css puts together, by custom property.
TEXT_ON_BACKGROUND = [
    ("ink", "paper"),
    ("ink", "wash"),
    ("muted", "paper"),
    ("muted", "wash"),
    ("accent", "paper"),
    ("accent", "wash"),
    ("accent-ink", "accent"),
    ("ok", "ok-wash"),
    ("bad", "bad-wash"),
    ("wait", "wait-wash"),
    ("p95", "paper"),
]


def _luminance(colour: str) -> float:
    channels = [int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_text_colour_has_a_contrast_of_at_least_4_5_to_1_on_its_background() -> None:
    # WCAG 2.x's contrast ratio, for the colours console.css declares
    declared = dict(re.findall(r"--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6});", (CONSOLE_DIR / "console.css").read_text()))
    for text, background in TEXT_ON_BACKGROUND:
        lighter, darker = sorted((_luminance(declared[text]), _luminance(declared[background])), reverse=True)
        assert (lighter + 0.05) / (darker + 0.05) >= 4.5, (text, background)
