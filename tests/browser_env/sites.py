"""Two local HTTP sites for the fetcher and pool tests: ``good`` (admitted by the policy) and ``bad``.

``Site`` is a threaded server on 127.0.0.1 serving a route table and recording every path asked
for; ``build_sites`` fills both with the pages the tests load (scripts, leaks to ``bad``,
redirect chains, downloads, large and slow replies). The ``sites`` fixture is in conftest.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay_s: float = 0.0
    chunked: bool = False  # no Content-Length: the size is only known by reading


class Site:
    """A threaded HTTP server serving a route table and recording every path it is asked for."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[], Reply]] = {}
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                site.hits.append(self.path)
                route = site.routes.get(self.path.split("?", 1)[0])
                reply = route() if callable(route) else route or Reply(404, b"<title>Not found</title>no such page")
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    if reply.chunked:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.wfile.write(reply.body)
                        self.close_connection = True
                        return
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the fetcher gave up on a slow or huge reply, as the test intends

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def html(self, path: str, body: str, **kw) -> None:
        self.routes[path] = Reply(body=body.encode(), **kw)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = Reply(status, b"", {"Location": location})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def build_sites(good: Site, bad: Site) -> None:
    B = bad.base
    good.html("/page", """<html><head><title>Hello page</title>
        <style>@font-face { font-family: X; src: url(/font.woff2); } body { font-family: X; }</style></head>
        <body><p>static text</p><img src="/img.png"><video src="/clip.mp4"></video>
        <script>document.body.insertAdjacentHTML('beforeend', '<p id=js>inserted by javascript</p>')</script>
        <a href="/final">next</a></body></html>""")
    for path in ["/img.png", "/font.woff2", "/clip.mp4"]:
        good.routes[path] = Reply(body=b"binary", headers={"Content-Type": "application/octet-stream"})
    good.html("/leaky", f"""<html><head><title>Leaky</title><link rel=stylesheet href="{B}/style.css">
        <script src="{B}/script.js"></script></head><body>
        <iframe src="{B}/frame"></iframe><img src="{B}/img.png">
        <script>
          fetch('{B}/api').catch(() => {{}});
          fetch('/bounce').catch(() => {{}});
          new Image().src = '{B}/pixel.gif';
          try {{ new WebSocket('ws://127.0.0.1:{bad.port}/ws'); }} catch (e) {{}}
          document.title = 'Leaky done';
        </script><p>leaky body</p></body></html>""")
    good.redirect("/bounce", f"{B}/bounced-api")  # a subresource redirect to the forbidden host
    good.redirect("/r-bad", f"{B}/secret")
    good.redirect("/r-two", "/r-two-b")
    good.redirect("/r-two-b", f"{B}/secret", 301)
    good.redirect("/r-ok", "/r-ok-b")
    good.redirect("/r-ok-b", f"{good.base}/final", 301)
    good.redirect("/r-loop", "/r-loop")
    good.html("/final", "<html><head><title>Final</title></head><body>final page <a href='next'>rel</a></body></html>")
    good.html("/sw", """<html><head><title>SW</title></head><body><p id=out>pending</p><script>
        const out = document.getElementById('out');
        if (!('serviceWorker' in navigator)) { out.textContent = 'sw-unavailable'; }
        else { navigator.serviceWorker.register('/sw.js').then(() => out.textContent = 'sw-registered',
                                                               () => out.textContent = 'sw-refused'); }
        </script></body></html>""")
    good.routes["/sw.js"] = Reply(body=b"self.addEventListener('fetch', () => {})", headers={"Content-Type": "text/javascript"})
    good.html("/download-page", """<html><head><title>Download</title></head><body><p>get it</p>
        <a id=dl href="/file.bin" download>file</a><script>document.getElementById('dl').click()</script></body></html>""")
    good.routes["/file.bin"] = Reply(body=b"\x00\x01secret-bytes", headers={
        "Content-Type": "application/octet-stream", "Content-Disposition": "attachment; filename=file.bin"})
    good.routes["/doc.pdf"] = Reply(body=b"%PDF-1.4\n%fake pdf for tests\n", headers={"Content-Type": "application/pdf"})
    good.routes["/notes.txt"] = Reply(body=b"plain notes\n", headers={"Content-Type": "text/plain; charset=utf-8"})
    good.redirect("/r-pdf", "/doc.pdf")
    good.html("/missing", "<html><head><title>Gone</title></head><body>not here</body></html>", status=404)
    big = b"<html><body>" + b"x" * 300_000 + b"</body></html>"
    good.routes["/big"] = Reply(body=big)
    good.routes["/big-chunked"] = Reply(body=big, chunked=True)
    good.html("/slow", "<title>Slow</title>slow", delay_s=3.0)
    bad.html("/secret", "<title>Secret</title>TOP-SECRET marker")
    good.redirect("/alias-hop", f"{good.base}/final")  # absolute to the real address: mapped back
