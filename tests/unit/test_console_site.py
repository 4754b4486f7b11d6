"""The console's files as the local gateway serves them (local/console_site.py)."""

from __future__ import annotations

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
