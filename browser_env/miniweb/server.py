"""The offline mini-web: an opened ``Index`` served as real HTML over HTTP on 127.0.0.1.

Routes: ``/`` (home page with a search form), ``/search?q=...`` (ranked results with snippets),
``/page/<id>`` (one article, ending with its attribution); anything else is a real 404 page.
All links are root-relative, so the same pages work at ``base_url`` and under the virtual host
``MiniWeb.host`` (``<index name>.miniweb``) that the Playwright fetcher maps onto ``base_url``.

    with MiniWeb(open_index(dir)) as web:
        print(web.base_url, web.host)

Run it by hand: ``python -m browser_env.miniweb [INDEX_DIR] [--port 8080]``.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .corpus import Doc, page_path, text_to_html
from .index import Index

log = logging.getLogger(__name__)

MAX_RESULTS = 50
_STYLE = (
    "body{font-family:sans-serif;max-width:50em;margin:1em auto;padding:0 1em;line-height:1.5}"
    "footer{margin-top:2em;border-top:1px solid #ccc;font-size:.9em;color:#444}"
    "header form{display:inline;margin-left:1em}"
)


def host_for(name: str) -> str:
    """The virtual host name of an index: its name made hostname-safe, under ``.miniweb``."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "index"
    return f"{label}.miniweb"


def attribution(doc: Doc) -> str:
    """The licence footer (HTML) for a page; Wikipedia text names Wikipedia, the licence and the URL."""
    url = html.escape(doc.url or "")
    link = url  # shown, not linked: the offline mini-web cannot follow it, and the model need not try
    licence = html.escape(doc.license or "")
    if doc.url and "wikipedia.org" in doc.url:
        return (
            "From Wikipedia, the free encyclopedia — text under "
            f"{licence or 'CC BY-SA'}, {link}"
        )
    bits = [f"Source: {link}" if link else f"Source: {html.escape(doc.source or 'unknown')}"]
    if licence:
        bits.append(f"licence: {licence}")
    return " — ".join(bits)


def _layout(title: str, body: str, *, site: str, footer: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        f'<header><a href="/">{html.escape(site)}</a>'
        '<form action="/search" method="get" role="search">'
        '<input type="search" name="q" aria-label="Search"> <button type="submit">Search</button>'
        "</form></header>\n"
        f"<main>\n{body}\n</main>\n"
        + (f'<footer><p class="attribution">{footer}</p></footer>\n' if footer else "")
        + "</body></html>\n"
    )


def render_page(doc: Doc, site: str) -> str:
    article = doc.html if doc.html else text_to_html(doc.text or "")
    # The attribution sits inside the article, so main-content extraction keeps it: every page the
    # model reads carries its licence and source, not only the served HTML.
    body = (f"<article>\n<h1>{html.escape(doc.title)}</h1>\n{article}\n"
            f"<p><small>{attribution(doc)}</small></p>\n</article>")
    return _layout(doc.title, body, site=site)


def render_search(index: Index, query: str, k: int, site: str) -> str:
    hits = index.search(query, k=k)
    if hits:
        items = "\n".join(
            f'<li><a href="{page_path(h.id)}">{html.escape(h.title)}</a>'
            f"<p>{html.escape(h.snippet)}</p></li>"
            for h in hits
        )
        listing = f'<ol class="results">\n{items}\n</ol>'
    else:
        listing = f"<p>No results for <b>{html.escape(query)}</b>.</p>"
    body = f"<h1>Search results for: {html.escape(query)}</h1>\n{listing}"
    return _layout(f"Search results for: {query}", body, site=site)


def render_home(index: Index, site: str) -> str:
    body = (
        f"<h1>{html.escape(site)}</h1>\n"
        f"<p>An offline mini-web of {len(index)} pages from the <b>{html.escape(index.name)}</b> index. "
        "Search it with the form above.</p>"
    )
    return _layout(site, body, site=site)


def render_not_found(path: str, site: str) -> str:
    body = f"<h1>Not found</h1>\n<p>There is no page at <code>{html.escape(path)}</code>.</p>"
    return _layout("Not found", body, site=site)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: a fetcher reuses one connection for many pages
    timeout = 30  # an idle kept-alive connection gives its thread back after this
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would hold the second ~40 ms

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        web = self.server.web
        parts = urlsplit(self.path)
        status, page = HTTPStatus.OK, None
        try:
            if parts.path == "/":
                page = render_home(web.index, web.host)
            elif parts.path == "/search":
                params = parse_qs(parts.query)
                query = (params.get("q") or [""])[0]
                k = _int((params.get("k") or ["10"])[0], 10)
                page = render_search(web.index, query, max(1, min(k, MAX_RESULTS)), web.host)
            elif parts.path.startswith("/page/"):
                doc = web.index.get(unquote(parts.path[len("/page/"):]))
                if doc is not None:
                    page = render_page(doc, web.host)
            if page is None:
                status, page = HTTPStatus.NOT_FOUND, render_not_found(parts.path, web.host)
        except Exception:  # a bug in one request must not kill the server; it is logged in full
            log.exception("mini-web failed on %s", self.path)
            status, page = HTTPStatus.INTERNAL_SERVER_ERROR, _layout(
                "Server error", "<h1>Server error</h1>", site=web.host
            )
        data = page.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    web: MiniWeb


class MiniWeb:
    """The mini-web server for one index; a context manager. ``port=0`` picks a free port."""

    def __init__(self, index: Index, *, bind: str = "127.0.0.1", port: int = 0):
        self.index = index
        self.host = host_for(index.name)
        self._bind, self._port = bind, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("MiniWeb is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MiniWeb:
        if self._server is not None:
            raise RuntimeError("MiniWeb is already running")
        self._server = _Server((self._bind, self._port), _Handler)
        self._server.web = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"miniweb-{self.host}", daemon=True
        )
        self._thread.start()
        log.info("mini-web for %s serving at %s", self.host, self.base_url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> MiniWeb:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    from .index import default_index_dir, open_index

    parser = argparse.ArgumentParser(description="Serve a webqa index as an offline mini-web.")
    parser.add_argument("index", nargs="?", default=None, help=f"index folder (default {default_index_dir()})")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    web = MiniWeb(open_index(args.index), port=args.port).start()
    print(f"serving {web.host} at {web.base_url} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        web.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
